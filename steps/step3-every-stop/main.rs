// ANCHOR: all
//! Step 3: every stop, and the bug.
//!
//! Instead of letting the child run to the end, the tracer resumes it with
//! `PTRACE_SYSCALL`: the kernel then stops it at the next syscall, and the
//! tracer prints that syscall's name, read from `orig_rax`, at every stop.
//!
//! What it gets wrong, on purpose: the kernel stops the child *twice* per
//! syscall, once on the way in and once on the way out, and the two stops
//! look the same. So every syscall is printed twice (`exit_group` once: it
//! never returns). Step 4 fixes it.
//!
//! A signal sent to the program stops it too, with that signal instead of
//! SIGTRAP: such a stop is no syscall, so it is passed on, not printed. (A
//! program that gets a real SIGTRAP, or that runs another program, would still
//! fool it; step 6 makes the difference certain.) A 32-bit call is numbered
//! from another table than x86_64's: it is printed as `32-bit syscall N`,
//! not named (step 6 names it).
//!
//! Run it: `cargo build`, then `./target/debug/step3 echo hello`

// Like step 2: no Rust start-up code, so that the program we start inherits
// exactly what we were given (step 2's main.rs says why).
#![no_main]

#[path = "../step2-traceme/exec.rs"]
mod exec;
// Step 3 takes every SIGTRAP stop for a syscall stop, the stop after an
// exec included (its lesson), so it has no use for `names::is_exec`.
#[allow(dead_code)]
#[path = "../step2-traceme/names.rs"]
mod names;
#[path = "../step2-traceme/output.rs"]
mod output;
#[path = "../step2-traceme/spawn.rs"]
mod spawn;

use std::env;
use std::ffi::OsString;
use std::process;

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

#[unsafe(no_mangle)]
extern "C" fn main() -> libc::c_int {
    let mut command: Vec<OsString> = env::args_os().skip(1).collect();
    // `--` ends the options, as it does for strace (step 3 has none).
    if command.first().is_some_and(|word| word == "--") {
        command.remove(0);
    }
    if command.is_empty() {
        output::line(
            "step3: no command to trace; usage: step3 COMMAND [ARGS...], e.g. step3 ls -l",
        );
        process::exit(2);
    }
    match trace(&command) {
        Ok(exit_code) => process::exit(exit_code),
        Err(message) => {
            output::line(format_args!("step3: {message}"));
            process::exit(1);
        }
    }
}

/// Runs `command` under our control and returns the exit code the tracer
/// should end with: the program's own.
fn trace(command: &[OsString]) -> Result<i32, String> {
    let child = spawn::spawn_traced(command)?;
    print_every_stop(child).inspect_err(|_| spawn::kill_child(child))
}

// ANCHOR: loop
/// Resumes the child to its next syscall stop, again and again, printing the
/// syscall's name at every stop, until the child ends.
fn print_every_stop(child: Pid) -> Result<i32, String> {
    // The first stop is the one right after execve, where spawn_traced left it.
    let mut status = WaitStatus::Stopped(child, Signal::SIGTRAP);
    loop {
        let signal = match status {
            // A syscall stop reports SIGTRAP: print which syscall it is.
            WaitStatus::Stopped(_, Signal::SIGTRAP) => {
                let regs =
                    ptrace::getregs(child).map_err(|e| format!("cannot read registers: {e}"))?;
                output::line(names::call_name(
                    regs.orig_rax,
                    names::is_32bit(child, &regs),
                ));
                None
            }
            // Any other signal is one sent to the program; it stops the child
            // first. Pass it on as we resume, or the program would never get it.
            WaitStatus::Stopped(_, signal) => Some(signal),
            ended => return report_end(ended),
        };
        // PTRACE_SYSCALL: run, but stop at the next syscall entry or exit.
        ptrace::syscall(child, signal).map_err(|e| format!("cannot resume the child: {e}"))?;
        status = waitpid(child, None).map_err(|e| format!("waitpid failed: {e}"))?;
    }
}
// ANCHOR_END: loop

/// Prints how the child ended, as strace does, and returns the exit code to
/// pass on.
fn report_end(status: WaitStatus) -> Result<i32, String> {
    match status {
        WaitStatus::Exited(_, code) => {
            output::line(format_args!("+++ exited with {code} +++"));
            Ok(code)
        }
        WaitStatus::Signaled(_, signal, core_dumped) => {
            let core = if core_dumped { " (core dumped)" } else { "" };
            output::line(format_args!("+++ killed by {signal}{core} +++"));
            // A shell reports death by signal N as status 128 + N.
            Ok(128 + signal as i32)
        }
        other => Err(format!("unexpected report from the child: {other:?}")),
    }
}
// ANCHOR_END: all
