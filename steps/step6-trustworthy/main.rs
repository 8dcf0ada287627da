// ANCHOR: all
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
//! with it, by the same signal. The `execve` that starts the program is
//! shown from its entry, with its arguments (spawn.rs).
//!
//! The options and the decoding are step 5's: decode.rs, memory.rs and
//! output.rs are its files, unchanged.
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
#[path = "../step5-arguments/memory.rs"]
mod memory;
#[path = "../step5-arguments/output.rs"]
mod output;
mod signals;
mod spawn;

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process;
use std::time::{Duration, Instant};

use nix::sys::ptrace;
use nix::sys::signal::{self, SigHandler, SigSet, Signal};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use syscalls::Sysno;

use decode::{Decoder, Pending, Syscall, error_number, syscall_name};
use memory::Memory;
use output::{Output, line_to_stderr};

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

/// Which syscalls `-e trace=` selects, by number.
enum Selection {
    All,
    Only(BTreeSet<u64>),
    AllBut(BTreeSet<u64>),
}

impl Selection {
    fn contains(&self, number: u64) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(numbers) => numbers.contains(&number),
            Selection::AllBut(numbers) => !numbers.contains(&number),
        }
    }
}
// ANCHOR_END: options

#[unsafe(no_mangle)]
extern "C" fn main() -> libc::c_int {
    let options = parse_args(env::args_os().skip(1).collect()).unwrap_or_else(|message| {
        line_to_stderr(format_args!("step6: {message}"));
        process::exit(2);
    });
    match trace(&options) {
        Ok(Ending::Exited(code)) => process::exit(code),
        Ok(Ending::Killed(signal)) => die_like_the_program(signal),
        Err(message) => {
            line_to_stderr(format_args!("step6: {message}"));
            process::exit(1);
        }
    }
}

// ANCHOR: parse_args
/// Reads the options, up to the first word that is not one: that word and
/// everything after it are the command, as with strace. An option's value
/// may be the next word (`-s 64`) or stuck to it (`-s64`), as strace allows.
fn parse_args(args: Vec<OsString>) -> Result<Options, String> {
    let mut options = Options {
        count: false,
        selection: Selection::All,
        output: None,
        string_limit: 32,
        command: Vec::new(),
    };
    let mut rest = args.as_slice();
    while let Some(word) = rest.first().and_then(|word| word.to_str()) {
        if !word.starts_with('-') {
            break; // the command starts here
        }
        rest = &rest[1..];
        if word == "--" {
            break;
        }
        // The option is the dash and one letter; what follows, its value.
        let letter_end = word.char_indices().nth(2).map_or(word.len(), |(i, _)| i);
        let (flag, stuck) = word.split_at(letter_end);
        let mut value = || -> Result<String, String> {
            if !stuck.is_empty() {
                return Ok(stuck.to_string());
            }
            let (next, after) = rest
                .split_first()
                .ok_or_else(|| format!("option {flag} needs a value; {USAGE}"))?;
            rest = after;
            Ok(next.to_string_lossy().into_owned())
        };
        match flag {
            "-c" if stuck.is_empty() => options.count = true,
            "-e" => options.selection = parse_selection(&value()?)?,
            "-o" => options.output = Some(PathBuf::from(value()?)),
            "-s" => options.string_limit = parse_string_limit(&value()?)?,
            _ => return Err(format!("unknown option '{word}'; {USAGE}")),
        }
    }
    if rest.is_empty() {
        return Err(format!("no command to trace; {USAGE}"));
    }
    options.command = rest.to_vec();
    Ok(options)
}

/// `trace=open,close` or `trace=!write`: syscall names, each one checked.
fn parse_selection(text: &str) -> Result<Selection, String> {
    let list = text.strip_prefix("trace=").unwrap_or(text);
    let (negated, list) = match list.strip_prefix('!') {
        Some(list) => (true, list),
        None => (false, list),
    };
    let numbers = list
        .split(',')
        .map(|name| match name.parse::<Sysno>().ok() {
            Some(sysno) => Ok(sysno as u64),
            None => Err(format!(
                "-e trace: '{name}' is not the name of a syscall (names as in \
                 `strace -e trace=openat,read`)"
            )),
        })
        .collect::<Result<BTreeSet<u64>, String>>()?;
    Ok(if negated {
        Selection::AllBut(numbers)
    } else {
        Selection::Only(numbers)
    })
}

