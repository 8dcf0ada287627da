// ANCHOR: all
//! The trace's lines when many threads make syscalls at once, interleaved as
//! strace interleaves them.
//!
//! Step 7 introduces this file; steps 8 and 9 include it unchanged.

use nix::unistd::Pid;

use crate::output::Output;

// ANCHOR: printer
/// The trace's lines, as strace interleaves them. A syscall's line starts
/// at its entry and ends at its exit; if another line must come in between
/// (another thread's), the open one is ended with `<unfinished ...>`, and
/// the call's end is printed later as `<... read resumed>` and the rest.
pub struct Printer {
    pub output: Output,
    /// `-o FILE` with `-f`: every line starts with the thread's id.
    pub numbered: bool,
    /// The line that is open, if any: whose, its prefix, and its text so far
    /// (the call as far as its entry shows it). We write it only once we
    /// know how it ends, in one write.
    open: Option<(Pid, String, String)>,
}

impl Printer {
    pub fn new(output: Output, numbered: bool) -> Printer {
        Printer {
            output,
            numbered,
            open: None,
        }
    }

    // ANCHOR: prefix
    /// What starts a thread's line. On stderr, strace writes `[pid  1234] `
    /// as long as it traces more than one thread; in a file (`-o`) with -f,
    /// `1234  ` on every line, from the first.
    pub fn prefix(&self, tid: Pid, threads: usize) -> String {
        if self.numbered {
            format!("{:<5} ", tid.as_raw())
        } else if threads > 1 && matches!(self.output, Output::Stderr) {
            format!("[pid {:>5}] ", tid.as_raw())
        } else {
            String::new()
        }
    }
    // ANCHOR_END: prefix

    /// A whole line.
    pub fn line(&mut self, prefix: String, text: &str) {
        self.close_open_line(" <unfinished ...>");
        self.output.line(format_args!("{prefix}{text}"));
    }

    /// A syscall's entry: its line stays open until its exit.
    pub fn open_call(&mut self, tid: Pid, prefix: String, entry: String) {
        self.close_open_line(" <unfinished ...>");
        self.open = Some((tid, prefix, entry));
    }

    /// A syscall's exit: the whole `call` on the line its entry opened, or,
    /// if another line came in between, what `call` adds to `entry`.
    pub fn end_call(
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
    pub fn pid_changed(&mut self, former: Pid, tid: Pid) {
        if self
            .open
            .as_ref()
            .is_some_and(|(owner, ..)| *owner == former)
        {
            self.close_open_line(&format!(" <pid changed to {tid} ...>"));
        }
    }

    /// We let the threads go: an open line stays so.
    pub fn detached(&mut self) {
        self.close_open_line(" <detached ...>");
    }

    fn close_open_line(&mut self, why: &str) {
        if let Some((_, prefix, entry)) = self.open.take() {
            self.output.line(format_args!("{prefix}{entry}{why}"));
        }
    }
}
// ANCHOR_END: printer
// ANCHOR_END: all
