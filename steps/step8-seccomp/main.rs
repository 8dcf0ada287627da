// ANCHOR: all
//! Step 8: least privilege.
//!
//! A program needs few of the kernel's 300-odd syscalls, and seccomp lets a
//! process give up the rest for good: a filter, a small BPF program the
//! kernel runs at every syscall, says which calls may go on (seccomp.rs
//! builds one by hand). Three ways to use it, each a few lines here:
//!
//! - `--deny NAME,...`: the child installs a filter that fails the named
//!   syscalls with EPERM just before its `execve`, and we trace the program
//!   as step 7 does, to watch it meet the refusal;
//! - `--profile OUT.json`: trace the program and all it starts (as `-f`),
//!   quietly, and write a Docker seccomp profile allowing exactly the
//!   syscalls they made (profile.rs);
//! - `--sandbox PROFILE.json`: read such a profile (json.rs, profile.rs),
//!   install it as a filter, and become the program, untraced.
//!
//! New beside this file: seccomp.rs (the filter), profile.rs and json.rs
//! (Docker's profiles), sandbox.rs (`--sandbox`), and spawn.rs, step 6's
//! with one addition, the filter. The tracer is step 7's (tracer.rs,
//! printer.rs, attach.rs), and the rest earlier steps' files, unchanged.
//!
//! Run it: `cargo build`, then `./target/debug/step8 --deny openat cat
//! /etc/hostname`.

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

mod json;
mod profile;
mod sandbox;
mod seccomp;
mod spawn;

use std::collections::BTreeSet;
use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process;

use nix::sys::ptrace;
use nix::unistd::Pid;

use options::{CommandLine, Opt, Selection};
use output::{Output, say};
use profile::Profile;
use seccomp::Filter;
use stops::{Ending, die_like_the_program};
use tracer::Tracer;

const USAGE: &str = "usage: step8 [--deny NAME,... | --profile OUT.json] [-c] [-f] [-p PID]... \
                     [-e trace=[!]NAME,...] [-o FILE] [-s N] [COMMAND [ARGS...]], or \
                     step8 --sandbox PROFILE.json COMMAND [ARGS...]; \
                     e.g. step8 --deny openat cat /etc/hostname";

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
/// Reads the options: step 7's, and step 8's, which are words.
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
    Ok(())
}
// ANCHOR_END: parse_args

// ANCHOR: trace
/// Starts the command, attaches to the `-p` processes, and follows them
/// all, as step 7 does: under `--deny`'s filter, or to write a profile.
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
    // ANCHOR: deny
    // Built before fork: the child only installs it.
    let deny: Vec<_> = options
        .deny
        .iter()
        .map(|&nr| (nr, seccomp::EPERM))
        .collect();
    let filter = (!deny.is_empty()).then(|| Filter::new(&deny, seccomp::Action::Allow));
    let started = match options.command.is_empty() {
        true => None,
        false => Some(spawn::spawn_traced(
            &options.command,
            ptrace_options(options.follow) | ptrace::Options::PTRACE_O_EXITKILL,
            filter.as_ref(),
        )?),
    };
    // ANCHOR_END: deny
    let mut tracer = Tracer::new(options, output, started, ptrace_options(options.follow))?;
    // --profile: the tracer collects the syscalls' names, quietly.
    if options.profile.is_some() {
        tracer.seen = Some(BTreeSet::new());
    }
    let ending = tracer.follow().inspect_err(|_| tracer.abandon())?;
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
fn ptrace_options(follow: bool) -> ptrace::Options {
    use ptrace::Options;
    // Syscall stops are SIGTRAP | 0x80, so that no real SIGTRAP can pass for
    // one; a successful execve is an event stop of its own, not a SIGTRAP.
    let options = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
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
// ANCHOR_END: all
