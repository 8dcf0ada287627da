// ANCHOR: all
//! Starting a program under ptrace, and cleaning up if tracing goes wrong.
//!
//! Step 2 introduces this file; steps 3 and 4 include it unchanged, so that
//! their `main.rs` holds only what they add.

use std::env;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::ptr;

use nix::sys::ptrace;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// Exit codes of a child that never reached the program: with ptrace, the
/// first thing a successful child reports is a stop, never an exit, so an exit
/// here can only mean that the child gave up before its `execve` succeeded.
const CHILD_TRACEME_REFUSED: i32 = 126;
const CHILD_EXEC_FAILED: i32 = 127;

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

    // Rust's runtime set SIGPIPE to "ignore" at startup. Put back the default
    // before fork, for both processes. The child keeps it through execve (an
    // ignored signal would stay ignored), so that `stepN yes | head` ends like
    // `yes | head` does. And the tracer, like strace, ends quietly when the
    // reader of its trace goes away (`stepN ls 2>&1 | head`), instead of
    // failing on a write to stderr. (Had whoever started the tracer ignored
    // SIGPIPE, the program should inherit that; Rust's runtime leaves us no
    // way to know, so we pick the usual default.)
    // SAFETY: this program has one thread, and SIG_DFL installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };

    // SAFETY: this program has a single thread, and the child only makes
    // async-signal-safe calls before it replaces itself with `execv`.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => become_traced_program(&path, &argv),
        Ok(ForkResult::Parent { child }) => {
            wait_for_exec(child, &program)?;
            die_with_tracer(child)?;
            Ok(child)
        }
        Err(errno) => Err(format!("fork failed: {errno}")),
    }
}
// ANCHOR_END: spawn_traced

// ANCHOR: child
/// The child's side: ask to be traced, then become the program.
///
/// After fork, the child is a copy of a process whose other threads (had it
/// any) vanished mid-work, perhaps holding the memory allocator's lock. So it
/// must not allocate, lock or print: only async-signal-safe calls (see
/// signal-safety(7)) until `execv` gives it a fresh memory image.
fn become_traced_program(path: &CString, argv: &[*const libc::c_char]) -> ! {
    // "My parent will trace me": from now on, the kernel stops this process
    // and notifies the parent at every signal, and sends it a SIGTRAP right
    // after a successful execve.
    if ptrace::traceme().is_err() {
        // SAFETY: _exit ends the process at once and is async-signal-safe.
        unsafe { libc::_exit(CHILD_TRACEME_REFUSED) };
    }

    // SAFETY: `path` and the strings behind `argv` live until execv returns,
    // and `argv` ends with a null pointer. execv keeps our environment.
    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };

    // execv only returns if it failed.
    // SAFETY: as above.
    unsafe { libc::_exit(CHILD_EXEC_FAILED) }
}
// ANCHOR_END: child

// ANCHOR: wait_for_exec
/// Waits for the child's first report: a SIGTRAP stop right after `execve`
/// means the program is loaded, stopped before its first instruction.
fn wait_for_exec(child: Pid, program: &Path) -> Result<(), String> {
    match waitpid(child, None) {
        Ok(WaitStatus::Stopped(_, Signal::SIGTRAP)) => Ok(()),
        Ok(WaitStatus::Exited(_, CHILD_TRACEME_REFUSED)) => Err(
            "the system refused ptrace (PTRACE_TRACEME failed): in a container, allow ptrace \
             (e.g. docker run --cap-add=SYS_PTRACE); see the book's appendix \"When it does not run\""
                .to_string(),
        ),
        Ok(WaitStatus::Exited(_, CHILD_EXEC_FAILED)) => Err(format!(
            "cannot execute {}: the kernel refused to run it (is it a program for this machine?)",
            program.display()
        )),
        Ok(other) => {
            kill_child(child);
            Err(format!("unexpected first report from the child: {other:?}"))
        }
        Err(errno) => {
            kill_child(child);
            Err(format!("waitpid failed: {errno}"))
        }
    }
}
// ANCHOR_END: wait_for_exec

// ANCHOR: die_with_tracer
/// Asks the kernel to kill the child if the tracer ends first: on Ctrl-C in
/// the terminal, say, or a crash. Otherwise the kernel would only detach it,
/// and the program would run on, untraced. (A tracer killed in the few
/// microseconds between the child's exec and this call still leaves it
/// behind: TRACEME gives no way to ask earlier.)
fn die_with_tracer(child: Pid) -> Result<(), String> {
    ptrace::setoptions(child, ptrace::Options::PTRACE_O_EXITKILL).map_err(|errno| {
        kill_child(child);
        format!("cannot set ptrace options: {errno}")
    })
}
// ANCHOR_END: die_with_tracer

/// Kills a child that we can no longer trace, and reaps it, so that no
/// half-traced process outlives the tracer.
pub fn kill_child(child: Pid) {
    // Errors are ignored on purpose: the child may already be gone.
    let _ = kill(child, Signal::SIGKILL);
    let _ = waitpid(child, None);
}

/// Finds the program to run the way a shell does: a name with a slash is a
/// path; any other name is looked up in each directory of `PATH` in turn.
/// Doing it before fork lets us say clearly what is wrong while we still can.
fn find_program(name: &OsStr) -> Result<PathBuf, String> {
    let shown = name.to_string_lossy();
    if name.as_bytes().contains(&b'/') {
        let path = PathBuf::from(name);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "cannot run '{shown}': no executable file at that path"
            ))
        };
    }
    let search_path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&search_path)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
        .ok_or_else(|| {
            format!(
                "cannot find '{shown}' in PATH: check the spelling, or give a path like ./{shown}"
            )
        })
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn c_string(text: &OsStr) -> Result<CString, String> {
    CString::new(text.as_bytes()).map_err(|_| {
        let shown = text.to_string_lossy();
        format!("'{shown}' contains a NUL byte, which cannot be passed to a program")
    })
}
// ANCHOR_END: all
