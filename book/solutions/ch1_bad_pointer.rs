//! Chapter 1, exercise 3, solved: `raw_write_from` takes a raw pointer and a
//! length, and `main` hands it a null pointer. The result is printed on
//! stderr, so that it still shows when stdout goes to /dev/null.
//! Everything else is step 1 as it is.
//!
// ANCHOR: all
//! Step 1: a syscall with nothing in between.
//!
//! A program cannot write to the terminal by itself: it asks the kernel, with a
//! *system call*. On x86_64 Linux that is one CPU instruction, `syscall`, with
//! the request laid out in registers. This step makes that request by hand, in
//! inline assembly, with no libc and no Rust standard library in between.
//!
//! It writes a message to stdout, shows what the kernel returned in `rax`, then
//! makes the same call on a file descriptor that does not exist to show how the
//! kernel reports an error, and how libc turns that into `-1` and `errno`.
//!
//! Run it: `cargo build`, then `./target/debug/step1`

use std::io;

// ANCHOR: numbers
/// The number of the `write` syscall on x86_64 (see `syscalls::Sysno::write`,
/// or `asm/unistd_64.h` under `/usr/include/x86_64-linux-gnu/` on Debian and
/// Ubuntu, `/usr/include/` elsewhere). Numbers differ between architectures.
const SYS_WRITE: usize = 1;

const STDOUT: i32 = 1;
/// No process has a file descriptor -1, so `write` on it must fail.
const BAD_FD: i32 = -1;
// ANCHOR_END: numbers

fn main() {
    let message = b"Hello from a raw syscall!\n";

    // ANCHOR: success
    let rax = raw_write(STDOUT, message);
    println!(
        "write(1, message, {}) returned {rax} in rax: the number of bytes written",
        message.len()
    );
    // ANCHOR_END: success

    // ANCHOR: failure
    let rax = raw_write(BAD_FD, message);
    println!(
        "write(-1, message, {}) returned {rax} in rax: minus EBADF ({}), \"bad file descriptor\"",
        message.len(),
        libc::EBADF,
    );

    // The same failing call through libc: the C library sees the negative
    // number, stores its opposite in the thread-local `errno`, and returns -1.
    // SAFETY: `message` is a valid buffer of `message.len()` bytes, and write
    // only reads from it.
    let ret = unsafe { libc::write(BAD_FD, message.as_ptr().cast(), message.len()) };
    let errno = io::Error::last_os_error();
    println!(
        "libc's write(-1, message, {}) returned {ret} and set errno to {} ({errno})",
        message.len(),
        errno.raw_os_error().unwrap_or_default(),
    );
    // ANCHOR_END: failure

    // ANCHOR: solution_main
    // On stderr: with `>/dev/null`, stdout's lines are gone, and this one must
    // still show.
    let rax = raw_write_from(STDOUT, std::ptr::null(), message.len());
    eprintln!("write(1, NULL, {}) returned {rax} in rax", message.len());
    // ANCHOR_END: solution_main
}

// ANCHOR: solution
/// `raw_write` with a raw pointer and a length instead of a slice, so that it
/// can be handed an address that holds nothing.
fn raw_write_from(fd: i32, bytes: *const u8, len: usize) -> isize {
    let rax: isize;
    // SAFETY: the kernel never trusts an address it is given: it checks every
    // byte it reads, and fails the call with EFAULT instead of crashing us.
    // It writes no memory of ours, and the registers it changes are declared.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") SYS_WRITE as isize => rax,
            in("rdi") fd as isize,
            in("rsi") bytes,
            in("rdx") len,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    rax
}
// ANCHOR_END: solution

// ANCHOR: raw_write
/// Asks the kernel to write `bytes` to the file descriptor `fd`, with the
/// `syscall` instruction and nothing else. Returns what the kernel put in `rax`:
/// the number of bytes written, or a negative error number such as -EBADF.
fn raw_write(fd: i32, bytes: &[u8]) -> isize {
    let rax: isize;
    // SAFETY: `write` only reads `bytes.len()` bytes from `bytes.as_ptr()`, a
    // valid slice, and changes no memory of ours. The registers the kernel may
    // change are all declared below, so Rust keeps nothing it needs in them.
    unsafe {
        std::arch::asm!(
            "syscall",
            // rax carries the syscall number in, and the result back out.
            inlateout("rax") SYS_WRITE as isize => rax,
            // The arguments, in the order of the C prototype
            // `write(int fd, const void *buf, size_t count)`.
            in("rdi") fd as isize,
            in("rsi") bytes.as_ptr(),
            in("rdx") bytes.len(),
            // The `syscall` instruction itself overwrites these two: the CPU
            // saves the return address in rcx and the flags in r11.
            lateout("rcx") _,
            lateout("r11") _,
            // The kernel does not touch our stack.
            options(nostack),
        );
    }
    rax
}
// ANCHOR_END: raw_write
// ANCHOR_END: all
