//! The checks of steps 5 to 10: the options and lines each chapter promises.
//! Where a chapter asks for strace's lines, they are compared with strace's
//! own, once what varies from run to run is masked (addresses, pids).

use crate::check::{Check, Context, Outcome, Problem, expect, strace};
use crate::lines::{calls, mask, table};
use crate::run::{Run, start};
use crate::talk::{streams, traced};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

pub const STEP5: &[Check] = &[
    check(
        5,
        "strace's lines, arguments and all",
        "What it prints",
        lines_of_strace,
    ),
    check(
        5,
        "-e trace=LIST: only those calls",
        "The options",
        trace_only_listed,
    ),
    check(
        5,
        "-e trace=!LIST: every call but those",
        "The options",
        trace_all_but_listed,
    ),
    check(
        5,
        "-o FILE: the trace in FILE",
        "The options",
        trace_to_file,
    ),
    check(
        5,
        "-s N: strings cut at N bytes",
        "Strings, and `-s`",
        strings_cut_at_s,
    ),
];

pub const STEP6: &[Check] = &[
    check(
        6,
        "a real SIGTRAP, shown and passed on",
        "A real `SIGTRAP`",
        real_sigtrap,
    ),
    check(
        6,
        "a program that runs another: traced on",
        "A program that runs another program",
        exec_followed,
    ),
    check(
        6,
        "signals shown as strace shows them",
        "Signals, and `rt_sigreturn`",
        signals_shown,
    ),
    check(
        6,
        "a stopped program stays stopped until SIGCONT",
        "A program stopped",
        stopped_awhile,
    ),
    check(
        6,
        "killed by a signal: the tracer dies of it too",
        "How it ends",
        dies_of_the_same_signal,
    ),
    check(
        6,
        "the first line: execve, from its entry",
        "Seizing the child, and its `execve`",
        execve_first,
    ),
    check(
        6,
        "a 32-bit call, named from its own table",
        "Other ABIs",
        other_abi_named,
    ),
    check(
        6,
        "-c: the calls and errors of strace -c",
        "How step 6 differs from strace",
        counts_as_strace,
    ),
];

pub const STEP7: &[Check] = &[
    check(
        7,
        "-f: every process followed, [pid N] lines",
        "Following children",
        follows_forks,
    ),
    check(
        7,
        "-f: every thread followed, calls cut in two as strace cuts them",
        "Lines that interleave",
        follows_threads,
    ),
    check(
        7,
        "-f -c: every process's calls counted",
        "Following children",
        counts_every_process,
    ),
    check(
        7,
        "-p PID: attach, and let go on Ctrl-C",
        "Letting go",
        attach_and_detach,
    ),
    check(
        7,
        "-p: a pid that does not exist, refused in one line",
        "Attaching to a running program",
        no_such_pid,
    ),
];

pub const STEP8: &[Check] = &[
    check(
        8,
        "--deny NAME: the call fails with EPERM",
        "Denied",
        deny_fails_with_eperm,
    ),
    check(
        8,
        "--profile OUT.json: a Docker-format profile",
        "Writing a profile",
        writes_profile,
    ),
    check(
        8,
        "--sandbox PROFILE.json: the program runs under it",
        "Running under it",
        runs_sandboxed,
    ),
];

pub const STEP9: &[Check] = &[
    check(
        9,
        "--seccomp-bpf -f -e trace=openat: strace's lines",
        "The filter: stop for the traced calls only",
        seccomp_bpf_lines,
    ),
    check(
        9,
        "--seccomp-bpf without -f: strace's refusal, and the trace",
        "Why `-f`",
        seccomp_bpf_needs_f,
    ),
];

pub const STEP10: &[Check] = &[
    check(
        10,
        "-c without stopping: the program is not traced",
        "A child that waits at the door",
        not_stopped,
    ),
    check(
        10,
        "-c: the calls and errors of strace -c",
        "Calls and errors match",
        counts_in_kernel,
    ),
];

const fn check(
    step: u32,
    promise: &'static str,
    section: &'static str,
    check: fn(&Context) -> Outcome,
) -> Check {
    Check {
        step,
        promise,
        section,
        check,
    }
}

/// A file to read, in the scratch directory: its path, and its text.
fn file_to_read(context: &Context) -> String {
    let path = context.scratch.join("hello.txt");
    let _ = std::fs::write(&path, "hello\n");
    path.to_string_lossy().into_owned()
}

/// The call lines of `trace`, masked, from the first one that holds `from`.
fn masked_calls_from(trace: &str, from: &str) -> Vec<String> {
    let lines = calls(trace).into_iter().map(|c| c.line);
    lines
        .skip_while(|line| !line.contains(from))
        .map(|line| mask(&line))
        .collect()
}

