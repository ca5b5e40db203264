//! End-to-end browser test: the real `breakathon serve` binary on the tutorial with a manual
//! clock, driven through headless Chromium (chromedriver + fantoccini). An organizer creates a
//! team and starts the game on the organizer page; the team plays the first incident on its
//! console (sees the crash, declares it, restarts the instance) while the public scoreboard,
//! open in another window and never reloaded, shows the detection and then the fix; the judge
//! page shows the truth beside the team; after Finish the scoreboard reveals every incident and
//! the team gets its debrief. The clock is advanced through the API, never waited for.
//!
//! Screenshots of each page go to `target/screenshots/`. Without Chromium and chromedriver the
//! test says why and passes, unless `BREAKATHON_REQUIRE_BROWSER=1`.

use std::error::Error;
use std::fs;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

type TestResult<T = ()> = Result<T, Box<dyn Error + Send + Sync>>;

/// The organizer's token, handed to the server through its environment.
const ORGANIZER_TOKEN: &str = "browser-test-organizer-token-0123456789";
/// The judge's token.
const JUDGE_TOKEN: &str = "browser-test-judge-token-0123456789";
/// A team name with markup in it: the pages must show it as text.
const TEAM_NAME: &str = "Blue <b>Team</b> & co";
/// Where the Debian packages install the browser and its driver (override with the
/// environment variables `BREAKATHON_CHROMIUM` and `BREAKATHON_CHROMEDRIVER`).
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser and driver to use: the environment's choice, else the Debian paths.
fn browser_paths() -> (String, String) {
    let pick = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
    (
        pick("BREAKATHON_CHROMIUM", CHROMIUM),
        pick("BREAKATHON_CHROMEDRIVER", CHROMEDRIVER),
    )
}
/// What `serve` prints before the address it listens on.
const LISTENING_PREFIX: &str = "listening on ";
/// Longest wait for a process to answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a page to show something.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);
/// Time between two looks at a page.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Most tries at an action on an element the page keeps replacing (see `with_element`).
const STALE_ATTEMPTS: u32 = 10;
/// Most simulated time the test advances while waiting for the fix, in seconds.
const MAX_FIX_WAIT_S: u64 = 600;
/// Simulated seconds per advance while waiting for the fix.
const FIX_STEP_S: u64 = 15;
/// A judge's reason with markup in it: the team's ledger must show it as text.
const ADJUSTMENT_REASON: &str = "Clear <em>status</em> updates";
/// A value the scoreboard page keeps only if it is never reloaded.
const MARKER: i64 = 42;

/// A child process killed when the test ends, whatever happens.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> TestResult<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots")
}

/// Whether the browser is there; if not, why.
fn browser_missing() -> Option<String> {
    let (chromium, chromedriver) = browser_paths();
    let missing: Vec<String> = [chromium, chromedriver]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not installed (apt-get install chromium chromium-driver)",
            missing.join(" and ")
        )
    })
}

