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
//! The tracer is step 7's: attach.rs and decode.rs are its files,
//! unchanged, and spawn.rs its copy with one addition, the filter.
//!
//! Run it: `cargo build`, then `./target/debug/step8 --deny openat cat
//! /etc/hostname`.
//!
//! What step 7 built, many processes:
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
//! signals.rs is step 6's, memory.rs and output.rs step 5's, all
//! unchanged.

// Like step 2: no Rust start-up code, so that the program we start inherits
// exactly what we were given (step 2's main.rs says why).
#![no_main]

// Step 6 sees execve's entry, so step 5's way of reading the first execve's
// arguments back from the new program's stack goes unused here.
#[allow(dead_code)]
#[path = "../step7-many-processes/decode.rs"]
mod decode;

#[path = "../step7-many-processes/attach.rs"]
mod attach;
mod json;
#[path = "../step5-arguments/memory.rs"]
mod memory;
#[path = "../step5-arguments/output.rs"]
mod output;
mod profile;
mod seccomp;
#[path = "../step6-trustworthy/signals.rs"]
mod signals;
mod spawn;

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::ffi::{CString, OsString};
use std::path::{Path, PathBuf};
use std::process;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{self, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use syscalls::Sysno;

use decode::{Decoder, Pending, Syscall, error_number, syscall_name};
use memory::Memory;
use output::{Output, line_to_stderr};
use profile::Profile;
use seccomp::Filter;

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

#[unsafe(no_mangle)]
extern "C" fn main() -> libc::c_int {
    let options = parse_args(env::args_os().skip(1).collect()).unwrap_or_else(|message| {
        line_to_stderr(format_args!("step8: {message}"));
        process::exit(2);
    });
    if let Some(profile) = &options.sandbox {
        let message = run_sandboxed(profile, &options.command);
        line_to_stderr(format_args!("step8: {message}"));
        process::exit(126);
    }
    match trace(&options) {
        Ok(Ending::Exited(code)) => process::exit(code),
        Ok(Ending::Killed(signal)) => die_like_the_program(signal),
        Err(message) => {
            line_to_stderr(format_args!("step8: {message}"));
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
    let mut rest = args.as_slice();
    while let Some(word) = rest.first().and_then(|word| word.to_str()) {
        if !word.starts_with('-') {
            break; // the command starts here
        }
        rest = &rest[1..];
        if word == "--" {
            break;
        }
        // ANCHOR: long_options
        // Step 8's options are words, and always take the next word.
        if let Some(long) = word.strip_prefix("--") {
            let (value, after) = rest
                .split_first()
                .ok_or_else(|| format!("option {word} needs a value; {USAGE}"))?;
            rest = after;
            let value = value.to_string_lossy();
            match long {
                "deny" => options.deny = syscall_numbers("--deny", &value)?,
                "profile" => options.profile = Some(PathBuf::from(&*value)),
                "sandbox" => options.sandbox = Some(profile::read(Path::new(&*value))?),
                _ => return Err(format!("unknown option '{word}'; {USAGE}")),
            }
            continue;
        }
        // ANCHOR_END: long_options
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
            "-f" if stuck.is_empty() => options.follow = true,
            "-p" => {
                let pid = attach::parse_pid(&value()?)?;
                if !options.attach.contains(&pid) {
                    options.attach.push(pid);
                }
            }
            "-e" => options.selection = parse_selection(&value()?)?,
            "-o" => options.output = Some(PathBuf::from(value()?)),
            "-s" => options.string_limit = parse_string_limit(&value()?)?,
            _ => return Err(format!("unknown option '{word}'; {USAGE}")),
        }
    }
    if rest.is_empty() && options.attach.is_empty() {
        return Err(format!("no command to trace; {USAGE}"));
    }
    options.command = rest.to_vec();
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

/// `trace=open,close` or `trace=!write`: syscall names, each one checked.
fn parse_selection(text: &str) -> Result<Selection, String> {
    let list = text.strip_prefix("trace=").unwrap_or(text);
    let (negated, list) = match list.strip_prefix('!') {
        Some(list) => (true, list),
        None => (false, list),
    };
    let numbers = syscall_numbers("-e trace", list)?;
    Ok(if negated {
        Selection::AllBut(numbers)
    } else {
        Selection::Only(numbers)
    })
}

/// `openat,read`: syscall names, each one checked, as numbers.
fn syscall_numbers(option: &str, list: &str) -> Result<BTreeSet<u64>, String> {
    list.split(',')
        .map(|name| match name.parse::<Sysno>().ok() {
            Some(sysno) => Ok(sysno as u64),
            None => Err(format!(
                "{option}: '{name}' is not the name of a syscall (names as in \
                 `strace -e trace=openat,read`)"
            )),
        })
        .collect()
}

fn parse_string_limit(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("-s: '{text}' is not a number of bytes; {USAGE}"))
}

// ANCHOR: sandbox
/// `--sandbox`: installs the profile's filter on ourselves and becomes the
/// program, which keeps it, as will everything it starts. Returns only if
/// that fails, with what to say.
fn run_sandboxed(profile: &Profile, command: &[OsString]) -> String {
    let filter = Filter::new(&profile.rules, profile.default);
    // Everything is ready before the filter goes on: after it, our only
    // syscall is the execve, which the profile must allow, as Docker's do.
    let program = match spawn::find_program(&command[0]) {
        Ok(program) => program,
        Err(message) => return message,
    };
    let args: Result<Vec<CString>, String> = command.iter().map(|a| spawn::c_string(a)).collect();
    let (path, args) = match (spawn::c_string(program.as_os_str()), args) {
        (Ok(path), Ok(args)) => (path, args),
        (Err(message), _) | (_, Err(message)) => return message,
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(std::ptr::null());
    if let Err(errno) = filter.install() {
        return format!("cannot install the seccomp filter: {}", errno.desc());
    }
    // SAFETY: `path` and the strings behind `argv` live until execv
    // returns, and `argv` ends with a null pointer.
    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
    // Only if the filter lets us write it (the profile allows write).
    let errno = Errno::last();
    format!(
        "cannot execute {} under the profile: {} (does the profile allow execve?)",
        program.display(),
        errno.desc()
    )
}
// ANCHOR_END: sandbox

// ANCHOR: trace
/// Starts the command, attaches to the `-p` processes, and follows them
/// all until every one has ended, or until we are told to let them go.
fn trace(options: &Options) -> Result<Ending, String> {
    // Created before the program starts: if a file cannot be, nothing runs.
    let output = match &options.output {
        Some(path) => Output::create(path)?,
        None => Output::Stderr,
    };
    let profile_file = options
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
    let filter = (!deny.is_empty()).then(|| Filter::new(&deny, seccomp::Action::Allow));
    let started = match options.command.is_empty() {
        true => None,
        false => Some(spawn::spawn_traced(
            &options.command,
            ptrace_options(options.follow) | ptrace::Options::PTRACE_O_EXITKILL,
            filter.as_ref(),
        )?),
    };
    let first = started.as_ref().map(|started| started.child);
    // Signals to the tracer: set after fork, so that the program inherits
    // what we were given, not this.
    let interrupts = match options.attach.is_empty() {
        true => {
            ignore_terminal_interrupts();
            None
        }
        false => Some(block_interrupts()),
    };
    let mut threads = BTreeMap::new();
    if let Some(child) = first {
        threads.insert(child, Thread::new(false));
    }
    let mut announced = Vec::new();
    for &pid in &options.attach {
        // No PTRACE_O_EXITKILL here: should we die, the program lives on.
        let attached = attach::attach(pid, ptrace_options(options.follow)).inspect_err(|_| {
            let ours: Vec<Pid> = threads
                .keys()
                .copied()
                .filter(|&t| Some(t) != first)
                .collect();
            attach::detach(&ours);
            if let Some(child) = first {
                spawn::kill_child(child);
            }
        })?;
        announced.push((pid, attached.len()));
        for tid in attached {
            threads.insert(tid, Thread::grabbed());
        }
    }
    // Once all are attached: a failure says only what failed.
    for (pid, threads) in announced {
        announce_attached(pid, threads);
    }
    // With -o FILE and -f, strace prefixes every line with its thread id.
    let numbered = options.output.is_some() && (options.follow || threads.len() > 1);
    let mut tracer = Tracer {
        options,
        first,
        started,
        first_ending: None,
        threads,
        newborn: BTreeSet::new(),
        printer: Printer {
            output,
            numbered,
            open: None,
        },
        summary: Summary::new(),
        interrupts,
        used: BTreeSet::new(),
    };
    let ending = tracer.follow().inspect_err(|_| {
        if let Some(child) = first {
            spawn::kill_child(child);
        }
    })?;
    if let (Some(path), Some(file)) = (&options.profile, profile_file) {
        profile::write(file, path, &tracer.used)?;
        line_to_stderr(format_args!(
            "step8: wrote {}: {} syscalls allowed, every other one fails with EPERM",
            path.display(),
            tracer.used.len()
        ));
    }
    Ok(ending)
}
// ANCHOR_END: trace

/// Says what `-p` attached to, as strace says it.
fn announce_attached(pid: Pid, threads: usize) {
    match threads {
        1 => line_to_stderr(format_args!("step8: Process {pid} attached")),
        n => line_to_stderr(format_args!(
            "step8: Process {pid} attached with {n} threads"
        )),
    }
}

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

/// Ctrl-C and Ctrl-\ in a terminal signal the whole foreground process
/// group: the program and us. They are for the program; we stay, to report
/// how it took them.
fn ignore_terminal_interrupts() {
    for signal in [Signal::SIGINT, Signal::SIGQUIT] {
        // SAFETY: ignoring a signal installs no handler, so no code of ours
        // can run at a bad moment.
        let _ = unsafe { signal::signal(signal, SigHandler::SigIgn) };
    }
}

// ANCHOR: interrupts
/// With `-p`, Ctrl-C, SIGTERM and the others that would end us are our cue
/// to let the programs go. They are blocked, with SIGCHLD, so that none can
/// arrive at a bad moment: we look for them only when there is nothing to
/// wait for (see `Tracer::next_event`).
fn block_interrupts() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGPIPE,
        Signal::SIGTERM,
        Signal::SIGCHLD,
    ] {
        set.add(signal);
    }
    let _ = signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
    set
}
/// One of `interrupts` that has arrived (blocked, it waits), taken.
fn pending_interrupt(interrupts: &SigSet) -> Option<Signal> {
    // SAFETY: sigpending fills the set it is given, which is ours.
    let pending = unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        pending
    };
    let signal = interrupts.iter().find(|&signal| {
        // SAFETY: sigismember only reads the set.
        let is_pending = unsafe { libc::sigismember(&pending, signal as libc::c_int) } == 1;
        signal != Signal::SIGCHLD && is_pending
    })?;
    // Taken, so that it does not stay pending: sigwait returns at once.
    let mut only_this = SigSet::empty();
    only_this.add(signal);
    only_this.wait().ok()
}
// ANCHOR_END: interrupts

