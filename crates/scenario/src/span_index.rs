//! Where each value sits in the source text, by path.
//!
//! Deserialized values carry no positions, so semantic diagnostics find their way back to
//! the text through this index: a small scanner over RON tokens walks the source, tracks the
//! path of field names and list indices (`services[2].dependencies[0].service`) and records
//! the byte range of every value. It is best-effort by design: on text it does not
//! understand it stops and keeps what it has, and it never panics.

use std::collections::HashMap;
use std::ops::Range;

/// Deepest nesting the scanner follows; deeper values are not indexed.
pub const MAX_SCAN_DEPTH: usize = 128;

/// Byte ranges of values in a scenario's source, keyed by path.
///
/// Paths are written like `title`, `services[2].name`, `faults[0].target[0]` (the first
/// element of a tuple variant such as `Service("web")`), `services[1].flags["dark"]`.
/// `Some(x)` is transparent: `x` is recorded under the path of the option itself.
#[derive(Clone, Debug, Default)]
pub struct SpanIndex {
    spans: HashMap<String, Range<usize>>,
}

impl SpanIndex {
    /// Scans `source`; never fails (unknown text ends the scan early).
    pub fn build(source: &str) -> SpanIndex {
        let tokens = tokenize(source);
        let mut scanner = Scanner {
            tokens: &tokens,
            source,
            pos: 0,
            index: SpanIndex::default(),
        };
        scanner.skip_attributes();
        let _ = scanner.value(String::new(), 0);
        scanner.index
    }

    /// The range of the value at `path`, if it was written in the source.
    pub fn get(&self, path: &str) -> Option<Range<usize>> {
        self.spans.get(path).cloned()
    }

    /// The range of the value at `path`, or of its nearest written ancestor (a defaulted
    /// value has no text of its own; its enclosing struct does).
    pub fn nearest(&self, path: &str) -> Option<Range<usize>> {
        let mut current = path;
        loop {
            if let Some(span) = self.spans.get(current) {
                return Some(span.clone());
            }
            if current.is_empty() {
                return None;
            }
            current = parent_path(current);
        }
    }

    /// Number of recorded values.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// The range of the last token (not a comment) that ends at or before `offset`.
pub fn token_before(source: &str, offset: usize) -> Option<Range<usize>> {
    tokenize(source)
        .into_iter()
        .take_while(|token| token.span.end <= offset)
        .last()
        .map(|token| token.span)
}

/// The first problem with brackets in a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BracketProblem {
    /// The innermost bracket still open when the text ends.
    Unclosed(Range<usize>),
    /// A closing bracket that does not match the innermost open one.
    Mismatched {
        /// The open bracket.
        open: Range<usize>,
        /// The closing bracket that does not match it.
        close: Range<usize>,
    },
}

/// The first unbalanced bracket of `source` (outside strings and comments), if any.
pub fn bracket_problem(source: &str) -> Option<BracketProblem> {
    let mut open: Vec<(u8, Range<usize>)> = Vec::new();
    for token in tokenize(source) {
        match token.kind {
            TokenKind::Open(b) => open.push((b, token.span)),
            TokenKind::Close(c) => match open.pop() {
                Some((b, _)) if matches!((b, c), (b'(', b')') | (b'[', b']') | (b'{', b'}')) => {}
                Some((_, span)) => {
                    return Some(BracketProblem::Mismatched {
                        open: span,
                        close: token.span,
                    });
                }
                None => {}
            },
            _ => {}
        }
    }
    open.pop().map(|(_, span)| BracketProblem::Unclosed(span))
}

/// Whether the string literal at `span` runs over a line end that is not escaped (usually a
/// missing closing quote).
pub fn string_spans_lines(source: &str, span: &Range<usize>) -> bool {
    let text = source.get(span.clone()).unwrap_or("");
    text.starts_with('"')
        && text
            .match_indices('\n')
            .any(|(i, _)| !text[..i].trim_end_matches('\r').ends_with('\\'))
}

