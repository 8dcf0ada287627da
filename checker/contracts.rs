//! The contracts that every tracing step keeps (2 and later), run by `--all`.

use crate::check::{Check, Context, Outcome, expect};
use crate::talk::traced;

const CONTRACTS: &[Check] = &[
    Check {
        step: 2,
        promise: "every step: the program's streams and exit status are its own",
        section: "Almost nothing between fork and exec",
        check: streams_and_status_are_the_programs,
    },
    Check {
        step: 2,
        promise: "every step: nothing is left running",
        section: "Reaping, and zombies",
        check: nothing_left_running,
    },
];

/// The contracts of step `n`: none for step 1, which traces nothing.
pub fn every_step(n: usize) -> &'static [Check] {
    if n == 1 { &[] } else { CONTRACTS }
}

/// Step 10 only counts: its contracts hold with `-c`.
fn options(context: &Context) -> &'static [&'static str] {
    if context.step == 10 { &["-c"] } else { &[] }
}

fn streams_and_status_are_the_programs(context: &Context) -> Outcome {
    let command = ["sh", "-c", "echo out; echo err >&2; exit 3"];
    let run = traced(context, &[options(context), &command].concat())?;
    let own = run.stdout == "out\n" && run.stderr.contains("err\n") && run.status.code() == Some(3);
    expect(
        own,
        &run,
        "stdout \"out\\n\", \"err\" on stderr, exit status 3",
        &format!(
            "{}{}",
            crate::talk::streams(&run),
            crate::run::ending(&run.status)
        ),
        "stdout and the exit status are the program's: your lines go to stderr, and \
         you exit with the child's status",
    )
}

fn nothing_left_running(context: &Context) -> Outcome {
    // A program that runs for a while: a tracer that exits before it leaves
    // it running, in the process group that the checker made for the run.
    let command = ["sh", "-c", "sleep 0.5; true"];
    let run = traced(context, &[options(context), &command].concat())?;
    expect(
        run.left_running.is_empty(),
        &run,
        "no process left once the tracer has exited",
        &run.left_running.join("\n"),
        "wait for the child until it exits (waitpid until WIFEXITED or WIFSIGNALED), \
         and kill it if your tracer stops early (PTRACE_O_EXITKILL)",
    )
}
