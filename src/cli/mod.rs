//! The subcommands, one module each. Each exposes an `Args` struct (clap) and
//! `run(&Args) -> anyhow::Result<ExitCode>`. Subcommands that need a scenario load it with
//! [`scenario::load_or_report`], which prints diagnostics the way `check` does.

pub mod check;
pub mod dry_run;
pub mod export;
pub mod failure;
pub mod new;
pub mod output;
pub mod replay;
pub mod scenario;
pub mod serve;
