//! `docs/SCENARIOS.md` stays true:
//! - every ```` ```ron ```` block is a complete scenario that loads without errors
//!   (blocks marked ```` ```ron fragment ```` are parts, checked against the schema inside a
//!   small scenario);
//! - the generated sections (fault kinds, actions, every default) match the code — run
//!   `UPDATE_DOCS=1 cargo test -p breakathon-scenario --test docs` to regenerate them;
//! - every default written in a field table (`<!-- fields: PATH -->`) is the real default;
//! - every fault kind has its own section.

use std::path::{Path, PathBuf};

use breakathon_scenario::{
    ActionKind, FaultClass, FaultKind, Scenario, ServiceKind, SimDuration, check,
};
use serde_json::Value;

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/SCENARIOS.md")
}

fn read_doc() -> String {
    std::fs::read_to_string(doc_path()).expect("docs/SCENARIOS.md exists")
}

/// Fenced code blocks: (info string, body, line of the opening fence).
fn code_blocks(doc: &str) -> Vec<(String, String, usize)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String, usize)> = None;
    for (number, line) in doc.lines().enumerate() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => {
                current = Some((info.trim().to_owned(), String::new(), number + 1))
            }
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, body, _)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

#[test]
fn every_ron_example_is_a_valid_scenario() {
    let doc = read_doc();
    let blocks: Vec<_> = code_blocks(&doc)
        .into_iter()
        .filter(|(info, _, _)| info == "ron")
        .collect();
    assert!(blocks.len() >= 5, "the reference has examples");
    for (_, body, line) in blocks {
        let report = check(&format!("docs/SCENARIOS.md:{line}"), &body);
        assert!(!report.has_errors(), "example at line {line}:\n{report}");
    }
}

#[test]
fn fragments_are_marked_and_fit_the_schema() {
    let doc = read_doc();
    let mut fragments = 0;
    for (info, body, line) in code_blocks(&doc) {
        assert!(
            ["ron", "ron fragment", "text", "sh", "json", ""].contains(&info.as_str()),
            "unknown code block kind `{info}` at line {line}"
        );
        if info != "ron fragment" {
            continue;
        }
        // A fragment is either top-level fields or one fault: wrap it in a scenario.
        let fields = if body.trim_start().starts_with('(') {
            format!("faults: [{body}]")
        } else {
            body
        };
        let wrapped = format!(
            "(title: \"fragment\", duration: \"1h\", services: [(name: \"web\", kind: api)],\n{fields})"
        );
        if let Err(error) = breakathon_scenario::parse_unchecked(&wrapped) {
            panic!("fragment at line {line} does not fit the schema: {error}");
        }
        fragments += 1;
    }
    assert!(fragments >= 3);
}

#[test]
fn every_fault_kind_has_a_section() {
    let doc = read_doc();
    for class in FaultClass::ALL {
        let heading = format!("### `{}`", class.name());
        assert!(doc.contains(&heading), "missing section {heading}");
    }
}

// ---- generated sections -----------------------------------------------------------------

/// The fault kind of `class` with every parameter at its default.
fn default_kind(class: FaultClass) -> FaultKind {
    let options =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    options
        .from_str(&format!("{}()", class.name()))
        .or_else(|_| options.from_str(class.name()))
        .expect("every kind parses with defaults")
}

/// `name(param: default, ...)` of a fault kind in declaration order, or just `name` when it
/// has no parameters.
fn kind_with_defaults(class: FaultClass) -> String {
    let config = ron::ser::PrettyConfig::new()
        .compact_structs(true)
        .compact_arrays(true);
    let text = ron::ser::to_string_pretty(&default_kind(class), config).expect("serializes");
    text.replace("None", "unset")
}

fn action_list(actions: &[ActionKind]) -> String {
    if actions.is_empty() {
        return "–".to_owned();
    }
    let names: Vec<String> = actions.iter().map(|a| format!("`{a}`")).collect();
    names.join(", ")
}

fn generate_fault_kinds() -> String {
    let mut out = String::from(
        "| kind, with every parameter at its default | target | resolves | mitigates | worsens |\n\
         |---|---|---|---|---|\n",
    );
    for class in FaultClass::ALL {
        let target = match (class.may_target_zone(), class.may_target_service()) {
            (true, true) => "zone or service".to_owned(),
            (true, false) => "zone".to_owned(),
            _ => match class.required_service_kind() {
                Some(kind) => format!("service (`{kind}`)"),
                None => "service".to_owned(),
            },
        };
        let remedies = class.default_remedies();
        out.push_str(&format!(
            "| `{}` | {target} | {} | {} | {} |\n",
            kind_with_defaults(class),
            action_list(&remedies.resolves),
            action_list(&remedies.mitigates),
            action_list(&remedies.worsens),
        ));
    }
    out
}

