// ANCHOR: all
//! Step 7: many processes.
//!
//! ptrace works on threads, not on programs: until now we traced the one
//! thread we started, and a shell's children, a pipeline, a program's worker
//! threads ran untraced. With `-f`, the kernel attaches every new thread and
//! process to us at birth (`PTRACE_O_TRACEFORK`, `TRACEVFORK`, `TRACECLONE`),
//! so we wait for any of them (`waitpid(-1, __WALL)`) and keep what each one
//! needs in a map keyed by its thread id. Lines get a `[pid N]` prefix once
//! there is more than one, and a call that another thread's line interrupts
//! is printed in two parts, `<unfinished ...>` and `<... read resumed>`, as
//! strace prints them.
//!
//! With `-p PID`, we attach to a program that is already running
//! (attach.rs), and Ctrl-C lets it go, running on as before.
//!
//! This file is the command line; tracer.rs is step 6's tracer grown for
//! many threads, printer.rs the lines they interleave, attach.rs `-p`. The
//! rest is earlier steps' files, unchanged: abi.rs, signals.rs, spawn.rs and
//! stops.rs step 6's; decode.rs, memory.rs, options.rs and output.rs step
//! 5's; summary.rs step 4's.
//!
//! Run it: `cargo build`, then `./target/debug/step7 -f sh -c 'ls / | wc -l'`.

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
#[path = "../step6-trustworthy/spawn.rs"]
mod spawn;
// Many threads are let go together (attach.rs): step 6's let_go, for one
// thread, goes unused.
#[allow(dead_code)]
#[path = "../step6-trustworthy/stops.rs"]
mod stops;

mod attach;
mod printer;
mod tracer;

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process;

use nix::sys::ptrace;
use nix::unistd::Pid;

use options::{CommandLine, Opt, Selection};
use output::{Output, say};
use stops::{Ending, die_like_the_program};
use tracer::Tracer;

const USAGE: &str = "usage: step7 [-c] [-f] [-p PID]... [-e trace=[!]NAME,...] [-o FILE] [-s N] \
                     [COMMAND [ARGS...]], e.g. step7 -f sh -c 'ls / | wc -l'";

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
}
// ANCHOR_END: options

#[unsafe(no_mangle)]
extern "C" fn main() -> libc::c_int {
    let options = parse_args(env::args_os().skip(1).collect()).unwrap_or_else(|message| {
        say(message);
        process::exit(2);
    });
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
/// Reads the options: step 5's, and `-f` and `-p`.
fn parse_args(args: Vec<OsString>) -> Result<Options, String> {
    let mut options = Options {
        count: false,
        follow: false,
        attach: Vec::new(),
        selection: Selection::All,
        output: None,
        string_limit: 32,
        command: Vec::new(),
    };
    let mut line = CommandLine::new(&args, &["-e", "-o", "-p", "-s"], USAGE);
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
            _ => return Err(line.unknown(&flag)),
        }
    }
    options.command = line.command();
    if options.command.is_empty() && options.attach.is_empty() {
        return Err(format!("no command to trace; {USAGE}"));
    }
    Ok(options)
}
// ANCHOR_END: parse_args

// ANCHOR: trace
/// Starts the command, attaches to the `-p` processes, and follows them
/// all until every one has ended, or until we are told to let them go.
fn trace(options: &Options) -> Result<Ending, String> {
    // Created before the program starts: if the file cannot be, nothing runs.
    let output = match &options.output {
        Some(path) => Output::create(path)?,
        None => Output::Stderr,
    };
    let started = match options.command.is_empty() {
        true => None,
        false => Some(spawn::spawn_traced(
            &options.command,
            ptrace_options(options.follow) | ptrace::Options::PTRACE_O_EXITKILL,
        )?),
    };
    let mut tracer = Tracer::new(options, output, started, ptrace_options(options.follow))?;
    tracer.follow().inspect_err(|_| tracer.abandon())
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
