//! The book never lies: its program output is real, its code is included from
//! the steps, and everything it points to exists.
//!
//! Regenerate the transcripts and diffs after changing a step:
//!
//!     UPDATE_TRANSCRIPTS=1 cargo test --test book
//!
//! Without that variable, the test runs every transcript's command again and
//! fails if the committed output is stale (with pids, addresses and timings
//! masked on both sides). With it, the transcripts are written first, once,
//! before any test reads them, so the checks of the same run see the new ones.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// How a transcript is compared with a fresh run of its command.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// Equal, once what varies from run to run is masked.
    Same,
    /// A `-c` table of a run under `cargo run`, whose `LD_LIBRARY_PATH` makes
    /// the dynamic loader search more directories, each in one
    /// `glibc-hwcaps/x86-64-vN` subdirectory per level the CPU supports: how
    /// many lookups depends on the CPU, so the transcript is checked for what
    /// the book says of it. It is this other transcript's table, plus lookups
    /// (see `loader_search_only`).
    PlainRunPlusLoaderSearch(&'static str),
    /// Equal, once masked, but for the dynamic loader's tries of
    /// `glibc-hwcaps/x86-64-vN` directories: a loader that cannot open its
    /// cache searches its default directories, one such subdirectory per
    /// level the CPU supports (AVX-512 adds one).
    SameButHwcapsLevels,
}