/// Fails unless `seen` equals `expected`, and shows where they part.
fn same_lines(run: &Run, expected: &[String], seen: &[String], hint: &str) -> Outcome {
    let at = expected.iter().zip(seen).position(|(a, b)| a != b);
    let at = at.unwrap_or(expected.len().min(seen.len()));
    let shown: String = match seen.is_empty() {
        // No line to compare: what the program wrote says more.
        true => streams(run),
        false => seen
            .iter()
            .skip(at)
            .map(|line| format!("{line}\n"))
            .collect(),
    };
    let wanted = expected.get(at).map_or("(no more lines)", String::as_str);
    expect(
        seen == expected,
        run,
        format!("strace's lines, masked; at line {}: {wanted}", at + 1),
        &shown,
        hint,
    )
}

// ---------------------------------------------------------------------------
// Step 5

fn lines_of_strace(context: &Context) -> Outcome {
    let file = file_to_read(context);
    let judge = strace(context, &[], &["cat", &file])?;
    let run = traced(context, &["cat", &file])?;
    let hint = if run.stderr.contains("(...)") {
        "arguments shown as `...`: decode each one as strace does, reading strings \
         from the program's memory"
    } else {
        "from the line that opens the file on, each line must be strace's"
    };
    let from = format!("\"{file}\"");
    same_lines(
        &run,
        &masked_calls_from(&judge, &from),
        &masked_calls_from(&run.stderr, &from),
        hint,
    )
}

fn trace_only_listed(context: &Context) -> Outcome {
    let file = file_to_read(context);
    let run = traced(context, &["-e", "trace=openat,read", "cat", &file])?;
    let names: Vec<String> = calls(&run.stderr).into_iter().map(|c| c.name).collect();
    let only = names.iter().all(|n| n == "openat" || n == "read");
    let both = names.iter().any(|n| n == "openat") && names.iter().any(|n| n == "read");
    expect(
        only && both,
        &run,
        "openat and read lines, and no others",
        &run.stderr,
        "-e trace=openat,read shows the listed calls only (and -e trace=!mmap all but mmap)",
    )
}

fn trace_all_but_listed(context: &Context) -> Outcome {
    let file = file_to_read(context);
    let run = traced(context, &["-e", "trace=!mmap,openat", "cat", &file])?;
    let names: Vec<String> = calls(&run.stderr).into_iter().map(|c| c.name).collect();
    let none_listed = !names.iter().any(|n| n == "mmap" || n == "openat");
    // cat reads its file: a read line shows that the others are still there.
    let others_shown = names.iter().any(|n| n == "read");
    expect(
        none_listed && others_shown,
        &run,
        "every call but mmap and openat: read lines, and no mmap or openat line",
        &run.stderr,
        "a ! before the list turns it round: -e trace=!mmap,openat shows every call but those",
    )
}

fn trace_to_file(context: &Context) -> Outcome {
    let file = file_to_read(context);
    let out = context
        .scratch
        .join("trace.txt")
        .to_string_lossy()
        .into_owned();
    let run = traced(context, &["-o", &out, "cat", &file])?;
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    let in_file = calls(&written)
        .iter()
        .any(|c| c.line.contains(&format!("\"{file}\"")));
    expect(
        in_file && calls(&run.stderr).is_empty() && run.stdout == "hello\n",
        &run,
        format!("the trace in {out}, none of it on stderr, and cat's \"hello\" on stdout"),
        &format!("{}{out}:\n{written}", streams(&run)),
        "-o FILE writes the trace lines to FILE instead of stderr",
    )
}

fn strings_cut_at_s(context: &Context) -> Outcome {
    let run = traced(context, &["-s", "4", "-e", "trace=write", "echo", "hello"])?;
    let squeezed = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let wanted = "write(1, \"hell\"..., 6) = 6";
    let found = calls(&run.stderr)
        .iter()
        .any(|c| squeezed(&c.line) == wanted);
    expect(
        found,
        &run,
        wanted,
        &run.stderr,
        "-s N shows at most N bytes of a string, then `...` after its closing quote",
    )
}

// ---------------------------------------------------------------------------
// Step 6

fn real_sigtrap(context: &Context) -> Outcome {
    let run = traced(context, &[&context.tracee, "trap"])?;
    let shown = run
        .stderr
        .lines()
        .any(|l| l.starts_with("--- SIGTRAP {si_signo=SIGTRAP"));
    expect(
        shown && run.stdout.contains("handled SIGTRAP"),
        &run,
        "a line --- SIGTRAP {si_signo=SIGTRAP, …} ---, and \"handled SIGTRAP\" on stdout",
        &streams(&run),
        "a real SIGTRAP was taken for a syscall stop: with PTRACE_O_TRACESYSGOOD a \
         syscall stop is SIGTRAP|0x80, and any other stop is a signal, shown and passed on",
    )
}

