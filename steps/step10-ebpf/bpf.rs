// ANCHOR: all
//! The `bpf(2)` syscall, by hand: create a map, load a program, attach it to a
//! tracepoint, read and write a map. Nothing else of BPF is used by step 10.
//!
//! `bpf(2)` takes a command and a pointer to a `union bpf_attr`, whose layout
//! for each command is in `/usr/include/linux/bpf.h`. Each command here has
//! its own `#[repr(C)]` struct with the fields of that layout, in that order;
//! the kernel reads only as many bytes as we say we pass, and treats the
//! fields we leave out as zero.
//!
//! Everything the kernel gives back is a file descriptor (`OwnedFd`): a map, a
//! program, an attachment. Close it and the kernel forgets the object, once
//! nothing else holds it; so does a process that dies, which closes them all.

use std::ffi::CStr;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::program::Instruction;

// The commands, the map and program types, from linux/bpf.h.
const BPF_MAP_CREATE: libc::c_int = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_int = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_int = 2;
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_int = 17;

pub const BPF_MAP_TYPE_HASH: u32 = 1;
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
pub const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;

/// Makes one `bpf(2)` call with `attr` as its argument. The kernel returns a
/// new file descriptor for the commands that create something, 0 for the
/// others, or -1 with `errno` set.
fn bpf<Attr>(command: libc::c_int, attr: &mut Attr) -> Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a live #[repr(C)] struct laid out as linux/bpf.h says
    // for `command`, and its size is given, so the kernel reads no further.
    let result = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attr as *mut Attr,
            size_of::<Attr>() as libc::c_uint,
        )
    };
    if result < 0 {
        return Err(Errno::last());
    }
    Ok(result)
}

/// Takes ownership of a file descriptor the kernel has just returned.
fn owned_fd(fd: libc::c_long) -> OwnedFd {
    // SAFETY: `fd` is a new descriptor that nothing else in the program owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

// ANCHOR: map
/// `union bpf_attr` for `BPF_MAP_CREATE`.
#[repr(C)]
struct MapCreate {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
}

/// A map: a table that lives in the kernel, shared by the BPF programs that
/// use it and by us, through its file descriptor.
pub struct Map {
    pub fd: OwnedFd,
    value_size: usize,
}

impl Map {
    /// Creates a map of `max_entries` values of type `V`, keyed by `K`.
    pub fn create<K, V>(map_type: u32, max_entries: u32) -> Result<Map, Errno> {
        let mut attr = MapCreate {
            map_type,
            key_size: size_of::<K>() as u32,
            value_size: size_of::<V>() as u32,
            max_entries,
        };
        let fd = bpf(BPF_MAP_CREATE, &mut attr)?;
        Ok(Map {
            fd: owned_fd(fd),
            value_size: size_of::<V>(),
        })
    }

    /// Reads the value stored under `key`, if there is one.
    pub fn lookup<K, V: Default>(&self, key: &K) -> Option<V> {
        assert_eq!(size_of::<V>(), self.value_size, "a value of the wrong type");
        let mut value = V::default();
        let mut attr = MapLookup {
            map_fd: self.fd.as_raw_fd() as u32,
            padding: 0,
            key: key as *const K as u64,
            value: &mut value as *mut V as u64,
            flags: 0,
        };
        bpf(BPF_MAP_LOOKUP_ELEM, &mut attr).ok()?;
        Some(value)
    }

    /// Stores `value` under `key`.
    pub fn update<K, V>(&self, key: &K, value: &V) -> Result<(), Errno> {
        assert_eq!(size_of::<V>(), self.value_size, "a value of the wrong type");
        let mut attr = MapLookup {
            map_fd: self.fd.as_raw_fd() as u32,
            padding: 0,
            key: key as *const K as u64,
            value: value as *const V as u64,
            flags: 0,
        };
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
    }
}

/// `union bpf_attr` for `BPF_MAP_LOOKUP_ELEM` and `BPF_MAP_UPDATE_ELEM`:
/// pointers travel as `u64`.
#[repr(C)]
struct MapLookup {
    map_fd: u32,
    padding: u32,
    key: u64,
    value: u64,
    flags: u64,
}
// ANCHOR_END: map

// ANCHOR: load
/// `union bpf_attr` for `BPF_PROG_LOAD`, up to the program's name.
#[repr(C)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// Why a program could not be loaded.
pub enum LoadError {
    /// The verifier refused it; its log says why, instruction by instruction.
    Refused { errno: Errno, log: String },
    /// Anything else: no permission, no BPF in this kernel, …
    Other(Errno),
}

/// Hands `instructions` to the kernel as a program for a raw tracepoint. The
/// verifier checks it first; if it refuses, its log is returned.
pub fn load_program(name: &str, instructions: &[Instruction]) -> Result<OwnedFd, LoadError> {
    // The license matters to the kernel: the helpers that read its memory
    // are only for programs whose license is compatible with the GPL. Ours
    // are under the MIT license (the repository's MIT OR Apache-2.0), which
    // is, and "Dual MIT/GPL" is how the kernel knows it.
    let license = c"Dual MIT/GPL";
    let mut log = vec![0u8; 64 * 1024];
    let mut prog_name = [0u8; 16];
    prog_name[..name.len().min(15)].copy_from_slice(&name.as_bytes()[..name.len().min(15)]);
    let mut attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_RAW_TRACEPOINT,
        insn_cnt: instructions.len() as u32,
        insns: instructions.as_ptr() as u64,
        license: license.as_ptr() as u64,
        // 1: if the verifier refuses the program, it writes into `log` the
        // path it followed, instruction by instruction, and why it stopped.
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name,
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(owned_fd(fd)),
        Err(errno) if log[0] != 0 => {
            let log = CStr::from_bytes_until_nul(&log).unwrap_or_default();
            let log = log.to_string_lossy().trim_end().to_string();
            Err(LoadError::Refused { errno, log })
        }
        Err(errno) => Err(LoadError::Other(errno)),
    }
}
// ANCHOR_END: load

// ANCHOR: attach
/// `union bpf_attr` for `BPF_RAW_TRACEPOINT_OPEN`.
#[repr(C)]
struct RawTracepointOpen {
    name: u64,
    prog_fd: u32,
    padding: u32,
}

/// Attaches `program` to the tracepoint `name` (`sys_enter`, `sys_exit`):
/// from now on, the kernel runs it there, on every CPU, for every process.
/// It stays attached as long as the returned descriptor is open.
pub fn attach(program: &OwnedFd, name: &CStr) -> Result<OwnedFd, Errno> {
    let mut attr = RawTracepointOpen {
        name: name.as_ptr() as u64,
        prog_fd: program.as_raw_fd() as u32,
        padding: 0,
    };
    bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr).map(owned_fd)
}
// ANCHOR_END: attach
// ANCHOR_END: all
