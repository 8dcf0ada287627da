//! Step 7: many processes. `-f` on programs that fork, pipe and run threads,
//! judged by `strace -f`; every `[pid N]` line accounted for; a thread that
//! execs; attaching to a running program with `-p` and letting it go as it
//! was; bad `-p` values. Every run has a time limit: a tracer that hangs
//! fails the test.

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn step7(args: &[&str]) -> std::process::Output {
    run_within(HANG, binary("step7"), args)
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn follow_counts_match_strace_on_forks_pipes_and_threads() {
    let tracee = binary("tracee");
    // The test's programs block SIGCHLD, or have no children: their counts
    // are the same on every run.
    for mode in [&["threads", "3"][..], &["forks", "3"], &["thread-exec"]] {
        assert_follow_counts_match_strace("step7", &[&[tracee], mode].concat(), &[]);
    }
    // A shell gets SIGCHLD as each child ends, and where it comes is the
    // processes' timing, which a tracer changes: inside a wait4 (which
    // then fails and starts again) or not, inside a fork (clone, which the
    // kernel starts again) or not; and each handler's return is an
    // rt_sigreturn. strace's own runs differ there.
    let moved_by_sigchld = ["rt_sigreturn", "wait4", "clone"];
    let scripts = [
        "ls / | sort | head -3",
        "for i in 1 2 3; do /bin/true; done",
        "echo hello | cat | wc -c",
    ];
    for script in scripts {
        assert_follow_counts_match_strace("step7", &["sh", "-c", script], &moved_by_sigchld);
    }
}

#[test]
fn follow_counts_every_thread_and_process() {
    // The programs' own counts: 10 getppid per thread or child.
    for (mode, processes) in [("threads", 4), ("forks", 4)] {
        let output = step7(&["-f", "-c", binary("tracee"), mode, "3"]);
        let counts = summary_counts(&stderr(&output));
        assert_eq!(counts["getppid"], (30, 0), "{mode}");
        // Each thread or process after the first was born of one clone
        // (threads: clone3).
        let births = counts.get("clone").or(counts.get("clone3")).unwrap();
        assert_eq!(births.0, processes - 1, "{mode}");
        assert!(output.status.success(), "{mode}");
    }
    // Without -f, only the first: none of the children's getppid calls.
    let counts = summary_counts(&stderr(&step7(&["-c", binary("tracee"), "forks", "3"])));
    assert_eq!(counts.get("getppid"), None);
}

#[test]
fn a_pipeline_traced_gives_its_output_intact() {
    let script = "ls / | sort | head -3; echo done";
    let untraced = run("sh", &["-c", script]);
    let traced = step7(&["-f", "sh", "-c", script]);
    assert_eq!(stdout(&traced), stdout(&untraced));
    // Three processes besides the shell, each of which exec'd, and ended.
    let trace = stderr(&traced);
    let execs = trace
        .lines()
        .map(|line| split_prefix(line).1)
        .filter(|rest| {
            (rest.starts_with("execve(") || rest.starts_with("<... execve resumed>"))
                && rest.ends_with(" = 0")
        });
    assert_eq!(execs.count(), 4, "{trace}");
    assert_eq!(trace.matches("+++ exited with 0 +++").count(), 4, "{trace}");
}

/// The thread id of a line's `[pid N] ` prefix, and the rest of the line.
fn split_prefix(line: &str) -> (Option<i32>, &str) {
    match line
        .strip_prefix("[pid ")
        .and_then(|rest| rest.split_once("] "))
    {
        Some((pid, rest)) => (Some(pid.trim().parse().unwrap()), rest),
        None => (None, line),
    }
}

#[test]
fn every_pid_line_is_accounted_for() {
    let output = step7(&["-f", binary("tracee"), "forks", "3"]);
    let trace = stderr(&output);
    let lines: Vec<(Option<i32>, &str)> = trace.lines().map(split_prefix).collect();
    // The children: what fork (clone) returned in the parent.
    let children: BTreeSet<i32> = lines
        .iter()
        .filter(|(_, rest)| rest.starts_with("clone(") || rest.starts_with("<... clone resumed>"))
        .filter(|(_, rest)| rest.contains(" = "))
        .map(|(_, rest)| rest.rsplit_once(" = ").unwrap().1.parse().unwrap())
        .collect();
    assert_eq!(children.len(), 3, "{trace}");
    // Every prefixed line is the parent's or a child's, and each child's
    // exit (with its number as status) is there.
    let prefixed: BTreeSet<i32> = lines.iter().filter_map(|(pid, _)| *pid).collect();
    let parent = *prefixed
        .difference(&children)
        .next()
        .expect("the parent's lines");
    assert_eq!(prefixed.len(), 4, "{trace}");
    let mut statuses: Vec<&str> = lines
        .iter()
        .filter(|(pid, _)| pid.is_some_and(|pid| children.contains(&pid)))
        .filter_map(|(_, rest)| rest.strip_prefix("+++ exited with "))
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["0 +++", "1 +++", "2 +++"], "{trace}");
    // The prefix comes with the second process: the first lines have none;
    // and goes with the last but one: so has the last line, the parent's end.
    let first_prefixed = lines.iter().position(|(pid, _)| pid.is_some()).unwrap();
    let before_prefixes = &lines[..first_prefixed];
    assert!(
        before_prefixes
            .iter()
            .any(|(_, rest)| rest.starts_with("clone(")),
        "a prefix before the first clone:\n{trace}"
    );
    assert!(
        before_prefixes
            .iter()
            .all(|(_, rest)| !rest.starts_with("+++"))
    );
    assert_eq!(
        lines.last().unwrap(),
        &(None, "+++ exited with 0 +++"),
        "{trace}"
    );
    // Every call left unfinished is resumed later, by the same thread, or
    // ends with its thread; nothing is resumed that was not left so.
    let mut open: BTreeMap<i32, String> = BTreeMap::new();
    for (pid, rest) in &lines {
        let pid = pid.unwrap_or(parent);
        if let Some(call) = rest.strip_suffix(" <unfinished ...>") {
            let name = call.split('(').next().unwrap().to_string();
            assert!(open.insert(pid, name).is_none(), "{trace}");
        } else if let Some(resumed) = rest.strip_prefix("<... ") {
            let name = resumed.split(' ').next().unwrap();
            assert_eq!(open.remove(&pid).as_deref(), Some(name), "{trace}");
        } else if rest.starts_with("+++") {
            open.remove(&pid);
        } else {
            assert!(
                !open.contains_key(&pid),
                "{pid} went on without ending its call: {trace}"
            );
        }
    }
    assert!(open.is_empty(), "{open:?}");
    assert!(output.status.success());
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn in_a_file_every_line_starts_with_its_pid_as_strace_writes_it() {
    let dir = scratch_dir("step7-o");
    let file = dir.join("trace.txt");
    let command = ["sh", "-c", "echo hi | cat"];
    let output = step7(&[&["-f", "-o", file.to_str().unwrap()], &command[..]].concat());
    assert!(output.status.success());
    let ours = read(&file);
    let theirs = run_strace(&["-f"], &command);
    // "1234  execve(...": the pid, left-aligned in five columns, a space.
    let shape = |trace: &str| {
        let pids: BTreeSet<&str> = trace.lines().map(|l| &l[..6]).collect();
        let all_numbered = trace.lines().all(|l| {
            let (pid, rest) = l.split_at(6);
            pid.trim_end().parse::<u32>().is_ok() && pid.ends_with(' ') && !rest.is_empty()
        });
        (pids.len(), all_numbered)
    };
    assert_eq!(
        shape(&ours),
        shape(&theirs),
        "--- step7:\n{ours}\n--- strace:\n{theirs}"
    );
    assert_eq!(shape(&ours), (3, true));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn threads_are_traced_each_with_its_prefix() {
    let trace = stderr(&step7(&[
        "-f",
        "-e",
        "trace=getppid",
        binary("tracee"),
        "threads",
        "3",
    ]));
    let lines: Vec<(Option<i32>, &str)> = trace.lines().map(split_prefix).collect();
    // Whole, or left unfinished for another thread's line.
    let getppid_by_thread = lines
        .iter()
        .filter(|(_, rest)| rest.starts_with("getppid("));
    let mut per_thread: BTreeMap<i32, usize> = BTreeMap::new();
    for (pid, _) in getppid_by_thread {
        *per_thread
            .entry(pid.expect("a prefix: 4 threads run"))
            .or_default() += 1;
    }
    assert_eq!(
        per_thread.values().collect::<Vec<_>>(),
        [&10, &10, &10],
        "{trace}"
    );
    // Each thread's end, and the process's.
    assert_eq!(trace.matches("+++ exited with 0 +++").count(), 4, "{trace}");
}

#[test]
fn a_thread_that_execs_takes_the_main_threads_id() {
    let output = step7(&[
        "-f",
        "-e",
        "trace=execve,getppid",
        binary("tracee"),
        "thread-exec",
    ]);
    let trace = stderr(&output);
    let lines: Vec<(Option<i32>, &str)> = trace.lines().map(split_prefix).collect();
    // "[pid T] execve(... <unfinished ...>" from the second thread, then,
    // its id changed: "+++ superseded by execve in pid T +++".
    let caller = lines
        .iter()
        .find(|(_, rest)| rest.contains("[\"tracee\", \"getppid\", \"3\"]"))
        .and_then(|(pid, _)| *pid)
        .expect("the second thread's execve");
    let superseded = format!("+++ superseded by execve in pid {caller} +++");
    let at = lines
        .iter()
        .position(|(_, rest)| *rest == superseded)
        .expect(&trace);
    assert_eq!(
        lines[at + 1].1,
        "<... execve resumed>)                   = 0",
        "{trace}"
    );
    let after: Vec<&str> = lines[at + 2..].iter().map(|(_, rest)| *rest).collect();
    assert_eq!(
        after.iter().filter(|l| l.starts_with("getppid()")).count(),
        3
    );
    assert_eq!(after.last(), Some(&"+++ exited with 0 +++"), "{trace}");
    assert!(output.status.success());
}

#[test]
fn the_exit_status_is_the_first_processes() {
    let output = step7(&["-f", "sh", "-c", "sh -c 'exit 4'; exit 5"]);
    assert_eq!(output.status.code(), Some(5));
    let output = step7(&["-f", "sh", "-c", "sh -c 'exit 4'; kill -TERM $$"]);
    assert_eq!(output.status.signal(), Some(libc::SIGTERM));
    // A child that outlives the first process is followed to its end.
    let output = step7(&[
        "-f",
        "-e",
        "trace=wait4",
        "sh",
        "-c",
        "(sleep 0.3; exit 9) & exit 2",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("+++ exited with 9 +++"),
        "{output:?}"
    );
}

// ---------------------------------------------------------------------------
// -p: attach, detach.

/// `tracee loop FILE`, running until the end of the test, killed then.
struct Loop {
    child: Child,
    file: PathBuf,
}

impl Loop {
    fn start(name: &str) -> Loop {
        Loop::start_with(name, &[])
    }

    /// With `spinning`, a third thread that never makes a syscall.
    fn start_with(name: &str, more: &[&str]) -> Loop {
        let dir = scratch_dir(&format!("step7-{name}"));
        let file = dir.join("count");
        let child = Command::new(binary("tracee"))
            .args(["loop", file.to_str().unwrap()])
            .args(more)
            .spawn()
            .unwrap();
        let running = Loop { child, file };
        wait_until(|| running.count() > 0, "the loop to start");
        running
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// The count it writes, 1 more every 10 ms, 1000 more per SIGUSR1.
    fn count(&self) -> u64 {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        text.trim().parse().unwrap_or(0)
    }

    /// Each thread's state in /proc: R, S, or t (stopped by a tracer), T
    /// (stopped by a signal).
    fn states(&self) -> Vec<char> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id())).unwrap();
        tasks
            .map(|task| state_in(&task.unwrap().path().join("stat")).unwrap())
            .collect()
    }

    fn tracer(&self) -> String {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("TracerPid:"))
            .unwrap();
        line["TracerPid:".len()..].trim().to_string()
    }

    /// Runs on as if never traced: no thread stopped, no tracer, and the
    /// count goes on growing.
    fn assert_runs_on(&self) {
        assert!(
            self.states().iter().all(|s| !"tT".contains(*s)),
            "{:?}",
            self.states()
        );
        assert_eq!(self.tracer(), "0");
        let before = self.count();
        wait_until(|| self.count() > before + 5, "the loop to go on");
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(self.file.parent().unwrap());
    }
}