/// The path one level up: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → ``.
fn parent_path(path: &str) -> &str {
    let bytes = path.as_bytes();
    if bytes.last() == Some(&b']') {
        // Find the matching `[` (map keys are quoted and may contain brackets).
        let mut in_quotes = false;
        for (i, &b) in bytes.iter().enumerate().rev().skip(1) {
            match b {
                b'"' => in_quotes = !in_quotes,
                b'[' if !in_quotes => return &path[..i],
                _ => {}
            }
        }
        return "";
    }
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenKind {
    Open(u8),
    Close(u8),
    Colon,
    Comma,
    Hash,
    Bang,
    Ident,
    Str,
    Other,
}

#[derive(Clone, Debug)]
struct Token {
    kind: TokenKind,
    span: Range<usize>,
}

/// Splits RON text into tokens, skipping whitespace and comments. Unknown bytes become
/// `Other` tokens; an unterminated string or comment runs to the end.
fn tokenize(source: &str) -> Vec<Token> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let kind = match b {
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                TokenKind::Open(b)
            }
            b')' | b']' | b'}' => {
                i += 1;
                TokenKind::Close(b)
            }
            b':' => {
                i += 1;
                TokenKind::Colon
            }
            b',' => {
                i += 1;
                TokenKind::Comma
            }
            b'#' => {
                i += 1;
                TokenKind::Hash
            }
            b'!' => {
                i += 1;
                TokenKind::Bang
            }
            b'"' => {
                i = skip_quoted(bytes, i + 1, b'"');
                TokenKind::Str
            }
            b'\'' => {
                i = skip_quoted(bytes, i + 1, b'\'');
                TokenKind::Other
            }
            b'r' | b'b' if raw_string_start(bytes, i).is_some() => {
                i = raw_string_start(bytes, i).map_or(bytes.len(), |(hashes, body)| {
                    skip_raw_string(bytes, body, hashes)
                });
                TokenKind::Str
            }
            b'b' if bytes.get(i + 1) == Some(&b'"') => {
                i = skip_quoted(bytes, i + 2, b'"');
                TokenKind::Str
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                if b == b'r' && bytes.get(i + 1) == Some(&b'#') {
                    i += 2;
                }
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                TokenKind::Ident
            }
            b if b.is_ascii_digit() || b == b'-' || b == b'+' || b == b'.' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.'))
                {
                    // An exponent sign: `1e-3`.
                    i += 1;
                    if matches!(bytes.get(i), Some(b'-' | b'+'))
                        && matches!(bytes[i - 1], b'e' | b'E')
                    {
                        i += 1;
                    }
                }
                TokenKind::Other
            }
            _ => {
                // Skip one whole UTF-8 character.
                i += 1;
                while i < bytes.len() && (bytes[i] & 0b1100_0000) == 0b1000_0000 {
                    i += 1;
                }
                TokenKind::Other
            }
        };
        tokens.push(Token {
            kind,
            span: start..i,
        });
    }
    tokens
}