// ANCHOR: records
/// A syscall that a thread has entered and not yet left.
struct Entered {
    abi: Abi,
    number: u64,
    /// Its arguments as far as the entry could decode them; `None` when the
    /// syscall is not selected, or only counted.
    pending: Option<Pending>,
    at: Instant,
}

/// What the tracer keeps of each thread it traces: what step 6 kept of its
/// only one.
struct Thread {
    /// Whether the `execve` that starts the program has succeeded. Until
    /// then, nothing but that `execve` is the program's. Only the process
    /// we start has to wait for it.
    program_started: bool,
    /// The syscall the thread is inside, if any: entered, not yet left.
    inside: Option<Entered>,
    /// The ABI of its last syscall, to say when it changes ABI.
    abi: Abi,
    /// The name of the last syscall a signal interrupted, which the kernel
    /// may resume with `restart_syscall`.
    interrupted: Option<String>,
    /// Attached with -p, and not yet seen stopped.
    grabbed: bool,
}

impl Thread {
    fn new(program_started: bool) -> Thread {
        Thread {
            program_started,
            inside: None,
            abi: Abi::X86_64,
            interrupted: None,
            grabbed: false,
        }
    }

    /// A thread that -p attached to, running: it may be inside a syscall.
    fn grabbed() -> Thread {
        Thread {
            grabbed: true,
            ..Thread::new(true)
        }
    }
}
// ANCHOR_END: records

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

