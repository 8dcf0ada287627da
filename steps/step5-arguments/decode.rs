// ANCHOR: all
//! Decoding a syscall's arguments and result into text, as strace writes them.
//!
//! Everything here is formatting: given the syscall (its number, its six
//! argument registers), a way to read the tracee's memory, and at the end the
//! result, it makes `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)` and
//! `3`. Nothing here knows how the tracer stops the tracee.
//!
//! Some arguments must be read when the syscall starts, because the kernel
//! consumes them (`write`'s bytes, a path); others when it ends, because the
//! kernel fills them (`read`'s bytes, a `stat` structure). So decoding is in
//! two halves: [`Decoder::entry`] at the entry stop, [`Decoder::exit`] at the
//! exit stop, with a [`Pending`] call carried between them.
//!
//! What a tracer uses: a [`Decoder`] (the tracee's [`Memory`] and `-s`), a
//! [`Syscall`] built from the registers at each entry stop, then `entry`,
//! `exit`, or `unfinished` for a call that never returned;
//! `execve_from_new_stack` for an `execve` seen only at its exit; and the
//! names: [`syscall_name`], [`signal_name`], [`error_number`].
//!
//! Step 5 introduces this file; steps 6 to 9 include it unchanged (with
//! memory.rs, which it needs as `crate::memory`).

use std::fmt::Write;

use syscalls::Sysno;

use crate::errors::format_error;
use crate::memory::{Memory, Plain};

// ANCHOR: api
/// A syscall as its entry stop shows it.
#[derive(Clone, Copy)]
pub struct Syscall {
    /// The syscall's number (`orig_rax`).
    pub number: u64,
    /// The six argument registers: rdi, rsi, rdx, r10, r8, r9.
    pub args: [u64; 6],
    /// The stack pointer (`rsp`), where `rt_sigreturn` finds its frame.
    pub stack_pointer: u64,
}

/// How to read the tracee and how much of its strings to show.
pub struct Decoder {
    pub memory: Memory,
    /// `-s N`: the most bytes of a string or buffer to show (paths are
    /// always whole, as in strace).
    pub string_limit: usize,
}

/// A syscall between its entry and its exit: what could be decoded at the
/// entry, and what is left for the exit.
pub struct Pending {
    syscall: Syscall,
    shown: Vec<Shown>,
}

/// One argument of a pending call.
enum Shown {
    /// Decoded at the entry.
    Text(String),
    /// To decode at the exit, once the kernel has filled it.
    AtExit(Arg, u64),
    /// The same, written right after the argument before it, with no `, `:
    /// its text brings its own (clone's `, child_tidptr=…`).
    JoinedAtExit(Arg, u64),
}

impl Decoder {
    /// At the entry stop: decodes what the kernel is about to read.
    pub fn entry(&self, syscall: Syscall) -> Pending {
        let (args, _) = signature(syscall.number);
        let args = args.unwrap_or(&RAW_SIX);
        let shown = args
            .iter()
            .zip(syscall.args)
            .filter_map(|(&arg, value)| match self.when(arg, &syscall) {
                When::Entry => self.format(arg, value, &syscall, None).map(Shown::Text),
                When::Exit => Some(Shown::AtExit(arg, value)),
                When::JoinedAtExit => Some(Shown::JoinedAtExit(arg, value)),
            })
            .collect();
        Pending { syscall, shown }
    }

    /// At the exit stop: decodes what the kernel wrote, and returns the call
    /// (`name(args)`) and its result (`= ` not included).
    pub fn exit(&self, pending: &Pending, rax: u64) -> (String, String) {
        let call = self.call_text(pending, Some(rax));
        (call, self.result(&pending.syscall, rax))
    }

    /// A call that never returned (`exit_group`, or a program killed inside
    /// a syscall): what is left for the exit is shown as addresses.
    pub fn unfinished(&self, pending: &Pending) -> String {
        self.call_text(pending, None)
    }
}

impl Pending {
    /// What the entry decoded, as strace prints it at the entry: the
    /// arguments up to the first that only the exit can show, and the `, `
    /// before that one, unless its own text brings it (`read(3, `, but
    /// `clone(child_stack=NULL, flags=SIGCHLD`); and whether the exit has
    /// more to show. (Step 7 prints a call in two parts when another
    /// thread's line comes between; until then it goes unused.)
    #[allow(dead_code)]
    pub fn entry_args(&self) -> (String, bool) {
        let decoded: Vec<&str> = self
            .shown
            .iter()
            .map_while(|shown| match shown {
                Shown::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let mut text = decoded.join(", ");
        let next = self.shown.get(decoded.len());
        if matches!(next, Some(Shown::AtExit(..))) && !decoded.is_empty() {
            text.push_str(", ");
        }
        (text, next.is_some())
    }
}
// ANCHOR_END: api

impl Decoder {
    // ANCHOR: execve_from_new_stack
    /// The `execve` that started the program, seen only at its exit: the
    /// memory its arguments were in is gone, but the kernel copied them to
    /// the top of the new program's stack, where the stack pointer points:
    /// `argc`, the `argv` pointers and a NULL, the `envp` pointers and a
    /// NULL, then the auxiliary vector, whose `AT_EXECFN` entry points at the
    /// path that `execve` was given. Returns the call, `execve(...)`.
    pub fn execve_from_new_stack(&self, stack_pointer: u64) -> String {
        let argv = stack_pointer + 8;
        let argc: u64 = self.memory.read_value(stack_pointer).unwrap_or(0);
        let envp = argv + 8 * (argc + 1);
        let env_count = self.pointer_array(envp, 100_000).map_or(0, |p| p.len());
        let auxv = envp + 8 * (env_count as u64 + 1);
        let path = self.auxiliary_value(auxv, AT_EXECFN);
        let path = path.map_or_else(|| "?".to_string(), |path| self.path(path));
        format!("execve({path}, {}, {})", self.argv(argv), self.envp(envp))
    }

    /// The value of entry `key` of the auxiliary vector at `auxv`: pairs of
    /// (key, value), up to a key of 0.
    fn auxiliary_value(&self, auxv: u64, key: u64) -> Option<u64> {
        (0..64).find_map(|i| {
            let [found, value] = self.memory.read_value::<[u64; 2]>(auxv + 16 * i)?;
            (found == key).then_some(value)
        })
    }
    // ANCHOR_END: execve_from_new_stack
}

impl Decoder {
    fn call_text(&self, pending: &Pending, rax: Option<u64>) -> String {
        let mut args = String::new();
        for shown in &pending.shown {
            let (text, joined) = match (shown, rax) {
                (Shown::Text(text), _) => (Some(text.clone()), false),
                (Shown::AtExit(arg, value), Some(rax)) => (
                    self.format(*arg, *value, &pending.syscall, Some(rax)),
                    false,
                ),
                (Shown::AtExit(_, value), None) => (Some(address(*value)), false),
                (Shown::JoinedAtExit(arg, value), Some(rax)) => {
                    (self.format(*arg, *value, &pending.syscall, Some(rax)), true)
                }
                // Its text depends on the result: there is none.
                (Shown::JoinedAtExit(..), None) => (None, true),
            };
            if let Some(text) = text {
                if !args.is_empty() && !joined {
                    args.push_str(", ");
                }
                args.push_str(&text);
            }
        }
        format!("{}({args})", syscall_name(pending.syscall.number))
    }
}

/// The name of syscall number `number`, as strace writes it.
pub fn syscall_name(number: u64) -> String {
    match Sysno::new(number as usize) {
        Some(sysno) => sysno.name().to_string(),
        None => format!("syscall_{number:#x}"),
    }
}

/// The error number in a syscall's result, if it failed. The kernel returns
/// -1 to -4095 for errors (-errno); anything else is a result.
pub fn error_number(rax: u64) -> Option<i32> {
    let value = rax as i64;
    (-4095..=-1).contains(&value).then_some(-value as i32)
}

// ---------------------------------------------------------------------------
// The table.

// ANCHOR: arg
/// How to show one argument.
#[derive(Clone, Copy)]
enum Arg {
    // Numbers.
    Int,
    Long,
    ULong,
    Hex,
    /// An address, `NULL` when zero.
    Pointer,
    /// A file mode in octal, `0644`.
    Mode,
    /// A file descriptor, or `AT_FDCWD` for "the current directory".
    DirFd,
    /// One value from a list of names (`SEEK_SET`, `RLIMIT_STACK`).
    Named(&'static [(u64, &'static str)]),
    /// A set of flags, `PROT_READ|PROT_WRITE`.
    Flags(&'static [(u64, &'static str)]),
    OpenFlags,
    /// `openat`'s mode: shown only when the flags create a file.
    ModeIfCreating,
    AccessMode,
    Signal,
    /// `statx`'s flags: how to synchronise, then `AT_` flags.
    StatxFlags,
    /// `socket`'s type (`SOCK_STREAM`) and flags (`SOCK_CLOEXEC`).
    SocketType,

    // Read from memory at the entry: what the kernel is about to read.
    Path,
    /// A C string, cut at `-s`.
    String,
    /// `len` bytes, where `len` is the argument at this index.
    Bytes {
        len: usize,
    },
    Argv,
    Envp,
    SigsetIn,
    SigactionIn,
    RlimitIn,
    Sockaddr {
        len: usize,
    },
    SigreturnMask,
    /// A `struct timespec`, a time to wait.
    Timespec,
    /// `poll`'s array of `{fd, events}`, as long as the next argument says.
    PollFds,
    StackIn,
    /// `fcntl`'s third argument, which depends on the command (the second).
    FcntlThird,
    /// `futex`'s arguments after the third, which depend on the operation.
    FutexRest,
    /// `clone`'s flags (the first argument), after its stack (the second):
    /// `child_stack=NULL, flags=CLONE_VM|…|SIGCHLD`.
    CloneFlags,
    /// `clone3`'s `struct clone_args`, the flags in it.
    CloneArgs,
    /// `writev`'s array of buffers, as long as the third argument says.
    Iovecs,
    /// `seccomp`'s flags and its third argument, which depend on the
    /// operation (the first).
    SeccompFlags,
    SeccompArgs,
    /// A file offset the kernel reads through a pointer, `[4096]`.
    OffsetIn,

    // Read from memory at the exit: what the kernel wrote.
    /// As many bytes as the call returned.
    BytesOut,
    /// The same, shown in hex (random bytes, as strace shows them).
    RandomBytesOut,
    /// A C string that the kernel wrote.
    StringOut,
    StatOut,
    StatxOut,
    StatfsOut,
    SysinfoOut,
    SigsetOut,
    SigactionOut,
    RlimitOut,
    StackOut,
    PipeOut,
    WaitStatusOut,
    DirentsOut,
    CpuSetOut,
    /// `getgroups`'s list of group ids, as many as the call returned.
    GroupsOut,
    /// `ioctl`'s third argument, which depends on the request (the second).
    IoctlThird,
    /// A sleep's time left (`nanosleep`'s second argument), which the
    /// kernel writes only when a signal interrupts the sleep.
    TimeLeftOut,

    // Shown at the entry or at the exit, as the call's flags say.
    /// The ids `clone` writes (`parent_tid=[1234]`, `child_tidptr=0x…`),
    /// which strace shows at the exit, after the flags that ask for them.
    CloneIds,
    /// `clone3`'s size, after what the kernel wrote back into the
    /// structure, if its flags ask for anything (` => {parent_tid=[1234]}`).
    Clone3Size,
}
// ANCHOR_END: arg

