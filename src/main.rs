//! `breakathon`: the game-day simulator's command line.
//!
//! One module per subcommand lives in `src/cli/`; to add a subcommand, add a variant to
//! [`Command`] with its `Args` struct, a module with a `run` function, and a match arm.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Game-day simulator and referee: break it, fix it, score it.
#[derive(Debug, Parser)]
#[command(name = "breakathon", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Validate scenario files; exits 1 if any has errors.
    Check(cli::check::CheckArgs),
    /// Write a commented starter scenario that passes `check`.
    New(cli::new::NewArgs),
    /// Simulate a scenario with nobody acting (or scripted actions): fault timeline and impact.
    DryRun(cli::dry_run::DryRunArgs),
    /// Recompute a game from its journal alone and print the standings and state hash.
    Replay(cli::replay::ReplayArgs),
    /// Write a game's results (teams, incidents, ledger) as JSON or CSV, from its journal.
    Export(cli::export::ExportArgs),
    /// Run the game server: API, live scoreboard and consoles (Ctrl-C stops it gracefully).
    Serve(cli::serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cli::check::run(&args),
        Command::New(args) => cli::new::run(&args),
        Command::DryRun(args) => cli::dry_run::run(&args),
        Command::Replay(args) => cli::replay::run(&args),
        Command::Export(args) => cli::export::run(&args),
        Command::Serve(args) => cli::serve::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // Each cause once (see `cli::failure`).
            eprintln!("error: {}", cli::failure::describe(&error));
            ExitCode::FAILURE
        }
    }
}