/// Waits for `condition`, at most 10 s: longer is a hang, and fails.
fn wait_until(condition: impl Fn() -> bool, what: &str) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waited too long for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `step7 ARGS`, its trace into a file.
fn start_tracer(args: &[&str], trace: &Path) -> Child {
    Command::new(binary("step7"))
        .args(args)
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(trace).unwrap())
        .spawn()
        .unwrap()
}

/// Waits for the tracer to end, at most 10 s.
fn wait_for_end(tracer: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = tracer.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = tracer.kill();
            panic!("the tracer did not end: hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn attach_then_detach_on_each_signal_leaves_the_program_running() {
    for (signal, follow) in [
        (Signal::SIGINT, false),
        (Signal::SIGTERM, true),
        (Signal::SIGHUP, false),
    ] {
        let running = Loop::start(&format!("{signal}"));
        let trace_file = running.file.with_file_name("trace");
        let pid = running.pid().to_string();
        let args: &[&str] = if follow {
            &["-f", "-p", &pid]
        } else {
            &["-p", &pid]
        };
        let mut tracer = start_tracer(args, &trace_file);
        // Traced: the count is written under our eyes.
        wait_until(|| read(&trace_file).contains("write("), "the trace");
        assert_ne!(running.tracer(), "0");
        // A signal for the program, and at once the one for the tracer: the
        // program's must not be lost on the way out.
        let before = running.count();
        kill(running.pid(), Signal::SIGUSR1).unwrap();
        kill(Pid::from_raw(tracer.id() as i32), signal).unwrap();
        let status = wait_for_end(&mut tracer);
        // Like strace, the tracer ends by the signal that ended it.
        assert_eq!(status.signal(), Some(signal as i32), "{signal}");
        let trace = read(&trace_file);
        assert!(trace.starts_with(&format!("step7: Process {pid} attached with 2 threads\n")));
        assert_eq!(trace.matches(" detached\n").count(), 2, "{trace}");
        running.assert_runs_on();
        wait_until(|| running.count() > before + 1000, "SIGUSR1's thousand");
    }
}

/// Attaches step 7 to `running` with `-p`, and once it has traced a write,
/// stops the tracer itself with SIGSTOP: the program's threads then wait,
/// each at its next stop, for a tracer that cannot answer.
fn attach_then_stop_the_tracer(running: &Loop) -> (Child, Pid) {
    let trace_file = running.file.with_file_name("trace");
    let tracer = start_tracer(&["-p", &running.pid().to_string()], &trace_file);
    let tracer_pid = Pid::from_raw(tracer.id() as i32);
    wait_until(|| read(&trace_file).contains("write("), "the trace");
    kill(tracer_pid, Signal::SIGSTOP).unwrap();
    wait_until(|| process_state(tracer_pid) == 'T', "the tracer to stop");
    (tracer, tracer_pid)
}

/// (The signal waits in the program, which is stopped at a syscall for its
/// tracer: see the next test for a signal caught in its own stop.)
#[test]
fn a_signal_that_comes_while_the_tracer_is_stopped_is_delivered_after_detach() {
    let running = Loop::start("signal-at-detach");
    // The tracer stopped, a signal reaches the program, stopped for its
    // tracer; then the tracer is told to go, and continued: it must let
    // the program go with its signal.
    let (mut tracer, tracer_pid) = attach_then_stop_the_tracer(&running);
    let before = running.count();
    kill(running.pid(), Signal::SIGUSR1).unwrap();
    wait_until(|| running.states().contains(&'t'), "the program's stop");
    kill(tracer_pid, Signal::SIGINT).unwrap();
    kill(tracer_pid, Signal::SIGCONT).unwrap();
    assert_eq!(wait_for_end(&mut tracer).signal(), Some(libc::SIGINT));
    running.assert_runs_on();
    wait_until(|| running.count() > before + 1000, "SIGUSR1's thousand");
}

/// A signal caught in its own stop (signal-delivery-stop) when the tracer
/// lets go: the detach must pass it on.
#[test]
fn a_signal_in_its_delivery_stop_at_detach_is_delivered() {
    let running = Loop::start_with("delivery-stop", &["spinning"]);
    // The spinner names itself once it runs, which may be after the loop
    // has started counting: on a busy machine, the name comes later.
    let spinner_thread = || {
        std::fs::read_dir(format!("/proc/{}/task", running.pid()))
            .unwrap()
            .map(|task| task.unwrap().path())
            .find(|task| read(&task.join("comm")).trim() == "spinner")
            .map(|task| {
                let tid = task.file_name().unwrap().to_str().unwrap();
                tid.parse::<i32>().unwrap()
            })
    };
    wait_until(|| spinner_thread().is_some(), "the spinner thread");
    let spinner = spinner_thread().unwrap();
    // The tracer stopped; the spinner, which never enters a syscall, gets
    // the signal and stops at once to show it to its tracer, and waits.
    let (mut tracer, tracer_pid) = attach_then_stop_the_tracer(&running);
    let before = running.count();
    // SAFETY: tgkill sends a signal to one thread of a process of ours.
    unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            running.pid().as_raw(),
            spinner,
            libc::SIGUSR1,
        )
    };
    let spinner_state = || process_state(Pid::from_raw(spinner));
    wait_until(|| spinner_state() == 't', "the spinner's stop");
    kill(tracer_pid, Signal::SIGINT).unwrap();
    kill(tracer_pid, Signal::SIGCONT).unwrap();
    assert_eq!(wait_for_end(&mut tracer).signal(), Some(libc::SIGINT));
    running.assert_runs_on();
    wait_until(|| running.count() > before + 1000, "SIGUSR1's thousand");
}