/// The book's transcripts: the file under `book/src/transcripts/`, the
/// command that produces it, as a reader types it in the repository's root,
/// and how it is checked.
const TRANSCRIPTS: &[(&str, &str, Check)] = &[
    ("step1.txt", "./target/debug/step1", Check::Same),
    (
        "step2-echo.txt",
        "./target/debug/step2 echo hello",
        Check::Same,
    ),
    (
        "step2-no-such-program.txt",
        "./target/debug/step2 no-such-program",
        Check::Same,
    ),
    (
        "step2-no-interpreter.txt",
        "./target/debug/step2 tests/programs/no-interpreter.sh",
        Check::Same,
    ),
    (
        "step2-traced-with-f.txt",
        "strace -f -o /dev/null ./target/debug/step2 true",
        Check::Same,
    ),
    (
        "step2-ptrace-refused.txt",
        "./target/debug/tracee deny-ptrace ./target/debug/step2 echo hello",
        Check::Same,
    ),
    (
        "step3-echo.txt",
        "./target/debug/step3 echo hello",
        Check::Same,
    ),
    (
        "step4-echo.txt",
        "./target/debug/step4 echo hello",
        Check::Same,
    ),
    ("strace-echo.txt", "strace echo hello", Check::Same),
    (
        "step4-c-echo.txt",
        "./target/debug/step4 -c echo hello",
        Check::Same,
    ),
    ("strace-c-echo.txt", "strace -c echo hello", Check::Same),
    (
        "strace-c-w-echo.txt",
        "strace -c -w echo hello",
        Check::Same,
    ),
    (
        "step4-c-env-true.txt",
        "./target/debug/step4 -c /usr/bin/env true",
        Check::Same,
    ),
    (
        "step5-echo.txt",
        "./target/debug/step5 echo hello",
        Check::Same,
    ),
    (
        "step5-read-write.txt",
        "./target/debug/step5 -e trace=read,write -s 16 cat tests/programs/no-interpreter.sh",
        Check::Same,
    ),
    (
        "step5-not-a-syscall.txt",
        "./target/debug/step5 -e trace=opne,read ls",
        Check::Same,
    ),
    (
        "cargo-run-step4-c-echo.txt",
        "cargo run -q --bin step4 -- -c echo hello",
        Check::PlainRunPlusLoaderSearch("step4-c-echo.txt"),
    ),
    // Chapter 6: each pitfall of steps 4 and 5, before and after.
    (
        "step6-echo.txt",
        "./target/debug/step6 echo hello",
        Check::Same,
    ),
    (
        "step5-trap.txt",
        "./target/debug/step5 -e trace=tgkill,write,rt_sigreturn,getppid ./target/debug/tracee trap",
        Check::Same,
    ),
    (
        "step6-trap.txt",
        "./target/debug/step6 -e trace=tgkill,write,rt_sigreturn,getppid ./target/debug/tracee trap",
        Check::Same,
    ),
    (
        "step5-env-echo.txt",
        "./target/debug/step5 -e trace=execve,write /usr/bin/env echo hello",
        Check::Same,
    ),
    (
        "step6-env-echo.txt",
        "./target/debug/step6 -e trace=execve,write /usr/bin/env echo hello",
        Check::Same,
    ),
    (
        "step5-signals.txt",
        "./target/debug/step5 -e trace=clock_nanosleep,rt_sigreturn ./target/debug/tracee signals",
        Check::Same,
    ),
    (
        "step6-signals.txt",
        "./target/debug/step6 -e trace=clock_nanosleep,rt_sigreturn ./target/debug/tracee signals",
        Check::Same,
    ),
    (
        "step5-stopped.txt",
        "./target/debug/step5 -e trace=write ./target/debug/tracee stopped-awhile",
        Check::Same,
    ),
    (
        "step6-stopped.txt",
        "./target/debug/step6 -e trace=write ./target/debug/tracee stopped-awhile",
        Check::Same,
    ),
    (
        "step5-killed.txt",
        "./target/debug/step5 -e trace=kill sh -c 'kill -TERM $$'",
        Check::Same,
    ),
    (
        "step6-killed.txt",
        "./target/debug/step6 -e trace=kill sh -c 'kill -TERM $$'",
        Check::Same,
    ),
    (
        "step5-int80.txt",
        "./target/debug/step5 -e trace=stat ./target/debug/tracee int80-write",
        Check::Same,
    ),
    (
        "step6-int80.txt",
        "./target/debug/step6 -e trace=write ./target/debug/tracee int80-write",
        Check::Same,
    ),
    (
        "step6-c-int80.txt",
        "./target/debug/step6 -c -e trace=write ./target/debug/tracee int80-write",
        Check::Same,
    ),
    (
        "strace-c-int80.txt",
        "strace -c -e trace=write ./target/debug/tracee int80-write",
        Check::Same,
    ),
    (
        "step6-c-env-true.txt",
        "./target/debug/step6 -c /usr/bin/env true",
        Check::Same,
    ),
    (
        "strace-c-env-true.txt",
        "strace -c /usr/bin/env true",
        Check::Same,
    ),
    (
        "step7-parent-waits.txt",
        "./target/debug/step7 -f -e trace=wait4,write,exit_group ./target/debug/tracee parent-waits",
        Check::Same,
    ),
    (
        "strace-parent-waits.txt",
        "strace -f -e trace=wait4,write,exit_group ./target/debug/tracee parent-waits",
        Check::Same,
    ),
    (
        "step7-no-f-parent-waits.txt",
        "./target/debug/step7 -e trace=wait4,write,exit_group ./target/debug/tracee parent-waits",
        Check::Same,
    ),
    (
        "step7-thread-exec.txt",
        "./target/debug/step7 -f -e trace=getppid ./target/debug/tracee thread-exec",
        Check::Same,
    ),
    (
        "step7-c-forks.txt",
        "./target/debug/step7 -f -c ./target/debug/tracee forks 3",
        Check::Same,
    ),
    (
        "strace-c-forks.txt",
        "strace -f -c ./target/debug/tracee forks 3",
        Check::Same,
    ),
    (
        "step7-bad-pid.txt",
        "./target/debug/step7 -p 99999999",
        Check::Same,
    ),
    // Chapter 8: deny, profile, sandbox, and the profile one call short.
    (
        "step8-deny-openat.txt",
        "./target/debug/step8 -e trace=openat --deny openat cat /etc/hostname",
        Check::SameButHwcapsLevels,
    ),
    (
        "step8-deny-write.txt",
        "./target/debug/step8 -e trace=write --deny write echo hello",
        Check::Same,
    ),
    (
        "step8-profile-ls.txt",
        "./target/debug/step8 --profile /tmp/ls.json ls tests/programs",
        Check::Same,
    ),
    ("step8-ls-json.txt", "cat /tmp/ls.json", Check::Same),
    (
        "step8-sandbox-ls.txt",
        "./target/debug/step8 --sandbox /tmp/ls.json ls tests/programs",
        Check::Same,
    ),
    (
        "step8-remove-openat.txt",
        "sh -c 'grep -v openat /tmp/ls.json > /tmp/ls-no-openat.json'",
        Check::Same,
    ),
    (
        "step8-sandbox-no-openat.txt",
        "./target/debug/step8 --sandbox /tmp/ls-no-openat.json ls tests/programs",
        Check::Same,
    ),
    (
        "step8-traced-no-openat.txt",
        "./target/debug/step8 -e trace=seccomp,openat,writev ./target/debug/step8 --sandbox \
         /tmp/ls-no-openat.json ls tests/programs",
        Check::SameButHwcapsLevels,
    ),
    (
        "step8-x32.txt",
        "./target/debug/step8 --sandbox book/src/profiles/allow-everything.json \
         ./target/debug/tracee x32-getpid",
        Check::Same,
    ),
    (
        "step8-typo.txt",
        "./target/debug/step8 --sandbox book/src/profiles/typo.json true",
        Check::Same,
    ),
    (
        "step8-conditional.txt",
        "./target/debug/step8 --sandbox book/src/profiles/conditional.json true",
        Check::Same,
    ),
    // Chapter 9: the same lines, with and without the filter.
    (
        "step9-openat.txt",
        "./target/debug/step9 -f --seccomp-bpf -e trace=execve,openat,write sh -c '/bin/true; echo done'",
        Check::Same,
    ),
    (
        "step7-openat.txt",
        "./target/debug/step7 -f -e trace=execve,openat,write sh -c '/bin/true; echo done'",
        Check::Same,
    ),
    (
        "step9-no-f.txt",
        "./target/debug/step9 --seccomp-bpf -e trace=write echo hello",
        Check::Same,
    ),
    (
        "step10-c-echo.txt",
        "./target/debug/step10 -c echo hello",
        Check::Same,
    ),
    (
        "step10-unprivileged.txt",
        "setpriv --inh-caps=-all --bounding-set=-all ./target/debug/step10 -c echo hello",
        Check::Same,
    ),
];

/// Whether a transcript's command runs step 10, which needs BPF (root, or
/// CAP_BPF and CAP_PERFMON; dropping every capability, as one transcript
/// does, takes root too).
fn needs_bpf(command_line: &str) -> bool {
    command_line.contains("step10")
}

