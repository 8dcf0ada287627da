// ANCHOR: all
//! The three syscall tables of an x86_64 kernel, and the `-c` table of each.
//!
//! Step 6 introduces this file; steps 7 to 10 include it unchanged.

use std::collections::BTreeMap;

use syscalls::Sysno;

use crate::options::Selection;
use crate::summary::{self, Summary};

// ANCHOR: abi
/// The syscall tables of an x86_64 kernel. A 64-bit program can make a
/// 32-bit call with `int $0x80` (i386 numbers: 4 is `write`), or an x32
/// call (x86_64 numbers with bit 0x40000000 set); only the kernel's report
/// of each stop says which.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Abi {
    X86_64,
    I386,
    X32,
}

/// The bit that marks a syscall number as x32's.
const X32_SYSCALL_BIT: u64 = 0x4000_0000;

/// The ABI of a syscall stop, from the architecture the kernel reports, and
/// the syscall's number within that ABI's table. The x32 bit makes a call
/// x32's, but for -1, which strace counts as no call of any table: a seccomp
/// filter may leave it in place of a number it refused.
pub fn abi_and_number(arch: u32, number: u64) -> (Abi, u64) {
    match arch {
        AUDIT_ARCH_I386 => (Abi::I386, number),
        _ if number & X32_SYSCALL_BIT != 0 && number != u64::MAX => {
            (Abi::X32, number & !X32_SYSCALL_BIT)
        }
        _ => (Abi::X86_64, number),
    }
}

/// `AUDIT_ARCH_I386` from linux/audit.h: EM_386 (3), little-endian.
const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// x32 shares x86_64's table but for the calls whose structures hold
/// pointers or `long`s, which are smaller in x32: it has its own version of
/// each, numbered from 512 in this order. x86_64's number of one of them is
/// no x32 call, nor are those of the few calls x32 never had: strace names
/// them `ioctl#64`.
#[rustfmt::skip]
const X32_OWN_CALLS: [Sysno; 36] = {
    use Sysno::*;
    [rt_sigaction, rt_sigreturn, ioctl, readv, writev, recvfrom, sendmsg, recvmsg, execve,
     ptrace, rt_sigpending, rt_sigtimedwait, rt_sigqueueinfo, sigaltstack, timer_create,
     mq_notify, kexec_load, waitid, set_robust_list, get_robust_list, vmsplice, move_pages,
     preadv, pwritev, rt_tgsigqueueinfo, recvmmsg, sendmmsg, process_vm_readv,
     process_vm_writev, setsockopt, getsockopt, io_setup, io_submit, execveat, preadv2,
     pwritev2]
};
#[rustfmt::skip]
const NEVER_X32: [Sysno; 12] = {
    use Sysno::*;
    [uselib, _sysctl, create_module, get_kernel_syms, query_module, nfsservctl,
     set_thread_area, get_thread_area, epoll_ctl_old, epoll_wait_old, vserver, uretprobe]
};

/// The name of x32's call `number` (the x32 bit left out).
fn x32_name(number: u64) -> Option<String> {
    if let Some(own) = number.checked_sub(512) {
        return X32_OWN_CALLS
            .get(own as usize)
            .map(|sysno| sysno.name().to_string());
    }
    let sysno = Sysno::new(number as usize)?;
    match X32_OWN_CALLS.contains(&sysno) || NEVER_X32.contains(&sysno) {
        true => Some(format!("{}#64", sysno.name())),
        false => Some(sysno.name().to_string()),
    }
}

impl Abi {
    /// The syscall's name in this ABI's table, as the `syscalls` crate knows
    /// it: strace 6.1 does not know the newest syscalls, and writes
    /// `syscall_0x1c3` where we write their names. A number that is in no
    /// table is written as the program passed it, as strace writes it.
    pub fn syscall_name(self, number: u64) -> String {
        let (name, passed) = match self {
            Abi::X86_64 => (
                Sysno::new(number as usize).map(|s| s.name().to_string()),
                number,
            ),
            Abi::I386 => {
                let sysno = syscalls::x86::Sysno::new(number as usize);
                (sysno.map(|s| s.name().to_string()), number)
            }
            Abi::X32 => (x32_name(number), number | X32_SYSCALL_BIT),
        };
        name.unwrap_or_else(|| format!("syscall_{passed:#x}"))
    }

    /// Whether `-e trace=` selects this syscall. Names select: `write`
    /// selects `int $0x80`'s write (4) as well as x86_64's (1).
    pub fn selected(self, selection: &Selection, number: u64) -> bool {
        match self {
            Abi::X86_64 => selection.contains(number),
            _ => match self.syscall_name(number).parse::<Sysno>() {
                Ok(sysno) => selection.contains(sysno as u64),
                Err(_) => !matches!(selection, Selection::Only(_)),
            },
        }
    }

    /// The name strace gives the ABI.
    pub fn mode(self) -> &'static str {
        match self {
            Abi::X86_64 => "64 bit",
            Abi::I386 => "32 bit",
            Abi::X32 => "x32",
        }
    }
}
// ANCHOR_END: abi

// ANCHOR: tables
/// The `-c` counts, one table per ABI.
pub type Tables = BTreeMap<Abi, Summary>;

/// The `-c` tables in strace's layout, line by line: one per ABI the program
/// used, x86_64's first and with no heading.
pub fn tables(tables: &Tables) -> Vec<String> {
    let mut lines = Vec::new();
    for (abi, table) in tables {
        if *abi != Abi::X86_64 {
            lines.push(format!(
                "System call usage summary for {} mode:",
                abi.mode()
            ));
        }
        lines.extend(summary::table(table, |number| abi.syscall_name(number)));
    }
    lines
}
// ANCHOR_END: tables
// ANCHOR_END: all
