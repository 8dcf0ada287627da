// ANCHOR: all
// ANCHOR: command_line
//! Step 6: a tracer you can trust.
//!
//! Steps 4 and 5 guessed: every SIGTRAP stop was a syscall stop, and stops
//! came in pairs, entry then exit. A real SIGTRAP, or the SIGTRAP after a
//! program's own `execve`, broke the pairing, and every later line was wrong.
//! Step 6 stops guessing. The kernel marks syscall stops
//! (`PTRACE_O_TRACESYSGOOD`), reports an `execve` as an event of its own
//! (`PTRACE_O_TRACEEXEC`), and says at each syscall stop whether it is an
//! entry or an exit, and in which ABI (`PTRACE_GET_SYSCALL_INFO`).
//!
//! And it handles what a program meets in real life as strace does: signals
//! are shown and passed on unchanged; a program stopped by SIGSTOP or Ctrl-Z
//! stays stopped (`PTRACE_SEIZE` and `PTRACE_LISTEN`); Ctrl-C reaches the
//! program, not the tracer; a program killed by a signal takes the tracer
//! with it, by the same signal; SIGTERM or SIGHUP to the tracer lets the
//! program go, with the signal, and prints what `-c` counted (stops.rs).
//! The `execve` that starts the program is shown from its entry (spawn.rs).
//!
//! The options and the decoding are step 5's files, unchanged. New beside
//! this file: abi.rs (the three syscall tables), signals.rs (what the kernel
//! says of a signal), spawn.rs (the start, seized) and stops.rs (a stopped
//! program, and the tracer's end).
//!
//! Run it: `cargo build`, then `./target/debug/step6 sh -c 'ls; kill -STOP $$'`.

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

mod abi;
mod signals;
mod spawn;
mod stops;

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process;
use std::time::Instant;

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use syscalls::Sysno;

use abi::{Abi, Tables, abi_and_number};
use decode::{Decoder, Pending, Syscall, error_number};
use memory::Memory;
use options::{CommandLine, Opt, Selection};
use output::{Output, line_to_stderr, say};
use stops::{Ending, Waited, die_like_the_program, is_stopping, listen};

const USAGE: &str = "usage: step6 [-c] [-e trace=[!]NAME,...] [-o FILE] [-s N] COMMAND [ARGS...], \
                     e.g. step6 -e trace=openat,read cat /etc/hostname";

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
        Ok(Ending::Exited(code)) => process::exit(code),
        Ok(Ending::Killed(signal)) => die_like_the_program(signal),
        Err(message) => {
            say(message);
            process::exit(1);
        }
    }
}

/// Reads the options: step 5's, unchanged.
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

/// Runs the command under our control and returns how it ended, for the
/// tracer to end the same way.
fn trace(options: &Options) -> Result<Ending, String> {
    // Created before the program starts: if the file cannot be, nothing runs.
    let output = match &options.output {
        Some(path) => Output::create(path)?,
        None => Output::Stderr,
    };
    let started = spawn::spawn_traced(&options.command, ptrace_options())?;
    let child = started.child;
    stops::ignore_terminal_interrupts();
    stops::endings(options.output.is_some());
    let mut tracer = Tracer {
        child,
        count: options.count,
        selection: &options.selection,
        decoder: Decoder {
            memory: Memory::of(child),
            string_limit: options.string_limit,
        },
        output,
        summary: Tables::new(),
        program_started: false,
        inside: None,
        abi: Abi::X86_64,
        interrupted: None,
    };
    tracer
        .follow(started)
        .inspect_err(|_| spawn::kill_child(child))
}

// ANCHOR: options_ptrace
/// What we ask of the kernel when we seize the child.
fn ptrace_options() -> ptrace::Options {
    use ptrace::Options;
    // Syscall stops are SIGTRAP | 0x80, so that no real SIGTRAP can pass for
    // one; a successful execve is an event stop of its own, not a SIGTRAP;
    // and if the tracer dies, the kernel kills the program.
    Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC | Options::PTRACE_O_EXITKILL
}
// ANCHOR_END: options_ptrace

// ANCHOR_END: command_line

// ANCHOR: tracer
/// A syscall that the child has entered and not yet left.
struct Entered {
    abi: Abi,
    number: u64,
    /// Its arguments as far as the entry could decode them; `None` when the
    /// syscall is not selected, or only counted.
    pending: Option<Pending>,
    at: Instant,
}

/// What the tracer carries from stop to stop.
struct Tracer<'a> {
    child: Pid,
    /// `-c` was given.
    count: bool,
    selection: &'a Selection,
    decoder: Decoder,
    output: Output,
    summary: Tables,
    /// Whether the `execve` that starts the program has succeeded. Until
    /// then, nothing but that `execve` is the program's.
    program_started: bool,
    /// The syscall the child is inside, if any: entered, not yet left.
    inside: Option<Entered>,
    /// The ABI of the last syscall, to say when the program changes ABI.
    abi: Abi,
    /// The name of the last syscall a signal interrupted, which the kernel
    /// may resume with `restart_syscall`.
    interrupted: Option<String>,
}