/// The chapter diffs under `book/src/diffs/`: each step's `main.rs` against
/// the one before it, and each file a step copies to change it against its
/// original. `FILE:NAME` is the part of FILE between its `ANCHOR: NAME` and
/// `ANCHOR_END: NAME` markers.
const DIFFS: &[(&str, &str, &str)] = &[
    (
        "step3.diff",
        "steps/step2-traceme/main.rs",
        "steps/step3-every-stop/main.rs",
    ),
    (
        "step4.diff",
        "steps/step3-every-stop/main.rs",
        "steps/step4-enter-exit/main.rs",
    ),
    (
        "step5.diff",
        "steps/step4-enter-exit/main.rs",
        "steps/step5-arguments/main.rs",
    ),
    (
        "step6.diff",
        "steps/step5-arguments/main.rs",
        "steps/step6-trustworthy/main.rs",
    ),
    (
        "step6-spawn.diff",
        "steps/step2-traceme/spawn.rs",
        "steps/step6-trustworthy/spawn.rs",
    ),
    // Step 7's main.rs is step 6's command line, the part of its main.rs
    // above the tracer.
    (
        "step7.diff",
        "steps/step6-trustworthy/main.rs:command_line",
        "steps/step7-many-processes/main.rs",
    ),
    // Step 7's tracer is step 6's, grown for many threads: the part of step
    // 6's main.rs between its `tracer` anchors, against the file it became.
    (
        "step7-tracer.diff",
        "steps/step6-trustworthy/main.rs:tracer",
        "steps/step7-many-processes/tracer.rs",
    ),
    (
        "step8.diff",
        "steps/step7-many-processes/main.rs",
        "steps/step8-seccomp/main.rs",
    ),
    (
        "step8-spawn.diff",
        "steps/step6-trustworthy/spawn.rs",
        "steps/step8-seccomp/spawn.rs",
    ),
    (
        "step9.diff",
        "steps/step8-seccomp/main.rs",
        "steps/step9-seccomp-bpf/main.rs",
    ),
    (
        "step9-seccomp.diff",
        "steps/step8-seccomp/seccomp.rs",
        "steps/step9-seccomp-bpf/seccomp.rs",
    ),
    // Step 10 shares step 4's table: its diff is against step 4.
    (
        "step10.diff",
        "steps/step4-enter-exit/main.rs",
        "steps/step10-ebpf/main.rs",
    ),
    // The exercises' reference solutions, against the step each one changes.
    (
        "ch2_rust_startup.diff",
        "steps/step2-traceme/main.rs",
        "book/solutions/ch2_rust_startup.rs",
    ),
    (
        "ch1_raw_getpid.diff",
        "steps/step1-raw-syscall/main.rs",
        "book/solutions/ch1_raw_getpid.rs",
    ),
    (
        "ch1_bad_pointer.diff",
        "steps/step1-raw-syscall/main.rs",
        "book/solutions/ch1_bad_pointer.rs",
    ),
    (
        "ch3_rax_at_each_stop.diff",
        "steps/step3-every-stop/main.rs",
        "book/solutions/ch3_rax_at_each_stop.rs",
    ),
    (
        "ch4_time_each_call.diff",
        "steps/step4-enter-exit/main.rs",
        "book/solutions/ch4_time_each_call.rs",
    ),
    (
        "ch4_eprintln_lines.diff",
        "steps/step4-enter-exit/main.rs",
        "book/solutions/ch4_eprintln_lines.rs",
    ),
    (
        "ch4_sort_by_calls.diff",
        "steps/step4-enter-exit/main.rs",
        "book/solutions/ch4_sort_by_calls.rs",
    ),
    (
        "ch5_peekdata.diff",
        "steps/step5-arguments/memory.rs",
        "book/solutions/ch5_peekdata_memory.rs",
    ),
    (
        "ch5_uname.diff",
        "steps/step5-arguments/decode.rs",
        "book/solutions/ch5_uname_decode.rs",
    ),
    (
        "ch6_resume_stopped.diff",
        "steps/step6-trustworthy/main.rs",
        "book/solutions/ch6_resume_stopped.rs",
    ),
    (
        "ch7_announce_children.diff",
        "steps/step7-many-processes/main.rs",
        "book/solutions/ch7_announce_children.rs",
    ),
    (
        "ch8_deny_kills.diff",
        "steps/step8-seccomp/main.rs",
        "book/solutions/ch8_deny_kills.rs",
    ),
    (
        "ch10_no_null_check.diff",
        "steps/step10-ebpf/program.rs",
        "book/solutions/ch10_no_null_check_program.rs",
    ),
    (
        "ch10_thread_array.diff",
        "steps/step10-ebpf/main.rs",
        "book/solutions/ch10_thread_array.rs",
    ),
    // The presenters' live coding: step 2, then each stage typed into it.
    (
        "live_1_every_stop.diff",
        "steps/step2-traceme/main.rs",
        "book/solutions/live_1_every_stop.rs",
    ),
    (
        "live_2_enter_exit.diff",
        "book/solutions/live_1_every_stop.rs",
        "book/solutions/live_2_enter_exit.rs",
    ),
];

/// Transcripts show the syscalls of real system programs, which depend on the
/// C library and coreutils of the machine: this file records those of the
/// machine that wrote the transcripts.
const MACHINE_FILE: &str = "transcripts/MACHINE.txt";

fn book_src() -> PathBuf {
    root().join("book/src")
}

fn transcript_path(file: &str) -> PathBuf {
    book_src().join("transcripts").join(file)
}

/// A committed transcript's text. When regenerating, every transcript is
/// written before the first one is read, so no check reads an old one.
fn transcript(file: &str) -> String {
    regenerate_if_asked();
    read(&transcript_path(file))
}

fn regenerate_if_asked() {
    static REGENERATED: std::sync::Once = std::sync::Once::new();
    if updating() {
        REGENERATED.call_once(regenerate_everything);
    }
}

fn updating() -> bool {
    std::env::var_os("UPDATE_TRANSCRIPTS").is_some()
}

/// Runs `command_line` as a reader would in a shell at the repository's root,
/// and returns the transcript: the command, then stdout and stderr
/// interleaved as a terminal would show them.
fn transcript_of(command_line: &str) -> String {
    // The reader types `./target/debug/step2`; we run the binary cargo built
    // for this test, wherever CARGO_TARGET_DIR put it.
    let words: Vec<&str> = shell_words(command_line)
        .into_iter()
        .map(|word| match word.strip_prefix("./target/debug/") {
            Some(name) => binary(name),
            None => word,
        })
        .collect();
    let output = Command::new("sh")
        // One pipe for both streams keeps their order as the terminal sees it.
        .args(["-c", "exec \"$@\" 2>&1", "sh"])
        .args(&words)
        .current_dir(root())
        // A small, fixed environment, so that a transcript is the same
        // wherever it is made: the locale decides which files a program opens,
        // `cargo test` would point the dynamic loader at the toolchain's
        // libraries (LD_LIBRARY_PATH), whose search shows in every trace, and
        // a program that searches PATH itself (env, sh) tries each directory.
        .env_clear()
        .env("PATH", FIXED_PATH)
        .env("LANG", "C.UTF-8")
        .envs(cargo_environment(&words))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command_line}: {e}"));
    format!(
        "$ {command_line}\n{}",
        String::from_utf8_lossy(&output.stdout)
    )
}

