// ANCHOR: all
//! Ctrl-C, `kill` and a terminal that goes away: the signals that ask the
//! tracer to end. It must not lose what `-c` has counted, nor leave the
//! program behind.
//!
//! Step 4 introduces this file.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::Pid;

/// Ctrl-C (SIGINT), `kill` (SIGTERM), a closed terminal (SIGHUP).
const ENDING_SIGNALS: [Signal; 3] = [Signal::SIGHUP, Signal::SIGINT, Signal::SIGTERM];

// ANCHOR: handler
/// What the handler needs and leaves: the child to kill, and the signal that
/// came (0 until one does). A handler runs between any two instructions of
/// the tracer, so it touches nothing else, and only with atomic operations.
static CHILD: AtomicI32 = AtomicI32::new(0);
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// From now on, an ending signal kills `child` at once, as the kernel would
/// (`PTRACE_O_EXITKILL`) had the signal killed the tracer, and is noted for
/// `received`. The tracer goes on, to the child's end, and then shows what it
/// has. A signal that was ignored stays ignored: whoever started the tracer
/// wanted it so (`nohup` ignores SIGHUP).
pub fn kill_child_on_ending_signals(child: Pid) {
    CHILD.store(child.as_raw(), Ordering::SeqCst);
    // SA_RESTART: a waitpid that the signal interrupts goes on waiting, and
    // sees the child's end.
    let action = SigAction::new(
        SigHandler::Handler(on_ending_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in ENDING_SIGNALS {
        // SAFETY: the handler makes only async-signal-safe calls (kill, and
        // atomic loads and stores), and the old action is put back as it was.
        unsafe {
            if let Ok(old) = signal::sigaction(signal, &action)
                && matches!(old.handler(), SigHandler::SigIgn)
            {
                let _ = signal::sigaction(signal, &old);
            }
        }
    }
}

extern "C" fn on_ending_signal(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
    let child = CHILD.load(Ordering::SeqCst);
    // Never 0 here (set before the handler), and never to be: kill(0, …)
    // would kill our whole process group.
    if child > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(child, libc::SIGKILL) };
    }
}
// ANCHOR_END: handler

/// The ending signal that came, if one did.
pub fn received() -> Option<Signal> {
    Signal::try_from(RECEIVED.load(Ordering::SeqCst)).ok()
}

/// Ends the tracer by `signal`, as it would have ended without a handler, and
/// as strace ends: its parent, a shell say, sees the same death.
pub fn die_of(signal: Signal) -> ! {
    // SAFETY: the default action replaces our handler, for this signal only.
    let _ = unsafe { signal::signal(signal, SigHandler::SigDfl) };
    let _ = signal::raise(signal);
    // Not reached: the default action of each of the three ends the process.
    std::process::exit(128 + signal as i32)
}
// ANCHOR_END: all
