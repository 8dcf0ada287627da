// ANCHOR: all
//! Step 6's tracer, for many threads: one loop waits for whichever thread
//! stops (`waitpid(-1, __WALL)`), and what step 6 kept of its one thread is
//! kept for each, in a map by thread id.
//!
//! Step 7 introduces this file, as step 6's `Tracer` grown for many threads;
//! steps 8 and 9 include it unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use syscalls::Sysno;

use crate::Options;
use crate::abi::{Abi, Tables, abi_and_number};
use crate::decode::{self, Decoder, Pending, Syscall, error_number};
use crate::memory::Memory;
use crate::output::{Output, line_to_stderr, say};
use crate::printer::Printer;
use crate::stops::{self, Ending, Waited, is_stopping, listen};
use crate::{attach, signals, spawn};

// ANCHOR: tracer
// ANCHOR: records
/// A syscall that a thread has entered and not yet left.
pub struct Entered {
    abi: Abi,
    number: u64,
    /// Its arguments as far as the entry could decode them; `None` when the
    /// syscall is not selected, or only counted.
    pending: Option<Pending>,
    at: Instant,
}

/// What the tracer keeps of each thread it traces: what step 6 kept of its
/// only one.
pub struct Thread {
    /// Whether the `execve` that starts the program has succeeded. Until
    /// then, nothing but that `execve` is the program's. Only the process
    /// we start has to wait for it.
    program_started: bool,
    /// The syscall the thread is inside, if any: entered, not yet left.
    pub inside: Option<Entered>,
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

/// What the tracer carries from stop to stop.
pub struct Tracer<'a> {
    /// The step's options (each of steps 7 to 9 has its own `Options`, with
    /// these fields and more).
    options: &'a Options,
    /// The process we started, if any: its end is ours, as with strace.
    pub first: Option<Pid>,
    /// Why it could not start, should its `execve` fail.
    started: Option<spawn::Started>,
    first_ending: Option<Ending>,
    /// Every thread we trace, by thread id.
    pub threads: BTreeMap<Pid, Thread>,
    /// Threads and processes whose birth a parent reported, and which have
    /// not stopped for us yet: ours, to let go on detach.
    newborn: BTreeSet<Pid>,
    printer: Printer,
    summary: Tables,
    /// The signal that told us to let the programs go, if one did: what was
    /// traced is then not all that the programs did.
    pub told: Option<Signal>,
    /// `Some` to collect the name of every syscall the program enters, and
    /// print no line: step 8 writes a profile of them. Always `None` here.
    pub seen: Option<BTreeSet<String>>,
}
// ANCHOR_END: tracer

/// How to let a thread go on after a stop.
pub enum Resume {
    /// To its next syscall stop, delivering this signal, if any, first.
    Syscall(Option<Signal>),
    /// Not at all: it is stopped (group-stop) and stays so until SIGCONT,
    /// but we hear of it when that comes.
    Listen,
    /// It has ended: nothing to resume.
    Gone,
}

/// What waiting brings: a thread's stop, or the end of tracing.
pub enum Next {
    Stop(Pid, WaitStatus),
    Done(Ending),
}