/// The words of a command line, split at spaces as a shell does, except in
/// single quotes (`sh -c 'exec true'`); the quotes go.
fn shell_words(command_line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut rest = command_line;
    while !rest.is_empty() {
        let (word, after) = match rest.strip_prefix('\'') {
            Some(quoted) => quoted
                .split_once("' ")
                .unwrap_or((quoted.trim_end_matches('\''), "")),
            None => rest.split_once(' ').unwrap_or((rest, "")),
        };
        words.push(word);
        rest = after;
    }
    words
}

/// The PATH of the transcripts' commands: Debian's default, the same on every
/// machine, whatever the PATH of whoever runs the tests.
const FIXED_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// For a `cargo` command, what cargo needs to find its toolchain again.
fn cargo_environment(words: &[&str]) -> Vec<(&'static str, std::ffi::OsString)> {
    if words[0] != "cargo" {
        return Vec::new();
    }
    [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "CARGO_TARGET_DIR",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
    ]
    .into_iter()
    .filter_map(|name| Some((name, std::env::var_os(name)?)))
    .collect()
}

/// What identifies the programs that the transcripts trace, on this machine:
/// build.rs finds it out, and compares it with MACHINE.txt.
fn machine() -> &'static str {
    include_str!(concat!(env!("OUT_DIR"), "/machine.txt"))
}

// ---------------------------------------------------------------------------
// Masking: what changes from run to run is hidden the same way on both sides.

fn mask(transcript: &str) -> String {
    let lines = transcript.lines().map(|line| {
        if is_summary_row(line) {
            mask_timings(line)
        } else {
            mask_line(line)
        }
    });
    sort_table_rows(lines)
}

/// `% time`, `seconds` and `usecs/call` become `?`; calls, errors and name stay.
fn mask_timings(row: &str) -> String {
    let fields: Vec<&str> = row.split_whitespace().collect();
    format!("? ? ? {}", fields[3..].join(" "))
}

/// Table rows are sorted by time, which varies: put each table's rows (all
/// but the total) in a fixed order.
fn sort_table_rows(lines: impl Iterator<Item = String>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut rows: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with("? ? ? ") && !line.ends_with(" total") {
            rows.push(line);
        } else {
            rows.sort();
            out.append(&mut rows);
            out.push(line);
        }
    }
    rows.sort();
    out.append(&mut rows);
    out.join("\n") + "\n"
}

// ---------------------------------------------------------------------------
// The checks.

/// `diff -u` of two step files, as the book shows it: without the anchor
/// markers, which are there for the book's includes, not for the reader (the
/// line numbers in the hunk headers count the lines the reader sees).
fn diff_of(diff_name: &str, old: &str, new: &str) -> String {
    let scratch = scratch_dir(diff_name);
    let [old_copy, new_copy] = [("old", old), ("new", new)].map(|(side, file)| {
        let text: String = lines_of(file)
            .into_iter()
            .filter(|line| !is_anchor_marker(line))
            .map(|line| format!("{line}\n"))
            .collect();
        let copy = scratch.join(side);
        fs::write(&copy, text).unwrap();
        copy
    });
    let output = Command::new("diff")
        .args(["-u", "--label", old, "--label", new])
        .args([&old_copy, &new_copy])
        .output()
        .unwrap_or_else(|e| panic!("cannot run diff for {diff_name}: {e}"));
    fs::remove_dir_all(&scratch).unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The lines of `FILE`, or of its anchor `NAME` in `FILE:NAME`.
fn lines_of(spec: &str) -> Vec<String> {
    let (file, anchor) = match spec.split_once(':') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (spec, None),
    };
    let text = read(&root().join(file));
    let lines = text.lines().map(str::to_string);
    let Some(anchor) = anchor else {
        return lines.collect();
    };
    let start = format!("ANCHOR: {anchor}");
    let end = format!("ANCHOR_END: {anchor}");
    let inside: Vec<String> = lines
        .skip_while(|line| !line.contains(&start))
        .skip(1)
        .take_while(|line| !line.contains(&end))
        .collect();
    assert!(
        !inside.is_empty(),
        "{spec}: no such anchor, or an empty one"
    );
    inside
}

#[test]
fn chapter_diffs_are_fresh() {
    regenerate_if_asked();
    for (name, old, new) in DIFFS {
        let path = book_src().join("diffs").join(name);
        assert!(
            read(&path) == diff_of(name, old, new),
            "book/src/diffs/{name} is stale: run UPDATE_TRANSCRIPTS=1 cargo test --test book"
        );
    }
}

/// Writes every diff and transcript anew, and MACHINE.txt, keeping a
/// transcript that passes its check (a new pid or timing is no reason to
/// rewrite a file).
fn regenerate_everything() {
    for (name, old, new) in DIFFS {
        fs::write(book_src().join("diffs").join(name), diff_of(name, old, new)).unwrap();
    }
    fs::write(book_src().join(MACHINE_FILE), machine()).unwrap();
    for (file, command_line, check) in TRANSCRIPTS {
        let path = transcript_path(file);
        let fresh = transcript_of(command_line);
        let committed = fs::read_to_string(&path).unwrap_or_default();
        if differs(*check, &committed, &fresh).is_some() {
            fs::write(&path, fresh).unwrap();
        }
    }
}

