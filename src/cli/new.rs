//! `breakathon new FILE`: write a commented starter scenario.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use breakathon_scenario::STARTER_SCENARIO;
use clap::Args;

/// Arguments of `new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Where to write the scenario (conventionally `scenarios/NAME.ron`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Writes the starter scenario; refuses to overwrite unless `--force`.
pub fn run(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!(
                "{} already exists; pass --force to overwrite it",
                path.display()
            )
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot create {}", path.display()));
        }
    };
    file.write_all(STARTER_SCENARIO.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "wrote {}; edit it, then run `breakathon check {}`",
        path.display(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
