//! The commented starter scenario written by `breakathon new`.

/// A small, commented scenario that passes every check; a starting point for authors.
pub const STARTER_SCENARIO: &str = include_str!("starter.ron");

#[cfg(test)]
mod tests {
    use super::STARTER_SCENARIO;

    #[test]
    fn the_starter_scenario_passes_check_without_warnings() {
        let report = crate::check("starter.ron", STARTER_SCENARIO);
        assert!(report.diagnostics.is_empty(), "{report}");
        assert!(report.scenario.is_some());
    }
}
