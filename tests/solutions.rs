//! The reference solutions of the book's exercises do what each exercise's
//! hint says they do. `book/solutions/` stores each solution as its change: a
//! patch against the steps, which `scripts/build-solution` applies exactly to
//! a copy of what a build needs, and builds there. These tests build every
//! solution that way, once per run, and run it.
//!
//! When a step changes, a patch may no longer apply, or no longer build: the
//! test `every_solution_patch_applies_exactly` says which. To refresh one, do
//! the exercise again in the steps themselves, at the repository's root, with
//! `steps/` as committed (`git stash` your own changes first), and save the
//! change over the patch, below its first line, which the book needs:
//!
//! ```sh
//! git apply --reject book/solutions/NAME.patch   # what still applies; the rest in .rej files
//! # ... finish the exercise in steps/ by hand, and delete the .rej files
//! sed -i '2,$d' book/solutions/NAME.patch
//! git diff steps/ >> book/solutions/NAME.patch
//! git checkout steps/
//! ```
//!
//! The second patch of a series (see `SOLUTIONS`) is a change to the first:
//! apply the first, and `git add steps/`, before you start, so that `git diff`
//! shows only the second; `git reset -q steps/` before the checkout.

mod common;
use common::*;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Every solution, as the patches of `book/solutions/` that make it, applied
/// in this order; it is named after the last.
const SOLUTIONS: &[&[&str]] = &[
    &["ch1_raw_getpid"],
    &["ch1_bad_pointer"],
    &["ch2_rust_startup"],
    &["ch3_rax_at_each_stop"],
    &["ch4_time_each_call"],
    &["ch4_sort_by_calls"],
    &["ch4_eprintln_lines"],
    &["ch5_peekdata"],
    &["ch5_uname"],
    &["ch6_resume_stopped"],
    &["ch7_announce_children"],
    &["ch8_deny_kills"],
    &["ch10_no_null_check"],
    &["ch10_thread_array"],
    // The presenters' live coding: stage 2 is typed into stage 1.
    &["live_1_every_stop"],
    &["live_1_every_stop", "live_2_enter_exit"],
];

/// How many lines `book/solutions/` may hold: about a hundred a solution,
/// which a change fits in, where a copy of its step would not.
const MOST_LINES: usize = 1500;

/// The solution's program, built once per test run however many tests ask
/// for it at once; a test whose solution cannot be built fails with the
/// reason (the patch that no longer applies, or the compiler's errors).
fn solution(name: &str) -> &'static str {
    match built(name) {
        Ok(program) => program,
        Err(why) => panic!("{why}"),
    }
}

/// The solution's program, or why it could not be built.
fn built(name: &str) -> &'static Result<String, String> {
    static BUILT: [OnceLock<Result<String, String>>; SOLUTIONS.len()] =
        [const { OnceLock::new() }; SOLUTIONS.len()];
    let index = SOLUTIONS
        .iter()
        .position(|series| series.last() == Some(&name))
        .unwrap_or_else(|| panic!("{name} is not in SOLUTIONS"));
    BUILT[index].get_or_init(|| build(SOLUTIONS[index]))
}

/// Applies the series of patches to a copy of the repository and builds the
/// step they change, in the target directory that this test was built in
/// (wherever CARGO_TARGET_DIR points): its `solutions/` holds the copies, the
/// one build directory they share and the programs.
fn build(series: &[&str]) -> Result<String, String> {
    let output = Command::new(root().join("scripts/build-solution"))
        .arg("--target-dir")
        .arg(target_dir())
        .args(series)
        .output()
        .map_err(|e| format!("cannot run scripts/build-solution: {e}"))?;
    if !output.status.success() {
        return Err(stderr(&output));
    }
    Ok(stdout(&output).trim_end().to_string())
}

/// The target directory: this test is `<target>/debug/deps/solutions-…`.
fn target_dir() -> PathBuf {
    let test = std::env::current_exe().expect("the test knows where it is");
    let deps = test.parent().unwrap();
    deps.parent().unwrap().parent().unwrap().to_path_buf()
}