/// How a committed transcript fails its check against a fresh run, if it does.
fn differs(check: Check, committed: &str, fresh: &str) -> Option<String> {
    match check {
        Check::Same => (mask(committed) != mask(fresh)).then(|| "it changed".to_string()),
        Check::SameButHwcapsLevels => {
            let without_levels = |transcript: &str| {
                let lines = transcript
                    .lines()
                    .filter(|line| !line.contains("/glibc-hwcaps/"));
                mask(&lines.collect::<Vec<_>>().join("\n"))
            };
            (without_levels(committed) != without_levels(fresh))
                .then(|| "it changed (the glibc-hwcaps lines left out)".to_string())
        }
        Check::PlainRunPlusLoaderSearch(plain) => {
            let plain = read(&transcript_path(plain));
            let text_of = |transcript: &str| -> Vec<String> {
                let lines = transcript.lines().filter(|line| !is_summary_row(line));
                lines.map(str::to_string).collect()
            };
            if text_of(committed) != text_of(fresh) {
                return Some("its lines other than the table's rows changed".to_string());
            }
            [committed, fresh]
                .into_iter()
                .find_map(|run| loader_search_only(&plain, run).err())
        }
    }
}

/// Checks what the book says of a run under `cargo run`: its table has the
/// same rows as the plain run's, except that the loader's search of
/// `LD_LIBRARY_PATH` adds `openat` calls that all fail, and `newfstatat` calls
/// that mostly fail (a directory found is examined too).
fn loader_search_only(plain: &str, cargo_run: &str) -> Result<(), String> {
    let (plain, cargo_run) = (summary_counts(plain), summary_counts(cargo_run));
    let names: std::collections::BTreeSet<&String> = plain.keys().chain(cargo_run.keys()).collect();
    for name in names.into_iter().filter(|name| *name != "total") {
        let (calls, errors) = plain.get(name).copied().unwrap_or_default();
        let (more_calls, more_errors) = cargo_run.get(name).copied().unwrap_or_default();
        let extra_calls = more_calls as i64 - calls as i64;
        let extra_errors = more_errors as i64 - errors as i64;
        let as_claimed = match name.as_str() {
            "openat" => extra_calls > 0 && extra_errors == extra_calls,
            "newfstatat" => extra_calls > 0 && 2 * extra_errors > extra_calls,
            _ => extra_calls == 0 && extra_errors == 0,
        };
        if !as_claimed {
            return Err(format!(
                "{name}: {calls} calls and {errors} errors in the plain run, \
                 {more_calls} and {more_errors} under cargo run"
            ));
        }
    }
    Ok(())
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
#[cfg_attr(
    other_machine,
    ignore = "the transcripts were made with other versions of glibc, coreutils or strace \
              (book/src/transcripts/MACHINE.txt)"
)]
fn transcripts_are_fresh() {
    assert_transcripts_are_fresh(|command_line| !needs_bpf(command_line));
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
#[cfg_attr(
    other_machine,
    ignore = "the transcripts were made with other versions of glibc, coreutils or strace \
              (book/src/transcripts/MACHINE.txt)"
)]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_transcripts_are_fresh() {
    assert_transcripts_are_fresh(needs_bpf);
}

/// Runs the commands of the transcripts that `which` picks (by command
/// line) again, and fails if one of them is stale.
fn assert_transcripts_are_fresh(which: impl Fn(&str) -> bool) {
    if updating() {
        regenerate_if_asked();
        return;
    }
    let recorded = read(&book_src().join(MACHINE_FILE));
    assert_eq!(
        recorded,
        machine(),
        "the transcripts were made on a machine with other versions (CI=true: this fails)"
    );
    let mut differing = Vec::new();
    for (file, command_line, check) in TRANSCRIPTS {
        if !which(command_line) {
            continue;
        }
        if let Some(how) = differs(*check, &transcript(file), &transcript_of(command_line)) {
            differing.push(format!("{file} ({how})"));
        }
    }
    // strace's own transcripts do not depend on our code: if they differ
    // too, the machine does, in a way that MACHINE.txt does not capture.
    let machine_differs = differing.iter().any(|file| file.starts_with("strace-"));
    assert!(
        differing.is_empty(),
        "{}: {}",
        if machine_differs {
            "these transcripts differ on this machine, strace's own among them, so the machine \
             differs from the one that made them (not only in the versions MACHINE.txt records)"
        } else {
            "these transcripts are stale (strace's own still match, so the steps changed): run \
             UPDATE_TRANSCRIPTS=1 cargo test --test book, and commit the result"
        },
        differing.join(", ")
    );
}

#[test]
fn cargo_run_adds_only_the_loaders_failed_lookups() {
    // What the introduction and the presenters' appendix say of the
    // `cargo run` table, checked on the committed transcripts themselves.
    let plain = transcript("step4-c-echo.txt");
    let cargo_run = transcript("cargo-run-step4-c-echo.txt");
    assert_eq!(loader_search_only(&plain, &cargo_run), Ok(()));
    // The check can fail: no lookups at all, or one failed call of another
    // syscall, is not what the book describes.
    assert!(loader_search_only(&plain, &plain).is_err());
    let one_more_access = cargo_run.replace("1         1 access", "2         2 access");
    assert_ne!(one_more_access, cargo_run, "the access row moved");
    assert!(loader_search_only(&plain, &one_more_access).is_err());
}

