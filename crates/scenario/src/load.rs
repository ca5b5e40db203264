//! The validating loader: parse, then check, and say precisely what is wrong.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, DiagnosticKind, Report, byte_offset, closest_match};
use crate::span_index::{
    BracketProblem, SpanIndex, bracket_problem, string_spans_lines, token_before,
};
use crate::{Scenario, parse_unchecked, validate};

/// Largest scenario file accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The scenario has errors; the report holds every diagnostic with the source.
    #[error("{0}")]
    Invalid(Box<Report>),
}

/// A scenario that passed every check, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The scenario.
    pub scenario: Scenario,
    /// The full report (warnings only).
    pub report: Report,
}

/// Checks scenario text named `name` (a file name, shown in diagnostics). Never panics and
/// never fails: everything wrong is in the report, and the scenario is there only when
/// nothing is.
pub fn check(name: &str, source: &str) -> Report {
    if source.len() > MAX_SOURCE_BYTES {
        let diagnostic = Diagnostic::error(
            DiagnosticKind::Syntax,
            format!(
                "the file is {} bytes, more than the limit of {MAX_SOURCE_BYTES}",
                source.len()
            ),
        );
        return Report::new(name, "", vec![diagnostic], None);
    }
    match parse_unchecked(source) {
        Err(error) => Report::new(name, source, vec![syntax_diagnostic(source, &error)], None),
        Ok(scenario) => {
            let index = SpanIndex::build(source);
            let diagnostics = validate::validate(&scenario, &index);
            Report::new(name, source, diagnostics, Some(scenario))
        }
    }
}

/// Loads scenario text named `name`: the scenario and its warnings, or every error.
pub fn load(name: &str, source: &str) -> Result<Loaded, ScenarioError> {
    let mut report = check(name, source);
    match report.scenario.take() {
        Some(scenario) => Ok(Loaded { scenario, report }),
        None => Err(ScenarioError::Invalid(Box::new(report))),
    }
}

/// Reads and loads the scenario file at `path`.
pub fn load_file(path: &Path) -> Result<Loaded, ScenarioError> {
    let source = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_owned(),
        source,
    })?;
    load(&path.display().to_string(), &source)
}

/// Turns ron's error into a diagnostic at its position, with a suggestion where one helps.
fn syntax_diagnostic(source: &str, error: &ron::error::SpannedError) -> Diagnostic {
    let start = byte_offset(source, error.span.start.line, error.span.start.col);
    let end = byte_offset(source, error.span.end.line, error.span.end.col).max(start);
    let span = widen_to_token(source, start, end);
    // Unbalanced brackets at or before the error are its likely cause.
    match bracket_problem(source) {
        Some(BracketProblem::Mismatched { open, close }) if close.start <= start => {
            let expected = match source.as_bytes().get(open.start) {
                Some(b'(') => ")",
                Some(b'[') => "]",
                _ => "}",
            };
            return Diagnostic::error(
                DiagnosticKind::Syntax,
                format!("this bracket does not match: `{expected}` was expected"),
            )
            .with_label(Some(close), "closes the wrong bracket")
            .with_label(Some(open), "the innermost open bracket")
            .with_help(format!(
                "close the inner bracket with `{expected}` first, or remove the extra one"
            ));
        }
        Some(BracketProblem::Unclosed(open)) if at_end(source, start) => {
            return Diagnostic::error(
                DiagnosticKind::Syntax,
                "the file ends before this bracket is closed",
            )
            .with_label(Some(open), "opened here, never closed")
            .with_help("close it (and any bracket opened after it) at the right place");
        }
        _ => {}
    }
    let mut message = sentence(&error.code.to_string());
    let help = match &error.code {
        ron::Error::NoSuchStructField {
            expected,
            found,
            outer,
        } => {
            message = format!("unknown field `{found}`{}", inside(outer.as_deref()));
            Some(expected_names(found, expected))
        }
        ron::Error::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => {
            message = format!("unknown variant `{found}`{}", inside(outer.as_deref()));
            Some(expected_names(found, expected))
        }
        ron::Error::MissingStructField { field, outer } => {
            message = format!("missing field `{field}`{}", inside(outer.as_deref()));
            Some(format!("add `{field}: ...` here"))
        }
        ron::Error::Eof => Some("a bracket or quote is probably not closed".to_owned()),
        ron::Error::ExpectedComma => {
            // The comma is missing after the previous item, usually on the line before.
            if let Some(previous) = token_before(source, span.start) {
                if string_spans_lines(source, &previous) {
                    return Diagnostic::error(
                        DiagnosticKind::Syntax,
                        "this string runs on to the next line",
                    )
                    .with_label(Some(previous.start..previous.start + 1), "starts here")
                    .with_label(
                        Some(previous.end.saturating_sub(1)..previous.end),
                        "ends here, on a later line",
                    )
                    .with_help("a closing `\"` is probably missing");
                }
                return Diagnostic::error(DiagnosticKind::Syntax, "expected a comma")
                    .with_label(Some(previous), "add a comma after this")
                    .with_label(Some(span), "before this")
                    .with_help(
                        "separate items with commas (or, if a string above lacks its closing \
                         `\"`, close it)",
                    );
            }
            Some("separate items with commas".to_owned())
        }
        _ => None,
    };
    Diagnostic::error(DiagnosticKind::Syntax, message)
        .with_label(Some(span), "here")
        .with_optional_help(help)
}

/// Whether `offset` is at or after the start of the last token (ron reports a file that
/// ends too early there).
fn at_end(source: &str, offset: usize) -> bool {
    token_before(source, usize::MAX).is_none_or(|last| last.start <= offset)
}

/// ` in `Outer`` or nothing.
fn inside(outer: Option<&str>) -> String {
    outer.map_or_else(String::new, |outer| format!(" in `{outer}`"))
}

/// "did you mean `x`?", or every name that would have been accepted.
fn expected_names(found: &str, expected: &[&str]) -> String {
    match closest_match(found, expected.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if expected.is_empty() => "nothing is expected here".to_owned(),
        None => {
            let names: Vec<String> = expected.iter().map(|n| format!("`{n}`")).collect();
            format!("expected one of {}", names.join(", "))
        }
    }
}

/// ron reports some errors as an empty span at the start of a token: widen it to the
/// identifier or string there, so the caret underlines something.
fn widen_to_token(source: &str, start: usize, end: usize) -> std::ops::Range<usize> {
    if end > start || start >= source.len() {
        return start..end.max(start);
    }
    let rest = &source[start..];
    let length = match rest.chars().next() {
        Some(c) if c.is_alphanumeric() || c == '_' => rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len()),
        Some(c) => c.len_utf8(),
        None => 0,
    };
    start..start + length
}

/// ron's message as a sentence: first letter lowercase like every other diagnostic.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