fn process_state(pid: Pid) -> char {
    state(pid.as_raw()).unwrap_or('?')
}

#[test]
fn a_stopped_program_stays_stopped_after_detach() {
    let running = Loop::start("stopped");
    kill(running.pid(), Signal::SIGSTOP).unwrap();
    wait_until(|| running.states().iter().all(|s| *s == 'T'), "the stop");
    let trace_file = running.file.with_file_name("trace");
    let mut tracer = start_tracer(&["-p", &running.pid().to_string()], &trace_file);
    wait_until(|| read(&trace_file).contains("attached"), "the attach");
    std::thread::sleep(Duration::from_millis(200));
    kill(Pid::from_raw(tracer.id() as i32), Signal::SIGINT).unwrap();
    wait_for_end(&mut tracer);
    assert!(
        running.states().iter().all(|s| *s == 'T'),
        "{:?}",
        running.states()
    );
    assert_eq!(running.tracer(), "0");
    kill(running.pid(), Signal::SIGCONT).unwrap();
    running.assert_runs_on();
}

/// step7's one line for bad `-p` values, and its status.
fn refused(args: &[&str]) -> String {
    let output = step7(args);
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.starts_with("step7: -p"), "{message}");
    assert!(matches!(output.status.code(), Some(1 | 2)), "{output:?}");
    message
}

