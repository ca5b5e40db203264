//! Loading a scenario for a subcommand (`dry-run`, `serve`...): diagnostics go to stderr,
//! rendered like `check` renders them.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::bail;
use breakathon_scenario::{Scenario, ScenarioError};

/// Loads and validates the scenario at `path`. Warnings are printed to stderr; errors are
/// printed to stderr and turned into an error naming the file.
pub fn load_or_report(path: &Path) -> anyhow::Result<Scenario> {
    let handler = super::check::handler(std::io::stderr().is_terminal());
    match breakathon_scenario::load_file(path) {
        Ok(loaded) => {
            if loaded.report.warning_count() > 0 {
                eprintln!("{}", super::check::render(&loaded.report, &handler));
            }
            Ok(loaded.scenario)
        }
        Err(ScenarioError::Invalid(report)) => {
            eprintln!("{}", super::check::render(&report, &handler));
            bail!(
                "{} is not a valid scenario (run `breakathon check {}`)",
                report.name(),
                report.name()
            )
        }
        Err(error) => Err(error.into()),
    }
}
