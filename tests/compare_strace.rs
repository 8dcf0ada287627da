//! The judge: `step4 -c` and real `strace -c` on the same commands must agree
//! on every syscall's calls and errors (time differs, and the book says why).

mod common;
use common::*;

fn assert_counts_match_strace(command: &[&str]) {
    let ours = stderr(&run_binary("step4", &[&["-c"], command].concat()));
    let theirs = run_strace(&["-c"], command);
    assert_eq!(
        summary_counts(&ours),
        summary_counts(&theirs),
        "step4 -c and strace -c disagree on {command:?}\n--- step4 -c:\n{ours}\n--- strace -c:\n{theirs}"
    );
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step4_counts_match_strace() {
    let tracee = binary("tracee");
    let commands: [&[&str]; 6] = [
        &["true"],
        &["ls", "-l", "/"],
        &["cat", "/nonexistent"],
        &["echo", "hello"],
        &[tracee, "mixed"],
        &[tracee, "getppid", "100"],
    ];
    for command in commands {
        assert_counts_match_strace(command);
    }
}
