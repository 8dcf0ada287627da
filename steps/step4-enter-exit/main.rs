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
//! Ctrl-C, SIGTERM or SIGHUP: the tracer kills the program, prints what it
//! has (the table, with `-c`), and dies of the same signal, as strace does.
//!
//! What it still gets wrong (step 6 fixes it): a stop with SIGTRAP is taken
//! for a syscall stop, so a program that gets a real SIGTRAP, or that runs
//! another program (a successful `execve` or `execveat` ends in an extra
//! SIGTRAP), throws the entry/exit pairing off; it warns of the second.
//! Arguments are shown as `...` until step 5, and so is what strace says of
//! some results (`= 0x8000 (flags O_RDONLY|O_LARGEFILE)`): step 4 writes the
//! number, in the base strace writes it in. A 32-bit call (a 32-bit program,
//! or `int $0x80`) is numbered from another table: step 4 says it is one,
//! and gives its number; step 6 has that table. Ctrl-C kills the program
//! before its own handler can run (steps 2 and 3 share that fault).
//!
//! Run it: `cargo build`, then `./target/debug/step4 -c ls` (under `cargo run`,
//! the loader makes extra calls that would be counted too: see the README).

// Like step 2: no Rust start-up code, so that the program we start inherits
// exactly what we were given (step 2's main.rs says why).
#![no_main]

mod errors;
#[path = "../step2-traceme/exec.rs"]
mod exec;
mod interrupt;
#[path = "../step2-traceme/names.rs"]
mod names;
#[path = "../step2-traceme/output.rs"]
mod output;
#[path = "../step2-traceme/spawn.rs"]
mod spawn;
mod summary;

use std::env;
use std::ffi::OsString;
use std::process;
use std::time::{Duration, Instant};

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use syscalls::Sysno;

use errors::format_error;
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

// ANCHOR: trace
/// Runs the command under our control and returns the exit code the tracer
/// should end with: the program's own.
fn trace(options: &Options) -> Result<i32, String> {
    let child = spawn::spawn_traced(&options.command)?;
    interrupt::kill_child_on_ending_signals(child);
    let mut tracer = Tracer {
        count: options.count,
        summary: Summary::new(),
        summary_32bit: Summary::new(),
        execs: 0,
    };
    let ended = tracer.follow_syscalls(child);
    if let Some(signal) = interrupt::received() {
        // Ctrl-C, say: the handler has killed the child. Whatever the loop
        // saw last, reap it (an error means it did not), show what was
        // counted, and end as strace ends.
        if ended.is_err() {
            spawn::kill_child(child);
        }
        tracer.print_summary();
        interrupt::die_of(signal);
    }
    let (inside, status) = ended.inspect_err(|_| spawn::kill_child(child))?;
    tracer.finish(inside, status)
}
// ANCHOR_END: trace

// ANCHOR: records
/// A syscall as its entry stop shows it: its number, whether it is a 32-bit
/// one, and its first two arguments, which say how strace writes a few
/// results (`fcntl`'s flags in hex, its descriptors in decimal).
#[derive(Clone, Copy)]
struct Call {
    number: u64,
    is_32bit: bool,
    args: [u64; 2],
}

/// A syscall that the child has entered and not yet left.
struct Entered {
    call: Call,
    at: Instant,
}

/// What the tracer carries from stop to stop.
struct Tracer {
    /// `-c` was given.
    count: bool,
    summary: Summary,
    /// 32-bit calls, in a table of their own, as strace counts them.
    summary_32bit: Summary,
    /// How many successful `execve` calls we have seen.
    execs: u32,
}
// ANCHOR_END: records