fn exec_followed(context: &Context) -> Outcome {
    let command = ["sh", "-c", "exec /bin/echo ok"];
    let judge = strace(context, &[], &command)?;
    let run = traced(context, &command)?;
    let from = "execve(\"/bin/echo\"";
    let hint = "the extra SIGTRAP after a successful execve is not a syscall stop: \
                PTRACE_O_TRACEEXEC makes it an event of its own";
    same_lines(
        &run,
        &masked_calls_from(&judge, from),
        &masked_calls_from(&run.stderr, from),
        hint,
    )
}

/// The `--- SIG… ---` lines of a trace, masked.
fn signal_lines(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter(|l| l.starts_with("--- SIG"))
        .map(mask)
        .collect()
}

fn signals_shown(context: &Context) -> Outcome {
    let judge = strace(context, &[], &[&context.tracee, "signals"])?;
    let run = traced(context, &[&context.tracee, "signals"])?;
    same_lines(
        &run,
        &signal_lines(&judge),
        &signal_lines(&run.stderr),
        "show each signal stop as strace does, from PTRACE_GETSIGINFO, then pass it on",
    )
}

fn stopped_awhile(context: &Context) -> Outcome {
    let run = traced(context, &[&context.tracee, "stopped-awhile"])?;
    expect(
        run.stdout.contains("resumed") && run.status.code() == Some(0),
        &run,
        "\"resumed\" on stdout, once a grandchild's SIGCONT comes, and exit status 0",
        &streams(&run),
        "a group-stop must not be resumed by the tracer: PTRACE_LISTEN keeps it stopped",
    )
}

fn dies_of_the_same_signal(context: &Context) -> Outcome {
    let run = traced(context, &["sh", "-c", "kill -TERM $$"])?;
    expect(
        run.status.signal() == Some(libc::SIGTERM),
        &run,
        "the tracer killed by signal 15, SIGTERM, as its program was",
        &crate::run::ending(&run.status),
        "when the program dies of a signal, restore that signal's default action and \
         send it to yourself",
    )
}

fn execve_first(context: &Context) -> Outcome {
    let judge = strace(context, &[], &["true"])?;
    let run = traced(context, &["true"])?;
    let first = |trace: &str| {
        calls(trace)
            .first()
            .map(|c| mask(&c.line))
            .unwrap_or_default()
    };
    let expected = first(&judge);
    let seen = first(&run.stderr);
    expect(
        seen == expected,
        &run,
        format!("the first line: {expected}"),
        &run.stderr,
        "seize the child before its execve (PTRACE_SEIZE, then PTRACE_INTERRUPT) to see \
         execve's entry, with its arguments",
    )
}

fn other_abi_named(context: &Context) -> Outcome {
    let run = traced(context, &[&context.tracee, "int80-write"])?;
    // Named and its result read; its arguments as the tracer can (strace
    // decodes them, step 6 shows them raw).
    let named = calls(&run.stderr)
        .iter()
        .any(|c| c.name == "write" && c.number() == Some(9));
    let seen: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.contains("32 bit"))
        .collect();
    expect(
        named,
        &run,
        "the 32-bit call named write, with its result: write(1, \"int 0x80\\n\", 9) = 9",
        &seen.join("\n"),
        "`int $0x80` makes a 32-bit call, where 4 is write, not stat: \
         PTRACE_GET_SYSCALL_INFO says which ABI, and the name comes from its table",
    )
}

fn counts_as_strace(context: &Context) -> Outcome {
    crate::talk::counts_equal_strace_c(context)
}

// ---------------------------------------------------------------------------
// Step 7

/// How many `name` calls a `-f` trace shows whole: a call cut in two by
/// another thread's line, `name(… <unfinished ...>` then
/// `<... name resumed>…`, counts once, at its end.
fn completed(trace: &str, name: &str) -> usize {
    let resumed = format!("<... {name} resumed>");
    let whole =
        |line: &str| line.starts_with(&format!("{name}(")) && !line.contains("<unfinished ...>");
    let lines = trace.lines().map(crate::lines::without_pid);
    lines
        .filter(|l| whole(l) || l.starts_with(&resumed))
        .count()
}

