//! The loader never panics: arbitrary text and mutated valid scenarios give a report (with
//! or without errors), and every report renders.

use breakathon_scenario::{STARTER_SCENARIO, check, load, span_index::SpanIndex};
use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;

/// Valid scenarios to mutate: the starter and a few fixtures with many kinds of value.
const SEEDS: [&str; 4] = [
    STARTER_SCENARIO,
    include_str!("../../../tests/fixtures/never-matches.ron"),
    include_str!("../../../tests/fixtures/out-of-range.ron"),
    include_str!("../../../tests/fixtures/unknown-flag-key-dependency.ron"),
];

/// Checks `source` and renders every diagnostic; panics only if the loader does.
fn exercise(source: &str) {
    let report = check("input.ron", source);
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    let mut text = String::new();
    for diagnostic in report.renderable() {
        handler
            .render_report(&mut text, &diagnostic)
            .expect("rendering into a String");
    }
    let records = report.records();
    assert_eq!(records.len(), report.diagnostics.len());
    assert_eq!(report.scenario.is_some(), !report.has_errors());
    let _ = SpanIndex::build(source);
    let _ = load("input.ron", source);
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Insert(usize, u8),
    Replace(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to RON, with some of anything.
    let byte = prop_oneof![
        prop::sample::select(b"()[]{}:,\"'#!/*r0123456789.-_ \n\\".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Replace(at, b)),
    ]
}

fn mutate(seed: &str, edits: &[Edit]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Delete(at) if !bytes.is_empty() => {
                bytes.remove(at % len);
            }
            Edit::Delete(_) => {}
            Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Edit::Replace(at, b) if !bytes.is_empty() => bytes[at % len] = b,
            Edit::Replace(_, _) => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Byte ranges of the number literals and the insides of string literals of `source`.
fn value_slots(source: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = source.as_bytes();
    let mut slots = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                slots.push(start..i.min(bytes.len()));
                i += 1;
            }
            b'0'..=b'9' | b'-' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || b".-_".contains(&bytes[i]))
                {
                    i += 1;
                }
                slots.push(start..i);
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    slots
}

/// Values that push the checks to their edges.
fn extreme_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "0.0",
            "-0.0",
            "1e308",
            "-1e308",
            "NaN",
            "inf",
            "-inf",
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "99999999999999999999",
            "0s",
            "1ms",
            "99999999d",
            "1.5",
            "",
            "web",
            "main",
            "zzz",
        ])
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "[a-z0-9_.]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(source in any::<String>()) {
        exercise(&source);
    }

    #[test]
    fn ron_shaped_text_never_panics(source in "[(){}\\[\\]:,\"'#!/*a-z0-9_ .\\-\n]{0,300}") {
        exercise(&source);
    }

    #[test]
    fn scenarios_with_extreme_values_never_panic(
        seed in 0..SEEDS.len(),
        replacements in prop::collection::vec((any::<prop::sample::Index>(), extreme_value()), 1..6),
    ) {
        let mut source = SEEDS[seed].to_owned();
        for (index, value) in replacements {
            let slots = value_slots(&source);
            if slots.is_empty() {
                break;
            }
            let slot = slots[index.index(slots.len())].clone();
            source.replace_range(slot, &value);
        }
        exercise(&source);
    }

    #[test]
    fn mutated_scenarios_never_panic(
        seed in 0..SEEDS.len(),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        exercise(&mutate(SEEDS[seed], &edits));
    }
}

#[test]
fn deep_nesting_and_huge_input_are_refused_not_crashed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    exercise(&deep);
    let parens = "(".repeat(100_000);
    exercise(&parens);
    let huge = " ".repeat(breakathon_scenario::load::MAX_SOURCE_BYTES + 1);
    let report = check("huge.ron", &huge);
    assert!(report.has_errors());
}
