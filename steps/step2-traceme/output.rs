// ANCHOR: all
//! Writing the tracer's lines: the trace, and its own messages.
//!
//! Step 2 introduces this file; steps 3 and 4 include it unchanged.

use std::fmt::Display;
use std::io::{self, Write};

// ANCHOR: line
/// Writes `text` and a newline to stderr, in one `write(2)`.
///
/// One write per line: stderr has no buffer, so `eprintln!` would make one
/// `write` for each piece of its format (the padding of a trace line alone
/// is dozens), and a line of ours could be cut by a line of the program's.
///
/// Errors are ignored: a trace that cannot be written (a full disk, a closed
/// stderr, a reader that cannot keep up) must not stop or change the program
/// we trace. strace carries on too. A reader that has gone away is another
/// matter: then SIGPIPE ends the tracer, as it ends strace.
pub fn line(text: impl Display) {
    let line = format!("{text}\n");
    let _ = io::stderr().write_all(line.as_bytes());
}
// ANCHOR_END: line
// ANCHOR_END: all
