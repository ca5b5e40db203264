//! Load generator for `docs/PERFORMANCE.md`, run against a live `breakathon serve --clock
//! manual` (organizer token in `BREAKATHON_ORGANIZER_TOKEN`) or against the `bare` example
//! (which serves the same stream and team-creation routes without a game):
//!
//! - `serve_load fanout URL CLIENTS ROUNDS`: creates one team (untimed) and reads its score off
//!   the stream, opens CLIENTS scoreboard streams (plain sockets, so that the generator stays
//!   cheap beside the server on the same cores), then ROUNDS times changes that team's score
//!   by a judge adjustment (`POST /api/v1/judge/adjustments`, judge token in
//!   `BREAKATHON_JUDGE_TOKEN`, default `judge`) over one kept-alive connection and measures,
//!   for every client, the time from sending that request to the client receiving the board
//!   with the new score. The time includes the whole command (journal commit included) before
//!   the broadcast. Reports the per-client delivery latency distribution (p50/p90/p99/max over
//!   all clients and rounds) and the last client of each round. Raise the file limit first
//!   (`ulimit -n $(ulimit -Hn)`): every client is one socket here and one in the server.
//! - `serve_load commands URL TEAMS SECONDS [ACTIVE]`: creates TEAMS teams, then ACTIVE of them
//!   (all by default) each send a team action every 100 ms (their rate limit is 10/s) for
//!   SECONDS, with their start times spread evenly over the first 100 ms (independent teams
//!   do not act in lockstep); reports the latency distribution. With `WRK_ARGS` set (e.g.
//!   `WRK_ARGS="-t2 -c50"`), `wrk` hammers `GET /api/v1/scoreboard` during exactly those
//!   SECONDS and its report is printed after.
//!
//! `cargo build --release -p breakathon-server --examples`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Interval between two actions of one team (its rate limit is 10 per second).
const ACTION_INTERVAL: Duration = Duration::from_millis(100);
/// Stream connections opened at the same time (the server's accept backlog is finite).
const CONCURRENT_CONNECTS: usize = 256;
/// Longest wait for every client to see one change.
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two changes, so that each round measures one change alone.
const ROUND_PAUSE: Duration = Duration::from_millis(300);
/// Read buffer of one stream client.
const READ_BUFFER_BYTES: usize = 64 * 1024;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples_ms: Vec<f64>) {
    samples_ms.sort_by(f64::total_cmp);
    println!(
        "{name}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms max={:.2} ms",
        samples_ms.len(),
        percentile(&samples_ms, 50.0),
        percentile(&samples_ms, 90.0),
        percentile(&samples_ms, 99.0),
        samples_ms.last().copied().unwrap_or(f64::NAN)
    );
}

fn organizer() -> String {
    std::env::var("BREAKATHON_ORGANIZER_TOKEN").unwrap_or_else(|_| "org".into())
}

fn judge() -> String {
    std::env::var("BREAKATHON_JUDGE_TOKEN").unwrap_or_else(|_| "judge".into())
}

