//! Step 2: fork, PTRACE_TRACEME, exec; the stop right after execve.

mod common;
use common::*;

#[test]
fn step2_sees_the_child_stopped_after_execve() {
    let output = run_binary("step2", &["echo", "hello"]);
    let trace = stderr(&output);
    assert!(
        trace.contains("is stopped right after its execve"),
        "{trace}"
    );
    let orig_rax = trace
        .lines()
        .find(|l| l.trim_start().starts_with("orig_rax"))
        .unwrap();
    let words: Vec<&str> = orig_rax.split_whitespace().collect();
    // orig_rax = 59, and 59 is execve: the syscall that just ran.
    assert_eq!(&words[..3], ["orig_rax", "=", "59"], "{trace}");
    assert!(orig_rax.ends_with("execve"), "{trace}");
    assert_eq!(stdout(&output), "hello\n");
}

#[test]
fn step2_reports_how_the_child_ended() {
    let output = run_binary("step2", &["sh", "-c", "exit 3"]);
    assert!(stderr(&output).ends_with("step2: child exited with status 3\n"));
    let output = run_binary("step2", &["sh", "-c", "kill -TERM $$"]);
    assert!(stderr(&output).ends_with("step2: child was killed by SIGTERM\n"));
}

#[test]
fn step2_passes_signals_on_to_the_child() {
    // The child stops for the signal; unless step 2 passes it on, the shell
    // never runs its trap.
    let script = "trap 'echo got USR1' USR1; kill -USR1 $$; echo after";
    let output = run_binary("step2", &["sh", "-c", script]);
    assert_eq!(stdout(&output), "got USR1\nafter\n");
}

#[test]
fn step2_says_where_the_program_resumes() {
    // A dynamically linked program starts in its dynamic loader; a static
    // one (glibc's ldconfig is static) in its own code.
    let resumes_in = |program: &str| {
        let trace = stderr(&run_binary("step2", &[program, "--version"]));
        let rip = trace.lines().find(|l| l.trim_start().starts_with("rip"));
        rip.unwrap_or_else(|| panic!("{trace}")).to_string()
    };
    assert!(resumes_in("echo").ends_with(" in ld-linux-x86-64.so.2"));
    assert!(resumes_in("/sbin/ldconfig").ends_with(" in ldconfig"));
}