// ANCHOR: when
/// When an argument can be shown.
enum When {
    Entry,
    Exit,
    /// At the exit, written right after the argument before it, with no
    /// `, ` of its own: `clone`'s ids (`, child_tidptr=0x…`).
    JoinedAtExit,
}

impl Arg {
    fn when(self) -> When {
        use Arg::*;
        match self {
            BytesOut | RandomBytesOut | StringOut | StatOut | StatxOut | StatfsOut | SysinfoOut
            | SigsetOut | SigactionOut | RlimitOut | StackOut | PipeOut | WaitStatusOut
            | DirentsOut | CpuSetOut | GroupsOut | IoctlThird => When::Exit,
            _ => When::Entry,
        }
    }
}
// ANCHOR_END: when

impl Decoder {
    /// When `arg` of `call` can be shown: as `Arg::when` says, except for
    /// the arguments whose text depends on how the call ends beyond the
    /// rule that a failed call wrote nothing: a sleep's time left, written
    /// only when the sleep fails, interrupted; and clone's ids and clone3's
    /// size, shown at the exit only if the flags ask the kernel for an id.
    fn when(&self, arg: Arg, call: &Syscall) -> When {
        match arg {
            Arg::TimeLeftOut => When::Exit,
            Arg::CloneIds if call.args[0] & CLONE_IDS != 0 => When::JoinedAtExit,
            Arg::Clone3Size if self.clone3_writes_back(call.args[0], call.args[1]) => {
                When::JoinedAtExit
            }
            _ => arg.when(),
        }
    }
}

/// How to show a result.
#[derive(Clone, Copy)]
enum Ret {
    Int,
    /// An address (`brk`, `mmap`).
    Hex,
    /// `umask`'s previous mask.
    Octal,
    /// `poll`: `0 (Timeout)`, or which descriptors are ready.
    Poll,
    /// `fcntl`: `F_GETFL` and `F_GETFD` return flags.
    Fcntl,
}

// ANCHOR: table
/// The decoder table: how strace shows each syscall's arguments, and its
/// result. A syscall not in it is shown as strace shows a syscall it does
/// not know: six arguments in hex (see `RAW_SIX`).
fn signature(number: u64) -> (Option<&'static [Arg]>, Ret) {
    use Arg::*;
    let Some(sysno) = Sysno::new(number as usize) else {
        return (None, Ret::Int);
    };
    let args: &'static [Arg] = match sysno {
        Sysno::read => &[Int, BytesOut, ULong],
        Sysno::write => &[Int, Bytes { len: 2 }, ULong],
        Sysno::pread64 => &[Int, BytesOut, ULong, Long],
        Sysno::pwrite64 => &[Int, Bytes { len: 2 }, ULong, Long],
        Sysno::open => &[Path, OpenFlags, ModeIfCreating],
        Sysno::openat => &[DirFd, Path, OpenFlags, ModeIfCreating],
        Sysno::close => &[Int],
        Sysno::access => &[Path, AccessMode],
        Sysno::faccessat2 => &[DirFd, Path, AccessMode, Flags(AT_FLAGS)],
        Sysno::newfstatat => &[DirFd, Path, StatOut, Flags(AT_FLAGS)],
        Sysno::fstat => &[Int, StatOut],
        Sysno::stat | Sysno::lstat => &[Path, StatOut],
        Sysno::statx => &[DirFd, Path, StatxFlags, Flags(STATX_MASK), StatxOut],
        Sysno::statfs => &[Path, StatfsOut],
        Sysno::fstatfs => &[Int, StatfsOut],
        Sysno::lseek => &[Int, Long, Named(WHENCE)],
        Sysno::getdents64 => &[Int, DirentsOut, ULong],
        Sysno::readlink => &[Path, BytesOut, ULong],
        Sysno::getcwd => &[StringOut, ULong],
        Sysno::chdir | Sysno::unlink | Sysno::rmdir => &[Path],
        Sysno::fchdir => &[Int],
        Sysno::unlinkat => &[DirFd, Path, Flags(AT_FLAGS)],
        Sysno::mkdir | Sysno::creat => &[Path, Mode],
        Sysno::mkdirat => &[DirFd, Path, Mode],
        Sysno::symlinkat => &[Path, DirFd, Path],
        Sysno::umask => &[Mode],
        Sysno::getxattr | Sysno::lgetxattr => &[Path, String, BytesOut, ULong],
        Sysno::execve => &[Path, Argv, Envp],
        Sysno::brk => &[Pointer],
        Sysno::mmap => &[Pointer, ULong, Flags(PROT), Flags(MAP_FLAGS), Int, Hex],
        Sysno::munmap => &[Pointer, ULong],
        Sysno::mprotect => &[Pointer, ULong, Flags(PROT)],
        Sysno::arch_prctl => &[Named(ARCH_CODES), Hex],
        Sysno::set_tid_address => &[Pointer],
        Sysno::set_robust_list => &[Pointer, ULong],
        Sysno::prlimit64 => &[Int, Named(RESOURCES), RlimitIn, RlimitOut],
        Sysno::getrandom => &[RandomBytesOut, ULong, Flags(GRND_FLAGS)],
        Sysno::ioctl => &[Int, Named(IOCTLS), IoctlThird],
        Sysno::fcntl => &[Int, Named(FCNTL_COMMANDS), FcntlThird],
        Sysno::dup => &[Int],
        Sysno::dup2 => &[Int, Int],
        Sysno::dup3 => &[Int, Int, Flags(O_CLOEXEC_ONLY)],
        Sysno::pipe => &[PipeOut],
        Sysno::pipe2 => &[PipeOut, Flags(PIPE_FLAGS)],
        Sysno::wait4 => &[Int, WaitStatusOut, Flags(WAIT_OPTIONS), Pointer],
        Sysno::rt_sigaction => &[Signal, SigactionIn, SigactionOut, ULong],
        Sysno::rt_sigprocmask => &[Named(SIGPROCMASK_HOW), SigsetIn, SigsetOut, ULong],
        Sysno::rt_sigreturn => &[SigreturnMask],
        Sysno::futex => &[Pointer, Named(FUTEX_OPS), Int, FutexRest],
        Sysno::fadvise64 => &[Int, Long, Long, Named(FADVICE)],
        Sysno::socket => &[Named(ADDRESS_FAMILIES), SocketType, Int],
        Sysno::connect => &[Int, Sockaddr { len: 2 }, Int],
        Sysno::sched_getaffinity => &[Int, ULong, CpuSetOut],
        Sysno::kill => &[Int, Signal],
        Sysno::tkill => &[Int, Signal],
        Sysno::tgkill => &[Int, Int, Signal],
        // Registers: flags, stack, parent's tid, child's tid, tls. strace
        // shows the stack first, and the ids (if the flags ask for them)
        // at the exit, after the flags.
        Sysno::clone => &[CloneFlags, CloneIds],
        Sysno::clone3 => &[CloneArgs, Clone3Size],
        Sysno::writev => &[Int, Iovecs, ULong],
        Sysno::copy_file_range => &[Int, OffsetIn, Int, OffsetIn, ULong, ULong],
        Sysno::seccomp => &[Named(SECCOMP_OPS), SeccompFlags, SeccompArgs],
        Sysno::alarm => &[ULong],
        Sysno::nanosleep => &[Timespec, TimeLeftOut],
        Sysno::clock_nanosleep => &[Named(CLOCKS), Flags(TIMER_FLAGS), Timespec, TimeLeftOut],
        Sysno::getgroups => &[Int, GroupsOut],
        Sysno::poll => &[PollFds, Int, Int],
        Sysno::sigaltstack => &[StackIn, StackOut],
        Sysno::exit | Sysno::exit_group => &[Int],
        Sysno::getpid
        | Sysno::getppid
        | Sysno::gettid
        | Sysno::getuid
        | Sysno::geteuid
        | Sysno::getgid
        | Sysno::getegid
        | Sysno::getpgrp
        | Sysno::fork
        | Sysno::vfork
        | Sysno::sched_yield => &[],
        // Known to strace, but shown in hex even there: only the count of
        // arguments is known.
        Sysno::rseq => &[Hex, Hex, Hex, Hex],
        Sysno::uname => &[Pointer],
        Sysno::sysinfo => &[SysinfoOut],
        _ => return (None, Ret::Int),
    };
    let ret = match sysno {
        Sysno::brk | Sysno::mmap => Ret::Hex,
        Sysno::umask => Ret::Octal,
        Sysno::fcntl => Ret::Fcntl,
        Sysno::poll => Ret::Poll,
        _ => Ret::Int,
    };
    (Some(args), ret)
}
// ANCHOR_END: table

