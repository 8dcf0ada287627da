//! The checks of steps 1 to 4, the talk's steps: one per promise of each
//! chapter's "What we want", in the chapter's order.

use crate::check::{Check, Context, Outcome, Problem, expect, fail, strace};
use crate::lines::{Call, calls, table};
use crate::run::{Run, run};
use std::path::Path;

pub const STEP1: &[Check] = &[
    Check {
        step: 1,
        promise: "a write that strace sees return its length",
        section: "What it prints",
        check: write_returns_its_length,
    },
    Check {
        step: 1,
        promise: "a write that fails with EBADF",
        section: "Why it behaves that way",
        check: write_fails_with_ebadf,
    },
];

pub const STEP2: &[Check] = &[
    Check {
        step: 2,
        promise: "the program's output is its own",
        section: "Almost nothing between fork and exec",
        check: output_is_the_programs,
    },
    Check {
        step: 2,
        promise: "the program's exit status is its own",
        section: "Passing signals on, and the exit status",
        check: exit_status_is_the_programs,
    },
    Check {
        step: 2,
        promise: "the program's signals are its own",
        section: "Passing signals on, and the exit status",
        check: signals_are_the_programs,
    },
    Check {
        step: 2,
        promise: "the stop after execve is reported (orig_rax = 59)",
        section: "`PTRACE_TRACEME`, a stop, and the stop after `execve`",
        check: stop_after_execve_reported,
    },
];

pub const STEP3: &[Check] = &[
    Check {
        step: 3,
        promise: "every syscall, by name",
        section: "What it prints",
        check: syscalls_by_name,
    },
    Check {
        step: 3,
        promise: "each syscall twice: at its entry and at its exit",
        section: "Two stops per syscall",
        check: each_syscall_twice,
    },
    Check {
        step: 3,
        promise: "the same syscalls as strace, in order",
        section: "Two stops per syscall",
        check: same_syscalls_as_strace_twice,
    },
];

pub const STEP4: &[Check] = &[
    Check {
        step: 4,
        promise: "each syscall once, with its result",
        section: "What the tracer remembers",
        check: each_syscall_once_with_its_result,
    },
    Check {
        step: 4,
        promise: "errors as strace writes them",
        section: "The result, the way strace writes it",
        check: errors_as_strace_writes_them,
    },
    Check {
        step: 4,
        promise: "the same calls and results as strace",
        section: "Calls and errors match",
        check: same_calls_and_results_as_strace,
    },
    Check {
        step: 4,
        promise: "-c: the calls and errors of strace -c",
        section: "The table",
        check: counts_equal_strace_c,
    },
];

// ---------------------------------------------------------------------------
// Step 1: the program runs alone, under real strace.

/// The program's write calls, as strace sees them.
fn writes_under_strace(context: &Context) -> Result<(Run, Vec<Call>), Problem> {
    strace(context, &[], &["true"])?; // strace is here, or the check is skipped
    let file = context.scratch.join("step1-trace.txt");
    let file_name = file.to_string_lossy();
    let program = context.program.to_string_lossy();
    let run = run(
        Path::new("strace"),
        &["-f", "-e", "trace=write", "-o", &file_name, &program],
    )?;
    let trace = std::fs::read_to_string(&file).unwrap_or_default();
    Ok((run, calls(&trace)))
}

fn write_returns_its_length(context: &Context) -> Outcome {
    let (run, writes) = writes_under_strace(context)?;
    let returns_its_length = |call: &Call| {
        let length = call.line.rsplit_once(") = ").and_then(|(args, _)| {
            let (_, count) = args.rsplit_once(", ")?;
            count.parse::<i64>().ok()
        });
        call.number().is_some_and(|n| n > 0) && call.number() == length
    };
    // Nothing traced: strace's own messages say why.
    let seen = if writes.is_empty() {
        run.stderr.clone()
    } else {
        lines_of(&writes)
    };
    let hint = if writes.is_empty() {
        "strace saw no write: put 1 (write) in rax, the fd in rdi, the address in rsi, \
         the length in rdx, then `syscall`"
    } else {
        "a write returns how many bytes it wrote: the length you passed in rdx"
    };
    expect(
        writes.iter().any(returns_its_length),
        &run,
        "a write that returns its length: write(1, \"…\", N) = N",
        &seen,
        hint,
    )
}

