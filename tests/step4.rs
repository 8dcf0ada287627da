//! Step 4: entry and exit paired, one line per syscall with its result, and
//! `-c`, the summary table.

mod common;
use common::*;

use std::os::unix::process::ExitStatusExt;

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
