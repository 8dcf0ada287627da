// ANCHOR: all
//! Step 10: counting without stopping.
//!
//! Steps 3 to 9 stop the program twice per syscall they trace, and each stop
//! costs two switches between processes. To count, nothing needs to stop: the kernel
//! can count for us. Step 10 hands the kernel small eBPF programs, assembled
//! by hand in `program.rs`, and attaches two to the tracepoints every
//! syscall passes, `sys_enter` and `sys_exit`. They count calls, errors and
//! time in maps, tables in the kernel, a row for each call of each ABI (the
//! kernel marks a 32-bit call in the thread's status, which btf.rs says where
//! to find); at the end, step 10 reads the maps and prints the same tables as
//! `step6 -c` and `strace -c -w`.
//!
//! The program is never stopped (no ptrace), and runs far faster than under
//! a tracer that stops it (chapter 10's chart, from `bench/run ebpf`).
//! Counting needs privileges ptrace does not: root, or `CAP_BPF` and
//! `CAP_PERFMON`.
//!
//! It counts what strace counts: the process it starts, its main thread
//! only; with `-f`, its threads and the processes it starts too, which two
//! more programs follow as they are born and end. SIGTERM and SIGHUP print
//! the tables, as strace does; Ctrl-C is the program's, as in step 6. What
//! it does not do: print a line per syscall (step 4 does; eBPF could, through
//! a ring buffer, but that is another book).
//!
//! Run it: `cargo build`, then `sudo ./target/debug/step10 -c ls`

// Like step 2: no Rust start-up code, so that the program we start inherits
// exactly what we were given (step 2's main.rs says why).
#![no_main]

mod bpf;
mod btf;
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
// Step 6's tables, one per ABI; they say which calls `-e trace=` selects,
// from step 5's options.rs, which step 10 does not have.
#[allow(dead_code)]
#[path = "../step6-trustworthy/abi.rs"]
mod abi;
#[allow(dead_code)]
#[path = "../step5-arguments/options.rs"]
mod options;
// Step 6's way of being told to end; what it does with ptrace goes unused.
#[allow(dead_code)]
#[path = "../step6-trustworthy/stops.rs"]
mod stops;

use std::env;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use abi::{Abi, Tables};
use bpf::{LoadError, Map};
use program::{Entered, KernelCounts, ROWS_PER_ABI, Whom};
use stops::Waited;
use summary::Counts;

const USAGE: &str = "usage: step10 -c [-f] COMMAND [ARGS...], e.g. step10 -c ls -l";