fn write_fails_with_ebadf(context: &Context) -> Outcome {
    let (run, writes) = writes_under_strace(context)?;
    let fails = writes.iter().any(|c| {
        c.result
            .as_deref()
            .is_some_and(|r| r.starts_with("-1 EBADF"))
    });
    expect(
        fails,
        &run,
        "a write that fails: write(-1, \"…\", N) = -1 EBADF (Bad file descriptor)",
        &lines_of(&writes),
        "make the same write to a file descriptor that is not open (-1): rax comes back -9, -EBADF",
    )
}

fn lines_of(calls: &[Call]) -> String {
    calls.iter().map(|c| format!("{}\n", c.line)).collect()
}

// ---------------------------------------------------------------------------
// Step 2: the program runs another, traced, as it would run untraced.

/// Runs the program under test on `command`.
pub fn traced(context: &Context, command: &[&str]) -> Result<Run, Problem> {
    Ok(run(&context.program, command)?)
}

fn output_is_the_programs(context: &Context) -> Outcome {
    let run = traced(context, &["sh", "-c", "echo out; echo err >&2"])?;
    let hint = if !run.stdout.contains("out") {
        "the command was not run: fork, and in the child PTRACE_TRACEME, then exec the \
         command line you were given (argv[1..])"
    } else {
        "stdout is the program's alone: write your tracer's own lines to stderr"
    };
    let seen = streams(&run);
    expect(
        run.stdout == "out\n" && run.stderr.contains("err\n"),
        &run,
        "stdout exactly \"out\\n\", and \"err\" on stderr",
        &seen,
        hint,
    )
}

/// Both streams of a run, each line marked with its stream.
pub fn streams(run: &Run) -> String {
    let stdout = run.stdout.lines().map(|line| format!("stdout: {line}\n"));
    let stderr = run.stderr.lines().map(|line| format!("stderr: {line}\n"));
    stdout.chain(stderr).collect()
}

fn exit_status_is_the_programs(context: &Context) -> Outcome {
    let run = traced(context, &["sh", "-c", "exit 3"])?;
    expect(
        run.status.code() == Some(3),
        &run,
        "exit status 3, the program's",
        &crate::run::ending(&run.status),
        "exit with the status that waitpid reported for the child (WEXITSTATUS)",
    )
}

fn signals_are_the_programs(context: &Context) -> Outcome {
    let script = "trap 'echo caught' USR1; kill -USR1 $$; echo after";
    let run = traced(context, &["sh", "-c", script])?;
    expect(
        run.stdout == "caught\nafter\n",
        &run,
        "stdout \"caught\\nafter\\n\": the shell's handler ran",
        &format!(
            "stdout: {:?}, {}",
            run.stdout,
            crate::run::ending(&run.status)
        ),
        "a signal stop's signal must be passed on: resume with that signal \
         (PTRACE_CONT, sig), not 0, which swallows it",
    )
}

fn stop_after_execve_reported(context: &Context) -> Outcome {
    let run = traced(context, &["true"])?;
    let reported = run.stderr.contains("59") || run.stderr.contains("execve");
    expect(
        reported,
        &run,
        "on stderr, the stop after execve: orig_rax = 59 (or \"execve\")",
        &run.stderr,
        "wait for the child's SIGTRAP stop after its exec, read its registers \
         (PTRACE_GETREGS) and print orig_rax, 59: execve",
    )
}

// ---------------------------------------------------------------------------
// Steps 3 and 4: `tracee getppid 5` makes five getppid calls, and nothing
// else between them.