/// Index after a (possibly nested) block comment starting at `start`.
fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Index after the closing `quote` of a quoted literal whose body starts at `body`.
fn skip_quoted(bytes: &[u8], body: usize, quote: u8) -> usize {
    let mut i = body;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// If a raw string (`r"`, `r#"`, `br#"`) starts at `i`: its number of `#` and body start.
fn raw_string_start(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if bytes.get(j) == Some(&b'b') {
        j += 1;
    }
    if bytes.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while bytes.get(j) == Some(&b'#') {
        hashes += 1;
        j += 1;
    }
    (bytes.get(j) == Some(&b'"')).then_some((hashes, j + 1))
}

/// Index after a raw string whose body starts at `body` and ends with `"` and `hashes` `#`.
fn skip_raw_string(bytes: &[u8], body: usize, hashes: usize) -> usize {
    let mut i = body;
    while i < bytes.len() {
        if bytes[i] == b'"'
            && bytes.len() >= i + 1 + hashes
            && bytes[i + 1..i + 1 + hashes].iter().all(|&b| b == b'#')
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    bytes.len()
}

/// The recursive walk over tokens. Every method returns `None` when the text stops making
/// sense; the caller then gives up quietly.
struct Scanner<'a> {
    tokens: &'a [Token],
    source: &'a str,
    pos: usize,
    index: SpanIndex,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_kind_at(&self, offset: usize) -> Option<TokenKind> {
        self.tokens.get(self.pos + offset).map(|t| t.kind)
    }

    fn text(&self, span: &Range<usize>) -> &str {
        self.source.get(span.clone()).unwrap_or("")
    }

    /// Skips `#![enable(...)]` attributes at the top of the file.
    fn skip_attributes(&mut self) {
        while self.peek_kind_at(0) == Some(TokenKind::Hash) {
            self.pos += 1;
            if self.peek_kind_at(0) == Some(TokenKind::Bang) {
                self.pos += 1;
            }
            if self.peek_kind_at(0) != Some(TokenKind::Open(b'[')) {
                return;
            }
            let mut depth = 0usize;
            while let Some(token) = self.peek() {
                let kind = token.kind;
                self.pos += 1;
                match kind {
                    TokenKind::Open(_) => depth += 1,
                    TokenKind::Close(_) => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Scans one value at `path`, records its range and returns it.
    fn value(&mut self, path: String, depth: usize) -> Option<Range<usize>> {
        if depth > MAX_SCAN_DEPTH {
            return None;
        }
        let first = self.peek()?.clone();
        let span = match first.kind {
            TokenKind::Open(open) => {
                self.pos += 1;
                let end = self.contents(&path, open, depth)?;
                first.span.start..end
            }
            TokenKind::Ident => {
                self.pos += 1;
                if self.peek_kind_at(0) == Some(TokenKind::Open(b'(')) {
                    self.pos += 1;
                    let transparent = self.text(&first.span) == "Some";
                    let end = if transparent {
                        self.option_contents(&path, depth)?
                    } else {
                        self.contents(&path, b'(', depth)?
                    };
                    first.span.start..end
                } else {
                    first.span.clone()
                }
            }
            TokenKind::Str | TokenKind::Other => {
                self.pos += 1;
                first.span.clone()
            }
            _ => return None,
        };
        self.index.spans.entry(path).or_insert_with(|| span.clone());
        Some(span)
    }

    /// The inside of `Some(...)`: the inner value takes the option's own path.
    fn option_contents(&mut self, path: &str, depth: usize) -> Option<usize> {
        self.value(path.to_owned(), depth + 1)?;
        if self.peek_kind_at(0) == Some(TokenKind::Comma) {
            self.pos += 1;
        }
        let close = self.peek()?.clone();
        if close.kind != TokenKind::Close(b')') {
            return None;
        }
        self.pos += 1;
        Some(close.span.end)
    }

    /// The inside of a `(`, `[` or `{` group, after the opening token; returns the end of
    /// the closing token.
    fn contents(&mut self, path: &str, open: u8, depth: usize) -> Option<usize> {
        let close = match open {
            b'(' => b')',
            b'[' => b']',
            _ => b'}',
        };
        let mut position = 0usize;
        loop {
            let token = self.peek()?.clone();
            if token.kind == TokenKind::Close(close) {
                self.pos += 1;
                return Some(token.span.end);
            }
            let is_field = open == b'('
                && token.kind == TokenKind::Ident
                && self.peek_kind_at(1) == Some(TokenKind::Colon);
            if is_field {
                let name = self.text(&token.span).trim_start_matches("r#").to_owned();
                self.pos += 2;
                self.value(join_field(path, &name), depth + 1)?;
            } else if open == b'{' {
                let key_span = self.value(format!("{path}{{key{position}}}"), depth + 1)?;
                if self.peek_kind_at(0) != Some(TokenKind::Colon) {
                    return None;
                }
                self.pos += 1;
                let key = self.text(&key_span).to_owned();
                self.value(format!("{path}[{key}]"), depth + 1)?;
            } else {
                self.value(format!("{path}[{position}]"), depth + 1)?;
            }
            position += 1;
            match self.peek()?.kind {
                TokenKind::Comma => self.pos += 1,
                TokenKind::Close(c) if c == close => {}
                _ => return None,
            }
        }
    }
}

/// `path` + `.name` (or just `name` at the top).
fn join_field(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice<'a>(source: &'a str, index: &SpanIndex, path: &str) -> &'a str {
        let span = index
            .get(path)
            .unwrap_or_else(|| panic!("no span for {path}"));
        &source[span]
    }

    #[test]
    fn records_fields_list_items_variants_and_map_values() {
        let source = r##"#![enable(implicit_some)]
// a comment (with a paren
(
    title: "x", /* block /* nested */ */
    services: [
        (name: "web", flags: {"dark": true}, dependencies: [(service: "db")]),
        (name: r#"db"#, kind: database, slo: Some((latency_p99_ms: 1e-3))),
    ],
    faults: [(target: Select(service: "db", pick: Count(2)), kind: crash, trigger: At("5m"))],
)"##;
        let index = SpanIndex::build(source);
        assert_eq!(slice(source, &index, "title"), "\"x\"");
        assert_eq!(
            slice(source, &index, "services[0].dependencies[0].service"),
            "\"db\""
        );
        assert_eq!(slice(source, &index, "services[1].name"), "r#\"db\"#");
        assert_eq!(slice(source, &index, "services[0].flags[\"dark\"]"), "true");
        assert_eq!(
            slice(source, &index, "services[1].slo.latency_p99_ms"),
            "1e-3"
        );
        assert_eq!(slice(source, &index, "faults[0].target.service"), "\"db\"");
        assert_eq!(slice(source, &index, "faults[0].target.pick[0]"), "2");
        assert_eq!(slice(source, &index, "faults[0].trigger[0]"), "\"5m\"");
        assert_eq!(slice(source, &index, "faults[0].kind"), "crash");
    }

    #[test]
    fn nearest_falls_back_to_the_enclosing_value() {
        let source = r#"(services: [(name: "web")])"#;
        let index = SpanIndex::build(source);
        assert_eq!(
            index.nearest("services[0].zones[1]"),
            index.get("services[0]")
        );
        assert_eq!(parent_path("a.b[\"x[1]\"]"), "a.b");
        assert_eq!(parent_path("a.b[2]"), "a.b");
        assert_eq!(parent_path("a"), "");
    }

    #[test]
    fn finds_unclosed_brackets_and_runaway_strings() {
        let source = "(a: [1, (2)], b: [3";
        assert_eq!(
            bracket_problem(source),
            Some(BracketProblem::Unclosed(17..18))
        );
        assert_eq!(bracket_problem("(a: [1], s: \")]\")"), None);
        assert_eq!(
            bracket_problem("(a: [1)"),
            Some(BracketProblem::Mismatched {
                open: 4..5,
                close: 6..7
            })
        );
        let runaway = "(a: \"x,\n b: \"y\")";
        let string = token_before(runaway, 13).unwrap();
        assert!(string_spans_lines(runaway, &string));
        let continued = "(a: \"x \\\n y\")";
        assert!(!string_spans_lines(continued, &(4..continued.len() - 1)));
    }

    #[test]
    fn survives_garbage() {
        for source in [
            "",
            "(",
            ")",
            "((((",
            "r#",
            "\"",
            "/*",
            "(a: [1, 2",
            "é(ü: 'x",
        ] {
            let _ = SpanIndex::build(source);
        }
    }
}
