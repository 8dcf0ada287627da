// ANCHOR: all
//! Starting a program that waits at the door: the child is forked at once,
//! but runs the program only when the tracer says so, once the counters are
//! in place. No ptrace: nothing stops the program after that.
//!
//! This is step 2's `spawn.rs` without ptrace: what it does not need is gone,
//! and in place of the stop after `execve` there is a pipe to wait on.

use std::ffi::{CString, OsString};
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::ptr;

use nix::errno::Errno;
use nix::sys::signal::{SigHandler, Signal, kill, signal};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork};

use crate::exec::{c_string, explain_exec_failure, find_program};

/// A child forked to run the program, waiting for the word to go.
pub struct Held {
    pub pid: Pid,
    program: PathBuf,
    go: PipeWriter,
    failure: PipeReader,
}

// ANCHOR: spawn_held
/// Forks a child that will run `command` (a program name and its arguments,
/// never empty), and returns while the child waits, before its `execve`.
pub fn spawn_held(command: &[OsString]) -> Result<Held, String> {
    let program = find_program(&command[0])?;

    // Everything the child needs is prepared here, before fork: between fork
    // and exec the child may only make async-signal-safe calls (step 2 says
    // why).
    let path = c_string(program.as_os_str())?;
    let args = command
        .iter()
        .map(|arg| c_string(arg))
        .collect::<Result<Vec<_>, _>>()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(ptr::null());
    // Two pipes, both close-on-exec, so the program never sees them: one
    // the child waits on until we write to it; one on which the child says
    // why it failed, if it does (a successful execve closes it).
    let pipe = || io::pipe().map_err(|e| format!("cannot create a pipe: {e}"));
    let (go_reader, go) = pipe()?;
    let (failure, failure_writer) = pipe()?;

    // SAFETY: this program has a single thread, and the child only makes
    // async-signal-safe calls before it replaces itself with `execv`.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let go = go.as_raw_fd();
            wait_then_exec(&go_reader, go, &path, &argv, &failure_writer)
        }
        Ok(ForkResult::Parent { child }) => Ok(Held {
            pid: child,
            program,
            go,
            failure,
        }),
        Err(errno) => Err(format!("fork failed: {errno}")),
    }
}
// ANCHOR_END: spawn_held

// ANCHOR: child
/// The child's side: wait for the word, then become the program. Only
/// async-signal-safe calls, no allocation, until `execv`.
fn wait_then_exec(
    go: &PipeReader,
    our_go_writer: RawFd,
    path: &CString,
    argv: &[*const libc::c_char],
    failure: &PipeWriter,
) -> ! {
    // Fork gave us a copy of the pipe's writing end too. Closed, it leaves
    // the tracer's as the only one: when the tracer closes it, because it
    // gives up, or because it dies, however it dies, our read sees the end
    // of the pipe, and we end. Held, we would wait for ourselves, forever.
    // SAFETY: close is async-signal-safe, and the descriptor is our copy.
    unsafe { libc::close(our_go_writer) };
    // Wait until the tracer writes its one byte: the counters are in place.
    // End of file instead means it gave up.
    let mut byte = 0u8;
    // SAFETY: `byte` is a valid buffer of one byte for read to fill.
    let received = unsafe { libc::read(go.as_raw_fd(), (&raw mut byte).cast(), 1) };
    if received != 1 {
        exit_child();
    }
    // SAFETY: `path` and the strings behind `argv` live until execv returns,
    // and `argv` ends with a null pointer. execv keeps our environment.
    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
    // execv only returns if it failed: send its error number.
    let report = Errno::last_raw().to_ne_bytes();
    // SAFETY: `report` is a valid buffer of its length, which write only reads.
    unsafe { libc::write(failure.as_raw_fd(), report.as_ptr().cast(), report.len()) };
    exit_child()
}
// ANCHOR_END: child

fn exit_child() -> ! {
    // SAFETY: _exit ends the process at once and is async-signal-safe.
    unsafe { libc::_exit(127) }
}

impl Held {
    // ANCHOR: release
    /// Lets the child run the program, and returns once it has: when the
    /// failure pipe closes (execve succeeded) or says why it did not.
    pub fn release(self) -> Result<Pid, String> {
        let Held {
            pid,
            program,
            mut go,
            mut failure,
        } = self;
        if let Err(e) = write_ignoring_sigpipe(&mut go, &[1]) {
            // The child has closed its end: it is gone, or going.
            let _ = waitpid(pid, None);
            return Err(format!(
                "the child that was to run the program is gone ({e}); nothing ran"
            ));
        }
        let mut report = Vec::new();
        let _ = failure.read_to_end(&mut report);
        match <[u8; 4]>::try_from(report.as_slice()) {
            // Nothing to read: execve closed the child's end. It runs.
            Err(_) if report.is_empty() => Ok(pid),
            Ok(errno) => {
                let _ = waitpid(pid, None);
                let errno = Errno::from_raw(i32::from_ne_bytes(errno));
                Err(explain_exec_failure(&program, errno))
            }
            Err(_) => {
                kill_child(pid);
                Err("the child ended before it could run the program".to_string())
            }
        }
    }
    // ANCHOR_END: release

    /// Ends a child that will never be told to go, and reaps it, so that no
    /// process outlives a tracer that gave up. Closing the pipe is enough:
    /// no signal is needed, which a sandbox could refuse us (`kill`).
    pub fn abandon(self) {
        drop(self.go);
        let _ = waitpid(self.pid, None);
    }
}

/// Writes `bytes` to a pipe whose reader, the child, may have died. With no
/// Rust start-up code (main.rs), SIGPIPE keeps its default action, and such
/// a write would kill us without a word; ignored for this one write, it fails
/// with EPIPE instead, which we can explain.
fn write_ignoring_sigpipe(pipe: &mut PipeWriter, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: SIG_IGN and the previous disposition are valid dispositions,
    // and no handler of ours is involved.
    let previous =
        unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) }.map_err(io::Error::from)?;
    let written = pipe.write_all(bytes);
    // SAFETY: as above.
    unsafe { signal(Signal::SIGPIPE, previous) }.map_err(io::Error::from)?;
    written
}

fn kill_child(child: Pid) {
    // Errors are ignored on purpose: the child may already be gone.
    let _ = kill(child, Signal::SIGKILL);
    let _ = waitpid(child, None);
}
// ANCHOR_END: all