#[test]
fn bad_pids_are_refused_in_one_line() {
    for word in ["abc", "0", "-3", "12x"] {
        let message = refused(&["-p", word]);
        assert!(
            message.contains(&format!("'{word}' is not a process id")),
            "{message}"
        );
    }
    // Beyond pid_max: no process can have it.
    let message = refused(&["-p", "99999999"]);
    assert!(
        message.contains("there is no process 99999999"),
        "{message}"
    );
    // Its own pid: the shell's, which becomes step7.
    let output = run_shell("sh", "exec \"$1\" -p $$", &[binary("step7")]);
    let message = stderr(&output);
    assert!(
        message.contains("is this tracer's own process id"),
        "{message}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_process_we_may_not_trace_is_explained_and_left_running() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        // Only root may run the tracer as another user here; any user is
        // refused root's process 1.
        let message = refused(&["-p", "1"]);
        assert!(
            message.contains("not allowed to trace process 1"),
            "{message}"
        );
        return;
    }
    // The program runs as us (root, or whoever runs the tests); the tracer
    // as another user, nobody, who may not trace it.
    let running = Loop::start("other-user");
    let pid = running.pid().to_string();
    let output = run_within(
        HANG,
        "setpriv",
        &[
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            binary("step7"),
            "-p",
            &pid,
        ],
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("not allowed to trace process"),
        "{message}"
    );
    assert!(
        message.contains("trace it as that user, or as root"),
        "{message}"
    );
    running.assert_runs_on();
}

