//! Your own tracer. It starts as a copy of step 2 (steps/step2-traceme/main.rs);
//! change it chapter by chapter, and check it against the chapter you are on:
//!
//!   scripts/check-my-step 3        builds this file, and runs step 3's checks
//!
//! It borrows step 2's modules by path; copy one here when you need to change
//! it. A half-typed edit stops only scripts/check-my-step: the repository's
//! `cargo build` and `cargo test` never compile this package.
//!
//! What follows is step 2's own header.
//!
//! Step 2: becoming a tracer.
//!
//! The tracer forks. The child says "trace me" (`PTRACE_TRACEME`) and execs the
//! program; the kernel stops it right after the exec, before the program's
//! first instruction, and tells the parent through `waitpid`. While the child
//! is stopped, the parent can read its registers: `orig_rax` holds the number
//! of the syscall it just made, 59, `execve`. Then the parent lets it run to
//! the end and reports how it ended.
//!
//! The program must run exactly as it would untraced: it inherits what the
//! tracer was given (see `no_main` below), its output is its own, and its exit
//! status becomes the tracer's. A program that runs another program (`env`,
//! a version manager's shim, `sh -c 'exec …'`) stops once more after that
//! `execve`, with a SIGTRAP of the kernel's that must not be passed on.
//!
//! What it does not do yet: see any syscall after the exec (step 3). What it
//! takes on trust: a SIGTRAP stop whose registers read "execve succeeded" is
//! the one after an exec (a real SIGTRAP sent to the program at that very
//! moment would be taken for it; and a 32-bit program that runs a 64-bit one
//! leaves a number there that reads otherwise, so that its SIGTRAP is passed
//! on and kills the new program; step 6 asks the kernel instead).
//!
//! Run it: `cargo build`, then `./target/debug/step2 echo hello`

// No Rust start-up code: the C library calls our `main` directly. Rust's
// start-up would set SIGPIPE to "ignore" and open /dev/null on a closed
// stdin, stdout or stderr, and the program we start would inherit both
// through fork and execve. A tracer must hand its program exactly what it
// was given. (`std::env::args_os` still works: the C library passes the
// arguments to the standard library's own initialiser.)
#![no_main]

#[path = "../steps/step2-traceme/exec.rs"]
mod exec;
#[path = "../steps/step2-traceme/names.rs"]
mod names;
#[path = "../steps/step2-traceme/output.rs"]
mod output;
#[path = "../steps/step2-traceme/spawn.rs"]
mod spawn;

use std::env;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process;

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use syscalls::Errno;

#[unsafe(no_mangle)]
extern "C" fn main() -> libc::c_int {
    let mut command: Vec<OsString> = env::args_os().skip(1).collect();
    // `--` ends the options, as it does for strace: step 2 has none, but a
    // reader's habits are strace's.
    if command.first().is_some_and(|word| word == "--") {
        command.remove(0);
    }
    if command.is_empty() {
        output::line(
            "step2: no command to trace; usage: step2 COMMAND [ARGS...], e.g. step2 ls -l",
        );
        process::exit(2);
    }
    match trace(&command) {
        Ok(exit_code) => process::exit(exit_code),
        Err(message) => {
            output::line(format_args!("step2: {message}"));
            process::exit(1);
        }
    }
}

/// Runs `command` under our control and returns the exit code the tracer
/// should end with: the program's own.
fn trace(command: &[OsString]) -> Result<i32, String> {
    let child = spawn::spawn_traced(command)?;
    show_stop_after_exec(child)
        .and_then(|()| run_to_end(child))
        .inspect_err(|_| spawn::kill_child(child))
}

/// Reads and shows the registers of the child, stopped just after `execve`.
fn show_stop_after_exec(child: Pid) -> Result<(), String> {
    let regs = ptrace::getregs(child).map_err(|e| format!("cannot read registers: {e}"))?;
    let syscall = names::call_name(regs.orig_rax, names::is_32bit(child, &regs));
    let code = mapped_file(child, regs.rip).unwrap_or_else(|| "unknown".to_string());
    output::line(format_args!(
        "step2: child {child} is stopped right after its execve; its registers:"
    ));
    output::line(format_args!(
        "  orig_rax = {:<16} the syscall it made: {syscall}",
        regs.orig_rax
    ));
    output::line(format_args!(
        "  rax      = {:<16} the syscall's result: {}",
        regs.rax as i64,
        describe_result(regs.rax)
    ));
    output::line(format_args!(
        "  rip      = {:<#16x} where it resumes: its first instruction, in {code}",
        regs.rip
    ));
    output::line(format_args!(
        "  rsp      = {:<#16x} its new stack: argc, argv, environment",
        regs.rsp
    ));
    Ok(())
}

