//! A small program for the tests to trace: it makes exactly the syscalls a test
//! asks for, through libc, so that the test knows what a tracer must see.
//!
//!   tracee getppid N        calls getppid N times
//!   tracee mixed            a fixed mix of syscalls that succeed and that fail
//!   tracee bytes           writes every byte value, and text with quotes,
//!                           tabs and backslashes, to stdout (for escaping)
//!   tracee interrupted      blocks in a read that a signal interrupts (its
//!                           handler has no SA_RESTART, so the read fails)
//!   tracee deny-ptrace CMD  runs CMD where every ptrace call fails with EPERM,
//!                           as in a container whose seccomp profile forbids it
//!   tracee int80-write      writes "int 0x80\n" with the 32-bit syscall
//!                           instruction, where 4 is write (in 64-bit, stat)
//!   tracee x32-write        makes an x32-ABI write (1 | 0x40000000) of
//!                           "x32\n" (ENOSYS on kernels built without x32)
//!   tracee x32-getpid       makes an x32-ABI getpid (39 | 0x40000000) and
//!                           writes what came back: "x32 getpid: ok", or
//!                           an error's name (ENOSYS without x32, EPERM
//!                           where a seccomp filter refuses it)
//!   tracee signals          raises SIGUSR1 (handled), SIGUSR2 (ignored), then
//!                           sleeps 0.6 s, in which SIGALRM interrupts it
//!   tracee trap             raises SIGTRAP, with a handler: a real SIGTRAP
//!   tracee sigint-handler   says "ready", waits for SIGINT, whose handler
//!                           writes "handled SIGINT" and exits with 3
//!   tracee endings-handler  the same, for SIGHUP, SIGINT and SIGTERM
//!                           ("handled SIGTERM")
//!   tracee stop-self        stops itself with SIGSTOP, then writes "resumed"
//!   tracee stopped-awhile   the same, and a grandchild sends it SIGCONT
//!                           after 0.3 s
//!   tracee threads N [K]    starts N threads, each calls getppid K times
//!                           (10 by default) and writes "thread I\n"; joins
//!                           them after 0.3 s
//!   tracee threads-left N   starts N threads that wait in pause, and ends
//!                           once they do, without them: exit_group kills
//!                           them inside their call
//!   tracee forks N          forks N children, each calls getppid 10 times,
//!                           writes "child I\n" into a pipe and exits with I;
//!                           the parent (SIGCHLD blocked) waits for each
//!                           child, then copies the pipe's lines, sorted,
//!                           to stdout
//!   tracee thread-exec      a second thread calls execve (of `tracee
//!                           getppid 3`) while the main thread sleeps
//!   tracee parent-waits     forks a child, which writes "child: hello" and
//!                           exits with 7 only once the parent sleeps in
//!                           wait4; the parent then says how it ended. The
//!                           same lines, in the same order, on every run
//!   tracee loop FILE        works forever with two threads: the main one
//!                           writes a count, one more every 10 ms, into FILE
//!                           (SIGUSR1 adds 1000 to it); the other sleeps a
//!                           second at a time
//!   tracee loop FILE spinning  the same, and a third thread, "spinner",
//!                           that runs without a syscall (so that a signal
//!                           sent to it stops it for its tracer at once)
//!   tracee new-syscalls     calls fchmodat2 (452, Linux 6.6, newer than
//!                           strace 6.1) and 1000, which is no syscall
//!   tracee sigtrap-blocked CMD  runs CMD with SIGTRAP blocked, as a tracer
//!                           started by such a parent would run it
//!   tracee fexecve PROGRAM [ARGS]  runs PROGRAM with fexecve, which makes
//!                           execveat(fd, "", …, AT_EMPTY_PATH)
//!   tracee restarts         makes three calls that a signal (SIGALRM,
//!                           handled without SA_RESTART, sent by a second
//!                           thread) interrupts, each with another of the
//!                           kernel's restart errors: read (ERESTARTSYS),
//!                           pause (ERESTARTNOHAND), nanosleep
//!                           (ERESTART_RESTARTBLOCK)
//!   tracee formats          between two writes, calls whose result strace
//!                           writes in hex or octal: umask, fcntl (F_GETFL,
//!                           F_GETFD, F_GETLEASE, F_GET_SEALS), personality,
//!                           prctl (PR_GET_SECUREBITS,
//!                           PR_GET_SPECULATION_CTRL), membarrier
//!   tracee clones           starts a thread (clone3, from pthread_create)
//!                           and waits for its end, then a process (clone,
//!                           from fork), then a program (clone3 with
//!                           CLONE_VFORK, from posix_spawn of `sleep 0.1`),
//!                           and waits for each; each ends 0.1 s after its
//!                           clone, so that its end comes after the clone's
//!                           line
//!   tracee vfork-children   starts two children with CLONE_VFORK, which
//!                           keeps the parent inside its call until the
//!                           child ends: with clone (and the ids fork asks
//!                           for), then with clone3 (and parent_tid); each
//!                           child calls getppid, then exits
//!   tracee seccomp-trace NAME CMD...  runs CMD under a seccomp filter that
//!                           answers SECCOMP_RET_TRACE to syscall NAME, like
//!                           step 9's for -e trace=NAME: with no tracer that
//!                           asked for PTRACE_O_TRACESECCOMP, NAME fails with
//!                           ENOSYS
//!   tracee odd-numbers      calls -1 and 0x4000ffff, which are no syscall,
//!                           x32's 16 (x86_64's ioctl, which x32 has not),
//!                           and the x32 calls 512 (rt_sigaction) and 547
//!                           (pwritev2), numbered from x32's own table
//!   tracee poll-nothing     polls no descriptor, twice: poll(NULL, 0, 1),
//!                           and poll of an array of none

