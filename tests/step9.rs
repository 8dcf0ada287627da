//! Step 9: `--seccomp-bpf`. The same lines as step 7's and strace's with the
//! same `-e trace=`, on programs that exec, fail, fork and run threads; the
//! stops we do not need are gone (counted in the tracer's own `wait4`
//! calls, not timed); without `-f`, strace's refusal, and tracing as before.
//! Every run has a time limit: a tracer that hangs fails the test.

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Stdio};

/// What `-e` selects in these tests: calls that every program makes, and
/// `execve`, `exit_group`, the first and the last.
const SELECTED: &str = "trace=execve,openat,read,close,newfstatat,exit_group";

/// The syscall lines that a tracer writes to stderr, masked.
fn call_lines(trace: &str) -> Vec<String> {
    let lines = trace.lines().filter(|line| parse_call(line).is_some());
    lines.map(mask_line).collect()
}

fn traced_by(tracer: &str, options: &[&str], command: &[&str]) -> String {
    let output = run_within(HANG, tracer, &[options, command].concat());
    assert!(output.status.code().is_some(), "{output:?}");
    stderr(&output)
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step9_lines_equal_step7_and_strace_lines() {
    let (dir, file) = file_to_read("step9-compare", "pear\napple\n");
    let file = file.as_str();
    let tracee = binary("tracee");
    let commands: [&[&str]; 7] = [
        &["true"],
        &[tracee, "mixed"],
        &["cat", file],
        &["sort", file],
        &["echo", "hello"],
        &["sh", "-c", "exec echo hello"],
        &["cat", "/nonexistent"],
    ];
    for command in commands {
        let ours = traced_by(
            binary("step9"),
            &["-f", "--seccomp-bpf", "-e", SELECTED],
            command,
        );
        let step7 = traced_by(binary("step7"), &["-f", "-e", SELECTED], command);
        let strace = traced_by("strace", &["-f", "--seccomp-bpf", "-e", SELECTED], command);
        assert!(call_lines(&ours).len() > 3, "{command:?}: {ours}");
        assert_eq!(call_lines(&ours), call_lines(&step7), "{command:?}");
        assert_eq!(call_lines(&ours), call_lines(&strace), "{command:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step9_shows_another_abis_calls_as_strace_does() {
    // The filter cannot judge a 32-bit call by its number: it stops it for
    // the tracer, which shows it. The return to 64-bit mode goes unseen, as
    // under strace --seccomp-bpf: no stop of the program's next calls.
    let command = [binary("tracee"), "int80-write"];
    let options = ["-f", "--seccomp-bpf", "-e", "trace=write"];
    let ours = traced_by(binary("step9"), &options, &command);
    let strace = traced_by("strace", &options, &command);
    assert!(ours.contains("runs in 32 bit mode"), "{ours}");
    // The lines around the call as strace's; the call as step 7 shows it
    // (raw: steps 5 to 7 decode x86_64's table only).
    let around = |trace: &str| {
        let lines = trace.lines().filter(|line| parse_call(line).is_none());
        lines.map(mask_line).collect::<Vec<_>>()
    };
    assert_eq!(around(&ours), around(&strace));
    let step7 = traced_by(binary("step7"), &["-f", "-e", "trace=write"], &command);
    assert_eq!(call_lines(&ours), call_lines(&step7));
    assert_eq!(call_lines(&ours).len(), 1, "{ours}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step9_counts_equal_step7_and_strace_on_forks_and_threads() {
    let tracee = binary("tracee");
    for command in [[tracee, "forks", "3"], [tracee, "threads", "3"]] {
        let options = ["-f", "-c", "-e", "trace=getppid,write,exit_group"];
        let ours = summary_counts(&traced_by(
            binary("step9"),
            &[&["--seccomp-bpf"][..], &options].concat(),
            &command,
        ));
        let step7 = summary_counts(&traced_by(binary("step7"), &options, &command));
        let strace = summary_counts(&run_strace(
            &[&["--seccomp-bpf"][..], &options].concat(),
            &command,
        ));
        assert_eq!(ours.get("getppid"), Some(&(30, 0)), "{command:?}: {ours:?}");
        assert_eq!(ours, step7, "{command:?}");
        assert_eq!(ours, strace, "{command:?}");
    }
}

/// How many times `tracer` calls `wait4` to trace `dd` making `count`
/// one-byte reads and writes, with `-e trace=openat`: one per stop, give or
/// take a few.
fn waits_of(tracer_options: &[&str], count: usize) -> u64 {
    let count = format!("count={count}");
    let dd = [
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=1",
        &count,
        "status=none",
    ];
    // strace's table goes to stderr; dd and the tracer's trace, to files.
    // Under a time limit: a tracer that hangs fails the test.
    let tracer = [
        tracer_options,
        &["-o", "/dev/null", "-e", "trace=openat"][..],
    ]
    .concat();
    let output = run_within(
        HANG,
        "strace",
        &[&["-c", "-e", "trace=wait4"][..], &tracer, &dd].concat(),
    );
    summary_counts(&stderr(&output))
        .get("wait4")
        .map_or(0, |&(calls, _)| calls)
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn the_filter_removes_the_stops_we_do_not_need() {
    // 8,000 more of dd's syscalls: step 7 stops at each, twice, and waits
    // for each stop; step 9 stops only at the openat calls, as many in both
    // runs.
    let step7 = waits_of(&[binary("step7"), "-f"], 5000) - waits_of(&[binary("step7"), "-f"], 1000);
    assert!(step7 >= 16_000, "step 7 waited {step7} times more");
    let step9 =
        [1000, 5000].map(|count| waits_of(&[binary("step9"), "-f", "--seccomp-bpf"], count));
    assert_eq!(step9[0], step9[1], "step 9 waited {step9:?} times");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn without_f_it_says_what_strace_says_and_traces_as_before() {
    let command = ["echo", "hello"];
    let ours = run_within(
        HANG,
        binary("step9"),
        &[&["--seccomp-bpf", "-e", "trace=write"][..], &command].concat(),
    );
    let strace = Command::new("strace")
        .args(["--seccomp-bpf", "-e", "trace=write"])
        .args(command)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = |trace: &str| trace.lines().next().unwrap_or("").to_string();
    let ours_said = said(&stderr(&ours));
    assert_eq!(
        ours_said,
        "step9: --seccomp-bpf cannot be used without -f/--follow-forks, disabling"
    );
    assert_eq!(
        ours_said.replace("step9:", "strace:"),
        said(&stderr(&strace))
    );
    assert_eq!(stdout(&ours), "hello\n");
    assert_eq!(call_lines(&stderr(&ours)), call_lines(&stderr(&strace)));
}

#[test]
fn seccomp_bpf_with_deny_sandbox_or_profile_is_a_usage_error() {
    // --profile would record only the calls the filter stops at: a profile
    // that lets nothing else run.
    let profile = scratch_file("profile.json");
    let profile = profile.to_str().unwrap();
    let bad_pairs: [&[&str]; 3] = [
        &["--deny", "openat"],
        &["--sandbox", ALLOW_EVERYTHING],
        &["--profile", profile, "-e", "trace=openat"],
    ];
    for pair in bad_pairs {
        let args = [&["--seccomp-bpf"], pair, &["true"]].concat();
        let output = run_within(HANG, binary("step9"), &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains("--seccomp-bpf goes with none of --deny, --sandbox and"),
            "{output:?}"
        );
    }
    assert!(!std::path::Path::new(profile).exists());
}

#[test]
fn with_the_filter_the_contracts_still_hold() {
    use std::os::unix::process::ExitStatusExt;
    let step9 = |command: &[&str]| {
        let options = ["-f", "--seccomp-bpf", "-e", "trace=write"];
        run_within(HANG, binary("step9"), &[&options[..], command].concat())
    };
    // The exit status, and death by a signal, passed on.
    assert_eq!(step9(&["sh", "-c", "exit 7"]).status.code(), Some(7));
    let killed = step9(&["sh", "-c", "kill -TERM $$"]);
    assert_eq!(killed.status.signal(), Some(libc::SIGTERM), "{killed:?}");
    // The program's output is its own, threads and children included.
    let tracee = binary("tracee");
    for command in [[tracee, "threads", "3"], [tracee, "forks", "3"]] {
        let untraced = run(tracee, &command[1..]);
        let traced = step9(&command);
        // Threads write in the order they run, traced or not: sorted.
        let sorted = |output: &std::process::Output| {
            let mut lines: Vec<String> = stdout(output).lines().map(String::from).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted(&traced), sorted(&untraced), "{command:?}");
        assert_eq!(traced.status.code(), untraced.status.code());
    }
    // A signal the program handles still reaches it, and its handler runs.
    let signals = step9(&[tracee, "signals"]);
    assert_eq!(stdout(&signals), stdout(&run(tracee, &["signals"])));
}

#[test]
fn a_trace_filter_without_its_tracer_fails_the_call_with_enosys() {
    // Chapter 9: a filter that stops at uname (or openat) for the tracer.
    let tracee = binary("tracee");
    let filtered = |name: &'static str, command: &[&'static str]| {
        [&[tracee, "seccomp-trace", name][..], command].concat()
    };
    // No tracer: the call fails with ENOSYS.
    let uname = filtered("uname", &["uname", "-s"]);
    let alone = run(uname[0], &uname[1..]);
    assert_eq!(alone.status.code(), Some(1), "{alone:?}");
    assert_eq!(
        stderr(&alone),
        "uname: cannot get system name: Function not implemented\n"
    );
    // A tracer that did not ask for seccomp stops: the same.
    let step7 = run_binary(
        "step7",
        &[&["-f", "-e", "trace=uname"][..], &uname].concat(),
    );
    assert_eq!(step7.status.code(), Some(1), "{step7:?}");
    let failed = stderr(&step7).lines().any(|line| {
        line.starts_with("uname(") && line.ends_with("= -1 ENOSYS (Function not implemented)")
    });
    assert!(failed, "{step7:?}");
    // Step 9, which did: the call is made.
    let options = ["-f", "--seccomp-bpf", "-e", "trace=uname"];
    let step9 = run_binary("step9", &[&options[..], &uname].concat());
    assert!(step9.status.success(), "{step9:?}");
    assert_eq!(stdout(&step9), "Linux\n");
    // Exercise 2: the dynamic loader's first openat, with no tracer.
    let cat = filtered("openat", &["cat", "/etc/hostname"]);
    let alone = run(cat[0], &cat[1..]);
    assert_eq!(alone.status.code(), Some(127), "{alone:?}");
    assert_eq!(
        stderr(&alone),
        "cat: error while loading shared libraries: libc.so.6: cannot open shared object \
         file: Error 38\n"
    );
    let options = ["-f", "--seccomp-bpf", "-e", "trace=openat"];
    let step9 = run_binary("step9", &[&options[..], &cat].concat());
    assert!(step9.status.success(), "{step9:?}");
    assert_eq!(stdout(&step9), read(Path::new("/etc/hostname")));
}
