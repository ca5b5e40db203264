//! Diagnostics: what is wrong with a scenario, where, and what to do about it.
//!
//! A [`Diagnostic`] holds byte spans into the scenario's source; a [`Report`] holds the
//! source with its diagnostics and renders them through `miette` (the binary turns on the
//! graphical renderer) or as plain records with line and column for tools.

use std::fmt;
use std::ops::Range;

use miette::{LabeledSpan, NamedSource, SourceCode};
use serde::Serialize;

use crate::Scenario;

/// Most candidate names listed in a help text when no close match exists.
pub const MAX_LISTED_CANDIDATES: usize = 8;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; the scenario still loads.
    Warning,
    /// The scenario is rejected.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What kind of problem a diagnostic reports (its stable code is `scenario::<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// The file could not be read.
    Unreadable,
    /// The text is not valid RON, or does not fit the schema.
    Syntax,
    /// A name (service, zone, fault, flag, config key, dependency) that nothing defines.
    UnknownReference,
    /// Two things share a name that must be unique.
    DuplicateName,
    /// Services depend on each other in a circle.
    DependencyCycle,
    /// `After` triggers wait for each other in a circle.
    TriggerCycle,
    /// Something is scheduled outside the game.
    OutsideGame,
    /// A target or selector that can never pick anything.
    NeverMatches,
    /// A number outside its allowed range.
    OutOfRange,
    /// A remedy action that makes no sense on the target service's kind.
    InvalidAction,
    /// An action listed as two of resolving, mitigating and worsening one fault.
    ConflictingRemedies,
    /// A zone fault aimed at a service, a service fault aimed at a zone, or a fault aimed at
    /// the wrong kind of service.
    WrongTarget,
    /// A fault nothing can resolve (warning).
    NoResolvingAction,
    /// A service no traffic reaches (warning).
    Unreachable,
    /// The scoreboard freezes after the game ends (warning).
    FreezeAfterEnd,
    /// The scenario has no faults (warning).
    NoFaults,
}

impl DiagnosticKind {
    /// Every kind, in a stable order.
    pub const ALL: [DiagnosticKind; 16] = [
        DiagnosticKind::Unreadable,
        DiagnosticKind::Syntax,
        DiagnosticKind::UnknownReference,
        DiagnosticKind::DuplicateName,
        DiagnosticKind::DependencyCycle,
        DiagnosticKind::TriggerCycle,
        DiagnosticKind::OutsideGame,
        DiagnosticKind::NeverMatches,
        DiagnosticKind::OutOfRange,
        DiagnosticKind::InvalidAction,
        DiagnosticKind::ConflictingRemedies,
        DiagnosticKind::WrongTarget,
        DiagnosticKind::NoResolvingAction,
        DiagnosticKind::Unreachable,
        DiagnosticKind::FreezeAfterEnd,
        DiagnosticKind::NoFaults,
    ];

    /// The kebab-case name used in diagnostic codes.
    pub fn name(self) -> &'static str {
        match self {
            DiagnosticKind::Unreadable => "unreadable",
            DiagnosticKind::Syntax => "syntax",
            DiagnosticKind::UnknownReference => "unknown-reference",
            DiagnosticKind::DuplicateName => "duplicate-name",
            DiagnosticKind::DependencyCycle => "dependency-cycle",
            DiagnosticKind::TriggerCycle => "trigger-cycle",
            DiagnosticKind::OutsideGame => "outside-game",
            DiagnosticKind::NeverMatches => "never-matches",
            DiagnosticKind::OutOfRange => "out-of-range",
            DiagnosticKind::InvalidAction => "invalid-action",
            DiagnosticKind::ConflictingRemedies => "conflicting-remedies",
            DiagnosticKind::WrongTarget => "wrong-target",
            DiagnosticKind::NoResolvingAction => "no-resolving-action",
            DiagnosticKind::Unreachable => "unreachable",
            DiagnosticKind::FreezeAfterEnd => "freeze-after-end",
            DiagnosticKind::NoFaults => "no-faults",
        }
    }
}

/// A span of source text with a short label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Byte range in the source.
    pub span: Range<usize>,
    /// What this place is (may be empty).
    pub text: String,
}