/// What the command line asked for.
struct Options {
    /// `-f`: count the threads and the processes the program starts too.
    follow: bool,
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

/// Reads the options (`-c`, which is required: step 10 only counts, and
/// `-f`), up to the first word that is not one: that word and everything
/// after it are the command, as with strace.
fn parse_args(args: Vec<OsString>) -> Result<Options, String> {
    let (mut count, mut follow) = (false, false);
    let mut rest = args.as_slice();
    while let Some(word) = rest.first().and_then(|word| word.to_str()) {
        match word {
            "-c" => count = true,
            "-f" => follow = true,
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
        follow,
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
    let attached = Counters::attach(child.pid, options.follow)
        .and_then(|counters| in_the_first_pid_namespace().map(|()| counters));
    let counters = match attached {
        Ok(counters) => counters,
        Err(message) => {
            child.abandon();
            return Err(message);
        }
    };
    // As step 6 does, after fork: Ctrl-C is the program's, and SIGTERM,
    // SIGHUP and SIGPIPE tell us to end. With -f, the processes the program
    // starts become ours when their parent dies, for us to wait for them.
    stops::ignore_terminal_interrupts();
    stops::endings(false);
    if options.follow {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes one number and changes only
        // which process adopts our orphaned descendants.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
    }
    let child = child.release()?;
    let end = wait_for_end(child, options.follow)?;
    // What was counted until now; only then, if told to end, the program
    // gets the signal, as strace gives it (with SIGCONT, should it be
    // stopped): it ends, or, if it handles it, runs on, uncounted.
    let tables = counters.read();
    if let End::Told(signal) = end {
        let _ = kill(child, Signal::SIGCONT);
        let _ = kill(child, signal);
    }
    for line in abi::tables(&tables) {
        output::line(line);
    }
    // Here `counters` is dropped: its file descriptors close, and the kernel
    // detaches the programs and frees them and their maps.
    Ok(match end {
        End::Exited(code) => code,
        // A shell reports death by signal N as status 128 + N.
        End::Killed(signal) | End::Told(signal) => 128 + signal as i32,
    })
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

/// How the run ended, for us.
#[derive(Clone, Copy)]
enum End {
    Exited(i32),
    Killed(Signal),
    /// A signal told us to end (step 6's stops.rs).
    Told(Signal),
}

/// Waits for the program to end; with `-f`, for the processes it started
/// too, which we adopt as they are orphaned, until none is left (ECHILD).
/// Its end is ours, as with strace.
fn wait_for_end(child: Pid, follow: bool) -> Result<End, String> {
    // With -f, any child of ours: the program, then the orphans we adopt.
    let whom = if follow { None } else { Some(child) };
    let mut end = None;
    loop {
        match stops::wait(whom) {
            Ok(Waited::Told(signal)) => return Ok(End::Told(signal)),
            Ok(Waited::Report(WaitStatus::Exited(pid, code))) if pid == child => {
                end = Some(End::Exited(code));
            }
            Ok(Waited::Report(WaitStatus::Signaled(pid, signal, _))) if pid == child => {
                end = Some(End::Killed(signal));
            }
            Ok(Waited::Report(_)) => {}
            // None left: the program and all it started have ended.
            Err(Errno::ECHILD) if end.is_some() => break,
            Err(errno) => return Err(format!("waitpid failed: {errno}")),
        }
        if !follow && end.is_some() {
            break;
        }
    }
    end.ok_or_else(|| "the program ended unseen".to_string())
}

// ANCHOR: counters
/// Three tables of 1024 rows: x86_64's calls, then i386's, then x32's.
const TABLE_ROWS: u32 = 3 * ROWS_PER_ABI as u32;

/// How many threads of the program can be inside a syscall at once, and
/// how many processes `-f` can follow at once.
const MAX_THREADS: u32 = 4096;

/// The maps and the attached programs: everything step 10 asks the kernel to
/// hold. Each is a file descriptor; dropping this closes them all.
struct Counters {
    counts: Map,
    // Held only to be closed when we are done: the kernel keeps each object
    // as long as a descriptor refers to it.
    _armed: Map,
    _entered: Map,
    _followed: Map,
    _attached: Vec<OwnedFd>,
}

impl Counters {
    /// Creates the maps, loads the programs, made for process `child`, and
    /// attaches them: to `sys_enter` and `sys_exit`, and with `-f`, to
    /// `sched_process_fork`, `sched_process_exit` and `sched_process_exec`.
    fn attach(child: Pid, follow: bool) -> Result<Counters, String> {
        let create =
            |map: Result<Map, Errno>| map.map_err(|e| explain_bpf_failure("create a map", e));
        let armed = create(Map::create::<u32, u64>(bpf::BPF_MAP_TYPE_ARRAY, 1))?;
        let entered = create(Map::create::<u64, Entered>(
            bpf::BPF_MAP_TYPE_LRU_HASH,
            MAX_THREADS,
        ))?;
        let counts = create(Map::create::<u32, KernelCounts>(
            bpf::BPF_MAP_TYPE_ARRAY,
            TABLE_ROWS,
        ))?;
        let followed = create(Map::create::<u32, u64>(bpf::BPF_MAP_TYPE_HASH, MAX_THREADS))?;
        let maps = program::Maps {
            armed: armed.fd.as_raw_fd(),
            entered: entered.fd.as_raw_fd(),
            counts: counts.fd.as_raw_fd(),
            followed: followed.fd.as_raw_fd(),
        };
        let offsets = kernel_offsets()?;
        let whom = Whom {
            child: child.as_raw() as u32,
            follow,
        };
        let mut programs = vec![
            (c"sys_enter", program::sys_enter(&whom, &maps, &offsets)),
            (c"sys_exit", program::sys_exit(&whom, &maps, &offsets)),
        ];
        if follow {
            // The child is the first process followed; the others, its own.
            let child = child.as_raw() as u32;
            followed
                .update(&child, &1u64)
                .map_err(|e| explain_bpf_failure("write a map", e))?;
            programs.push((c"sched_process_fork", program::on_fork(&maps, &offsets)));
            programs.push((c"sched_process_exit", program::on_exit(&maps, &offsets)));
            programs.push((c"sched_process_exec", program::on_exec(&maps)));
        }
        let mut attached = Vec::new();
        for (tracepoint, instructions) in programs {
            let loaded = load(&tracepoint.to_string_lossy(), &instructions)?;
            let link = bpf::attach(&loaded, tracepoint);
            attached.push(link.map_err(|e| explain_bpf_failure("attach a program", e))?);
        }
        // The programs' own descriptors can go: being attached keeps them.
        Ok(Counters {
            counts,
            _armed: armed,
            _entered: entered,
            _followed: followed,
            _attached: attached,
        })
    }

    /// Reads the counts back from the kernel: every row with calls in it,
    /// in the table of its ABI.
    fn read(&self) -> Tables {
        let mut tables = Tables::new();
        for row in 0..TABLE_ROWS {
            let Some(kept) = self.counts.lookup::<u32, KernelCounts>(&row) else {
                continue;
            };
            if kept.calls > 0 {
                let abi = [Abi::X86_64, Abi::I386, Abi::X32][(row / ROWS_PER_ABI as u32) as usize];
                let counts = Counts {
                    calls: kept.calls,
                    errors: kept.errors,
                    time: Duration::from_nanos(kept.nanoseconds),
                };
                let number = u64::from(row % ROWS_PER_ABI as u32);
                tables.entry(abi).or_default().insert(number, counts);
            }
        }
        tables
    }
}

/// Where the programs read the kernel's structures, on this kernel.
fn kernel_offsets() -> Result<program::Offsets, String> {
    let types = btf::Btf::read()?;
    let task = |field| types.offset_of("task_struct", field);
    Ok(program::Offsets {
        status: task("thread_info")? + types.offset_of("thread_info", "status")?,
        pending: task("pending")? + types.offset_of("sigpending", "signal")?,
        tgid: task("tgid")?,
        signal: task("signal")?,
        live: types.offset_of("signal_struct", "live")?,
        exit_code: types.offset_of("signal_struct", "group_exit_code")?,
    })
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
            "cannot {what} ({errno}): {}counting in the kernel needs root (sudo), or the \
             capabilities CAP_BPF and CAP_PERFMON (sudo setcap cap_bpf,cap_perfmon+ep \
             ./target/debug/step10); in a container, start it with {CONTAINER_OPTIONS}",
            match under_a_seccomp_filter() {
                true => "a seccomp filter, which may refuse bpf(2), holds this process; and ",
                false => "",
            }
        ),
        Errno::ENOSYS => format!(
            "cannot {what} ({errno}): this kernel has no BPF; step 10 needs Linux 5.11 or \
             newer, built with CONFIG_BPF_SYSCALL"
        ),
        errno => format!("cannot {what}: {errno}"),
    }
}

/// Whether a seccomp filter holds us (`Seccomp: 2` in /proc/self/status),
/// as in a sandbox or a container: it may be what refuses `bpf(2)`.
fn under_a_seccomp_filter() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .any(|line| line.split_whitespace().eq(["Seccomp:", "2"]))
}
// ANCHOR_END: errors

// ANCHOR_END: all