/// How strace shows a syscall it does not know: all six registers, in hex.
const RAW_SIX: [Arg; 6] = [Arg::Hex; 6];

// ---------------------------------------------------------------------------
// Formatting one argument.

impl Decoder {
    // ANCHOR: format
    /// Shows one argument; `None` for an argument that is not shown at all
    /// (`openat`'s mode when no file is created). `rax` is the result, at
    /// the exit.
    fn format(&self, arg: Arg, value: u64, call: &Syscall, rax: Option<u64>) -> Option<String> {
        // A buffer the kernel did not fill, because the call failed, is
        // shown as its address.
        let failed = rax.is_some_and(|rax| error_number(rax).is_some());
        if failed && matches!(arg.when(), When::Exit) {
            return Some(address(value));
        }
        let returned = rax.unwrap_or(0) as usize;
        let text = match arg {
            Arg::Int => (value as i32).to_string(),
            Arg::Long => (value as i64).to_string(),
            Arg::ULong => value.to_string(),
            Arg::Hex => hex(value),
            Arg::Pointer => address(value),
            Arg::Mode => octal_mode(value as u32),
            Arg::DirFd if value as i32 == libc::AT_FDCWD => "AT_FDCWD".to_string(),
            Arg::DirFd => (value as i32).to_string(),
            Arg::Named(names) => named(names, value),
            Arg::Flags(names) => flags(names, value),
            Arg::OpenFlags => open_flags(value),
            Arg::ModeIfCreating => {
                let flags = call.args[if call.number == Sysno::open as u64 {
                    1
                } else {
                    2
                }];
                let tmpfile = libc::O_TMPFILE as u64;
                let creating = flags & libc::O_CREAT as u64 != 0 || flags & tmpfile == tmpfile;
                return creating.then(|| octal_mode(value as u32));
            }
            Arg::AccessMode if value == 0 => "F_OK".to_string(),
            Arg::AccessMode => flags(ACCESS_MODES, value),
            Arg::Signal => signal_name(value as i32),
            Arg::StatxFlags => {
                let sync = named(STATX_SYNC, value & STATX_SYNC_TYPE);
                match flags(AT_FLAGS, value & !STATX_SYNC_TYPE) {
                    rest if rest == "0" => sync,
                    rest => format!("{sync}|{rest}"),
                }
            }
            Arg::SocketType => {
                let kind = named(SOCKET_TYPES, value & 0xf);
                match flags(SOCKET_FLAGS, value & !0xf) {
                    rest if rest == "0" => kind,
                    rest => format!("{kind}|{rest}"),
                }
            }
            Arg::Path => self.path(value),
            Arg::String => self.c_string(value),
            Arg::Bytes { len } => self.bytes(value, call.args[len] as usize, false),
            Arg::BytesOut => self.bytes(value, returned, false),
            Arg::RandomBytesOut => self.bytes(value, returned, true),
            Arg::StringOut => self.c_string(value),
            Arg::Argv => self.argv(value),
            Arg::Envp => self.envp(value),
            Arg::StatOut => self.stat(value),
            Arg::StatxOut => self.statx(value),
            Arg::StatfsOut => self.statfs(value),
            Arg::SysinfoOut => self.sysinfo(value),
            Arg::SigsetIn | Arg::SigsetOut => self.sigset(value),
            Arg::SigactionIn | Arg::SigactionOut => self.sigaction(value),
            Arg::RlimitIn | Arg::RlimitOut => self.rlimit(value),
            Arg::PipeOut => self.pipe_fds(value),
            // poll's nfds is an unsigned int: the kernel reads only the low
            // half of the register, and so do we (a socklen_t below too).
            Arg::PollFds => self.poll_fds(value, call.args[1] as u32 as usize, false),
            Arg::StackIn | Arg::StackOut => self.signal_stack(value),
            // With WNOHANG and no child ready, wait4 returns 0 and writes
            // no status.
            Arg::WaitStatusOut if returned == 0 => address(value),
            Arg::WaitStatusOut => self.wait_status(value),
            Arg::DirentsOut => self.dirents(value, returned),
            Arg::CpuSetOut => self.cpu_set(value, returned),
            Arg::GroupsOut => self.groups(value, returned),
            Arg::Timespec => self.timespec(value),
            Arg::Sockaddr { len } => self.sockaddr(value, call.args[len] as u32 as usize),
            Arg::SigreturnMask => self.sigreturn_mask(call.stack_pointer),
            Arg::IoctlThird => self.ioctl_arg(call.args[1], value),
            Arg::FcntlThird => return fcntl_arg(call.args[1], value),
            Arg::FutexRest => return self.futex_rest(call),
            Arg::TimeLeftOut => self.time_left(value, call, rax),
            Arg::CloneFlags => format!(
                "child_stack={}, flags={}",
                address(call.args[1]),
                clone_flags(value)
            ),
            Arg::CloneIds => return rax.map(|rax| self.clone_ids(call, rax)),
            Arg::CloneArgs => self.clone_args_text(value, call.args[1]),
            Arg::Clone3Size => match rax {
                Some(rax) => self.clone3_written_back(call, rax),
                None => value.to_string(),
            },
            Arg::Iovecs => self.iovecs(value, call.args[2]),
            Arg::SeccompFlags => seccomp_flags(call.args[0], value),
            Arg::SeccompArgs => self.seccomp_args(call.args[0], value),
            Arg::OffsetIn if value == 0 => "NULL".to_string(),
            Arg::OffsetIn => match self.memory.read_value::<i64>(value) {
                Some(offset) => format!("[{offset}]"),
                None => address(value),
            },
        };
        Some(text)
    }
    // ANCHOR_END: format
}

// ANCHOR: numbers
/// A number in hex, as C's `%#lx` writes it: `0x1f`, but `0` for zero.
fn hex(value: u64) -> String {
    if value == 0 {
        "0".to_string()
    } else {
        format!("{value:#x}")
    }
}

/// An address: `NULL`, or hex.
pub fn address(value: u64) -> String {
    if value == 0 {
        "NULL".to_string()
    } else {
        format!("{value:#x}")
    }
}

/// Permission bits in octal, as C's `%#03o`: `0644`, `022`, `000`.
fn octal_mode(mode: u32) -> String {
    let text = if mode == 0 {
        "0".to_string()
    } else {
        format!("0{mode:o}")
    };
    format!("{text:0>3}")
}
// ANCHOR_END: numbers

// ANCHOR: flags
/// A value that is one of a list: its name, or the number when it has none.
fn named(names: &[(u64, &str)], value: u64) -> String {
    match names.iter().find(|(v, _)| *v == value) {
        Some((_, name)) => name.to_string(),
        None => hex(value),
    }
}

