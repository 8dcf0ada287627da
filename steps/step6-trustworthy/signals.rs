// ANCHOR: all
//! Signals as strace shows them: `SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER,
//! si_pid=42, si_uid=0}`, from what `PTRACE_GETSIGINFO` says of a signal on
//! its way to the program: who sent it, and why. The signals' names are
//! step 5's (decode.rs).
//!
//! Step 6 introduces this file.

use crate::decode::{address, signal_name as name};

// ANCHOR: describe
/// The signal and its `siginfo_t`, as strace prints them between `---`.
pub fn describe(info: &libc::siginfo_t) -> String {
    let signo = info.si_signo;
    let mut fields = vec![
        format!("si_signo={}", name(signo)),
        format!("si_code={}", code_name(signo, info.si_code)),
    ];
    // SAFETY: each accessor reads the union member that this kind of signal
    // fills in, as siginfo_t(3type) lists them.
    unsafe {
        match info.si_code {
            // Sent by a process (kill, tgkill, sigqueue): who.
            libc::SI_USER | libc::SI_TKILL | libc::SI_QUEUE if signo != libc::SIGCHLD => {
                fields.push(format!("si_pid={}", info.si_pid()));
                fields.push(format!("si_uid={}", info.si_uid()));
                if info.si_code == libc::SI_QUEUE {
                    let value = info.si_value().sival_ptr as u64;
                    fields.push(format!("si_int={}", value as i32));
                    fields.push(format!("si_ptr={}", address(value)));
                }
            }
            // Sent by the kernel about a child: which, and how it ended.
            code if signo == libc::SIGCHLD && code > 0 => {
                fields.push(format!("si_pid={}", info.si_pid()));
                fields.push(format!("si_uid={}", info.si_uid()));
                let status = info.si_status();
                let status = match code {
                    CLD_EXITED => status.to_string(),
                    _ => name(status),
                };
                fields.push(format!("si_status={status}"));
                fields.push(format!("si_utime={}", cpu_time(info.si_utime())));
                fields.push(format!("si_stime={}", cpu_time(info.si_stime())));
            }
            // A fault: at which address.
            code if code > 0 && is_fault(signo) => {
                fields.push(format!("si_addr={}", address(info.si_addr() as u64)));
            }
            _ => {}
        }
    }
    format!("{} {{{}}}", name(signo), fields.join(", "))
}
// ANCHOR_END: describe

const CLD_EXITED: i32 = 1;

/// A child's CPU time, in clock ticks, as strace shows it: `0`, or
/// `3 /* 0.03 s */` (`sysconf(_SC_CLK_TCK)` ticks a second, 100 on Linux).
fn cpu_time(ticks: libc::clock_t) -> String {
    // SAFETY: sysconf only reads one of the system's constants.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    if ticks <= 0 {
        return ticks.to_string();
    }
    let digits = per_second.ilog10() as usize;
    let fraction = (ticks % per_second) * 10_i64.pow(digits as u32) / per_second;
    let seconds = ticks / per_second;
    format!("{ticks} /* {seconds}.{fraction:0digits$} s */")
}

/// The signals that the kernel sends for a fault of the program's own.
fn is_fault(signo: i32) -> bool {
    [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGTRAP,
    ]
    .contains(&signo)
}

/// Why the signal was sent, as `<signal.h>` names it: the general codes,
/// then those that mean something for one signal only.
fn code_name(signo: i32, code: i32) -> String {
    let general = match code {
        libc::SI_USER => Some("SI_USER"),
        libc::SI_KERNEL => Some("SI_KERNEL"),
        libc::SI_QUEUE => Some("SI_QUEUE"),
        libc::SI_TIMER => Some("SI_TIMER"),
        libc::SI_MESGQ => Some("SI_MESGQ"),
        libc::SI_ASYNCIO => Some("SI_ASYNCIO"),
        libc::SI_SIGIO => Some("SI_SIGIO"),
        libc::SI_TKILL => Some("SI_TKILL"),
        _ => None,
    };
    let specific: &[&str] = match signo {
        libc::SIGCHLD => &[
            "CLD_EXITED",
            "CLD_KILLED",
            "CLD_DUMPED",
            "CLD_TRAPPED",
            "CLD_STOPPED",
            "CLD_CONTINUED",
        ],
        libc::SIGSEGV => &["SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"],
        libc::SIGBUS => &["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR"],
        libc::SIGTRAP => &["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT"],
        libc::SIGILL => &[
            "ILL_ILLOPC",
            "ILL_ILLOPN",
            "ILL_ILLADR",
            "ILL_ILLTRP",
            "ILL_PRVOPC",
            "ILL_PRVREG",
            "ILL_COPROC",
            "ILL_BADSTK",
        ],
        libc::SIGFPE => &[
            "FPE_INTDIV",
            "FPE_INTOVF",
            "FPE_FLTDIV",
            "FPE_FLTOVF",
            "FPE_FLTUND",
            "FPE_FLTRES",
            "FPE_FLTINV",
            "FPE_FLTSUB",
        ],
        _ => &[],
    };
    let specific = code
        .checked_sub(1)
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| specific.get(i).copied());
    general
        .or(specific)
        .map_or_else(|| code.to_string(), str::to_string)
}

// ANCHOR_END: all
