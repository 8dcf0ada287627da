// ANCHOR: all
//! Step 4: the fix, and counting.
//!
//! The kernel stops the child twice per syscall and the two stops look the
//! same, so the tracer keeps count itself: after an entry stop comes the exit
//! stop of the same syscall, where `rax` holds the result. That gives one line
//! per syscall, `name(...) = result`, with errors written as strace writes them.
//!
//! With `-c`, it prints no lines but counts, and at the end shows the same
//! table as `strace -c`: time, calls and errors per syscall.
//!
//! What it still gets wrong (step 6 fixes it): a stop with SIGTRAP is taken
//! for a syscall stop, so a program that gets a real SIGTRAP, or that runs
//! another program (a successful `execve` ends in an extra SIGTRAP), throws
//! the entry/exit pairing off. Arguments are shown as `...` until step 5.
//!
//! Run it: `cargo build`, then `./target/debug/step4 -c ls` (under `cargo run`,
//! the loader makes extra calls that would be counted too: see the README).

// Like step 2: no Rust start-up code, so that the program we start inherits
// exactly what we were given (step 2's main.rs says why).
#![no_main]

#[path = "../step2-traceme/exec.rs"]
mod exec;
#[path = "../step2-traceme/output.rs"]
mod output;
#[path = "../step2-traceme/spawn.rs"]
mod spawn;
mod summary;

use std::env;
use std::ffi::{CStr, OsString};
use std::process;
use std::time::{Duration, Instant};

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use syscalls::{Errno, Sysno};

use summary::Summary;

const USAGE: &str = "usage: step4 [-c] COMMAND [ARGS...], e.g. step4 -c ls -l";

/// What the command line asked for.
struct Options {
    /// `-c`: count syscalls and print a summary table instead of one line each.
    count: bool,
    /// The program to run and its arguments.
    command: Vec<OsString>,
}

#[unsafe(no_mangle)]
extern "C" fn main() -> libc::c_int {
    let options = parse_args(env::args_os().skip(1).collect()).unwrap_or_else(|message| {
        output::line(format_args!("step4: {message}"));
        process::exit(2);
    });
    match trace(&options) {
        Ok(exit_code) => process::exit(exit_code),
        Err(message) => {
            output::line(format_args!("step4: {message}"));
            process::exit(1);
        }
    }
}

/// Reads the options (only `-c`), up to the first word that is not one: that
/// word and everything after it are the command, as with strace.
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
    Ok(Options {
        count,
        command: rest.to_vec(),
    })
}

/// Runs the command under our control and returns the exit code the tracer
/// should end with: the program's own.
fn trace(options: &Options) -> Result<i32, String> {
    let child = spawn::spawn_traced(&options.command)?;
    let mut tracer = Tracer {
        count: options.count,
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
    at: Instant,
}

/// What the tracer carries from stop to stop.
struct Tracer {
    /// `-c` was given.
    count: bool,
    summary: Summary,
    /// How many successful `execve` calls we have seen.
    execs: u32,
}
// ANCHOR_END: records

impl Tracer {
    // ANCHOR: loop
    /// Follows the child from syscall stop to syscall stop until it ends,
    /// pairing each entry stop with the exit stop that follows it.
    fn follow_syscalls(&mut self, child: Pid) -> Result<i32, String> {
        // The child is stopped right after its execve: the entry of that
        // execve happened before we were tracing, so this stop is its exit.
        let regs = get_registers(child)?;
        self.syscall_done(regs.orig_rax, regs.rax, Duration::ZERO);

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
                        // Outside a syscall, a stop is an entry: note which
                        // syscall, and when.
                        None => Some(Entered {
                            number: regs.orig_rax,
                            at: Instant::now(),
                        }),
                        // Inside one, it is that syscall's exit: rax holds
                        // its result.
                        Some(entered) => {
                            self.syscall_done(entered.number, regs.rax, entered.at.elapsed());
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

    // ANCHOR: syscall_done
    /// At a syscall's exit: count it (`-c`), or print it as strace does.
    fn syscall_done(&mut self, number: u64, rax: u64, time: Duration) {
        if self.count {
            let counts = self.summary.entry(number).or_default();
            counts.add(time, error_number(rax).is_some());
        } else {
            print_syscall(number, &format_result(number, rax));
        }
        if number == Sysno::execve as u64 && error_number(rax).is_none() {
            self.exec_done();
        }
    }
    // ANCHOR_END: syscall_done

    // ANCHOR: exec_done
    /// The first successful `execve` started the program. Any later one is
    /// the program's own, and ends in an extra SIGTRAP stop that step 4 takes
    /// for a syscall entry: say so once, rather than mislead in silence.
    fn exec_done(&mut self) {
        self.execs += 1;
        if self.execs == 2 {
            output::line(
                "step4: warning: the program ran another program (a second execve); step 4 \
                 cannot tell the SIGTRAP that follows it from a syscall stop, so from here on \
                 it takes entries for exits: what follows is wrong (step 6 fixes this)",
            );
        }
    }
    // ANCHOR_END: exec_done

    /// Once the child has ended: print the summary (`-c`), or the syscall it
    /// was still inside (`exit_group` never returns) and how it ended. Returns
    /// the exit code to pass on.
    fn finish(&self, inside: Option<Entered>, status: WaitStatus) -> Result<i32, String> {
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
                output::line(line);
            }
        } else {
            if let Some(entered) = inside {
                print_syscall(entered.number, "?");
            }
            output::line(format_args!("+++ {ending} +++"));
        }
        Ok(exit_code)
    }
}

// ANCHOR: print_syscall
/// One line of the trace: `name(...) = result`, with the `=` where strace puts
/// it when the call is short, after column 40.
fn print_syscall(number: u64, result: &str) {
    let call = format!("{}(...)", syscall_name(number));
    output::line(format_args!("{call:<39} = {result}"));
}
// ANCHOR_END: print_syscall

fn get_registers(child: Pid) -> Result<libc::user_regs_struct, String> {
    ptrace::getregs(child).map_err(|e| format!("cannot read registers: {e}"))
}

/// The name of syscall number `number`, as strace writes it.
fn syscall_name(number: u64) -> String {
    match Sysno::new(number as usize) {
        Some(sysno) => sysno.name().to_string(),
        None => format!("syscall_{number:#x}"),
    }
}

// ANCHOR: result
/// The error number in a syscall's result, if it failed. The kernel returns
/// -1 to -4095 for errors (-errno); anything else is a result.
fn error_number(rax: u64) -> Option<i32> {
    let value = rax as i64;
    (-4095..=-1).contains(&value).then_some(-value as i32)
}

/// A syscall's result as strace writes it: `-1 ENOENT (No such file or
/// directory)` for an error, hex for an address, decimal otherwise.
fn format_result(number: u64, rax: u64) -> String {
    if let Some(errno) = error_number(rax) {
        let name = Errno::new(errno)
            .name_and_description()
            .map_or("E???", |(name, _)| name);
        return format!("-1 {name} ({})", error_description(errno));
    }
    match Sysno::new(number as usize) {
        Some(Sysno::brk | Sysno::mmap | Sysno::mremap | Sysno::shmat) => format!("{rax:#x}"),
        _ => (rax as i64).to_string(),
    }
}

/// The C library's text for an error number: the one strace prints.
fn error_description(errno: i32) -> String {
    // SAFETY: strerror returns a pointer to a NUL-terminated string that stays
    // valid until the next strerror call; we copy it at once, on our only thread.
    unsafe { CStr::from_ptr(libc::strerror(errno)) }
        .to_string_lossy()
        .into_owned()
}
// ANCHOR_END: result
// ANCHOR_END: all