fn getppid_5(context: &Context) -> Result<(Run, Vec<Call>), Problem> {
    let run = traced(context, &[&context.tracee, "getppid", "5"])?;
    let getppids = calls(&run.stderr)
        .into_iter()
        .filter(|c| c.name == "getppid")
        .collect();
    Ok((run, getppids))
}

fn syscalls_by_name(context: &Context) -> Outcome {
    let (run, getppids) = getppid_5(context)?;
    let has_110 = run
        .stderr
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "110");
    let hint = if has_110 {
        "110 is getppid's number: print the syscall's name"
    } else {
        "no syscall named on stderr: resume with PTRACE_SYSCALL, not PTRACE_CONT, \
         and print the name of orig_rax at every stop"
    };
    expect(
        !getppids.is_empty(),
        &run,
        "lines that name getppid, on stderr",
        &run.stderr,
        hint,
    )
}

fn each_syscall_twice(context: &Context) -> Outcome {
    let (run, getppids) = getppid_5(context)?;
    let hint = if getppids.len() == 5 {
        "five lines for five calls: that is step 4's fix already; step 3 prints at every \
         stop, and each call makes two"
    } else {
        "print one line at every stop, entry and exit alike"
    };
    expect(
        getppids.len() == 10,
        &run,
        "10 getppid lines for 5 calls",
        &format!("{} getppid lines:\n{}", getppids.len(), lines_of(&getppids)),
        hint,
    )
}

/// The names of a trace, from its first getppid on.
fn names_from_getppid(trace: &str) -> Vec<String> {
    let names = calls(trace).into_iter().map(|c| c.name);
    names.skip_while(|name| name != "getppid").collect()
}

fn same_syscalls_as_strace_twice(context: &Context) -> Outcome {
    let judge = strace(context, &[], &[&context.tracee, "getppid", "5"])?;
    // Each call stops twice, but exit_group, which never returns.
    let expected: Vec<String> = names_from_getppid(&judge)
        .into_iter()
        .flat_map(|name| {
            let times = if name == "exit_group" { 1 } else { 2 };
            std::iter::repeat_n(name, times)
        })
        .collect();
    let (run, _) = getppid_5(context)?;
    let seen = names_from_getppid(&run.stderr);
    expect(
        seen == expected,
        &run,
        format!("from the first getppid on: {}", expected.join(" ")),
        &seen.join("\n"),
        "every stop is a line with its syscall's name: read orig_rax, not rax, which \
         holds the result at an exit stop",
    )
}

fn each_syscall_once_with_its_result(context: &Context) -> Outcome {
    let (run, getppids) = getppid_5(context)?;
    let pid = run.pid as i64;
    let seen = lines_of(&getppids);
    let hint = if getppids.len() == 10 {
        "ten lines for five calls: printed at both stops. Remember which stop comes \
         next, and print at the exit stop only"
            .to_string()
    } else if getppids.iter().any(|c| c.number() == Some(-38)) {
        "a result of -38 (-ENOSYS): printed at the entry stop, where the kernel has not \
         run the call yet. The result is in rax at the exit stop"
            .to_string()
    } else if getppids.iter().any(|c| c.number().is_none()) {
        "no result: write ` = ` and the result (rax at the exit stop) after the name".to_string()
    } else if let Some(other) = getppids.iter().filter_map(Call::number).find(|n| *n != pid) {
        format!(
            "getppid returned {other}, and the program checked is pid {pid}: is it a \
             wrapper that starts your tracer without `exec`? (in a shell script: exec ./mine \"$@\")"
        )
    } else {
        "print one line per syscall, at its exit stop, with rax".to_string()
    };
    let once_with_result = getppids.len() == 5 && getppids.iter().all(|c| c.number() == Some(pid));
    expect(
        once_with_result,
        &run,
        format!("5 getppid lines, each with its result, the tracer's own pid: pid {pid}, here"),
        &seen,
        hint,
    )
}

// ---------------------------------------------------------------------------
// Step 4: `tracee mixed` makes calls that succeed and calls that fail.