use std::ffi::{CString, c_char};
use std::{env, process, ptr};

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["getppid", times] => call_getppid(parse_count(times)),
        ["mixed"] => mixed_calls(),
        ["bytes"] => write_bytes(),
        ["interrupted"] => interrupted_read(),
        ["absurd-arguments"] => absurd_arguments(),
        ["deny-ptrace", command @ ..] if !command.is_empty() => run_without_ptrace(command),
        ["int80-write"] => int80_write(),
        ["x32-write"] => x32_write(),
        ["x32-getpid"] => x32_getpid(),
        ["signals"] => signals(),
        ["trap"] => trap(),
        ["sigint-handler"] => signal_handler(&[libc::SIGINT]),
        ["endings-handler"] => signal_handler(&[libc::SIGHUP, libc::SIGINT, libc::SIGTERM]),
        ["stop-self"] => stop_self(),
        ["stopped-awhile"] => stopped_awhile(),
        ["threads", count] => threads(parse_count(count), 10),
        ["threads", count, times] => threads(parse_count(count), parse_count(times)),
        ["threads-left", count] => threads_left(parse_count(count)),
        ["forks", count] => forks(parse_count(count)),
        ["thread-exec"] => thread_exec(),
        ["loop", file] => work_in_a_loop(file, false),
        ["loop", file, "spinning"] => work_in_a_loop(file, true),
        ["parent-waits"] => parent_waits(),
        ["new-syscalls"] => new_syscalls(),
        ["sigtrap-blocked", command @ ..] if !command.is_empty() => sigtrap_blocked(command),
        ["fexecve", command @ ..] if !command.is_empty() => run_with_fexecve(command),
        ["restarts"] => restarts(),
        ["formats"] => formats(),
        ["clones"] => clones(),
        ["vfork-children"] => vfork_children(),
        ["seccomp-trace", name, command @ ..] if !command.is_empty() => {
            run_with_trace_filter(name, command)
        }

        ["odd-numbers"] => odd_numbers(),
        ["poll-nothing"] => poll_nothing(),
        _ => {
            eprintln!(
                "tracee: usage: tracee getppid N | mixed | bytes | interrupted | absurd-arguments \
                 | deny-ptrace CMD... \
                 | int80-write | x32-write | x32-getpid | signals | trap | sigint-handler | endings-handler \
                 | stop-self | stopped-awhile | threads N [K] | threads-left N | forks N | thread-exec \
                 | loop FILE [spinning] \
                 | parent-waits \
                 | new-syscalls | sigtrap-blocked CMD... | fexecve PROGRAM... | restarts \
                 | formats | clones | vfork-children | seccomp-trace NAME CMD... \
                 | odd-numbers | poll-nothing"
            );
            process::exit(2);
        }
    }
}

fn parse_count(text: &str) -> u32 {
    text.parse().unwrap_or_else(|_| {
        eprintln!("tracee: '{text}' is not a count");
        process::exit(2);
    })
}

fn call_getppid(times: u32) {
    for _ in 0..times {
        // SAFETY: getppid has no arguments and cannot fail.
        unsafe { libc::getppid() };
    }
}

/// Between two writes to stdout, exactly these syscalls: openat 3 times (2
/// fail, ENOENT), read, close 3 times (2 fail, EBADF), mkdir (fails, EEXIST),
/// getppid; on top of whatever the loader and the Rust runtime do.
fn mixed_calls() {
    say("mixed: begin\n");
    let missing = CString::new("/nonexistent/tracee-test").unwrap();
    let present = CString::new("/dev/null").unwrap();
    let root = CString::new("/").unwrap();
    // SAFETY: every pointer is to a live NUL-terminated string or buffer of
    // the length given; the file descriptors are ours or deliberately bad.
    unsafe {
        libc::open(missing.as_ptr(), libc::O_RDONLY);
        libc::open(missing.as_ptr(), libc::O_RDONLY);
        let fd = libc::open(present.as_ptr(), libc::O_RDONLY);
        let mut buffer = [0u8; 16];
        libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len());
        libc::close(fd);
        libc::close(fd);
        libc::close(-1);
        libc::mkdir(root.as_ptr(), 0o755);
        libc::getppid();
    }
    say("mixed: done\n");
}

