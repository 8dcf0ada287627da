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

use std::fmt::Arguments;
use std::io::{self, Write};
use std::process;

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
    say(format_args!(
        "write(1, message, {}) returned {rax} in rax: the number of bytes written",
        message.len()
    ));
    // ANCHOR_END: success

    // ANCHOR: failure
    let rax = raw_write(BAD_FD, message);
    say(format_args!(
        "write(-1, message, {}) returned {rax} in rax: minus EBADF ({}), \"bad file descriptor\"",
        message.len(),
        libc::EBADF,
    ));

    // The same failing call through libc: the C library sees the negative
    // number, stores its opposite in the thread-local `errno`, and returns -1.
    // SAFETY: `message` is a valid buffer of `message.len()` bytes, and write
    // only reads from it.
    let ret = unsafe { libc::write(BAD_FD, message.as_ptr().cast(), message.len()) };
    let errno = io::Error::last_os_error();
    say(format_args!(
        "libc's write(-1, message, {}) returned {ret} and set errno to {} ({errno})",
        message.len(),
        errno.raw_os_error().unwrap_or_default(),
    ));
    // ANCHOR_END: failure
}

// ANCHOR: say
/// Prints a line on stdout, like `println!`, which panics when stdout cannot
/// be written (a full disk, `>/dev/full`, a closed pipe): say so in one line
/// instead, as every step does.
fn say(line: Arguments) {
    if let Err(error) = writeln!(io::stdout(), "{line}") {
        // If stderr cannot be written either, there is no one left to tell.
        let _ = writeln!(io::stderr(), "step1: cannot write to stdout: {error}");
        process::exit(1);
    }
}
// ANCHOR_END: say

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
