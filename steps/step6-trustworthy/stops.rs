// ANCHOR: all
//! A program stopped by a signal (SIGSTOP, Ctrl-Z) stays stopped under the
//! tracer, and how the tracer ends: when the program is killed, and when we
//! are told to end.
//!
//! Step 6 introduces this file; steps 7 to 10 include it unchanged.

use std::process;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
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

// ANCHOR: endings
/// The signals that tell a tracer to end: its terminal hangs up (SIGHUP),
/// `kill` (SIGTERM), the reader of its trace has gone (SIGPIPE). strace
/// then lets the program go (see `let_go`), prints its `-c` table, and dies
/// of the signal; so do we. But when strace started the program and writes
/// its trace to a file (`-o`), it takes no such order: the terminal, and
/// what comes from it, are the program's (its `-I` option can change that).
pub const ENDINGS: [Signal; 3] = [Signal::SIGHUP, Signal::SIGTERM, Signal::SIGPIPE];

/// For a program we started: end on ENDINGS, or, with the trace in a file,
/// ignore them. Set after fork, as `ignore_terminal_interrupts`.
pub fn endings(trace_in_a_file: bool) {
    if !trace_in_a_file {
        return end_on(&ENDINGS);
    }
    for ending in ENDINGS {
        // SAFETY: ignoring a signal installs no handler.
        let _ = unsafe { signal::signal(ending, SigHandler::SigIgn) };
    }
}

/// The ending that has come, if one has (its number), set by `note`.
static TOLD: AtomicI32 = AtomicI32::new(0);

/// From now on, any of `signals` tells us to end: its handler notes it, and
/// `wait` returns it in place of the next report.
pub fn end_on(signals: &[Signal]) {
    // No SA_RESTART: a signal that comes while waitpid waits interrupts it
    // (EINTR), and `wait` sees the note at once.
    let on = |signal, handler| {
        let action = SigAction::new(
            SigHandler::Handler(handler),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: both handlers only store a number and set a timer, which
        // is safe whatever the signal interrupts (signal-safety(7)).
        let _ = unsafe { signal::sigaction(signal, &action) };
    };
    for &signal in signals {
        on(signal, note);
    }
    on(Signal::SIGALRM, wake);
}

/// The handler of an ending. One that comes just before waitpid starts to
/// wait cannot interrupt it, and waitpid could wait for as long as the
/// program makes no syscall: so the note comes with an alarm, 10 ms later,
/// whose signal interrupts that wait.
extern "C" fn note(signal: libc::c_int) {
    TOLD.store(signal, Ordering::Relaxed);
    let soon = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: 0,
            tv_usec: 10_000,
        },
    };
    // SAFETY: setitimer only reads `soon`, and is async-signal-safe.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &soon, std::ptr::null_mut()) };
}

/// The alarm's handler: it is there only to interrupt waitpid.
extern "C" fn wake(_: libc::c_int) {}

/// What waiting brings: a report from a thread, or an order to end.
pub enum Waited {
    Report(WaitStatus),
    Told(Signal),
}

/// Waits for a report from `pid` (from any thread we trace, if `None`), or
/// for an ending, whichever comes first. An ending that came while we were
/// busy is seen before anything else, however busy the threads are.
pub fn wait(pid: Option<Pid>) -> nix::Result<Waited> {
    loop {
        if let Ok(signal) = Signal::try_from(TOLD.load(Ordering::Relaxed)) {
            return Ok(Waited::Told(signal));
        }
        match waitpid(pid, Some(WaitPidFlag::__WALL)) {
            Err(Errno::EINTR) => {}
            other => return other.map(Waited::Report),
        }
    }
}
// ANCHOR_END: endings

// ANCHOR: let_go
/// Told to end: the program we started gets the same signal, as strace
/// gives it, and a SIGCONT before it, should it be stopped; and we let it
/// go. It then ends as it would have untraced, or, if it handles the
/// signal, runs on, untraced. A thread can be detached only while it is
/// stopped for us, so we stop it (`PTRACE_INTERRUPT`); if it stops with a
/// signal on its way (one of those we just sent), detaching passes it on.
/// Returns whether it did let it go (it may have ended first).
pub fn let_go(child: Pid, signal: Signal) -> bool {
    let _ = kill(child, Signal::SIGCONT);
    let _ = kill(child, signal);
    let _ = ptrace::interrupt(child);
    let passed_on = loop {
        match waitpid(child, Some(WaitPidFlag::__WALL)) {
            Err(Errno::EINTR) => continue,
            Ok(WaitStatus::Stopped(_, signal)) => break Some(signal),
            Ok(WaitStatus::PtraceEvent(..) | WaitStatus::PtraceSyscall(_)) => break None,
            // It has ended: there is nothing to let go.
            _ => return false,
        }
    };
    ptrace::detach(child, passed_on).is_ok()
}
// ANCHOR_END: let_go

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