/// A set of flags, as strace writes them: the names of the flags that are
/// set, in the table's order, joined by `|`, and whatever bits are left in
/// hex; `0` if none is set (or the name of the flag whose value is 0).
fn flags(names: &[(u64, &str)], value: u64) -> String {
    let mut left = value;
    let mut parts = Vec::new();
    for &(flag, name) in names {
        if flag != 0 && left & flag == flag {
            parts.push(name.to_string());
            left &= !flag;
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    if parts.is_empty() {
        return match names.iter().find(|(flag, _)| *flag == 0) {
            Some((_, name)) => name.to_string(),
            None => "0".to_string(),
        };
    }
    parts.join("|")
}

/// `open`'s flags: the access mode (`O_RDONLY` is 0), then the other flags.
fn open_flags(value: u64) -> String {
    let mode = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][(value & 3) as usize];
    match flags(OPEN_FLAGS, value & !3) {
        rest if rest == "0" => mode.to_string(),
        rest => format!("{mode}|{rest}"),
    }
}
// ANCHOR_END: flags

// ---------------------------------------------------------------------------
// Strings and buffers.

impl Decoder {
    // ANCHOR: strings
    /// A path: read up to its NUL, and shown whole (up to PATH_MAX).
    fn path(&self, pointer: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        match self.memory.read_c_string(pointer, PATH_MAX) {
            Some((bytes, true)) => quote(&bytes, false),
            Some((bytes, false)) => format!("{}...", quote(&bytes, false)),
            None => address(pointer),
        }
    }

    /// A C string, cut at `-s N` bytes with `...` after the quote.
    fn c_string(&self, pointer: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        let limit = self.string_limit;
        // One byte more than the limit: a string of exactly N bytes is whole.
        match self.memory.read_c_string(pointer, limit.saturating_add(1)) {
            Some((bytes, true)) if bytes.len() <= limit => quote(&bytes, false),
            Some((bytes, _)) => format!("{}...", quote(&bytes[..limit.min(bytes.len())], false)),
            None => address(pointer),
        }
    }

    /// A buffer of `len` bytes (NULs included), cut at `-s N`; in hex if
    /// `as_hex`.
    fn bytes(&self, pointer: u64, len: usize, as_hex: bool) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        let shown = len.min(self.string_limit);
        match self.memory.read(pointer, shown) {
            Some(bytes) if bytes.len() == shown => {
                let more = if len > shown { "..." } else { "" };
                format!("{}{more}", quote(&bytes, as_hex))
            }
            _ => address(pointer),
        }
    }
    // ANCHOR_END: strings

    /// `execve`'s arguments: `["ls", "-l"]`, at most `-s N` of them.
    fn argv(&self, pointer: u64) -> String {
        let Some(pointers) = self.pointer_array(pointer, self.string_limit.saturating_add(1))
        else {
            return address(pointer);
        };
        let mut items: Vec<String> = pointers
            .iter()
            .take(self.string_limit)
            .map(|&p| self.c_string(p))
            .collect();
        if pointers.len() > self.string_limit {
            items.push("...".to_string());
        }
        format!("[{}]", items.join(", "))
    }

    /// `execve`'s environment: only its address and how many variables.
    fn envp(&self, pointer: u64) -> String {
        match self.pointer_array(pointer, 100_000) {
            Some(pointers) => format!("{} /* {} vars */", address(pointer), pointers.len()),
            None => address(pointer),
        }
    }

    /// The pointers of a NULL-terminated array (at most `limit` of them).
    fn pointer_array(&self, pointer: u64, limit: usize) -> Option<Vec<u64>> {
        if pointer == 0 {
            return None;
        }
        let mut pointers = Vec::new();
        while pointers.len() < limit {
            let item: u64 = self
                .memory
                .read_value(pointer + 8 * pointers.len() as u64)?;
            if item == 0 {
                break;
            }
            pointers.push(item);
        }
        Some(pointers)
    }
}

const PATH_MAX: usize = libc::PATH_MAX as usize;

/// The auxiliary vector's key for the path given to `execve`.
const AT_EXECFN: u64 = 31;

// ANCHOR: quote
/// Bytes between double quotes, escaped as strace escapes them: `\n`, `\t`,
/// `\"`, `\\` and the like; other bytes that are not printable ASCII in
/// octal, as short as the next byte allows (`\0`, but `\0001` before a
/// digit `1`, which would otherwise be read as part of the number). With
/// `as_hex`, every byte as `\xNN`.
fn quote(bytes: &[u8], as_hex: bool) -> String {
    let mut text = String::with_capacity(bytes.len() + 2);
    text.push('"');
    for (i, &byte) in bytes.iter().enumerate() {
        if as_hex {
            let _ = write!(text, "\\x{byte:02x}");
            continue;
        }
        match byte {
            b'"' | b'\\' => {
                text.push('\\');
                text.push(byte as char);
            }
            b'\x0c' => text.push_str("\\f"),
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            b'\x0b' => text.push_str("\\v"),
            b' '..=b'~' => text.push(byte as char),
            _ => {
                let next_is_digit = bytes.get(i + 1).is_some_and(|b| (b'0'..=b'7').contains(b));
                if next_is_digit {
                    let _ = write!(text, "\\{byte:03o}");
                } else {
                    let _ = write!(text, "\\{byte:o}");
                }
            }
        }
    }
    text.push('"');
    text
}
// ANCHOR_END: quote

// ---------------------------------------------------------------------------
// Structures.

impl Decoder {
    // ANCHOR: stat
    /// A `stat` structure as strace abbreviates it: the type and mode, the
    /// size (or the device, for a device file), and `...` for the rest.
    fn stat(&self, pointer: u64) -> String {
        let Some(stat) = self.memory.read_value::<libc::stat>(pointer) else {
            return address(pointer);
        };
        let mode = file_mode(stat.st_mode);
        let kind = stat.st_mode & libc::S_IFMT;
        if kind == libc::S_IFCHR || kind == libc::S_IFBLK {
            let device = device_number(stat.st_rdev);
            format!("{{st_mode={mode}, st_rdev={device}, ...}}")
        } else {
            format!("{{st_mode={mode}, st_size={}, ...}}", stat.st_size)
        }
    }
    // ANCHOR_END: stat

    fn statx(&self, pointer: u64) -> String {
        let Some(statx) = self.memory.read_value::<libc::statx>(pointer) else {
            return address(pointer);
        };
        format!(
            "{{stx_mask={}, stx_attributes={}, stx_mode={}, stx_size={}, ...}}",
            flags(STATX_MASK, statx.stx_mask.into()),
            flags(STATX_ATTRIBUTES, statx.stx_attributes),
            file_mode(statx.stx_mode.into()),
            statx.stx_size
        )
    }

    /// A file system's `statfs`, every field (strace does not abbreviate it).
    fn statfs(&self, pointer: u64) -> String {
        let Some(fs) = self.memory.read_value::<StatFs>(pointer) else {
            return address(pointer);
        };
        let [fsid_a, fsid_b] = fs.f_fsid;
        let mut text = format!(
            "{{f_type={}, f_bsize={}, f_blocks={}, f_bfree={}, f_bavail={}, f_files={}, \
             f_ffree={}, f_fsid={{val=[{}, {}]}}, f_namelen={}, f_frsize={}",
            named(FILE_SYSTEMS, fs.f_type as u64),
            fs.f_bsize,
            fs.f_blocks,
            fs.f_bfree,
            fs.f_bavail,
            fs.f_files,
            fs.f_ffree,
            hex(fsid_a.into()),
            hex(fsid_b.into()),
            fs.f_namelen,
            fs.f_frsize,
        );
        let fs_flags = fs.f_flags as u64;
        if fs_flags & 32 != 0 {
            let _ = write!(text, ", f_flags={}", flags(STATFS_FLAGS, fs_flags));
        }
        text.push('}');
        text
    }

    fn sysinfo(&self, pointer: u64) -> String {
        let Some(info) = self.memory.read_value::<libc::sysinfo>(pointer) else {
            return address(pointer);
        };
        let [load1, load5, load15] = info.loads;
        format!(
            "{{uptime={}, loads=[{load1}, {load5}, {load15}], totalram={}, freeram={}, \
             sharedram={}, bufferram={}, totalswap={}, freeswap={}, procs={}, totalhigh={}, \
             freehigh={}, mem_unit={}}}",
            info.uptime,
            info.totalram,
            info.freeram,
            info.sharedram,
            info.bufferram,
            info.totalswap,
            info.freeswap,
            info.procs,
            info.totalhigh,
            info.freehigh,
            info.mem_unit
        )
    }

    fn rlimit(&self, pointer: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        let Some(limit) = self.memory.read_value::<libc::rlimit64>(pointer) else {
            return address(pointer);
        };
        format!(
            "{{rlim_cur={}, rlim_max={}}}",
            rlimit_value(limit.rlim_cur),
            rlimit_value(limit.rlim_max)
        )
    }

    fn sigset(&self, pointer: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        match self.memory.read_value::<u64>(pointer) {
            Some(set) => signal_set(set),
            None => address(pointer),
        }
    }

    /// The kernel's `struct sigaction`: handler, flags, restorer, mask.
    fn sigaction(&self, pointer: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        let Some([handler, sa_flags, restorer, mask]) = self.memory.read_value::<[u64; 4]>(pointer)
        else {
            return address(pointer);
        };
        let handler = match handler as i64 {
            0 => "SIG_DFL".to_string(),
            1 => "SIG_IGN".to_string(),
            -1 => "SIG_ERR".to_string(),
            _ => hex(handler),
        };
        let mut text = format!(
            "{{sa_handler={handler}, sa_mask={}, sa_flags={}",
            signal_set(mask),
            flags(SA_FLAGS, sa_flags)
        );
        if sa_flags & SA_RESTORER != 0 {
            let _ = write!(text, ", sa_restorer={}", address(restorer));
        }
        text.push('}');
        text
    }

    /// `rt_sigreturn`'s mask: the one saved in the signal frame on the
    /// stack. When the handler returns, the stack pointer is at the frame's
    /// `ucontext`, whose `uc_sigmask` comes after `uc_flags`, `uc_link`,
    /// `uc_stack` and `uc_mcontext` (8 + 8 + 24 + 256 bytes).
    fn sigreturn_mask(&self, stack_pointer: u64) -> String {
        match self.memory.read_value::<u64>(stack_pointer + 296) {
            Some(mask) => format!("{{mask={}}}", signal_set(mask)),
            None => address(stack_pointer),
        }
    }

