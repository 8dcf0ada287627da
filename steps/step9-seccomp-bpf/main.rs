// ANCHOR: all
//! Step 9: tracing at full speed.
//!
//! A tracer that stops the program twice at every syscall makes it crawl,
//! even when it shows only `openat`: each stop is two context switches and
//! a few syscalls of ours. With `--seccomp-bpf` (and `-f`, as strace asks),
//! the child installs a seccomp filter that says, for each syscall, "stop
//! for the tracer" (`SECCOMP_RET_TRACE`) if we trace it and "go on"
//! otherwise; we set `PTRACE_O_TRACESECCOMP`, and let the program run with
//! `PTRACE_CONT`. The kernel stops it only at the calls we asked for, at a
//! `PTRACE_EVENT_SECCOMP` stop, where we read the call as at an entry; then
//! `PTRACE_SYSCALL` takes it to that call's exit, and `PTRACE_CONT` on.
//!
//! This file is step 8's with `--seccomp-bpf`, and a loop of its own that
//! lets the program run between the filter's stops (`follow_filtered`);
//! seccomp.rs is step 8's with the `Trace` action. The rest is earlier
//! steps' files, unchanged: step 8's --deny, --profile and --sandbox, step
//! 7's tracer.
//!
//! Run it: `cargo build`, then `./target/debug/step9 -f --seccomp-bpf -e
//! trace=openat ls`.

// Like step 2: no Rust start-up code, so that the program we start inherits
// exactly what we were given (step 2's main.rs says why).
#![no_main]

// Step 6 sees execve's entry, so step 5's way of reading the first execve's
// arguments back from the new program's stack goes unused here.
#[allow(dead_code)]
#[path = "../step5-arguments/decode.rs"]
mod decode;
#[path = "../step4-enter-exit/errors.rs"]
mod errors;
#[path = "../step2-traceme/exec.rs"]
mod exec;
#[path = "../step5-arguments/memory.rs"]
mod memory;
#[path = "../step5-arguments/options.rs"]
mod options;
#[path = "../step5-arguments/output.rs"]
mod output;
#[path = "../step4-enter-exit/summary.rs"]
mod summary;

#[path = "../step6-trustworthy/abi.rs"]
mod abi;
#[path = "../step6-trustworthy/signals.rs"]
mod signals;
// Many threads are let go together (attach.rs): step 6's let_go, for one
// thread, goes unused.
#[allow(dead_code)]
#[path = "../step6-trustworthy/stops.rs"]
mod stops;

#[path = "../step7-many-processes/attach.rs"]
mod attach;
#[path = "../step7-many-processes/printer.rs"]
mod printer;
#[path = "../step7-many-processes/tracer.rs"]
mod tracer;

#[path = "../step8-seccomp/json.rs"]
mod json;
#[path = "../step8-seccomp/profile.rs"]
mod profile;
#[path = "../step8-seccomp/sandbox.rs"]
mod sandbox;
#[path = "../step8-seccomp/spawn.rs"]
mod spawn;

mod seccomp;

use std::collections::BTreeSet;
use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use abi::abi_and_number;
use decode::Syscall;
use options::{CommandLine, Opt, Selection};
use output::{Output, say};
use profile::Profile;
use seccomp::Filter;
use stops::{Ending, die_like_the_program};
use tracer::{Next, Resume, Tracer};

const USAGE: &str = "usage: step9 [--seccomp-bpf | --deny NAME,... | --profile OUT.json] [-c] [-f] \
                     [-p PID]... [-e trace=[!]NAME,...] [-o FILE] [-s N] [COMMAND [ARGS...]], \
                     or step9 --sandbox PROFILE.json COMMAND [ARGS...]; \
                     e.g. step9 -f --seccomp-bpf -e trace=openat ls";

