//! `breakathon dry-run SCENARIO`: simulate the whole scenario as fast as possible with nobody
//! acting (or with a scripted list of actions) and print the fault timeline and the impact
//! each fault would have if nobody reacted. The computation is `breakathon_sim::dry_run`;
//! this module only reads files and formats.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use breakathon_sim::dry_run::{
    DryRunOptions, DryRunReport, IncidentOutcome, ScriptedAction, dry_run,
};
use clap::{Args, ValueEnum};

/// Largest actions file read, in bytes.
const MAX_ACTIONS_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Arguments of `dry-run`.
#[derive(Debug, Args)]
#[command(after_long_help = ACTIONS_HELP)]
pub struct DryRunArgs {
    /// Scenario file, or the name of a shipped scenario (tutorial, retail-celebrity-spike,
    /// failure-friday-three-datacenters, chaos-cat, breakathon-4h).
    #[arg(value_name = "SCENARIO")]
    pub scenario: String,
    /// Seed to use instead of the scenario's own.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Scripted team actions, RON or JSON (by extension `.json`); see the format below.
    #[arg(long, value_name = "FILE")]
    pub actions: Option<PathBuf>,
    /// Output format: `human` (tables) or `json` (the whole report).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// How `dry-run` prints its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: the timeline, the impact table and a summary.
    Human,
    /// For tools: the report as one JSON object.
    Json,
}

