// ANCHOR: all
//! Reading the traced program's memory.
//!
//! A syscall's arguments are registers, and many of them are addresses: of
//! a path, of the bytes to write, of a structure the kernel fills. Those
//! addresses mean something only in the tracee's address space, not in ours,
//! so the tracer asks the kernel to copy from there: `process_vm_readv(2)`
//! copies any number of bytes in one syscall. The older way, `PTRACE_PEEKDATA`,
//! is here too, for comparison: one syscall per 8-byte word.
//!
//! Step 5 introduces this file; step 6 includes it unchanged.

use std::io::IoSliceMut;

use nix::sys::ptrace;
use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;

/// Memory is mapped in pages: a read that crosses into a page that is not
/// mapped fails at that page, so strings are read a page at a time.
const PAGE_SIZE: u64 = 4096;

/// The most `read` copies at once: more than any buffer a trace shows.
const MAX_READ: usize = 1 << 20;

/// The memory of one traced process.
#[derive(Clone, Copy)]
pub struct Memory {
    pid: Pid,
}

impl Memory {
    pub fn of(pid: Pid) -> Memory {
        Memory { pid }
    }

    // ANCHOR: read
    /// Copies `len` bytes from `address` in the tracee, in one syscall, or
    /// fewer if the memory there ends first; `None` if not a single byte can
    /// be read (a bad pointer, which the kernel would answer with EFAULT).
    pub fn read(&self, address: u64, len: usize) -> Option<Vec<u8>> {
        // The length comes from the program's registers, and a program may
        // pass any: never more than a megabyte, whatever it asks for.
        let len = len.min(MAX_READ);
        let mut bytes = vec![0; len];
        let mut local = [IoSliceMut::new(&mut bytes)];
        let remote = [RemoteIoVec {
            base: address as usize,
            len,
        }];
        let count = process_vm_readv(self.pid, &mut local, &remote).ok()?;
        bytes.truncate(count);
        (count > 0 || len == 0).then_some(bytes)
    }
    // ANCHOR_END: read

    // ANCHOR: read_c_string
    /// Reads a C string at `address`: the bytes before its NUL, at most
    /// `limit` of them. Also says whether the NUL was found within the limit.
    pub fn read_c_string(&self, address: u64, limit: usize) -> Option<(Vec<u8>, bool)> {
        let mut string = Vec::new();
        let mut at = address;
        // Its length is unknown until its NUL: a read of `limit` bytes could
        // run past the string into memory that is not mapped, and the man
        // page promises no partial copy within one range. So read a page at
        // a time, up to the end of each, and stop at the first NUL.
        while string.len() < limit {
            let in_page = (PAGE_SIZE - at % PAGE_SIZE) as usize;
            let Some(chunk) = self.read(at, in_page.min(limit - string.len())) else {
                break;
            };
            if let Some(nul) = chunk.iter().position(|&byte| byte == 0) {
                string.extend_from_slice(&chunk[..nul]);
                return Some((string, true));
            }
            at += chunk.len() as u64;
            string.extend_from_slice(&chunk);
        }
        (!string.is_empty()).then_some((string, false))
    }
    // ANCHOR_END: read_c_string

    // ANCHOR: read_value
    /// Reads a value of type `T` (a C structure, or a number) at `address`.
    pub fn read_value<T: Plain>(&self, address: u64) -> Option<T> {
        let bytes = self.read(address, size_of::<T>())?;
        (bytes.len() == size_of::<T>())
            // SAFETY: `bytes` holds size_of::<T>() bytes, and `T: Plain` says
            // that any bytes are a valid T. The read is unaligned-safe.
            .then(|| unsafe { bytes.as_ptr().cast::<T>().read_unaligned() })
    }
    // ANCHOR_END: read_value

    // ANCHOR: peek
    /// The same as `read`, the old way: `PTRACE_PEEKDATA` returns one word
    /// (8 bytes) per syscall, so `len` bytes cost `len / 8` syscalls (rounded
    /// up), where `read` makes one.
    // Not called by the tracer: the chapter compares it with `read`, and an
    // exercise swaps it in.
    #[allow(dead_code)]
    pub fn peek(&self, address: u64, len: usize) -> Option<Vec<u8>> {
        let mut bytes = Vec::with_capacity(len + 8);
        while bytes.len() < len {
            let at = address + bytes.len() as u64;
            let word = ptrace::read(self.pid, at as ptrace::AddressType).ok()?;
            bytes.extend_from_slice(&word.to_ne_bytes());
        }
        bytes.truncate(len);
        Some(bytes)
    }
    // ANCHOR_END: peek
}

// ANCHOR: plain
/// Types that any bytes make a valid value of: the C structures the kernel
/// fills (plain integers, and arrays of them).
///
/// # Safety
/// Only for types with no padding-sensitive invariants, no pointers that
/// Rust dereferences, no enums: C structures of integers.
pub unsafe trait Plain: Copy {}

// SAFETY: any bits are a valid integer, and any integers a valid array of
// them. (decode.rs adds the C structures it reads.)
unsafe impl Plain for i32 {}
unsafe impl Plain for u32 {}
unsafe impl Plain for i64 {}
unsafe impl Plain for u64 {}
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}
// ANCHOR_END: plain
// ANCHOR_END: all
