//! The subcommands, one module each. Each exposes an `Args` struct (clap) and
//! `run(&Args) -> anyhow::Result<ExitCode>`.

pub mod check;
pub mod new;