// ANCHOR: options
/// What the command line asked for.
struct Options {
    /// `-c`: count syscalls and print a summary table instead of one line each.
    count: bool,
    /// `-f`: follow forks and threads: trace every process and thread that
    /// a traced one starts.
    follow: bool,
    /// `-p PID`, as many times as given: running processes to attach to.
    attach: Vec<Pid>,
    /// `-e trace=...`: which syscalls to show (or count).
    selection: Selection,
    /// `-o FILE`: where the trace goes, instead of stderr.
    output: Option<PathBuf>,
    /// `-s N`: how many bytes of a string to show.
    string_limit: usize,
    /// The program to run and its arguments; empty with `-p` alone.
    command: Vec<OsString>,
    /// `--deny NAME,...`: the syscalls that fail with EPERM in the program
    /// we start, by number.
    deny: BTreeSet<u64>,
    /// `--profile OUT.json`: where to write the profile of what the program
    /// and its children used.
    profile: Option<PathBuf>,
    /// `--sandbox PROFILE.json`: the profile to run the command under,
    /// untraced.
    sandbox: Option<Profile>,
    /// `--seccomp-bpf`: the kernel stops the program only at the syscalls
    /// we trace.
    seccomp_bpf: bool,
}
// ANCHOR_END: options

#[unsafe(no_mangle)]
extern "C" fn main() -> libc::c_int {
    let options = parse_args(env::args_os().skip(1).collect()).unwrap_or_else(|message| {
        say(message);
        process::exit(2);
    });
    if let Some(profile) = &options.sandbox {
        let message = sandbox::run_sandboxed(profile, &options.command);
        say(message);
        process::exit(126);
    }
    match trace(&options) {
        Ok(Ending::Exited(code)) => process::exit(code),
        Ok(Ending::Killed(signal)) => die_like_the_program(signal),
        Err(message) => {
            say(message);
            process::exit(1);
        }
    }
}

// ANCHOR: parse_args
/// Reads the options: step 8's, and `--seccomp-bpf`.
fn parse_args(args: Vec<OsString>) -> Result<Options, String> {
    let mut options = Options {
        count: false,
        follow: false,
        attach: Vec::new(),
        selection: Selection::All,
        output: None,
        string_limit: 32,
        command: Vec::new(),
        deny: BTreeSet::new(),
        profile: None,
        sandbox: None,
        seccomp_bpf: false,
    };
    let with_value = ["-e", "-o", "-p", "-s", "--deny", "--profile", "--sandbox"];
    let mut line = CommandLine::new(&args, &with_value, USAGE);
    while let Some(Opt { flag, value }) = line.next_option()? {
        match flag.as_str() {
            "-c" => options.count = true,
            "-f" => options.follow = true,
            "-p" => {
                let pid = attach::parse_pid(&value)?;
                if !options.attach.contains(&pid) {
                    options.attach.push(pid);
                }
            }
            "-e" => options.selection = Selection::parse(&value)?,
            "-o" => options.output = Some(PathBuf::from(value)),
            "-s" => options.string_limit = options::string_limit(&value, USAGE)?,
            // ANCHOR: long_options
            "--deny" => options.deny = options::syscall_numbers("--deny", &value)?,
            "--profile" => options.profile = Some(PathBuf::from(value)),
            "--sandbox" => options.sandbox = Some(profile::read(Path::new(&value))?),
            // ANCHOR_END: long_options
            "--seccomp-bpf" => options.seccomp_bpf = true,
            _ => return Err(line.unknown(&flag)),
        }
    }
    options.command = line.command();
    if options.command.is_empty() && options.attach.is_empty() {
        return Err(format!("no command to trace; {USAGE}"));
    }
    check_seccomp_options(&options)?;
    // A profile must cover every process the program starts.
    options.follow |= options.profile.is_some();
    Ok(options)
}

/// The options that do not go together with step 8's.
fn check_seccomp_options(options: &Options) -> Result<(), String> {
    let tracing = options.count
        || options.follow
        || !options.attach.is_empty()
        || !options.deny.is_empty()
        || options.profile.is_some();
    if options.sandbox.is_some() && (tracing || options.command.is_empty()) {
        return Err(format!(
            "--sandbox runs a COMMAND untraced, and takes no other option; {USAGE}"
        ));
    }
    if !options.deny.is_empty() && options.command.is_empty() {
        return Err(format!(
            "--deny applies to a COMMAND we start, not to a process we attach to; {USAGE}"
        ));
    }
    if !options.deny.is_empty() && options.profile.is_some() {
        return Err(format!("--deny and --profile do not go together; {USAGE}"));
    }
    // --profile records every syscall at its stop, and with --seccomp-bpf
    // only the traced ones stop: its profile would miss the rest.
    if options.seccomp_bpf
        && (!options.deny.is_empty() || options.sandbox.is_some() || options.profile.is_some())
    {
        return Err(format!(
            "--seccomp-bpf goes with none of --deny, --sandbox and --profile; {USAGE}"
        ));
    }
    Ok(())
}
// ANCHOR_END: parse_args