// ANCHOR: tracer
/// What the tracer carries from stop to stop.
struct Tracer<'a> {
    options: &'a Options,
    /// The process we started, if any: its end is ours, as with strace.
    first: Option<Pid>,
    /// Why it could not start, should its `execve` fail.
    started: Option<spawn::Started>,
    first_ending: Option<Ending>,
    /// Every thread we trace, by thread id.
    threads: BTreeMap<Pid, Thread>,
    /// Threads and processes whose birth a parent reported, and which have
    /// not stopped for us yet: ours, to let go on detach.
    newborn: BTreeSet<Pid>,
    printer: Printer,
    summary: Summary,
    /// With `-p`: the signals that tell us to let the programs go.
    interrupts: Option<SigSet>,
    /// `--profile`: the names of the x86_64 syscalls seen, at their entry
    /// (exit_group never returns, and a profile must allow it too).
    used: BTreeSet<String>,
}
// ANCHOR_END: tracer

/// How to let a thread go on after a stop.
enum Resume {
    /// To its next syscall stop, delivering this signal, if any, first.
    Syscall(Option<Signal>),
    /// Not at all: it is stopped (group-stop) and stays so until SIGCONT,
    /// but we hear of it when that comes.
    Listen,
    /// It has ended: nothing to resume.
    Gone,
}