/// The errors `tracee mixed` makes, as strace writes them.
const MIXED_ERRORS: [&str; 3] = [
    "-1 ENOENT (No such file or directory)",
    "-1 EBADF (Bad file descriptor)",
    "-1 EEXIST (File exists)",
];

fn errors_as_strace_writes_them(context: &Context) -> Outcome {
    let run = traced(context, &[&context.tracee, "mixed"])?;
    let traced = calls(&run.stderr);
    let results: Vec<&str> = traced.iter().filter_map(|c| c.result.as_deref()).collect();
    let missing: Vec<&str> = MIXED_ERRORS
        .into_iter()
        .filter(|e| !results.contains(e))
        .collect();
    let failing: Vec<&Call> = traced
        .iter()
        .filter(|c| c.number().is_some_and(|n| n < 0))
        .collect();
    let hint = if results.contains(&"-2") {
        "`= -2`: strace writes `-1 ENOENT (No such file or directory)`: -1, the errno's \
         name, and its message in parentheses"
    } else {
        "a result between -4095 and -1 is an error: write -1, the errno's name and its \
         message, as strace does"
    };
    let seen: String = failing.iter().map(|c| format!("{}\n", c.line)).collect();
    expect(
        missing.is_empty(),
        &run,
        format!(
            "results written as strace writes them: {}",
            MIXED_ERRORS.join(", ")
        ),
        &seen,
        hint,
    )
}

/// (name, result) from the program's first write on, where `tracee mixed`
/// starts its own calls; getppid's result, a pid, is left out.
fn calls_from_first_write(trace: &str) -> Vec<String> {
    let traced = calls(trace).into_iter().skip_while(|c| c.name != "write");
    traced
        .map(|c| match (c.name.as_str(), c.number()) {
            ("getppid", _) => "getppid = (a pid)".to_string(),
            (name, Some(n)) => format!("{name} = {n}"),
            (name, None) => format!("{name} = {}", c.result.as_deref().unwrap_or("")),
        })
        .collect()
}

fn same_calls_and_results_as_strace(context: &Context) -> Outcome {
    let judge = strace(context, &[], &[&context.tracee, "mixed"])?;
    let expected = calls_from_first_write(&judge);
    let run = traced(context, &[&context.tracee, "mixed"])?;
    let seen = calls_from_first_write(&run.stderr);
    let first_difference = expected.iter().zip(&seen).position(|(a, b)| a != b);
    let at = first_difference.unwrap_or(expected.len().min(seen.len()));
    let seen_from: Vec<&String> = seen.iter().skip(at.saturating_sub(2)).collect();
    expect(
        seen == expected,
        &run,
        format!(
            "strace's calls from the first write on, results as numbers: {}",
            expected.join(", ")
        ),
        &format!(
            "the first difference, at call {}:\n{}",
            at + 1,
            seen_from
                .iter()
                .map(|s| format!("{s}\n"))
                .collect::<String>()
        ),
        "a call missing, added or out of step: each stop pairs with the one before it",
    )
}

pub fn counts_equal_strace_c(context: &Context) -> Outcome {
    let judge = strace(context, &["-c"], &[&context.tracee, "mixed"])?;
    let expected = table(&judge);
    let run = traced(context, &["-c", &context.tracee, "mixed"])?;
    let seen = table(&run.stderr);
    let differing: String = seen
        .iter()
        .filter(|row| !expected.contains(row))
        .map(|(name, calls, errors)| format!("{name}: {calls} calls, {errors} errors\n"))
        .collect();
    let hint = if seen.is_empty() {
        "no table of strace -c's columns on stderr: % time, seconds, usecs/call, calls, \
         errors, syscall"
    } else {
        "count at the exit stop, as strace does: exit_group never returns and is not \
         counted, execve counts once"
    };
    let shown = if seen.is_empty() {
        run.stderr.clone()
    } else {
        differing
    };
    if seen == expected {
        return Ok(());
    }
    fail(
        &run,
        "the calls and errors of each row of strace -c's table",
        &shown,
        hint,
    )
}
