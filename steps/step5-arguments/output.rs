// ANCHOR: all
//! Where the trace goes: stderr, or the file that `-o FILE` names.
//!
//! Like step 2's output.rs (which steps 2 to 4 share), one `write(2)` per
//! line; what is new is the choice of destination, and that a file that
//! cannot be written is said, once. The tracer's own messages (a bad option,
//! a program that cannot run) still go to stderr: `line_to_stderr`, and
//! `say` with the tracer's name first.
//!
//! Step 5 introduces this file; steps 6 to 9 include it unchanged.

use std::fmt::Display;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The trace's destination.
pub enum Output {
    Stderr,
    File {
        file: File,
        path: PathBuf,
        /// Whether a write has failed already: said once, not at every line.
        failed: bool,
    },
}

impl Output {
    /// Creates (or empties) `path` for the trace, as strace's `-o` does.
    pub fn create(path: &Path) -> Result<Output, String> {
        match File::create(path) {
            Ok(file) => Ok(Output::File {
                file,
                path: path.to_path_buf(),
                failed: false,
            }),
            Err(e) => Err(format!("cannot create {}: {e}", path.display())),
        }
    }

    /// Writes `text` and a newline in one `write(2)`. A trace that cannot be
    /// written must not stop or change the program (step 2's output.rs says
    /// more): we go on. But a file that fails (a full disk, `/dev/full`) is
    /// said on stderr, once, as strace says it; stderr itself has nowhere to
    /// say it.
    pub fn line(&mut self, text: impl Display) {
        let line = format!("{text}\n");
        match self {
            Output::Stderr => drop(io::stderr().write_all(line.as_bytes())),
            Output::File { file, path, failed } => {
                if let Err(e) = file.write_all(line.as_bytes())
                    && !*failed
                {
                    *failed = true;
                    let path = path.display();
                    say(format_args!(
                        "cannot write to {path}: {e}; the trace misses lines"
                    ));
                }
            }
        }
    }
}

/// One line of the tracer's own on stderr, whatever `-o` says.
pub fn line_to_stderr(text: impl Display) {
    Output::Stderr.line(text);
}

/// A message of the tracer's own, on stderr, after its name, as strace
/// writes `strace: ...`. The name is the binary's, so that each step that
/// includes this file names itself: `step5: ...`, `step9: ...`.
pub fn say(text: impl Display) {
    let program = std::env::args_os().next().unwrap_or_default();
    let name = Path::new(&program).file_name().unwrap_or_default();
    line_to_stderr(format_args!("{}: {text}", name.to_string_lossy()));
}
// ANCHOR_END: all