#[test]
fn masking_hides_only_what_varies() {
    // A changed syscall, result or count must still show through the mask.
    let a = "brk(...) = 0x55d0c0de\nset_tid_address(...) = 4242\nread(...) = 3\n";
    let b = "brk(...) = 0x55d0beef\nset_tid_address(...) = 4343\nread(...) = 3\n";
    assert_eq!(mask(a), mask(b));
    assert_ne!(mask(a), mask(&a.replace("= 3", "= 4")));
    // A pid is a pid however many digits it has (CI's are small).
    let child = "step2: child 29242 is stopped\ngetpid() = 29242\nby process 29242, which\n";
    assert_eq!(mask(child), mask(&child.replace("29242", "922")));
    // Addresses inside a string: a line of /proc/self/maps, cut by -s.
    let maps = "read(3, \"[vdso]\\n7ffc1d2e3000-7f\"..., 1024) = 782\n";
    assert_eq!(
        mask(maps),
        mask(&maps.replace("7ffc1d2e3000-7f", "7ffe00aa1000-7e"))
    );
    assert_ne!(mask(maps), mask(&maps.replace("vdso", "vsys")));
    let signals = "kill(29242, SIGTERM)                    = 0\n--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=29242, si_uid=0} ---\n[ Process PID=29242 runs in 32 bit mode. ]\n";
    let short_pid = signals
        .replace("kill(29242, SIGTERM)    ", "kill(922, SIGTERM)      ")
        .replace("29242", "922");
    assert_eq!(mask(signals), mask(&short_pid));
    let sizes = "newfstatat(3, \"\", {st_size=33699, ...}) = 0\n";
    assert_eq!(mask(sizes), mask(&sizes.replace("33699", "34011")));
    let table = " 60.00    0.000006           6         1           read\n 40.00    0.000004           4         1         1 close\n";
    let swapped = " 70.00    0.000007           7         1         1 close\n 30.00    0.000003           3         1           read\n";
    assert_eq!(mask(table), mask(swapped));
    assert_ne!(
        mask(table),
        mask(&table.replace("        1           read", "        2           read"))
    );
}

/// A chapter's text with every run of white space made one space, so that a
/// sentence is found wherever the lines wrap.
fn prose(chapter: &str) -> String {
    one_line(&read(&book_src().join(chapter)))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The total row of a `-c` transcript: (distinct syscalls, calls, errors).
fn totals(file: &str) -> (usize, u64, u64) {
    let counts = summary_counts(&transcript(file));
    let (calls, errors) = counts["total"];
    (counts.len() - 1, calls, errors)
}

#[test]
fn figures_quoted_in_the_book_match_their_transcripts() {
    let (syscalls, calls, errors) = totals("step4-c-echo.txt");
    let (_, cargo_calls, cargo_errors) = totals("cargo-run-step4-c-echo.txt");
    // Chapter 4: "in all three tables" the totals agree; chapter 10: step
    // 10's too.
    for table in [
        "strace-c-echo.txt",
        "strace-c-w-echo.txt",
        "step10-c-echo.txt",
    ] {
        assert_eq!(totals(table), (syscalls, calls, errors), "{table}");
    }
    // Chapter 8: how many syscalls the profile of `ls` allows.
    let profiled = transcript("step8-profile-ls.txt");
    let allowed = profiled
        .split_once(" syscalls allowed")
        .and_then(|(before, _)| before.rsplit(' ').next())
        .expect("step8-profile-ls.txt says how many syscalls it allows");
    let claims = [
        (
            "introduction.md",
            format!("{syscalls} different syscalls and {calls} calls in all, {errors} of which"),
        ),
        (
            "introduction.md",
            format!(
                "made {cargo_calls} calls with {cargo_errors} errors instead of {calls} with {errors}"
            ),
        ),
        (
            "appendix-presenters.md",
            format!(
                "counted {cargo_calls} calls with {cargo_errors} errors, where \
                 `./target/debug/step4 -c echo hello` counted {calls} calls with {errors} errors"
            ),
        ),
        (
            "step4-enter-exit.md",
            format!("made {calls} syscalls of which {errors} failed"),
        ),
        (
            "step10-ebpf.md",
            format!("{calls} calls and {errors} errors in both"),
        ),
        (
            "step8-seccomp.md",
            format!("`ls tests/programs` made {allowed} different syscalls"),
        ),
    ];
    for (chapter, claim) in claims {
        assert!(
            prose(chapter).contains(&claim),
            "{chapter} should say: {claim}"
        );
    }
}

/// The syscall's name, the last field of a `-c` row.
fn name<'a>(row: &[&'a str]) -> &'a str {
    row[row.len() - 1]
}

#[test]
fn timings_quoted_in_chapter_4_match_their_transcripts() {
    let texts = [
        "step4-c-echo.txt",
        "strace-c-w-echo.txt",
        "strace-c-echo.txt",
    ]
    .map(transcript);
    let [step4, wall, system] = texts.each_ref().map(|text| summary_rows(text));
    let (step4_total, wall_total) = (step4.last().unwrap(), wall.last().unwrap());
    let (step4_top, wall_top) = (&step4[0], &wall[0]);
    assert_eq!(name(step4_top), name(wall_top), "the same syscall on top");
    let step4_last = &step4[step4.len() - 2];
    assert_eq!(
        (name(step4_last), step4_last[1]),
        ("execve", "0.000000"),
        "step 4's execve: zero time, at the bottom"
    );
    let wall_execve = wall.iter().find(|row| name(row) == "execve").unwrap();
    // "every row reads zero", so rows fall back to syscall-number order.
    assert!(system.iter().all(|row| row[1] == "0.000000"));
    let first_three: Vec<&str> = system.iter().take(3).map(|row| name(row)).collect();
    assert_eq!(first_three, ["read", "write", "close"]);

    let claims = [
        format!(
            "alike: {} µs per call against {}, `{}` on top of both with {} s against {} s, \
             and a total of {} s against {} s",
            step4_total[2],
            wall_total[2],
            name(step4_top),
            step4_top[1],
            wall_top[1],
            step4_total[1],
            wall_total[1],
        ),
        format!("`execve`: {} µs for `strace -c -w`", wall_execve[2]),
        "in the transcript every row reads zero".to_string(),
        "order: `read` (0), `write` (1), `close` (3)".to_string(),
    ];
    let chapter = prose("step4-enter-exit.md");
    for claim in claims {
        assert!(chapter.contains(&claim), "chapter 4 should say: {claim}");
    }
}

