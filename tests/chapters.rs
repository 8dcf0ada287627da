//! The chapters' checks (checker/, run by scripts/check-my-step), tested both
//! ways: every reference step passes its own chapter's checks, and fails the
//! next chapter's first check with that check's hint; so do the live-coding
//! stages and the learner's starting file, each where it should.
//!
//! The same checks, on your own tracer, in `cargo test`:
//!
//!     CHECK_MY_STEP=4 CHECK_MY_TRACER=./my-tracer cargo test --test chapters
//!
//! This suite judges behaviour, as any tracer may show it. The reference's
//! own strict suite (exact wording, the deliberate bugs) is tests/stepN.rs.

mod common;
use common::*;

use std::process::{Command, Output};

/// Runs the checker: `check-my-step ARGS…`.
fn check_my_step(args: &[&str]) -> Output {
    run_within(HANG, env!("CARGO_BIN_EXE_check-my-step"), args)
}

/// Runs scripts/check-my-step, as a learner does.
fn script(args: &[&str]) -> Output {
    Command::new(root().join("scripts/check-my-step"))
        .args(args)
        .output()
        .expect("cannot run scripts/check-my-step")
}

/// What a learner sees: the checker's output, whole.
fn seen(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

/// Asserts that `program` passes every check of `step`, and the contracts.
fn passes(step: u32, program: &str) {
    let output = check_my_step(&["--all", &step.to_string(), program]);
    let text = seen(&output);
    assert!(
        output.status.success(),
        "{program} fails step {step}'s checks:\n{text}"
    );
    assert!(
        text.ends_with(&format!("[check] step {step}: all passed\n")),
        "{text}"
    );
    assert!(!text.contains(" skip: "), "a check was skipped:\n{text}");
}

/// Asserts that `program` fails `step`'s check `number` (and passes the ones
/// before it), with a hint that says `hint`.
fn fails_at(step: u32, number: u32, program: &str, hint: &str) {
    let output = check_my_step(&[&step.to_string(), program]);
    let text = seen(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{program}, step {step}:\n{text}"
    );
    for passed in 1..number {
        assert!(
            text.contains(&format!("[check {step}.{passed}] ok")),
            "{text}"
        );
    }
    let failed = format!("[check {step}.{number}] FAIL");
    assert!(
        text.contains(&failed),
        "{program} should fail at {failed}:\n{text}"
    );
    assert!(
        hint_of(&text).contains(hint),
        "{program}, {failed}: expected the hint {hint:?}:\n{text}"
    );
    assert!(text.contains("  reread:   \""), "{text}");
    assert!(
        !text.contains("panicked") && !text.contains("backtrace"),
        "{text}"
    );
}

/// The hint of a failure, its lines joined again: the checker wraps it.
fn hint_of(text: &str) -> String {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("  hint:"));
    let first = lines.next().unwrap_or("").trim_start_matches("  hint:");
    let rest = lines.take_while(|l| l.starts_with("            "));
    std::iter::once(first)
        .chain(rest)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn every_step_passes_its_own_chapters_checks() {
    for step in 1..=9 {
        passes(step, binary(&format!("step{step}")));
    }
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_passes_its_own_chapters_checks() {
    passes(10, binary("step10"));
}

/// Each step is the bug the next one fixes: it fails the next chapter's first
/// check, and the hint names what is missing.
const NEXT_STEPS_FIRST_HINT: [&str; 9] = [
    "the command was not run",    // step 1 against step 2's checks
    "resume with PTRACE_SYSCALL", // step 2 against step 3's
    "ten lines for five calls: printed at both stops", // step 3 against step 4's
    "arguments shown as `...`",   // step 4 against step 5's
    "a real SIGTRAP was taken for a syscall stop", // step 5 against step 6's
    "PTRACE_O_TRACEFORK",         // step 6 against step 7's
    "SECCOMP_RET_ERRNO",          // step 7 against step 8's
    "SECCOMP_RET_TRACE",          // step 8 against step 9's
    "count in the kernel",        // step 9 against step 10's
];

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn each_step_fails_the_next_steps_first_check_with_its_hint() {
    for step in 1..=8 {
        fails_at(
            step + 1,
            1,
            binary(&format!("step{step}")),
            NEXT_STEPS_FIRST_HINT[step as usize - 1],
        );
    }
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step9_fails_step10s_first_check_with_its_hint() {
    fails_at(10, 1, binary("step9"), NEXT_STEPS_FIRST_HINT[8]);
}

/// The program that scripts/build-solution builds for a series of patches.
fn solution(series: &[&str]) -> String {
    let output = run(
        root().join("scripts/build-solution").to_str().unwrap(),
        series,
    );
    assert!(
        output.status.success(),
        "build-solution {series:?}:\n{}",
        stderr(&output)
    );
    stdout(&output).trim_end().to_string()
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn the_live_coding_stages_pass_and_fail_where_they_should() {
    // Stage 1 is step 3: every stop, the bug included.
    let every_stop = solution(&["live_1_every_stop"]);
    passes(3, &every_stop);
    fails_at(4, 1, &every_stop, "printed at both stops");
    // Stage 2 pairs the stops, and prints results as raw numbers.
    let enter_exit = solution(&["live_1_every_stop", "live_2_enter_exit"]);
    fails_at(3, 2, &enter_exit, "five lines for five calls");
    fails_at(
        4,
        2,
        &enter_exit,
        "`= -2`: strace writes `-1 ENOENT (No such file or directory)`",
    );
}

#[test]
fn the_starting_file_passes_step2_and_fails_step3() {
    let output = script(&["2"]);
    assert!(
        output.status.success(),
        "mine/main.rs fails step 2:\n{}",
        seen(&output)
    );
    let output = script(&["3"]);
    let text = seen(&output);
    assert!(text.contains("[check 3.1] FAIL"), "{text}");
    assert!(text.contains("resume with PTRACE_SYSCALL"), "{text}");
}

#[test]
fn a_missing_path_is_one_line() {
    let output = script(&["4", "./no-such-tracer"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "check-my-step: ./no-such-tracer: no such file (the path of your tracer's program, e.g. ./my-tracer)\n"
    );
}

#[test]
fn a_path_that_is_not_executable_is_one_line() {
    let file = scratch_file("not-executable");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    let path = file.to_str().unwrap();
    let output = script(&["4", path]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        format!("check-my-step: {path}: not executable (chmod +x {path})\n")
    );
}

#[test]
fn a_tracer_that_hangs_is_stopped_and_told_why() {
    let dir = scratch_dir("hanging-tracer");
    let hangs = dir.join("hangs");
    std::fs::write(&hangs, "#!/bin/sh\nexec sleep 60\n").unwrap();
    run("chmod", &["+x", hangs.to_str().unwrap()]);
    let start = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_check-my-step"))
        .args(["2", hangs.to_str().unwrap()])
        .env("CHECK_MY_STEP_TIMEOUT", "2")
        .output()
        .unwrap();
    let text = seen(&output);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{text}"
    );
    assert!(text.contains("[check 2.1] FAIL"), "{text}");
    assert!(text.contains("still running after 2 s"), "{text}");
    assert!(text.contains("waits for a stop that never comes"), "{text}");
}

#[test]
fn every_section_a_check_names_is_a_heading_of_its_chapter() {
    let list = stdout(&check_my_step(&["--list"]));
    assert!(list.lines().count() > 30, "{list}");
    for line in list.lines() {
        let [_, section, chapter] = line.split(" | ").collect::<Vec<_>>()[..] else {
            panic!("not a line of --list: {line}");
        };
        let text = read(&root().join("book/src").join(chapter));
        let heading = text
            .lines()
            .any(|l| l.trim_start_matches('#').trim() == section && l.starts_with('#'));
        assert!(heading, "book/src/{chapter} has no heading {section:?}");
    }
}

/// Your own tracer, checked in `cargo test`: CHECK_MY_STEP=N and
/// CHECK_MY_TRACER=PATH (and CHECK_MY_ALL=1 for the contracts of every step).
#[test]
fn your_tracer_passes_its_chapter() {
    let (Ok(step), Ok(tracer)) = (
        std::env::var("CHECK_MY_STEP"),
        std::env::var("CHECK_MY_TRACER"),
    ) else {
        eprintln!("no tracer of yours to check: set CHECK_MY_STEP=N and CHECK_MY_TRACER=PATH");
        return;
    };
    let all = std::env::var_os("CHECK_MY_ALL").is_some();
    let args: Vec<&str> = [
        &["--all"][..(all as usize)],
        &[step.as_str(), tracer.as_str()],
    ]
    .concat();
    let output = check_my_step(&args);
    assert!(output.status.success(), "\n{}", seen(&output));
}

#[test]
fn a_wrapper_that_does_not_exec_is_named_in_the_hint() {
    // A script that starts step 4 without `exec`: step 4 is then not the
    // process that the checks started, and getppid returns another pid.
    let dir = scratch_dir("wrapper");
    let wrapper = dir.join("my-tracer");
    std::fs::write(&wrapper, format!("#!/bin/sh\n{} \"$@\"\n", binary("step4"))).unwrap();
    run("chmod", &["+x", wrapper.to_str().unwrap()]);
    fails_at(
        4,
        1,
        wrapper.to_str().unwrap(),
        "wrapper that starts your tracer without `exec`",
    );
}

#[test]
fn a_tracer_that_leaves_a_process_running_fails_the_contract() {
    // It runs the command, says "execve", exits with the command's status,
    // and leaves a sleep behind: every check of step 2 passes but the last
    // contract.
    let dir = scratch_dir("leaves-one-running");
    let leaves = dir.join("leaves-one-running");
    let script = "#!/bin/sh\necho execve >&2\n\"$@\"; s=$?; (sleep 2 &); exit $s\n";
    std::fs::write(&leaves, script).unwrap();
    run("chmod", &["+x", leaves.to_str().unwrap()]);
    let output = check_my_step(&["--all", "2", leaves.to_str().unwrap()]);
    let text = seen(&output);
    assert!(
        text.contains("[check 2.6] FAIL: every step: nothing is left running"),
        "{text}"
    );
    assert!(text.contains(": sleep 2"), "{text}");
}

#[test]
fn a_result_of_minus_38_is_named_as_the_entry_stops() {
    // A "tracer" that prints what a tracer printing at the entry stop prints:
    // rax there holds -ENOSYS, -38.
    let dir = scratch_dir("prints-at-entry");
    let tracer = dir.join("prints-at-entry");
    let script = "#!/bin/sh\nfor i in 1 2 3 4 5; do echo 'getppid = -38' >&2; done\nexec \"$@\"\n";
    std::fs::write(&tracer, script).unwrap();
    run("chmod", &["+x", tracer.to_str().unwrap()]);
    fails_at(
        4,
        1,
        tracer.to_str().unwrap(),
        "a result of -38 (-ENOSYS): printed at the entry stop",
    );
}
