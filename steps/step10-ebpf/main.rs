// ANCHOR: all
//! Step 10: counting without stopping.
//!
//! Steps 3 to 9 stop the program twice per syscall they trace, and each stop
//! costs two switches between processes. To count, nothing needs to stop: the kernel
//! can count for us. Step 10 hands the kernel two small eBPF programs,
//! assembled by hand in `program.rs`, and attaches them to the tracepoints
//! every syscall passes, `sys_enter` and `sys_exit`. They count calls, errors
//! and time in maps, tables in the kernel; at the end, step 10 reads the maps
//! and prints the same table as `step4 -c` and `strace -c -w`.
//!
//! The program is never stopped (no ptrace), and runs far faster than under
//! a tracer that stops it (chapter 10's chart, from `bench/run ebpf`).
//! Counting needs privileges ptrace does not: root, or `CAP_BPF` and
//! `CAP_PERFMON`.
//!
//! What it does not do: print a line per syscall (step 4 does; eBPF could,
//! through a ring buffer, but that is another book), or count the program's
//! children (like strace without `-f`, only the process it starts).
//!
//! Run it: `cargo build`, then `sudo ./target/debug/step10 -c ls`

// Like step 2: no Rust start-up code, so that the program we start inherits
// exactly what we were given (step 2's main.rs says why).
#![no_main]

mod bpf;
#[path = "../step2-traceme/exec.rs"]
mod exec;
#[path = "../step2-traceme/output.rs"]
mod output;
mod program;
mod spawn;
// Step 4's table; the kernel adds up the counts, so `Counts::add` goes unused.
#[allow(dead_code)]
#[path = "../step4-enter-exit/summary.rs"]
mod summary;

use std::env;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use syscalls::Sysno;

use bpf::{LoadError, Map};
use program::{Entered, KernelCounts};
use summary::{Counts, Summary};

const USAGE: &str = "usage: step10 -c COMMAND [ARGS...], e.g. step10 -c ls -l";

/// What the command line asked for.
struct Options {
    /// The program to run and its arguments.
    command: Vec<OsString>,
}

#[unsafe(no_mangle)]
extern "C" fn main() -> libc::c_int {
    let options = parse_args(env::args_os().skip(1).collect()).unwrap_or_else(|message| {
        output::line(format_args!("step10: {message}"));
        process::exit(2);
    });
    match trace(&options) {
        Ok(exit_code) => process::exit(exit_code),
        Err(message) => {
            output::line(format_args!("step10: {message}"));
            process::exit(1);
        }
    }
}

/// Reads the options (only `-c`, which is required: step 10 only counts), up
/// to the first word that is not one: that word and everything after it are
/// the command, as with strace.
fn parse_args(args: Vec<OsString>) -> Result<Options, String> {
    let mut count = false;
    let mut rest = args.as_slice();
    while let Some(word) = rest.first().and_then(|word| word.to_str()) {
        match word {
            "-c" => count = true,
            "--" => {
                rest = &rest[1..];
                break;
            }
            option if option.starts_with('-') => {
                return Err(format!("unknown option '{option}'; {USAGE}"));
            }
            _ => break,
        }
        rest = &rest[1..];
    }
    if rest.is_empty() {
        return Err(format!("no command to trace; {USAGE}"));
    }
    if !count {
        return Err(format!(
            "step 10 only counts, so -c is required (step 4 prints each call); {USAGE}"
        ));
    }
    Ok(Options {
        command: rest.to_vec(),
    })
}

// ANCHOR: trace
/// Runs the command with the counters in place, and returns the exit code
/// the tracer should end with: the program's own.
fn trace(options: &Options) -> Result<i32, String> {
    // The child is forked first, because the programs must know its process
    // id; it waits until they are attached, and only then runs the program.
    let child = spawn::spawn_held(&options.command)?;
    // Attaching first, so that missing privileges are what a user is told
    // about first; then whether the programs can recognise the child at all.
    let attached = Counters::attach(child.pid)
        .and_then(|counters| in_the_first_pid_namespace().map(|()| counters));
    let counters = match attached {
        Ok(counters) => counters,
        Err(message) => {
            child.abandon();
            return Err(message);
        }
    };
    let child = child.release()?;
    let exit_code = wait_for_end(child)?;
    for line in summary::table(&counters.read(), syscall_name) {
        output::line(line);
    }
    // Here `counters` is dropped: its file descriptors close, and the kernel
    // detaches the programs and frees them and their maps.
    Ok(exit_code)
}
// ANCHOR_END: trace

/// The eBPF programs know a process by its id in the machine's first pid
/// namespace, the one `bpf_get_current_pid_tgid` answers in. Inside a
/// container (another pid namespace) the tracer knows its child by another
/// number, and the programs would count nothing: refuse instead. The first
/// namespace has a fixed inode number (PROC_PID_INIT_INO in the kernel).
fn in_the_first_pid_namespace() -> Result<(), String> {
    const FIRST_PID_NAMESPACE: u64 = 0xEFFF_FFFC;
    let namespace = std::fs::metadata("/proc/self/ns/pid")
        .map_err(|e| format!("cannot read /proc/self/ns/pid: {e}"))?;
    if std::os::unix::fs::MetadataExt::ino(&namespace) == FIRST_PID_NAMESPACE {
        return Ok(());
    }
    Err(format!(
        "this runs in a pid namespace of its own (a container?), where the eBPF programs \
         cannot recognise the program by its process id: run step 10 on the host, or in a \
         container started with {CONTAINER_OPTIONS}, or use step 4 -c here"
    ))
}

