//! Step 4: entry and exit paired, one line per syscall with its result, and
//! `-c`, the summary table.

mod common;
use common::*;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

#[test]
fn step4_prints_each_syscall_once_with_its_result() {
    let mut tracer = std::process::Command::new(binary("step4"))
        .args([binary("tracee"), "getppid", "5"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tracer_pid = tracer.id();
    let mut trace = String::new();
    std::io::Read::read_to_string(tracer.stderr.as_mut().unwrap(), &mut trace).unwrap();
    assert!(tracer.wait().unwrap().success());

    let getppid: Vec<&str> = trace
        .lines()
        .filter(|l| l.starts_with("getppid("))
        .collect();
    assert_eq!(getppid.len(), 5, "{trace}");
    // The tracee's parent is the tracer, which forked it; strace's column 40.
    let expected = format!("{:<39} = {tracer_pid}", "getppid(...)");
    assert!(getppid.iter().all(|line| *line == expected), "{trace}");
}

#[test]
fn step4_writes_results_and_errors_as_strace_does() {
    let trace = stderr(&run_binary("step4", &[binary("tracee"), "mixed"]));
    // The tracee's own calls sit between its two writes to stdout.
    let all = calls(&trace);
    let writes: Vec<usize> = (0..all.len()).filter(|&i| all[i].0 == "write").collect();
    let own: Vec<(&str, &str)> = all[writes[0] + 1..writes[1]]
        .iter()
        .map(|(name, result)| (name.as_str(), result.as_str()))
        .collect();
    let enoent = "-1 ENOENT (No such file or directory)";
    let ebadf = "-1 EBADF (Bad file descriptor)";
    let parent = own[8].1; // getppid's result: the tracer's pid
    assert_eq!(
        own,
        [
            ("openat", enoent),
            ("openat", enoent),
            ("openat", "3"),
            ("read", "0"),
            ("close", "0"),
            ("close", ebadf),
            ("close", ebadf),
            ("mkdir", "-1 EEXIST (File exists)"),
            ("getppid", parent),
        ],
        "{trace}"
    );
    assert!(
        trace.contains(&format!("\n{:<39} = ?\n", "exit_group(...)")),
        "{trace}"
    );
    assert!(trace.ends_with("+++ exited with 0 +++\n"), "{trace}");
}

/// Keeps of each result what step 4 promises to match: errors whole, other
/// results as a number, with the parts that differ from run to run, whoever
/// traces, masked: addresses (ASLR) and process ids. strace explains some
/// results, `= 0 (Timeout)`: that decoding is step 5's, so it is dropped here.
fn comparable(calls: Vec<(String, String)>) -> Vec<(String, String)> {
    calls
        .into_iter()
        .map(|(name, result)| {
            let number = result.split(' ').next().unwrap_or_default();
            let kept = if result.starts_with("-1 ") {
                result.clone()
            } else if number.starts_with("0x") {
                "ADDRESS".to_string()
            } else if PID_RESULTS.contains(&name.as_str()) {
                "PID".to_string()
            } else {
                number.to_string()
            };
            (name, kept)
        })
        .collect()
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step4_sees_the_same_calls_and_results_as_strace() {
    // Commands that write nothing to stderr, where the trace goes too, and
    // whose output no other test changes: `ls -l /` would list /tmp, whose
    // link count and size change as other tests make their directories, and
    // with them the number of bytes ls writes.
    let commands = [
        vec![binary("tracee"), "mixed"],
        vec!["cat", "/etc/passwd"],
        vec!["ls", "-l", "/usr"],
    ];
    for command in commands {
        let expected = comparable(strace_calls(&command));
        let trace = stderr(&run_binary("step4", &command));
        assert_eq!(comparable(calls(&trace)), expected, "{command:?}:\n{trace}");
    }
}

#[test]
fn step4_count_prints_strace_summary_layout() {
    let output = run_binary("step4", &["-c", binary("tracee"), "mixed"]);
    assert!(output.status.success());
    assert_eq!(stdout(&output), "mixed: begin\nmixed: done\n");
    let table = stderr(&output);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "% time     seconds  usecs/call     calls    errors syscall"
    );
    let rule = "------ ----------- ----------- --------- --------- ";
    // The rule is above the rows, and again above the total.
    assert!(lines[1].starts_with(rule), "{table}");
    assert_eq!(lines[lines.len() - 2], lines[1], "{table}");
    assert!(
        lines.iter().all(|l| !l.contains("(...)")),
        "-c prints no calls: {table}"
    );

    let counts = summary_counts(&table);
    let (total_calls, total_errors) = counts["total"];
    let rows = counts.iter().filter(|(name, _)| *name != "total");
    assert_eq!(
        rows.clone().map(|(_, (calls, _))| calls).sum::<u64>(),
        total_calls
    );
    assert_eq!(
        rows.map(|(_, (_, errors))| errors).sum::<u64>(),
        total_errors
    );
    // Counted at exit, like strace: exit_group never returns, execve once.
    assert!(!counts.contains_key("exit_group"), "{table}");
    assert_eq!(counts["execve"], (1, 0), "{table}");
    assert_eq!(counts["getppid"], (1, 0), "{table}");
    assert_eq!(counts["mkdir"], (1, 1), "{table}");
}

#[test]
fn step4_count_sorts_by_time_and_leaves_zero_errors_blank() {
    let table = stderr(&run_binary("step4", &["-c", binary("tracee"), "mixed"]));
    let rows: Vec<&str> = table
        .lines()
        .skip(2)
        .take_while(|l| !l.starts_with("---"))
        .collect();
    let seconds: Vec<f64> = rows
        .iter()
        .map(|row| row.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(seconds.windows(2).all(|pair| pair[0] >= pair[1]), "{table}");
    // Columns are fixed-width: the errors column of getppid is spaces.
    let getppid = rows.iter().find(|row| row.ends_with(" getppid")).unwrap();
    assert_eq!(&getppid[40..50], "          ", "{table}");
}

#[test]
fn step4_is_still_fooled_by_an_exec_in_the_program() {
    // The chapter's first exercise: the extra SIGTRAP after the shell's
    // execve shifts the pairing, so each "exit" is really an entry stop, where
    // the kernel has put -ENOSYS in rax.
    let trace = stderr(&run_binary("step4", &["sh", "-c", "exec /bin/true"]));
    let after_exec: Vec<(String, String)> = calls(&trace)
        .into_iter()
        .skip_while(|(name, _)| name != "execve")
        .skip(1)
        .skip_while(|(name, _)| name != "execve")
        .skip(1)
        .collect();
    // Even exit_group's entry is taken for the exit of the call before it, so
    // no `= ?` line is left at the end: every line is an ENOSYS.
    let enosys = "-1 ENOSYS (Function not implemented)";
    assert!(after_exec.len() > 10, "{trace}");
    assert!(
        after_exec.iter().all(|(_, result)| result == enosys),
        "{trace}"
    );
}

#[test]
fn steps_3_and_4_still_swallow_a_real_sigtrap() {
    // A shell that sends itself SIGTRAP dies of it, untraced; steps 3 and 4
    // take the stop for a syscall stop and the signal is lost (step 6).
    let script = "kill -TRAP $$; echo after";
    let untraced = run("sh", &["-c", script]);
    assert_eq!(untraced.status.signal(), Some(libc::SIGTRAP));
    for step in ["step3", "step4"] {
        let traced = run_binary(step, &["sh", "-c", script]);
        assert_eq!(traced.status.code(), Some(0), "{step}");
        assert_eq!(stdout(&traced), "after\n", "{step}");
    }
}

#[test]
fn step4_writes_a_32_bit_call_as_one() {
    let output = run_binary("step4", &[binary("tracee"), "int80-write"]);
    assert_eq!(stdout(&output), "int 0x80\n");
    let trace = stderr(&output);
    let write = format!("\n{:<39} = 9\n", "32-bit syscall 4(...)");
    assert!(trace.contains(&write), "{trace}");
    assert!(!trace.contains("stat("), "{trace}");

    let program = program_32bit();
    let output = run_binary("step4", &[program.to_str().unwrap()]);
    assert_eq!(stdout(&output), "32-bit\n");
    let lines = [
        format!("{:<39} = 0", "execve(...)"),
        format!("{:<39} = 7", "32-bit syscall 4(...)"),
        format!("{:<39} = ?", "32-bit syscall 252(...)"),
        "+++ exited with 0 +++".to_string(),
    ];
    assert_eq!(stderr(&output), lines.map(|line| line + "\n").concat());
}

/// A `-c` table's rows as (calls, errors), sorted: what two tables whose
/// rows are named differently can still agree on.
fn calls_and_errors(table: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = summary_rows(table)
        .iter()
        .map(|row| {
            let errors = if row.len() == 6 { row[4] } else { "0" };
            (row[3].to_string(), errors.to_string())
        })
        .collect();
    rows.sort();
    rows
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step4_counts_32_bit_calls_in_a_table_of_their_own_as_strace_does() {
    let program = program_32bit();
    let commands = [
        vec![binary("tracee"), "int80-write"],
        vec![program.to_str().unwrap()],
    ];
    let heading = "System call usage summary for 32 bit mode:\n";
    for command in commands {
        let ours = stderr(&run_binary("step4", &[&["-c"], &command[..]].concat()));
        let theirs = run_strace(&["-c"], &command);
        let (ours_64, ours_32) = ours.split_once(heading).expect(&ours);
        let (theirs_64, theirs_32) = theirs.split_once(heading).expect(&theirs);
        assert_eq!(summary_counts(ours_64), summary_counts(theirs_64), "{ours}");
        // strace names the 32-bit calls from their table; step 4 cannot.
        assert_eq!(
            calls_and_errors(ours_32),
            calls_and_errors(theirs_32),
            "{ours}"
        );
        assert!(!ours_32.contains("stat"), "{ours}");
    }
}

/// `-c` counts of `tracee new-syscalls`, without fchmodat2 (452, Linux
/// 6.6), which strace 6.1 cannot name and does not count, while step 4 does.
fn counts_but_fchmodat2(table: &str) -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut counts = summary_counts(table);
    if let Some((calls, errors)) = counts.remove("fchmodat2") {
        let total = counts.get_mut("total").unwrap();
        *total = (total.0 - calls, total.1 - errors);
    }
    counts
}

#[test]
fn step4_counts_no_row_for_a_number_that_is_no_syscall() {
    let output = run_binary("step4", &["-c", binary("tracee"), "new-syscalls"]);
    let counts = summary_counts(&stderr(&output));
    // syscall(1000): ENOSYS, and no row, as in strace's table.
    assert!(!counts.contains_key("syscall_0x3e8"), "{counts:?}");
    assert_eq!(counts["fchmodat2"], (1, 1), "{counts:?}");
    // Its line is still there without -c, as in strace's trace.
    let trace = stderr(&run_binary("step4", &[binary("tracee"), "new-syscalls"]));
    let enosys = "-1 ENOSYS (Function not implemented)";
    assert!(
        trace.contains(&format!("{:<39} = {enosys}", "syscall_0x3e8(...)")),
        "{trace}"
    );
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step4_counts_new_syscalls_and_non_syscalls_as_strace_does() {
    let command = [binary("tracee"), "new-syscalls"];
    let ours = stderr(&run_binary("step4", &[&["-c"], &command[..]].concat()));
    let theirs = run_strace(&["-c"], &command);
    assert_eq!(
        counts_but_fchmodat2(&ours),
        counts_but_fchmodat2(&theirs),
        "{ours}"
    );
}

#[test]
fn step4_warns_after_an_execveat_as_after_an_execve() {
    // fexecve makes execveat(fd, "", …), which ends in the same SIGTRAP.
    let output = run_binary("step4", &[binary("tracee"), "fexecve", "/bin/true"]);
    let trace = stderr(&output);
    let lines: Vec<&str> = trace.lines().collect();
    let execveat = lines
        .iter()
        .position(|l| l.starts_with("execveat("))
        .unwrap();
    assert!(
        lines[execveat].ends_with(" = 0")
            && lines[execveat + 1].starts_with("step4: warning: the program ran another program"),
        "{trace}"
    );
}

#[test]
fn step4_writes_interrupted_calls_with_the_kernels_restart_errors() {
    let trace = stderr(&run_binary("step4", &[binary("tracee"), "restarts"]));
    let restarted: Vec<(String, String)> = calls(&trace)
        .into_iter()
        .filter(|(_, result)| result.starts_with("? "))
        .collect();
    let expected = [
        ("read", "ERESTARTSYS (To be restarted if SA_RESTART is set)"),
        ("pause", "ERESTARTNOHAND (To be restarted if no handler)"),
        (
            "clock_nanosleep",
            "ERESTART_RESTARTBLOCK (Interrupted by signal)",
        ),
    ];
    let expected = expected.map(|(name, result)| (name.to_string(), format!("? {result}")));
    assert_eq!(restarted, expected, "{trace}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step4_writes_interrupted_calls_as_strace_does() {
    let command = [binary("tracee"), "restarts"];
    let restarted = |calls: Vec<(String, String)>| {
        let calls = calls.into_iter();
        calls
            .filter(|(_, result)| result.starts_with("? "))
            .collect::<Vec<_>>()
    };
    let ours = restarted(calls(&stderr(&run_binary("step4", &command))));
    assert_eq!(ours, restarted(strace_calls(&command)));
}

/// The calls a tracee mode makes between its first two writes to stdout,
/// with the first word of each result: the number, without what strace
/// says of it (`0x8000 (flags O_RDONLY|O_LARGEFILE)`), which is step 5's.
fn own_results(calls: Vec<(String, String)>) -> Vec<(String, String)> {
    let writes: Vec<usize> = (0..calls.len())
        .filter(|&i| calls[i].0 == "write")
        .collect();
    calls[writes[0] + 1..writes[1]]
        .iter()
        .map(|(name, result)| {
            let number = result.split(' ').next().unwrap_or_default();
            (name.clone(), number.to_string())
        })
        .collect()
}

#[test]
fn step4_writes_umask_in_octal_and_returned_flags_in_hex() {
    let trace = stderr(&run_binary("step4", &[binary("tracee"), "formats"]));
    let results = own_results(calls(&trace));
    let result = |name: &str, nth: usize| {
        let mut named = results.iter().filter(|(call, _)| call == name);
        named.nth(nth).unwrap().1.as_str()
    };
    assert_eq!(result("umask", 1), "027", "{trace}");
    // fcntl: F_GETFL, F_GETFD, F_GETLEASE, F_ADD_SEALS (0), F_GET_SEALS.
    assert_eq!(result("fcntl", 0), "0x8000", "{trace}");
    assert_eq!(result("fcntl", 1), "0x1", "{trace}");
    assert_eq!(result("fcntl", 2), "0x2", "{trace}");
    assert_eq!(result("fcntl", 3), "0", "{trace}");
    assert_eq!(result("fcntl", 4), "0x1", "{trace}");
    assert_eq!(result("personality", 2), "0x40000", "{trace}");
    assert_eq!(result("prctl", 1), "0x10", "{trace}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step4_writes_results_in_the_base_strace_writes_them_in() {
    let command = [binary("tracee"), "formats"];
    let ours = own_results(calls(&stderr(&run_binary("step4", &command))));
    assert_eq!(ours, own_results(strace_calls(&command)));
}

/// Starts `program ARGS… sleep MARKER` in a process group of its own, with
/// the default action for SIGINT, SIGTERM and SIGHUP (or SIGHUP ignored,
/// as `nohup` leaves it), waits until the sleep sleeps, and sends `signal`:
/// to the whole group, as Ctrl-C does, or to the program alone, as `kill`
/// does. Returns how the program ended, and its stderr.
fn interrupted(
    program: &str,
    args: &[&str],
    marker: &str,
    (signal, whole_group): (Signal, bool),
    ignore_sighup: bool,
) -> (ExitStatus, String) {
    let mut command = Command::new(program);
    command.args(args).args(["sleep", marker]);
    command.stdin(Stdio::null()).stderr(Stdio::piped());
    command.process_group(0);
    // SAFETY: signal is async-signal-safe, and only changes dispositions.
    unsafe {
        command.pre_exec(move || {
            for ending in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(ending, libc::SIG_DFL);
            }
            if ignore_sighup {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
            }
            Ok(())
        })
    };
    let child = command.spawn().unwrap();
    let asleep = || process(&["sleep", marker]).is_some_and(|state| state == 'S');
    assert!(eventually(asleep), "{program} {args:?}");
    let pid = Pid::from_raw(child.id() as i32);
    if whole_group {
        killpg(pid, signal).unwrap();
    } else {
        kill(pid, signal).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let gone = eventually(|| !is_running(&["sleep", marker]));
    assert!(gone, "{program} {args:?} left the program running");
    (output.status, stderr(&output))
}

/// Ctrl-C, `kill`, a terminal that goes away.
const ENDINGS: [(Signal, bool); 3] = [
    (Signal::SIGINT, true),
    (Signal::SIGTERM, false),
    (Signal::SIGHUP, false),
];

#[test]
fn step4_count_prints_its_table_when_a_signal_ends_it() {
    for (i, ending) in ENDINGS.into_iter().enumerate() {
        let marker = format!("17.{i}2358");
        let (status, table) = interrupted(binary("step4"), &["-c"], &marker, ending, false);
        // It dies of the signal, as strace does, once its table is out.
        assert_eq!(
            status.signal(),
            Some(ending.0 as i32),
            "{ending:?}: {table}"
        );
        let counts = summary_counts(&table);
        assert_eq!(counts["execve"], (1, 0), "{ending:?}: {table}");
        assert!(table.lines().last().unwrap().ends_with(" total"), "{table}");
    }
}

#[test]
fn step4_leaves_an_ignored_sighup_ignored() {
    // As under nohup: the program runs to its end, and the table follows.
    let (status, table) = interrupted(binary("step4"), &["-c"], "0.8123", ENDINGS[2], true);
    assert_eq!(status.code(), Some(0), "{table}");
    assert_eq!(summary_counts(&table)["clock_nanosleep"], (1, 0), "{table}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn step4_count_on_a_signal_counts_as_strace_c_does() {
    // The sleep's own SIGINT, on Ctrl-C, may end its clock_nanosleep before
    // the tracer's handler acts, or not, under strace too: that row aside.
    let but_the_sleep = |table: &str| {
        let mut counts = summary_counts(table);
        if let Some((calls, errors)) = counts.remove("clock_nanosleep") {
            let total = counts.get_mut("total").unwrap();
            *total = (total.0 - calls, total.1 - errors);
        }
        counts
    };
    for (i, ending) in ENDINGS.into_iter().enumerate() {
        let (ours, theirs) = (format!("17.{i}3141"), format!("17.{i}2718"));
        let (_, ours) = interrupted(binary("step4"), &["-c"], &ours, ending, false);
        let (status, theirs) = interrupted("strace", &["-c"], &theirs, ending, false);
        assert_eq!(status.signal(), Some(ending.0 as i32), "strace: {theirs}");
        assert_eq!(
            but_the_sleep(&ours),
            but_the_sleep(&theirs),
            "{ending:?}\n{ours}\n{theirs}"
        );
    }
}
