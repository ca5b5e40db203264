//! How a failed subcommand's error is printed: its message, then each cause in the chain
//! that the messages above do not already say.
//!
//! Error types here (ours, built with `thiserror`, and others such as `rusqlite`'s) put their
//! cause in their own message — `cannot read x.ron: No such file or directory` — because
//! that message also travels alone (HTTP answers, logs), and they also report the cause as
//! their `source()`. Printing the whole chain would say every cause twice; printing only
//! the top message would lose the causes behind `anyhow` contexts. So each cause is printed
//! once: skipped when the text so far already contains it.

/// `error` and its causes on one line, separated by `: `, each cause's text once.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        let message = message.trim();
        if message.is_empty() || text.contains(message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(message);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    /// An error whose message includes its cause, which it also reports as its source
    /// (what `#[error("cannot read x.ron: {source}")]` makes with `thiserror`).
    #[derive(Debug)]
    struct ReadError {
        source: std::io::Error,
    }

    impl std::fmt::Display for ReadError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot read x.ron: {}", self.source)
        }
    }

    impl std::error::Error for ReadError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_above_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = Err::<(), _>(ReadError { source: io })
            .context("dry run failed")
            .unwrap_err();
        assert_eq!(
            describe(&error),
            "dry run failed: cannot read x.ron: no such file"
        );
    }

    #[test]
    fn causes_behind_contexts_are_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = Err::<(), _>(io)
            .context("reading tokens")
            .context("opening the game")
            .unwrap_err();
        assert_eq!(
            describe(&error),
            "opening the game: reading tokens: no such file"
        );
    }
}