/// What `docker run` or `podman run` needs for step 10 to count inside: the
/// capabilities, a seccomp profile that lets `bpf(2)` through (podman's
/// default one does not, even with them), and the machine's own pid
/// namespace.
const CONTAINER_OPTIONS: &str =
    "--cap-add=BPF --cap-add=PERFMON --security-opt seccomp=unconfined --pid=host";

/// Waits for the program to end, and returns the exit code to pass on.
fn wait_for_end(child: Pid) -> Result<i32, String> {
    match waitpid(child, None).map_err(|e| format!("waitpid failed: {e}"))? {
        WaitStatus::Exited(_, code) => Ok(code),
        // A shell reports death by signal N as status 128 + N.
        WaitStatus::Signaled(_, signal, _) => Ok(128 + signal as i32),
        other => Err(format!("unexpected report from the child: {other:?}")),
    }
}

// ANCHOR: counters
/// Syscall numbers on x86_64 are below 512: one row of `counts` for each.
const TABLE_ROWS: u32 = 512;

/// How many threads of the program can be inside a syscall at once.
const MAX_THREADS: u32 = 4096;

/// The maps and the attached programs: everything step 10 asks the kernel to
/// hold. Each is a file descriptor; dropping this closes them all.
struct Counters {
    counts: Map,
    // Held only to be closed when we are done: the kernel keeps each object
    // as long as a descriptor refers to it.
    _armed: Map,
    _entered: Map,
    _attached: [OwnedFd; 2],
}

impl Counters {
    /// Creates the maps, loads the two programs, made for process `child`,
    /// and attaches them to `sys_enter` and `sys_exit`.
    fn attach(child: Pid) -> Result<Counters, String> {
        let armed = Map::create::<u32, u64>(bpf::BPF_MAP_TYPE_ARRAY, 1);
        let armed = armed.map_err(|e| explain_bpf_failure("create a map", e))?;
        let entered = Map::create::<u64, Entered>(bpf::BPF_MAP_TYPE_LRU_HASH, MAX_THREADS)
            .map_err(|e| explain_bpf_failure("create a map", e))?;
        let counts = Map::create::<u32, KernelCounts>(bpf::BPF_MAP_TYPE_ARRAY, TABLE_ROWS)
            .map_err(|e| explain_bpf_failure("create a map", e))?;
        let maps = program::Maps {
            armed: armed.fd.as_raw_fd(),
            entered: entered.fd.as_raw_fd(),
            counts: counts.fd.as_raw_fd(),
        };
        let tgid = child.as_raw() as u32;
        let on_enter = load("sys_enter", &program::sys_enter(tgid, &maps))?;
        let on_exit = load("sys_exit", &program::sys_exit(tgid, &maps))?;
        let attach = |program: &OwnedFd, tracepoint| {
            bpf::attach(program, tracepoint).map_err(|e| explain_bpf_failure("attach a program", e))
        };
        let attached = [
            attach(&on_enter, c"sys_enter")?,
            attach(&on_exit, c"sys_exit")?,
        ];
        // The programs' own descriptors can go: being attached keeps them.
        Ok(Counters {
            counts,
            _armed: armed,
            _entered: entered,
            _attached: attached,
        })
    }

    /// Reads the counts back from the kernel: every row with calls in it.
    fn read(&self) -> Summary {
        let mut summary = Summary::new();
        for number in 0..TABLE_ROWS {
            let Some(row) = self.counts.lookup::<u32, KernelCounts>(&number) else {
                continue;
            };
            if row.calls > 0 {
                let counts = Counts {
                    calls: row.calls,
                    errors: row.errors,
                    time: Duration::from_nanos(row.nanoseconds),
                };
                summary.insert(u64::from(number), counts);
            }
        }
        summary
    }
}
// ANCHOR_END: counters

// ANCHOR: errors
/// Loads one program; if the verifier refuses it, prints the verifier's log,
/// which says why, instruction by instruction.
fn load(name: &str, instructions: &[program::Instruction]) -> Result<OwnedFd, String> {
    match bpf::load_program(name, instructions) {
        Ok(fd) => Ok(fd),
        Err(LoadError::Refused { errno, log }) => {
            output::line(format_args!("The verifier's log for {name}:\n{log}"));
            Err(format!(
                "the kernel's verifier refused the {name} program ({errno}); in its log, \
                 above, the line before `processed` says why"
            ))
        }
        Err(LoadError::Other(e)) => Err(explain_bpf_failure("load a program", e)),
    }
}

/// One line for a `bpf(2)` call that failed: what to do about it.
fn explain_bpf_failure(what: &str, errno: Errno) -> String {
    match errno {
        Errno::EPERM => format!(
            "cannot {what} ({errno}): counting in the kernel needs root (sudo), or the \
             capabilities CAP_BPF and CAP_PERFMON (sudo setcap cap_bpf,cap_perfmon+ep \
             ./target/debug/step10); in a container, start it with {CONTAINER_OPTIONS}"
        ),
        Errno::ENOSYS => format!(
            "cannot {what} ({errno}): this kernel has no BPF; step 10 needs Linux 5.8 or \
             newer, built with CONFIG_BPF_SYSCALL"
        ),
        errno => format!("cannot {what}: {errno}"),
    }
}
// ANCHOR_END: errors

/// The name of syscall number `number`, as strace writes it.
fn syscall_name(number: u64) -> String {
    match Sysno::new(number as usize) {
        Some(sysno) => sysno.name().to_string(),
        None => format!("syscall_{number:#x}"),
    }
}
// ANCHOR_END: all
