// ANCHOR: all
//! `--sandbox PROFILE.json`: the program runs under the profile's filter,
//! untraced. No tracer is needed to enforce a profile: the kernel does.
//!
//! Step 8 introduces this file; step 9 includes it unchanged.

use std::ffi::{CString, OsString};

use nix::errno::Errno;

use crate::exec;
use crate::profile::Profile;
use crate::seccomp::Filter;

// ANCHOR: sandbox
/// `--sandbox`: installs the profile's filter on ourselves and becomes the
/// program, which keeps it, as will everything it starts. Returns only if
/// that fails, with what to say.
pub fn run_sandboxed(profile: &Profile, command: &[OsString]) -> String {
    let filter = Filter::new(&profile.rules, profile.default);
    // Everything is ready before the filter goes on: after it, our only
    // syscall is the execve, which the profile must allow, as Docker's do.
    let program = match exec::find_program(&command[0]) {
        Ok(program) => program,
        Err(message) => return message,
    };
    let args: Result<Vec<CString>, String> = command.iter().map(|a| exec::c_string(a)).collect();
    let (path, args) = match (exec::c_string(program.as_os_str()), args) {
        (Ok(path), Ok(args)) => (path, args),
        (Err(message), _) | (_, Err(message)) => return message,
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(std::ptr::null());
    if let Err(errno) = filter.install() {
        return format!("cannot install the seccomp filter: {}", errno.desc());
    }
    // SAFETY: `path` and the strings behind `argv` live until execv
    // returns, and `argv` ends with a null pointer.
    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
    // Only if the filter lets us write it (the profile allows write).
    let errno = Errno::last();
    format!(
        "cannot execute {} under the profile: {} (does the profile allow execve?)",
        program.display(),
        errno.desc()
    )
}
// ANCHOR_END: sandbox
// ANCHOR_END: all