/// What waiting brings.
enum Event {
    Stop(WaitStatus),
    /// A signal told us to let the programs go.
    Interrupted(Signal),
    /// No thread is left to trace.
    NoneLeft,
}

impl Tracer<'_> {
    // ANCHOR: loop
    /// Follows every thread from stop to stop, whichever stops, until none
    /// is left. The kernel says what each stop is; we only act on it.
    fn follow(&mut self) -> Result<Ending, String> {
        // The child is stopped before its execve. What it does until then
        // (the end of `raise`, a `prctl`) is the tracer's, not the
        // program's: like strace, we show nothing of it (syscall_done).
        if let Some(child) = self.first {
            self.resume(child, Resume::Syscall(None))?;
        }
        loop {
            let status = match self.next_event()? {
                Event::Stop(status) => status,
                Event::Interrupted(signal) => return Ok(self.let_go(signal)),
                Event::NoneLeft => return Ok(self.finish()),
            };
            let Some(tid) = status.pid() else { continue };
            self.meet(tid, &status);
            let resume = match status {
                // SIGTRAP | 0x80: a syscall stop, entry or exit.
                WaitStatus::PtraceSyscall(_) => {
                    self.syscall_stop(tid)?;
                    Resume::Syscall(None)
                }
                // An execve succeeded: the new program is in place.
                WaitStatus::PtraceEvent(_, _, libc::PTRACE_EVENT_EXEC) => {
                    self.exec_done(tid);
                    Resume::Syscall(None)
                }
                // A thread or process is born (-f): it is ours already, and
                // will stop for us before it runs.
                WaitStatus::PtraceEvent(_, _, event) if attach::is_birth(event) => {
                    if let Ok(child) = ptrace::getevent(tid) {
                        let child = Pid::from_raw(child as i32);
                        if !self.threads.contains_key(&child) {
                            self.newborn.insert(child);
                        }
                    }
                    Resume::Syscall(None)
                }
                // The program is stopped (SIGSTOP, Ctrl-Z): keep it so.
                WaitStatus::PtraceEvent(_, signal, libc::PTRACE_EVENT_STOP)
                    if is_stopping(signal) =>
                {
                    let text = format!("--- stopped by {} ---", decode::signal_name(signal as i32));
                    self.show(tid, &text);
                    Resume::Listen
                }
                // Any other event stop: a new thread's first stop, the stop
                // PTRACE_INTERRUPT asked for, SIGCONT ending a group-stop.
                WaitStatus::PtraceEvent(..) => Resume::Syscall(None),
                // A signal on its way to the thread: show it, pass it on.
                WaitStatus::Stopped(_, signal) => {
                    self.signal_arriving(tid);
                    Resume::Syscall(Some(signal))
                }
                ended => self.ended(tid, ended)?,
            };
            self.resume(tid, resume)?;
        }
    }
    // ANCHOR_END: loop

    // ANCHOR: next_event
    /// Waits for a stop of any thread we trace (`__WALL`: threads too, not
    /// only processes). With `-p`, also for a signal telling us to stop
    /// tracing: waitpid cannot wait for both at once, so when nothing is
    /// waiting to be reported, we wait for a signal: SIGCHLD, which the
    /// kernel sends us at each stop, or one of the others.
    fn next_event(&mut self) -> Result<Event, String> {
        let mut flags = WaitPidFlag::__WALL;
        if self.interrupts.is_some() {
            flags |= WaitPidFlag::WNOHANG;
        }
        loop {
            // Told to stop: before anything else, however busy the threads.
            if let Some(signal) = self.interrupts.as_ref().and_then(pending_interrupt) {
                return Ok(Event::Interrupted(signal));
            }
            match waitpid(None, Some(flags)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status) => return Ok(Event::Stop(status)),
                Err(Errno::ECHILD) => return Ok(Event::NoneLeft),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(format!("waitpid failed: {errno}")),
            }
            // Only with WNOHANG: nothing to report yet.
            if let Some(interrupts) = &self.interrupts {
                match interrupts.wait() {
                    Ok(Signal::SIGCHLD) | Err(_) => {}
                    Ok(signal) => return Ok(Event::Interrupted(signal)),
                }
            }
        }
    }
    // ANCHOR_END: next_event

    // ANCHOR: meet
    /// A thread we have not seen stop before: a newborn (-f) at its first
    /// stop. Like strace, we count it from there, for the `[pid N]` prefix.
    ///
    /// A thread that -p attached to, at its first stop: if it was inside a
    /// syscall, PTRACE_INTERRUPT broke the call off, and the kernel will
    /// resume it (`restart_syscall`). Its number is still in `orig_rax`.
    fn meet(&mut self, tid: Pid, status: &WaitStatus) {
        let stopped = !matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..));
        if stopped && !self.threads.contains_key(&tid) {
            self.newborn.remove(&tid);
            self.threads.insert(tid, Thread::new(true));
        }
        if let Some(thread) = self.threads.get_mut(&tid)
            && stopped
            && thread.grabbed
        {
            thread.grabbed = false;
            if let Ok(registers) = ptrace::getregs(tid)
                && (registers.orig_rax as i64) >= 0
            {
                thread.interrupted = Some(syscall_name(registers.orig_rax));
            }
        }
    }
    // ANCHOR_END: meet

    /// Lets the thread go on. A thread can die at any moment (another
    /// thread's exit_group kills it): then it is not there to resume, and
    /// its end is reported by waitpid, as any end.
    fn resume(&mut self, tid: Pid, resume: Resume) -> Result<(), String> {
        let result = match resume {
            Resume::Syscall(signal) => ptrace::syscall(tid, signal),
            Resume::Listen => listen(tid),
            Resume::Gone => return Ok(()),
        };
        match result {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(errno) => Err(format!("cannot resume thread {tid}: {errno}")),
        }
    }

    // ANCHOR: syscall_stop
    /// At a syscall stop: the kernel says whether it is an entry or an exit,
    /// and, at an entry, which syscall in which ABI, with its arguments.
    fn syscall_stop(&mut self, tid: Pid) -> Result<(), String> {
        let info = match ptrace::syscall_info(tid) {
            Ok(info) => info,
            // Killed since it stopped: its end will be reported.
            Err(Errno::ESRCH) => return Ok(()),
            Err(e) => {
                return Err(format!(
                    "cannot read the syscall stop (PTRACE_GET_SYSCALL_INFO, Linux 5.3+): {e}"
                ));
            }
        };
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
                self.syscall_entered(tid, abi, syscall);
            }
            libc::PTRACE_SYSCALL_INFO_EXIT => {
                // SAFETY: at an exit stop, `exit` is the union's member.
                let result = unsafe { info.u.exit }.sval as u64;
                // None when we attached inside the call: its entry was not
                // ours to see.
                let entered = self.threads.get_mut(&tid).and_then(|t| t.inside.take());
                if let Some(entered) = entered {
                    self.syscall_done(tid, entered, result);
                }
            }
            _ => {}
        }
        Ok(())
    }
    // ANCHOR_END: syscall_stop

    /// Whether the trace's lines are kept to ourselves: with `-c`, which
    /// prints a table instead, and with `--profile`, which writes a file.
    fn quiet(&self) -> bool {
        self.options.count || self.options.profile.is_some()
    }

    fn decoder(&self, tid: Pid) -> Decoder {
        Decoder {
            memory: Memory::of(tid),
            string_limit: self.options.string_limit,
        }
    }

    // ANCHOR: entered
    /// At a syscall's entry: note which, and when, and decode its arguments
    /// if it is to be printed. The line starts here, and stays open until
    /// the call returns, or until another thread's line comes first.
    fn syscall_entered(&mut self, tid: Pid, abi: Abi, syscall: Syscall) {
        let Some(thread) = self.threads.get_mut(&tid) else {
            return;
        };
        if abi != thread.abi {
            thread.abi = abi;
            // As strace says it: in a trace on stderr, not in a file.
            if let Output::Stderr = self.printer.output {
                line_to_stderr(format_args!(
                    "[ Process PID={tid} runs in {} mode. ]",
                    abi.mode()
                ));
            }
        }
        let printed = !self.quiet() && abi.selected(&self.options.selection, syscall.number);
        let decoder = self.decoder(tid);
        let pending = printed.then(|| match abi {
            Abi::X86_64 => decoder.entry(syscall),
            // Step 5's table is x86_64's: the other ABIs' arguments are
            // shown raw, as strace shows a syscall it does not know.
            _ => decoder.entry(Syscall {
                number: NOT_A_SYSCALL,
                ..syscall
            }),
        });
        let entered = Entered {
            abi,
            number: syscall.number,
            pending,
            at: Instant::now(),
        };
        // Before the program starts, only the execve that starts it: the
        // calls before it are the tracer's own, in the child, and are neither
        // shown nor part of a profile of the program.
        let shown = self.threads[&tid].program_started
            || (abi == Abi::X86_64 && syscall.number == Sysno::execve as u64);
        if shown && self.options.profile.is_some() && abi == Abi::X86_64 {
            self.used.insert(abi.syscall_name(syscall.number));
        }
        if let Some(pending) = &entered.pending
            && shown
        {
            let text = self.entry_text(tid, &entered, pending);
            let prefix = self.prefix(tid);
            self.printer.open_call(tid, prefix, text);
        }
        if let Some(thread) = self.threads.get_mut(&tid) {
            thread.inside = Some(entered);
        }
    }
    // ANCHOR_END: entered

    // ANCHOR: syscall_done
    /// At a syscall's exit: count it (`-c`), or print it as strace does.
    fn syscall_done(&mut self, tid: Pid, entered: Entered, result: u64) {
        // A failed execve that was to start the program is not the
        // program's: its failure is reported as the tracer's (ended).
        if !self.threads[&tid].program_started {
            return;
        }
        let name = entered.abi.syscall_name(entered.number);
        if self.options.count
            && entered
                .abi
                .selected(&self.options.selection, entered.number)
        {
            let counts = self.summary.entry(entered.abi).or_default();
            let counts = counts.entry(entered.number).or_default();
            counts.calls += 1;
            counts.time += entered.at.elapsed();
            if error_number(result).is_some() {
                counts.errors += 1;
            }
        } else if let Some(pending) = &entered.pending {
            let (call, result) = self.decoder(tid).exit(pending, result);
            let call = self.call_text(tid, &entered, &name, &call);
            let entry = self.entry_text(tid, &entered, pending);
            let prefix = self.prefix(tid);
            self.printer
                .end_call(tid, prefix, &name, &entry, &call, &result);
        }
        // The kernel resumes a sleep that a signal interrupted with
        // restart_syscall, and strace names the one it resumes.
        if error_number(result) == Some(ERESTART_RESTARTBLOCK)
            && let Some(thread) = self.threads.get_mut(&tid)
        {
            thread.interrupted = Some(name);
        }
    }
    // ANCHOR_END: syscall_done

    /// The call as strace writes it, where it differs from step 5's text:
    /// another ABI's name, and `restart_syscall`'s note.
    fn call_text(&self, tid: Pid, entered: &Entered, name: &str, decoded: &str) -> String {
        let args = &decoded[decoded.find('(').unwrap_or(0)..];
        if entered.abi == Abi::X86_64 && entered.number == Sysno::restart_syscall as u64 {
            let thread = self.threads.get(&tid);
            let resumed = thread.and_then(|t| t.interrupted.as_deref());
            let resumed = resumed.unwrap_or("system call");
            return format!("restart_syscall(<... resuming interrupted {resumed} ...>)");
        }
        format!("{name}{args}")
    }

    /// The call as far as its entry shows it, as strace writes it.
    fn entry_text(&self, tid: Pid, entered: &Entered, pending: &Pending) -> String {
        let name = entered.abi.syscall_name(entered.number);
        let text = self.call_text(tid, entered, &name, &self.decoder(tid).entry_text(pending));
        // restart_syscall's note is whole at the entry, but for its ")".
        match text.strip_suffix(")") {
            Some(text) if entered.number == Sysno::restart_syscall as u64 => text.to_string(),
            _ => text,
        }
    }

    // ANCHOR: exec_done
    /// After a successful execve. When a thread other than the main one
    /// calls it, the kernel ends every other thread, and the caller takes
    /// the main thread's id: the stop comes from that id, and
    /// PTRACE_GETEVENTMSG gives the id the caller had. The main thread
    /// vanishes without an exit report: we end its line as strace does,
    /// and the caller's state moves to its id.
    fn exec_done(&mut self, tid: Pid) {
        let former = ptrace::getevent(tid).map_or(tid, |old| Pid::from_raw(old as i32));
        if former != tid && self.threads.contains_key(&former) {
            if let Some(entered) = self.threads.get_mut(&tid).and_then(|t| t.inside.take()) {
                self.never_returned(tid, entered);
            }
            let thread = self.threads.remove(&former).expect("checked above");
            self.threads.insert(tid, thread);
            self.printer.pid_changed(former, tid);
            let text = format!("+++ superseded by execve in pid {former} +++");
            self.show(tid, &text);
        }
        if let Some(thread) = self.threads.get_mut(&tid) {
            thread.program_started = true;
        }
    }
    // ANCHOR_END: exec_done

    // ANCHOR: signal_arriving
    /// A signal is about to reach a thread: show it as strace does, with
    /// what the kernel knows of it (who sent it, why).
    fn signal_arriving(&mut self, tid: Pid) {
        if let Ok(info) = ptrace::getsiginfo(tid) {
            let text = format!("--- {} ---", signals::describe(&info));
            self.show(tid, &text);
        }
    }
    // ANCHOR_END: signal_arriving

    /// A line of the trace that is not a syscall: not with `-c`.
    fn show(&mut self, tid: Pid, text: &str) {
        if !self.quiet() {
            let prefix = self.prefix(tid);
            self.printer.line(prefix, text);
        }
    }

    // ANCHOR: prefix
    /// What starts a thread's line. On stderr, strace writes `[pid  1234] `
    /// as long as it traces more than one thread; in a file (`-o`) with -f,
    /// `1234  ` on every line, from the first.
    fn prefix(&self, tid: Pid) -> String {
        if self.printer.numbered {
            format!("{:<5} ", tid.as_raw())
        } else if self.threads.len() > 1 && matches!(self.printer.output, Output::Stderr) {
            format!("[pid {:>5}] ", tid.as_raw())
        } else {
            String::new()
        }
    }
    // ANCHOR_END: prefix

    // ANCHOR: ended
    /// A thread has ended: print the syscall it was still inside
    /// (`exit_group` never returns) and how it ended; if it was the process
    /// we started, its end is ours.
    fn ended(&mut self, tid: Pid, status: WaitStatus) -> Result<Resume, String> {
        let (text, ending) = match status {
            WaitStatus::Exited(_, code) => (format!("exited with {code}"), Ending::Exited(code)),
            WaitStatus::Signaled(_, signal, core_dumped) => {
                let core = if core_dumped { " (core dumped)" } else { "" };
                let name = decode::signal_name(signal as i32);
                (format!("killed by {name}{core}"), Ending::Killed(signal))
            }
            _ => return Ok(Resume::Gone),
        };
        // A thread we never saw stop (strace: "Exit of unknown pid").
        let Some(thread) = self.threads.get_mut(&tid) else {
            return Ok(Resume::Gone);
        };
        if !thread.program_started {
            // The execve that was to start the program failed: the pipe
            // says why.
            let started = self.started.take();
            return Err(started.map_or_else(String::new, spawn::Started::failure));
        }
        if let Some(entered) = thread.inside.take() {
            self.never_returned(tid, entered);
        }
        self.show(tid, &format!("+++ {text} +++"));
        self.threads.remove(&tid);
        if Some(tid) == self.first {
            self.first_ending = Some(ending);
        }
        Ok(Resume::Gone)
    }

    /// A call the thread never returned from (`exit_group`, or killed in
    /// it): `= ?`, and what its entry could not show, `<unfinished ...>`.
    fn never_returned(&mut self, tid: Pid, entered: Entered) {
        let Some(pending) = &entered.pending else {
            return;
        };
        if self.options.count {
            return;
        }
        let unknown = match self.decoder(tid).decoded_at_entry(pending) {
            true => "",
            false => " <unfinished ...>",
        };
        let name = entered.abi.syscall_name(entered.number);
        let entry = self.entry_text(tid, &entered, pending);
        let call = format!("{entry}{unknown})");
        let prefix = self.prefix(tid);
        self.printer
            .end_call(tid, prefix, &name, &entry, &call, "?");
    }
    // ANCHOR_END: ended

    /// Once no thread is left: the summary (`-c`), and the end of the
    /// process we started, if any, for the tracer to end the same way.
    fn finish(&mut self) -> Ending {
        if self.options.count {
            print_summary(&mut self.printer.output, &self.summary);
        }
        self.first_ending.take().unwrap_or(Ending::Exited(0))
    }

    // ANCHOR: let_go
    /// A signal told us to stop (`-p`): let every thread go, as it was. The
    /// process we started, if any, gets the signal first, as with strace:
    /// without us it would run untraced. Then we end by the same signal, as
    /// strace does.
    fn let_go(&mut self, signal: Signal) -> Ending {
        if let Some(first) = self.first.filter(|first| self.threads.contains_key(first)) {
            let _ = signal::kill(first, Signal::SIGCONT);
            let _ = signal::kill(first, signal);
        }
        let mut tids: Vec<Pid> = self.threads.keys().copied().collect();
        tids.extend(self.newborn.iter().copied());
        let detached = attach::detach(&tids);
        self.printer.detached();
        for tid in detached {
            line_to_stderr(format_args!("step8: Process {tid} detached"));
        }
        if self.options.count {
            print_summary(&mut self.printer.output, &self.summary);
        }
        Ending::Killed(signal)
    }
    // ANCHOR_END: let_go
}

