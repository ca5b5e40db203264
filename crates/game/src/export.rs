//! Results for organizers: per-team and per-incident results and the ledger, as one JSON
//! document or one CSV file per table.

use serde::Serialize;

use crate::views::{Export, ExportFormat, TeamIncidentResult, Verdict};
use crate::{Game, GameError, LedgerKind, TeamId};

/// One team's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TeamResult {
    /// Rank.
    pub rank: u32,
    /// Team id.
    pub team: TeamId,
    /// Team name.
    pub name: String,
    /// Score.
    pub score: i64,
    /// Incidents detected.
    pub incidents_detected: u32,
    /// Incidents fixed.
    pub incidents_fixed: u32,
    /// Median TTD, s.
    pub median_ttd_s: Option<f64>,
    /// Median TTF, s.
    pub median_ttf_s: Option<f64>,
    /// False alarms.
    pub false_alarms: u32,
    /// Hints bought.
    pub hints_taken: u32,
    /// Points from revenue.
    pub revenue_points: i64,
    /// Points lost to SLA penalties.
    pub sla_penalty_points: i64,
}

/// One ledger entry with its team.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LedgerRow {
    /// Team id.
    pub team: TeamId,
    /// Team name.
    pub name: String,
    /// The entry.
    #[serde(flatten)]
    pub entry: crate::LedgerEntry,
}

/// Everything exported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    /// Scenario title.
    pub scenario: String,
    /// Scenario hash.
    pub scenario_hash: String,
    /// Tick reached.
    pub tick: u64,
    /// Simulated seconds reached.
    pub elapsed_s: f64,
    /// Game state.
    pub state: crate::GameState,
    /// Per team, best first.
    pub teams: Vec<TeamResult>,
    /// Per team and incident.
    pub incidents: Vec<TeamIncidentResult>,
    /// Every ledger entry.
    pub ledger: Vec<LedgerRow>,
}

impl Game {
    /// The results as data (live, whatever the freeze).
    pub fn results(&self) -> Results {
        let board = self.live_board();
        let teams = board
            .teams
            .iter()
            .filter_map(|row| {
                let t = self.core.teams.get(&row.id)?;
                let sum = |k: LedgerKind| {
                    t.ledger
                        .iter()
                        .filter(|e| e.kind == k)
                        .map(|e| e.points)
                        .sum()
                };
                Some(TeamResult {
                    rank: row.rank,
                    team: row.id,
                    name: row.name.clone(),
                    score: row.score,
                    incidents_detected: row.incidents_detected,
                    incidents_fixed: row.incidents_fixed,
                    median_ttd_s: row.median_ttd_s,
                    median_ttf_s: row.median_ttf_s,
                    false_alarms: u32::try_from(
                        t.declarations
                            .iter()
                            .filter(|d| d.verdict == Verdict::FalseAlarm)
                            .count(),
                    )
                    .unwrap_or(u32::MAX),
                    hints_taken: u32::try_from(t.hints.len()).unwrap_or(u32::MAX),
                    revenue_points: sum(LedgerKind::Revenue),
                    sla_penalty_points: sum(LedgerKind::SlaPenalty),
                })
            })
            .collect();
        let mut incidents: Vec<TeamIncidentResult> = self
            .judge_incidents()
            .into_iter()
            .flat_map(|j| j.teams)
            .collect();
        incidents.sort_by_key(|r| (r.team, r.incident));
        let ledger = self
            .core
            .teams
            .values()
            .filter(|t| !t.removed)
            .flat_map(|t| {
                t.ledger.iter().map(|e| LedgerRow {
                    team: t.id,
                    name: t.name.clone(),
                    entry: e.clone(),
                })
            })
            .collect();
        Results {
            scenario: self.scenario.title.clone(),
            scenario_hash: self.meta.scenario_hash.clone(),
            tick: self.core.tick,
            elapsed_s: self.elapsed_s(),
            state: self.core.state,
            teams,
            incidents,
            ledger,
        }
    }

