//! Live coding, stage 2 (appendix "for presenters"): stage 1 with the state
//! that step 4 adds, a boolean flipped at every syscall stop. Each syscall is
//! printed once, at its exit, with its result.
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
//! What it does not do yet: see any syscall after the exec (step 3).
//!
//! Run it: `cargo build`, then `./target/debug/step2 echo hello`

#[path = "../../steps/step2-traceme/spawn.rs"]
mod spawn;

use std::env;
use std::ffi::OsString;
use std::process;

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use syscalls::Sysno;

fn main() {
    let command: Vec<OsString> = env::args_os().skip(1).collect();
    if command.is_empty() {
        eprintln!("step2: no command to trace; usage: step2 COMMAND [ARGS...], e.g. step2 ls -l");
        process::exit(2);
    }
    match trace(&command) {
        Ok(exit_code) => process::exit(exit_code),
        Err(message) => {
            eprintln!("step2: {message}");
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

// ANCHOR: registers
/// Reads and shows the registers of the child, stopped just after `execve`.
fn show_stop_after_exec(child: Pid) -> Result<(), String> {
    let regs = ptrace::getregs(child).map_err(|e| format!("cannot read registers: {e}"))?;
    let syscall = Sysno::new(regs.orig_rax as usize).map_or("unknown", |sysno| sysno.name());
    eprintln!("step2: child {child} is stopped right after its execve; its registers:");
    eprintln!(
        "  orig_rax = {:<16} the syscall it made: {syscall}",
        regs.orig_rax
    );
    eprintln!(
        "  rax      = {:<16} the syscall's result: 0, success",
        regs.rax
    );
    eprintln!(
        "  rip      = {:<#16x} where it resumes: the dynamic loader's first instruction",
        regs.rip
    );
    eprintln!(
        "  rsp      = {:<#16x} its new stack: argc, argv, environment",
        regs.rsp
    );
    Ok(())
}
// ANCHOR_END: registers

// ANCHOR: run_to_end
/// Lets the child run until it ends, and returns the exit code to pass on.
fn run_to_end(child: Pid) -> Result<i32, String> {
    let mut signal = None;
    // ANCHOR: live_inside
    let mut inside = false;
    // ANCHOR_END: live_inside
    loop {
        ptrace::syscall(child, signal).map_err(|e| format!("cannot resume the child: {e}"))?;
        match waitpid(child, None).map_err(|e| format!("waitpid failed: {e}"))? {
            // A traced child stops each time a signal reaches it, so that a
            // tracer could look at it. We do not: pass the signal on as we
            // resume, or the program would never get it.
            // ANCHOR: live_stop
            WaitStatus::Stopped(_, Signal::SIGTRAP) => {
                let regs = ptrace::getregs(child).map_err(|e| e.to_string())?;
                let number = regs.orig_rax as usize;
                let name = Sysno::new(number).map_or("?", |s| s.name());
                // ANCHOR: live_exit
                if inside {
                    eprintln!("{name} = {}", regs.rax as i64);
                }
                inside = !inside;
                // ANCHOR_END: live_exit
                signal = None;
            }
            // ANCHOR_END: live_stop
            WaitStatus::Stopped(_, stop_signal) => signal = Some(stop_signal),
            WaitStatus::Exited(_, code) => {
                eprintln!("step2: child exited with status {code}");
                return Ok(code);
            }
            WaitStatus::Signaled(_, killer, _) => {
                eprintln!("step2: child was killed by {killer}");
                // A shell reports death by signal N as status 128 + N.
                return Ok(128 + killer as i32);
            }
            other => return Err(format!("unexpected report from the child: {other:?}")),
        }
    }
}
// ANCHOR_END: run_to_end
