//! Crash recovery of the real binary: round after round, `breakathon serve --clock manual`
//! takes hundreds of concurrent commands over HTTP and is killed (SIGKILL) at a random moment.
//! After each restart every acknowledged command (2xx received) is in the recovered state,
//! and the recovered state's hash equals a replay of the journal in a fresh process
//! (`breakathon replay JOURNAL --format json`).

mod http_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use http_support::{JUDGE, ORGANIZER, ServeProcess};
use serde_json::{Value, json};

/// Kill-and-recover rounds.
const ROUNDS: u64 = 20;
/// Teams playing (each has its own write budget).
const TEAMS: usize = 8;
/// Commands sent concurrently per round.
const COMMANDS_PER_ROUND: usize = 200;
/// Earliest kill after the commands are sent, ms.
const KILL_AFTER_MIN_MS: u64 = 20;
/// Spread of the random kill delay, ms (some rounds kill mid-burst, some after it).
const KILL_AFTER_SPREAD_MS: u64 = 800;
/// Acknowledged commands required over all rounds, so that the test checks something.
const MIN_ACKNOWLEDGED: usize = 1_000;
/// Services of the tutorial the commands act on.
const SERVICES: [&str; 5] = ["web", "shop-api", "checkout", "cache", "db"];

/// A small deterministic generator (xorshift64*), seeded per round, so a failing round can
/// be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the test knows was acknowledged.
#[derive(Default)]
struct Acknowledged {
    /// Announcement texts.
    announcements: Vec<String>,
    /// Per team: (declarations, actions, notifications) acknowledged.
    per_team: BTreeMap<u64, [usize; 3]>,
}

/// One command: (kind index for `per_team`, team, method path, body, token).
enum Command {
    Team {
        team: u64,
        kind: usize,
        path: &'static str,
        body: Value,
        token: String,
    },
    Announce {
        message: String,
    },
}

fn journal_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(breakathon_game::journal::JOURNAL_FILE_NAME)
}

/// The state hash printed by a fresh `breakathon replay` of the journal.
fn replay_hash(journal: &Path) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_breakathon"))
        .args([
            "replay",
            journal.to_str().expect("utf-8"),
            "--format",
            "json",
        ])
        .output()
        .expect("breakathon replay runs");
    assert!(
        output.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("replay prints JSON");
    normalize_hash(&report["state_hash"])
}