    /// `poll`'s descriptors: what is asked at the entry (`events`), or what
    /// is ready at the exit (`revents`, only the descriptors that are).
    fn poll_fds(&self, pointer: u64, count: usize, ready: bool) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        let Some(bytes) = self.memory.read(pointer, count.saturating_mul(8)) else {
            return address(pointer);
        };
        let items: Vec<String> = bytes
            .chunks_exact(8)
            .filter_map(|item| {
                let fd = i32::from_ne_bytes([item[0], item[1], item[2], item[3]]);
                let events = u16::from_ne_bytes([item[4], item[5]]);
                let revents = u16::from_ne_bytes([item[6], item[7]]);
                if !ready {
                    Some(format!(
                        "{{fd={fd}, events={}}}",
                        flags(POLL_EVENTS, events.into())
                    ))
                } else if revents != 0 {
                    Some(format!(
                        "{{fd={fd}, revents={}}}",
                        flags(POLL_EVENTS, revents.into())
                    ))
                } else {
                    None
                }
            })
            .collect();
        format!("[{}]", items.join(", "))
    }

    /// A signal stack, `stack_t`: where it is, its flags, its size.
    fn signal_stack(&self, pointer: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        let Some([stack, stack_flags, size]) = self.memory.read_value::<[u64; 3]>(pointer) else {
            return address(pointer);
        };
        let stack_flags = flags(STACK_FLAGS, stack_flags & 0xffff_ffff);
        format!(
            "{{ss_sp={}, ss_flags={stack_flags}, ss_size={size}}}",
            address(stack)
        )
    }

    fn pipe_fds(&self, pointer: u64) -> String {
        match self.memory.read_value::<[i32; 2]>(pointer) {
            Some([read_end, write_end]) => format!("[{read_end}, {write_end}]"),
            None => address(pointer),
        }
    }

    /// `wait4`'s status, with the macros that take it apart.
    fn wait_status(&self, pointer: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        let Some(status) = self.memory.read_value::<u32>(pointer) else {
            return address(pointer);
        };
        let status = status as i32;
        let text = if libc::WIFEXITED(status) {
            format!(
                "WIFEXITED(s) && WEXITSTATUS(s) == {}",
                libc::WEXITSTATUS(status)
            )
        } else if libc::WIFSIGNALED(status) {
            let core = if libc::WCOREDUMP(status) {
                " && WCOREDUMP(s)"
            } else {
                ""
            };
            let signal = signal_name(libc::WTERMSIG(status));
            format!("WIFSIGNALED(s) && WTERMSIG(s) == {signal}{core}")
        } else if libc::WIFSTOPPED(status) {
            let signal = signal_name(libc::WSTOPSIG(status));
            format!("WIFSTOPPED(s) && WSTOPSIG(s) == {signal}")
        } else {
            hex(status as u64)
        };
        format!("[{{{text}}}]")
    }

    /// `getdents64`'s buffer: only its address and how many entries.
    fn dirents(&self, pointer: u64, len: usize) -> String {
        let Some(buffer) = self.memory.read(pointer, len) else {
            return format!("{} /* 0 entries */", address(pointer));
        };
        // Each entry says its own length (d_reclen, at offset 16).
        let mut count = 0;
        let mut at = 0;
        while at + 18 <= buffer.len() {
            let record_length = u16::from_ne_bytes([buffer[at + 16], buffer[at + 17]]) as usize;
            if record_length == 0 {
                break;
            }
            count += 1;
            at += record_length;
        }
        format!("{} /* {count} entries */", address(pointer))
    }

    /// `futex`'s arguments after the value, which depend on the operation:
    /// none for a wake, a timeout for a wait, and a bit set after it for a
    /// wait on a bit set. Other operations in hex.
    fn futex_rest(&self, call: &Syscall) -> Option<String> {
        let op = call.args[1] as i32 & !(libc::FUTEX_PRIVATE_FLAG | libc::FUTEX_CLOCK_REALTIME);
        let timeout = self.timespec(call.args[3]);
        let rest = match op {
            libc::FUTEX_WAKE => return None,
            libc::FUTEX_WAIT => timeout,
            libc::FUTEX_WAIT_BITSET => match call.args[5] as u32 {
                u32::MAX => format!("{timeout}, FUTEX_BITSET_MATCH_ANY"),
                bits => format!("{timeout}, {}", hex(bits.into())),
            },
            _ => call.args[3..]
                .iter()
                .map(|&v| hex(v))
                .collect::<Vec<_>>()
                .join(", "),
        };
        Some(rest)
    }

    /// A `struct timespec`: `{tv_sec=1, tv_nsec=500000000}`.
    fn timespec(&self, pointer: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        match self.memory.read_value::<[i64; 2]>(pointer) {
            Some([seconds, nanoseconds]) => format!("{{tv_sec={seconds}, tv_nsec={nanoseconds}}}"),
            None => address(pointer),
        }
    }

    /// Group ids, `[0, 27]`; `NULL` when the program only asks how many.
    fn groups(&self, pointer: u64, count: usize) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        let Some(bytes) = self.memory.read(pointer, count.saturating_mul(4)) else {
            return address(pointer);
        };
        let ids: Vec<String> = bytes
            .chunks_exact(4)
            .map(|id| u32::from_ne_bytes([id[0], id[1], id[2], id[3]]).to_string())
            .collect();
        format!("[{}]", ids.join(", "))
    }

    /// A CPU set, as the numbers of the CPUs in it: `[0 1]`.
    fn cpu_set(&self, pointer: u64, len: usize) -> String {
        let Some(bytes) = self.memory.read(pointer, len) else {
            return address(pointer);
        };
        let cpus: Vec<String> = (0..bytes.len() * 8)
            .filter(|cpu| bytes[cpu / 8] & (1 << (cpu % 8)) != 0)
            .map(|cpu| cpu.to_string())
            .collect();
        format!("[{}]", cpus.join(" "))
    }

    /// A socket address: the family, then the fields strace shows for it.
    fn sockaddr(&self, pointer: u64, len: usize) -> String {
        let Some(bytes) = self.memory.read(pointer, len) else {
            return address(pointer);
        };
        if bytes.len() < 2 {
            return address(pointer);
        }
        let family = u16::from_ne_bytes([bytes[0], bytes[1]]);
        let family_name = named(ADDRESS_FAMILIES, family.into());
        match i32::from(family) {
            libc::AF_UNIX => {
                let path = &bytes[2..];
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                let path = quote(&path[..end], false);
                format!("{{sa_family={family_name}, sun_path={path}}}")
            }
            libc::AF_INET if bytes.len() >= 8 => {
                let port = u16::from_be_bytes([bytes[2], bytes[3]]);
                let [a, b, c, d] = [bytes[4], bytes[5], bytes[6], bytes[7]];
                format!(
                    "{{sa_family={family_name}, sin_port=htons({port}), \
                     sin_addr=inet_addr(\"{a}.{b}.{c}.{d}\")}}"
                )
            }
            _ => address(pointer),
        }
    }

    /// `ioctl`'s third argument, for the requests strace decodes.
    fn ioctl_arg(&self, request: u64, pointer: u64) -> String {
        match request {
            TIOCGWINSZ => match self.memory.read_value::<libc::winsize>(pointer) {
                Some(size) => format!(
                    "{{ws_row={}, ws_col={}, ws_xpixel={}, ws_ypixel={}}}",
                    size.ws_row, size.ws_col, size.ws_xpixel, size.ws_ypixel
                ),
                None => address(pointer),
            },
            TCGETS => match self.memory.read_value::<libc::termios>(pointer) {
                Some(termios) => terminal_settings(&termios),
                None => address(pointer),
            },
            _ => hex(pointer),
        }
    }
}

/// The kernel's `struct statfs` on x86_64 (the libc crate hides `f_flags`).
#[derive(Clone, Copy)]
#[repr(C)]
struct StatFs {
    f_type: i64,
    f_bsize: i64,
    f_blocks: u64,
    f_bfree: u64,
    f_bavail: u64,
    f_files: u64,
    f_ffree: u64,
    f_fsid: [u32; 2],
    f_namelen: i64,
    f_frsize: i64,
    f_flags: i64,
    f_spare: [i64; 4],
}

// SAFETY: C structures of integers (and arrays of them), as the kernel
// writes them: any bytes make a valid value.
unsafe impl Plain for StatFs {}
unsafe impl Plain for libc::stat {}
unsafe impl Plain for libc::statx {}
unsafe impl Plain for libc::sysinfo {}
unsafe impl Plain for libc::rlimit64 {}
unsafe impl Plain for libc::winsize {}
unsafe impl Plain for libc::termios {}

/// A file's type and permissions: `S_IFREG|0644`, `S_IFDIR|S_ISVTX|0777`.
fn file_mode(mode: u32) -> String {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFREG => "S_IFREG",
        libc::S_IFDIR => "S_IFDIR",
        libc::S_IFLNK => "S_IFLNK",
        libc::S_IFCHR => "S_IFCHR",
        libc::S_IFBLK => "S_IFBLK",
        libc::S_IFIFO => "S_IFIFO",
        libc::S_IFSOCK => "S_IFSOCK",
        _ => "",
    };
    let mut text = kind.to_string();
    for (bit, name) in [
        (0o4000, "S_ISUID"),
        (0o2000, "S_ISGID"),
        (0o1000, "S_ISVTX"),
    ] {
        if mode & bit != 0 {
            text.push_str(&format!("|{name}"));
        }
    }
    format!("{text}|{}", octal_mode(mode & 0o777))
        .trim_start_matches('|')
        .to_string()
}

/// A device number as strace writes it: `makedev(0x1, 0x3)`.
fn device_number(device: u64) -> String {
    let major = ((device >> 8) & 0xfff) | ((device >> 32) & !0xfff);
    let minor = (device & 0xff) | ((device >> 12) & !0xff);
    format!("makedev({}, {})", hex(major), hex(minor))
}