fn generate_actions() -> String {
    let mut out = String::from("| action | what it does | valid for |\n|---|---|---|\n");
    for action in ActionKind::ALL {
        let valid = action.valid_kinds();
        let invalid: Vec<ServiceKind> = ServiceKind::ALL
            .into_iter()
            .filter(|k| !valid.contains(k))
            .collect();
        let names = |kinds: &[ServiceKind]| {
            kinds
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let valid_text = if invalid.is_empty() {
            "every kind".to_owned()
        } else if invalid.len() <= 2 {
            format!("every kind but {}", names(&invalid))
        } else {
            names(&valid)
        };
        let zone = if action.targets_zone() {
            " (a zone action)"
        } else {
            ""
        };
        out.push_str(&format!(
            "| `{action}` | {}{zone} | {valid_text} |\n",
            action.description()
        ));
    }
    out
}

/// A scenario with the fewest fields written, one of everything, so that every default
/// shows once serialized.
const EVERYTHING_DEFAULTED: &str = r#"(
    title: "Every default",
    duration: "1h",
    services: [
        (name: "web", kind: frontend, slo: (),
         dependencies: [(service: "db", circuit_breaker: ())]),
        (name: "db", kind: database),
    ],
    traffic: (entry_points: [(service: "web", rps: 50.0)],
              ramps: [(start: "10m", end: "20m", factor: 2.0)]),
    alerts: [(name: "slow", when: (metric: latency_p99_ms, service: "web", op: above, threshold: 500.0))],
    faults: [(name: "leak", kind: memory_leak(), target: Service("web"), trigger: At("5m"))],
    decoys: [(name: "ghost", service: "db", message: "disk at 91%", at: "30m")],
    hints: [(fault: "leak", text: "watch memory")],
    announcements: [(at: "0s", message: "hello")],
)"#;

fn everything_defaulted() -> Scenario {
    breakathon_scenario::load("defaults", EVERYTHING_DEFAULTED)
        .expect("the defaults scenario is valid")
        .scenario
}

fn generate_defaults() -> String {
    let config = ron::ser::PrettyConfig::new()
        .indentor("    ")
        .extensions(ron::extensions::Extensions::IMPLICIT_SOME);
    let text = ron::ser::to_string_pretty(&everything_defaulted(), config).expect("serializes");
    // The loader enables implicit `Some` itself; the attribute line is noise here.
    let body: Vec<&str> = text
        .lines()
        .filter(|line| !line.starts_with("#!["))
        .collect();
    format!("```ron\n{}\n```\n", body.join("\n"))
}

/// Replaces each `<!-- generated:NAME -->` ... `<!-- end generated:NAME -->` section.
fn regenerate(doc: &str) -> String {
    let sections = [
        ("fault-kinds", generate_fault_kinds()),
        ("actions", generate_actions()),
        ("defaults", generate_defaults()),
    ];
    let mut out = doc.to_owned();
    for (name, content) in sections {
        let begin = format!("<!-- generated:{name} -->\n");
        let end = format!("<!-- end generated:{name} -->");
        let start = out
            .find(&begin)
            .unwrap_or_else(|| panic!("docs/SCENARIOS.md lacks the marker {begin}"))
            + begin.len();
        let stop = out[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("docs/SCENARIOS.md lacks the marker {end}"))
            + start;
        out.replace_range(start..stop, &content);
    }
    out
}

#[test]
fn generated_sections_match_the_code() {
    let doc = read_doc();
    let fresh = regenerate(&doc);
    if fresh != doc {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(doc_path(), &fresh).expect("docs/SCENARIOS.md is writable");
        } else {
            panic!(
                "docs/SCENARIOS.md is out of date with the code; run \
                 `UPDATE_DOCS=1 cargo test -p breakathon-scenario --test docs`"
            );
        }
    }
}

// ---- field tables -----------------------------------------------------------------------

/// The value at `path` (`services[0].dependencies[0]`, or empty for the root).
fn at_path<'v>(root: &'v Value, path: &str) -> &'v Value {
    let mut value = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (
                name,
                Some(rest.trim_end_matches(']').parse::<usize>().expect("index")),
            ),
            None => (part, None),
        };
        value = &value[name];
        if let Some(index) = index {
            value = &value[index];
        }
    }
    value
}

/// Numbers compare by value (a doc's `2` and the code's `2.0` are the same default).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        // Durations compare by length: `"60s"` is `"1m"`.
        (Value::String(x), Value::String(y)) => {
            x == y
                || matches!(
                    (x.parse::<SimDuration>(), y.parse::<SimDuration>()),
                    (Ok(p), Ok(q)) if p == q
                )
        }
        _ => a == b,
    }
}

#[test]
fn defaults_in_field_tables_are_the_real_defaults() {
    let doc = read_doc();
    let defaults = serde_json::to_value(everything_defaulted()).expect("serializes");
    let mut path: Option<String> = None;
    let mut checked = 0;
    for (number, line) in doc.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("<!-- fields:") {
            path = Some(rest.trim_end_matches("-->").trim().to_owned());
            continue;
        }
        let Some(table_path) = &path else { continue };
        if !line.starts_with('|') {
            if !line.trim().is_empty() {
                path = None;
            }
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        let (field, default) = (cells[1], cells[2]);
        let Some(field) = field.strip_prefix('`').and_then(|f| f.strip_suffix('`')) else {
            continue; // the header or separator row
        };
        let object = at_path(&defaults, table_path);
        assert!(
            object.is_object(),
            "line {}: no object at `{table_path}`",
            number + 1
        );
        let actual = object.get(field).unwrap_or_else(|| {
            panic!("line {}: `{table_path}` has no field `{field}`", number + 1)
        });
        // Only a cell that is exactly one code span is a checkable default.
        let Some(code) = default.strip_prefix('`').and_then(|d| d.strip_suffix('`')) else {
            continue;
        };
        if code.contains('`') {
            continue;
        }
        // A bare identifier (`medium`) is an enum value, serialized as a string.
        let is_word = code.starts_with(|c: char| c.is_ascii_alphabetic())
            && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !["true", "false"].contains(&code);
        let written: Value = if is_word {
            Value::String(code.to_owned())
        } else {
            ron::from_str(code)
                .unwrap_or_else(|e| panic!("line {}: default `{code}` is not RON: {e}", number + 1))
        };
        assert!(
            same(&written, actual),
            "line {}: the default of `{table_path}.{field}` is {actual}, the doc says {code}",
            number + 1
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} defaults were checked");
}