/// How to let the child go on after a stop.
enum Resume {
    /// To its next syscall stop, delivering this signal, if any, first.
    Syscall(Option<Signal>),
    /// Not at all: it is stopped (group-stop) and stays so until SIGCONT,
    /// but we hear of it when that comes.
    Listen,
}

impl Tracer<'_> {
    // ANCHOR: loop
    /// Follows the child from stop to stop until it ends. The kernel says
    /// what each stop is; we only act on it.
    fn follow(&mut self, started: spawn::Started) -> Result<Ending, String> {
        let child = started.child;
        // The child is stopped before its execve. What it does until then
        // (the end of `raise`, a `prctl`) is the tracer's, not the program's:
        // like strace, we show nothing of it (see syscall_done).
        let mut resume = Resume::Syscall(None);
        loop {
            match resume {
                Resume::Syscall(signal) => ptrace::syscall(child, signal),
                Resume::Listen => listen(child),
            }
            .map_err(|e| format!("cannot resume the child: {e}"))?;
            let status = match stops::wait(Some(child)) {
                Ok(Waited::Report(status)) => status,
                // Told to end: let the program go, with what was counted.
                Ok(Waited::Told(signal)) => {
                    if stops::let_go(child, signal) {
                        say(format_args!("Process {child} detached"));
                    }
                    self.print_tables();
                    return Ok(Ending::Killed(signal));
                }
                Err(errno) => return Err(format!("waitpid failed: {errno}")),
            };
            resume = match status {
                // SIGTRAP | 0x80: a syscall stop, entry or exit.
                WaitStatus::PtraceSyscall(_) => {
                    self.syscall_stop(child)?;
                    Resume::Syscall(None)
                }
                // An execve succeeded: the new program is in place.
                WaitStatus::PtraceEvent(_, _, libc::PTRACE_EVENT_EXEC) => {
                    self.program_started = true;
                    Resume::Syscall(None)
                }
                // The program is stopped (SIGSTOP, Ctrl-Z): keep it so.
                WaitStatus::PtraceEvent(_, signal, libc::PTRACE_EVENT_STOP)
                    if is_stopping(signal) =>
                {
                    self.show(format_args!(
                        "--- stopped by {} ---",
                        decode::signal_name(signal as i32)
                    ));
                    Resume::Listen
                }
                // Any other event stop (SIGCONT ended a group-stop): go on.
                WaitStatus::PtraceEvent(..) => Resume::Syscall(None),
                // A signal on its way to the program: show it, pass it on.
                WaitStatus::Stopped(_, signal) => {
                    self.signal_arriving(child);
                    Resume::Syscall(Some(signal))
                }
                ended => return self.finish(started, ended),
            };
        }
    }
    // ANCHOR_END: loop

    // ANCHOR: syscall_stop
    /// At a syscall stop: the kernel says whether it is an entry or an exit,
    /// and, at an entry, which syscall in which ABI, with its arguments.
    fn syscall_stop(&mut self, child: Pid) -> Result<(), String> {
        let info = ptrace::syscall_info(child).map_err(|e| {
            format!("cannot read the syscall stop (PTRACE_GET_SYSCALL_INFO, Linux 5.3+): {e}")
        })?;
        match info.op {
            libc::PTRACE_SYSCALL_INFO_ENTRY => {
                // SAFETY: at an entry stop, `entry` is the union's member.
                let entry = unsafe { info.u.entry };
                let (abi, number) = abi_and_number(info.arch, entry.nr);
                let syscall = Syscall {
                    number,
                    args: entry.args,
                    stack_pointer: info.stack_pointer,
                };
                self.inside = Some(self.syscall_entered(abi, syscall));
            }
            libc::PTRACE_SYSCALL_INFO_EXIT => {
                // SAFETY: at an exit stop, `exit` is the union's member.
                let result = unsafe { info.u.exit }.sval as u64;
                if let Some(entered) = self.inside.take() {
                    self.syscall_done(entered, result);
                }
            }
            _ => {}
        }
        Ok(())
    }
    // ANCHOR_END: syscall_stop

    /// At a syscall's entry: note which, and when, and decode its arguments
    /// if it is to be printed.
    fn syscall_entered(&mut self, abi: Abi, syscall: Syscall) -> Entered {
        if abi != self.abi {
            self.abi = abi;
            // As strace says it: in a trace on stderr, not in a file.
            if let Output::Stderr = self.output {
                line_to_stderr(format_args!(
                    "[ Process PID={} runs in {} mode. ]",
                    self.child,
                    abi.mode()
                ));
            }
        }
        let printed = !self.count && abi.selected(self.selection, syscall.number);
        let pending = printed.then(|| match abi {
            Abi::X86_64 => self.decoder.entry(syscall),
            // Step 5's table is x86_64's: the other ABIs' arguments are
            // shown raw, as strace shows a syscall it does not know.
            _ => self.decoder.entry(Syscall {
                number: NOT_A_SYSCALL,
                ..syscall
            }),
        });
        Entered {
            abi,
            number: syscall.number,
            pending,
            at: Instant::now(),
        }
    }

    // ANCHOR: syscall_done
    /// At a syscall's exit: count it (`-c`), or print it as strace does.
    fn syscall_done(&mut self, entered: Entered, result: u64) {
        // A failed execve that was to start the program is not the
        // program's: its failure is reported as the tracer's (finish).
        if !self.program_started {
            return;
        }
        let name = entered.abi.syscall_name(entered.number);
        if self.count && entered.abi.selected(self.selection, entered.number) {
            let table = self.summary.entry(entered.abi).or_default();
            let counts = table.entry(entered.number).or_default();
            counts.add(entered.at.elapsed(), error_number(result).is_some());
        } else if let Some(pending) = &entered.pending {
            let (call, result) = self.decoder.exit(pending, result);
            let call = self.call_text(&entered, &name, &call);
            self.print_syscall(&call, &result);
        }
        // The kernel resumes a sleep that a signal interrupted with
        // restart_syscall, and strace names the one it resumes.
        if error_number(result) == Some(ERESTART_RESTARTBLOCK) {
            self.interrupted = Some(name);
        }
    }
    // ANCHOR_END: syscall_done

    /// The call as strace writes it, where it differs from step 5's text:
    /// another ABI's name, and `restart_syscall`'s note.
    fn call_text(&self, entered: &Entered, name: &str, decoded: &str) -> String {
        let args = &decoded[decoded.find('(').unwrap_or(0)..];
        if entered.abi == Abi::X86_64 && entered.number == Sysno::restart_syscall as u64 {
            let resumed = self.interrupted.as_deref().unwrap_or("system call");
            return format!("restart_syscall(<... resuming interrupted {resumed} ...>)");
        }
        format!("{name}{args}")
    }

    /// A signal is about to reach the program: show it as strace does, with
    /// what the kernel knows of it (who sent it, why).
    fn signal_arriving(&mut self, child: Pid) {
        if let Ok(info) = ptrace::getsiginfo(child) {
            self.show(format_args!("--- {} ---", signals::describe(&info)));
        }
    }

    /// A line of the trace that is not a syscall: not with `-c`.
    fn show(&mut self, text: std::fmt::Arguments) {
        if !self.count {
            self.output.line(text);
        }
    }

    /// Once the child has ended: print the summary (`-c`), or the syscall it
    /// was still inside (`exit_group` never returns) and how it ended.
    fn finish(&mut self, started: spawn::Started, status: WaitStatus) -> Result<Ending, String> {
        if !self.program_started {
            // Its execve failed: the pipe says why.
            return Err(started.failure());
        }
        let (ending, how) = match status {
            WaitStatus::Exited(_, code) => (format!("exited with {code}"), Ending::Exited(code)),
            WaitStatus::Signaled(_, signal, core_dumped) => {
                let core = if core_dumped { " (core dumped)" } else { "" };
                let name = decode::signal_name(signal as i32);
                (format!("killed by {name}{core}"), Ending::Killed(signal))
            }
            other => return Err(format!("unexpected report from the child: {other:?}")),
        };
        self.print_tables();
        // With -c, nothing is pending, and `show` shows nothing.
        if let Some(entered) = self.inside.take()
            && let Some(pending) = &entered.pending
        {
            let call = self.decoder.unfinished(pending);
            let call = self.call_text(&entered, &entered.abi.syscall_name(entered.number), &call);
            self.print_syscall(&call, "?");
        }
        self.show(format_args!("+++ {ending} +++"));
        Ok(how)
    }

    /// The `-c` tables: none without `-c`, which alone fills `summary`.
    fn print_tables(&mut self) {
        for line in abi::tables(&self.summary) {
            self.output.line(line);
        }
    }

    /// One line of the trace: `name(args) = result`, with the `=` where
    /// strace puts it when the call is short, after column 40.
    fn print_syscall(&mut self, call: &str, result: &str) {
        self.output.line(format_args!("{call:<39} = {result}"));
    }
}

/// The error a sleep returns when a signal interrupts it, for the kernel to
/// resume it later with `restart_syscall`.
const ERESTART_RESTARTBLOCK: i32 = 516;

/// A number that no syscall has: step 5's decoder shows such a call's
/// arguments raw, in hex.
const NOT_A_SYSCALL: u64 = u64::MAX;
// ANCHOR_END: tracer
// ANCHOR_END: all
