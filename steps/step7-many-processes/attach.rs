// ANCHOR: all
//! Tracing a program that is already running (`-p PID`), and letting it go
//! again as it was.
//!
//! Step 7 introduces this file. Steps 2 to 6 start the program themselves,
//! stopped, and trace it from its first instruction. A running program is
//! another matter: ptrace works on threads, so each thread of the process
//! must be seized on its own (`PTRACE_SEIZE`), and then stopped
//! (`PTRACE_INTERRUPT`) for the tracer to take control. Leaving is as
//! delicate: a thread can only be detached while it is stopped for us, and
//! whatever it was doing at that moment (a signal on its way, a syscall half
//! done) must go on as if we had never been there. And it happens when we
//! are told to let go: a signal to the tracer (Ctrl-C, SIGTERM), which we
//! must be ready to take at any moment (step 6's stops.rs waits for both).
//!
//! Steps 8 and 9 include this file unchanged.

use std::collections::BTreeSet;
use std::fs;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid};

use crate::stops;

// ANCHOR: attach
/// Seizes every thread of process `pid` and stops each one, for the tracer
/// to see its first stop in its loop. Returns the threads' ids. On failure,
/// the threads already seized are let go, and the message says why.
pub fn attach(pid: Pid, options: ptrace::Options) -> Result<Vec<Pid>, String> {
    if pid == getpid() {
        return Err(format!(
            "-p {pid} is this tracer's own process id: a process cannot trace itself"
        ));
    }
    let mut seized = Vec::new();
    // A thread may start while we seize the others: read the list again
    // until it brings nothing new.
    loop {
        let new: Vec<Pid> = threads_of(pid)?
            .into_iter()
            .filter(|tid| !seized.contains(tid))
            .collect();
        if new.is_empty() {
            return Ok(seized);
        }
        for tid in new {
            match seize_and_stop(tid, options) {
                Ok(()) => seized.push(tid),
                // A thread that ended since we read the list.
                Err(Errno::ESRCH) if tid != pid => {}
                Err(errno) => {
                    detach(&seized);
                    return Err(explain_attach_failure(pid, errno));
                }
            }
        }
    }
}

fn seize_and_stop(tid: Pid, options: ptrace::Options) -> nix::Result<()> {
    ptrace::seize(tid, options)?;
    // PTRACE_SEIZE does not stop the thread; PTRACE_INTERRUPT does, and the
    // thread reports it in waitpid as a PTRACE_EVENT_STOP.
    ptrace::interrupt(tid)
}

/// The ids of the threads of process `pid`: the names in /proc/PID/task.
fn threads_of(pid: Pid) -> Result<Vec<Pid>, String> {
    let entries = fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|_| format!("-p {pid}: there is no process {pid}"))?;
    let mut tids: Vec<Pid> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .map(Pid::from_raw)
        .collect();
    // The main thread first: its id is the process's.
    tids.sort_by_key(|&tid| (tid != pid, tid));
    Ok(tids)
}
// ANCHOR_END: attach

// ANCHOR: explain
/// Why the kernel refused, and what to do about it.
fn explain_attach_failure(pid: Pid, errno: Errno) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line[name.len()..]
            .split_whitespace()
            .next()
            .map(str::to_string)
    };
    match errno {
        Errno::ESRCH => format!("-p {pid}: there is no process {pid}"),
        Errno::EPERM => match (field("TracerPid:"), field("Uid:")) {
            (Some(tracer), _) if tracer != "0" => format!(
                "-p {pid}: process {pid} is already traced, by process {tracer} (a debugger, \
                 another strace?), and a process can have only one tracer: stop that one first"
            ),
            (_, Some(uid)) if uid != our_uid() => format!(
                "-p {pid}: not allowed to trace process {pid} (EPERM): it runs as user {uid}, \
                 and we as user {}; trace it as that user, or as root",
                our_uid()
            ),
            _ => format!(
                "-p {pid}: not allowed to trace process {pid} (EPERM){}",
                yama_advice()
            ),
        },
        errno => format!("-p {pid}: cannot attach to process {pid}: {errno}"),
    }
}

fn our_uid() -> String {
    // SAFETY: getuid cannot fail and has no arguments.
    unsafe { libc::getuid() }.to_string()
}

