//! `breakathon check FILE...`: validate scenarios, print diagnostics, exit 1 on any error.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use breakathon_scenario::Report;
use clap::{Args, ValueEnum};
use miette::{MietteHandler, MietteHandlerOpts, ReportHandler};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files to check (or names of shipped scenarios, like `serve` takes).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format: `human` (diagnostics with source excerpts) or `json` (an array of
    /// diagnostics for tools).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// How `check` prints its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: rendered diagnostics and a summary line per file.
    Human,
    /// For tools: one JSON array of diagnostics.
    Json,
}

/// Checks every file; exit code 0 when all are valid, 1 otherwise.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let reports: Vec<Report> = args.files.iter().map(|path| check_file(path)).collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let records: Vec<_> = reports.iter().flat_map(Report::records).collect();
            serde_json::to_writer_pretty(&mut out, &records).context("writing JSON")?;
            writeln!(out)?;
        }
        Format::Human => {
            let handler = handler(std::io::stdout().is_terminal());
            for report in &reports {
                writeln!(out, "{}", render(report, &handler))?;
            }
        }
    }
    let failed = reports.iter().any(Report::has_errors);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads and checks one file (or shipped scenario, when no file has that name); an
/// unreadable file is reported as an error diagnostic.
fn check_file(path: &std::path::Path) -> Report {
    let name = path.display().to_string();
    if !path.is_file()
        && let Some((name, source)) = super::scenario::shipped(&name)
    {
        return breakathon_scenario::check(&name, &source);
    }
    match std::fs::read_to_string(path) {
        Ok(source) => breakathon_scenario::check(&name, &source),
        Err(error) => Report::unreadable(&name, &error.to_string()),
    }
}

/// Width of rendered diagnostics when the output is not a terminal, in columns.
const PIPED_WIDTH_COLUMNS: usize = 120;

/// The graphical renderer: colour and the terminal's width on a terminal (unless
/// `NO_COLOR` is set); no colour and a fixed width otherwise.
pub fn handler(terminal: bool) -> MietteHandler {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = MietteHandlerOpts::new()
        .force_graphical(true)
        .unicode(true)
        .terminal_links(false)
        .color(terminal && !no_color);
    if terminal {
        options.build()
    } else {
        options.width(PIPED_WIDTH_COLUMNS).build()
    }
}

/// A diagnostic shown through a report handler.
struct Shown<'a> {
    handler: &'a MietteHandler,
    diagnostic: &'a dyn miette::Diagnostic,
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handler.debug(self.diagnostic, f)
    }
}

/// Every diagnostic of `report` rendered, then its summary line.
pub fn render(report: &Report, handler: &MietteHandler) -> String {
    let mut text = String::new();
    for diagnostic in report.renderable() {
        let shown = Shown {
            handler,
            diagnostic: &diagnostic,
        };
        text.push_str(&format!("{shown}\n"));
    }
    text.push_str(&report.summary());
    text
}