/// One problem found in a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: DiagnosticKind,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where: the first label is the primary one. Empty when the problem has no place.
    pub labels: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error of `kind`.
    pub fn error(kind: DiagnosticKind, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            kind,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    /// A warning of `kind`.
    pub fn warning(kind: DiagnosticKind, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(kind, message)
        }
    }

    /// Adds a label at `span` (if there is one).
    pub fn with_label(mut self, span: Option<Range<usize>>, text: impl Into<String>) -> Self {
        if let Some(span) = span {
            self.labels.push(Label {
                span,
                text: text.into(),
            });
        }
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help text if there is one.
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest of `candidates` to `name`, if one is close enough to be a likely typo.
pub fn closest_match<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(name, candidate);
            let similar = strsim::jaro_winkler(name, candidate) >= 0.85
                || name.eq_ignore_ascii_case(candidate);
            (candidate, distance, similar)
        })
        .filter(|(_, distance, similar)| *distance <= limit || *similar)
        .min_by_key(|(candidate, distance, _)| (*distance, *candidate))
        .map(|(candidate, _, _)| candidate)
}

/// "did you mean `x`?" or the list of known names, or a note that there are none.
pub fn suggestion<'a>(
    name: &str,
    what: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    if let Some(best) = closest_match(name, candidates.clone()) {
        return format!("did you mean `{best}`?");
    }
    let mut known: Vec<&str> = candidates.into_iter().collect();
    known.sort_unstable();
    known.dedup();
    if known.is_empty() {
        return format!("this scenario defines no {what}");
    }
    let shown: Vec<String> = known
        .iter()
        .take(MAX_LISTED_CANDIDATES)
        .map(|n| format!("`{n}`"))
        .collect();
    let more = if known.len() > MAX_LISTED_CANDIDATES {
        format!(" and {} more", known.len() - MAX_LISTED_CANDIDATES)
    } else {
        String::new()
    };
    format!("known {what}: {}{more}", shown.join(", "))
}

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LineColumn {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// Line and column of byte `offset` in `source` (clamped to the text).
pub fn line_column(source: &str, offset: usize) -> LineColumn {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    LineColumn { line, column }
}

/// Byte offset of 1-based `line` and character `column` (clamped to the text).
pub fn byte_offset(source: &str, line: usize, column: usize) -> usize {
    let mut line_start = 0;
    for _ in 1..line {
        match source[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return source.len(),
        }
    }
    let line_text = &source[line_start..];
    let line_end = line_text.find('\n').unwrap_or(line_text.len());
    line_text[..line_end]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line_start + line_end, |(i, _)| line_start + i)
}

/// A diagnostic as a flat record for tools (`check --format json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiagnosticRecord {
    /// The file's name as given.
    pub file: String,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The kind's kebab-case name.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Start line (1-based), if the problem has a place.
    pub line: Option<usize>,
    /// Start column in characters (1-based).
    pub column: Option<usize>,
    /// End line (1-based).
    pub end_line: Option<usize>,
    /// End column in characters (1-based, exclusive).
    pub end_column: Option<usize>,
    /// What to do about it.
    pub help: Option<String>,
}

/// The outcome of checking one scenario source: its diagnostics and, when there are no
/// errors, the scenario.
#[derive(Debug)]
pub struct Report {
    source: NamedSource<String>,
    /// Everything found, errors first, then in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// The scenario, present only when there are no errors.
    pub scenario: Option<Scenario>,
}

impl Report {
    /// A report on `source` named `name`.
    pub(crate) fn new(
        name: &str,
        source: &str,
        mut diagnostics: Vec<Diagnostic>,
        scenario: Option<Scenario>,
    ) -> Report {
        diagnostics.sort_by_key(|d| {
            (
                std::cmp::Reverse(d.severity),
                d.labels.first().map_or(usize::MAX, |l| l.span.start),
            )
        });
        let scenario = scenario.filter(|_| !diagnostics.iter().any(Diagnostic::is_error));
        Report {
            source: NamedSource::new(name, source.to_owned()),
            diagnostics,
            scenario,
        }
    }

    /// A report on a file that could not be read.
    pub fn unreadable(name: &str, reason: &str) -> Report {
        let diagnostic = Diagnostic::error(
            DiagnosticKind::Unreadable,
            format!("cannot read {name}: {reason}"),
        );
        Report::new(name, "", vec![diagnostic], None)
    }

