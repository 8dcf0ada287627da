//! Step 6: what fooled steps 4 and 5 (a real SIGTRAP, a program that execs,
//! signals), group-stop, Ctrl-C, death by signal, other ABIs, bad input.
//! (Line-for-line and -c equality with strace are in compare_strace.rs.)
//! Every run has a time limit: a tracer that hangs fails the test.

mod common;
use common::*;

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

fn step6(args: &[&str]) -> std::process::Output {
    run_within(HANG, binary("step6"), args)
}

/// The syscalls of a trace as `name( = result`, with what differs from run
/// to run masked.
fn masked_calls(trace: &str) -> Vec<String> {
    calls(trace)
        .into_iter()
        .map(|(name, result)| mask_line(&format!("{name}( = {result}")))
        .collect()
}

/// Runs real strace on `command`, which may die of a signal, as the
/// program does; returns its status and its trace.
fn strace_dying(command: &[&str]) -> (std::process::ExitStatus, String) {
    let file = scratch_file("strace-trace.txt");
    let file_name = file.to_str().unwrap();
    let output = run_within(HANG, "strace", &[&["-o", file_name], command].concat());
    let trace = read(&file);
    std::fs::remove_file(&file).unwrap();
    (output.status, trace)
}

/// The lines of a trace that are not syscalls: signals and the ending.
fn event_lines(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter(|line| line.starts_with("---") || line.starts_with("+++"))
        .map(mask_line)
        .collect()
}