/// A resource limit: `RLIM64_INFINITY`, or a count of KiB when it is one.
fn rlimit_value(value: u64) -> String {
    if value == u64::MAX {
        "RLIM64_INFINITY".to_string()
    } else if value > 1024 && value.is_multiple_of(1024) {
        format!("{}*1024", value / 1024)
    } else {
        value.to_string()
    }
}

/// A terminal's settings, as strace abbreviates them: the four flag words,
/// each field of several bits (a delay, a speed, a size) by its value's name.
fn terminal_settings(termios: &libc::termios) -> String {
    let [input, output, control, local] = [
        termios.c_iflag,
        termios.c_oflag,
        termios.c_cflag,
        termios.c_lflag,
    ]
    .map(u64::from);
    let mut output_parts: Vec<String> = OUTPUT_DELAYS
        .iter()
        .map(|(mask, names)| named(names, output & mask))
        .collect();
    output_parts.push(flags(OUTPUT_FLAGS, output & !OUTPUT_DELAY_BITS));
    let mut control_parts = vec![named(BAUD_RATES, control & SPEED)];
    if control & INPUT_SPEED != 0 {
        let input_speed = named(BAUD_RATES, (control & INPUT_SPEED) >> 16);
        control_parts.push(format!("{input_speed}<<IBSHIFT"));
    }
    control_parts.push(named(CHARACTER_SIZES, control & CHARACTER_SIZE));
    let rest = control & !(SPEED | INPUT_SPEED | CHARACTER_SIZE);
    if rest != 0 {
        control_parts.push(flags(CONTROL_FLAGS, rest));
    }
    format!(
        "{{c_iflag={}, c_oflag={}, c_cflag={}, c_lflag={}, ...}}",
        flags(INPUT_FLAGS, input),
        output_parts.join("|"),
        control_parts.join("|"),
        flags(LOCAL_FLAGS, local)
    )
}

/// `fcntl`'s third argument: none for the commands that only read.
fn fcntl_arg(command: u64, value: u64) -> Option<String> {
    match command as i32 {
        libc::F_GETFD | libc::F_GETFL | libc::F_GETOWN => None,
        libc::F_SETFD => Some(flags(FD_FLAGS, value)),
        libc::F_SETFL => Some(open_flags(value)),
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_SETOWN => Some((value as i32).to_string()),
        _ => Some(hex(value)),
    }
}

// ---------------------------------------------------------------------------
// A sleep's time left; new threads and processes; writev's buffers; seccomp.

impl Decoder {
    /// `nanosleep`'s time left: the kernel writes it only when a signal
    /// interrupts the sleep (and `clock_nanosleep`'s, only for a sleep of a
    /// length, not one until a time, `TIMER_ABSTIME`). Otherwise, its
    /// address, as strace shows it: what is there was never written.
    fn time_left(&self, pointer: u64, call: &Syscall, rax: Option<u64>) -> String {
        let interrupted = rax.and_then(error_number).is_some_and(is_restart);
        let until_a_time = call.number == Sysno::clock_nanosleep as u64 && call.args[1] != 0;
        if interrupted && !until_a_time {
            self.timespec(pointer)
        } else {
            address(pointer)
        }
    }

    /// What `clone` wrote where its flags asked, as strace shows it at the
    /// exit, each after its own `, `: the new thread's id in the parent
    /// (`parent_tid=[1234]`), the thread-local storage, and the address the
    /// kernel clears when the child ends (`child_tidptr`, glibc's `fork`).
    fn clone_ids(&self, call: &Syscall, rax: u64) -> String {
        let [flags, _, parent_tid, child_tid, tls, _] = call.args;
        let failed = error_number(rax).is_some();
        let mut text = String::new();
        if flags & (CLONE_PARENT_SETTID | CLONE_PIDFD) != 0 {
            let id = self.int_written(parent_tid, failed);
            let _ = write!(text, ", parent_tid={id}");
        }
        if flags & CLONE_SETTLS != 0 {
            let _ = write!(text, ", tls={}", address(tls));
        }
        if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
            let _ = write!(text, ", child_tidptr={}", address(child_tid));
        }
        text
    }

    /// An `int` the kernel wrote, `[1234]`; its address if it wrote none.
    fn int_written(&self, pointer: u64, failed: bool) -> String {
        match self.memory.read_value::<i32>(pointer) {
            Some(value) if !failed => format!("[{value}]"),
            _ => address(pointer),
        }
    }

    /// `clone3`'s `struct clone_args`, `size` bytes long: the fields of the
    /// original 64 bytes (Linux 5.3), and those of the 88 (5.7) that are set.
    fn clone3_args(&self, pointer: u64, size: u64) -> Option<[u64; 11]> {
        let length = size.min(88) as usize;
        if length < 64 {
            return None;
        }
        let bytes = self.memory.read(pointer, length)?;
        let mut fields = [0; 11];
        for (field, word) in fields.iter_mut().zip(bytes.chunks_exact(8)) {
            *field = u64::from_ne_bytes(word.try_into().unwrap());
        }
        (bytes.len() == length).then_some(fields)
    }

    /// The structure clone3 reads, as strace shows it at the entry: the
    /// flags, then the fields they make the kernel read.
    fn clone_args_text(&self, pointer: u64, size: u64) -> String {
        let Some(fields) = self.clone3_args(pointer, size) else {
            return address(pointer);
        };
        let [
            flags,
            pidfd,
            child_tid,
            parent_tid,
            exit_signal,
            stack,
            stack_size,
            tls,
            set_tid,
            set_tid_size,
            cgroup,
        ] = fields;
        let names: Vec<(u64, &str)> = CLONE_FLAGS.iter().chain(CLONE3_FLAGS).copied().collect();
        let mut text = format!("{{flags={}", self::flags(&names, flags));
        if flags & CLONE_PIDFD != 0 {
            let _ = write!(text, ", pidfd={}", address(pidfd));
        }
        if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) != 0 {
            let _ = write!(text, ", child_tid={}", address(child_tid));
        }
        if flags & CLONE_PARENT_SETTID != 0 {
            let _ = write!(text, ", parent_tid={}", address(parent_tid));
        }
        match i32::try_from(exit_signal) {
            Ok(signal) if signal < i32::MAX => {
                let _ = write!(text, ", exit_signal={}", signal_name(signal));
            }
            _ => {
                let _ = write!(text, ", exit_signal={exit_signal}");
            }
        }
        let _ = write!(
            text,
            ", stack={}, stack_size={}",
            address(stack),
            hex(stack_size)
        );
        if flags & CLONE_SETTLS != 0 {
            let _ = write!(text, ", tls={}", address(tls));
        }
        if set_tid != 0 || set_tid_size != 0 {
            let ids = match self.memory.read(set_tid, 4 * set_tid_size as usize) {
                Some(bytes) if set_tid != 0 && (1..=32).contains(&set_tid_size) => {
                    let ids: Vec<String> = bytes
                        .chunks_exact(4)
                        .map(|id| i32::from_ne_bytes(id.try_into().unwrap()).to_string())
                        .collect();
                    format!("[{}]", ids.join(", "))
                }
                _ => address(set_tid),
            };
            let _ = write!(text, ", set_tid={ids}, set_tid_size={set_tid_size}");
        }
        if size > 80 && (cgroup != 0 || flags & CLONE_INTO_CGROUP != 0) {
            let _ = write!(text, ", cgroup={cgroup}");
        }
        text.push('}');
        text
    }

    /// Whether clone3's flags ask the kernel to write an id back into the
    /// structure, which strace then shows at the exit.
    fn clone3_writes_back(&self, pointer: u64, size: u64) -> bool {
        self.clone3_args(pointer, size)
            .is_some_and(|[flags, ..]| flags & (CLONE_PIDFD | CLONE_PARENT_SETTID) != 0)
    }

    /// What clone3 wrote back (` => {parent_tid=[1234]}`), then its size.
    fn clone3_written_back(&self, call: &Syscall, rax: u64) -> String {
        let [pointer, size, ..] = call.args;
        if error_number(rax).is_some() {
            return format!(", {size}");
        }
        let Some([flags, pidfd, _, parent_tid, ..]) = self.clone3_args(pointer, size) else {
            return format!(" => {}, {size}", address(pointer));
        };
        let mut written = Vec::new();
        if flags & CLONE_PIDFD != 0 {
            written.push(format!("pidfd={}", self.int_written(pidfd, false)));
        }
        if flags & CLONE_PARENT_SETTID != 0 {
            written.push(format!(
                "parent_tid={}",
                self.int_written(parent_tid, false)
            ));
        }
        format!(" => {{{}}}, {size}", written.join(", "))
    }

    /// `writev`'s buffers, `[{iov_base="…", iov_len=5}, …]`: at most `-s N`
    /// of them, each cut at `-s N` bytes.
    fn iovecs(&self, pointer: u64, count: u64) -> String {
        if pointer == 0 {
            return "NULL".to_string();
        }
        if count
            .checked_mul(16)
            .is_none_or(|size| pointer.checked_add(size).is_none())
        {
            return address(pointer);
        }
        let mut items = Vec::new();
        for i in 0..count {
            let at = pointer + 16 * i;
            let Some([base, len]) = self.memory.read_value::<[u64; 2]>(at) else {
                if i == 0 {
                    return address(pointer);
                }
                items.push(format!("... /* {} */", address(at)));
                break;
            };
            if i as usize >= self.string_limit {
                items.push("...".to_string());
                break;
            }
            let bytes = self.bytes(base, len as usize, false);
            items.push(format!("{{iov_base={bytes}, iov_len={len}}}"));
        }
        format!("[{}]", items.join(", "))
    }

    /// `seccomp`'s third argument: for `SECCOMP_SET_MODE_FILTER`, the
    /// program's length and address (`strace -v` shows its instructions).
    fn seccomp_args(&self, operation: u64, pointer: u64) -> String {
        match (operation, self.memory.read_value::<[u64; 2]>(pointer)) {
            (SECCOMP_SET_MODE_FILTER, Some([len, filter])) => {
                format!("{{len={}, filter={}}}", len & 0xffff, address(filter))
            }
            _ => address(pointer),
        }
    }
}