fn follows_threads(context: &Context) -> Outcome {
    let run = traced(context, &["-f", &context.tracee, "threads", "3"])?;
    let getppids = completed(&run.stderr, "getppid");
    expect(
        getppids == 30 && run.stdout.lines().count() == 3,
        &run,
        "30 getppid calls (10 in each of 3 threads), each whole or cut as strace cuts it: \
         `getppid( <unfinished ...>`, then `<... getppid resumed>) = N`",
        &format!("{getppids} getppid calls\n{}", run.stderr),
        "PTRACE_O_TRACECLONE follows threads; a call that another thread's line cuts in \
         two ends with <unfinished ...>, and is resumed on a line of its own",
    )
}

fn follows_forks(context: &Context) -> Outcome {
    let run = traced(context, &["-f", &context.tracee, "forks", "3"])?;
    let getppids = calls(&run.stderr)
        .iter()
        .filter(|c| c.name == "getppid")
        .count();
    let prefixed = run.stderr.lines().any(|l| l.starts_with("[pid "));
    expect(
        getppids == 30 && prefixed && run.stdout == "child 0\nchild 1\nchild 2\n",
        &run,
        "30 getppid lines (10 in each of 3 children), [pid N] prefixes, the children's lines on stdout",
        &format!("{getppids} getppid lines\n{}", streams(&run)),
        "with -f, PTRACE_O_TRACEFORK, TRACEVFORK and TRACECLONE trace every child, and one \
         waitpid(-1, __WALL) loop sees them all",
    )
}

fn counts_every_process(context: &Context) -> Outcome {
    let command = [context.tracee.as_str(), "forks", "3"];
    let judge = strace(context, &["-f", "-c"], &command)?;
    let run = traced(context, &[&["-f", "-c"], &command[..]].concat())?;
    let getppid = |text: &str| {
        table(text)
            .into_iter()
            .find(|(name, _, _)| name == "getppid")
    };
    expect(
        getppid(&run.stderr).is_some() && getppid(&run.stderr) == getppid(&judge),
        &run,
        format!("the getppid row of strace -f -c: {:?}", getppid(&judge)),
        &run.stderr,
        "with -f -c, every thread's calls count in the one table",
    )
}

fn attach_and_detach(context: &Context) -> Outcome {
    let count_file = context.scratch.join("count.txt");
    let mut looping = std::process::Command::new(&context.tracee)
        .args(["loop", &count_file.to_string_lossy()])
        .spawn()
        .map_err(|e| Problem::Skip(format!("cannot start the tracee: {e}")))?;
    let pid = looping.id().to_string();
    std::thread::sleep(Duration::from_millis(200));
    let run = start(&context.program, &["-p", &pid], |tracer| {
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: a signal to the tracer that this check started.
        unsafe { libc::kill(tracer as i32, libc::SIGINT) };
    });
    let count = || std::fs::read_to_string(&count_file).unwrap_or_default();
    let before = count();
    std::thread::sleep(Duration::from_millis(200));
    let still_counting = count() != before;
    let _ = looping.kill();
    let _ = looping.wait();
    let run = run?;
    expect(
        still_counting && calls(&run.stderr).iter().any(|c| c.name == "write"),
        &run,
        format!("the running program's calls traced, then, after SIGINT, pid {pid} running on"),
        &format!(
            "count before: {before:?}, after 0.2 s: {:?}\n{}",
            count(),
            run.stderr
        ),
        "attach to every thread (PTRACE_SEIZE, PTRACE_INTERRUPT); on SIGINT, interrupt the \
         running ones and PTRACE_DETACH each",
    )
}

fn no_such_pid(context: &Context) -> Outcome {
    let run = traced(context, &["-p", "999999999"])?;
    expect(
        run.status.code().is_some_and(|c| c != 0) && run.stderr.lines().count() == 1,
        &run,
        "one line on stderr that says there is no such process, and a non-zero exit",
        &format!("{}{}", streams(&run), crate::run::ending(&run.status)),
        "check the pid before you attach, and say in one line what is wrong",
    )
}

// ---------------------------------------------------------------------------
// Step 8

fn deny_fails_with_eperm(context: &Context) -> Outcome {
    let run = traced(context, &["--deny", "mkdir", &context.tracee, "mixed"])?;
    let mkdirs: Vec<String> = calls(&run.stderr)
        .into_iter()
        .filter(|c| c.name == "mkdir")
        .map(|c| c.line)
        .collect();
    let denied = mkdirs
        .iter()
        .any(|l| l.ends_with("= -1 EPERM (Operation not permitted)"));
    // No mkdir line at all: what the program wrote says more.
    let seen = match mkdirs.is_empty() {
        true => streams(&run),
        false => mkdirs.join("\n"),
    };
    expect(
        denied,
        &run,
        "mkdir(\"/\", 0755) = -1 EPERM (Operation not permitted)",
        &seen,
        "install, in the child before its execve, a filter whose action for the denied \
         calls is SECCOMP_RET_ERRNO | EPERM",
    )
}

