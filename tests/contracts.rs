//! What every tracing step (2, 3, 4) promises, whatever it adds: the traced
//! program runs as it would untraced, its exit status is passed on, and bad
//! input gets one clear line, a non-zero exit, and no process left behind.

mod common;
use common::*;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::os::unix::process::{CommandExt, ExitStatusExt};

/// A script that prints what a program inherits from whoever starts it:
/// its arguments, environment, open file descriptors, and which signals are
/// ignored (SigIgn) and blocked (SigBlk).
const SHOW_INHERITANCE: &str = r#"echo "args: $0 $*"; env | sort; ls /proc/self/fd; grep -E '^Sig(Ign|Blk)' /proc/self/status"#;

#[test]
fn traced_program_inherits_what_it_would_untraced() {
    let command = ["sh", "-c", SHOW_INHERITANCE, "zero", "one", "two words"];
    let untraced = run(command[0], &command[1..]);
    assert!(untraced.status.success());
    for step in TRACING_STEPS {
        let traced = run_binary(step, &command);
        assert_eq!(stdout(&traced), stdout(&untraced), "{step}");
    }
}

#[test]
fn traced_program_dies_of_sigpipe_as_it_would_untraced() {
    // Rust ignores SIGPIPE in the tracer; the traced `yes` must not inherit
    // that, or it would get EPIPE and go on instead of dying of SIGPIPE
    // (status 128 + 13 = 141) when `head` stops reading.
    let untraced = run("bash", &["-c", "yes | head -n 1; echo ${PIPESTATUS[0]}"]);
    assert_eq!(stdout(&untraced), "y\n141\n");
    for step in TRACING_STEPS {
        let script = format!("{} yes | head -n 1; echo ${{PIPESTATUS[0]}}", binary(step));
        let traced = run("bash", &["-c", &script]);
        assert_eq!(stdout(&traced), stdout(&untraced), "{step}");
    }
}

#[test]
fn tracer_exits_with_the_program_status() {
    for step in TRACING_STEPS {
        let output = run_binary(step, &["sh", "-c", "exit 7"]);
        assert_eq!(output.status.code(), Some(7), "{step}");
        // Killed by SIGTERM (15): the shell's convention, 128 + 15.
        let output = run_binary(step, &["sh", "-c", "kill -TERM $$"]);
        assert_eq!(output.status.code(), Some(143), "{step}");
    }
}

#[test]
fn tracer_dies_of_sigpipe_like_strace_when_nobody_reads_its_trace() {
    // `stepN ls 2>&1 | head`: once `head` has gone, the next trace line has
    // nowhere to go. A pipe whose reading end is already closed makes that
    // happen at the first line, every time.
    let marker = "16.1803";
    let status_without_reader = |tracer: &str| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        std::process::Command::new(tracer)
            .args(["sleep", marker])
            .stderr(writer)
            .status()
            .unwrap()
    };
    if strace_available() {
        let strace = status_without_reader("strace");
        assert_eq!(strace.signal(), Some(libc::SIGPIPE), "strace: {strace}");
    }
    for step in TRACING_STEPS {
        let status = status_without_reader(binary(step));
        assert_eq!(status.signal(), Some(libc::SIGPIPE), "{step}: {status}");
        assert!(
            eventually(|| !is_running(&["sleep", marker])),
            "{step} left the traced program running"
        );
    }
}

#[test]
fn program_output_is_its_own() {
    for step in TRACING_STEPS {
        let output = run_binary(step, &["printf", "one\\ntwo\\n"]);
        assert_eq!(stdout(&output), "one\ntwo\n", "{step}");
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
    let message = refusal("step4", &["-x", "ls"], 2);
    assert!(message.contains("unknown option '-x'; usage:"), "{message}");
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

/// Whether `condition` becomes true within five seconds.
fn eventually(condition: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// Whether any process on the machine runs with exactly these arguments.
fn is_running(args: &[&str]) -> bool {
    process(args).is_some()
}

/// The state (`R`, `S`, `t`…, from /proc/PID/stat) of a process that runs
/// with exactly these arguments, if there is one.
fn process(args: &[&str]) -> Option<char> {
    let wanted: Vec<u8> = args
        .iter()
        .flat_map(|arg| [arg.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .find(|dir| std::fs::read(dir.join("cmdline")).is_ok_and(|cmdline| cmdline == wanted))
        .and_then(|dir| {
            // "PID (name) STATE …": the state follows the last ')'.
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            stat.rsplit_once(") ")?.1.chars().next()
        })
}
