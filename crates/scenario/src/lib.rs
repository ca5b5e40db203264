//! The Breakathon scenario language: serde types read from RON, the fault catalog, the shared
//! team-action vocabulary, and loading with diagnostics that point at file, line and column.
//!
//! Layout: [`duration`] (human durations), [`model`] (the scenario types), [`fault`] (fault
//! kinds, classes and default remedies), [`action`] (the action vocabulary), [`load`] (the
//! validating loader: [`load_file`], [`load`], [`check`]), [`validate`] (the semantic checks),
//! [`diagnostic`] (diagnostics and their rendering), [`span_index`] (where values sit in the
//! source).

pub mod action;
pub mod diagnostic;
pub mod duration;
pub mod fault;
pub mod load;
mod lookup;
pub mod model;
pub mod span_index;
mod starter;
pub mod validate;

pub use action::ActionKind;
pub use diagnostic::{Diagnostic, DiagnosticKind, DiagnosticRecord, Report, Severity};
pub use duration::{ParseDurationError, SimDuration};
pub use fault::{FaultClass, FaultKind, Remedies};
pub use load::{Loaded, ScenarioError, check, load, load_file};
pub use model::*;
pub use starter::STARTER_SCENARIO;

/// Parses scenario text without semantic validation.
///
/// Prefer the validating loader for anything a user wrote; this is the raw step under it.
pub fn parse_unchecked(source: &str) -> Result<Scenario, ron::error::SpannedError> {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_scenario_parses_with_defaults() {
        let text = r#"(
            title: "tiny",
            duration: "15m",
            services: [
                (name: "web", kind: frontend, customer_facing: true,
                 dependencies: [(service: "db")]),
                (name: "db", kind: database),
            ],
            traffic: (entry_points: [(service: "web", rps: 50.0)]),
            faults: [
                (name: "leak", kind: memory_leak(mb_per_min: 100.0), target: Service("web"),
                 trigger: At("5m")),
                (name: "boom", kind: crash, target: Select(service: "db", pick: One),
                 trigger: After(fault: "leak", delay: "2m")),
                (name: "slow", kind: dependency_latency(), target: Service("db"),
                 trigger: When((metric: cpu_percent, service: "db", op: above, threshold: 90.0, for: "1m"))),
            ],
        )"#;
        let scenario = parse_unchecked(text).unwrap();
        assert_eq!(scenario.duration, SimDuration::from_mins(15));
        assert_eq!(scenario.zones.len(), 1);
        assert_eq!(scenario.services[0].instances_per_zone, 2);
        assert_eq!(scenario.faults[1].kind.class(), FaultClass::Crash);
        assert_eq!(
            scenario.faults[2].kind,
            FaultKind::DependencyLatency { latency_ms: 800.0 }
        );
        assert_eq!(
            scenario.faults[0].remedies().resolves,
            vec![ActionKind::Rollback, ActionKind::RollForward]
        );
    }
}
