//! Writing results to standard output, whose reader may go away early
//! (`breakathon export ... | head`): a broken pipe is the reader's choice, not an error.

use std::io::{ErrorKind, Write};

/// Writes `text` and a newline to standard output; a reader that went away (broken pipe)
/// counts as success, so `| head` ends quietly.
pub fn print_line(text: &str) -> anyhow::Result<()> {
    quiet_broken_pipe(writeln!(std::io::stdout().lock(), "{text}").map_err(anyhow::Error::from))
}

/// `result`, with a broken pipe on standard output turned into success.
pub fn quiet_broken_pipe(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// Whether `err` comes from writing to a reader that went away.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
    })
}
