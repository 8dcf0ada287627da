//! The judge: `step4 -c`, `step10 -c` and real `strace -c` on the same
//! commands must agree on every syscall's calls and errors (time differs, and
//! the book says why).

mod common;
use common::*;

fn assert_counts_match_strace(step: &str, command: &[&str]) {
    let ours = stderr(&run_binary(step, &[&["-c"], command].concat()));
    let theirs = run_strace(&["-c"], command);
    assert_eq!(
        summary_counts(&ours),
        summary_counts(&theirs),
        "{step} -c and strace -c disagree on {command:?}\n--- {step} -c:\n{ours}\n--- strace -c:\n{theirs}"
    );
}

/// The commands of step 4's comparison: single-process programs that run no
/// other program.
fn ordinary_commands() -> [Vec<&'static str>; 6] {
    let tracee = binary("tracee");
    [
        vec!["true"],
        vec!["ls", "-l", "/"],
        vec!["cat", "/nonexistent"],
        vec!["echo", "hello"],
        vec![tracee, "mixed"],
        vec![tracee, "getppid", "100"],
    ]
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step4_counts_match_strace() {
    for command in ordinary_commands() {
        assert_counts_match_strace("step4", &command);
    }
}

/// A shell script that sends itself a signal twice and handles it: each
/// signal adds an `rt_sigreturn`.
const HANDLED_SIGNALS: &str = r#"trap "echo caught" USR1; kill -USR1 $$; kill -USR1 $$"#;

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root (sudo -E cargo test), or with CAP_BPF and CAP_PERFMON"
)]
fn step10_counts_match_strace() {
    let tracee_in_a_child = format!("{} getppid 50; true", binary("tracee"));
    let more: [Vec<&str>; 5] = [
        // Programs that get signals: handled, and fatal.
        vec!["bash", "-c", HANDLED_SIGNALS],
        vec!["sh", "-c", "kill -TERM $$"],
        // What step 4 gets wrong: a program that runs another one.
        vec!["/usr/bin/env", "true"],
        vec!["sh", "-c", "exec /bin/true"],
        // A child's calls are not the program's (strace without -f).
        vec!["sh", "-c", &tracee_in_a_child],
    ];
    for command in ordinary_commands().into_iter().chain(more) {
        assert_counts_match_strace("step10", &command);
    }
}