/// Changes a team's score by `points` (a judge adjustment: a real score change).
async fn adjust(client: &reqwest::Client, base: &str, team: u64, points: i64) -> bool {
    client
        .post(format!("{base}/api/v1/judge/adjustments"))
        .bearer_auth(judge())
        .json(&json!({ "team": team, "points": points, "reason": "fan-out measurement" }))
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

/// The marker of a team's row with a given score in a board's JSON (the rows serialize
/// `name` right before `score`).
fn score_marker(name: &str, score: i64) -> Vec<u8> {
    format!("\"name\":\"{name}\",\"score\":{score},").into_bytes()
}

/// Reads a team's current score off the first board of a scoreboard stream.
async fn current_score(client: &reqwest::Client, base: &str, name: &str) -> i64 {
    let mut response = client
        .get(format!("{base}/api/v1/scoreboard/stream"))
        .send()
        .await
        .expect("stream opens");
    let prefix = format!("\"name\":\"{name}\",\"score\":");
    let mut buffer = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("stream reads") {
        buffer.extend_from_slice(&chunk);
        if let Some(at) = memmem(&buffer, prefix.as_bytes()) {
            let rest = &buffer[at + prefix.len()..];
            if let Some(end) = rest.iter().position(|&b| b == b',' || b == b'}') {
                let digits = std::str::from_utf8(&rest[..end]).expect("utf-8 score");
                return digits.parse().expect("integer score");
            }
        }
    }
    panic!("the stream ended before it showed team {name}");
}

async fn create_team(client: &reqwest::Client, base: &str, name: &str) -> Option<Value> {
    let response = client
        .post(format!("{base}/api/v1/teams"))
        .bearer_auth(organizer())
        .json(&json!({ "name": name }))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// The socket address of an `http://host:port` base URL.
fn address(base: &str) -> SocketAddr {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    host.parse().expect("URL of the form http://127.0.0.1:PORT")
}

/// What every stream client shares with the driver.
struct Shared {
    /// Bytes that identify the board of the current round (the new team's quoted name).
    marker: RwLock<Arc<Vec<u8>>>,
    /// The current round (usize::MAX before the first).
    round: AtomicUsize,
    /// Clients that received their first board.
    ready: AtomicUsize,
}

/// One stream client: reads the raw HTTP response and reports when the current round's
/// marker arrives.
async fn client(
    index: usize,
    addr: SocketAddr,
    connects: Arc<Semaphore>,
    shared: Arc<Shared>,
    seen: tokio::sync::mpsc::UnboundedSender<(usize, usize, Instant)>,
) {
    let permit = connects.acquire().await.expect("semaphore");
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket.set_nodelay(true).expect("nodelay");
    socket
        .write_all(b"GET /api/v1/scoreboard/stream HTTP/1.1\r\nhost: load\r\naccept: text/event-stream\r\n\r\n")
        .await
        .expect("request");
    drop(permit);
    let mut buffer = Vec::with_capacity(READ_BUFFER_BYTES);
    let mut ready = false;
    let mut last_round = usize::MAX;
    loop {
        match socket.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let at = Instant::now();
        if !ready && memmem(&buffer, b"data: ").is_some() {
            ready = true;
            shared.ready.fetch_add(1, Ordering::Relaxed);
        }
        let round = shared.round.load(Ordering::Acquire);
        if round != usize::MAX && round != last_round {
            let marker = shared
                .marker
                .read()
                .map(|guard| guard.clone())
                .expect("marker");
            if memmem(&buffer, &marker).is_some() {
                last_round = round;
                let _ = seen.send((index, round, at));
                buffer.clear();
                continue;
            }
        }
        // Keep a tail long enough for a marker split across two reads.
        if buffer.len() > READ_BUFFER_BYTES / 2 {
            let keep = 256.min(buffer.len());
            buffer.drain(..buffer.len() - keep);
        }
    }
}

fn memmem(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

async fn fanout(base: String, clients: usize, rounds: usize) {
    let addr = address(&base);
    let shared = Arc::new(Shared {
        marker: RwLock::new(Arc::new(Vec::new())),
        round: AtomicUsize::new(usize::MAX),
        ready: AtomicUsize::new(0),
    });
    // One kept-alive connection for the changes (warmed up by creating the team whose score
    // the rounds change).
    let trigger = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let name = format!("fanout-{}", std::process::id());
    let team = loop {
        if let Some(team) = create_team(&trigger, &base, &name).await
            && let Some(id) = team["id"].as_u64()
        {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    let mut score = current_score(&reqwest::Client::new(), &base, &name).await;
    let connects = Arc::new(Semaphore::new(CONCURRENT_CONNECTS));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    for index in 0..clients {
        tokio::spawn(client(
            index,
            addr,
            connects.clone(),
            shared.clone(),
            sender.clone(),
        ));
    }
    drop(sender);
    let connecting = Instant::now();
    while shared.ready.load(Ordering::Relaxed) < clients {
        if connecting.elapsed() > ROUND_TIMEOUT * 4 {
            panic!(
                "only {} of {clients} stream clients connected",
                shared.ready.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "{clients} stream clients connected in {:.1} s",
        connecting.elapsed().as_secs_f64()
    );
    let _ = trigger.get(format!("{base}/api/v1/healthz")).send().await;
    let mut all_ms = Vec::with_capacity(clients * rounds);
    let mut last_ms = Vec::new();
    for round in 0..rounds {
        tokio::time::sleep(ROUND_PAUSE).await;
        *shared.marker.write().expect("marker") = Arc::new(score_marker(&name, score + 1));
        shared.round.store(round, Ordering::Release);
        let sent = Instant::now();
        let changed = adjust(&trigger, &base, team, 1).await;
        let answered_ms = sent.elapsed().as_secs_f64() * 1000.0;
        if !changed {
            eprintln!("round {round}: the change was refused (rate limit?); retrying later");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        score += 1;
        let mut count = 0;
        let mut slowest = 0.0f64;
        let mut fastest = f64::INFINITY;
        while count < clients {
            let Ok(Some((_, seen_round, at))) =
                tokio::time::timeout(ROUND_TIMEOUT, receiver.recv()).await
            else {
                eprintln!("round {round}: only {count} of {clients} clients saw the change");
                break;
            };
            if seen_round != round {
                continue;
            }
            count += 1;
            let ms = at.saturating_duration_since(sent).as_secs_f64() * 1000.0;
            slowest = slowest.max(ms);
            fastest = fastest.min(ms);
            all_ms.push(ms);
        }
        last_ms.push(slowest);
        println!(
            "round {round}: change answered after {answered_ms:.1} ms, first client {fastest:.1} ms, last {slowest:.1} ms"
        );
    }
    report(
        &format!("fan-out to {clients} clients, per-client delivery"),
        all_ms,
    );
    report(
        &format!("fan-out to {clients} clients, last client"),
        last_ms,
    );
}

async fn commands(base: String, teams: usize, seconds: u64, active: usize) {
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for index in 0..teams {
        // The organizer's own write budget applies: pace and retry.
        loop {
            if let Some(team) = create_team(&client, &base, &format!("load-{index}")).await
                && let Some(token) = team["token"].as_str()
            {
                tokens.push(token.to_owned());
                break;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    loop {
        let started = client
            .post(format!("{base}/api/v1/game/start"))
            .bearer_auth(organizer())
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if started {
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    tokens.truncate(active);
    let wrk = std::env::var("WRK_ARGS").ok().map(|args| {
        std::process::Command::new("wrk")
            .args(args.split_whitespace())
            .arg(format!("-d{seconds}s"))
            .arg("--latency")
            .arg(format!("{base}/api/v1/scoreboard"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("wrk runs")
    });
    let begin = tokio::time::Instant::now();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    let spread = ACTION_INTERVAL / u32::try_from(active.max(1)).unwrap_or(u32::MAX);
    for (index, token) in tokens.into_iter().enumerate() {
        let client = client.clone();
        let base = base.clone();
        let offset = spread * u32::try_from(index).unwrap_or(u32::MAX);
        workers.push(tokio::spawn(async move {
            let services = ["web", "shop-api", "checkout", "cache", "db"];
            let mut interval = tokio::time::interval_at(begin + offset, ACTION_INTERVAL);
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            let mut index = 0usize;
            while Instant::now() < deadline {
                interval.tick().await;
                index += 1;
                let body = json!({"action": "restart_service", "service": services[index % services.len()]});
                let sent = Instant::now();
                let response = client
                    .post(format!("{base}/api/v1/team/actions"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                match response {
                    Ok(r) if r.status().is_success() => latencies.push(ms),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for worker in workers {
        let (latencies, failed) = worker.await.expect("worker");
        all.extend(latencies);
        failures += failed;
    }
    println!(
        "{} commands in {seconds} s ({:.0}/s), {failures} failed",
        all.len(),
        all.len() as f64 / seconds as f64
    );
    report(
        &format!(
            "team actions, {} of {teams} teams at 10/s each",
            active.min(teams)
        ),
        all,
    );
    if let Some(wrk) = wrk {
        let output = wrk.wait_with_output().expect("wrk ends");
        println!("{}", String::from_utf8_lossy(&output.stdout));
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize, default: usize| -> usize {
        args.get(index)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("fanout"), Some(base)) => fanout(base.clone(), number(2, 1000), number(3, 20)).await,
        (Some("commands"), Some(base)) => {
            let teams = number(2, 100);
            commands(base.clone(), teams, number(3, 10) as u64, number(4, teams)).await;
        }
        _ => eprintln!(
            "usage: serve_load fanout URL CLIENTS ROUNDS | serve_load commands URL TEAMS SECONDS [ACTIVE]"
        ),
    }
}