fn profile_of_cat(context: &Context) -> Result<(Run, String, String), Problem> {
    let file = file_to_read(context);
    let profile = context
        .scratch
        .join("cat.json")
        .to_string_lossy()
        .into_owned();
    let run = traced(context, &["--profile", &profile, "cat", &file])?;
    let written = std::fs::read_to_string(&profile).unwrap_or_default();
    Ok((run, profile, written))
}

fn writes_profile(context: &Context) -> Outcome {
    let (run, profile, written) = profile_of_cat(context)?;
    let has = |word: &str| written.contains(&format!("\"{word}\""));
    let complete = [
        "defaultAction",
        "syscalls",
        "names",
        "openat",
        "read",
        "execve",
    ]
    .iter()
    .all(|w| has(w));
    expect(
        complete && run.stdout == "hello\n",
        &run,
        format!("{profile}: defaultAction, and syscalls whose names hold openat, read and execve"),
        &written,
        "write every call the program made, in Docker's format: {\"defaultAction\": …, \
         \"syscalls\": [{\"names\": [...], \"action\": \"SCMP_ACT_ALLOW\"}]}",
    )
}

fn runs_sandboxed(context: &Context) -> Outcome {
    let (_, profile, _) = profile_of_cat(context)?;
    let file = file_to_read(context);
    let run = traced(context, &["--sandbox", &profile, "cat", &file])?;
    expect(
        run.stdout == "hello\n" && run.status.code() == Some(0),
        &run,
        "cat's \"hello\", and exit status 0: the profile allows every call cat makes",
        &format!("{}{}", streams(&run), crate::run::ending(&run.status)),
        "read the profile, build one filter instruction per allowed call, install it \
         with PR_SET_NO_NEW_PRIVS and seccomp(2), then exec",
    )
}

// ---------------------------------------------------------------------------
// Steps 9 and 10

fn seccomp_bpf_lines(context: &Context) -> Outcome {
    let file = file_to_read(context);
    let options = ["-f", "--seccomp-bpf", "-e", "trace=openat"];
    let judge = strace(context, &options, &["cat", &file])?;
    let run = traced(context, &[&options[..], &["cat", &file]].concat())?;
    same_lines(
        &run,
        &masked_calls_from(&judge, "openat"),
        &masked_calls_from(&run.stderr, "openat"),
        "--seccomp-bpf installs a filter that returns SECCOMP_RET_TRACE for the traced \
         calls only; the tracer sees them as PTRACE_EVENT_SECCOMP stops",
    )
}

fn seccomp_bpf_needs_f(context: &Context) -> Outcome {
    let run = traced(context, &["--seccomp-bpf", "-e", "trace=openat", "true"])?;
    // strace's own words, after its name: `strace: --seccomp-bpf cannot …`.
    let refusal = "--seccomp-bpf cannot be used without -f/--follow-forks, disabling";
    let refused = run.stderr.lines().any(|l| l.ends_with(refusal));
    let traced_on = calls(&run.stderr).iter().any(|c| c.name == "openat");
    expect(
        refused && traced_on,
        &run,
        format!("strace's refusal, `PROGRAM: {refusal}`, then the openat lines"),
        &run.stderr,
        "without -f, a filter would be inherited by children that nobody traces: \
         say so as strace does, and trace without the filter",
    )
}

/// Step 10 loads BPF programs, which needs root (or CAP_BPF and CAP_PERFMON).
fn needs_bpf() -> Result<(), Problem> {
    // SAFETY: geteuid has no arguments and cannot fail.
    match unsafe { libc::geteuid() } {
        0 => Ok(()),
        _ => Err(Problem::Skip("needs BPF: run as root".to_string())),
    }
}

fn not_stopped(context: &Context) -> Outcome {
    needs_bpf()?;
    let run = traced(context, &["-c", "grep", "TracerPid", "/proc/self/status"])?;
    expect(
        run.stdout.trim_end().ends_with("\t0"),
        &run,
        "TracerPid: 0 on stdout: no tracer, no stop",
        &streams(&run),
        "the program is traced: count in the kernel, with eBPF programs on the syscall \
         tracepoints, instead of ptrace",
    )
}

fn counts_in_kernel(context: &Context) -> Outcome {
    needs_bpf()?;
    crate::talk::counts_equal_strace_c(context)
}
