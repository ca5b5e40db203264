//! Shared helpers of the HTTP tests: a real server on 127.0.0.1:0 (in process, manual clock
//! by default) and a small JSON client.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::PathBuf;

use breakathon_game::{ClockMode, Game, GameOptions};
use breakathon_server::{AppState, ServerConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The organizer token every test server uses.
pub const ORGANIZER: &str = "test-organizer-token";
/// The judge token every test server uses.
pub const JUDGE: &str = "test-judge-token";
/// The tutorial scenario, the one the tests play.
pub const TUTORIAL: &str = include_str!("../../scenarios/tutorial.ron");

/// A running server and a client for it.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's state (to inspect the game or shut down).
    pub state: AppState,
    /// The HTTP client.
    pub client: reqwest::Client,
    server: Option<JoinHandle<std::io::Result<()>>>,
    dir: tempfile::TempDir,
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Parsed body.
    pub body: Value,
    /// Raw body text.
    pub text: String,
}

impl TestServer {
    /// Starts a server on the tutorial with a manual clock.
    pub async fn start() -> TestServer {
        Self::start_with(TUTORIAL, ClockMode::Manual, ServerConfig::default()).await
    }

    /// Starts a server on `scenario` with `clock` and `config`.
    pub async fn start_with(scenario: &str, clock: ClockMode, config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = open(dir.path().to_owned(), scenario, clock, config).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(breakathon_server::serve(listener, state.clone()));
        TestServer {
            base,
            state,
            client: reqwest::Client::new(),
            server: Some(server),
            dir,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Sends a request with an optional token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text }
    }

    /// Sends a request and returns only the status (works for streams too).
    pub async fn status(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> StatusCode {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent").status()
    }

    /// GET with a token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    /// POST with a token and a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// GET that must answer 200; returns the body.
    pub async fn ok(&self, path: &str, token: Option<&str>) -> Value {
        let reply = self.get(path, token).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.text);
        reply.body
    }

    /// Creates a team; returns (id, token).
    pub async fn team(&self, name: &str) -> (u64, String) {
        let reply = self
            .post("/api/v1/teams", Some(ORGANIZER), json!({ "name": name }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let id = reply.body["id"].as_u64().expect("id");
        let token = reply.body["token"].as_str().expect("token").to_owned();
        (id, token)
    }

    /// Organizer POST that must succeed.
    pub async fn organizer(&self, path: &str, body: Value) -> Value {
        let reply = self.post(path, Some(ORGANIZER), body).await;
        assert!(
            reply.status.is_success(),
            "POST {path}: {} {}",
            reply.status,
            reply.text
        );
        reply.body
    }

    /// Advances the manual clock by `seconds`.
    pub async fn advance(&self, seconds: u64) -> Value {
        self.organizer("/api/v1/game/advance", json!({ "seconds": seconds }))
            .await
    }

    /// Shuts the server down gracefully and waits for it.
    pub async fn shutdown(mut self) {
        self.state.shutdown().cancel();
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
    }
}

/// Opens a game in `dir` and wraps it in server state.
pub async fn open(
    dir: PathBuf,
    scenario: &str,
    clock: ClockMode,
    config: ServerConfig,
) -> AppState {
    let started = tokio::time::Instant::now();
    let scenario = scenario.to_owned();
    let opened = tokio::task::spawn_blocking(move || {
        Game::open(
            GameOptions {
                data_dir: dir,
                scenario_name: "tutorial.ron".into(),
                scenario_source: scenario,
                clock,
                new_game: false,
                organizer_token: Some(ORGANIZER.into()),
                judge_token: Some(JUDGE.into()),
            },
            0,
        )
    })
    .await
    .expect("open task")
    .expect("game opens");
    AppState::new(opened.game, started, config)
}

/// A `breakathon serve` child process.
pub struct ServeProcess {
    /// The child.
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Lines it printed on stdout up to "listening on".
    pub banner: Vec<String>,
    /// Everything it printed on stderr so far (also echoed to the test's stderr).
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServeProcess {
    /// Panics, showing the banner, unless one of its lines contains `text`.
    #[track_caller]
    pub fn assert_banner_mentions(&self, text: &str) {
        assert!(
            self.banner.iter().any(|line| line.contains(text)),
            "no line of the start banner mentions {text:?}: {:#?}",
            self.banner
        );
    }

    /// Spawns `breakathon serve ARGS --port 0` (on 127.0.0.1 unless ARGS has `--bind`) with
    /// the test tokens and waits until it listens.
    pub fn spawn(args: &[&str]) -> ServeProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_breakathon"))
            .arg("serve")
            .args(args)
            .args(["--port", "0"])
            .args(if args.contains(&"--bind") {
                &[][..]
            } else {
                &["--bind", "127.0.0.1"][..]
            })
            .env("BREAKATHON_ORGANIZER_TOKEN", ORGANIZER)
            .env("BREAKATHON_JUDGE_TOKEN", JUDGE)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("breakathon serve starts");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let child_stderr = child.stderr.take().expect("stderr");
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(child_stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[serve] {line}");
                if let Ok(mut text) = collected.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    // Keep draining so the child never blocks on a full pipe.
                    continue;
                }
            }
        });
        let mut banner = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = match receiver.recv_timeout(left) {
                Ok(line) => line,
                Err(error) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("serve did not start: {error}; printed: {banner:#?}");
                }
            };
            let base = line.strip_prefix("listening on ").map(str::to_owned);
            banner.push(line);
            if let Some(base) = base {
                return ServeProcess {
                    child,
                    base,
                    banner,
                    stderr,
                };
            }
        }
    }

    /// Kills the process at once (SIGKILL) and reaps it.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