fn normalize_hash(value: &Value) -> String {
    match value {
        Value::String(text) => text.trim_start_matches("0x").to_lowercase(),
        Value::Number(number) => format!("{:016x}", number.as_u64().expect("u64 hash")),
        other => panic!("no state hash in {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_commands_survive_sigkill_and_recovery_equals_replay() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let data_arg = data_dir.to_str().expect("utf-8").to_owned();
    let args = ["--clock", "manual", "--data-dir", data_arg.as_str()];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");

    // Round 0 sets the game up: teams, then start.
    let mut server = ServeProcess::spawn(&args);
    let mut tokens = Vec::new();
    for index in 0..TEAMS {
        let reply: Value = client
            .post(format!("{}/api/v1/teams", server.base))
            .bearer_auth(ORGANIZER)
            .json(&json!({ "name": format!("Crash {index}") }))
            .send()
            .await
            .expect("create team")
            .json()
            .await
            .expect("json");
        tokens.push((
            reply["id"].as_u64().expect("id"),
            reply["token"].as_str().expect("token").to_owned(),
        ));
    }
    let start = client
        .post(format!("{}/api/v1/game/start", server.base))
        .bearer_auth(ORGANIZER)
        .send()
        .await
        .expect("start");
    assert!(start.status().is_success());

    let mut acknowledged = Acknowledged::default();
    for round in 0..ROUNDS {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (round + 1));
        let mut commands = Vec::new();
        for index in 0..COMMANDS_PER_ROUND {
            let (team, token) = tokens[rng.below(TEAMS as u64) as usize].clone();
            let service = SERVICES[rng.below(SERVICES.len() as u64) as usize];
            commands.push(match rng.below(10) {
                0 => Command::Announce { message: format!("round {round} note {index}") },
                1..=3 => Command::Team {
                    team, kind: 0, path: "/api/v1/team/declarations", token,
                    body: json!({ "service": service, "fault": "disk_full" }),
                },
                4..=7 => Command::Team {
                    team, kind: 1, path: "/api/v1/team/actions", token,
                    body: json!({ "action": "restart_service", "service": service }),
                },
                _ => Command::Team {
                    team, kind: 2, path: "/api/v1/team/notifications", token,
                    body: json!({ "audience": "sales", "message": format!("round {round} update {index}"), "service": service }),
                },
            });
        }
        let base = server.base.clone();
        let sent_at = Instant::now();
        let mut tasks = Vec::new();
        for command in commands {
            let client = client.clone();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let (path, body, token) = match &command {
                    Command::Team {
                        path, body, token, ..
                    } => (*path, body.clone(), token.clone()),
                    Command::Announce { message } => (
                        "/api/v1/announcements",
                        json!({ "message": message }),
                        ORGANIZER.to_owned(),
                    ),
                };
                let acked = client
                    .post(format!("{base}{path}"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|response| response.status().is_success());
                (command, acked)
            }));
        }
        // Kill at a random moment while the commands are in flight.
        tokio::time::sleep(Duration::from_millis(
            KILL_AFTER_MIN_MS + rng.below(KILL_AFTER_SPREAD_MS),
        ))
        .await;
        server.kill();
        let killed_after = sent_at.elapsed();
        let mut acked_this_round = 0;
        for task in tasks {
            let (command, acked) = task.await.expect("command task");
            if !acked {
                continue;
            }
            acked_this_round += 1;
            match command {
                Command::Announce { message } => acknowledged.announcements.push(message),
                Command::Team { team, kind, .. } => {
                    acknowledged.per_team.entry(team).or_default()[kind] += 1
                }
            }
        }

        eprintln!("round {round}: killed after {killed_after:?}, {acked_this_round} acknowledged");
        // Recover and check.
        server = ServeProcess::spawn(&args);
        server.assert_banner_mentions("recovered");
        let get = |path: String, token: &'static str| {
            let client = client.clone();
            async move {
                client
                    .get(path)
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("get")
                    .json::<Value>()
                    .await
                    .expect("json")
            }
        };
        let announcements = get(format!("{}/api/v1/announcements", server.base), ORGANIZER)
            .await
            .to_string();
        for message in &acknowledged.announcements {
            assert!(
                announcements.contains(message),
                "round {round}: acknowledged announcement `{message}` lost"
            );
        }
        for (team, [declarations, actions, notifications]) in &acknowledged.per_team {
            let timeline = get(
                format!("{}/api/v1/judge/teams/{team}/timeline", server.base),
                JUDGE,
            )
            .await;
            let count = |kind: &str| {
                timeline.as_array().map_or(0, |entries| {
                    entries.iter().filter(|entry| entry["kind"] == kind).count()
                })
            };
            assert!(
                count("declaration") >= *declarations,
                "round {round}, team {team}: declarations lost"
            );
            assert!(
                count("action") >= *actions,
                "round {round}, team {team}: actions lost"
            );
            assert!(
                count("notification") >= *notifications,
                "round {round}, team {team}: notifications lost"
            );
        }
        let live = get(format!("{}/api/v1/game", server.base), ORGANIZER).await;
        let live_hash = normalize_hash(&live["state_hash"]);
        let replayed = replay_hash(&journal_path(&data_dir));
        assert_eq!(
            live_hash, replayed,
            "round {round}: recovered state differs from a replay of the journal"
        );

        // Let the clock move a little between rounds so that actions apply.
        let advanced = client
            .post(format!("{}/api/v1/game/advance", server.base))
            .bearer_auth(ORGANIZER)
            .json(&json!({ "seconds": 5 }))
            .send()
            .await
            .expect("advance");
        assert!(advanced.status().is_success());
    }
    server.kill();
    let total =
        acknowledged.announcements.len() + acknowledged.per_team.values().flatten().sum::<usize>();
    assert!(
        total >= MIN_ACKNOWLEDGED,
        "only {total} commands were acknowledged"
    );
    eprintln!(
        "{ROUNDS} rounds in {:?}; acknowledged {} announcements and {:?} team commands",
        started.elapsed(),
        acknowledged.announcements.len(),
        acknowledged.per_team
    );
}
