//! `breakathon check FILE...`: validate scenarios, print diagnostics, exit 1 on any error.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use breakathon_scenario::Report;
use clap::{Args, ValueEnum};
use miette::{GraphicalReportHandler, GraphicalTheme};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files to check.
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
            let handler =
                GraphicalReportHandler::new_themed(theme(std::io::stdout().is_terminal()));
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

/// Reads and checks one file; an unreadable file is reported as an error diagnostic.
fn check_file(path: &std::path::Path) -> Report {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(source) => breakathon_scenario::check(&name, &source),
        Err(error) => Report::unreadable(&name, &error.to_string()),
    }
}

/// Colour on a terminal unless `NO_COLOR` is set; plain Unicode otherwise.
pub fn theme(terminal: bool) -> GraphicalTheme {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if terminal && !no_color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    }
}

/// Every diagnostic of `report` rendered, then its summary line.
pub fn render(report: &Report, handler: &GraphicalReportHandler) -> String {
    let mut text = String::new();
    for diagnostic in report.renderable() {
        if handler.render_report(&mut text, &diagnostic).is_err() {
            text.push_str(&format!("{diagnostic}\n"));
        }
    }
    text.push_str(&report.summary());
    text
}
