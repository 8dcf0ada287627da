//! Running the program under test, and real strace, the judge.
//!
//! Every run has a time limit and its own process group: a tracer that hangs,
//! or leaves its child stopped, is killed with everything it started, and the
//! learner is told what usually causes it.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long one run may take: 10 s, or CHECK_MY_STEP_TIMEOUT seconds (the
/// tests of the checker use 2, to see a hang stopped without waiting). The
/// checks trace small programs, which finish in well under a second, traced
/// or not.
pub fn limit() -> Duration {
    let seconds = std::env::var("CHECK_MY_STEP_TIMEOUT").ok();
    Duration::from_secs(seconds.and_then(|s| s.parse().ok()).unwrap_or(10))
}

/// What one run did.
pub struct Run {
    /// The command, as the learner would type it in a shell.
    pub command: String,
    pub pid: u32,
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
    /// What was still running in its process group once it had exited
    /// ("pid: command line"); the checker kills them.
    pub left_running: Vec<String>,
}

/// Why a run gave no `Run`: it could not start, or it hung.
pub struct NoRun {
    pub command: String,
    pub why: String,
}

/// Runs `program args…` to its end, stdin empty.
pub fn run(program: &Path, args: &[&str]) -> Result<Run, NoRun> {
    start(program, args, |_| {})
}

/// Runs `program args…` to its end, and calls `meanwhile` with its pid once
/// it has started (to send it a signal, say).
pub fn start(program: &Path, args: &[&str], meanwhile: impl FnOnce(u32)) -> Result<Run, NoRun> {
    let command = shell_line(program, args);
    let no_run = |why: String| NoRun {
        command: command.clone(),
        why,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own, so that a hung tracer is killed with its child.
        .process_group(0)
        .spawn()
        .map_err(|e| no_run(format!("it does not start: {e}")))?;
    let pid = child.id();
    // Both pipes are read while it runs: a full pipe would block it.
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    meanwhile(pid);
    let status = wait_within(&mut child, limit()).ok_or_else(|| no_run(hung(pid)))?;
    // Anything of its group still there is left behind: it would also hold
    // the pipes open, and the reads below would never end.
    let left_running = processes_in_group(pid);
    if !left_running.is_empty() {
        // SAFETY: a signal to the process group that we created for this run.
        unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    }
    Ok(Run {
        command: command.clone(),
        pid,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        status,
        left_running,
    })
}

/// The processes of process group `group`, as "pid: command line".
fn processes_in_group(group: u32) -> Vec<String> {
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    entries
        .filter_map(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // pid (comm) state ppid pgrp …: comm may hold spaces, not ')'.
            let (_, after_comm) = stat.rsplit_once(") ")?;
            let pgrp: u32 = after_comm.split(' ').nth(2)?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let pid = entry.file_name().to_string_lossy().into_owned();
            (pgrp == group).then(|| format!("{pid}: {}", cmdline.trim_end()))
        })
        .collect()
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The child's status, or None if it is still running after `limit`.
fn wait_within(child: &mut std::process::Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Kills a hung run's whole group, and says what usually hangs a tracer.
fn hung(pid: u32) -> String {
    // SAFETY: a signal to the process group that we created for this run.
    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    format!(
        "it was still running after {} s, and was stopped. A tracer usually hangs \
         because it waits for a stop that never comes (waitpid for another pid, or \
         a stopped child never resumed: after every stop, PTRACE_SYSCALL or \
         PTRACE_CONT), or because it keeps waiting once its child has exited.",
        limit().as_secs()
    )
}

/// `program args…` as a shell line, quoted where a word needs it, and a
/// path under the current directory made relative, as one would type it.
pub fn shell_line(program: &Path, args: &[&str]) -> String {
    let here = std::env::current_dir().unwrap_or_default();
    let here = format!("{}/", here.display());
    let program = program.to_string_lossy();
    let words = std::iter::once(program.as_ref()).chain(args.iter().copied());
    let relative = |word: &str| match word.strip_prefix(&here) {
        Some(rest) => format!("./{rest}"),
        None => word.to_string(),
    };
    words
        .map(|word| quote(&relative(word)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=,:+%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// How a run ended, in words: "exit status 3", "killed by signal 15".
pub fn ending(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (_, Some(signal)) => format!("killed by signal {signal}"),
        _ => "an unknown ending".to_string(),
    }
}

/// Real strace's trace of `command`, written with `-o` so that the command's
/// own stderr stays out of it; None where strace is not installed.
pub fn strace(options: &[&str], command: &[&str], scratch: &Path) -> Option<String> {
    let file = scratch.join(format!("strace-{}.txt", unique()));
    let file_name = file.to_string_lossy().into_owned();
    let mut args = vec!["-o", &file_name];
    args.extend_from_slice(options);
    args.extend_from_slice(command);
    // Its output into pipes, as the program's under test: a program asks
    // what its stdout is (a pipe, not /dev/null), and the trace shows it.
    let status = Command::new("strace")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .ok()?
        .status;
    let trace = std::fs::read_to_string(&file).ok();
    let _ = std::fs::remove_file(&file);
    trace.filter(|_| status.code().is_some())
}

/// A number of its own for each file a run needs.
pub fn unique() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
