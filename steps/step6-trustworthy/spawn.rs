// ANCHOR: all
//! Starting a program under ptrace, and cleaning up if tracing goes wrong.
//!
//! Step 6's version of step 2's spawn.rs. The child no longer asks to be
//! traced (`PTRACE_TRACEME`): it stops itself, untraced, and the tracer
//! *seizes* it (`PTRACE_SEIZE`), setting its options in the same call. Only a
//! seized process can be kept in a group-stop with `PTRACE_LISTEN` (main.rs).
//! And the tracer now holds the child *before* its `execve`, so that it sees
//! that `execve` start and can show it with its arguments, as strace does.
//!
//! If anything fails on the way, the child says why through a pipe, and the
//! tracer says it to the user.

use std::ffi::{CString, OsString};
use std::fs;
use std::io::{self, PipeReader, PipeWriter, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr;

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::ptrace;
use nix::sys::signal::{Signal, kill, raise};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid};

use crate::exec::{c_string, explain_exec_failure, find_program};

/// A child seized before it runs the program: it has yet to call `execve`.
pub struct Started {
    pub child: Pid,
    /// The program's path, and the pipe where the child writes why it
    /// failed, should its `execve` fail: see [`Started::failure`].
    program: PathBuf,
    failure: PipeReader,
}

impl Started {
    /// Why the child ended before the program could start: read once the
    /// child has ended, when its `execve` failed.
    pub fn failure(self) -> String {
        child_failure(self.failure, &self.program)
    }
}

// ANCHOR: spawn_traced
/// Starts `command` (a program name and its arguments) as a seized child, and
/// returns it stopped, before its `execve`. `command` is never empty: each
/// step's `main` refuses to start without one.
pub fn spawn_traced(command: &[OsString], options: ptrace::Options) -> Result<Started, String> {
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
            let started = Started {
                child,
                program,
                failure: failure_reader,
            };
            start_tracing(started, options)
        }
        Err(errno) => Err(format!("fork failed: {errno}")),
    }
}
// ANCHOR_END: spawn_traced

// ANCHOR: child
/// The child's side: stop, so that the tracer can seize us, then become the
/// program.
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
    // Until the tracer has seized us with PTRACE_O_EXITKILL (the kernel
    // kills a tracee whose tracer dies), a tracer killed now would leave us
    // to run the program untraced. So die with our parent meanwhile, and give
    // up if it is already gone.
    if prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != tracer {
        exit_child();
    }

    // Stop, untraced, as Ctrl-Z would stop us. The tracer sees it in
    // waitpid, seizes us, and lets us go on, now traced. Then drop the death
    // signal: execve would keep it, and the program must start with what it
    // would have had untraced.
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
/// (Step 2's child could fail at `PTRACE_TRACEME` too; here the tracer
/// makes every ptrace call.)
#[derive(Clone, Copy)]
enum ChildStep {
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
/// The tracer's side: wait for the child to stop itself, and seize it.
fn start_tracing(started: Started, options: ptrace::Options) -> Result<Started, String> {
    let child = started.child;
    // WUNTRACED: report a child that stops even though nobody traces it.
    match waitpid(child, Some(WaitPidFlag::WUNTRACED)) {
        Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
        Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) => return Err(started.failure()),
        other => return Err(unexpected(child, other)),
    }
    if let Err(errno) = ptrace::seize(child, options) {
        kill_child(child);
        return Err(explain_seize_failure(errno));
    }
    // Seizing a stopped process makes it report its stop again, to us, as
    // an event stop.
    match waitpid(child, None) {
        Ok(WaitStatus::PtraceEvent(_, _, libc::PTRACE_EVENT_STOP)) => {}
        other => return Err(unexpected(child, other)),
    }
    // A process that a signal stopped stays marked "stopped" until a
    // SIGCONT, even once its tracer lets it run; and a thread it starts
    // inherits the mark, and begins in a group-stop, as if SIGSTOP had just
    // stopped it: a threaded program would hang. SIGCONT clears the mark, as
    // strace sends its child one. The child stops again to receive it, and we
    // resume it without: the program never sees it. (The end of the
    // group-stop that SIGCONT brings is an event stop of its own, on the way.)
    let _ = kill(child, Signal::SIGCONT);
    loop {
        if let Err(errno) = ptrace::cont(child, None) {
            kill_child(child);
            return Err(format!("cannot resume the child: {errno}"));
        }
        match waitpid(child, None) {
            Ok(WaitStatus::Stopped(_, Signal::SIGCONT)) => return Ok(started),
            Ok(WaitStatus::PtraceEvent(_, _, libc::PTRACE_EVENT_STOP)) => {}
            other => return Err(unexpected(child, other)),
        }
    }
}
// ANCHOR_END: start_tracing

/// Kills the child, and says what waitpid said that we did not expect.
fn unexpected(child: Pid, report: nix::Result<WaitStatus>) -> String {
    kill_child(child);
    match report {
        Ok(status) => format!("unexpected report from the child: {status:?}"),
        Err(errno) => format!("waitpid failed: {errno}"),
    }
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
            debug_assert_eq!(step, ChildStep::Exec as u8);
            explain_exec_failure(program, errno)
        }
        _ => "the child ended before it could run the program".to_string(),
    }
}
// ANCHOR_END: child_failure

// ANCHOR: explain
fn explain_seize_failure(errno: Errno) -> String {
    // A process has one tracer at most. If we are traced by a tracer that
    // follows forks (strace -f, a debugger), it took our child at birth.
    if let Some(tracer) = our_tracer() {
        return format!(
            "PTRACE_SEIZE failed ({errno}): this tracer is itself traced, by process \
             {tracer}, which took our child too, and a process can have only one tracer; \
             trace the step without following forks (strace without -f)"
        );
    }
    format!(
        "the system refused ptrace (PTRACE_SEIZE failed: {errno}): in a container, allow \
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