#[test]
fn one_bad_pid_among_good_ones_leaves_the_good_ones_untouched() {
    let running = Loop::start("one-bad");
    let pid = running.pid().to_string();
    let message = refused(&["-p", &pid, "-p", "99999999"]);
    assert!(
        message.contains("there is no process 99999999"),
        "{message}"
    );
    running.assert_runs_on();
}

#[test]
fn attach_with_f_follows_the_programs_new_children() {
    // A shell that starts a child every 20 ms, running before we attach.
    let mut shell = Command::new("sh")
        .args(["-c", "while :; do /bin/true; sleep 0.02; done"])
        .spawn()
        .unwrap();
    let pid = shell.id().to_string();
    let dir = scratch_dir("step7-f-p");
    let trace_file = dir.join("trace");
    let mut tracer = start_tracer(&["-f", "-p", &pid], &trace_file);
    // Children born after the attach are traced: their execve, prefixed.
    let child_exec = |trace: &str| {
        trace.lines().any(|line| {
            line.starts_with("[pid ")
                && line.contains("execve(\"/bin/true\"")
                && !line.contains(&pid)
        })
    };
    wait_until(|| child_exec(&read(&trace_file)), "a child's execve");
    kill(Pid::from_raw(tracer.id() as i32), Signal::SIGINT).unwrap();
    assert_eq!(wait_for_end(&mut tracer).signal(), Some(libc::SIGINT));
    // The shell runs on, untraced, and so does its loop of children.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("TracerPid:\t0\n"), "{status}");
    assert!(shell.try_wait().unwrap().is_none());
    // None of its children is left traced or stopped, for a while.
    let children = format!("/proc/{pid}/task/{pid}/children");
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        for child in read(Path::new(&children)).split_whitespace() {
            let child = Pid::from_raw(child.parse().unwrap());
            let state = process_state(child);
            assert!(!"tT".contains(state), "child {child} is {state}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = shell.kill();
    let _ = shell.wait();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn each_child_is_reported_by_the_event_its_flags_make() {
    // Chapter 7: a thread (clone3, CLONE_THREAD), a fork (clone with
    // SIGCHLD) and a posix_spawn (clone3, CLONE_VFORK), as step 7's
    // waitpid hears of them, traced by strace.
    let trace = run_strace(
        &["-e", "trace=wait4", "-e", "signal=none"],
        &[
            binary("step7"),
            "-f",
            "-o",
            "/dev/null",
            binary("tracee"),
            "clones",
        ],
    );
    let events: Vec<&str> = trace
        .lines()
        .filter_map(|line| line.split_once("}|PTRACE_EVENT_"))
        .map(|(_, event)| event.split_once("<<16").unwrap().0)
        .filter(|event| *event != "STOP" && *event != "EXEC")
        .collect();
    assert_eq!(events, ["CLONE", "FORK", "VFORK"], "{trace}");
}

#[test]
fn nobody_may_not_trace_process_1_as_chapter_7_says() {
    // Exercise 4 of chapter 7, as root: step 7 copied where user nobody
    // may reach it, then run as nobody.
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let dir = scratch_dir("nobody");
    let copy = dir.join("step7");
    std::fs::copy(binary("step7"), &copy).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let nobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"];
    let output = run(
        "setpriv",
        &[&nobody[..], &[copy.to_str().unwrap(), "-p", "1"]].concat(),
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    let said = "not allowed to trace process 1 (EPERM): it runs as user 0, and we as user 65534";
    assert!(message.contains(said), "{message}");
    let chapter = read(&root().join("book/src/step7-many-processes.md"));
    let chapter = chapter.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        chapter.contains(&format!("`{said}`")),
        "chapter 7 should say: {said}"
    );
    assert!(
        chapter.contains("`setpriv --reuid=nobody --regid=nogroup --clear-groups /tmp/step7 -p 1`")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