    /// The file's name as given.
    pub fn name(&self) -> &str {
        self.source.name()
    }

    /// The source text.
    pub fn source_text(&self) -> &str {
        self.source.inner()
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// Whether the scenario is rejected.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Each diagnostic joined with the source, ready for a `miette` report handler.
    pub fn renderable(&self) -> impl Iterator<Item = Renderable<'_>> {
        self.diagnostics.iter().map(|diagnostic| Renderable {
            diagnostic,
            source: &self.source,
        })
    }

    /// Every diagnostic as a flat record with lines and columns.
    pub fn records(&self) -> Vec<DiagnosticRecord> {
        let text = self.source_text();
        self.diagnostics
            .iter()
            .map(|d| {
                let span = d.labels.first().map(|l| l.span.clone());
                let start = span.as_ref().map(|s| line_column(text, s.start));
                let end = span.as_ref().map(|s| line_column(text, s.end));
                DiagnosticRecord {
                    file: self.name().to_owned(),
                    severity: d.severity,
                    code: d.kind.name().to_owned(),
                    message: d.message.clone(),
                    line: start.map(|p| p.line),
                    column: start.map(|p| p.column),
                    end_line: end.map(|p| p.line),
                    end_column: end.map(|p| p.column),
                    help: d.help.clone(),
                }
            })
            .collect()
    }

    /// One line: `name: ok`, `name: ok (2 warnings)` or `name: 3 errors, 1 warning`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let (errors, warnings) = (self.error_count(), self.warning_count());
        match (errors, warnings) {
            (0, 0) => format!("{}: ok", self.name()),
            (0, w) => format!("{}: ok ({})", self.name(), plural(w, "warning")),
            (e, 0) => format!("{}: {}", self.name(), plural(e, "error")),
            (e, w) => format!(
                "{}: {}, {}",
                self.name(),
                plural(e, "error"),
                plural(w, "warning")
            ),
        }
    }
}

impl fmt::Display for Report {
    /// The summary line followed by each diagnostic's message (plain text, no source).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.summary())?;
        for record in self.records() {
            write!(f, "\n  {}", record.severity)?;
            if let (Some(line), Some(column)) = (record.line, record.column) {
                write!(f, " at {line}:{column}")?;
            }
            write!(f, ": {}", record.message)?;
            if let Some(help) = &record.help {
                write!(f, " ({help})")?;
            }
        }
        Ok(())
    }
}

/// A diagnostic with its source, implementing [`miette::Diagnostic`].
#[derive(Debug)]
pub struct Renderable<'a> {
    diagnostic: &'a Diagnostic,
    source: &'a NamedSource<String>,
}

impl fmt::Display for Renderable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Renderable<'_> {}

impl miette::Diagnostic for Renderable<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "scenario::{}",
            self.diagnostic.kind.name()
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if self.diagnostic.labels.is_empty() {
            None
        } else {
            Some(self.source)
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.diagnostic.labels.is_empty() {
            return None;
        }
        let len = self.source.inner().len();
        Some(Box::new(self.diagnostic.labels.iter().enumerate().map(
            move |(i, label)| {
                let start = label.span.start.min(len);
                let end = label.span.end.clamp(start, len);
                let text = (!label.text.is_empty()).then(|| label.text.clone());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(text, start..end)
                } else {
                    LabeledSpan::new_with_span(text, start..end)
                }
            },
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["payments", "web", "db", "checkout"];
        assert_eq!(closest_match("paymnts", names), Some("payments"));
        assert_eq!(closest_match("wbe", names), Some("web"));
        assert_eq!(closest_match("zzzzzz", names), None);
        assert_eq!(
            suggestion("zzzzzz", "services", names),
            "known services: `checkout`, `db`, `payments`, `web`"
        );
        assert_eq!(
            suggestion("x", "zones", []),
            "this scenario defines no zones"
        );
    }

    #[test]
    fn line_columns_round_trip() {
        let source = "ab\nçd\n\nxyz";
        for offset in [0, 1, 3, 5, 6, 8, 9, source.len()] {
            let lc = line_column(source, offset);
            assert_eq!(byte_offset(source, lc.line, lc.column), offset, "{offset}");
        }
        assert_eq!(line_column(source, 5), LineColumn { line: 2, column: 2 });
        assert_eq!(byte_offset(source, 99, 1), source.len());
    }
}