/// The actions file format, shown by `dry-run --help`.
const ACTIONS_HELP: &str = "\
ACTIONS FILE
  A list of actions, each taking effect at the start of a tick given either as `tick` (a
  number) or `at` (a simulated time from the start, like \"5m\" or \"1h30m\"). An action has
  a `kind` (restart_instance, rollback, scale_out, set_config, ...) and, as it needs them,
  `service`, `instance`, `zone`, `count`, `version`, `key`, `value`, `flag`, `enabled`,
  `level_percent`.

  RON (any extension but .json):
    [
      (at: \"3m30s\", action: (kind: restart_instance, service: \"shop-api\", instance: 1)),
      (tick: 420, action: (kind: rollback, service: \"checkout\", version: \"v11\")),
      (at: \"11m\", action: (kind: revert_config, service: \"web\")),
    ]
  JSON (.json):
    [{\"at\": \"3m30s\", \"action\": {\"kind\": \"restart_instance\", \"service\": \"shop-api\", \"instance\": 1}}]

IMPACT
  The scenario also runs without faults and without actions (the baseline); each tick's
  difference (failed customer-facing requests, revenue, SLO breach minutes) is split among
  the incidents open at that tick whose root target is unhealthy (or all open ones when
  none is). The footer of the report repeats this.";

/// Runs the dry run and prints its report; an invalid scenario is reported like `check` does.
pub fn run(args: &DryRunArgs) -> anyhow::Result<ExitCode> {
    let name = &args.scenario;
    let scenario = super::scenario::load_or_report(&args.scenario)?;
    let scenario = &scenario;
    let actions = match &args.actions {
        Some(path) => read_actions(path)?,
        None => Vec::new(),
    };
    let options = DryRunOptions {
        seed: args.seed,
        actions,
    };

    let progress = progress_bar(scenario.duration.to_ticks(scenario.tick));
    let result = dry_run(scenario, &options, &mut |done, total| {
        progress.set_length(total);
        progress.set_position(done);
    });
    progress.finish_and_clear();
    let dry = result.with_context(|| format!("dry run of `{name}` failed"))?;

    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &dry).context("writing JSON")?;
            writeln!(out)?;
        }
        Format::Human => out.write_all(render_human(&dry).as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr when it is a terminal; hidden (plain output) otherwise.
fn progress_bar(total_ticks: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total_ticks);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "simulating {bar:40} {pos}/{len} ticks ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Reads a script of actions: JSON for `.json` files, RON otherwise.
fn read_actions(path: &Path) -> anyhow::Result<Vec<ScriptedAction>> {
    let name = path.display();
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read actions file `{name}`"))?
        .len();
    if size > MAX_ACTIONS_FILE_BYTES {
        bail!("actions file `{name}` is {size} bytes; at most {MAX_ACTIONS_FILE_BYTES} are read");
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read actions file `{name}`"))?;
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    if is_json {
        serde_json::from_str(&text).with_context(|| {
            format!("actions file `{name}` is not a valid JSON list of actions (see --help)")
        })
    } else {
        ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(&text)
            .map_err(|error| {
                anyhow::anyhow!(
                    "{name}:{}:{}: {} (see `breakathon dry-run --help` for the format)",
                    error.span.start.line,
                    error.span.start.col,
                    error.code
                )
            })
    }
}

/// Simulated time of `tick` as a duration string (`"3m"`).
fn time_of(report: &DryRunReport, tick: u64) -> String {
    breakathon_scenario::SimDuration::from_millis(tick.saturating_mul(report.tick_ms)).to_string()
}

/// The report for people: timeline, impact, services, summary and method.
pub fn render_human(report: &DryRunReport) -> String {
    let mut text = String::new();
    let duration = time_of(report, report.duration_ticks);
    let _ = writeln!(
        text,
        "Dry run of \"{}\": seed {}, {} simulated ({} ticks of {} ms), {} scripted action(s)\n",
        report.title,
        report.seed,
        duration,
        report.duration_ticks,
        report.tick_ms,
        report.scripted_actions
    );
    let _ = writeln!(text, "Fault timeline");
    if report.incidents.is_empty() {
        let _ = writeln!(text, "  (no incident)");
    } else {
        let _ = writeln!(
            text,
            "  {:>4}  {:>8}  {:<28} {:<26} {:<22} {:<18} instances",
            "id", "time", "fault", "class", "root target", "outcome"
        );
    }
    for incident in &report.incidents {
        let outcome = match incident.outcome {
            IncidentOutcome::Open => "open at end".to_owned(),
            IncidentOutcome::Resolved(t) => format!("resolved {}", time_of(report, t)),
            IncidentOutcome::Expired(t) => format!("expired {}", time_of(report, t)),
        };
        let instances = if incident.instances.is_empty() {
            "all".to_owned()
        } else {
            incident
                .instances
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let name = if incident.conditional {
            format!("{} (when)", incident.fault_name)
        } else {
            incident.fault_name.clone()
        };
        let _ = writeln!(
            text,
            "  {:>4}  {:>8}  {:<28} {:<26} {:<22} {:<18} {}",
            incident.id.to_string(),
            incident.inject_at,
            name,
            incident.class.name(),
            incident.root.to_string(),
            outcome,
            instances
        );
    }
    let _ = writeln!(text, "\nImpact if nobody reacts");
    if !report.incidents.is_empty() {
        let _ = writeln!(
            text,
            "  {:>4}  {:<28} {:>10} {:>11} {:>16} {:>14} {:>16}",
            "id",
            "fault",
            "open",
            "error-min",
            "requests failed",
            "revenue lost",
            "first complaint"
        );
    }
    for incident in &report.incidents {
        let complaint = incident
            .first_complaint_tick
            .map_or_else(|| "-".to_owned(), |t| time_of(report, t));
        let _ = writeln!(
            text,
            "  {:>4}  {:<28} {:>10} {:>11.2} {:>16.0} {:>14.2} {:>16}",
            incident.id.to_string(),
            incident.fault_name,
            time_of(report, incident.open_ticks),
            incident.error_minutes,
            incident.requests_failed,
            incident.revenue_lost_units,
            complaint
        );
    }
    let s = &report.summary;
    let _ = writeln!(
        text,
        "  {:>4}  {:<28} {:>10} {:>11.2} {:>16.0} {:>14.2}",
        "",
        "(unattributed)",
        "",
        s.unattributed_error_minutes,
        s.unattributed_requests_failed,
        s.unattributed_revenue_lost_units
    );
    if !report.services.is_empty() {
        let _ = writeln!(text, "\nCustomer-facing SLO breaches");
        for service in &report.services {
            let _ = writeln!(
                text,
                "  {:<28} {:>8.2} min breached (baseline {:.2} min)",
                service.service, service.breached_minutes, service.baseline_breached_minutes
            );
        }
    }
    let _ = writeln!(text, "\nSummary");
    let _ = writeln!(
        text,
        "  {} incident(s) ({} from `When` triggers), {} still open at the end",
        s.incidents, s.conditional_incidents, s.open_at_end
    );
    let _ = writeln!(
        text,
        "  customer-facing requests: {:.0} served, {:.0} failed (baseline: {:.0} failed)",
        s.requests_ok, s.requests_failed, s.baseline_requests_failed
    );
    let _ = writeln!(
        text,
        "  revenue: {:.2} units (baseline {:.2}): {:.2} lost",
        s.revenue_units, s.baseline_revenue_units, s.revenue_lost_units
    );
    let _ = writeln!(
        text,
        "  {:.2} error-minutes beyond the baseline, {} customer complaint(s)",
        s.error_minutes, s.complaints
    );
    let _ = writeln!(text, "\nMethod: {}", report.method);
    text
}
