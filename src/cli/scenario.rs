//! Finding and loading a scenario for a subcommand (`check`, `dry-run`, `serve`): SCENARIO is
//! a file, or else the name of a shipped scenario; diagnostics go to stderr, rendered like
//! `check` renders them.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};
use breakathon_scenario::{Scenario, ScenarioError};

/// The scenarios shipped with Breakathon, embedded so that the binary alone is enough.
pub const SHIPPED_SCENARIOS: [(&str, &str); 5] = [
    ("tutorial", include_str!("../../scenarios/tutorial.ron")),
    (
        "retail-celebrity-spike",
        include_str!("../../scenarios/retail-celebrity-spike.ron"),
    ),
    (
        "failure-friday-three-datacenters",
        include_str!("../../scenarios/failure-friday-three-datacenters.ron"),
    ),
    ("chaos-cat", include_str!("../../scenarios/chaos-cat.ron")),
    (
        "breakathon-4h",
        include_str!("../../scenarios/breakathon-4h.ron"),
    ),
];

/// The scenario `serve` runs when none is named.
pub const DEFAULT_SCENARIO: &str = "tutorial";

/// The shipped scenario that `wanted` names (`tutorial`, `tutorial.ron`,
/// `scenarios/tutorial.ron`...), as its file name and source.
pub fn shipped(wanted: &str) -> Option<(String, String)> {
    let stem = wanted.strip_suffix(".ron").unwrap_or(wanted);
    let stem = stem.rsplit(['/', '\\']).next().unwrap_or(stem);
    SHIPPED_SCENARIOS
        .iter()
        .find(|(name, _)| *name == stem)
        .map(|(name, source)| (format!("{name}.ron"), (*source).to_owned()))
}

/// Resolves SCENARIO: an existing file is read from disk, else a shipped name is used.
/// Returns the scenario's name (for messages) and its source.
pub fn resolve(wanted: &str) -> anyhow::Result<(String, String)> {
    let path = Path::new(wanted);
    if path.is_file() {
        let source = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((path.display().to_string(), source));
    }
    if let Some(found) = shipped(wanted) {
        return Ok(found);
    }
    let names: Vec<&str> = SHIPPED_SCENARIOS.iter().map(|(name, _)| *name).collect();
    bail!(
        "no scenario file `{wanted}` and no shipped scenario of that name (shipped: {})",
        names.join(", ")
    )
}

/// Finds (see [`resolve`]) and validates the scenario `wanted`. Warnings are printed to
/// stderr; errors are printed to stderr and turned into an error naming the file.
pub fn load_or_report(wanted: &str) -> anyhow::Result<Scenario> {
    let (name, source) = resolve(wanted)?;
    let handler = super::check::handler(std::io::stderr().is_terminal());
    match breakathon_scenario::load(&name, &source) {
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
