//! Step 1: a write made with the `syscall` instruction, then a failing one.

mod common;
use common::*;

#[test]
fn step1_writes_its_message_with_a_raw_syscall() {
    let output = run_binary("step1", &[]);
    assert!(output.status.success());
    let out = stdout(&output);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("Hello from a raw syscall!"));
    assert!(
        out.contains("write(1, message, 26) returned 26 in rax"),
        "{out}"
    );
}

#[test]
fn step1_shows_the_kernel_error_as_minus_ebadf_and_libc_as_errno() {
    let out = stdout(&run_binary("step1", &[]));
    assert!(
        out.contains("write(-1, message, 26) returned -9 in rax"),
        "{out}"
    );
    assert!(
        out.contains("libc's write(-1, message, 26) returned -1 and set errno to 9"),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step1_raw_syscall_is_a_real_write_as_strace_sees_it() {
    let trace = run_strace(&["-e", "trace=write"], &[binary("step1")]);
    let message = r#""Hello from a raw syscall!\n", 26)"#;
    let ok = format!("write(1, {message}");
    let bad = format!("write(-1, {message}");
    let lines: Vec<&str> = trace.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&ok) && l.ends_with("= 26")),
        "{trace}"
    );
    // Once from our assembly, once through libc: the kernel sees the same call.
    let failed = lines
        .iter()
        .filter(|l| l.starts_with(&bad) && l.ends_with("= -1 EBADF (Bad file descriptor)"))
        .count();
    assert_eq!(failed, 2, "{trace}");
}

#[test]
fn step1_says_in_one_line_that_stdout_cannot_be_written() {
    // /dev/full fails every write with ENOSPC, as a full disk would;
    // println! would panic, with a backtrace.
    let output = std::process::Command::new(binary("step1"))
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stderr(&output),
        "step1: cannot write to stdout: No space left on device (os error 28)\n"
    );
}
