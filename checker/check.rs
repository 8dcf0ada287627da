//! What a check is, and what it says when it fails.

use crate::run::{NoRun, Run};
use std::path::PathBuf;

/// One promise of a chapter's "What we want", checked on the program.
pub struct Check {
    pub step: u32,
    /// What the chapter promises, in a few words.
    pub promise: &'static str,
    /// The heading of the chapter's section to reread when it fails.
    pub section: &'static str,
    pub check: fn(&Context) -> Outcome,
}

/// What every check is given: the program under test, and the tracee, a
/// small program of this repository that makes exactly the syscalls a check
/// asks for (tests/programs/tracee.rs).
pub struct Context {
    pub step: usize,
    pub program: PathBuf,
    pub tracee: String,
    /// A directory for the files a check writes.
    pub scratch: PathBuf,
}

pub type Outcome = Result<(), Problem>;

pub enum Problem {
    Fail(Failure),
    /// The check cannot run here (no strace, no privilege for BPF).
    Skip(String),
}

/// What a learner needs to see of a failure.
pub struct Failure {
    /// The command, to run it again by hand.
    pub ran: String,
    pub expected: String,
    /// At most ten lines of what the program did.
    pub seen: Vec<String>,
    /// The usual wrong answer, where the check sees it, and what to do.
    pub hint: String,
}

/// A failure of `run`: `seen` is the part of its output that the check read.
pub fn fail(
    run: &Run,
    expected: impl Into<String>,
    seen: &str,
    hint: impl Into<String>,
) -> Outcome {
    Err(Problem::Fail(Failure {
        ran: run.command.clone(),
        expected: expected.into(),
        seen: crate::lines::at_most_ten(seen),
        hint: hint.into(),
    }))
}

/// Passes when `condition` holds, and fails as `fail` does otherwise.
pub fn expect(
    condition: bool,
    run: &Run,
    expected: impl Into<String>,
    seen: &str,
    hint: impl Into<String>,
) -> Outcome {
    if condition {
        Ok(())
    } else {
        fail(run, expected, seen, hint)
    }
}

/// A run that did not start or hung fails the check, with the reason as hint.
impl From<NoRun> for Problem {
    fn from(no_run: NoRun) -> Problem {
        Problem::Fail(Failure {
            ran: no_run.command,
            expected: format!(
                "the program to start, and end within {} s",
                crate::run::limit().as_secs()
            ),
            seen: vec!["(see the hint)".to_string()],
            hint: no_run.why,
        })
    }
}

/// Real strace's trace of `command`, or a skip where strace is missing.
pub fn strace(context: &Context, options: &[&str], command: &[&str]) -> Result<String, Problem> {
    crate::run::strace(options, command, &context.scratch).ok_or_else(|| {
        Problem::Skip("needs strace, the judge: sudo apt-get install strace".to_string())
    })
}