// ANCHOR: seccomp_bpf_applies
/// Whether `--seccomp-bpf` can do its work here, and if not, why not, as
/// strace says it. The filter is inherited by every child, and a child that
/// we do not trace would find no tracer at its first traced call: the
/// kernel fails the call (ENOSYS). So it needs -f. And it is installed by
/// the child we start, before its `execve`: a process we attach to has
/// none.
fn seccomp_bpf_applies(options: &Options) -> bool {
    if !options.seccomp_bpf {
        return false;
    }
    let refusal = if !options.follow {
        "--seccomp-bpf cannot be used without -f/--follow-forks, disabling"
    } else if !options.attach.is_empty() {
        "--seccomp-bpf is not enabled for processes attached with -p"
    } else {
        return true;
    };
    say(refusal);
    false
}

/// The filter of `--seccomp-bpf`: stop for the tracer at the syscalls that
/// `-e trace=` selects, and let the others go on without a stop.
fn tracing_filter(selection: &Selection) -> Filter {
    use seccomp::Action::{Allow, Trace};
    let rules = |numbers: &BTreeSet<u64>, action| -> Vec<(u64, seccomp::Action)> {
        numbers.iter().map(|&number| (number, action)).collect()
    };
    match selection {
        Selection::All => Filter::tracing(&[], Trace),
        Selection::Only(numbers) => Filter::tracing(&rules(numbers, Trace), Allow),
        Selection::AllBut(numbers) => Filter::tracing(&rules(numbers, Allow), Trace),
    }
}
// ANCHOR_END: seccomp_bpf_applies

// ANCHOR: trace
/// Starts the command, attaches to the `-p` processes, and follows them
/// all, as step 8 does; with `--seccomp-bpf`, under the filter that stops
/// only at the traced calls, in a loop of its own.
fn trace(options: &Options) -> Result<Ending, String> {
    // Created before the program starts: if a file cannot be, nothing runs.
    let output = match &options.output {
        Some(path) => Output::create(path)?,
        None => Output::Stderr,
    };
    // --profile's file is written only at the end (profile.rs says how).
    let profile = options
        .profile
        .as_deref()
        .map(profile::create)
        .transpose()?;
    // Built before fork: the child only installs it.
    let deny: Vec<_> = options
        .deny
        .iter()
        .map(|&nr| (nr, seccomp::EPERM))
        .collect();
    // One filter or the other: --deny and --seccomp-bpf exclude each other.
    let filtered = seccomp_bpf_applies(options);
    let filter = if filtered {
        Some(tracing_filter(&options.selection))
    } else {
        (!deny.is_empty()).then(|| Filter::new(&deny, seccomp::Action::Allow))
    };
    let started = match options.command.is_empty() {
        true => None,
        false => Some(spawn::spawn_traced(
            &options.command,
            ptrace_options(options.follow, filtered) | ptrace::Options::PTRACE_O_EXITKILL,
            filter.as_ref(),
        )?),
    };
    let attach_options = ptrace_options(options.follow, false);
    let mut tracer = Tracer::new(options, output, started, attach_options)?;
    // --profile: the tracer collects the syscalls' names, quietly.
    if options.profile.is_some() {
        tracer.seen = Some(BTreeSet::new());
    }
    let ending = match filtered {
        true => follow_filtered(&mut tracer),
        false => tracer.follow(),
    };
    let ending = ending.inspect_err(|_| tracer.abandon())?;
    if let (Some(path), Some(profile), Some(seen)) = (&options.profile, profile, &tracer.seen) {
        profile.write(seen)?;
        // Told to end, we let the programs go: what they did next is not in it.
        let until = match tracer.told {
            Some(signal) => format!(" (what ran until {signal})"),
            None => String::new(),
        };
        say(format_args!(
            "wrote {}: {} syscalls allowed{until}, every other one fails with EPERM",
            path.display(),
            seen.len(),
        ));
    }
    Ok(ending)
}
// ANCHOR_END: trace