/// What Yama's `ptrace_scope` allows, if it restricts ptrace here.
fn yama_advice() -> String {
    let scope = fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope");
    match scope.as_deref().map(str::trim) {
        Ok("1") => "; Yama's ptrace_scope is 1: a process may only trace its own children. \
                    Run the tracer as root, or allow it: sudo sysctl kernel.yama.ptrace_scope=0"
            .to_string(),
        Ok(scope @ ("2" | "3")) => format!(
            "; Yama's ptrace_scope is {scope}: {}",
            if scope == "2" {
                "only root may attach (run the tracer as root)"
            } else {
                "no process may attach, until the next boot"
            }
        ),
        _ => "; in a container, allow ptrace (e.g. docker run --cap-add=SYS_PTRACE)".to_string(),
    }
}
// ANCHOR_END: explain

// ANCHOR: detach
/// Lets every thread in `tids` go, as it was before we came, and returns the
/// ids of those it let go. A thread can only be detached while it is stopped
/// for us, so each is stopped first (`PTRACE_INTERRUPT`); what it reports
/// then says how to leave it:
///
/// - a signal on its way to it (signal-delivery-stop): detach *with* that
///   signal, or it would be lost;
/// - anything else (a syscall stop, an event, the stop we asked for):
///   detach with none. A thread that was inside a syscall resumes it: the
///   kernel restarts a call that PTRACE_INTERRUPT broke off, as it does
///   after a signal that has no handler;
/// - a fork or clone it was making: its new child is ours too, and goes in
///   the list.
///
/// A program in a group-stop (Ctrl-Z, SIGSTOP) stays stopped: detaching
/// does not end a group-stop.
pub fn detach(tids: &[Pid]) -> Vec<Pid> {
    let mut to_do: Vec<Pid> = tids.to_vec();
    let mut seen: BTreeSet<Pid> = tids.iter().copied().collect();
    let mut detached = Vec::new();
    for &tid in tids {
        // ESRCH: the thread has ended (or vanished in an execve); its report
        // is all that is left of it, and waitpid below collects it.
        let _ = ptrace::interrupt(tid);
    }
    while let Some(tid) = to_do.pop() {
        let signal = loop {
            match waitpid(tid, Some(WaitPidFlag::__WALL)) {
                Err(Errno::EINTR) => continue,
                Ok(WaitStatus::Stopped(_, signal)) => break Some(Some(signal)),
                Ok(WaitStatus::PtraceEvent(_, _, event)) if is_birth(event) => {
                    if let Ok(child) = ptrace::getevent(tid) {
                        let child = Pid::from_raw(child as i32);
                        if seen.insert(child) {
                            to_do.push(child);
                        }
                    }
                    break Some(None);
                }
                Ok(WaitStatus::PtraceEvent(..) | WaitStatus::PtraceSyscall(_)) => {
                    break Some(None);
                }
                // Ended, or not ours: nothing to let go.
                _ => break None,
            }
        };
        if let Some(signal) = signal
            && ptrace::detach(tid, signal).is_ok()
        {
            detached.push(tid);
        }
    }
    detached
}

/// The events that announce a new thread or process.
pub fn is_birth(event: i32) -> bool {
    [
        libc::PTRACE_EVENT_FORK,
        libc::PTRACE_EVENT_VFORK,
        libc::PTRACE_EVENT_CLONE,
    ]
    .contains(&event)
}
// ANCHOR_END: detach

// ANCHOR: interrupts
/// With `-p`, Ctrl-C (SIGINT), SIGQUIT and step 6's endings (SIGHUP,
/// SIGTERM, SIGPIPE) are our cue to let the programs go: they are not ours
/// to end, and must not be left in a stop for a tracer that is gone.
pub fn end_on_interrupts() {
    let ctrl_c = [Signal::SIGINT, Signal::SIGQUIT];
    stops::end_on(&[&ctrl_c[..], &stops::ENDINGS].concat());
}
// ANCHOR_END: interrupts

/// Parses a `-p` value: a process id, a number above 0.
pub fn parse_pid(text: &str) -> Result<Pid, String> {
    match text.parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(Pid::from_raw(pid)),
        _ => Err(format!(
            "-p: '{text}' is not a process id (a number above 0)"
        )),
    }
}
// ANCHOR_END: all