/// Whether an error is one of the kernel's own "restart" ones, which only a
/// call that a signal interrupted returns (see `format_error`).
fn is_restart(errno: i32) -> bool {
    matches!(errno, 512..=514 | 516)
}

/// `clone`'s flags: the flags, then the signal the child sends its parent
/// when it ends, in the low byte (`SIGCHLD` for a process, none for a
/// thread).
fn clone_flags(value: u64) -> String {
    let (flags, signal) = (value & !0xff, (value & 0xff) as i32);
    match (flags, signal) {
        (0, _) => signal_name(signal),
        (_, 0) => self::flags(CLONE_FLAGS, flags),
        _ => format!(
            "{}|{}",
            self::flags(CLONE_FLAGS, flags),
            signal_name(signal)
        ),
    }
}

/// `seccomp`'s flags: by name for `SECCOMP_SET_MODE_FILTER`, in hex for
/// the other operations.
fn seccomp_flags(operation: u64, value: u64) -> String {
    match operation {
        SECCOMP_SET_MODE_FILTER => flags(SECCOMP_FILTER_FLAGS, value & 0xffff_ffff),
        _ => hex(value & 0xffff_ffff),
    }
}

// ANCHOR: signals
/// A signal's name as strace writes it (`SIGINT`, `SIGRT_1`), or its number
/// when it has none.
pub fn signal_name(signal: i32) -> String {
    match signal {
        1..=31 => format!("SIG{}", SIGNALS[signal as usize - 1]),
        32 => "SIGRTMIN".to_string(),
        33..=64 => format!("SIGRT_{}", signal - 32),
        _ => signal.to_string(),
    }
}

/// A set of signals, `[HUP INT]`; when it holds most signals, what it leaves
/// out, `~[KILL STOP]`, as strace does.
fn signal_set(set: u64) -> String {
    let (set, prefix) = if set.count_ones() >= 64 * 2 / 3 {
        (!set, "~")
    } else {
        (set, "")
    };
    let names: Vec<String> = (1..=64)
        .filter(|signal| set & (1 << (signal - 1)) != 0)
        .map(|signal| signal_name(signal).trim_start_matches("SIG").to_string())
        .collect();
    format!("{prefix}[{}]", names.join(" "))
}
// ANCHOR_END: signals

// ---------------------------------------------------------------------------
// Results.

// ANCHOR: result
/// A syscall's result as strace writes it: `-1 ENOENT (No such file or
/// directory)` for an error; `? ERESTARTSYS (…)` for a call a signal
/// interrupted; hex for an address; octal for a mask; decimal otherwise.
impl Decoder {
    fn result(&self, syscall: &Syscall, rax: u64) -> String {
        if let Some(errno) = error_number(rax) {
            return format_error(errno);
        }
        let (_, ret) = signature(syscall.number);
        match ret {
            Ret::Poll if rax == 0 => "0 (Timeout)".to_string(),
            Ret::Poll => {
                let ready = self.poll_fds(syscall.args[0], syscall.args[1] as u32 as usize, true);
                format!("{rax} ({ready})")
            }
            _ => format_result(syscall, ret, rax),
        }
    }
}

fn format_result(syscall: &Syscall, ret: Ret, rax: u64) -> String {
    match ret {
        Ret::Int => (rax as i64).to_string(),
        Ret::Hex => hex(rax),
        Ret::Octal => octal_mode(rax as u32),
        Ret::Fcntl => match syscall.args[1] as i32 {
            libc::F_GETFL => format!("{} (flags {})", hex(rax), open_flags(rax)),
            libc::F_GETFD if rax != 0 => format!("{} (flags {})", hex(rax), flags(FD_FLAGS, rax)),
            _ => (rax as i64).to_string(),
        },
        Ret::Poll => rax.to_string(),
    }
}
// ANCHOR_END: result

// ---------------------------------------------------------------------------
// Names, from the kernel's headers, in the order strace lists them.

const SIGNALS: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

const OPEN_FLAGS: &[(u64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (0o20200000, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o20000, "FASYNC"),
];

const O_CLOEXEC_ONLY: &[(u64, &str)] = &[(0o2000000, "O_CLOEXEC")];

const PIPE_FLAGS: &[(u64, &str)] = &[
    (0o4000, "O_NONBLOCK"),
    (0o2000000, "O_CLOEXEC"),
    (0o40000, "O_DIRECT"),
];

const POLL_EVENTS: &[(u64, &str)] = &[
    (0x1, "POLLIN"),
    (0x2, "POLLPRI"),
    (0x4, "POLLOUT"),
    (0x8, "POLLERR"),
    (0x10, "POLLHUP"),
    (0x20, "POLLNVAL"),
    (0x40, "POLLRDNORM"),
    (0x80, "POLLRDBAND"),
    (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"),
    (0x400, "POLLMSG"),
    (0x2000, "POLLRDHUP"),
];

const STACK_FLAGS: &[(u64, &str)] = &[
    (1, "SS_ONSTACK"),
    (2, "SS_DISABLE"),
    (0x80000000, "SS_AUTODISARM"),
];

const FD_FLAGS: &[(u64, &str)] = &[(1, "FD_CLOEXEC")];

const ACCESS_MODES: &[(u64, &str)] = &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];

const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
];

/// statx's way to synchronise: a value in the bits 0x6000 of its flags.
const STATX_SYNC_TYPE: u64 = 0x6000;

