//! What every tracing step (2 to 9) promises, whatever it adds: the traced
//! program runs as it would untraced, its exit status is passed on, and bad
//! input gets one clear line, a non-zero exit, and no process left behind.
//! Step 10, which counts without ptrace, keeps the promises about the program
//! and its output (see `runners`); the rest are about ptrace.

mod common;
use common::*;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::os::unix::process::{CommandExt, ExitStatusExt};

/// A script that prints what a program inherits from whoever starts it:
/// its arguments, environment, open file descriptors, and which signals are
/// ignored (SigIgn) and blocked (SigBlk).
const SHOW_INHERITANCE: &str = r#"echo "args: $0 $*"; env | sort; ls /proc/self/fd; grep -E '^Sig(Ign|Blk)' /proc/self/status"#;

/// The steps that end the way strace does when a signal kills the program:
/// they die of the same signal. The others exit with 128 + N.
const DIE_OF_THE_PROGRAMS_SIGNAL: [&str; 4] = ["step6", "step7", "step8", "step9"];

/// How each step that runs a program for us is started, as the words before
/// the program's: the tracing steps, and step 10, which only counts (`-c`).
/// Step 10 needs BPF: where it is not allowed, it is left out here, and
/// `step10_keeps_the_contracts_of_a_runner` shows as ignored.
fn runners() -> Vec<Vec<&'static str>> {
    let tracers = TRACING_STEPS.iter().map(|step| vec![binary(step)]);
    let counter = cfg!(not(no_bpf)).then(|| vec![binary("step10"), "-c"]);
    tracers.chain(counter).collect()
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_keeps_the_contracts_of_a_runner() {
    let counter = [binary("step10"), "-c"];
    assert!(runners().contains(&counter.to_vec()), "step 10 left out");
}

#[test]
fn traced_program_inherits_what_it_would_untraced() {
    let command = ["sh", "-c", SHOW_INHERITANCE, "zero", "one", "two words"];
    // Started as usual, and by a starter that ignores SIGPIPE and closes
    // stdin: the program must get that too, not what Rust's start-up would
    // have made of it (SIGPIPE ignored, /dev/null on a closed descriptor).
    let unusual_starter = [
        "sh",
        "-c",
        r#"trap "" PIPE; exec <&-; exec "$@""#,
        "starter",
    ];
    for starter in [&[][..], &unusual_starter[..]] {
        let untraced = [starter, &command].concat();
        let expected = run(untraced[0], &untraced[1..]);
        assert!(expected.status.success(), "{expected:?}");
        for runner in runners() {
            let traced = [starter, &runner, &command].concat();
            let output = run(traced[0], &traced[1..]);
            assert_eq!(stdout(&output), stdout(&expected), "{runner:?} {starter:?}");
        }
    }
}

#[test]
fn a_program_that_runs_another_program_runs_as_it_would_untraced() {
    // After each successful execve of the program's own (here one, with
    // execve or with fexecve's execveat), the kernel stops a traced process
    // with a SIGTRAP that no tracer may pass on.
    let fexecve = [
        binary("tracee"),
        "fexecve",
        "/bin/sh",
        "-c",
        "echo ok; exit 3",
    ];
    let commands: [&[&str]; 3] = [
        &["sh", "-c", "exec sh -c 'echo ok; exit 3'"],
        &["env", "sh", "-c", "echo ok; exit 3"],
        &fexecve,
    ];
    for command in commands {
        for runner in runners() {
            let traced = [&runner, command].concat();
            let output = run(traced[0], &traced[1..]);
            assert_eq!(stdout(&output), "ok\n", "{traced:?}: {output:?}");
            assert_eq!(output.status.code(), Some(3), "{traced:?}: {output:?}");
        }
    }
}

#[test]
fn a_program_started_with_sigtrap_blocked_is_traced_and_keeps_its_mask() {
    // A blocked SIGTRAP never stops the child after its execve: the kernel
    // keeps it pending. The program must be traced all the same, and start
    // with the mask it inherited.
    let show_mask = ["grep", "SigBlk", "/proc/self/status"];
    let untraced = run_binary("tracee", &[&["sigtrap-blocked"], &show_mask[..]].concat());
    assert_eq!(stdout(&untraced), "SigBlk:\t0000000000000010\n");
    for step in TRACING_STEPS {
        let traced = [&["sigtrap-blocked", binary(step)], &show_mask[..]].concat();
        let output = run_binary("tracee", &traced);
        assert_eq!(stdout(&output), stdout(&untraced), "{step}: {output:?}");
        assert_eq!(output.status.code(), Some(0), "{step}: {output:?}");
        let trace = stderr(&output);
        let end = [
            "+++ exited with 0 +++\n",
            "step2: child exited with status 0\n",
        ];
        assert!(
            end.iter().any(|end| trace.ends_with(end)),
            "{step}: {trace}"
        );
    }
}