    /// Exports the results as JSON, or as CSV files `teams.csv`, `incidents.csv`,
    /// `ledger.csv`.
    pub fn export(&self, format: ExportFormat) -> Result<Export, GameError> {
        let results = self.results();
        match format {
            ExportFormat::Json => serde_json::to_string_pretty(&results)
                .map(Export::Json)
                .map_err(|e| GameError::codec("encoding the export", e)),
            ExportFormat::Csv => Ok(Export::Csv(to_csv(&results))),
        }
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Quotes a CSV field when it needs it; a text that a spreadsheet would run as a formula
/// (a team name `=HYPERLINK(...)`) gets a leading `'` — numbers such as `-5` stay numbers.
fn field(text: &str) -> String {
    let defused;
    let text = if text.starts_with(FORMULA_STARTS) && text.parse::<f64>().is_err() {
        defused = format!("'{text}");
        defused.as_str()
    } else {
        text
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| field(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn to_csv(r: &Results) -> Vec<(String, String)> {
    let json_name = |v: &dyn erased::Name| v.name();
    let teams = table(
        &[
            "rank",
            "team",
            "name",
            "score",
            "incidents_detected",
            "incidents_fixed",
            "median_ttd_s",
            "median_ttf_s",
            "false_alarms",
            "hints_taken",
            "revenue_points",
            "sla_penalty_points",
        ],
        r.teams.iter().map(|t| {
            vec![
                t.rank.to_string(),
                t.team.to_string(),
                t.name.clone(),
                t.score.to_string(),
                t.incidents_detected.to_string(),
                t.incidents_fixed.to_string(),
                opt(t.median_ttd_s),
                opt(t.median_ttf_s),
                t.false_alarms.to_string(),
                t.hints_taken.to_string(),
                t.revenue_points.to_string(),
                t.sla_penalty_points.to_string(),
            ]
        }),
    );
    let incidents = table(
        &[
            "team",
            "name",
            "incident",
            "injected_s",
            "detected_s",
            "ttd_s",
            "ttm_s",
            "ttf_s",
            "expired_s",
            "first_complaint_s",
            "phase",
            "points",
            "revenue_lost_units",
            "revenue_lost_points",
            "requests_failed",
        ],
        r.incidents.iter().map(|i| {
            vec![
                i.team.to_string(),
                i.name.clone(),
                i.incident.0.to_string(),
                i.injected_s.to_string(),
                opt(i.detected_s),
                opt(i.ttd_s),
                opt(i.ttm_s),
                opt(i.ttf_s),
                opt(i.expired_s),
                opt(i.first_complaint_s),
                json_name(&i.phase),
                i.points.to_string(),
                i.revenue_lost_units.to_string(),
                i.revenue_lost_points.to_string(),
                i.requests_failed.to_string(),
            ]
        }),
    );
    let ledger = table(
        &[
            "team",
            "name",
            "seq",
            "tick",
            "elapsed_s",
            "points",
            "score_after",
            "kind",
            "reason",
            "incident",
        ],
        r.ledger.iter().map(|l| {
            vec![
                l.team.to_string(),
                l.name.clone(),
                l.entry.seq.to_string(),
                l.entry.tick.to_string(),
                l.entry.elapsed_s.to_string(),
                l.entry.points.to_string(),
                l.entry.score_after.to_string(),
                json_name(&l.entry.kind),
                l.entry.reason.clone(),
                l.entry
                    .incident
                    .map(|i| i.0.to_string())
                    .unwrap_or_default(),
            ]
        }),
    );
    vec![
        ("teams.csv".to_owned(), teams),
        ("incidents.csv".to_owned(), incidents),
        ("ledger.csv".to_owned(), ledger),
    ]
}

/// The snake_case serde name of a unit enum value.
mod erased {
    /// A value whose serde form is a plain string.
    pub trait Name {
        /// That string.
        fn name(&self) -> String;
    }
    impl<T: serde::Serialize> Name for T {
        fn name(&self) -> String {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(_) => String::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn csv_cells_that_would_run_as_formulas_are_defused() {
        assert_eq!(
            field("=HYPERLINK(\"http://x\",\"a\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\""
        );
        assert_eq!(field("+1+2"), "'+1+2");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("\tx"), "'\tx");
        assert_eq!(field("\rx"), "\"'\rx\"");
        // Numbers are not formulas: negative points stay numbers.
        assert_eq!(field("-5"), "-5");
        assert_eq!(field("-12.5"), "-12.5");
    }
}
