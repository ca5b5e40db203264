//! `breakathon serve [SCENARIO]`: check the scenario, open or recover the game in the data
//! directory, and run the web server (API, live streams, pages) until Ctrl-C.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use breakathon_game::{ClockMode, Game, GameOptions, GameState};
use breakathon_server::{AppState, ServerConfig};

use super::scenario::DEFAULT_SCENARIO;
use clap::Args;

/// Environment variable holding the organizer token.
pub const ORGANIZER_TOKEN_ENV: &str = "BREAKATHON_ORGANIZER_TOKEN";
/// Environment variable holding the judge token.
pub const JUDGE_TOKEN_ENV: &str = "BREAKATHON_JUDGE_TOKEN";

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Scenario file, or the name of a shipped scenario (tutorial, retail-celebrity-spike,
    /// failure-friday-three-datacenters, chaos-cat, breakathon-4h). Default: tutorial.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<String>,
    /// TCP port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on. Anything but loopback should sit behind a TLS reverse proxy.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Simulated seconds per wall second (default: the scenario's own speed). Chooses a new
    /// game's clock: a recovered game keeps the one it was created with.
    #[arg(long, conflicts_with = "clock")]
    pub speed: Option<f64>,
    /// `manual`: the clock only moves on `POST /api/v1/game/advance` (a new game's clock,
    /// like --speed).
    #[arg(long, value_parser = ["manual"])]
    pub clock: Option<String>,
    /// Where the journal and tokens live (one process at a time: it is locked while served).
    #[arg(long, default_value = "./breakathon-data")]
    pub data_dir: PathBuf,
    /// Archive the game in the data directory and start a fresh one.
    #[arg(long)]
    pub new: bool,
    /// Add bot teams (perfect, sloppy, restart-only, idle) and start the game at once.
    #[arg(long)]
    pub demo: bool,
}

/// Runs the server until Ctrl-C (or SIGTERM).
pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let (name, source) =
        super::scenario::resolve(args.scenario.as_deref().unwrap_or(DEFAULT_SCENARIO))?;
    let report = breakathon_scenario::check(&name, &source);
    let handler = crate::cli::check::handler(std::io::stderr().is_terminal());
    if report.has_errors() || report.warning_count() > 0 {
        eprintln!("{}", crate::cli::check::render(&report, &handler));
    }
    if report.has_errors() {
        return Ok(ExitCode::FAILURE);
    }
    // The clock asked for on the command line, if any (a recovered game keeps its own).
    let asked = match (&args.clock, args.speed) {
        (Some(_), _) => Some(ClockMode::Manual),
        (None, Some(speed)) => {
            if !(speed.is_finite() && speed > 0.0) {
                bail!("--speed must be a positive number of simulated seconds per wall second");
            }
            Some(ClockMode::Speed(speed))
        }
        (None, None) => None,
    };
    let clock = asked.unwrap_or(ClockMode::Speed(
        report.scenario.as_ref().map_or(1.0, |s| s.speed),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, name, source, clock, asked))?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the game, binds, prints the URLs and serves until shutdown.
