//! Load generator for `docs/PERFORMANCE.md`, run against a live `breakathon serve --clock
//! manual` (organizer token in `BREAKATHON_ORGANIZER_TOKEN`):
//!
//! - `load fanout URL CLIENTS ROUNDS`: opens CLIENTS scoreboard streams, then ROUNDS times
//!   creates a team and measures how long each client takes to see it (from the moment the
//!   request is sent).
//! - `load commands URL TEAMS SECONDS`: TEAMS teams each send a team action every 100 ms
//!   (their rate limit is 10/s) for SECONDS; reports the latency distribution.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Barrier;

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
    std::env::var("BREAKATHON_ORGANIZER_TOKEN").expect("BREAKATHON_ORGANIZER_TOKEN")
}

async fn create_team(client: &reqwest::Client, base: &str, name: &str) -> Value {
    client
        .post(format!("{base}/api/v1/teams"))
        .bearer_auth(organizer())
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect("create team")
        .json()
        .await
        .expect("json")
}

async fn fanout(base: String, clients: usize, rounds: usize) {
    // One shared client: HTTP/1 opens one connection per concurrent stream, like one browser
    // per spectator.
    let streams = reqwest::Client::new();
    let barrier = Arc::new(Barrier::new(clients + 1));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(usize, String, Instant)>();
    for index in 0..clients {
        let base = base.clone();
        let barrier = barrier.clone();
        let sender = sender.clone();
        let client = streams.clone();
        tokio::spawn(async move {
            let response = client
                .get(format!("{base}/api/v1/scoreboard/stream"))
                .send()
                .await
                .expect("stream");
            let mut body = response.bytes_stream();
            let mut buffer = String::new();
            let mut ready = false;
            while let Some(Ok(chunk)) = body.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if !ready {
                        ready = true;
                        barrier.wait().await;
                        continue;
                    }
                    let _ = sender.send((index, block, Instant::now()));
                }
            }
        });
    }
    drop(sender);
    barrier.wait().await;
    println!("{clients} stream clients connected");
    let mut all_ms = Vec::new();
    let mut last_ms = Vec::new();
    let mut spread_ms = Vec::new();
    for round in 0..rounds {
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let name = format!("fanout-{round}-{unique}");
        let sent = Instant::now();
        // The change is made by a separate process (curl), so that the generator's own
        // runtime, busy with thousands of streams, cannot delay the request.
        let (organizer_header, body, url) = (
            format!("Authorization: Bearer {}", organizer()),
            json!({ "name": name }).to_string(),
            format!("{base}/api/v1/teams"),
        );
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
                .args([
                    "-H",
                    &organizer_header,
                    "-H",
                    "content-type: application/json",
                ])
                .args(["-d", &body, &url])
                .output()
                .expect("curl runs")
        })
        .await
        .expect("curl task");
        assert_eq!(
            String::from_utf8_lossy(&status.stdout),
            "201",
            "team created"
        );
        let answered_ms = sent.elapsed().as_secs_f64() * 1000.0;
        let mut seen = vec![false; clients];
        let mut count = 0;
        let mut slowest = 0.0f64;
        let mut fastest = f64::INFINITY;
        while count < clients {
            let Ok(Some((index, block, at))) =
                tokio::time::timeout(Duration::from_secs(30), receiver.recv()).await
            else {
                eprintln!("round {round}: only {count} of {clients} clients saw the change");
                break;
            };
            if !seen[index] && block.contains(&name) {
                seen[index] = true;
                count += 1;
                let ms = at.duration_since(sent).as_secs_f64() * 1000.0;
                slowest = slowest.max(ms);
                fastest = fastest.min(ms);
                all_ms.push(ms);
            }
        }
        last_ms.push(slowest);
        spread_ms.push(slowest - fastest);
        println!(
            "round {round}: POST answered after {answered_ms:.1} ms, first client after {fastest:.1} ms, last after {slowest:.1} ms"
        );
    }
    report(&format!("fan-out to {clients} clients, per client"), all_ms);
    report(
        &format!("fan-out to {clients} clients, last client"),
        last_ms,
    );
    report(
        &format!("fan-out to {clients} clients, first to last client"),
        spread_ms,
    );
}

async fn commands(base: String, teams: usize, seconds: u64) {
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for index in 0..teams {
        // The organizer's own write budget applies: pace and retry.
        loop {
            let team = create_team(&client, &base, &format!("load-{index}")).await;
            if let Some(token) = team["token"].as_str() {
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
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for token in tokens {
        let client = client.clone();
        let base = base.clone();
        workers.push(tokio::spawn(async move {
            let services = ["web", "shop-api", "checkout", "cache", "db"];
            let mut interval = tokio::time::interval(Duration::from_millis(100));
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
    report(&format!("team actions, {teams} teams at 10/s each"), all);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize, default: usize| -> usize {
        args.get(index)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("fanout") => fanout(args[1].clone(), number(2, 1000), number(3, 20)).await,
        Some("commands") => commands(args[1].clone(), number(2, 100), number(3, 10) as u64).await,
        _ => eprintln!("usage: load fanout URL CLIENTS ROUNDS | load commands URL TEAMS SECONDS"),
    }
}
