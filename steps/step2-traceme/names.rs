// ANCHOR: all
//! The name of the syscall a stopped child made, as far as its registers and
//! its code can tell: steps 2 to 4 know one table, x86_64's.
//!
//! Step 2 introduces this file; steps 3 and 4 include it unchanged.

use libc::user_regs_struct;
use nix::sys::ptrace;
use nix::unistd::Pid;
use syscalls::Sysno;

// ANCHOR: names
/// The name of x86_64 syscall `number`, as strace writes it: `syscall_0x…`
/// for a number that is no syscall.
pub fn syscall_name(number: u64) -> String {
    match Sysno::new(number as usize) {
        Some(sysno) => sysno.name().to_string(),
        None => format!("syscall_{number:#x}"),
    }
}

/// The name of a syscall, or, for a 32-bit one, what we know of it: its
/// number. A 32-bit call is numbered from another table, where 4 is `write`
/// (here, `stat`): naming it from ours would be wrong. Step 6 has that table.
pub fn call_name(number: u64, is_32bit: bool) -> String {
    if is_32bit {
        format!("32-bit syscall {number}")
    } else {
        syscall_name(number)
    }
}

/// Whether syscall `number` runs another program: `execve` or `execveat`, 59
/// and 322 in the 64-bit table, 11 and 358 in the 32-bit one.
pub fn is_exec(number: u64, is_32bit: bool) -> bool {
    let execs = match is_32bit {
        false => [Sysno::execve as u64, Sysno::execveat as u64],
        true => [11, 358],
    };
    execs.contains(&number)
}

/// Whether the child runs 32-bit code, a 32-bit program: its code segment
/// register is 0x23 (64-bit code runs in 0x33).
pub fn runs_32bit_code(regs: &user_regs_struct) -> bool {
    regs.cs == 0x23
}

/// Whether the syscall the child is stopped at is a 32-bit one: a 32-bit
/// program's, or one that a 64-bit program made with the `int $0x80`
/// instruction (bytes cd 80), which ends just before `rip`, where the
/// program resumes. (64-bit calls use `syscall`, bytes 0f 05.)
pub fn is_32bit(child: Pid, regs: &user_regs_struct) -> bool {
    const INT_0X80: u16 = u16::from_le_bytes([0xcd, 0x80]);
    let instruction = regs.rip.wrapping_sub(2) as ptrace::AddressType;
    // PTRACE_PEEKDATA: a word of the child's memory, read through ptrace.
    runs_32bit_code(regs)
        || ptrace::read(child, instruction).is_ok_and(|word| word as u16 == INT_0X80)
}
// ANCHOR_END: names
// ANCHOR_END: all