/// Writes, to stdout, each byte value in a few short writes (a tracer shows
/// 32 bytes of each by default), then text that needs escaping.
fn write_bytes() {
    let every_byte: Vec<u8> = (0..=255).collect();
    for chunk in every_byte.chunks(16) {
        write_all(chunk);
    }
    // A digit after a byte shown in octal: "\0017", not "\17".
    write_all(b"tab\there \"quoted\" back\\slash \x017 \x008\x009\n");
}

/// Makes syscalls with arguments no sane program passes, which a tracer reads
/// all the same: lengths of 2^62 (poll's descriptors, connect's address),
/// and a signal whose si_code is the smallest int. Each call fails, or
/// is simply delivered; the tracer must show it and go on.
fn absurd_arguments() {
    let huge = (1u64 << 62) + 1;
    let address = [0u8; 16];
    // SAFETY: the kernel checks the pointers and lengths and fails the
    // calls (EINVAL, EBADF); nothing is written to our memory.
    unsafe {
        libc::syscall(libc::SYS_poll, 0usize, huge, 0);
        libc::syscall(libc::SYS_connect, -1, address.as_ptr(), huge);
    }
    on_signal(libc::SIGUSR1, libc::SIG_IGN);
    // SAFETY: a zeroed siginfo_t is valid; rt_sigqueueinfo copies it, and a
    // negative si_code is what user space may send itself.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        info.si_signo = libc::SIGUSR1;
        info.si_code = i32::MIN;
        libc::syscall(
            libc::SYS_rt_sigqueueinfo,
            libc::getpid(),
            libc::SIGUSR1,
            &info,
        );
    }
    say("absurd-arguments: done\n");
}

/// Reads from a pipe that nobody writes to until SIGALRM, a second later,
/// interrupts the read. The handler is installed without SA_RESTART, so the
/// kernel does not restart the read: it fails with EINTR.
fn interrupted_read() {
    extern "C" fn on_alarm(_: libc::c_int) {}
    on_signal(libc::SIGALRM, on_alarm as *const () as libc::sighandler_t);
    let mut fds = [0; 2];
    let mut byte = 0u8;
    // SAFETY: `fds` and `byte` are valid for what pipe and read write into
    // them.
    unsafe {
        libc::pipe(fds.as_mut_ptr());
        libc::alarm(1);
        libc::read(fds[0], (&raw mut byte).cast(), 1);
    }
}

/// Writes `bytes` to stdout with one `write` syscall.
fn write_all(bytes: &[u8]) {
    // SAFETY: the pointer and length describe `bytes`, which write only reads.
    unsafe { libc::write(1, bytes.as_ptr().cast(), bytes.len()) };
}

fn say(text: &str) {
    write_all(text.as_bytes());
}