#[test]
fn execve_is_the_first_line_with_its_arguments() {
    let trace = stderr(&step6(&["true"]));
    let first = trace.lines().next().unwrap();
    assert!(
        first.starts_with("execve(\"/usr/bin/true\", [\"true\"], 0x"),
        "{trace}"
    );
    assert!(first.ends_with(" vars */) = 0"), "{trace}");
    // Once: nothing of the child before its execve, no second execve line.
    assert_eq!(trace.matches("execve(").count(), 1, "{trace}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn a_real_sigtrap_is_a_signal_not_a_syscall_stop() {
    let tracee = binary("tracee");
    let output = step6(&[tracee, "trap"]);
    assert_eq!(stdout(&output), "handled SIGTRAP\n");
    let trace = stderr(&output);
    // Steps 4 and 5 took the SIGTRAP for a syscall stop, and every result
    // after it for the next call's: here, each call keeps its own result.
    let theirs = run_strace(&[], &[tracee, "trap"]);
    assert_eq!(masked_calls(&trace), masked_calls(&theirs), "{trace}");
    assert!(trace.contains("--- SIGTRAP {si_signo=SIGTRAP, si_code=SI_TKILL, si_pid="));
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn a_program_that_execs_is_followed_into_the_new_program() {
    let command = ["sh", "-c", "exec ls /"];
    let trace = stderr(&step6(&command));
    let execs: Vec<&str> = trace
        .lines()
        // The shell tries each directory of PATH: the execs that worked.
        .filter(|line| line.starts_with("execve(") && line.ends_with(" = 0"))
        .collect();
    assert_eq!(execs.len(), 2, "{trace}");
    assert!(execs[1].starts_with("execve(\"/usr/bin/ls\", [\"ls\", \"/\"]"));
    // After the second execve, every call as strace sees it: no entry taken
    // for an exit.
    let theirs = run_strace(&[], &command);
    assert_eq!(masked_calls(&trace), masked_calls(&theirs), "{trace}");
    assert!(!trace.contains("warning"), "{trace}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn signals_are_shown_and_passed_on_handled_ignored_and_interrupting() {
    let command = [binary("tracee"), "signals"];
    let output = step6(&command);
    // SIGUSR1's handler ran, SIGUSR2 was ignored (it would have killed the
    // program), SIGALRM's handler ran and interrupted the sleep.
    assert_eq!(
        stdout(&output),
        "handled SIGUSR1\nhandled SIGALRM\nsignals: done\n"
    );
    let trace = stderr(&output);
    let theirs = run_strace(&[], &command);
    assert_eq!(event_lines(&trace), event_lines(&theirs), "{trace}");
    // rt_sigreturn: step 5 decoded its mask; the interrupted sleep's result
    // and rt_sigreturn's EINTR as strace shows them.
    assert_eq!(masked_calls(&trace), masked_calls(&theirs), "{trace}");
    assert!(trace.contains("= ? ERESTART_RESTARTBLOCK (Interrupted by signal)"));
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn a_death_by_signal_is_passed_on_as_a_death_by_the_same_signal() {
    for signal in ["TERM", "SEGV"] {
        let command = ["sh", "-c", &format!("kill -{signal} $$")];
        let output = step6(&command);
        let (strace_status, theirs) = strace_dying(&command);
        assert!(output.status.signal().is_some(), "{output:?}");
        assert_eq!(output.status.signal(), strace_status.signal(), "{signal}");
        let trace = stderr(&output);
        assert_eq!(event_lines(&trace), event_lines(&theirs), "{trace}");
    }
}

#[test]
fn the_tracer_leaves_no_core_file_of_its_own() {
    // Core files allowed, in the working directory (as the kernel's
    // core_pattern may have it): the program dies of SIGSEGV in a directory
    // of its own, where its core may go; the tracer's would go in the one it
    // was started in, which must stay empty.
    let dir = scratch_dir("step6-core");
    std::fs::create_dir_all(dir.join("program")).unwrap();
    let script =
        r#"ulimit -c unlimited 2>/dev/null; cd "$0" && "$@" sh -c 'cd program && kill -SEGV $$'"#;
    let args = ["-c", script, dir.to_str().unwrap(), binary("step6")];
    let output = run_within(HANG, "sh", &args);
    assert_eq!(output.status.code(), Some(128 + 11), "{output:?}");
    let files_in = |dir: &Path| -> Vec<_> {
        let entries = std::fs::read_dir(dir).unwrap();
        entries.map(|entry| entry.unwrap().file_name()).collect()
    };
    let left: Vec<_> = files_in(&dir)
        .into_iter()
        .filter(|name| name != "program")
        .collect();
    // Where the kernel writes cores into the working directory (a plain
    // core_pattern, not a pipe to a collector), the program's must be there:
    // the proof that a core of the tracer's would have been seen.
    let pattern = read(Path::new("/proc/sys/kernel/core_pattern"));
    if !pattern.starts_with('|') && !pattern.contains('/') {
        let program_files = files_in(&dir.join("program"));
        assert!(!program_files.is_empty(), "no core from the program itself");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(left.is_empty(), "the tracer left {left:?}");
}

/// Starts step 6 on `args` in its own process group (as a shell starts a
/// job), its output in pipes.
fn start_step6(args: &[&str]) -> std::process::Child {
    Command::new(binary("step6"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap()
}

/// The pid of the child of `tracer` that runs `program` (its name, once it
/// has exec'd; strace starts short-lived children of its own first).
fn traced_child(tracer: i32, program: &str) -> i32 {
    let children = format!("/proc/{tracer}/task/{tracer}/children");
    let deadline = Instant::now() + HANG;
    loop {
        let text = std::fs::read_to_string(&children).unwrap_or_default();
        let runs_program = |pid: &&str| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == program)
        };
        if let Some(pid) = text.split_whitespace().find(runs_program) {
            return pid.parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no child runs {program}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` to end, killing its process group after `HANG`.
fn finish(child: std::process::Child) -> std::process::Output {
    let pid = child.id() as i32;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    receiver
        .recv_timeout(HANG)
        .unwrap_or_else(|_| {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            panic!("step6 hung: killed after {HANG:?}");
        })
        .unwrap()
}

#[test]
fn a_program_that_stops_itself_stays_stopped_until_sigcont() {
    let mut tracer = start_step6(&[binary("tracee"), "stop-self"]);
    let program = traced_child(tracer.id() as i32, "tracee");
    // Stopped: 't' (a stop the tracer watches; strace's tracee shows the
    // same), and it stays so. Steps 2 to 5 resumed it at once.
    let stopped = || matches!(state(program), Some('t' | 'T'));
    assert!(eventually(stopped), "state {:?}", state(program));
    for _ in 0..5 {
        let now = state(program);
        assert!(matches!(now, Some('t' | 'T')), "state {now:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut stdout_pipe = tracer.stdout.take().unwrap();
    kill(Pid::from_raw(program), Signal::SIGCONT).unwrap();
    let output = finish(tracer);
    let mut out = String::new();
    stdout_pipe.read_to_string(&mut out).unwrap();
    assert_eq!(out, "resumed\n");
    let trace = stderr(&output);
    assert!(
        trace.contains("--- stopped by SIGSTOP ---\n--- SIGCONT {"),
        "{trace}"
    );
    assert_eq!(output.status.code(), Some(0));
}

/// Runs `sleep 3` under `tracer` (with `args` before the command), stops
/// the sleep from outside with SIGSTOP while it sleeps, and resumes it with
/// SIGCONT; returns the tracer's stderr.
fn stop_and_continue_a_sleep(tracer: &str, args: &[&str]) -> String {
    let tracer = Command::new(tracer)
        .args(args)
        .args(["sleep", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let sleep = traced_child(tracer.id() as i32, "sleep");
    let asleep = Instant::now() + HANG;
    while state(sleep) != Some('S') {
        let now = state(sleep);
        assert!(now.is_some(), "sleep ended before it could be stopped");
        assert!(Instant::now() < asleep, "sleep never slept: state {now:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    kill(Pid::from_raw(sleep), Signal::SIGSTOP).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let stopped = state(sleep);
    kill(Pid::from_raw(sleep), Signal::SIGCONT).unwrap();
    let trace = stderr(&finish(tracer));
    assert!(
        matches!(stopped, Some('t' | 'T')),
        "state {stopped:?}\n{trace}"
    );
    trace
}

/// What `stop_and_continue_a_sleep` shows of the stop: the interrupted
/// sleep, with the time it had left (which the kernel writes only then) as
/// a time, its value masked (it differs from run to run), the signals, and
/// how the kernel resumed it.
fn around_the_stop(trace: &str) -> Vec<String> {
    let lines = trace.lines().filter_map(|line| match parse_call(line) {
        Some((name, _)) if name == "clock_nanosleep" => Some(mask_time_left(line)),
        _ if line.starts_with("---") || line.starts_with("restart_syscall(") => {
            Some(mask_line(line))
        }
        _ => None,
    });
    lines.collect()
}

/// `clock_nanosleep(…, {tv_sec=2, tv_nsec=472106186}) = …` with the last
/// argument's numbers masked, once checked that it is a time.
fn mask_time_left(line: &str) -> String {
    let (call, result) = line.rsplit_once(") = ").unwrap();
    let (before, time_left) = call.rsplit_once(", {").unwrap();
    let numbers = time_left
        .strip_prefix("tv_sec=")
        .and_then(|rest| rest.strip_suffix('}'))
        .and_then(|rest| rest.split_once(", tv_nsec="));
    let is_a_time = numbers.is_some_and(|(seconds, nanoseconds)| {
        seconds.parse::<u32>().is_ok_and(|seconds| seconds < 3)
            && nanoseconds.parse::<u32>().is_ok_and(|n| n < 1_000_000_000)
    });
    assert!(is_a_time, "the time left, not a time: {line}");
    mask_line(&format!("{before}, {{tv_sec=S, tv_nsec=N}}) = {result}"))
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn a_sleep_stopped_and_continued_is_resumed_with_restart_syscall_as_strace_shows_it() {
    let ours = stop_and_continue_a_sleep(binary("step6"), &[]);
    let theirs = stop_and_continue_a_sleep("strace", &[]);
    assert!(
        ours.contains("restart_syscall(<... resuming interrupted clock_nanosleep ...>)"),
        "{ours}"
    );
    assert_eq!(around_the_stop(&ours), around_the_stop(&theirs), "{ours}");
}

#[test]
fn ctrl_c_reaches_the_program_whose_handler_runs() {
    let mut tracer = start_step6(&[binary("tracee"), "sigint-handler"]);
    // Wait for "ready": the handler is in place.
    let mut stdout_pipe = tracer.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    stdout_pipe.read_exact(&mut ready).unwrap();
    assert_eq!(&ready, b"ready\n");
    // Ctrl-C: SIGINT to the whole foreground process group, tracer included.
    killpg(Pid::from_raw(tracer.id() as i32), Signal::SIGINT).unwrap();
    let output = finish(tracer);
    let mut rest = String::new();
    stdout_pipe.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "handled SIGINT\n");
    // The program ended its own way, and the tracer reported it.
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let trace = stderr(&output);
    assert!(
        trace.contains("--- SIGINT {si_signo=SIGINT, si_code=SI_USER"),
        "{trace}"
    );
    assert!(trace.ends_with("+++ exited with 3 +++\n"), "{trace}");
}

#[test]
fn int_0x80_and_x32_calls_are_named_from_their_own_tables() {
    let output = step6(&["-e", "trace=write", binary("tracee"), "int80-write"]);
    assert_eq!(stdout(&output), "int 0x80\n");
    let trace = stderr(&output);
    // i386's 4 is write; x86_64's 4 would have been stat.
    assert!(trace.contains("[ Process PID=") && trace.contains(" runs in 32 bit mode. ]"));
    assert!(
        trace
            .lines()
            .any(|l| l.starts_with("write(0x1, ") && l.ends_with(" = 9")),
        "{trace}"
    );
    assert!(!trace.contains("stat("), "{trace}");

    let trace = stderr(&step6(&[
        "-e",
        "trace=write",
        binary("tracee"),
        "x32-write",
    ]));
    assert!(trace.contains(" runs in x32 mode. ]"), "{trace}");
    assert!(
        trace.lines().any(|l| l.starts_with("write(0x1, ")),
        "{trace}"
    );
}

/// One clear line, the exit code given, and nothing run. `args` may end in
/// `touch MARKER`, which creates the marker file if the program runs.
fn assert_refused(args: &[&str], exit_code: i32, says: &str) {
    let output = step6(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(exit_code), "{args:?}: {message}");
    assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
    assert!(
        message.starts_with("step6: ") && message.contains(says),
        "{message}"
    );
    assert!(
        !std::path::Path::new(MARKER).exists(),
        "{args:?} ran the program"
    );
}

const MARKER: &str = "/tmp/step6-bad-input-ran-the-program";

#[test]
fn bad_input_for_every_flag_is_refused() {
    let _ = std::fs::remove_file(MARKER);
    let run = ["touch", MARKER];
    assert_refused(&[&["-x"], &run[..]].concat(), 2, "unknown option '-x'");
    let e = [&["-e", "trace=nosuchcall"], &run[..]].concat();
    assert_refused(&e, 2, "'nosuchcall' is not the name of a syscall");
    let s = [&["-s", "many"], &run[..]].concat();
    assert_refused(&s, 2, "'many' is not a number");
    let o = [&["-o", "/nonexistent/dir/trace.txt"], &run[..]].concat();
    assert_refused(&o, 1, "cannot create");
    for flag in ["-e", "-o", "-s"] {
        assert_refused(&["-c", flag], 2, "needs a value");
    }
    assert_refused(&["-c"], 2, "no command to trace");
}

#[test]
fn step6_lets_a_threaded_program_run_to_its_end() {
    // The child stopped itself before the tracer seized it; unless that stop
    // is ended with a SIGCONT, every thread the program starts begins
    // stopped, and the program hangs waiting for them.
    let output = run_within(
        HANG,
        binary("step6"),
        &["-c", binary("tracee"), "threads", "3", "2"],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let counts = summary_counts(&stderr(&output));
    assert_eq!(counts["clone3"], (3, 0), "{output:?}");
}

/// The stops and requests of a strace trace of a tracer (`-e
/// trace=wait4,ptrace,kill`), named as chapter 6's pictures name them:
/// `waitpid: SIGSTOP`, `waitpid: PTRACE_EVENT_STOP (SIGTRAP)`,
/// `PTRACE_SYSCALL(SIGSTOP)`, `kill(SIGCONT)`; a syscall stop is
/// `syscall stop`.
fn stops_and_requests(trace: &str) -> Vec<String> {
    let mut named = Vec::new();
    for line in trace.lines() {
        if let Some(rest) = line.strip_prefix("wait4(") {
            let Some((_, signal)) = rest.split_once("WSTOPSIG(s) == ") else {
                continue;
            };
            let (signal, after) = signal.split_once('}').unwrap();
            named.push(match after.strip_prefix('|') {
                _ if signal.ends_with("| 0x80") => "syscall stop".to_string(),
                Some(event) => {
                    let event = event.split_once("<<16").unwrap().0;
                    format!("waitpid: {event} ({signal})")
                }
                None => format!("waitpid: {signal}"),
            });
        } else if let Some(rest) = line.strip_prefix("ptrace(") {
            let request = rest.split([',', ')']).next().unwrap();
            let data = rest
                .rsplit_once(", ")
                .map(|(_, data)| data.split(')').next().unwrap());
            match data {
                _ if request == "PTRACE_GET_SYSCALL_INFO" => {}
                Some(signal) if signal.starts_with("SIG") && !request.contains("INFO") => {
                    named.push(format!("{request}({signal})"))
                }
                _ => named.push(request.to_string()),
            }
        } else if let Some(rest) = line.strip_prefix("kill(") {
            let signal = rest.split_once(", ").unwrap().1.split(')').next().unwrap();
            named.push(format!("kill({signal})"));
        }
    }
    named
}

/// Fails unless `diagram` names each of `steps`, in their order.
fn assert_pictured(diagram: &str, steps: &[String]) {
    let text = read(&root().join("book/src/diagrams").join(diagram));
    let mut from = 0;
    for step in steps {
        let found = text[from..].match_indices(step.as_str()).find(|(at, _)| {
            let next = text[from + at + step.len()..].chars().next();
            !next.is_some_and(|c| c == '(' || c.is_ascii_alphanumeric() || c == '_')
        });
        let Some((at, _)) = found else {
            panic!("{diagram} should show `{step}` after what it shows before: {steps:#?}");
        };
        from += at + step.len();
    }
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn the_stop_diagrams_of_chapter_6_are_step_6s_own_calls() {
    // strace watching step 6 start `tracee stopped-awhile`, which SIGSTOP
    // stops until a SIGCONT comes.
    let trace = run_strace(
        &["-e", "trace=wait4,ptrace,kill", "-e", "signal=none"],
        &[
            binary("step6"),
            "-o",
            "/dev/null",
            binary("tracee"),
            "stopped-awhile",
        ],
    );
    let steps = stops_and_requests(&trace);
    // The start, up to the first syscall stop.
    let first_syscall_stop = steps.iter().position(|s| s == "syscall stop").unwrap();
    let start = &steps[..first_syscall_stop];
    assert_eq!(start.first().map(String::as_str), Some("waitpid: SIGSTOP"));
    assert_pictured("seize-handshake.txt", start);
    // The program's own SIGSTOP, to the SIGCONT's delivery.
    let rest = &steps[first_syscall_stop..];
    let stop = rest.iter().position(|s| s == "waitpid: SIGSTOP").unwrap();
    let delivered = rest
        .iter()
        .position(|s| s == "PTRACE_SYSCALL(SIGCONT)")
        .unwrap();
    let stopped: Vec<String> = rest[stop..=delivered]
        .iter()
        .filter(|s| *s != "syscall stop")
        .cloned()
        .collect();
    assert!(
        stopped.contains(&"PTRACE_LISTEN".to_string()),
        "{stopped:#?}"
    );
    assert_pictured("stopped-by-sigstop.txt", &stopped);
}

#[test]
fn a_death_by_signal_shows_in_bash_as_one() {
    // Chapter 6: `echo $?` says 143 after both steps; bash says
    // `Terminated` after a program that SIGTERM killed, step 6, only.
    for (step, killed) in [("step5", false), ("step6", true)] {
        let script = r#""$1" -e trace=kill sh -c 'kill -TERM $$'; echo "status $?""#;
        let output = run_shell("bash", script, &[binary(step)]);
        assert_eq!(stdout(&output), "status 143\n", "{step}");
        assert_eq!(stderr(&output).contains("Terminated"), killed, "{output:?}");
    }
}