fn parse_string_limit(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("-s: '{text}' is not a number of bytes; {USAGE}"))
}
// ANCHOR_END: parse_args

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
    ignore_terminal_interrupts();
    let mut tracer = Tracer {
        child,
        count: options.count,
        selection: &options.selection,
        decoder: Decoder {
            memory: Memory::of(child),
            string_limit: options.string_limit,
        },
        output,
        summary: Summary::new(),
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

// ANCHOR: ignore_interrupts
/// Ctrl-C and Ctrl-\ in a terminal signal the whole foreground process
/// group: the program and us. They are for the program; we stay, to report
/// how it took them. Set after fork, so that the program inherits what we
/// were given, not this.
fn ignore_terminal_interrupts() {
    for signal in [Signal::SIGINT, Signal::SIGQUIT] {
        // SAFETY: ignoring a signal installs no handler, so no code of ours
        // can run at a bad moment.
        let _ = unsafe { signal::signal(signal, SigHandler::SigIgn) };
    }
}
// ANCHOR_END: ignore_interrupts

// ANCHOR: records
/// A syscall that the child has entered and not yet left.
struct Entered {
    abi: Abi,
    number: u64,
    /// Its arguments as far as the entry could decode them; `None` when the
    /// syscall is not selected, or only counted.
    pending: Option<Pending>,
    at: Instant,
}

/// The syscall tables of an x86_64 kernel. A 64-bit program can make a
/// 32-bit call with `int $0x80` (i386 numbers: 4 is `write`), or an x32
/// call (x86_64 numbers with bit 0x40000000 set); only the kernel's report
/// of each stop says which.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Abi {
    X86_64,
    I386,
    X32,
}

/// The bit that marks a syscall number as x32's.
const X32_SYSCALL_BIT: u64 = 0x4000_0000;

/// What `-c` adds up for one syscall.
#[derive(Default)]
struct Counts {
    calls: u64,
    errors: u64,
    time: Duration,
}

/// The counts of every syscall seen, by ABI, then by syscall number. A
/// `BTreeMap` keeps them in number order, which is how strace orders
/// syscalls of equal time.
type Summary = BTreeMap<Abi, BTreeMap<u64, Counts>>;

/// How the program ended: the tracer ends the same way.
enum Ending {
    Exited(i32),
    Killed(Signal),
}

/// What the tracer carries from stop to stop.
struct Tracer<'a> {
    child: Pid,
    /// `-c` was given.
    count: bool,
    selection: &'a Selection,
    decoder: Decoder,
    output: Output,
    summary: Summary,
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
// ANCHOR_END: records

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
            let status = waitpid(child, None).map_err(|e| format!("waitpid failed: {e}"))?;
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

    // ANCHOR: entered
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
    // ANCHOR_END: entered

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
            let counts = self.summary.entry(entered.abi).or_default();
            let counts = counts.entry(entered.number).or_default();
            counts.calls += 1;
            counts.time += entered.at.elapsed();
            if error_number(result).is_some() {
                counts.errors += 1;
            }
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

    // ANCHOR: signal_arriving
    /// A signal is about to reach the program: show it as strace does, with
    /// what the kernel knows of it (who sent it, why).
    fn signal_arriving(&mut self, child: Pid) {
        if let Ok(info) = ptrace::getsiginfo(child) {
            self.show(format_args!("--- {} ---", signals::describe(&info)));
        }
    }
    // ANCHOR_END: signal_arriving

    /// A line of the trace that is not a syscall: not with `-c`.
    fn show(&mut self, text: std::fmt::Arguments) {
        if !self.count {
            self.output.line(text);
        }
    }

    // ANCHOR: finish
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
        if self.count {
            print_summary(&mut self.output, &self.summary);
        } else {
            if let Some(entered) = self.inside.take()
                && let Some(pending) = &entered.pending
            {
                let call = self.decoder.unfinished(pending);
                let call =
                    self.call_text(&entered, &entered.abi.syscall_name(entered.number), &call);
                self.print_syscall(&call, "?");
            }
            self.output.line(format_args!("+++ {ending} +++"));
        }
        Ok(how)
    }
    // ANCHOR_END: finish

    // ANCHOR: print_syscall
    /// One line of the trace: `name(args) = result`, with the `=` where
    /// strace puts it when the call is short, after column 40.
    fn print_syscall(&mut self, call: &str, result: &str) {
        self.output.line(format_args!("{call:<39} = {result}"));
    }
    // ANCHOR_END: print_syscall
}

/// The error a sleep returns when a signal interrupts it, for the kernel to
/// resume it later with `restart_syscall`.
const ERESTART_RESTARTBLOCK: i32 = 516;

/// A number that no syscall has: step 5's decoder shows such a call's
/// arguments raw, in hex.
const NOT_A_SYSCALL: u64 = u64::MAX;

// ANCHOR: abi
/// The ABI of a syscall stop, from the architecture the kernel reports, and
/// the syscall's number within that ABI's table.
fn abi_and_number(arch: u32, number: u64) -> (Abi, u64) {
    match arch {
        AUDIT_ARCH_I386 => (Abi::I386, number),
        _ if number & X32_SYSCALL_BIT != 0 => (Abi::X32, number & !X32_SYSCALL_BIT),
        _ => (Abi::X86_64, number),
    }
}

/// `AUDIT_ARCH_I386` from linux/audit.h: EM_386 (3), little-endian.
const AUDIT_ARCH_I386: u32 = 0x4000_0003;

impl Abi {
    /// The syscall's name in this ABI's table, as the `syscalls` crate knows
    /// it: strace 6.1 does not know the newest syscalls, and writes
    /// `syscall_0x1c3` where we write their names.
    fn syscall_name(self, number: u64) -> String {
        let name = match self {
            // x32 shares x86_64's numbers (its own few, from 512 up, are
            // calls whose structures differ; the crate does not list them).
            Abi::X86_64 | Abi::X32 => return syscall_name(number),
            Abi::I386 => syscalls::x86::Sysno::new(number as usize).map(|sysno| sysno.name()),
        };
        name.map_or_else(|| format!("syscall_{number:#x}"), str::to_string)
    }

