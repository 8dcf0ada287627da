// ANCHOR: all
//! Starting a program under ptrace, and cleaning up if tracing goes wrong.
//!
//! The child asks to be traced and stops itself; the tracer sets its options;
//! the child execs the program, and the kernel stops it again right after its
//! `execve`, before the program's first instruction. If anything fails on the
//! way, the child says why through a pipe, and the tracer says it to the user.
//!
//! Step 2 introduces this file; steps 3 and 4 include it unchanged, so that
//! their `main.rs` holds only what they add.

use std::ffi::{CString, OsString};
use std::fs;
use std::io::{self, PipeReader, PipeWriter, Read};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::ptr;

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::ptrace;
use nix::sys::signal::{Signal, kill, raise};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid};

use crate::exec::{c_string, explain_exec_failure, find_program};

// ANCHOR: spawn_traced
/// Starts `command` (a program name and its arguments) as a child that asks to
/// be traced, and returns once the child is stopped just after its `execve`.
/// `command` is never empty: each step's `main` refuses to start without one.
pub fn spawn_traced(command: &[OsString]) -> Result<Pid, String> {
    let program = find_program(&command[0])?;

    // Everything the child needs is prepared here, before fork: between fork
    // and exec the child may only make async-signal-safe calls (see below).
    let path = c_string(program.as_os_str())?;
    let args = command
        .iter()
        .map(|arg| c_string(arg))
        .collect::<Result<Vec<_>, _>>()?;
    // execv wants a C array of pointers that ends with a null pointer.
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(ptr::null());
    // If the child fails before the program runs, it writes why into this
    // pipe. Both ends are close-on-exec: a successful execve closes the
    // child's end, and the program never sees either.
    let (failure_reader, failure_writer) =
        io::pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    let tracer = getpid();

    // SAFETY: this program has a single thread, and the child only makes
    // async-signal-safe calls before it replaces itself with `execv`.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => become_traced_program(tracer, &path, &argv, &failure_writer),
        Ok(ForkResult::Parent { child }) => {
            // Only the child writes: with our copy of the writing end closed,
            // reading sees the end of the pipe as soon as the child's goes.
            drop(failure_writer);
            start_tracing(child, &program, failure_reader)?;
            Ok(child)
        }
        Err(errno) => Err(format!("fork failed: {errno}")),
    }
}
// ANCHOR_END: spawn_traced

// ANCHOR: child
/// The child's side: ask to be traced, wait for the tracer to get ready, then
/// become the program.
///
/// After fork, the child is a copy of a process whose other threads (had it
/// any) vanished mid-work, perhaps holding the memory allocator's lock. So it
/// must not allocate, lock or print: only async-signal-safe calls (see
/// signal-safety(7)) until `execv` gives it a fresh memory image.
fn become_traced_program(
    tracer: Pid,
    path: &CString,
    argv: &[*const libc::c_char],
    failure: &PipeWriter,
) -> ! {
    // Until the tracer has asked the kernel to kill us when it dies (below),
    // a tracer killed now would leave us to run the program untraced. So die
    // with our parent meanwhile, and give up if it is already gone.
    if prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != tracer {
        exit_child();
    }

    // "My parent will trace me": from now on, the kernel stops this process
    // and notifies the parent at every signal, and sends it a SIGTRAP right
    // after a successful execve.
    if let Err(errno) = ptrace::traceme() {
        report_failure(failure, ChildStep::TraceMe, errno);
    }

    // Stop, and so let the tracer set its options while we wait. Then drop
    // the death signal: execve would keep it, and the program must start with
    // what it would have had untraced.
    if raise(Signal::SIGSTOP).is_err() || prctl::set_pdeathsig(None).is_err() {
        exit_child();
    }

    // SAFETY: `path` and the strings behind `argv` live until execv returns,
    // and `argv` ends with a null pointer. execv keeps our environment.
    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
    // execv only returns if it failed.
    report_failure(failure, ChildStep::Exec, Errno::last())
}
// ANCHOR_END: child

/// What the child was doing when it failed: the first byte of its report.
#[derive(Clone, Copy)]
enum ChildStep {
    TraceMe = 1,
    Exec = 2,
}

/// Writes which step failed and its error number into the pipe, and ends the
/// child. No formatting, no allocation: five bytes and `write(2)`.
fn report_failure(pipe: &PipeWriter, step: ChildStep, errno: Errno) -> ! {
    let [a, b, c, d] = (errno as i32).to_ne_bytes();
    let report = [step as u8, a, b, c, d];
    // SAFETY: `report` is a valid buffer of its length, which write only reads.
    unsafe { libc::write(pipe.as_raw_fd(), report.as_ptr().cast(), report.len()) };
    exit_child()
}

fn exit_child() -> ! {
    // SAFETY: _exit ends the process at once and is async-signal-safe. (The
    // status is never shown: the tracer reports the failure itself.)
    unsafe { libc::_exit(127) }
}

// ANCHOR: start_tracing
/// The tracer's side: wait for the child to stop itself, ask the kernel to
/// kill it if we die, let it exec, and wait for the stop after its `execve`.
fn start_tracing(child: Pid, program: &Path, failure: PipeReader) -> Result<(), String> {
    if wait_for_stop(child, Signal::SIGSTOP)? {
        let mask = prepare_exec(child).inspect_err(|_| kill_child(child))?;
        if wait_for_stop(child, Signal::SIGTRAP)? {
            // The program's first instruction has not run: give it back the
            // signal mask it inherited.
            return set_signal_mask(child, mask).inspect_err(|_| kill_child(child));
        }
    }
    // The child ended instead: the pipe says why.
    Err(child_failure(failure, program))
}

