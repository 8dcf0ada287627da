// ANCHOR: all
//! Step 5: arguments, read from the traced program's memory.
//!
//! Step 4 printed `openat(...) = 3`. Step 5 prints what strace prints:
//! `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`. Numbers come
//! from the registers; strings and structures from the tracee's memory, which
//! the tracer reads with `process_vm_readv` (memory.rs). decode.rs holds the
//! table of how each syscall's arguments are shown.
//!
//! New options, as strace spells them: `-e trace=NAME,...` (only those
//! syscalls) or `-e trace=!NAME,...` (all but those), `-o FILE` (the trace
//! goes to FILE), `-s N` (show at most N bytes of a string, 32 by default).
//! `-c` counts only the syscalls that `-e` selects.
//!
//! What it still gets wrong is step 4's (step 6 fixes it): a stop with
//! SIGTRAP is taken for a syscall stop, so a real SIGTRAP, or an `execve`
//! made by the program, throws the entry/exit pairing off.
//!
//! Run it: `cargo build`, then `./target/debug/step5 cat /etc/hostname`.

// Like step 2: no Rust start-up code, so that the program we start inherits
// exactly what we were given (step 2's main.rs says why).
#![no_main]

mod decode;
#[path = "../step4-enter-exit/errors.rs"]
mod errors;
#[path = "../step2-traceme/exec.rs"]
mod exec;
mod memory;
mod options;
mod output;
#[path = "../step2-traceme/spawn.rs"]
mod spawn;
#[path = "../step4-enter-exit/summary.rs"]
mod summary;

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process;
use std::time::Instant;

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use syscalls::Sysno;

use decode::{Decoder, Pending, Syscall, error_number, syscall_name};
use memory::Memory;
use options::{CommandLine, Opt, Selection};
use output::{Output, say};
use summary::Summary;

const USAGE: &str = "usage: step5 [-c] [-e trace=[!]NAME,...] [-o FILE] [-s N] COMMAND [ARGS...], \
                     e.g. step5 -e trace=openat,read cat /etc/hostname";

// ANCHOR: options
/// What the command line asked for.
struct Options {
    /// `-c`: count syscalls and print a summary table instead of one line each.
    count: bool,
    /// `-e trace=...`: which syscalls to show (or count).
    selection: Selection,
    /// `-o FILE`: where the trace goes, instead of stderr.
    output: Option<PathBuf>,
    /// `-s N`: how many bytes of a string to show.
    string_limit: usize,
    /// The program to run and its arguments.
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
        Ok(exit_code) => process::exit(exit_code),
        Err(message) => {
            say(message);
            process::exit(1);
        }
    }
}

// ANCHOR: parse_args
/// Reads the options (options.rs says how): those of step 4, and step 5's.
fn parse_args(args: Vec<OsString>) -> Result<Options, String> {
    let mut options = Options {
        count: false,
        selection: Selection::All,
        output: None,
        string_limit: 32,
        command: Vec::new(),
    };
    let mut line = CommandLine::new(&args, &["-e", "-o", "-s"], USAGE);
    while let Some(Opt { flag, value }) = line.next_option()? {
        match flag.as_str() {
            "-c" => options.count = true,
            "-e" => options.selection = Selection::parse(&value)?,
            "-o" => options.output = Some(PathBuf::from(value)),
            "-s" => options.string_limit = options::string_limit(&value, USAGE)?,
            _ => return Err(line.unknown(&flag)),
        }
    }
    options.command = line.command();
    if options.command.is_empty() {
        return Err(format!("no command to trace; {USAGE}"));
    }
    Ok(options)
}
// ANCHOR_END: parse_args

/// Runs the command under our control and returns the exit code the tracer
/// should end with: the program's own.
fn trace(options: &Options) -> Result<i32, String> {
    // Created before the program starts: if the file cannot be, nothing runs.
    let output = match &options.output {
        Some(path) => Output::create(path)?,
        None => Output::Stderr,
    };
    let child = spawn::spawn_traced(&options.command)?;
    let mut tracer = Tracer {
        count: options.count,
        selection: &options.selection,
        decoder: Decoder {
            memory: Memory::of(child),
            string_limit: options.string_limit,
        },
        output,
        summary: Summary::new(),
        execs: 0,
    };
    tracer
        .follow_syscalls(child)
        .inspect_err(|_| spawn::kill_child(child))
}

// ANCHOR: records
/// A syscall that the child has entered and not yet left.
struct Entered {
    number: u64,
    /// Its arguments as far as the entry could decode them; `None` when the
    /// syscall is not selected, or only counted.
    pending: Option<Pending>,
    at: Instant,
}

/// What the tracer carries from stop to stop.
struct Tracer<'a> {
    /// `-c` was given.
    count: bool,
    selection: &'a Selection,
    decoder: Decoder,
    output: Output,
    summary: Summary,
    /// How many successful `execve` calls we have seen.
    execs: u32,
}
// ANCHOR_END: records