/// A syscall's result in words: the kernel returns -1 to -4095 for an error.
fn describe_result(rax: u64) -> String {
    match rax as i64 {
        0 => "success".to_string(),
        value @ -4095..=-1 => {
            let name = Errno::new(-value as i32)
                .name()
                .unwrap_or("an unknown error");
            format!("the error {name}")
        }
        value => format!("{value}"),
    }
}

/// The name of the file mapped at `address` in the child's memory, from
/// /proc/PID/maps: for a dynamically linked program, the dynamic loader; for
/// a static one, the program itself.
fn mapped_file(child: Pid, address: u64) -> Option<String> {
    // Bytes, not text: a file's name need not be UTF-8.
    let maps = fs::read(format!("/proc/{child}/maps")).ok()?;
    maps.split(|&byte| byte == b'\n').find_map(|line| {
        // "start-end perms offset dev inode   path": five fields, each
        // followed by one space, then the path, padded on its left, which
        // is the rest of the line, spaces and all.
        let mut fields = line.splitn(6, |&byte| byte == b' ');
        let range = std::str::from_utf8(fields.next()?).ok()?;
        let (start, end) = range.split_once('-')?;
        let range = u64::from_str_radix(start, 16).ok()?..u64::from_str_radix(end, 16).ok()?;
        let path = Path::new(OsStr::from_bytes(fields.nth(4)?.trim_ascii_start()));
        let name = path.file_name()?.to_string_lossy();
        range.contains(&address).then(|| name.into_owned())
    })
}

/// Lets the child run until it ends, and returns the exit code to pass on.
fn run_to_end(child: Pid) -> Result<i32, String> {
    let mut signal = None;
    loop {
        ptrace::cont(child, signal.take()).map_err(|e| format!("cannot resume the child: {e}"))?;
        match waitpid(child, None).map_err(|e| format!("waitpid failed: {e}"))? {
            // The program ran another program: the kernel stops a traced
            // process after every successful execve, with a SIGTRAP of its
            // own. It is ours, not the program's: passed on, it would kill
            // the new program before its first instruction.
            WaitStatus::Stopped(_, Signal::SIGTRAP) if is_stop_after_exec(child) => {
                output::line(format_args!(
                    "step2: child {child} is stopped right after another execve (the program \
                     ran another program): resumed without the SIGTRAP"
                ));
            }
            // A traced child stops each time a signal reaches it, so that a
            // tracer could look at it. We do not: pass the signal on as we
            // resume, or the program would never get it.
            WaitStatus::Stopped(_, stop_signal) => signal = Some(stop_signal),
            WaitStatus::Exited(_, code) => {
                output::line(format_args!("step2: child exited with status {code}"));
                return Ok(code);
            }
            WaitStatus::Signaled(_, killer, _) => {
                output::line(format_args!("step2: child was killed by {killer}"));
                // A shell reports death by signal N as status 128 + N.
                return Ok(128 + killer as i32);
            }
            other => return Err(format!("unexpected report from the child: {other:?}")),
        }
    }
}

/// Whether the child, stopped by a SIGTRAP, has just made a successful
/// `execve`: then its registers read as they did at the first stop. rax is 0,
/// success, and orig_rax is `execve` or `execveat`, numbered from the table
/// of the new program's code: 64-bit, or 32-bit (11 or 358). (A 32-bit
/// program that runs a 64-bit one leaves 11 there, which in the 64-bit table
/// is `munmap`: that stop is taken for a signal.)
fn is_stop_after_exec(child: Pid) -> bool {
    ptrace::getregs(child).is_ok_and(|regs| {
        regs.rax == 0 && names::is_exec(regs.orig_rax, names::runs_32bit_code(&regs))
    })
}