const STATX_SYNC: &[(u64, &str)] = &[
    (0, "AT_STATX_SYNC_AS_STAT"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
];

const FILE_SYSTEMS: &[(u64, &str)] = &[
    (0xef53, "EXT2_SUPER_MAGIC"),
    (0x01021994, "TMPFS_MAGIC"),
    (0x9fa0, "PROC_SUPER_MAGIC"),
    (0x62656572, "SYSFS_MAGIC"),
    (0x794c7630, "OVERLAYFS_SUPER_MAGIC"),
    (0x58465342, "XFS_SUPER_MAGIC"),
    (0x9123683e, "BTRFS_SUPER_MAGIC"),
];

const STATFS_FLAGS: &[(u64, &str)] = &[
    (1, "ST_RDONLY"),
    (2, "ST_NOSUID"),
    (4, "ST_NODEV"),
    (8, "ST_NOEXEC"),
    (16, "ST_SYNCHRONOUS"),
    (32, "ST_VALID"),
    (64, "ST_MANDLOCK"),
    (1024, "ST_NOATIME"),
    (2048, "ST_NODIRATIME"),
    (4096, "ST_RELATIME"),
];

const STATX_MASK: &[(u64, &str)] = &[
    (0xfff, "STATX_ALL"),
    (0x7ff, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"),
    (0x2, "STATX_MODE"),
    (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"),
    (0x10, "STATX_GID"),
    (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"),
    (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"),
    (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
];

const STATX_ATTRIBUTES: &[(u64, &str)] = &[
    (0x4, "STATX_ATTR_COMPRESSED"),
    (0x10, "STATX_ATTR_IMMUTABLE"),
    (0x20, "STATX_ATTR_APPEND"),
    (0x40, "STATX_ATTR_NODUMP"),
    (0x800, "STATX_ATTR_ENCRYPTED"),
    (0x1000, "STATX_ATTR_AUTOMOUNT"),
    (0x2000, "STATX_ATTR_MOUNT_ROOT"),
    (0x100000, "STATX_ATTR_VERITY"),
    (0x200000, "STATX_ATTR_DAX"),
];

const PROT: &[(u64, &str)] = &[
    (0, "PROT_NONE"),
    (0x1, "PROT_READ"),
    (0x2, "PROT_WRITE"),
    (0x4, "PROT_EXEC"),
    (0x8, "PROT_SEM"),
    (0x1000000, "PROT_GROWSDOWN"),
    (0x2000000, "PROT_GROWSUP"),
];

const MAP_FLAGS: &[(u64, &str)] = &[
    (0x3, "MAP_SHARED_VALIDATE"),
    (0x1, "MAP_SHARED"),
    (0x2, "MAP_PRIVATE"),
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];

const WHENCE: &[(u64, &str)] = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];

const ARCH_CODES: &[(u64, &str)] = &[
    (0x1001, "ARCH_SET_GS"),
    (0x1002, "ARCH_SET_FS"),
    (0x1003, "ARCH_GET_FS"),
    (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"),
    (0x1012, "ARCH_SET_CPUID"),
];

const RESOURCES: &[(u64, &str)] = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
    (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"),
    (12, "RLIMIT_MSGQUEUE"),
    (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"),
    (15, "RLIMIT_RTTIME"),
];

const CLOCKS: &[(u64, &str)] = &[
    (0, "CLOCK_REALTIME"),
    (1, "CLOCK_MONOTONIC"),
    (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"),
    (4, "CLOCK_MONOTONIC_RAW"),
    (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"),
    (7, "CLOCK_BOOTTIME"),
];

const TIMER_FLAGS: &[(u64, &str)] = &[(1, "TIMER_ABSTIME")];

const GRND_FLAGS: &[(u64, &str)] = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];

const TCGETS: u64 = 0x5401;
const TIOCGWINSZ: u64 = 0x5413;

// A terminal's flags (termios(3)), in octal as in the kernel's headers.
const INPUT_FLAGS: &[(u64, &str)] = &[
    (0o1, "IGNBRK"),
    (0o2, "BRKINT"),
    (0o4, "IGNPAR"),
    (0o10, "PARMRK"),
    (0o20, "INPCK"),
    (0o40, "ISTRIP"),
    (0o100, "INLCR"),
    (0o200, "IGNCR"),
    (0o400, "ICRNL"),
    (0o1000, "IUCLC"),
    (0o2000, "IXON"),
    (0o4000, "IXANY"),
    (0o10000, "IXOFF"),
    (0o20000, "IMAXBEL"),
    (0o40000, "IUTF8"),
];

/// The output delays: for each, its bits and the names of its values.
const OUTPUT_DELAYS: [(u64, &[(u64, &str)]); 6] = [
    (0o400, &[(0, "NL0"), (0o400, "NL1")]),
    (
        0o3000,
        &[
            (0, "CR0"),
            (0o1000, "CR1"),
            (0o2000, "CR2"),
            (0o3000, "CR3"),
        ],
    ),
    (
        0o14000,
        &[
            (0, "TAB0"),
            (0o4000, "TAB1"),
            (0o10000, "TAB2"),
            (0o14000, "XTABS"),
        ],
    ),
    (0o20000, &[(0, "BS0"), (0o20000, "BS1")]),
    (0o40000, &[(0, "VT0"), (0o40000, "VT1")]),
    (0o100000, &[(0, "FF0"), (0o100000, "FF1")]),
];

const OUTPUT_DELAY_BITS: u64 = 0o177400;

const OUTPUT_FLAGS: &[(u64, &str)] = &[
    (0o1, "OPOST"),
    (0o2, "OLCUC"),
    (0o4, "ONLCR"),
    (0o10, "OCRNL"),
    (0o20, "ONOCR"),
    (0o40, "ONLRET"),
    (0o100, "OFILL"),
    (0o200, "OFDEL"),
];

/// The bits of `c_cflag` that hold the speed, the input speed (when it
/// differs), and the character size.
const SPEED: u64 = 0o10017;
const INPUT_SPEED: u64 = 0o2003600000;
const CHARACTER_SIZE: u64 = 0o60;

const BAUD_RATES: &[(u64, &str)] = &[
    (0, "B0"),
    (0o1, "B50"),
    (0o2, "B75"),
    (0o3, "B110"),
    (0o4, "B134"),
    (0o5, "B150"),
    (0o6, "B200"),
    (0o7, "B300"),
    (0o10, "B600"),
    (0o11, "B1200"),
    (0o12, "B1800"),
    (0o13, "B2400"),
    (0o14, "B4800"),
    (0o15, "B9600"),
    (0o16, "B19200"),
    (0o17, "B38400"),
    (0o10000, "BOTHER"),
    (0o10001, "B57600"),
    (0o10002, "B115200"),
    (0o10003, "B230400"),
    (0o10004, "B460800"),
    (0o10005, "B500000"),
    (0o10006, "B576000"),
    (0o10007, "B921600"),
    (0o10010, "B1000000"),
    (0o10011, "B1152000"),
    (0o10012, "B1500000"),
    (0o10013, "B2000000"),
    (0o10014, "B2500000"),
    (0o10015, "B3000000"),
    (0o10016, "B3500000"),
    (0o10017, "B4000000"),
];

const CHARACTER_SIZES: &[(u64, &str)] = &[(0, "CS5"), (0o20, "CS6"), (0o40, "CS7"), (0o60, "CS8")];

const CONTROL_FLAGS: &[(u64, &str)] = &[
    (0o100, "CSTOPB"),
    (0o200, "CREAD"),
    (0o400, "PARENB"),
    (0o1000, "PARODD"),
    (0o2000, "HUPCL"),
    (0o4000, "CLOCAL"),
    (0o10000000000, "CMSPAR"),
    (0o20000000000, "CRTSCTS"),
];

const LOCAL_FLAGS: &[(u64, &str)] = &[
    (0o1, "ISIG"),
    (0o2, "ICANON"),
    (0o4, "XCASE"),
    (0o10, "ECHO"),
    (0o20, "ECHOE"),
    (0o40, "ECHOK"),
    (0o100, "ECHONL"),
    (0o200, "NOFLSH"),
    (0o100000, "IEXTEN"),
    (0o1000, "ECHOCTL"),
    (0o2000, "ECHOPRT"),
    (0o4000, "ECHOKE"),
    (0o10000, "FLUSHO"),
    (0o40000, "PENDIN"),
    (0o400, "TOSTOP"),
    (0o200000, "EXTPROC"),
];

const IOCTLS: &[(u64, &str)] = &[
    (TCGETS, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (TIOCGWINSZ, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541b, "FIONREAD"),
];

const FCNTL_COMMANDS: &[(u64, &str)] = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (1030, "F_DUPFD_CLOEXEC"),
];

const WAIT_OPTIONS: &[(u64, &str)] = &[
    (1, "WNOHANG"),
    (2, "WSTOPPED"),
    (4, "WEXITED"),
    (8, "WCONTINUED"),
    (0x1000000, "WNOWAIT"),
    (0x80000000, "__WCLONE"),
    (0x40000000, "__WALL"),
    (0x20000000, "__WNOTHREAD"),
];

const SA_RESTORER: u64 = 0x04000000;

const SA_FLAGS: &[(u64, &str)] = &[
    (SA_RESTORER, "SA_RESTORER"),
    (0x08000000, "SA_ONSTACK"),
    (0x10000000, "SA_RESTART"),
    (0x20000000, "SA_INTERRUPT"),
    (0x40000000, "SA_NODEFER"),
    (0x80000000, "SA_RESETHAND"),
    (4, "SA_SIGINFO"),
    (1, "SA_NOCLDSTOP"),
    (2, "SA_NOCLDWAIT"),
];

const SIGPROCMASK_HOW: &[(u64, &str)] = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];

const FUTEX_OPS: &[(u64, &str)] = &[
    (0, "FUTEX_WAIT"),
    (1, "FUTEX_WAKE"),
    (128, "FUTEX_WAIT_PRIVATE"),
    (129, "FUTEX_WAKE_PRIVATE"),
    (9, "FUTEX_WAIT_BITSET"),
    (137, "FUTEX_WAIT_BITSET_PRIVATE"),
    (393, "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"),
];

const FADVICE: &[(u64, &str)] = &[
    (0, "POSIX_FADV_NORMAL"),
    (1, "POSIX_FADV_RANDOM"),
    (2, "POSIX_FADV_SEQUENTIAL"),
    (3, "POSIX_FADV_WILLNEED"),
    (4, "POSIX_FADV_DONTNEED"),
    (5, "POSIX_FADV_NOREUSE"),
];

const ADDRESS_FAMILIES: &[(u64, &str)] = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (10, "AF_INET6"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
];

const SOCKET_TYPES: &[(u64, &str)] = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (5, "SOCK_SEQPACKET"),
];

const SOCKET_FLAGS: &[(u64, &str)] = &[(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")];

/// clone's flags, in strace's order (linux/sched.h). The low byte is the
/// signal, not a flag. `CLONE_DETACHED` (0x400000) is left in hex, as
/// strace leaves it: the kernel ignores it.
const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (CLONE_PIDFD, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (CLONE_SETTLS, "CLONE_SETTLS"),
    (CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"),
    (CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"),
    (0x800000, "CLONE_UNTRACED"),
    (CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
];

/// The flags only clone3 has room for, after clone's in strace's order.
const CLONE3_FLAGS: &[(u64, &str)] = &[
    (0x80, "CLONE_NEWTIME"),
    (0x100000000, "CLONE_CLEAR_SIGHAND"),
    (CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"),
];

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_INTO_CGROUP: u64 = 0x200000000;

/// The flags that make clone write an id, which strace shows at the exit.
const CLONE_IDS: u64 =
    CLONE_PARENT_SETTID | CLONE_PIDFD | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS;

const SECCOMP_SET_MODE_FILTER: u64 = 1;

const SECCOMP_OPS: &[(u64, &str)] = &[
    (0, "SECCOMP_SET_MODE_STRICT"),
    (SECCOMP_SET_MODE_FILTER, "SECCOMP_SET_MODE_FILTER"),
    (2, "SECCOMP_GET_ACTION_AVAIL"),
    (3, "SECCOMP_GET_NOTIF_SIZES"),
];

const SECCOMP_FILTER_FLAGS: &[(u64, &str)] = &[
    (1, "SECCOMP_FILTER_FLAG_TSYNC"),
    (2, "SECCOMP_FILTER_FLAG_LOG"),
    (4, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
    (8, "SECCOMP_FILTER_FLAG_NEW_LISTENER"),
    (16, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH"),
    (32, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
];
// ANCHOR_END: all