impl Tracer<'_> {
    // ANCHOR: loop
    /// Follows the child from syscall stop to syscall stop until it ends,
    /// pairing each entry stop with the exit stop that follows it.
    fn follow_syscalls(&mut self, child: Pid) -> Result<i32, String> {
        // The child is stopped right after its execve: the entry of that
        // execve happened before we were tracing, so this stop is its exit.
        let regs = get_registers(child)?;
        self.first_execve_done(&regs);

        // The state the kernel does not give us: are we inside a syscall?
        let mut inside: Option<Entered> = None;
        let mut signal = None;
        loop {
            ptrace::syscall(child, signal.take())
                .map_err(|e| format!("cannot resume the child: {e}"))?;
            match waitpid(child, None).map_err(|e| format!("waitpid failed: {e}"))? {
                WaitStatus::Stopped(_, Signal::SIGTRAP) => {
                    let regs = get_registers(child)?;
                    inside = match inside.take() {
                        // Outside a syscall, a stop is an entry: decode what
                        // the kernel is about to read, before it runs.
                        None => Some(self.syscall_entered(&regs)),
                        // Inside one, it is that syscall's exit: rax holds
                        // its result, and the memory what the kernel wrote.
                        Some(entered) => {
                            self.syscall_done(entered, regs.rax);
                            None
                        }
                    };
                }
                // A signal for the program, not a syscall: pass it on.
                WaitStatus::Stopped(_, other) => signal = Some(other),
                ended => return self.finish(inside, ended),
            }
        }
    }
    // ANCHOR_END: loop

    // ANCHOR: entered
    /// At a syscall's entry: note which, and when, and decode its arguments
    /// if it is to be printed.
    fn syscall_entered(&self, regs: &libc::user_regs_struct) -> Entered {
        let syscall = Syscall {
            number: regs.orig_rax,
            args: [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9],
            stack_pointer: regs.rsp,
        };
        let printed = !self.count && self.selection.contains(syscall.number);
        Entered {
            number: syscall.number,
            pending: printed.then(|| self.decoder.entry(syscall)),
            at: Instant::now(),
        }
    }
    // ANCHOR_END: entered

    // ANCHOR: syscall_done
    /// At a syscall's exit: count it (`-c`), or print it as strace does.
    fn syscall_done(&mut self, entered: Entered, rax: u64) {
        if self.count && self.selection.contains(entered.number) {
            let counts = self.summary.entry(entered.number).or_default();
            counts.add(entered.at.elapsed(), error_number(rax).is_some());
        } else if let Some(pending) = &entered.pending {
            let (call, result) = self.decoder.exit(pending, rax);
            self.print_syscall(&call, &result);
        }
        if entered.number == Sysno::execve as u64 && error_number(rax).is_none() {
            self.exec_done();
        }
    }
    // ANCHOR_END: syscall_done

    // ANCHOR: first_execve
    /// The first line: the `execve` that started the program. Its entry
    /// happened before we were tracing, and its arguments were in memory
    /// that the exec replaced; but the kernel copied them onto the new
    /// program's stack, where they are read back (decode.rs says how).
    fn first_execve_done(&mut self, regs: &libc::user_regs_struct) {
        let number = regs.orig_rax;
        if self.selection.contains(number) {
            if self.count {
                self.summary.entry(number).or_default().calls += 1;
            } else {
                let call = self.decoder.execve_from_new_stack(regs.rsp);
                self.print_syscall(&call, "0");
            }
        }
        self.exec_done();
    }
    // ANCHOR_END: first_execve

    /// The first successful `execve` started the program. Any later one is
    /// the program's own, and ends in an extra SIGTRAP stop that step 5 takes
    /// for a syscall entry: say so once, rather than mislead in silence.
    fn exec_done(&mut self) {
        self.execs += 1;
        if self.execs == 2 {
            self.output.line(
                "step5: warning: the program ran another program (a second execve); step 5 \
                 cannot tell the SIGTRAP that follows it from a syscall stop, so from here on \
                 it takes entries for exits: what follows is wrong (step 6 fixes this)",
            );
        }
    }

    /// Once the child has ended: print the summary (`-c`), or the syscall it
    /// was still inside (`exit_group` never returns) and how it ended. Returns
    /// the exit code to pass on.
    fn finish(&mut self, inside: Option<Entered>, status: WaitStatus) -> Result<i32, String> {
        let (ending, exit_code) = match status {
            WaitStatus::Exited(_, code) => (format!("exited with {code}"), code),
            // A shell reports death by signal N as status 128 + N.
            WaitStatus::Signaled(_, signal, core_dumped) => {
                let core = if core_dumped { " (core dumped)" } else { "" };
                (format!("killed by {signal}{core}"), 128 + signal as i32)
            }
            other => return Err(format!("unexpected report from the child: {other:?}")),
        };
        if self.count {
            for line in summary::table(&self.summary, syscall_name) {
                self.output.line(line);
            }
        } else {
            if let Some(pending) = inside.and_then(|entered| entered.pending) {
                let call = self.decoder.unfinished(&pending);
                self.print_syscall(&call, "?");
            }
            self.output.line(format_args!("+++ {ending} +++"));
        }
        Ok(exit_code)
    }

    // ANCHOR: print_syscall
    /// One line of the trace: `name(args) = result`, with the `=` where
    /// strace puts it when the call is short, after column 40.
    fn print_syscall(&mut self, call: &str, result: &str) {
        self.output.line(format_args!("{call:<39} = {result}"));
    }
    // ANCHOR_END: print_syscall
}

fn get_registers(child: Pid) -> Result<libc::user_regs_struct, String> {
    ptrace::getregs(child).map_err(|e| format!("cannot read registers: {e}"))
}
// ANCHOR_END: all