/// The names of the patches in `book/solutions/`.
fn patches_on_disk() -> BTreeSet<String> {
    let dir = root().join("book/solutions");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "patch"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_solution_patch_applies_exactly() {
    let listed: BTreeSet<String> = SOLUTIONS
        .iter()
        .flat_map(|series| series.iter().map(|name| name.to_string()))
        .collect();
    assert_eq!(
        patches_on_disk(),
        listed,
        "book/solutions/ and SOLUTIONS must name the same patches"
    );
    // Every solution, applied with no fuzz to a fresh copy, and built: all
    // the failures at once.
    let failures: Vec<&str> = SOLUTIONS
        .iter()
        .filter_map(|series| built(series.last().unwrap()).as_ref().err())
        .map(String::as_str)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn book_solutions_hold_changes_not_copies() {
    let dir = root().join("book/solutions");
    let lines: usize = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| read(&entry.unwrap().path()).lines().count())
        .sum();
    assert!(
        lines < MOST_LINES,
        "book/solutions/ holds {lines} lines, {MOST_LINES} at most: store a solution as \
         its change (a patch), not as a copy of its step"
    );
}

// ---------------------------------------------------------------------------
// Chapter 1

#[test]
fn ch1_raw_getpid_returns_the_process_id() {
    let child = Command::new(solution("ch1_raw_getpid"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let out = stdout(&output);
    let expected = format!("getpid returned {pid} in rax; std::process::id() says {pid}");
    assert!(out.lines().any(|line| line == expected), "{out}");
}

/// Runs the bad-pointer solution with its stdout sent to `stdout`.
fn bad_pointer(stdout: Stdio) -> String {
    let output = Command::new(solution("ch1_bad_pointer"))
        .stdout(stdout)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    stderr(&output)
}

#[test]
fn ch1_null_pointer_gives_minus_efault_without_a_crash() {
    assert_eq!(
        bad_pointer(Stdio::piped()),
        "write(1, NULL, 26) returned -14 in rax\n"
    );
}

#[test]
fn ch1_null_pointer_to_dev_null_is_26_bytes_written() {
    let dev_null = File::create("/dev/null").unwrap();
    assert_eq!(
        bad_pointer(Stdio::from(dev_null)),
        "write(1, NULL, 26) returned 26 in rax\n"
    );
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn ch1_strace_i_tells_the_two_failing_writes_apart() {
    // `strace -i` starts each line with the address of the instruction after
    // the syscall: inside raw_write for ours, inside libc's write for the rest.
    let trace = run_strace(&["-i", "-e", "trace=write"], &[binary("step1")]);
    let address_of = |prefix: &str| -> Vec<&str> {
        trace
            .lines()
            .filter_map(|line| line.split_once("] "))
            .filter(|(_, call)| call.starts_with(prefix))
            .map(|(address, _)| address.trim_start_matches('['))
            .collect()
    };
    let raw_success = address_of("write(1, \"Hello from a raw syscall!");
    let failures = address_of("write(-1, ");
    let printed = address_of("write(1, \"write(");
    assert_eq!((raw_success.len(), failures.len()), (1, 2), "{trace}");
    assert_eq!(failures[0], raw_success[0], "raw_write's failure: {trace}");
    assert_ne!(failures[1], failures[0], "{trace}");
    assert!(
        printed.iter().all(|address| *address == failures[1]),
        "libc's failure comes from where println!'s writes do: {trace}"
    );
}

// ---------------------------------------------------------------------------
// Chapter 2

#[test]
fn ch2_with_rusts_start_up_the_program_inherits_what_rust_changed() {
    let tracer = solution("ch2_rust_startup");
    // SIGPIPE ignored: `yes` complains of a broken pipe and exits with 1,
    // where it dies quietly of SIGPIPE untraced and under step 2.
    let script = r#""$@" yes | head -n 1"#;
    let with_rust = run_shell("sh", script, &[tracer]);
    assert!(stderr(&with_rust).contains("yes: standard output: Broken pipe"));
    assert!(stderr(&with_rust).ends_with("step2: child exited with status 1\n"));
    let step2 = run_shell("sh", script, &[binary("step2")]);
    assert!(stderr(&step2).ends_with("step2: child was killed by SIGPIPE\n"));
    // A closed stdout becomes /dev/null: echo succeeds where it must fail.
    let closed_stdout = r#""$@" /bin/echo hi >&-"#;
    let with_rust = run_shell("sh", closed_stdout, &[tracer]);
    assert_eq!(with_rust.status.code(), Some(0));
    let step2 = run_shell("sh", closed_stdout, &[binary("step2")]);
    assert_eq!(step2.status.code(), Some(1));
}

// ---------------------------------------------------------------------------
// Chapter 3

#[test]
fn ch3_rax_is_minus_enosys_at_every_entry_stop() {
    let output = run(solution("ch3_rax_at_each_stop"), &["echo", "hello"]);
    let trace = stderr(&output);
    // Each line: a syscall's name and rax; the first is execve's exit.
    let stops: Vec<(&str, i64)> = trace
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter_map(|(name, rax)| Some((name, rax.parse().ok()?)))
        .collect();
    assert_eq!(stops.first(), Some(&("execve", 0)), "{trace}");
    // After it, stops come in pairs: an entry, then that syscall's exit.
    let entries: Vec<(&str, i64)> = stops[1..].iter().step_by(2).copied().collect();
    let results: Vec<(&str, i64)> = stops[2..].iter().step_by(2).copied().collect();
    let enosys = -i64::from(libc::ENOSYS);
    assert!(entries.iter().all(|(_, rax)| *rax == enosys), "{trace}");
    assert_eq!(entries.last().unwrap().0, "exit_group", "{trace}");
    assert!(results.contains(&("openat", 3)), "{trace}");
    assert!(
        results.contains(&("access", -i64::from(libc::ENOENT))),
        "{trace}"
    );
}

// ---------------------------------------------------------------------------
// Chapter 4

/// The time at the end of a `-T` line, ` <0.000012>`, if it has one.
fn time_suffix(line: &str) -> Option<&str> {
    let (_, time) = line.rsplit_once(" <")?;
    let time = time.strip_suffix('>')?;
    let (seconds, fraction) = time.split_once('.')?;
    let digits = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit());
    (digits(seconds) && digits(fraction) && fraction.len() == 6).then_some(time)
}

/// The lines of a trace for a syscall that returned (`exit_group` never does).
fn returned_calls(trace: &str) -> Vec<&str> {
    trace
        .lines()
        .filter(|line| line.contains(" = ") && !line.ends_with(" = ?"))
        .collect()
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn ch4_time_each_call_writes_the_time_as_strace_t_does() {
    // strace judges the format: every line of its own -T trace has the suffix.
    let strace = run_strace(&["-T"], &["echo", "hello"]);
    let ours = stderr(&run(solution("ch4_time_each_call"), &["echo", "hello"]));
    for trace in [&strace, &ours] {
        let lines = returned_calls(trace);
        assert!(!lines.is_empty(), "{trace}");
        assert!(
            lines.iter().all(|line| time_suffix(line).is_some()),
            "{trace}"
        );
    }
    // The rest of each line is step 4's.
    let plain = stderr(&run_binary("step4", &["echo", "hello"]));
    let without_time: Vec<&str> = returned_calls(&ours)
        .iter()
        .map(|line| &line[..line.rfind(" <").unwrap()])
        .collect();
    let names = |lines: &[&str]| -> Vec<String> {
        lines
            .iter()
            .filter_map(|line| parse_call(line))
            .map(|(name, _)| name)
            .collect()
    };
    assert_eq!(names(&without_time), names(&returned_calls(&plain)));
}

/// The calls column of a `-c` table, top to bottom, the total left out.
fn calls_column(table: &str) -> Vec<String> {
    let rows = summary_rows(table);
    rows[..rows.len() - 1]
        .iter()
        .map(|row| row[3].to_string())
        .collect()
}

/// Runs `program` with `args`, its stdout discarded, and returns its stderr.
fn stderr_of(program: &str, args: &[&str]) -> String {
    let output: Output = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    stderr(&output)
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn ch4_sort_by_calls_orders_rows_as_strace_c_s_calls() {
    let ours = stderr_of(solution("ch4_sort_by_calls"), &["-c", "ls", "-l", "/"]);
    let strace = stderr_of("strace", &["-c", "-S", "calls", "ls", "-l", "/"]);
    assert_eq!(
        calls_column(&ours),
        calls_column(&strace),
        "{ours}\n{strace}"
    );
}

/// How many `write(2, …)` calls `tracer /bin/true` makes, as strace sees
/// them, and how many lines it prints.
fn writes_and_lines(tracer: &str) -> (usize, usize) {
    let lines = stderr_of(tracer, &["/bin/true"]).lines().count();
    let writes = stderr_of(
        "strace",
        &[
            "-e",
            "trace=write",
            "-e",
            "signal=none",
            tracer,
            "/bin/true",
        ],
    )
    .lines()
    .filter(|line| line.starts_with("write(2, "))
    .count();
    (writes, lines)
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn ch4_eprintln_makes_a_write_per_piece_of_a_line() {
    // The hint: one write per line with output::line, dozens with eprintln!
    // (each space of the padding is one).
    let (writes, lines) = writes_and_lines(binary("step4"));
    assert_eq!(writes, lines);
    let (writes, lines) = writes_and_lines(solution("ch4_eprintln_lines"));
    assert!(writes > 20 * lines, "{writes} writes for {lines} lines");
}

// ---------------------------------------------------------------------------
// The presenters' live coding

/// The `getppid` lines that a live-coding stage prints for the tracee
/// calling `getppid` three times, and the tracer's pid.
fn live_getppid_lines(stage: &str) -> (Vec<String>, u32) {
    let tracer = Command::new(solution(stage))
        .args([binary("tracee"), "getppid", "3"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = tracer.id();
    let output = tracer.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines = stderr(&output)
        .lines()
        .filter(|line| line.starts_with("getppid"))
        .map(str::to_string)
        .collect();
    (lines, pid)
}

#[test]
fn live_coding_stage_1_prints_every_syscall_twice() {
    let (lines, _) = live_getppid_lines("live_1_every_stop");
    assert_eq!(lines, ["getppid"; 6]);
}

#[test]
fn live_coding_stage_2_prints_each_syscall_once_with_its_result() {
    let (lines, tracer) = live_getppid_lines("live_2_enter_exit");
    let expected = format!("getppid = {tracer}");
    assert_eq!(lines, [expected.as_str(); 3]);
}

// ---------------------------------------------------------------------------
// Chapter 5

/// How many times `tracer` calls each of `process_vm_readv` and `ptrace` to
/// trace `ls -l /` into /dev/null, as strace -c counts them.
fn memory_reads(tracer: &str) -> (u64, u64) {
    let table = run_strace(
        &["-c", "-e", "trace=process_vm_readv,ptrace"],
        &[tracer, "-o", "/dev/null", "ls", "-l", "/"],
    );
    let counts = summary_counts(&table);
    let calls = |name: &str| counts.get(name).map_or(0, |(calls, _)| *calls);
    (calls("process_vm_readv"), calls("ptrace"))
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn ch5_peekdata_reads_a_word_per_syscall_and_shows_the_same_trace() {
    let peekdata = solution("ch5_peekdata");
    let (step5_readv, step5_ptrace) = memory_reads(binary("step5"));
    let (readv, ptrace) = memory_reads(peekdata);
    assert!(step5_readv > 0, "step 5 reads with process_vm_readv");
    assert_eq!(readv, 0, "the solution reads with PTRACE_PEEKDATA only");
    // "Tens of thousands instead of about a thousand."
    assert!(
        ptrace > 10 * (step5_readv + step5_ptrace),
        "{ptrace} ptrace calls against step 5's {step5_readv} + {step5_ptrace}"
    );
    // The same syscalls, though a string at the very end of the stack (the
    // program's own arguments) may become an address: see the hint.
    let names = |tracer: &str| -> Vec<String> {
        let trace = stderr(&run(tracer, &["cat", "/etc/passwd"]));
        calls(&trace).into_iter().map(|(name, _)| name).collect()
    };
    assert_eq!(names(peekdata), names(binary("step5")));
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn ch5_uname_shows_the_system_as_strace_does() {
    let uname_lines = |trace: &str| -> Vec<String> {
        let lines = trace.lines().filter(|line| line.starts_with("uname("));
        lines.map(str::to_string).collect()
    };
    let ours = uname_lines(&stderr(&run(solution("ch5_uname"), &["uname", "-a"])));
    assert!(
        ours.iter()
            .any(|line| line.starts_with("uname({sysname=\"Linux\", nodename=\""))
    );
    assert_eq!(ours, uname_lines(&run_strace(&[], &["uname", "-a"])));
}

// ---------------------------------------------------------------------------
// Chapter 6

#[test]
fn ch6_resume_stopped_lets_a_stopped_program_run_on() {
    // Step 6 keeps `tracee stop-self` stopped until a SIGCONT that never
    // comes here (tests/step6.rs); the solution resumes it, as steps 2 to 5
    // did, and the program runs to its end on its own.
    let output = run_within(
        HANG,
        solution("ch6_resume_stopped"),
        &[binary("tracee"), "stop-self"],
    );
    assert_eq!(stdout(&output), "resumed\n");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("--- stopped by SIGSTOP ---\n"),
        "{output:?}"
    );
}

#[test]
fn ch7_announce_children_names_each_child_as_it_starts() {
    // Three children, each announced once, before any line of its own.
    let output = run_within(
        HANG,
        solution("ch7_announce_children"),
        &["-f", binary("tracee"), "forks", "3"],
    );
    assert_eq!(output.status.code(), Some(0));
    let trace = stderr(&output);
    let announced: Vec<&str> = trace
        .lines()
        .filter_map(|line| line.strip_prefix("step7: Process "))
        .filter_map(|rest| rest.strip_suffix(" attached"))
        .collect();
    assert_eq!(announced.len(), 3, "{trace}");
    for pid in announced {
        let announce = trace
            .find(&format!("step7: Process {pid} attached"))
            .unwrap();
        let first_line = trace.find(&format!("[pid {pid:>5}] ")).unwrap();
        assert!(announce < first_line, "{trace}");
    }
}

// ---------------------------------------------------------------------------
// Chapter 8

#[test]
fn ch8_deny_kills_kills_the_program_at_the_call() {
    use std::os::unix::process::ExitStatusExt;
    let output = run_within(
        HANG,
        solution("ch8_deny_kills"),
        &["--deny", "getppid", binary("tracee"), "getppid", "3"],
    );
    // Killed at the first getppid: one call, never two.
    let trace = stderr(&output);
    let calls = trace
        .lines()
        .filter(|line| line.starts_with("getppid("))
        .count();
    assert_eq!(calls, 1, "{trace}");
    assert!(trace.ends_with("+++ killed by SIGSYS +++\n"), "{trace}");
    assert_eq!(output.status.signal(), Some(libc::SIGSYS), "{output:?}");
    // Step 8 itself fails the call, and the program goes on.
    let step8 = run_within(
        HANG,
        binary("step8"),
        &["--deny", "getppid", binary("tracee"), "getppid", "3"],
    );
    assert_eq!(step8.status.code(), Some(0), "{step8:?}");
}

// ---------------------------------------------------------------------------
// Chapter 10

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn ch10_the_verifier_refuses_a_lookup_without_its_null_check() {
    let marker = "29.9792";
    let output = Command::new(solution("ch10_no_null_check"))
        .args(["-c", "sleep", marker])
        .output()
        .unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    // The log, then the refusal: the line before `processed` says why.
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines[0], "The verifier's log for sys_enter:", "{message}");
    let processed = lines
        .iter()
        .position(|l| l.starts_with("processed "))
        .unwrap();
    assert_eq!(
        lines[processed - 1],
        "R0 invalid mem access 'map_value_or_null'",
        "{message}"
    );
    assert!(
        lines[lines.len() - 1]
            .starts_with("step10: the kernel's verifier refused the sys_enter program (EACCES"),
        "{message}"
    );
    // The program never ran, and the child that waited for it is gone.
    assert!(!is_running(&["sleep", marker]));
    let waiting = [solution("ch10_no_null_check"), "-c", "sleep", marker];
    assert!(!is_running(&waiting), "a child was left waiting");
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn ch10_an_array_by_thread_id_counts_what_the_hash_map_counted() {
    // Every thread's calls, as step 10 counts them.
    let threads = [binary("tracee"), "threads", "4", "25"];
    let output = run(
        solution("ch10_thread_array"),
        &[&["-f", "-c"], &threads[..]].concat(),
    );
    let table = stderr(&output);
    assert_eq!(summary_counts(&table)["getppid"], (100, 0), "{table}");
    // And a whole table, row for row, next to step 10's.
    let ls = ["-c", "ls", "-l", "/"];
    let ours = stderr(&run(solution("ch10_thread_array"), &ls));
    let step10 = stderr(&run_binary("step10", &ls));
    assert_eq!(
        summary_counts(&ours),
        summary_counts(&step10),
        "{ours}\n{step10}"
    );
}