    /// Whether `-e trace=` selects this syscall. Names select: `write`
    /// selects `int $0x80`'s write (4) as well as x86_64's (1).
    fn selected(self, selection: &Selection, number: u64) -> bool {
        match self {
            Abi::X86_64 => selection.contains(number),
            _ => match self.syscall_name(number).parse::<Sysno>() {
                Ok(sysno) => selection.contains(sysno as u64),
                Err(_) => !matches!(selection, Selection::Only(_)),
            },
        }
    }

    /// The name strace gives the ABI.
    fn mode(self) -> &'static str {
        match self {
            Abi::X86_64 => "64 bit",
            Abi::I386 => "32 bit",
            Abi::X32 => "x32",
        }
    }
}
// ANCHOR_END: abi

// ANCHOR: group_stop
/// The signals that stop a program (their default action is "stop").
fn is_stopping(signal: Signal) -> bool {
    matches!(
        signal,
        Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
    )
}

/// `PTRACE_LISTEN`: leave a seized child in its group-stop, but tell us when
/// it leaves it (SIGCONT) or dies. `PTRACE_SYSCALL` would start it again:
/// the job control of the shell the program runs in would be broken.
fn listen(child: Pid) -> nix::Result<()> {
    // SAFETY: PTRACE_LISTEN takes no address or data.
    let result = unsafe {
        libc::ptrace(
            libc::PTRACE_LISTEN,
            child.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    nix::errno::Errno::result(result).map(drop)
}
// ANCHOR_END: group_stop

// ANCHOR: die_like
/// Ends the tracer by `signal`, the one that killed the program, so that
/// whoever started us (a shell, a script) sees the program's death, as with
/// strace. Without leaving a core file of ours: it would be the tracer's,
/// of no use, and might overwrite the program's.
fn die_like_the_program(signal: Signal) -> ! {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls with valid arguments; what they change is ours.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        let _ = signal::signal(signal, SigHandler::SigDfl);
    }
    let mut only_this = SigSet::empty();
    only_this.add(signal);
    let _ = only_this.thread_unblock();
    let _ = signal::raise(signal);
    // Only signals that kill get here, but should one not: the shell's way.
    process::exit(128 + signal as i32)
}
// ANCHOR_END: die_like

// ANCHOR: summary
const SUMMARY_HEADER: &str = "% time     seconds  usecs/call     calls    errors syscall";
const SUMMARY_RULE: &str = "------ ----------- ----------- --------- ---------";

/// Prints the `-c` tables in strace's layout: one per ABI the program used,
/// x86_64's first and with no heading.
fn print_summary(output: &mut Output, summary: &Summary) {
    for (abi, table) in summary {
        if *abi != Abi::X86_64 {
            output.line(format_args!(
                "System call usage summary for {} mode:",
                abi.mode()
            ));
        }
        print_table(output, *abi, table);
    }
}

/// One ABI's table: the slowest syscalls first.
fn print_table(output: &mut Output, abi: Abi, summary: &BTreeMap<u64, Counts>) {
    let total = Counts {
        calls: summary.values().map(|counts| counts.calls).sum(),
        errors: summary.values().map(|counts| counts.errors).sum(),
        time: summary.values().map(|counts| counts.time).sum(),
    };
    let mut rows: Vec<(&u64, &Counts)> = summary.iter().collect();
    // A stable sort: syscalls of equal time stay in syscall-number order.
    rows.sort_by_key(|(_, counts)| std::cmp::Reverse(counts.time));

    // Like strace, the rule under "syscall" is 16 dashes, or one more than the
    // longest name.
    let longest_name = summary.keys().map(|n| abi.syscall_name(*n).len()).max();
    let rule = format!(
        "{SUMMARY_RULE} {}",
        "-".repeat(16.max(longest_name.unwrap_or(0) + 1))
    );

    output.line(SUMMARY_HEADER);
    output.line(&rule);
    for (number, counts) in rows {
        let percent = if total.time.is_zero() {
            0.0
        } else {
            100.0 * counts.time.as_secs_f64() / total.time.as_secs_f64()
        };
        output.line(summary_row(percent, counts, &abi.syscall_name(*number)));
    }
    output.line(&rule);
    output.line(summary_row(100.0, &total, "total"));
}

/// One line of the table; like strace, an error count of zero is left blank.
fn summary_row(percent: f64, counts: &Counts, name: &str) -> String {
    let seconds = counts.time.as_secs_f64();
    let usecs_per_call = counts.time.as_micros() / u128::from(counts.calls.max(1));
    let errors = match counts.errors {
        0 => String::new(),
        errors => errors.to_string(),
    };
    let calls = counts.calls;
    format!("{percent:6.2} {seconds:11.6} {usecs_per_call:11} {calls:9} {errors:>9} {name}")
}
// ANCHOR_END: summary
// ANCHOR_END: all