#[test]
fn double_dash_ends_the_options() {
    // As for strace: `stepN -- COMMAND`, where COMMAND may start with a dash.
    for runner in runners() {
        let command = [&runner[..], &["--", "sh", "-c", "exit 3"]].concat();
        let output = run(command[0], &command[1..]);
        assert_eq!(output.status.code(), Some(3), "{runner:?}: {output:?}");
    }
}

#[test]
fn a_closed_stdout_stays_closed() {
    // Untraced, echo finds no stdout, says so, and fails.
    let script = r#""$@" /bin/echo hi >&-"#;
    let untraced = run_shell("sh", script, &[]);
    assert_eq!(untraced.status.code(), Some(1));
    assert!(stderr(&untraced).contains("Bad file descriptor"));
    for runner in runners() {
        let traced = run_shell("sh", script, &runner);
        assert_eq!(traced.status.code(), Some(1), "{runner:?}");
        assert!(
            stderr(&traced).contains("Bad file descriptor"),
            "{runner:?}"
        );
    }
}

#[test]
fn traced_program_dies_of_sigpipe_as_it_would_untraced() {
    // Rust ignores SIGPIPE in the tracer; the traced `yes` must not inherit
    // that, or it would get EPIPE and go on instead of dying of SIGPIPE
    // (status 128 + 13 = 141) when `head` stops reading.
    let script = r#""$@" yes | head -n 1; echo ${PIPESTATUS[0]}"#;
    let untraced = run_shell("bash", script, &[]);
    assert_eq!(stdout(&untraced), "y\n141\n");
    for runner in runners() {
        let traced = run_shell("bash", script, &runner);
        assert_eq!(stdout(&traced), stdout(&untraced), "{runner:?}");
    }
}

#[test]
fn tracer_exits_with_the_program_status() {
    for runner in runners() {
        let output = run(runner[0], &[&runner[1..], &["sh", "-c", "exit 7"]].concat());
        assert_eq!(output.status.code(), Some(7), "{runner:?}");
        let output = run(
            runner[0],
            &[&runner[1..], &["sh", "-c", "kill -TERM $$"]].concat(),
        );
        if DIE_OF_THE_PROGRAMS_SIGNAL.map(binary).contains(&runner[0]) {
            // As strace does: the tracer dies of the signal that killed the program.
            assert_eq!(output.status.signal(), Some(libc::SIGTERM), "{runner:?}");
        } else {
            // Killed by SIGTERM (15): the shell's convention, 128 + 15.
            assert_eq!(output.status.code(), Some(143), "{runner:?}");
        }
    }
}

/// The status of `tracer sleep MARKER` whose stderr, where the trace goes, is
/// a pipe that nobody reads any more: `stepN ls 2>&1 | head` once `head`
/// has gone. A pipe whose reading end is already closed makes that happen at
/// the first line, every time.
fn status_without_reader(tracer: &str) -> std::process::ExitStatus {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(tracer)
        .args(["sleep", SIGPIPE_MARKER])
        .stderr(writer)
        .status()
        .unwrap()
}

const SIGPIPE_MARKER: &str = "16.1803";

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn strace_dies_of_sigpipe_when_nobody_reads_its_trace() {
    let strace = status_without_reader("strace");
    assert_eq!(strace.signal(), Some(libc::SIGPIPE), "strace: {strace}");
}

#[test]
fn tracer_dies_of_sigpipe_like_strace_when_nobody_reads_its_trace() {
    for step in TRACING_STEPS {
        let status = status_without_reader(binary(step));
        assert_eq!(status.signal(), Some(libc::SIGPIPE), "{step}: {status}");
        assert!(
            eventually(|| !is_running(&["sleep", SIGPIPE_MARKER])),
            "{step} left the traced program running"
        );
    }
}