#[test]
fn timings_described_in_chapter_10_match_its_transcript() {
    // "In step 10's, `execve` ... is on top, and takes most of the time;
    // most other calls take a few microseconds or less."
    let step10 = transcript("step10-c-echo.txt");
    let rows = summary_rows(&step10);
    assert_eq!(name(&rows[0]), "execve");
    assert!(rows[0][0].parse::<f64>().unwrap() > 50.0, "{step10}");
    let quick = rows[1..rows.len() - 1]
        .iter()
        .filter(|row| row[2].parse::<u32>().unwrap() < 10);
    assert!(2 * quick.count() > rows.len() - 2, "{step10}");
    let chapter = prose("step10-ebpf.md");
    assert!(chapter.contains("`execve`, which loads a whole program, is on top, and takes most"));
}

/// Every markdown file of the book, with its text.
fn chapters() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![book_src()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                let text = read(&path);
                files.push((path, text));
            }
        }
    }
    files.sort();
    files
}

/// What an `{{#include path…}}` takes from its file.
#[derive(Debug, PartialEq)]
enum Selection {
    Whole,
    /// `path:name`: the lines between `ANCHOR: name` and `ANCHOR_END: name`.
    Anchor(String),
    /// `path:first:last`, `path:first:` or `path:line`, as mdBook reads them:
    /// lines numbered from 1, both ends included; no `last` means to the end.
    Lines {
        first: usize,
        last: Option<usize>,
    },
}

/// The `{{#include …}}` directives of a chapter, as (path, selection).
fn includes(text: &str) -> Vec<(String, Selection)> {
    text.split("{{#include ")
        .skip(1)
        .map(|rest| {
            let target = &rest[..rest.find("}}").expect("an unclosed {{#include")];
            match target.split_once(':') {
                Some((path, selector)) => (path.to_string(), selection(selector)),
                None => (target.to_string(), Selection::Whole),
            }
        })
        .collect()
}

/// Reads what follows the path's `:`: line numbers if it starts with one (or
/// with `:`, mdBook's "from the first line"), an anchor's name otherwise.
fn selection(selector: &str) -> Selection {
    let number = |text: &str| {
        text.parse::<usize>().unwrap_or_else(|_| {
            panic!("{{{{#include …:{selector}}}}}: '{text}' is not a line number")
        })
    };
    let (first, last) = match selector.split_once(':') {
        Some((first, last)) => (first, Some(last)),
        None => (selector, None),
    };
    if !first.is_empty() && !first.starts_with(|c: char| c.is_ascii_digit()) {
        assert!(
            last.is_none(),
            "{{{{#include …:{selector}}}}}: not an anchor name"
        );
        return Selection::Anchor(first.to_string());
    }
    let first_line = if first.is_empty() { 1 } else { number(first) };
    let last_line = match last {
        None => Some(first_line),
        Some("") => None,
        Some(last) => Some(number(last)),
    };
    Selection::Lines {
        first: first_line,
        last: last_line,
    }
}

#[test]
fn include_selections_are_read_as_mdbook_reads_them() {
    let lines = |first, last| Selection::Lines { first, last };
    let cases = [
        ("a.txt", Selection::Whole),
        ("a.rs:loop", Selection::Anchor("loop".to_string())),
        ("a.txt:1:25", lines(1, Some(25))),
        ("a.txt:26:", lines(26, None)),
        ("a.txt::10", lines(1, Some(10))),
        ("a.txt:7", lines(7, Some(7))),
    ];
    for (target, expected) in cases {
        let found = includes(&format!("{{{{#include {target}}}}}"));
        assert_eq!(
            found,
            [(target.split(':').next().unwrap().to_string(), expected)]
        );
    }
}

/// The lines of `file` (numbered from 1) that `selection` takes, or why it
/// takes none: a missing or empty anchor, or lines that are not in the file.
fn selected_lines(
    source: &str,
    selection: &Selection,
) -> Result<std::ops::RangeInclusive<usize>, String> {
    let count = source.lines().count();
    match selection {
        Selection::Whole => Ok(1..=count),
        Selection::Anchor(anchor) => {
            let lines: Vec<&str> = source.lines().collect();
            let marker = |kind: &str| {
                let marker = format!("{kind}: {anchor}");
                lines.iter().position(|line| line.ends_with(&marker))
            };
            let (Some(start), Some(end)) = (marker("ANCHOR"), marker("ANCHOR_END")) else {
                return Err(format!("no anchor '{anchor}'"));
            };
            // The lines between the two markers, numbered from 1.
            let body = start + 2..=end;
            if body
                .clone()
                .all(|number| is_anchor_marker(lines[number - 1]))
            {
                return Err(format!("anchor '{anchor}' is empty"));
            }
            Ok(body)
        }
        Selection::Lines { first, last } => {
            let last = last.unwrap_or(count);
            if *first == 0 || first > &last || last > count {
                return Err(format!(
                    "lines {first} to {last} of a file of {count} lines"
                ));
            }
            Ok(*first..=last)
        }
    }
}

#[test]
fn every_include_resolves_to_a_real_anchor() {
    // mdBook only logs a failed include, renders a missing anchor as an empty
    // block, and silently shortens a line range past the end: all would pass
    // its build unnoticed.
    regenerate_if_asked();
    let mut count = 0;
    for (chapter, text) in chapters() {
        for (path, selection) in includes(&text) {
            let file = chapter.parent().unwrap().join(&path);
            assert!(file.is_file(), "{}: no file {path}", chapter.display());
            if let Err(problem) = selected_lines(&read(&file), &selection) {
                panic!("{}: {path}: {problem}", chapter.display());
            }
            count += 1;
        }
    }
    assert!(count > 0, "the book includes no code at all");
}