impl<'a> Tracer<'a> {
    // ANCHOR: new
    /// A tracer for the process we `started`, if any, and for every thread
    /// of the `-p` processes, attached here with `ptrace_options`.
    pub fn new(
        options: &'a Options,
        output: Output,
        started: Option<spawn::Started>,
        ptrace_options: ptrace::Options,
    ) -> Result<Tracer<'a>, String> {
        let first = started.as_ref().map(|started| started.child);
        // Signals to the tracer: set after fork, so that the program
        // inherits what we were given, not this. With -p, Ctrl-C is ours.
        match options.attach.is_empty() {
            true => {
                stops::ignore_terminal_interrupts();
                stops::endings(options.output.is_some());
            }
            false => attach::end_on_interrupts(),
        }
        let mut threads = BTreeMap::new();
        if let Some(child) = first {
            threads.insert(child, Thread::new(false));
        }
        let mut announced = Vec::new();
        for &pid in &options.attach {
            // No PTRACE_O_EXITKILL here: should we die, the program lives on.
            let attached = attach::attach(pid, ptrace_options).inspect_err(|_| {
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
            threads.extend(attached.into_iter().map(|tid| (tid, Thread::grabbed())));
        }
        // Once all are attached: a failure says only what failed.
        for (pid, threads) in announced {
            match threads {
                1 => say(format_args!("Process {pid} attached")),
                n => say(format_args!("Process {pid} attached with {n} threads")),
            }
        }
        // With -o FILE and -f, strace prefixes every line with its thread id.
        let numbered = options.output.is_some() && (options.follow || threads.len() > 1);
        Ok(Tracer {
            options,
            first,
            started,
            first_ending: None,
            threads,
            newborn: BTreeSet::new(),
            printer: Printer::new(output, numbered),
            summary: Tables::new(),
            told: None,
            seen: None,
        })
    }
    // ANCHOR_END: new

    // ANCHOR: loop
    /// Follows every thread from stop to stop, whichever stops, until none
    /// is left. The kernel says what each stop is; we only act on it.
    pub fn follow(&mut self) -> Result<Ending, String> {
        self.start()?;
        loop {
            let (tid, status) = match self.next()? {
                Next::Stop(tid, status) => (tid, status),
                Next::Done(ending) => return Ok(ending),
            };
            let resume = self.stop(tid, status)?;
            self.resume(tid, resume)?;
        }
    }

    /// What a thread's stop means, and how to let it go on.
    pub fn stop(&mut self, tid: Pid, status: WaitStatus) -> Result<Resume, String> {
        Ok(match status {
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
            WaitStatus::PtraceEvent(_, signal, libc::PTRACE_EVENT_STOP) if is_stopping(signal) => {
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
        })
    }
    // ANCHOR_END: loop

    /// The child is stopped before its execve. What it does until then (the
    /// end of `raise`, a `prctl`) is the tracer's, not the program's: like
    /// strace, we show nothing of it (syscall_done).
    pub fn start(&mut self) -> Result<(), String> {
        match self.first {
            Some(child) => self.resume(child, Resume::Syscall(None)),
            None => Ok(()),
        }
    }

    /// Should tracing fail: the process we started, if any, does not run on
    /// untraced.
    pub fn abandon(&self) {
        if let Some(child) = self.first {
            spawn::kill_child(child);
        }
    }

    // ANCHOR: next_event
    /// Waits for a stop of any thread we trace (`__WALL`: threads too, not
    /// only processes), or for a signal telling us to stop tracing, as step
    /// 6 waits for its one thread's.
    pub fn next(&mut self) -> Result<Next, String> {
        loop {
            let status = match stops::wait(None) {
                Ok(Waited::Report(status)) => status,
                Ok(Waited::Told(signal)) => return Ok(Next::Done(self.let_go(signal))),
                Err(Errno::ECHILD) => return Ok(Next::Done(self.finish())),
                Err(errno) => return Err(format!("waitpid failed: {errno}")),
            };
            // Every report but "nothing yet", which `wait` does not return,
            // names its thread.
            if let Some(tid) = status.pid() {
                self.meet(tid, &status);
                return Ok(Next::Stop(tid, status));
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
                thread.interrupted = Some(decode::syscall_name(registers.orig_rax));
            }
        }
    }
    // ANCHOR_END: meet

    /// Lets the thread go on. A thread can die at any moment (another
    /// thread's exit_group kills it): then it is not there to resume, and
    /// its end is reported by waitpid, as any end.
    pub fn resume(&mut self, tid: Pid, resume: Resume) -> Result<(), String> {
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
        let Some(info) = syscall_info(tid)? else {
            return Ok(());
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

    fn decoder(&self, tid: Pid) -> Decoder {
        Decoder {
            memory: Memory::of(tid),
            string_limit: self.options.string_limit,
        }
    }

    /// Whether the trace's lines are kept to ourselves: with `-c`, which
    /// prints a table instead, and while collecting what `seen` collects.
    fn quiet(&self) -> bool {
        self.options.count || self.seen.is_some()
    }

    // ANCHOR: entered
    /// At a syscall's entry: note which, and when, and decode its arguments
    /// if it is to be printed. The line starts here, and stays open until
    /// the call returns, or until another thread's line comes first.
    pub fn syscall_entered(&mut self, tid: Pid, abi: Abi, syscall: Syscall) {
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
        // calls before it are the tracer's own, in the child.
        let shown = self.threads[&tid].program_started
            || (abi == Abi::X86_64 && syscall.number == Sysno::execve as u64);
        // ANCHOR: seen
        if let Some(seen) = &mut self.seen
            && shown
            && abi == Abi::X86_64
        {
            seen.insert(abi.syscall_name(syscall.number));
        }
        // ANCHOR_END: seen
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
            let table = self.summary.entry(entered.abi).or_default();
            let counts = table.entry(entered.number).or_default();
            counts.add(entered.at.elapsed(), error_number(result).is_some());
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

    // ANCHOR: entry_text
    /// The call as far as its entry decoded it, as strace prints it when
    /// another line must come before the call returns: up to the first
    /// argument that only the exit can show (`read(3, `), or every argument
    /// (`write(1, "hi\n", 3`). The exit's text starts with this one.
    fn entry_text(&self, tid: Pid, entered: &Entered, pending: &Pending) -> String {
        let (decoded, _) = pending.entry_args();
        let args = format!("({decoded}");
        let name = entered.abi.syscall_name(entered.number);
        let text = self.call_text(tid, entered, &name, &args);
        // restart_syscall's note is whole at the entry, but for its ")".
        match text.strip_suffix(")") {
            Some(text) if entered.number == Sysno::restart_syscall as u64 => text.to_string(),
            _ => text,
        }
    }
    // ANCHOR_END: entry_text

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

    /// A line of the trace that is not a syscall: not when quiet.
    fn show(&mut self, tid: Pid, text: &str) {
        if !self.quiet() {
            let prefix = self.prefix(tid);
            self.printer.line(prefix, text);
        }
    }

    fn prefix(&self, tid: Pid) -> String {
        self.printer.prefix(tid, self.threads.len())
    }

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
        let unknown = match pending.entry_args() {
            (_, false) => "",
            (_, true) => " <unfinished ...>",
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
        self.print_summary();
        self.first_ending.take().unwrap_or(Ending::Exited(0))
    }

    fn print_summary(&mut self) {
        if self.options.count {
            for line in crate::abi::tables(&self.summary) {
                self.printer.output.line(line);
            }
        }
    }

    // ANCHOR: let_go
    /// A signal told us to stop: let every thread go, as it was. The
    /// process we started, if any, gets the signal first, as with strace
    /// (step 6's stops.rs says why). Then we end by the same signal, as
    /// strace does.
    fn let_go(&mut self, signal: Signal) -> Ending {
        self.told = Some(signal);
        if let Some(first) = self.first.filter(|first| self.threads.contains_key(first)) {
            let _ = signal::kill(first, Signal::SIGCONT);
            let _ = signal::kill(first, signal);
        }
        let mut tids: Vec<Pid> = self.threads.keys().copied().collect();
        tids.extend(self.newborn.iter().copied());
        let detached = attach::detach(&tids);
        self.printer.detached();
        for tid in detached {
            say(format_args!("Process {tid} detached"));
        }
        self.print_summary();
        Ending::Killed(signal)
    }
    // ANCHOR_END: let_go
}

/// What the kernel says of a thread's syscall stop; `None` if the thread was
/// killed since it stopped (its end will be reported).
pub fn syscall_info(tid: Pid) -> Result<Option<libc::ptrace_syscall_info>, String> {
    match ptrace::syscall_info(tid) {
        Ok(info) => Ok(Some(info)),
        Err(Errno::ESRCH) => Ok(None),
        Err(e) => Err(format!(
            "cannot read the syscall stop (PTRACE_GET_SYSCALL_INFO, Linux 5.3+): {e}"
        )),
    }
}

/// The error a sleep returns when a signal interrupts it, for the kernel to
/// resume it later with `restart_syscall`.
const ERESTART_RESTARTBLOCK: i32 = 516;

/// A number that no syscall has: step 5's decoder shows such a call's
/// arguments raw, in hex.
const NOT_A_SYSCALL: u64 = u64::MAX;
// ANCHOR_END: all
