//! What every tracing step (2, 3, 4) promises, whatever it adds: the traced
//! program runs as it would untraced, its exit status is passed on, and bad
//! input gets one clear line, a non-zero exit, and no process left behind.

mod common;
use common::*;

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

/// Whether any process on the machine runs with exactly these arguments.
fn is_running(args: &[&str]) -> bool {
    let wanted: Vec<u8> = args
        .iter()
        .flat_map(|arg| [arg.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
        .any(|cmdline| cmdline == wanted)
}
