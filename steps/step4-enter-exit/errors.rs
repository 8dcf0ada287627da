// ANCHOR: all
//! A failed syscall's result, as strace writes it: `-1 ENOENT (No such file
//! or directory)`, or `? ERESTARTSYS (…)` for the kernel's own restarts.
//!
//! Step 4 introduces this file; step 5's decode.rs includes it unchanged, and
//! so steps 5 to 9.

use std::ffi::CStr;

use syscalls::Errno;

/// An error: its name and the C library's text for it. The kernel's own
/// "restart" errors, which a signal's arrival makes, never reach the program
/// (the kernel restarts the call, or turns them into EINTR), and have no
/// text of the C library's: strace writes them with `?`, and its own text.
pub fn format_error(errno: i32) -> String {
    let restart = match errno {
        512 => Some(("ERESTARTSYS", "To be restarted if SA_RESTART is set")),
        513 => Some(("ERESTARTNOINTR", "To be restarted")),
        514 => Some(("ERESTARTNOHAND", "To be restarted if no handler")),
        516 => Some(("ERESTART_RESTARTBLOCK", "Interrupted by signal")),
        _ => None,
    };
    if let Some((name, text)) = restart {
        return format!("? {name} ({text})");
    }
    let name = Errno::new(errno)
        .name_and_description()
        .map_or("E???", |(name, _)| name);
    format!("-1 {name} ({})", error_description(errno))
}

/// The C library's text for an error number: the one strace prints.
fn error_description(errno: i32) -> String {
    // SAFETY: strerror returns a pointer to a NUL-terminated string that stays
    // valid until the next strerror call; we copy it at once, on our only thread.
    unsafe { CStr::from_ptr(libc::strerror(errno)) }
        .to_string_lossy()
        .into_owned()
}
// ANCHOR_END: all
