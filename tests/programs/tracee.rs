//! A small program for the tests to trace: it makes exactly the syscalls a test
//! asks for, through libc, so that the test knows what a tracer must see.
//!
//!   tracee getppid N        calls getppid N times
//!   tracee mixed            a fixed mix of syscalls that succeed and that fail
//!   tracee threads N K      starts N threads that each call getppid K times
//!   tracee deny-ptrace CMD  runs CMD where every ptrace call fails with EPERM,
//!                           as in a container whose seccomp profile forbids it

use std::ffi::{CString, c_char};
use std::{env, process, ptr};

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["getppid", times] => call_getppid(parse_count(times)),
        ["mixed"] => mixed_calls(),
        ["threads", threads, times] => {
            threads_calling_getppid(parse_count(threads), parse_count(times))
        }
        ["deny-ptrace", command @ ..] if !command.is_empty() => run_without_ptrace(command),
        _ => {
            eprintln!(
                "tracee: usage: tracee getppid N | tracee mixed | tracee threads N K | \
                 tracee deny-ptrace CMD..."
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

/// Starts `threads` threads, all at once, each calling getppid `times` times.
fn threads_calling_getppid(threads: u32, times: u32) {
    let handles: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || call_getppid(times)))
        .collect();
    for handle in handles {
        handle.join().unwrap();
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

/// Writes `text` to stdout with one `write` syscall.
fn say(text: &str) {
    // SAFETY: the pointer and length describe `text`, which write only reads.
    unsafe { libc::write(1, text.as_ptr().cast(), text.len()) };
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
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    let args: Vec<CString> = command
        .iter()
        .map(|arg| CString::new(*arg).unwrap())
        .collect();
    let mut argv: Vec<*const c_char> = args.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(ptr::null());
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