/// At the child's SIGSTOP: set our option, make sure that the SIGTRAP after
/// `execve` can stop it, and let it exec. Returns its signal mask as it was.
fn prepare_exec(child: Pid) -> Result<u64, String> {
    die_with_tracer(child)?;
    // A blocked signal never stops a process: the kernel keeps it pending.
    // The child inherited its mask from us, and we from whoever started us;
    // with SIGTRAP blocked there, the program would run untraced. So let
    // SIGTRAP through for the exec, until the stop after it.
    let mask = signal_mask(child)?;
    set_signal_mask(child, mask & !signal_bit(Signal::SIGTRAP))?;
    resume(child)?;
    Ok(mask)
}
// ANCHOR_END: start_tracing

// ANCHOR: signal_mask
/// A process's set of blocked signals, as the kernel keeps it: bit N - 1 for
/// signal N.
fn signal_bit(signal: Signal) -> u64 {
    1 << (signal as u32 - 1)
}

/// The stopped child's blocked signals (`PTRACE_GETSIGMASK`, Linux 3.11).
fn signal_mask(child: Pid) -> Result<u64, String> {
    let mut mask: u64 = 0;
    // SAFETY: the kernel writes its 8-byte signal set into `mask`, 8 bytes.
    let result = unsafe {
        libc::ptrace(
            libc::PTRACE_GETSIGMASK,
            child.as_raw(),
            size_of::<u64>(),
            &raw mut mask,
        )
    };
    match result {
        -1 => Err(format!(
            "cannot read the child's signal mask: {}",
            Errno::last()
        )),
        _ => Ok(mask),
    }
}

/// Sets the stopped child's blocked signals (`PTRACE_SETSIGMASK`).
fn set_signal_mask(child: Pid, mask: u64) -> Result<(), String> {
    // SAFETY: the kernel reads its 8-byte signal set from `mask`, 8 bytes.
    let result = unsafe {
        libc::ptrace(
            libc::PTRACE_SETSIGMASK,
            child.as_raw(),
            size_of::<u64>(),
            &raw const mask,
        )
    };
    match result {
        -1 => Err(format!(
            "cannot set the child's signal mask: {}",
            Errno::last()
        )),
        _ => Ok(()),
    }
}
// ANCHOR_END: signal_mask

/// Waits for the child's next report: `true` if it stopped with `signal`,
/// `false` if it ended (it failed before the program could run).
fn wait_for_stop(child: Pid, signal: Signal) -> Result<bool, String> {
    let unexpected = match waitpid(child, None) {
        Ok(WaitStatus::Stopped(_, stop)) if stop == signal => return Ok(true),
        Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) => return Ok(false),
        Ok(other) => format!("unexpected report from the child: {other:?}"),
        Err(errno) => format!("waitpid failed: {errno}"),
    };
    kill_child(child);
    Err(unexpected)
}

// ANCHOR: die_with_tracer
/// Asks the kernel to kill the child if the tracer ends first: on Ctrl-C in
/// the terminal, say, or a crash. Otherwise the kernel would only detach it,
/// and the program would run on, untraced.
fn die_with_tracer(child: Pid) -> Result<(), String> {
    ptrace::setoptions(child, ptrace::Options::PTRACE_O_EXITKILL)
        .map_err(|errno| format!("cannot set ptrace options: {errno}"))
}
// ANCHOR_END: die_with_tracer

fn resume(child: Pid) -> Result<(), String> {
    ptrace::cont(child, None).map_err(|errno| format!("cannot resume the child: {errno}"))
}

// ANCHOR: child_failure
/// Reads why a child that has ended failed: the step it was at, and the
/// error number, as `report_failure` wrote them.
fn child_failure(mut pipe: PipeReader, program: &Path) -> String {
    let mut report = Vec::new();
    let _ = pipe.read_to_end(&mut report);
    match report.as_slice() {
        &[step, a, b, c, d] => {
            let errno = Errno::from_raw(i32::from_ne_bytes([a, b, c, d]));
            if step == ChildStep::TraceMe as u8 {
                explain_traceme_failure(errno)
            } else {
                explain_exec_failure(program, errno)
            }
        }
        _ => "the child ended before it could run the program".to_string(),
    }
}
// ANCHOR_END: child_failure

// ANCHOR: explain
fn explain_traceme_failure(errno: Errno) -> String {
    // A process has one tracer at most. If we are traced by a tracer that
    // follows forks (strace -f, a debugger), it took our child at birth.
    if let Some(tracer) = our_tracer() {
        return format!(
            "PTRACE_TRACEME failed ({errno}): this tracer is itself traced, by process \
             {tracer}, which took our child too, and a process can have only one tracer; \
             trace the step without following forks (strace without -f)"
        );
    }
    format!(
        "the system refused ptrace (PTRACE_TRACEME failed: {errno}): in a container, allow \
         ptrace (e.g. docker run --cap-add=SYS_PTRACE); see the book's appendix \"When it \
         does not run\""
    )
}
// ANCHOR_END: explain

/// The pid of the process tracing us, if any (`TracerPid:` in /proc).
fn our_tracer() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("TracerPid:"))?;
    let tracer: u32 = line["TracerPid:".len()..].trim().parse().ok()?;
    (tracer != 0).then_some(tracer)
}

/// Kills a child that we can no longer trace, and reaps it, so that no
/// half-traced process outlives the tracer.
pub fn kill_child(child: Pid) {
    // Errors are ignored on purpose: the child may already be gone.
    let _ = kill(child, Signal::SIGKILL);
    let _ = waitpid(child, None);
}
// ANCHOR_END: all