async fn serve(
    args: &ServeArgs,
    name: String,
    source: String,
    clock: ClockMode,
    asked: Option<ClockMode>,
) -> anyhow::Result<()> {
    let started = tokio::time::Instant::now();
    let options = GameOptions {
        data_dir: args.data_dir.clone(),
        scenario_name: name.clone(),
        scenario_source: source,
        clock,
        new_game: args.new,
        organizer_token: env_token(ORGANIZER_TOKEN_ENV),
        judge_token: env_token(JUDGE_TOKEN_ENV),
    };
    let opened = tokio::task::spawn_blocking(move || {
        Game::open(
            options,
            u64::try_from(started.elapsed().as_millis()).unwrap_or(0),
        )
    })
    .await
    .context("opening the game")?
    .with_context(|| format!("opening the game in {}", args.data_dir.display()))?;
    let state = AppState::new(opened.game, started, ServerConfig::default());
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let base = format!("http://{address}");
    println!(
        "Breakathon: {} game `{name}` in {}",
        if opened.recovered { "recovered" } else { "new" },
        args.data_dir.display()
    );
    println!("  scoreboard: {base}/");
    println!("  team:       {base}/team");
    println!("  organizer:  {base}/organizer");
    println!("  judge:      {base}/judge");
    println!("  API:        {base}/api/v1/openapi.json");
    println!("organizer token: {}", opened.organizer_token);
    println!("judge token: {}", opened.judge_token);
    // Last line of the banner: scripts wait for it.
    println!("listening on {base}");
    if !address.ip().is_loopback() {
        eprintln!(
            "warning: listening on {} which is not loopback; tokens travel in clear text. \
             Run behind a TLS reverse proxy: see docs/DEPLOYMENT.md",
            address.ip()
        );
    }
    if args.demo {
        let bots = breakathon_server::demo::setup(&state)
            .await
            .context("setting up the demo bots")?;
        for bot in &bots {
            println!(
                "demo team `{}` ({}) token: {}",
                bot.name, bot.skill, bot.token
            );
        }
        tokio::spawn(breakathon_server::demo::run(state.clone(), bots));
    }
    if opened.recovered {
        let (status, kept) = state
            .read(|game| (game.status(), game.clock_mode()))
            .await
            .map_err(|error| anyhow::anyhow!("reading the game status: {error:?}"))?;
        if let Some(warning) = ignored_clock_warning(asked, kept) {
            eprintln!("{warning}");
        }
        match status.state {
            GameState::Paused => println!(
                "the game was recovered paused at {:.0} s: resume it from the organizer page",
                status.elapsed_s
            ),
            GameState::Finished => println!(
                "this game is over: its results stay on the scoreboard; add --new to start another"
            ),
            GameState::Lobby | GameState::Running => {}
        }
    }
    let shutdown = state.shutdown().clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("breakathon: shutting down");
        shutdown.cancel();
    });
    breakathon_server::serve(listener, state.clone())
        .await
        .context("serving HTTP")?;
    let state_for_close = state;
    tokio::task::spawn_blocking(move || state_for_close.close())
        .await
        .context("closing the game")??;
    Ok(())
}

/// The warning printed when `--speed` or `--clock` (`asked`, `None` when neither was given)
/// asks for another clock than the one a recovered game keeps (`kept`): a game's clock is fixed when the game is created — it is in the journal's meta,
/// which every restart and replay reads — so the flags only choose the clock of a new game.
fn ignored_clock_warning(asked: Option<ClockMode>, kept: ClockMode) -> Option<String> {
    let asked = asked.filter(|asked| *asked != kept)?;
    let flag = match asked {
        ClockMode::Manual => "--clock manual".to_owned(),
        ClockMode::Speed(speed) => format!("--speed {speed}"),
    };
    let kept = match kept {
        ClockMode::Speed(speed) => format!("speed {speed} (simulated seconds per wall second)"),
        ClockMode::Manual => {
            "the manual clock (time moves only on POST /api/v1/game/advance)".to_owned()
        }
    };
    Some(format!(
        "warning: {flag} is ignored: a recovered game keeps the clock it was created with, \
         {kept}; to play with another clock, start a fresh game with --new (which archives \
         this one)"
    ))
}

/// A token from the environment, if set and not empty.
fn env_token(variable: &str) -> Option<String> {
    std::env::var(variable)
        .ok()
        .filter(|token| !token.trim().is_empty())
}

/// Waits for Ctrl-C or, on Unix, SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovered_game_warns_about_a_clock_flag_it_ignores() {
        let warning =
            ignored_clock_warning(Some(ClockMode::Manual), ClockMode::Speed(10.0)).unwrap();
        assert!(warning.contains("--clock manual is ignored"), "{warning}");
        assert!(warning.contains("speed 10"), "{warning}");
        assert!(warning.contains("--new"), "{warning}");
        let warning =
            ignored_clock_warning(Some(ClockMode::Speed(50.0)), ClockMode::Speed(10.0)).unwrap();
        assert!(warning.contains("--speed 50 is ignored"), "{warning}");
        let warning =
            ignored_clock_warning(Some(ClockMode::Speed(5.0)), ClockMode::Manual).unwrap();
        assert!(warning.contains("manual clock"), "{warning}");
    }

    #[test]
    fn no_warning_without_a_flag_or_for_the_same_clock() {
        assert_eq!(ignored_clock_warning(None, ClockMode::Speed(10.0)), None);
        assert_eq!(
            ignored_clock_warning(Some(ClockMode::Speed(10.0)), ClockMode::Speed(10.0)),
            None
        );
        assert_eq!(
            ignored_clock_warning(Some(ClockMode::Manual), ClockMode::Manual),
            None
        );
    }
}