// ANCHOR: printer
/// The trace's lines, as strace interleaves them. A syscall's line starts
/// at its entry and ends at its exit; if another line must come in between
/// (another thread's), the open one is ended with `<unfinished ...>`, and
/// the call's end is printed later as `<... read resumed>` and the rest.
struct Printer {
    output: Output,
    /// `-o FILE` with `-f`: every line starts with the thread's id.
    numbered: bool,
    /// The line that is open, if any: whose, its prefix, and its text so far
    /// (the call as far as its entry shows it). We write it only once we
    /// know how it ends, in one write.
    open: Option<(Pid, String, String)>,
}

impl Printer {
    /// A whole line.
    fn line(&mut self, prefix: String, text: &str) {
        self.close_open_line(" <unfinished ...>");
        self.output.line(format_args!("{prefix}{text}"));
    }

    /// A syscall's entry: its line stays open until its exit.
    fn open_call(&mut self, tid: Pid, prefix: String, entry: String) {
        self.close_open_line(" <unfinished ...>");
        self.open = Some((tid, prefix, entry));
    }

    /// A syscall's exit: the whole `call` on the line its entry opened, or,
    /// if another line came in between, what `call` adds to `entry`.
    fn end_call(
        &mut self,
        tid: Pid,
        prefix: String,
        name: &str,
        entry: &str,
        call: &str,
        result: &str,
    ) {
        let text = match self.open.take() {
            Some((owner, prefix, _)) if owner == tid => format!("{prefix}{call}"),
            open => {
                self.open = open;
                self.close_open_line(" <unfinished ...>");
                let rest = call.strip_prefix(entry).unwrap_or(call);
                format!("{prefix}<... {name} resumed>{rest}")
            }
        };
        // The `=` where strace puts it, after column 40, prefix included.
        self.output.line(format_args!("{text:<39} = {result}"));
    }

    /// A thread's id changed under an open line of its (execve).
    fn pid_changed(&mut self, former: Pid, tid: Pid) {
        if self
            .open
            .as_ref()
            .is_some_and(|(owner, ..)| *owner == former)
        {
            self.close_open_line(&format!(" <pid changed to {tid} ...>"));
        }
    }

    /// We let the threads go: an open line stays so.
    fn detached(&mut self) {
        self.close_open_line(" <detached ...>");
    }

    fn close_open_line(&mut self, why: &str) {
        if let Some((_, prefix, entry)) = self.open.take() {
            self.output.line(format_args!("{prefix}{entry}{why}"));
        }
    }
}
// ANCHOR_END: printer

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
