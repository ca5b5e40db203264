//! `breakathon export JOURNAL --format csv|json`: per-team and per-incident results and the
//! ledger, recomputed from the journal.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use breakathon_game::{Export, ExportFormat, Game};
use clap::{Args, ValueEnum};

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The journal (`game.sqlite` in a data directory, or an archived one).
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// `json` (one document) or `csv` (teams.csv, incidents.csv, ledger.csv).
    #[arg(long, value_enum)]
    pub format: Format,
    /// Where to write: a directory for CSV (required), a file for JSON (default: stdout).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON document.
    Json,
    /// One CSV file per table.
    Csv,
}

/// Replays the journal and writes the export.
pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    if args.format == Format::Csv && args.out.is_none() {
        bail!("CSV export writes one file per table: give a directory with --out DIR");
    }
    let game = Game::replay(&args.journal, None)
        .with_context(|| format!("replaying {}", args.journal.display()))?;
    let format = match args.format {
        Format::Json => ExportFormat::Json,
        Format::Csv => ExportFormat::Csv,
    };
    match game.export(format)? {
        Export::Json(text) => match &args.out {
            Some(path) => std::fs::write(path, text + "\n")
                .with_context(|| format!("writing {}", path.display()))?,
            None => super::output::print_line(&text)?,
        },
        Export::Csv(files) => {
            let dir = args.out.as_ref().context("--out DIR is required for CSV")?;
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            for (name, text) in files {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
