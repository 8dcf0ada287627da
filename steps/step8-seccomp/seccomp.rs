// ANCHOR: all
//! A seccomp filter, built by hand, instruction by instruction.
//!
//! At every syscall, the kernel runs the filter on a small record of the
//! call (`struct seccomp_data`: its number, the ABI, the arguments) and does
//! what the filter returns: allow it, fail it with an errno, kill. The
//! filter is a program for a tiny virtual machine, classic BPF: one
//! register, `A`, loads from the record, compares that jump forward only,
//! and returns. No loops: the kernel can check that it ends.

use nix::errno::Errno;

/// What the filter decides for a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    /// The call fails with this error number, and is never made.
    Errno(u16),
    /// The kernel kills the thread, or the whole process.
    KillThread,
    KillProcess,
    /// The call is not made; the thread gets a SIGSYS.
    Trap,
    /// Allowed, and written to the kernel's audit log.
    Log,
}

impl Action {
    /// The value a BPF `ret` gives the kernel (linux/seccomp.h).
    fn value(self) -> u32 {
        match self {
            Action::Allow => libc::SECCOMP_RET_ALLOW,
            Action::Errno(errno) => libc::SECCOMP_RET_ERRNO | u32::from(errno),
            Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
            Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
            Action::Trap => libc::SECCOMP_RET_TRAP,
            Action::Log => libc::SECCOMP_RET_LOG,
        }
    }
}

/// What EPERM is, as an action: what `--deny` does, and what the filter
/// does to a call from another ABI.
pub const EPERM: Action = Action::Errno(libc::EPERM as u16);

// ANCHOR: data
// Where the fields are in `struct seccomp_data` (linux/seccomp.h):
// int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;

/// The ABI a 64-bit x86 call comes in (linux/audit.h: EM_X86_64, 64-bit,
/// little-endian). A 32-bit call (`int $0x80`) comes as AUDIT_ARCH_I386,
/// and has other numbers: 4 is `write` there, `stat` here.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// x32 calls come as AUDIT_ARCH_X86_64 too, with this bit in the number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
// ANCHOR_END: data

/// A filter program, ready to install.
pub struct Filter {
    program: Vec<libc::sock_filter>,
}

// ANCHOR: build
impl Filter {
    /// The filter that does `rules` (a syscall number and what to do with
    /// it), and `default` for every other x86_64 syscall. Built once, before
    /// fork: the child only installs it.
    pub fn new(rules: &[(u64, Action)], default: Action) -> Filter {
        let mut program = vec![
            // A = the ABI of the call.
            load(ARCH_OFFSET),
            // Not x86_64 (a 32-bit call): refused. The numbers below are
            // x86_64's, and mean other calls in another ABI.
            jump_if_equal(AUDIT_ARCH_X86_64, 1, 0),
            ret(EPERM),
            // A = the syscall number.
            load(NR_OFFSET),
            // An x32 call is the same number with a bit set: a filter that
            // only compares numbers would let it through, whatever it says.
            jump_if_set(X32_SYSCALL_BIT, 0, 1),
            ret(EPERM),
        ];
        // One comparison per syscall: if equal, go on to the next
        // instruction, its `ret`; if not, jump over it.
        for &(number, action) in rules {
            program.push(jump_if_equal(number as u32, 0, 1));
            program.push(ret(action));
        }
        program.push(ret(default));
        Filter { program }
    }
}
// ANCHOR_END: build

// ANCHOR: instructions
/// `A = seccomp_data[offset]`, a 32-bit word.
fn load(offset: u32) -> libc::sock_filter {
    statement(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, offset)
}

/// `return value`: what the kernel must do with the call.
fn ret(action: Action) -> libc::sock_filter {
    statement(libc::BPF_RET | libc::BPF_K, action.value())
}

/// `if A == value`, then skip `if_true` instructions, else `if_false`.
fn jump_if_equal(value: u32, if_true: u8, if_false: u8) -> libc::sock_filter {
    jump(libc::BPF_JEQ, value, if_true, if_false)
}

/// `if A & bits != 0`, then skip `if_true` instructions, else `if_false`.
fn jump_if_set(bits: u32, if_true: u8, if_false: u8) -> libc::sock_filter {
    jump(libc::BPF_JSET, bits, if_true, if_false)
}

fn statement(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(test: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    let code = (libc::BPF_JMP | test | libc::BPF_K) as u16;
    libc::sock_filter { code, jt, jf, k }
}
// ANCHOR_END: instructions

// ANCHOR: install
impl Filter {
    /// Installs the filter on the calling thread, for good: it is kept
    /// across fork and execve, and nothing can remove it. Two syscalls and
    /// no allocation, so a child may call it between fork and exec.
    pub fn install(&self) -> Result<(), Errno> {
        // Without CAP_SYS_ADMIN, the kernel takes a filter only from a
        // process that promises not to gain privileges: a set-user-ID
        // program run under a filter we chose could be fooled into misusing
        // its privileges. With the promise, execve ignores the set-user-ID bit.
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(Errno::last());
        }
        let program = libc::sock_fprog {
            len: self.program.len() as u16,
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: `program` points to our instructions, which outlive the
        // call; the kernel copies them.
        let result = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &program as *const libc::sock_fprog,
            )
        };
        match result {
            0 => Ok(()),
            _ => Err(Errno::last()),
        }
    }
}
// ANCHOR_END: install
// ANCHOR_END: all
