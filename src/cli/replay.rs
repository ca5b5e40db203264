//! `breakathon replay JOURNAL`: recompute a game from its journal alone and print the results.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use breakathon_game::Game;
use clap::{Args, ValueEnum};

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The journal (`game.sqlite` in a data directory, or an archived one).
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// Stop at this tick (the state the game had then).
    #[arg(long, value_name = "TICK")]
    pub until_tick: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReplayFormat::Human)]
    pub format: ReplayFormat,
}

/// How `replay` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReplayFormat {
    /// A standings table.
    Human,
    /// One JSON document (state, tick, state hash, scoreboard).
    Json,
}

/// Replays the journal and prints the standings and the state hash.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let game = Game::replay(&args.journal, args.until_tick)
        .with_context(|| format!("replaying {}", args.journal.display()))?;
    let status = game.status();
    let board = game.scoreboard(true);
    let hash = format!("{:016x}", game.state_hash());
    let mut out = std::io::stdout().lock();
    super::output::quiet_broken_pipe(print(&mut out, args.format, &status, &board, &hash))?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the standings (or the JSON document) to `out`.
fn print(
    out: &mut impl Write,
    format: ReplayFormat,
    status: &breakathon_game::GameStatus,
    board: &breakathon_game::Scoreboard,
    hash: &str,
) -> anyhow::Result<()> {
    match format {
        ReplayFormat::Json => {
            let doc = serde_json::json!({
                "scenario": status.title,
                "state": status.state,
                "tick": status.tick,
                "elapsed_s": status.elapsed_s,
                "state_hash": hash,
                "scoreboard": board,
            });
            let text = serde_json::to_string_pretty(&doc).context("encoding JSON")?;
            writeln!(out, "{text}")?;
        }
        ReplayFormat::Human => {
            writeln!(
                out,
                "{} — {} at tick {} ({}s simulated), state hash {hash}",
                status.title,
                status.state.name(),
                status.tick,
                status.elapsed_s
            )?;
            writeln!(
                out,
                "{:>4}  {:<24} {:>8} {:>8} {:>6} {:>10} {:>10}",
                "rank", "team", "score", "detected", "fixed", "median TTD", "median TTF"
            )?;
            let median = |m: Option<f64>| m.map_or_else(|| "–".to_owned(), |s| format!("{s}s"));
            for row in &board.teams {
                writeln!(
                    out,
                    "{:>4}  {:<24} {:>8} {:>8} {:>6} {:>10} {:>10}",
                    row.rank,
                    row.name,
                    row.score,
                    row.incidents_detected,
                    row.incidents_fixed,
                    median(row.median_ttd_s),
                    median(row.median_ttf_s)
                )?;
            }
        }
    }
    Ok(())
}