impl Tracer {
    // ANCHOR: loop
    /// Follows the child from syscall stop to syscall stop until it ends,
    /// pairing each entry stop with the exit stop that follows it. Returns
    /// the syscall it was still inside, if any, and how it ended.
    fn follow_syscalls(&mut self, child: Pid) -> Result<(Option<Entered>, WaitStatus), String> {
        // The child is stopped right after its execve: the entry of that
        // execve happened before we were tracing, so this stop is its exit.
        // (That it is execve we know; orig_rax may say 11 instead, execve's
        // number in the 32-bit table, when the program is a 32-bit one.)
        let regs = get_registers(child)?;
        let execve = Call {
            number: Sysno::execve as u64,
            is_32bit: false,
            args: [0, 0],
        };
        self.syscall_done(execve, regs.rax, Duration::ZERO);

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
                            call: Call {
                                number: regs.orig_rax,
                                is_32bit: names::is_32bit(child, &regs),
                                args: [regs.rdi, regs.rsi],
                            },
                            at: Instant::now(),
                        }),
                        // Inside one, it is that syscall's exit: rax holds
                        // its result.
                        Some(entered) => {
                            self.syscall_done(entered.call, regs.rax, entered.at.elapsed());
                            None
                        }
                    };
                }
                // A signal for the program, not a syscall: pass it on.
                WaitStatus::Stopped(_, other) => signal = Some(other),
                ended => return Ok((inside, ended)),
            }
        }
    }
    // ANCHOR_END: loop

    // ANCHOR: syscall_done
    /// At a syscall's exit: count it (`-c`), or print it as strace does.
    fn syscall_done(&mut self, call: Call, rax: u64, time: Duration) {
        if self.count {
            // Counted as strace counts: a number that is no syscall gets no
            // row, and 32-bit calls have a table of their own.
            let summary = match call.is_32bit {
                true => &mut self.summary_32bit,
                false if Sysno::new(call.number as usize).is_none() => return,
                false => &mut self.summary,
            };
            let counts = summary.entry(call.number).or_default();
            counts.add(time, error_number(rax).is_some());
        } else {
            print_syscall(call, &format_result(call, rax));
        }
        if names::is_exec(call.number, call.is_32bit) && error_number(rax).is_none() {
            self.exec_done();
        }
    }
    // ANCHOR_END: syscall_done

    // ANCHOR: exec_done
    /// The first successful `execve` started the program. Any later one (or
    /// `execveat`, which `fexecve` makes) is the program's own, and ends in an
    /// extra SIGTRAP stop that step 4 takes for a syscall entry: say so once,
    /// rather than mislead in silence.
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
            self.print_summary();
        } else {
            if let Some(entered) = inside {
                print_syscall(entered.call, "?");
            }
            output::line(format_args!("+++ {ending} +++"));
        }
        Ok(exit_code)
    }

    /// With `-c`, the tables: the 64-bit calls', then, if there were any,
    /// the 32-bit calls', under strace's heading, each row named by its
    /// number (a name of one word, as every row's is).
    fn print_summary(&self) {
        if !self.count {
            return;
        }
        for line in summary::table(&self.summary, names::syscall_name) {
            output::line(line);
        }
        if !self.summary_32bit.is_empty() {
            output::line("System call usage summary for 32 bit mode:");
            let name = |number| format!("syscall_{number}");
            for line in summary::table(&self.summary_32bit, name) {
                output::line(line);
            }
        }
    }
}

// ANCHOR: print_syscall
/// One line of the trace: `name(...) = result`, with the `=` where strace puts
/// it when the call is short, after column 40.
fn print_syscall(call: Call, result: &str) {
    let call = format!("{}(...)", names::call_name(call.number, call.is_32bit));
    output::line(format_args!("{call:<39} = {result}"));
}
// ANCHOR_END: print_syscall

fn get_registers(child: Pid) -> Result<libc::user_regs_struct, String> {
    ptrace::getregs(child).map_err(|e| format!("cannot read registers: {e}"))
}

// ANCHOR: result
/// The error number in a syscall's result, if it failed. The kernel returns
/// -1 to -4095 for errors (-errno); anything else is a result.
fn error_number(rax: u64) -> Option<i32> {
    let value = rax as i64;
    (-4095..=-1).contains(&value).then_some(-value as i32)
}

/// A syscall's result as strace writes it: `-1 ENOENT (No such file or
/// directory)` for an error; in hex, addresses and the flags some calls
/// return; `umask`'s mask in octal; decimal otherwise.
fn format_result(call: Call, rax: u64) -> String {
    if let Some(errno) = error_number(rax) {
        return format_error(errno);
    }
    match written_as(call) {
        // C's "%#x": no 0x before a 0.
        Base::Hex if rax == 0 => "0".to_string(),
        Base::Hex => format!("{rax:#x}"),
        // C's "%#03o": a 0 first, three digits at least (022, 000).
        Base::Octal => format!("0{rax:02o}"),
        Base::Decimal => (rax as i64).to_string(),
    }
}

enum Base {
    Decimal,
    Hex,
    Octal,
}

/// The base strace 6.1 writes a syscall's result in, on x86_64. Some calls
/// return flags only for some arguments: `fcntl`'s second, the command,
/// `prctl`'s first (and its second, for the speculation control), and
/// `membarrier`'s first. A 32-bit call's number is from another table, so
/// its result is left in decimal.
fn written_as(call: Call) -> Base {
    const MEMBARRIER_CMD_QUERY: i32 = 0;
    const PR_SPEC_L1D_FLUSH: i32 = 2;
    let [first, second] = call.args.map(|arg| arg as i32);
    match Sysno::new(call.number as usize) {
        _ if call.is_32bit => Base::Decimal,
        Some(Sysno::brk | Sysno::mmap | Sysno::mremap | Sysno::shmat | Sysno::personality) => {
            Base::Hex
        }
        Some(Sysno::umask) => Base::Octal,
        Some(Sysno::fcntl)
            if [
                libc::F_GETFD,
                libc::F_GETFL,
                libc::F_GETLEASE,
                libc::F_GET_SEALS,
            ]
            .contains(&second) =>
        {
            Base::Hex
        }
        Some(Sysno::prctl)
            if first == libc::PR_GET_SECUREBITS
                || (first == libc::PR_GET_SPECULATION_CTRL && second <= PR_SPEC_L1D_FLUSH) =>
        {
            Base::Hex
        }
        Some(Sysno::membarrier) if first == MEMBARRIER_CMD_QUERY => Base::Hex,
        _ => Base::Decimal,
    }
}
// ANCHOR_END: result
// ANCHOR_END: all
