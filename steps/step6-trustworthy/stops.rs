// ANCHOR: all
//! A program stopped by a signal (SIGSTOP, Ctrl-Z) stays stopped under the
//! tracer, and how the tracer ends when the program is killed.
//!
//! Step 6 introduces this file; steps 7 to 9 include it unchanged.

use std::process;

use nix::sys::signal::{self, SigHandler, SigSet, Signal};
use nix::unistd::Pid;

// ANCHOR: group_stop
/// The signals that stop a program (their default action is "stop").
pub fn is_stopping(signal: Signal) -> bool {
    matches!(
        signal,
        Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
    )
}

/// `PTRACE_LISTEN`: leave a seized child in its group-stop, but tell us when
/// it leaves it (SIGCONT) or dies. `PTRACE_SYSCALL` would start it again:
/// the job control of the shell the program runs in would be broken.
pub fn listen(child: Pid) -> nix::Result<()> {
    // SAFETY: PTRACE_LISTEN takes no address or data.
    let result = unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            child.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    nix::errno::Errno::result(result).map(drop)
}
// ANCHOR_END: group_stop

// ANCHOR: ignore_interrupts
/// Ctrl-C and Ctrl-\ in a terminal signal the whole foreground process
/// group: the program and us. They are for the program; we stay, to report
/// how it took them. Set after fork, so that the program inherits what we
/// were given, not this.
pub fn ignore_terminal_interrupts() {
    for signal in [Signal::SIGINT, Signal::SIGQUIT] {
        // SAFETY: ignoring a signal installs no handler, so no code of ours
        // can run at a bad moment.
        let _ = unsafe { signal::signal(signal, SigHandler::SigIgn) };
    }
}
// ANCHOR_END: ignore_interrupts

/// How the program ended: the tracer ends the same way.
pub enum Ending {
    Exited(i32),
    Killed(Signal),
}

// ANCHOR: die_like
/// Ends the tracer by `signal`, the one that killed the program, so that
/// whoever started us (a shell, a script) sees the program's death, as with
/// strace. Without leaving a core file of ours: it would be the tracer's,
/// of no use, and might overwrite the program's.
pub fn die_like_the_program(signal: Signal) -> ! {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls with valid arguments; what they change is ours.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        let _ = signal::signal(signal, SigHandler::SigDfl);
    }
    let mut only_this = SigSet::empty();
    only_this.add(signal);
    let _ = only_this.thread_unblock();
    let _ = signal::raise(signal);
    // Only signals that kill get here, but should one not: the shell's way.
    process::exit(128 + signal as i32)
}
// ANCHOR_END: die_like
// ANCHOR_END: all