/// Installs a seccomp filter that makes every `ptrace` call fail with EPERM,
/// then becomes `command`. This is how a container runtime's default seccomp
/// profile refuses ptrace, so the tests can see what a tracer says then.
fn run_without_ptrace(command: &[&str]) -> ! {
    let nr_offset = 0; // offset of `nr` in struct seccomp_data
    let filter = [
        bpf_statement(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, nr_offset),
        bpf_jump_if_equal(libc::SYS_ptrace as u32, 0, 1),
        bpf_statement(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        bpf_statement(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    install_and_run(&filter, command)
}

/// Installs `filter` on ourselves, then becomes `command`.
fn install_and_run(filter: &[libc::sock_filter], command: &[&str]) -> ! {
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    let (_args, argv) = c_argv(command);
    // SAFETY: `program` points to a filter that lives until prctl returns;
    // `argv` is a null-terminated array of live C strings.
    unsafe {
        // Without CAP_SYS_ADMIN, a filter is allowed only under no_new_privs.
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &program) != 0 {
            eprintln!("tracee: cannot install the seccomp filter");
            process::exit(2);
        }
        libc::execvp(argv[0], argv.as_ptr());
    }
    eprintln!("tracee: cannot run {}", command[0]);
    process::exit(127);
}

fn bpf_statement(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn bpf_jump_if_equal(value: u32, jump_if_true: u8, jump_if_false: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt: jump_if_true,
        jf: jump_if_false,
        k: value,
    }
}

/// `int $0x80`, the 32-bit syscall instruction, from a 64-bit program: the
/// kernel takes the number from the i386 table, where 4 is `write`, and the
/// arguments from ebx, ecx, edx. The buffer must have a 32-bit address, so it
/// is mapped below 4 GiB (MAP_32BIT).
fn int80_write() {
    let text = b"int 0x80\n";
    // SAFETY: a fresh anonymous mapping of one page, which we write into.
    let buffer = unsafe {
        libc::mmap(
            ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
            -1,
            0,
        )
    };
    assert_ne!(buffer, libc::MAP_FAILED, "mmap MAP_32BIT failed");
    // SAFETY: the mapping is 4096 bytes long, the text much shorter.
    unsafe { ptr::copy_nonoverlapping(text.as_ptr(), buffer.cast(), text.len()) };
    let write_i386 = 4u32;
    let mut result = write_i386;
    // SAFETY: a write of our own buffer to stdout; int $0x80 clobbers only eax
    // (and, as any syscall, the flags). rbx belongs to the compiler, so the
    // first argument goes in by exchange, and the exchange back restores it.
    unsafe {
        std::arch::asm!(
            "xchg {fd}, rbx",
            "int 0x80",
            "xchg {fd}, rbx",
            fd = inout(reg) 1u64 => _,
            inout("eax") result,
            in("ecx") buffer as u32,
            in("edx") text.len() as u32,
        );
    }
    if result as i32 != text.len() as i32 {
        process::exit(1);
    }
}

/// An x32-ABI syscall: the x86_64 instruction with bit 0x40000000 in the
/// number; 1 is `write`. Kernels built without x32 support say ENOSYS.
fn x32_write() {
    let text = b"x32\n";
    let number: u64 = 0x4000_0000 | 1;
    let result: i64;
    // SAFETY: a write of our own buffer to stdout; `syscall` clobbers rcx
    // and r11.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number as i64 => result,
            in("rdi") 1u64,
            in("rsi") text.as_ptr(),
            in("rdx") text.len(),
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    let ok = result == text.len() as i64 || result == -(libc::ENOSYS as i64);
    process::exit(if ok { 0 } else { 1 });
}

/// An x32-ABI getpid (39 in x86_64's table), and what came back.
fn x32_getpid() {
    let number: u64 = 0x4000_0000 | libc::SYS_getpid as u64;
    let result: i64;
    // SAFETY: getpid has no arguments; `syscall` clobbers rcx and r11.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number as i64 => result,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    let what = match -result as i32 {
        libc::ENOSYS => "ENOSYS",
        libc::EPERM => "EPERM",
        _ if result > 0 => "ok",
        _ => "another error",
    };
    say(&format!("x32 getpid: {what}\n"));
}

extern "C" fn note_signal(signal: libc::c_int) {
    let text: &[u8] = match signal {
        libc::SIGUSR1 => b"handled SIGUSR1\n",
        libc::SIGALRM => b"handled SIGALRM\n",
        libc::SIGTRAP => b"handled SIGTRAP\n",
        _ => b"handled a signal\n",
    };
    // SAFETY: write is async-signal-safe; the buffer is static.
    unsafe { libc::write(1, text.as_ptr().cast(), text.len()) };
}

/// Installs `handler` for `signal`, without SA_RESTART: an interrupted
/// syscall fails with EINTR, or is restarted by the kernel's own means.
fn on_signal(signal: libc::c_int, handler: libc::sighandler_t) {
    // SAFETY: a zeroed sigaction is a valid one with an empty mask.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        libc::sigaction(signal, &action, ptr::null_mut());
    }
}

fn signals() {
    on_signal(
        libc::SIGUSR1,
        note_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
    );
    on_signal(libc::SIGUSR2, libc::SIG_IGN);
    on_signal(
        libc::SIGALRM,
        note_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
    );
    // SAFETY: plain calls with valid arguments.
    unsafe {
        libc::raise(libc::SIGUSR1);
        libc::raise(libc::SIGUSR2);
        // The alarm must come inside the sleep, whatever the machine's load
        // and the tracer's stops between the two calls: a wide margin.
        let soon = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: 0,
                tv_usec: 300_000,
            },
        };
        libc::setitimer(libc::ITIMER_REAL, &soon, ptr::null_mut());
        // Interrupted by SIGALRM after 0.3 s: the kernel restarts the rest
        // of the sleep with restart_syscall once the handler has run.
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 600_000_000,
        };
        libc::nanosleep(&pause, ptr::null_mut());
    }
    say("signals: done\n");
}

fn trap() {
    on_signal(
        libc::SIGTRAP,
        note_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
    );
    // SAFETY: SIGTRAP has a handler.
    unsafe { libc::raise(libc::SIGTRAP) };
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() };
}

extern "C" fn end_on_signal(signal: libc::c_int) {
    let text: &[u8] = match signal {
        libc::SIGHUP => b"handled SIGHUP\n",
        libc::SIGTERM => b"handled SIGTERM\n",
        _ => b"handled SIGINT\n",
    };
    // SAFETY: write and _exit are async-signal-safe.
    unsafe {
        libc::write(1, text.as_ptr().cast(), text.len());
        libc::_exit(3);
    }
}