#[test]
fn play_the_tutorial_in_a_browser() {
    if let Some(why) = browser_missing() {
        if std::env::var("BREAKATHON_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("BREAKATHON_REQUIRE_BROWSER=1 but {why}");
        }
        eprintln!("skipping the browser test: {why}");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(error) = runtime.block_on(run()) {
        panic!("browser test failed: {error}");
    }
}

/// The game server, started fresh in a temporary data directory.
struct Server {
    base: String,
    http: reqwest::Client,
    process: Guard,
    log: PathBuf,
    _data: tempfile::TempDir,
}

impl Server {
    async fn start() -> TestResult<Server> {
        let data = tempfile::tempdir()?;
        let log = data.path().join("server.log");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let process = Command::new(env!("CARGO_BIN_EXE_breakathon"))
            .current_dir(root)
            // Port 0: the server picks a free port and prints where it listens.
            .args([
                "serve",
                "scenarios/tutorial.ron",
                "--clock",
                "manual",
                "--port",
                "0",
            ])
            .arg("--data-dir")
            .arg(data.path().join("game"))
            .arg("--new")
            .env("BREAKATHON_ORGANIZER_TOKEN", ORGANIZER_TOKEN)
            .env("BREAKATHON_JUDGE_TOKEN", JUDGE_TOKEN)
            .stdout(Stdio::from(fs::File::create(&log)?))
            .stderr(Stdio::from(fs::File::create(
                data.path().join("server.err"),
            )?))
            .spawn()?;
        let mut server = Server {
            base: String::new(),
            http: reqwest::Client::new(),
            process: Guard(process),
            log,
            _data: data,
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if server.base.is_empty() {
                let printed = fs::read_to_string(&server.log).unwrap_or_default();
                if let Some(url) = printed
                    .lines()
                    .find_map(|line| line.strip_prefix(LISTENING_PREFIX))
                {
                    server.base = url.trim().trim_end_matches('/').to_owned();
                }
            }
            if !server.base.is_empty()
                && let Ok(response) = server
                    .http
                    .get(format!("{}/api/v1/game", server.base))
                    .send()
                    .await
                && response.status().is_success()
            {
                return Ok(server);
            }
            if let Some(status) = server.process.0.try_wait()? {
                return Err(format!("the server exited ({status}): {}", server.logs()).into());
            }
            if Instant::now() > deadline {
                return Err(format!("the server did not answer: {}", server.logs()).into());
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    fn logs(&self) -> String {
        let err = self.log.with_file_name("server.err");
        format!(
            "stdout: {}\nstderr: {}",
            fs::read_to_string(&self.log).unwrap_or_default(),
            fs::read_to_string(err).unwrap_or_default()
        )
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Calls the API as the organizer.
    async fn organizer(&self, path: &str, body: Value) -> TestResult<Value> {
        let response = self
            .http
            .post(self.url(&format!("/api/v1{path}")))
            .bearer_auth(ORGANIZER_TOKEN)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status}: {text}").into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn advance(&self, seconds: u64) -> TestResult<Value> {
        self.organizer("/game/advance", json!({ "seconds": seconds }))
            .await
    }
}

/// chromedriver, and a browser session on it.
async fn browser() -> TestResult<(Guard, tempfile::TempDir, Client)> {
    let (chromium, chromedriver) = browser_paths();
    let port = free_port()?;
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let guard = Guard(driver);
    let profile = tempfile::tempdir()?;
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--user-data-dir={}", profile.path().display())])
    .collect::<Vec<_>>();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium, "args": args }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match ClientBuilder::rustls()?
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Ok((guard, profile, client)),
            Err(error) if Instant::now() > deadline => {
                return Err(format!("no WebDriver session: {error}").into());
            }
            Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// Runs `script` (a function body that returns a value) until it returns something truthy.
async fn wait_for(client: &Client, what: &str, script: &str) -> TestResult<Value> {
    let deadline = Instant::now() + PAGE_TIMEOUT;
    loop {
        let value = client.execute(script, vec![]).await?;
        let truthy = match &value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        };
        if truthy {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what} (last: {value})").into());
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn screenshot(client: &Client, name: &str) -> TestResult {
    let dir = screenshots_dir();
    fs::create_dir_all(&dir)?;
    fs::write(dir.join(format!("{name}.png")), client.screenshot().await?)?;
    Ok(())
}

/// Finds the element with `id` and does `act` with it. The pages redraw parts of themselves
/// as the game moves (the team console refills its lists when the fleet changes), so an
/// element found can be replaced before `act` reaches it (a stale element reference): then it
/// is found again and `act` retried, up to `STALE_ATTEMPTS` times.
async fn with_element<F, Fut>(client: &Client, id: &str, act: F) -> TestResult
where
    F: Fn(Element) -> Fut,
    Fut: Future<Output = Result<(), CmdError>>,
{
    let mut attempts = 1;
    loop {
        let outcome = match client.find(Locator::Id(id)).await {
            Ok(element) => act(element).await,
            Err(err) => Err(err),
        };
        match outcome {
            Err(err) if err.is_stale_element_reference() && attempts < STALE_ATTEMPTS => {
                attempts += 1;
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            other => return Ok(other?),
        }
    }
}

/// Types `text` into the field with `id` (after clearing it).
async fn type_into(client: &Client, id: &str, text: &str) -> TestResult {
    with_element(client, id, |field| async move {
        field.clear().await?;
        field.send_keys(text).await
    })
    .await
}

/// Clicks the element with `id`.
async fn click(client: &Client, id: &str) -> TestResult {
    with_element(client, id, |element| async move {
        element.click().await.map(drop)
    })
    .await
}

/// Chooses `value` in the select with `id`.
async fn select(client: &Client, id: &str, value: &str) -> TestResult {
    with_element(client, id, |element| async move {
        element.select_by_value(value).await.map(drop)
    })
    .await
}

/// Signs in on a page that shows the shared sign-in form.
async fn sign_in(client: &Client, token: &str, ready_id: &str) -> TestResult {
    wait_for(
        client,
        "the sign-in form",
        "return document.getElementById('signin-token') !== null;",
    )
    .await?;
    type_into(client, "signin-token", token).await?;
    click(client, "signin-submit").await?;
    wait_for(
        client,
        &format!("#{ready_id} after signing in"),
        &format!("return !document.getElementById('{ready_id}').hidden;"),
    )
    .await?;
    Ok(())
}

/// A script that reads one cell of the team's row on a scoreboard table.
fn board_cell(field: &str) -> String {
    format!(
        "const rows = [...document.querySelectorAll('#board-table tbody tr')];\
         const row = rows.find((r) => r.querySelector('td.team').textContent === {name});\
         return row ? row.querySelector('td[data-field={field}]').textContent : null;",
        name = Value::String(TEAM_NAME.into()),
    )
}

/// A script that is true once the team's row shows `expected` in `field`.
fn board_cell_is(field: &str, expected: &str) -> String {
    format!(
        "const rows = [...document.querySelectorAll('#board-table tbody tr')];\
         const row = rows.find((r) => r.querySelector('td.team').textContent === {name});\
         return row !== undefined && row.querySelector('td[data-field={field}]').textContent === {expected};",
        name = Value::String(TEAM_NAME.into()),
        expected = Value::String(expected.into()),
    )
}

/// Fails if a page recorded a script error.
async fn no_script_errors(client: &Client, page: &str) -> TestResult {
    let errors = client
        .execute(
            "return typeof BK === 'undefined' ? ['common.js did not load'] : BK.errors;",
            vec![],
        )
        .await?;
    match errors.as_array() {
        Some(list) if list.is_empty() => Ok(()),
        _ => Err(format!("script errors on the {page} page: {errors}").into()),
    }
}

async fn run() -> TestResult {
    let server = Server::start().await?;
    let (_driver, _profile, client) = browser().await?;
    let outcome = play(&server, &client).await;
    if outcome.is_err() {
        let _ = screenshot(&client, "failure").await;
        eprintln!("server logs:\n{}", server.logs());
    }
    let _ = client.close().await;
    outcome
}

async fn play(server: &Server, client: &Client) -> TestResult {
    // --- Organizer: sign in, create the team (its token is shown once), start the game.
    client.goto(&server.url("/organizer")).await?;
    sign_in(client, ORGANIZER_TOKEN, "organizer").await?;
    wait_for(
        client,
        "the scenario",
        "return document.getElementById('faults-table') !== null;",
    )
    .await?;
    type_into(client, "team-name", TEAM_NAME).await?;
    click(client, "team-create").await?;
    let token = wait_for(
        client,
        "the new team's token",
        "const box = document.getElementById('new-token-box');\
         return box.hidden ? null : document.getElementById('new-token').textContent;",
    )
    .await?;
    let token = token.as_str().ok_or("the token is not text")?.to_owned();
    wait_for(
        client,
        "the team listed by its exact name",
        &format!(
            "const t = document.getElementById('teams-table');\
             return t && [...t.querySelectorAll('td')].some((td) => td.textContent === {name}) \
             && t.querySelector('b') === null;",
            name = Value::String(TEAM_NAME.into())
        ),
    )
    .await?;
    click(client, "btn-start").await?;
    wait_for(
        client,
        "the game running",
        "const s = document.getElementById('game-state'); return s && s.dataset.state === 'running';",
    )
    .await?;
    screenshot(client, "organizer").await?;
    no_script_errors(client, "organizer").await?;
    let organizer_window = client.window().await?;

    // --- The public scoreboard in its own window, marked so that a reload would show.
    let board_window = client.new_window(false).await?.handle;
    client.switch_to_window(board_window.clone()).await?;
    client.goto(&server.url("/")).await?;
    wait_for(client, "the team on the board", &board_cell("score")).await?;
    client
        .execute(&format!("window.__marker = {MARKER}; return true;"), vec![])
        .await?;
    wait_for(
        client,
        "the live stream",
        "return document.getElementById('live').classList.contains('on');",
    )
    .await?;

    // --- The team console: the fleet before anything breaks.
    let team_window = client.new_window(false).await?.handle;
    client.switch_to_window(team_window.clone()).await?;
    client.goto(&server.url("/team")).await?;
    sign_in(client, &token, "console").await?;
    wait_for(
        client,
        "shop-api on the fleet map",
        "const n = document.querySelector('#fleet-map .node[data-service=\"shop-api\"]'); return n && n.dataset.health;",
    )
    .await?;

    // --- Three minutes in, one shop-api instance crashes: the console shows it.
    server.advance(200).await?;
    let health = wait_for(
        client,
        "shop-api shown as not healthy",
        "const n = document.querySelector('#fleet-map .node[data-service=\"shop-api\"]');\
         if (!n) return null;\
         const down = n.querySelector('[data-state=\"down\"], [data-state=\"failing probe\"]');\
         return (n.dataset.health !== 'healthy' || down) ? n.dataset.health : null;",
    )
    .await?;
    eprintln!("shop-api is {health}");
    screenshot(client, "team-console-fault").await?;

    // --- Declare it: shop-api, crash.
    click(client, "tab-declare").await?;
    click(client, "declare-kind-service").await?;
    select(client, "declare-target", "shop-api").await?;
    select(client, "declare-class", "crash").await?;
    click(client, "declare-submit").await?;
    let verdict = wait_for(
        client,
        "the declaration's verdict",
        "const e = document.querySelector('#declare-log [data-outcome]'); return e && e.textContent;",
    )
    .await?;
    let verdict = verdict.as_str().unwrap_or_default().to_owned();
    if !verdict.contains("correct") {
        return Err(format!("the declaration was not judged correct: {verdict}").into());
    }

    // --- Act: restart the instance that is down (any restart resolves a crash).
    click(client, "tab-act").await?;
    select(client, "action-service", "shop-api").await?;
    select(client, "action-kind", "restart_instance").await?;
    let down = client
        .execute(
            "const o = document.querySelector('#param-instance option[data-state=\"down\"]')\
             || document.querySelector('#param-instance option[data-state=\"failing probe\"]');\
             return o ? o.value : null;",
            vec![],
        )
        .await?;
    match down.as_str() {
        Some(index) => select(client, "param-instance", index).await?,
        None => select(client, "action-kind", "restart_service").await?,
    }
    click(client, "action-submit").await?;
    let accepted = wait_for(
        client,
        "the action accepted",
        "const e = document.querySelector('#action-log [data-outcome]'); return e && e.dataset.outcome + ': ' + e.textContent;",
    )
    .await?;
    if !accepted
        .as_str()
        .unwrap_or_default()
        .starts_with("accepted")
    {
        return Err(format!("the action was refused: {accepted}").into());
    }
    screenshot(client, "team-console-declared").await?;
    no_script_errors(client, "team console").await?;

    // --- The scoreboard, never reloaded, shows the detection.
    client.switch_to_window(board_window.clone()).await?;
    wait_for(
        client,
        "the detection on the board",
        &board_cell_is("incidents_detected", "1"),
    )
    .await?;
    screenshot(client, "scoreboard-detected").await?;

    // --- Advance until health has held for the sustain window: the board shows the fix.
    let mut advanced = 0;
    loop {
        server.advance(FIX_STEP_S).await?;
        advanced += FIX_STEP_S;
        let fixed = client
            .execute(&board_cell("incidents_fixed"), vec![])
            .await?;
        if fixed.as_str() == Some("1") {
            break;
        }
        if advanced >= MAX_FIX_WAIT_S {
            return Err(
                format!("no fix on the board after {advanced} s more (fixed: {fixed})").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let marker = client
        .execute(
            "return window.__marker === undefined ? null : window.__marker;",
            vec![],
        )
        .await?;
    if marker != json!(MARKER) {
        return Err(format!("the scoreboard was reloaded (marker {marker})").into());
    }
    let shown = client.execute(&board_cell("median_ttf_s"), vec![]).await?;
    eprintln!("median TTF on the board: {shown}");
    screenshot(client, "scoreboard-fixed").await?;
    no_script_errors(client, "scoreboard").await?;

    // --- The team's own incident list says fixed.
    client.switch_to_window(team_window.clone()).await?;
    click(client, "tab-incidents").await?;
    wait_for(
        client,
        "the incident fixed on the console",
        "const r = document.querySelector('#incidents-table tbody tr'); return r && r.dataset.status === 'fixed';",
    )
    .await?;
    screenshot(client, "team-console-fixed").await?;

    // --- The judge sees the truth beside the team.
    client.switch_to_window(organizer_window.clone()).await?;
    client.goto(&server.url("/judge")).await?;
    sign_in(client, JUDGE_TOKEN, "judge").await?;
    wait_for(
        client,
        "the true timeline with the team's result",
        &format!(
            "const t = document.getElementById('truth-table');\
             return t && t.textContent.includes('shop-api-instance-crash') \
             && [...t.querySelectorAll('th')].some((th) => th.textContent === {name}) \
             && t.textContent.includes('fixed in');",
            name = Value::String(TEAM_NAME.into())
        ),
    )
    .await?;
    let team_id = client
        .execute(
            &format!(
                "const o = [...document.getElementById('tl-team').options].find((o) => o.textContent === {name});\
                 return o ? o.value : null;",
                name = Value::String(TEAM_NAME.into())
            ),
            vec![],
        )
        .await?;
    let team_id = team_id
        .as_str()
        .ok_or("the team is not in the judge's team list")?
        .to_owned();
    select(client, "tl-team", &team_id).await?;
    wait_for(
        client,
        "the team's timeline",
        "const t = document.getElementById('timeline-table'); return t && t.textContent.includes('shop-api');",
    )
    .await?;
    // A judge's adjustment through the form reaches the live standings.
    select(client, "adj-team", &team_id).await?;
    type_into(client, "adj-points", "7").await?;
    type_into(client, "adj-reason", ADJUSTMENT_REASON).await?;
    let before = client
        .execute(
            "const c = document.querySelector('#board-table tbody td:nth-child(3)'); return c ? c.textContent : null;",
            vec![],
        )
        .await?;
    click(client, "adj-submit").await?;
    wait_for(
        client,
        "the adjusted score on the judge's standings",
        &format!(
            "const c = document.querySelector('#board-table tbody td:nth-child(3)'); return c !== null && c.textContent !== {before};"
        ),
    )
    .await?;
    screenshot(client, "judge").await?;
    no_script_errors(client, "judge").await?;

    // The team's ledger shows the judge's reason as text.
    client.switch_to_window(team_window.clone()).await?;
    click(client, "tab-ledger").await?;
    wait_for(
        client,
        "the adjustment in the team's ledger",
        &format!(
            "const t = document.getElementById('ledger-table');\
             return t !== null && t.textContent.includes({reason}) && t.querySelector('em') === null;",
            reason = Value::String(ADJUSTMENT_REASON.into())
        ),
    )
    .await?;
    screenshot(client, "team-console-ledger").await?;

    // Freeze: the public board says so; unfreeze reveals it again.
    server.organizer("/game/freeze", json!({})).await?;
    client.switch_to_window(board_window.clone()).await?;
    wait_for(
        client,
        "the frozen banner",
        "return !document.getElementById('frozen-banner').hidden;",
    )
    .await?;
    screenshot(client, "scoreboard-frozen").await?;
    server.organizer("/game/unfreeze", json!({})).await?;
    wait_for(
        client,
        "the frozen banner gone",
        "return document.getElementById('frozen-banner').hidden;",
    )
    .await?;
    client.switch_to_window(organizer_window.clone()).await?;

    // --- Finish: the scoreboard reveals every incident, still without a reload.
    server.organizer("/game/finish", json!({})).await?;
    client.switch_to_window(board_window.clone()).await?;
    wait_for(
        client,
        "the incident grid after Finish",
        "const r = document.getElementById('results');\
         return !r.hidden && document.getElementById('incident-grid') !== null \
         && r.textContent.includes('shop-api-instance-crash');",
    )
    .await?;
    let marker = client
        .execute(
            "return window.__marker === undefined ? null : window.__marker;",
            vec![],
        )
        .await?;
    if marker != json!(MARKER) {
        return Err(format!("the scoreboard was reloaded (marker {marker})").into());
    }
    screenshot(client, "scoreboard-finished").await?;
    client.goto(&server.url("/?big=1")).await?;
    wait_for(client, "big-screen mode", "return document.body.classList.contains('big') && document.getElementById('board-table') !== null && !document.getElementById('score-chart').hidden;").await?;
    screenshot(client, "scoreboard-big").await?;
    no_script_errors(client, "big-screen scoreboard").await?;

    // --- The team's debrief.
    client.switch_to_window(team_window).await?;
    wait_for(
        client,
        "the debrief",
        "const t = document.getElementById('tab-debrief');\
         return !t.hidden && document.getElementById('debrief').textContent.includes('Final rank');",
    )
    .await?;
    // What each incident cost: a measured amount in every row, not a dash.
    wait_for(
        client,
        "the cost of each incident in the debrief",
        "const t = document.getElementById('debrief-incidents');\
         if (!t) return false;\
         const col = [...t.querySelectorAll('th')].map((th) => th.textContent).indexOf('Revenue lost');\
         const rows = [...t.querySelectorAll('tbody tr')];\
         return col >= 0 && rows.length > 0 && rows.every((r) => /^-?[0-9,]+$/.test(r.cells[col].textContent));",
    )
    .await?;
    screenshot(client, "team-debrief").await?;
    no_script_errors(client, "team console").await?;

    // --- The organizer page after the game.
    client.switch_to_window(organizer_window).await?;
    client.goto(&server.url("/organizer")).await?;
    wait_for(
        client,
        "the organizer page after Finish",
        "const s = document.getElementById('game-state'); return s && s.dataset.state === 'finished';",
    )
    .await?;
    screenshot(client, "organizer-finished").await?;
    no_script_errors(client, "organizer").await?;
    Ok(())
}