// ANCHOR: options_ptrace
/// What we ask of the kernel for each thread we trace.
fn ptrace_options(follow: bool, filtered: bool) -> ptrace::Options {
    use ptrace::Options;
    // Syscall stops are SIGTRAP | 0x80, so that no real SIGTRAP can pass for
    // one; a successful execve is an event stop of its own, not a SIGTRAP.
    let mut options = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
    // --seccomp-bpf: the filter's "stop for the tracer" is an event stop,
    // PTRACE_EVENT_SECCOMP. (Without this option, the kernel fails the call
    // with ENOSYS instead.)
    if filtered {
        options |= Options::PTRACE_O_TRACESECCOMP;
    }
    // -f: every thread (clone) and process (fork, vfork) that a traced one
    // starts is traced too, from its first instruction, with these same
    // options; the parent reports the birth as an event stop.
    match follow {
        true => {
            options
                | Options::PTRACE_O_TRACECLONE
                | Options::PTRACE_O_TRACEFORK
                | Options::PTRACE_O_TRACEVFORK
        }
        false => options,
    }
}
// ANCHOR_END: options_ptrace

// ANCHOR: follow_filtered
/// Step 7's loop, under the filter: the kernel stops a thread at the
/// filter's `SECCOMP_RET_TRACE`, where we read the call as at an entry, and
/// between two such stops the thread runs free.
fn follow_filtered(tracer: &mut Tracer) -> Result<Ending, String> {
    if let Some(child) = tracer.first {
        resume_filtered(tracer, child, Resume::Syscall(None))?;
    }
    loop {
        let (tid, status) = match tracer.next()? {
            Next::Stop(tid, status) => (tid, status),
            Next::Done(ending) => return Ok(ending),
        };
        let resume = match status {
            // The filter stopped a syscall we trace, at its entry.
            WaitStatus::PtraceEvent(_, _, libc::PTRACE_EVENT_SECCOMP) => {
                seccomp_stop(tracer, tid)?;
                Resume::Syscall(None)
            }
            status => tracer.stop(tid, status)?,
        };
        resume_filtered(tracer, tid, resume)?;
    }
}
// ANCHOR_END: follow_filtered

// ANCHOR: resume
/// Only a thread inside a syscall needs to stop at the next syscall stop,
/// the exit of that call. The others run on until the filter stops them.
fn resume_filtered(tracer: &mut Tracer, tid: Pid, resume: Resume) -> Result<(), String> {
    match resume {
        Resume::Syscall(signal) if !inside_a_call(tracer, tid) => match ptrace::cont(tid, signal) {
            // Killed since it stopped: its end will be reported.
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(errno) => Err(format!("cannot resume thread {tid}: {errno}")),
        },
        resume => tracer.resume(tid, resume),
    }
}
// ANCHOR_END: resume

// ANCHOR: seccomp_stop
/// A stop of the filter's: an entry, as the filter saw it. (The first
/// execve's entry is seen twice: as a syscall stop while the child starts,
/// then as the filter's stop.)
fn seccomp_stop(tracer: &mut Tracer, tid: Pid) -> Result<(), String> {
    let Some(info) = tracer::syscall_info(tid)? else {
        return Ok(());
    };
    if info.op == libc::PTRACE_SYSCALL_INFO_SECCOMP && !inside_a_call(tracer, tid) {
        // SAFETY: at a seccomp stop, `seccomp` is the union's member.
        let seccomp = unsafe { info.u.seccomp };
        let (abi, number) = abi_and_number(info.arch, seccomp.nr);
        let syscall = Syscall {
            number,
            args: seccomp.args,
            stack_pointer: info.stack_pointer,
        };
        tracer.syscall_entered(tid, abi, syscall);
    }
    Ok(())
}

/// Whether a thread has entered a syscall that has not returned yet.
fn inside_a_call(tracer: &Tracer, tid: Pid) -> bool {
    tracer.threads.get(&tid).is_some_and(|t| t.inside.is_some())
}
// ANCHOR_END: seccomp_stop
// ANCHOR_END: all