#[test]
fn a_trace_that_cannot_be_written_never_stops_the_program() {
    // /dev/full fails every write with ENOSPC, as a full disk would.
    let dir = scratch_dir("full-stderr");
    let runs = runners().into_iter().chain(
        ["step4", "step5", "step6", "step7", "step8", "step9"].map(|step| vec![binary(step), "-c"]),
    );
    for (i, tracer) in runs.enumerate() {
        let file = dir.join(i.to_string());
        let full = std::fs::File::create("/dev/full").unwrap();
        let status = std::process::Command::new(tracer[0])
            .args(&tracer[1..])
            .args(["sh", "-c", "touch \"$0\"; exit 5"])
            .arg(&file)
            .stderr(full)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(5), "{tracer:?}");
        assert!(file.exists(), "{tracer:?} stopped the program");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn a_trace_file_that_cannot_be_written_is_said_once_and_tracing_goes_on() {
    // strace says it (at every line); a step says it once, and the program
    // runs as it would untraced.
    let command = [binary("tracee"), "mixed"];
    let strace = run("strace", &[&["-o", "/dev/full"], &command[..]].concat());
    let said = "strace: /dev/full: No space left on device\n";
    assert!(stderr(&strace).matches(said).count() > 1, "{strace:?}");
    for step in ["step5", "step6", "step7", "step8", "step9"] {
        for count in [&[][..], &["-c"]] {
            let args = [&["-o", "/dev/full"], count, &command[..]].concat();
            let output = run_binary(step, &args);
            assert_eq!(output.status.code(), Some(0), "{step} {count:?}");
            assert_eq!(stdout(&output), "mixed: begin\nmixed: done\n");
            assert_eq!(
                stderr(&output),
                format!(
                    "{step}: cannot write to /dev/full: No space left on device (os error 28); \
                     the trace misses lines\n"
                ),
                "{step} {count:?}"
            );
        }
    }
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn every_trace_line_is_one_write() {
    // Trace the tracer: strace sees each write(2) the step makes to its
    // stderr, and there must be exactly one per line of the step's output.
    for runner in runners() {
        let command = [&runner[..], &["/bin/true"]].concat();
        let lines = stderr(&run(command[0], &command[1..])).lines().count();
        let trace = run_strace(&["-e", "trace=write", "-e", "signal=none"], &command);
        let writes = trace.lines().filter(|l| l.starts_with("write(2, ")).count();
        assert_eq!(writes, lines, "{runner:?}:\n{trace}");
    }
}

#[test]
fn a_program_cannot_crash_its_tracer() {
    // Lengths of 2^62 in its registers, a signal with an si_code of i32::MIN:
    // the tracer reads them, shows them, and goes on, without a panic.
    let absurd = [binary("tracee"), "absurd-arguments"];
    for runner in runners() {
        let output = run_within(HANG, runner[0], &[&runner[1..], &absurd].concat());
        assert_eq!(output.status.code(), Some(0), "{runner:?}: {output:?}");
        assert_eq!(stdout(&output), "absurd-arguments: done\n", "{runner:?}");
        assert!(
            !stderr(&output).contains("panicked"),
            "{runner:?}: {output:?}"
        );
    }
}

#[test]
fn program_output_is_its_own() {
    for runner in runners() {
        let output = run(
            runner[0],
            &[&runner[1..], &["printf", "one\\ntwo\\n"]].concat(),
        );
        assert_eq!(stdout(&output), "one\ntwo\n", "{runner:?}");
    }
}

/// Runs a step that must refuse to go on, and returns its one line of error.
fn refusal(step: &str, args: &[&str], exit_code: i32) -> String {
    let output = run_binary(step, args);
    let message = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(exit_code),
        "{step} {args:?}: {message}"
    );
    assert_eq!(
        message.lines().count(),
        1,
        "{step} {args:?}: one line: {message}"
    );
    assert!(message.starts_with(&format!("{step}: ")), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    message
}

#[test]
fn no_command_is_a_usage_error() {
    for step in TRACING_STEPS {
        let message = refusal(step, &[], 2);
        assert!(message.contains("no command to trace; usage:"), "{message}");
    }
}

#[test]
fn unknown_option_is_a_usage_error() {
    for step in ["step4", "step5", "step6", "step7", "step8", "step9"] {
        let message = refusal(step, &["-x", "ls"], 2);
        assert!(message.contains("unknown option '-x'; usage:"), "{message}");
    }
}

#[test]
fn missing_command_is_named() {
    for step in TRACING_STEPS {
        let message = refusal(step, &["no-such-command-here"], 1);
        assert!(
            message.contains("cannot find 'no-such-command-here' in PATH"),
            "{message}"
        );
        let message = refusal(step, &["/etc/passwd"], 1);
        assert!(message.contains("cannot run '/etc/passwd'"), "{message}");
    }
}

#[test]
fn a_script_without_its_interpreter_is_explained() {
    for step in TRACING_STEPS {
        let message = refusal(step, &[NO_INTERPRETER], 1);
        assert!(
            message.contains("its interpreter, /no/such/interpreter (the #! line), does not exist"),
            "{message}"
        );
    }
}

#[test]
fn a_script_without_its_hash_bang_line_is_explained() {
    // execve fails with ENOEXEC: the file is no program, and names none.
    for step in TRACING_STEPS {
        let message = refusal(step, &[NO_HASH_BANG], 1);
        assert!(
            message.contains("it is not a program, and has no #! line to name what runs it"),
            "{message}"
        );
        assert!(!message.contains("built for another"), "{message}");
    }
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn a_tracer_traced_with_its_children_says_so() {
    // `strace -f` takes the step's child at birth, before the child can ask
    // its own parent to trace it: a process has only one tracer.
    for step in TRACING_STEPS {
        let output = run("strace", &["-f", "-o", "/dev/null", binary(step), "true"]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{step}: {message}");
        assert!(
            message.contains("this tracer is itself traced"),
            "{message}"
        );
        assert!(message.contains("without -f"), "{message}");
    }
}

#[test]
fn program_never_outlives_a_tracer_killed_as_it_starts() {
    // Kill the tracer at every moment of its start, from fork to the first
    // syscall of the program: with no instant at which neither
    // PR_SET_PDEATHSIG nor PTRACE_O_EXITKILL holds, the program never runs on.
    // (Before the window was closed, 1 try in 20 left it running.)
    let marker = "14.1421";
    for step in TRACING_STEPS {
        for try_number in 0..60u64 {
            let delay = std::time::Duration::from_micros(try_number * 25);
            let mut tracer = std::process::Command::new(binary(step))
                .args(["sleep", marker])
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            tracer.kill().unwrap();
            tracer.wait().unwrap();
            let gone = eventually(|| !is_running(&["sleep", marker]));
            if !gone {
                run("pkill", &["-KILL", "-f", &format!("^sleep {marker}$")]);
            }
            assert!(
                gone,
                "{step} killed after {delay:?} left the program running"
            );
        }
    }
}

#[test]
fn refused_ptrace_is_explained_and_leaves_nothing_behind() {
    // The tracee helper forbids ptrace with seccomp, as a container may.
    let marker = "31.4159";
    for step in TRACING_STEPS {
        let args = ["deny-ptrace", binary(step), "sleep", marker];
        let output = run_binary("tracee", &args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("refused ptrace"), "{message}");
        assert!(
            message.contains("appendix"),
            "points to the book: {message}"
        );
        assert!(
            !is_running(&["sleep", marker]),
            "{step} left a process behind"
        );
    }
}

#[test]
fn program_dies_with_its_tracer() {
    // Ctrl-C in a terminal sends SIGINT to the whole foreground process group;
    // a tracer killed with SIGKILL gets no chance to clean up at all. Either
    // way, the traced program must not run on without it.
    let marker = "27.1828";
    let ways = [
        ("Ctrl-C", Signal::SIGINT, true),
        ("kill -9", Signal::SIGKILL, false),
    ];
    for step in TRACING_STEPS {
        for (how, signal, whole_group) in ways {
            let mut tracer = std::process::Command::new(binary(step))
                .args(["sleep", marker])
                // Its own process group, as a shell gives a foreground job.
                .process_group(0)
                .spawn()
                .unwrap();
            // Asleep, the program is past the stop after its execve, where
            // the tracer set up what happens if it dies.
            let asleep = || process(&["sleep", marker]).is_some_and(|state| state == 'S');
            assert!(eventually(asleep), "{step}");
            let tracer_pid = Pid::from_raw(tracer.id() as i32);
            if whole_group {
                killpg(tracer_pid, signal).unwrap();
            } else {
                kill(tracer_pid, signal).unwrap();
            }
            tracer.wait().unwrap();
            let gone = eventually(|| !is_running(&["sleep", marker]));
            if !gone {
                run("pkill", &["-KILL", "-f", &format!("^sleep {marker}$")]);
            }
            assert!(gone, "{how} on {step} left the traced program running");
        }
    }
}
