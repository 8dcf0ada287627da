//! Step 3: a PTRACE_SYSCALL loop that prints every stop — and so, on purpose,
//! every syscall twice.

mod common;
use common::*;

fn lines_named(trace: &str, name: &str) -> usize {
    trace.lines().filter(|line| *line == name).count()
}

#[test]
fn step3_prints_every_syscall_twice() {
    for times in [1, 5] {
        let output = run_binary("step3", &[binary("tracee"), "getppid", &times.to_string()]);
        assert!(output.status.success());
        let trace = stderr(&output);
        // One line at the entry stop, one at the exit stop: the bug of step 3.
        assert_eq!(lines_named(&trace, "getppid"), 2 * times, "{trace}");
    }
}

#[test]
fn step3_sees_execve_once_and_exit_group_once() {
    let output = run_binary("step3", &[binary("tracee"), "getppid", "1"]);
    let trace = stderr(&output);
    let lines: Vec<&str> = trace.lines().collect();
    // execve: only its exit is seen (the stop after exec); exit_group: only
    // its entry (it never returns).
    assert_eq!(lines.first(), Some(&"execve"), "{trace}");
    assert_eq!(lines_named(&trace, "execve"), 1, "{trace}");
    assert_eq!(lines_named(&trace, "exit_group"), 1, "{trace}");
    assert_eq!(lines.last(), Some(&"+++ exited with 0 +++"), "{trace}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step3_shows_each_syscall_strace_sees_twice_in_a_row() {
    let command = [binary("tracee"), "mixed"];
    let names: Vec<String> = strace_calls(&command)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    // execve: strace sees its entry, we only its exit; exit_group: it never
    // returns, so both see only its entry. Everything in between: twice.
    let (first, rest) = names.split_first().unwrap();
    let (last, middle) = rest.split_last().unwrap();
    let mut expected = vec![first.clone()];
    expected.extend(middle.iter().flat_map(|name| [name.clone(), name.clone()]));
    expected.push(last.clone());

    let output = run_binary("step3", &command);
    let trace = stderr(&output);
    let seen: Vec<&str> = trace.lines().filter(|l| !l.starts_with("+++")).collect();
    assert_eq!(seen, expected, "{trace}");
    assert_eq!(stdout(&output), "mixed: begin\nmixed: done\n");
}

#[test]
fn step3_passes_signals_on_and_misnames_rt_sigreturn_exit() {
    // The chapter's third exercise: the signal is not printed, the program
    // gets it, and at rt_sigreturn's exit stop orig_rax reads -1.
    let script = r#"trap "echo caught" USR1; kill -USR1 $$; echo after"#;
    let output = run_binary("step3", &["sh", "-c", script]);
    assert_eq!(stdout(&output), "caught\nafter\n");
    let trace = stderr(&output);
    assert!(
        trace.contains("\nrt_sigreturn\nsyscall_0xffffffffffffffff\n"),
        "{trace}"
    );
}

#[test]
fn step3_is_still_fooled_by_an_exec_in_the_program() {
    // What the chapter says step 6 must fix: after an execve of the program's
    // own, the extra SIGTRAP stop looks like one more syscall stop.
    let trace = stderr(&run_binary("step3", &["sh", "-c", "exec /bin/true"]));
    assert!(trace.contains("\nexecve\nexecve\nexecve\n"), "{trace}");
}

#[test]
fn step3_does_not_name_a_32_bit_call_from_the_64_bit_table() {
    // int $0x80 from a 64-bit program: 4 is write in the 32-bit table, stat
    // in the 64-bit one.
    let output = run_binary("step3", &[binary("tracee"), "int80-write"]);
    assert_eq!(stdout(&output), "int 0x80\n");
    let trace = stderr(&output);
    assert_eq!(lines_named(&trace, "32-bit syscall 4"), 2, "{trace}");
    assert_eq!(lines_named(&trace, "stat"), 0, "{trace}");
    // A 32-bit program: every call is one, its execve too, which the kernel
    // numbers 11 from then on.
    let program = program_32bit();
    let output = run_binary("step3", &[program.to_str().unwrap()]);
    assert_eq!(stdout(&output), "32-bit\n");
    let trace = stderr(&output);
    let expected = [
        "32-bit syscall 11",
        "32-bit syscall 4",
        "32-bit syscall 4",
        "32-bit syscall 252",
        "+++ exited with 0 +++",
    ];
    assert_eq!(trace.lines().collect::<Vec<_>>(), expected, "{trace}");
}