fn signal_handler(signals: &[libc::c_int]) {
    for &signal in signals {
        on_signal(
            signal,
            end_on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    say("ready\n");
    loop {
        // SAFETY: pause waits for a signal; the handler ends the program.
        unsafe { libc::pause() };
    }
}

fn stop_self() {
    // SAFETY: SIGSTOP stops us until someone sends SIGCONT.
    unsafe { libc::raise(libc::SIGSTOP) };
    say("resumed\n");
}

/// Stops itself until a grandchild sends SIGCONT. A grandchild, so that the
/// one SIGCHLD (from the child, which exits at once) comes before the stop,
/// always: a tracer's lines are then the same on every run.
fn stopped_awhile() {
    // SAFETY: getpid cannot fail; the children only sleep, kill and _exit,
    // which are async-signal-safe.
    unsafe {
        let parent = libc::getpid();
        match libc::fork() {
            0 => {
                if libc::fork() == 0 {
                    libc::usleep(300_000);
                    libc::kill(parent, libc::SIGCONT);
                }
                libc::_exit(0);
            }
            child => {
                libc::waitpid(child, ptr::null_mut(), 0);
            }
        }
    }
    stop_self();
}

/// N threads, each with exactly `times` getppid calls and one write.
fn threads(count: u32, times: u32) {
    // One memory arena for all threads: a thread's first allocation would
    // otherwise map an arena of its own, and trim it with one munmap or
    // two, as the address the kernel chose decides.
    // SAFETY: mallopt only sets an option of the allocator.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    let threads: Vec<_> = (0..count)
        .map(|i| {
            std::thread::spawn(move || {
                call_getppid(times);
                say(&format!("thread {i}\n"));
            })
        })
        .collect();
    // Time for all to end: a join that has to wait makes one more futex
    // call, and whether it has to would change from run to run.
    std::thread::sleep(std::time::Duration::from_millis(300));
    for thread in threads {
        thread.join().unwrap();
    }
}

/// N threads that wait for a signal that never comes, left there as the
/// process ends. Each says it is on its way to pause with no syscall (an
/// atomic count, which the main thread waits for, spinning), so that all
/// are in pause when the process ends, however slow the machine.
fn threads_left(count: u32) {
    static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    // One arena, as in `threads`.
    // SAFETY: mallopt only sets an option of the allocator.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    for _ in 0..count {
        std::thread::spawn(|| {
            STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // SAFETY: pause waits for a signal; none comes.
            unsafe { libc::pause() }
        });
    }
    while STARTED.load(std::sync::atomic::Ordering::SeqCst) < count {
        std::hint::spin_loop();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// N children, each with exactly 10 getppid calls and one write into a
/// pipe, that the parent reads; each exits with its number.
fn forks(count: u32) {
    let mut fds = [0; 2];
    // SAFETY: `fds` and `sigchld` are valid for pipe and sigset to fill; the
    // children make only async-signal-safe calls (getppid, write, _exit).
    unsafe {
        // SIGCHLD blocked: a traced process sees even a signal it ignores,
        // and a read it interrupts fails and starts again, or not, as the
        // children's timing decides. Blocked, the counts are the same on
        // every run.
        let mut sigchld: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut sigchld);
        libc::sigaddset(&mut sigchld, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &sigchld, ptr::null_mut());
        libc::pipe(fds.as_mut_ptr());
        for i in 0..count {
            if libc::fork() == 0 {
                libc::close(fds[0]);
                call_getppid(10);
                let line = [
                    b'c',
                    b'h',
                    b'i',
                    b'l',
                    b'd',
                    b' ',
                    b'0' + (i % 10) as u8,
                    b'\n',
                ];
                libc::write(fds[1], line.as_ptr().cast(), line.len());
                libc::_exit(i as i32);
            }
        }
        libc::close(fds[1]);
        // Every child ended first: their lines are all in the pipe, for
        // one read (and one more that sees the end), on every run.
        for _ in 0..count {
            libc::wait(ptr::null_mut());
        }
        let mut lines = Vec::new();
        let mut buffer = [0u8; 512];
        loop {
            let n = libc::read(fds[0], buffer.as_mut_ptr().cast(), buffer.len());
            if n <= 0 {
                break;
            }
            lines.extend_from_slice(&buffer[..n as usize]);
        }
        // In order, whichever child wrote first.
        let mut lines: Vec<&[u8]> = lines.split_inclusive(|&b| b == b'\n').collect();
        lines.sort();
        write_all(&lines.concat());
    }
}

/// A thread other than the main one replaces the program: the kernel ends
/// the main thread, and the caller takes its id. The caller waits (spinning,
/// with no syscall) until the main thread has nothing left to do but sleep:
/// what the main thread does before its death is then the same on every
/// run, however the two are scheduled.
fn thread_exec() {
    static SLEEPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    // One arena, as in `threads`: the second thread would make its own.
    // SAFETY: mallopt only sets an option of the allocator.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    let program = CString::new(
        env::current_exe()
            .unwrap()
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    let args = [
        c"tracee".as_ptr(),
        c"getppid".as_ptr(),
        c"3".as_ptr(),
        ptr::null(),
    ];
    let program_address = program.as_ptr() as usize;
    let args_address = args.as_ptr() as usize;
    std::thread::spawn(move || {
        while !SLEEPING.load(std::sync::atomic::Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        // SAFETY: both point to live, NUL-terminated data (the main thread
        // sleeps on, keeping `program` and `args`), and `args` ends with a
        // null pointer.
        unsafe {
            libc::execv(
                program_address as *const c_char,
                args_address as *const *const c_char,
            )
        };
    });
    SLEEPING.store(true, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_secs(10));
}

static EXTRA: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn add_a_thousand(_: libc::c_int) {
    EXTRA.fetch_add(1000, std::sync::atomic::Ordering::Relaxed);
}

/// Works until killed: a count in FILE, one more every 10 ms, and 1000 more
/// for each SIGUSR1; a second thread sleeps, mostly inside a syscall; and,
/// `spinning`, a third one runs, never inside one.
fn work_in_a_loop(file: &str, spinning: bool) -> ! {
    on_signal(
        libc::SIGUSR1,
        add_a_thousand as *const () as libc::sighandler_t,
    );
    std::thread::spawn(|| {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
    if spinning {
        let spinner = std::thread::Builder::new().name("spinner".to_string());
        spinner
            .spawn(|| {
                loop {
                    std::hint::spin_loop();
                }
            })
            .unwrap();
    }
    let path = CString::new(file).unwrap();
    let mut count = 0u64;
    loop {
        count += 1;
        let text = format!(
            "{}\n",
            count + EXTRA.load(std::sync::atomic::Ordering::Relaxed)
        );
        // SAFETY: `path` is NUL-terminated and `text` is a live buffer.
        unsafe {
            let fd = libc::open(
                path.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
                0o644,
            );
            libc::write(fd, text.as_ptr().cast(), text.len());
            libc::close(fd);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A parent and a child that take turns, whatever the timing: the child
/// tells the parent it runs, by closing its end of a pipe (so a tracer has
/// seen it start before the parent's wait4), and waits for the parent to
/// sleep in wait4 before it says anything.
fn parent_waits() {
    let mut fds = [0; 2];
    // SAFETY: `fds`, `byte` and `status` are valid for what pipe, read and
    // wait4 write into them. The process has one thread, so the child may
    // allocate.
    unsafe {
        libc::pipe(fds.as_mut_ptr());
        let parent = libc::getpid();
        if libc::fork() == 0 {
            // The parent's read ends when no writing end is left open.
            libc::close(fds[1]);
            while !sleeps_in(parent, libc::SYS_wait4) {
                libc::usleep(1000);
            }
            say("child: hello\n");
            libc::_exit(7);
        }
        libc::close(fds[1]);
        let mut byte = 0u8;
        libc::read(fds[0], (&raw mut byte).cast(), 1);
        let mut status = 0;
        libc::wait4(-1, &mut status, 0, ptr::null_mut());
        say(&format!(
            "parent: the child exited with {}\n",
            libc::WEXITSTATUS(status)
        ));
    }
}

/// Whether process `pid` (its main thread) sleeps (state S, not stopped for
/// a tracer) inside syscall `number` (first in /proc/PID/syscall).
fn sleeps_in(pid: libc::pid_t, number: libc::c_long) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    stat.rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('S'))
        && syscall.starts_with(&format!("{number} "))
}

/// Two syscalls strace 6.1 does not know: fchmodat2 (452, Linux 6.6), and
/// 1000, which is no syscall at all.
fn new_syscalls() {
    let missing = CString::new("/nonexistent/tracee-test").unwrap();
    // SAFETY: fchmodat2 only reads the path, a live C string; 1000 is no
    // syscall, and the kernel answers ENOSYS.
    unsafe {
        libc::syscall(452, libc::AT_FDCWD, missing.as_ptr(), 0o644, 0);
        libc::syscall(1000);
    }
}

/// The arguments of `command`, as the C strings and null-terminated array of
/// pointers that the exec calls take.
fn c_argv(command: &[&str]) -> (Vec<CString>, Vec<*const c_char>) {
    let args: Vec<CString> = command
        .iter()
        .map(|arg| CString::new(*arg).unwrap())
        .collect();
    let mut argv: Vec<*const c_char> = args.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(ptr::null());
    (args, argv)
}

/// Blocks SIGTRAP, then becomes `command`, which inherits the mask.
fn sigtrap_blocked(command: &[&str]) -> ! {
    let (_args, argv) = c_argv(command);
    // SAFETY: a zeroed sigset_t is a valid one to fill; `argv` is a
    // null-terminated array of live C strings.
    unsafe {
        let mut trap: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut trap);
        libc::sigaddset(&mut trap, libc::SIGTRAP);
        libc::sigprocmask(libc::SIG_BLOCK, &trap, ptr::null_mut());
        libc::execvp(argv[0], argv.as_ptr());
    }
    eprintln!("tracee: cannot run {}", command[0]);
    process::exit(127);
}

/// Becomes `command[0]`, a path, through a descriptor: glibc's fexecve
/// makes `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`.
fn run_with_fexecve(command: &[&str]) -> ! {
    let (args, argv) = c_argv(command);
    unsafe extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: `args[0]` is a live C string, `argv` a null-terminated array
    // of them, and `environ` the C library's environment.
    unsafe {
        let fd = libc::open(args[0].as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        libc::fexecve(fd, argv.as_ptr(), environ);
    }
    eprintln!("tracee: cannot run {}", command[0]);
    process::exit(127);
}

/// Three calls, each interrupted by a SIGALRM whose handler has no
/// SA_RESTART. A second thread (which a tracer without -f does not see)
/// sends each signal once the main thread sleeps in the call, never before:
/// the same lines on every run, however loaded the machine.
fn restarts() {
    extern "C" fn on_alarm(_: libc::c_int) {}
    on_signal(libc::SIGALRM, on_alarm as *const () as libc::sighandler_t);
    let main = std::process::id() as libc::pid_t;
    let calls = [libc::SYS_read, libc::SYS_pause, libc::SYS_clock_nanosleep];
    std::thread::spawn(move || {
        for call in calls {
            while !sleeps_in(main, call) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            // SAFETY: a signal to our own main thread, which handles it.
            unsafe { libc::syscall(libc::SYS_tgkill, main, main, libc::SIGALRM) };
        }
    });
    let mut fds = [0; 2];
    let mut byte = 0u8;
    let long = libc::timespec {
        tv_sec: 100,
        tv_nsec: 0,
    };
    // SAFETY: `fds`, `byte` and `long` are valid for what pipe, read and
    // nanosleep do with them.
    unsafe {
        libc::pipe(fds.as_mut_ptr());
        // Nobody writes: ERESTARTSYS, which EINTR replaces.
        libc::read(fds[0], (&raw mut byte).cast(), 1);
        // ERESTARTNOHAND: restarted only if the signal has no handler.
        libc::pause();
        // ERESTART_RESTARTBLOCK: restarted, with what is left of the time,
        // only if the signal has no handler.
        libc::nanosleep(&long, ptr::null_mut());
    }
}

/// Between two writes to stdout, calls whose result strace writes in another
/// base than decimal: octal for umask's mask, hex for the flags the others
/// return (most of them nonzero: strace writes a 0 as 0 in any base).
fn formats() {
    say("formats: begin\n");
    let null = CString::new("/dev/null").unwrap();
    // SAFETY: plain calls on our own descriptors and settings; the memfd's
    // name is a live C string; each setting changed is put back.
    unsafe {
        let old = libc::umask(0o027);
        libc::umask(old);
        let fd = libc::open(null.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_GETFD);
        libc::fcntl(fd, libc::F_GETLEASE);
        let sealed = libc::memfd_create(c"formats".as_ptr(), libc::MFD_ALLOW_SEALING);
        libc::fcntl(sealed, libc::F_ADD_SEALS, libc::F_SEAL_SEAL);
        libc::fcntl(sealed, libc::F_GET_SEALS);
        let persona = libc::personality(0xffff_ffff) as libc::c_ulong;
        libc::personality(persona | libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
        libc::personality(0xffff_ffff);
        libc::personality(persona);
        // PR_SET_KEEPCAPS sets a secure bit, SECBIT_KEEP_CAPS, and needs no
        // privilege.
        libc::prctl(libc::PR_SET_KEEPCAPS, 1);
        libc::prctl(libc::PR_GET_SECUREBITS);
        libc::prctl(libc::PR_SET_KEEPCAPS, 0);
        libc::prctl(
            libc::PR_GET_SPECULATION_CTRL,
            libc::PR_SPEC_STORE_BYPASS,
            0,
            0,
            0,
        );
        // MEMBARRIER_CMD_QUERY: the commands this kernel supports.
        libc::syscall(libc::SYS_membarrier, 0, 0, 0);
        libc::close(sealed);
        libc::close(fd);
    }
    say("formats: done\n");
}
/// A thread, a process and a program, each started the way its library
/// call starts it, one after the other: the flags of each clone are the
/// lesson of chapter 7.
fn clones() {
    // Each child ends 0.1 s after it starts: a tracer hears of its end
    // after its clone's exit, never in the middle of the clone's line.
    let a_while = std::time::Duration::from_millis(100);
    let thread = std::thread::spawn(move || std::thread::sleep(a_while));
    thread.join().unwrap();
    // SAFETY: the child only calls usleep and _exit, which are
    // async-signal-safe; waitpid takes a null status pointer.
    unsafe {
        let child = libc::fork();
        if child == 0 {
            libc::usleep(100_000);
            libc::_exit(0);
        }
        libc::waitpid(child, ptr::null_mut(), 0);
    }
    let path = c"/bin/sleep";
    let argv = [
        c"sleep".as_ptr().cast_mut(),
        c"0.1".as_ptr().cast_mut(),
        ptr::null_mut(),
    ];
    let mut child = 0;
    // SAFETY: `path` and `argv` are NUL-terminated, `argv` ends with a null
    // pointer; no file actions or attributes; the environment is ours.
    unsafe {
        unsafe extern "C" {
            static environ: *const *mut c_char;
        }
        libc::posix_spawn(
            &mut child,
            path.as_ptr(),
            ptr::null(),
            ptr::null(),
            argv.as_ptr(),
            environ,
        );
        libc::waitpid(child, ptr::null_mut(), 0);
    }
}

/// Two children made with CLONE_VFORK, which suspends the parent inside
/// its call until the child lets go of its memory, here by exiting: the
/// child's getppid comes, every time, between the entry and the exit of
/// the parent's clone or clone3.
fn vfork_children() {
    let mut child_tid: libc::pid_t = 0;
    let mut parent_tid: libc::pid_t = 0;
    let clone_flags =
        libc::CLONE_VFORK | libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD;
    // clone3's struct clone_args: flags, pidfd, child_tid, parent_tid,
    // exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
    let mut clone_args = [0u64; 11];
    clone_args[0] = (libc::CLONE_VFORK | libc::CLONE_PARENT_SETTID) as u64;
    clone_args[3] = (&raw mut parent_tid) as u64;
    clone_args[4] = libc::SIGCHLD as u64;
    // SAFETY: without CLONE_VM, each child runs on a copy of our memory,
    // as after fork, and only calls getppid and _exit; the pointers are to
    // live locals, of the sizes the kernel writes.
    unsafe {
        let child = libc::syscall(libc::SYS_clone, clone_flags, 0, 0, &raw mut child_tid, 0);
        child_calls_getppid_and_exits(child);
        let child = libc::syscall(
            libc::SYS_clone3,
            clone_args.as_ptr(),
            size_of_val(&clone_args),
        );
        child_calls_getppid_and_exits(child);
    }
}

/// In the child (`child` is 0): getppid, then exit. In the parent: wait for
/// the child's end.
fn child_calls_getppid_and_exits(child: libc::c_long) {
    // SAFETY: getppid and _exit are async-signal-safe; waitpid takes any
    // pid, and a null status pointer.
    unsafe {
        if child == 0 {
            libc::getppid();
            libc::_exit(0);
        }
        libc::waitpid(child as libc::pid_t, ptr::null_mut(), 0);
    }
}

/// Becomes `command` under a filter like the one step 9 installs for `-e
/// trace=NAME`: stop at NAME for the tracer, allow everything else. A filter is kept
/// across execve and by every child; a process that no tracer watches for
/// seccomp stops gets ENOSYS from the kernel at NAME instead.
fn run_with_trace_filter(name: &str, command: &[&str]) -> ! {
    let Ok(sysno) = name.parse::<syscalls::Sysno>() else {
        eprintln!("tracee: '{name}' is not a syscall");
        process::exit(2);
    };
    let (arch_offset, nr_offset) = (4, 0); // in struct seccomp_data
    let filter = [
        // Another ABI's numbers mean other calls: let them through.
        bpf_statement(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, arch_offset),
        bpf_jump_if_equal(AUDIT_ARCH_X86_64, 1, 0),
        bpf_statement(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
        bpf_statement(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, nr_offset),
        bpf_jump_if_equal(sysno as u32, 0, 1),
        bpf_statement(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_TRACE),
        bpf_statement(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    install_and_run(&filter, command)
}

/// `AUDIT_ARCH_X86_64` from linux/audit.h.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// Numbers that are no syscall, and x32's own calls (from 512 on, the
/// calls whose structures differ from x86_64's). Each gets zeroes, or -1 for
/// a descriptor, so that nothing is read or written.
fn odd_numbers() {
    const X32: libc::c_long = 0x4000_0000;
    // SAFETY: the kernel answers ENOSYS to the numbers that are none, EBADF
    // or EINVAL to the others (ENOSYS on kernels built without x32).
    unsafe {
        libc::syscall(-1, 0, 0, 0, 0, 0, 0);
        libc::syscall(0x4000_ffff, 0, 0, 0, 0, 0, 0);
        libc::syscall(X32 | 16, -1, 0, 0, 0, 0, 0);
        libc::syscall(X32 | 512, 0, 0, 0, 8, 0, 0);
        libc::syscall(X32 | 547, -1, 0, 0, 0, 0, 0);
    }
}

/// `poll` with no descriptor to watch: a way to sleep a millisecond.
fn poll_nothing() {
    let mut none: [libc::pollfd; 0] = [];
    // SAFETY: no descriptor is read or written: the count is 0.
    unsafe {
        libc::poll(ptr::null_mut(), 0, 1);
        libc::poll(none.as_mut_ptr(), 0, 1);
    }
}