#[test]
fn a_transcript_shown_in_pieces_is_shown_whole() {
    // A long transcript is shown as a head, the rest folded, and a tail, by
    // line numbers: when it is regenerated with more lines or fewer, no line
    // may fall between the pieces.
    regenerate_if_asked();
    for (chapter, text) in chapters() {
        let mut pieces: BTreeMap<String, Vec<std::ops::RangeInclusive<usize>>> = BTreeMap::new();
        for (path, selection) in includes(&text) {
            if matches!(selection, Selection::Lines { .. }) {
                let source = read(&chapter.parent().unwrap().join(&path));
                let lines = selected_lines(&source, &selection).unwrap();
                pieces.entry(path).or_default().push(lines);
            }
        }
        for (path, ranges) in pieces {
            let count = read(&chapter.parent().unwrap().join(&path)).lines().count();
            let missing: Vec<usize> = (1..=count)
                .filter(|line| !ranges.iter().any(|range| range.contains(line)))
                .collect();
            assert!(
                missing.is_empty(),
                "{}: {path}: lines {missing:?} are in no piece",
                chapter.display()
            );
        }
    }
}

#[test]
fn trace_lines_quoted_in_text_blocks_are_lines_of_transcripts() {
    // A syscall line typed into a ```text block is a quotation of a trace:
    // it must stand, masked, in one of the generated transcripts.
    let transcripts: String = fs::read_dir(book_src().join("transcripts"))
        .unwrap()
        .map(|entry| read(&entry.unwrap().path()))
        .collect();
    let known: std::collections::BTreeSet<String> = transcripts.lines().map(mask_line).collect();
    let is_syscall_line = |line: &str| {
        line.split_once('(').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) && line.contains(" = ")
    };
    let mut count = 0;
    for (chapter, text) in chapters() {
        for block in text.split("```text\n").skip(1) {
            let body = block.split("```").next().unwrap_or_default();
            for line in body.lines().filter(|line| is_syscall_line(line)) {
                assert!(
                    known.contains(&mask_line(line)),
                    "{}: `{line}` is in no transcript",
                    chapter.display()
                );
                count += 1;
            }
        }
    }
    assert!(
        count > 0,
        "no quoted trace line found: is the check still looking?"
    );
}

#[test]
fn rust_blocks_that_cannot_compile_alone_are_marked() {
    // `mdbook test` compiles every ```rust block; an excerpt of a step cannot
    // compile alone, so it must say `ignore`.
    for (chapter, text) in chapters() {
        for block in text.split("```rust").skip(1) {
            let info = block.lines().next().unwrap_or_default();
            assert!(
                info.contains("ignore"),
                "{}: ```rust{info} block",
                chapter.display()
            );
        }
    }
}

#[test]
fn every_step_has_a_chapter_and_every_chapter_is_listed() {
    let summary = read(&book_src().join("SUMMARY.md"));
    for entry in fs::read_dir(root().join("steps")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let chapter = format!("{}.md", path.file_name().unwrap().to_string_lossy());
            assert!(book_src().join(&chapter).is_file(), "no chapter {chapter}");
            assert!(
                summary.contains(&format!("]({chapter})")),
                "{chapter} not in SUMMARY.md"
            );
        }
    }
    for (chapter, _) in chapters() {
        let relative = chapter
            .strip_prefix(book_src())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if relative != "SUMMARY.md" {
            assert!(
                summary.contains(&format!("]({relative})")),
                "{relative} not in SUMMARY.md"
            );
        }
    }
}

#[test]
fn every_test_the_book_names_exists() {
    // "The test `name`" or "The test `tests/file.rs`": a claim that something
    // is checked must point at a real check.
    let sources: String = fs::read_dir(root().join("tests"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| read(&path))
        .collect();
    let mut count = 0;
    let readme = root().join("README.md");
    let texts = chapters()
        .into_iter()
        .chain([(readme.clone(), read(&readme))]);
    for (chapter, text) in texts {
        for rest in one_line(&text).split("test `").skip(1) {
            let named = &rest[..rest.find('`').unwrap()];
            // "cargo test" at the end of a line, before a code fence's ```.
            if named.is_empty() {
                continue;
            }
            let exists = if named.starts_with("tests/") {
                root().join(named).is_file()
            } else {
                sources.contains(&format!("fn {named}("))
            };
            assert!(exists, "{}: no test {named}", chapter.display());
            count += 1;
        }
        // Named another way ("The tests `a` and `b`", "cargo test NAME"): a
        // test's name is a sentence in snake case, which nothing else in the
        // book is but the kernel's BPF helpers.
        let prose: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("```"))
            .map(|line| format!("{line}\n"))
            .collect();
        for quoted in prose.split('`').skip(1).step_by(2) {
            let sentence = quoted.split(' ').next_back().unwrap_or_default();
            let is_name = sentence.matches('_').count() >= 3
                && sentence
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            // (`cargo test NAME` runs the tests whose names contain NAME.)
            if is_name && !sentence.starts_with("bpf_") {
                assert!(
                    sources.contains(&format!("fn {sentence}")),
                    "{}: no test {sentence}",
                    chapter.display()
                );
                count += 1;
            }
        }
    }
    assert!(count > 0, "the book names no test");
}

/// The targets of the markdown links `[text](target)` of a chapter.
fn links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.find(')').map(|end| rest[..end].to_string()))
        .collect()
}

#[test]
fn every_internal_link_resolves() {
    for (chapter, text) in chapters() {
        for link in links(&text) {
            if link.starts_with("http") || link.starts_with('#') {
                continue;
            }
            let (path, _fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = chapter.parent().unwrap().join(path);
            assert!(target.exists(), "{}: broken link {link}", chapter.display());
        }
    }
}
