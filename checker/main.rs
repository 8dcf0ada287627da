//! check-my-step: checks a tracer, yours, in any language, against what one
//! chapter of the book promises. `scripts/check-my-step` builds and runs it:
//!
//!   scripts/check-my-step 4 ./my-tracer       step 4's checks, on ./my-tracer
//!   scripts/check-my-step --all 4 ./my-tracer and the contracts of every step
//!   scripts/check-my-step 4                   on mine/main.rs, your own file
//!
//! The program is run as `PROGRAM [OPTIONS] COMMAND ARGS…` and writes its trace
//! on stderr, as the steps do; step 1's program is run alone. The checks of a
//! step are its chapter's promises, in the chapter's order, and the first one
//! that fails stops the run: it says what ran, what was expected, what was
//! seen, a hint, and the section of the chapter to reread. Exit status: 0 all
//! passed, 1 a check failed, 2 a wrong command line.
//!
//! `check-my-step --list` prints every check: step, chapter, section, promise.
//! The checks are in talk.rs (steps 1 to 4), later.rs (5 to 10) and
//! contracts.rs (every step, with `--all`).

mod check;
mod contracts;
mod later;
mod lines;
mod run;
mod talk;

use check::{Check, Context, Problem};
use std::path::PathBuf;
use std::process::ExitCode;

/// Each step's chapter: its file under book/src/, and its title.
pub const CHAPTERS: [(&str, &str); 10] = [
    ("step1-raw-syscall.md", "A syscall with nothing in between"),
    ("step2-traceme.md", "Becoming a tracer"),
    ("step3-every-stop.md", "Every stop, and the bug"),
    ("step4-enter-exit.md", "The fix, and counting"),
    ("step5-arguments.md", "Reading another process's memory"),
    ("step6-trustworthy.md", "A tracer you can trust"),
    ("step7-many-processes.md", "Many processes"),
    ("step8-seccomp.md", "Least privilege"),
    ("step9-seccomp-bpf.md", "Tracing at full speed"),
    ("step10-ebpf.md", "Counting without stopping (step 10)"),
];

/// The checks of step `n`, in its chapter's order.
fn checks_of(n: usize) -> &'static [Check] {
    [
        talk::STEP1,
        talk::STEP2,
        talk::STEP3,
        talk::STEP4,
        later::STEP5,
        later::STEP6,
        later::STEP7,
        later::STEP8,
        later::STEP9,
        later::STEP10,
    ][n - 1]
}

const USAGE: &str =
    "usage: check-my-step [--all] STEP PROGRAM (STEP 1 to 10), or check-my-step --list";

fn main() -> ExitCode {
    quiet_on_closed_stdout_and_panics();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["--list"] => list(),
        ["--all", step, program] => check_step(step, program, true),
        [step, program] => check_step(step, program, false),
        _ => usage(),
    }
}

/// `check-my-step 4 ./mine | head` ends quietly, as a shell command does
/// (Rust ignores SIGPIPE, and would panic on the closed pipe), and a bug of
/// the checker's own says so in one line, without a backtrace.
fn quiet_on_closed_stdout_and_panics() {
    // SAFETY: restores the default action of one signal, before any thread.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    std::panic::set_hook(Box::new(|info| {
        eprintln!("check-my-step: a bug of the checker's own, not of your tracer: {info}");
    }));
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// Every check, one a line: its number, its promise, the section it names
/// and its chapter's file, with ` | ` between them. The contracts of every
/// step, which `--all` adds, are numbered `all.N`.
fn list() -> ExitCode {
    let steps = (1..=10).map(|step| (step.to_string(), checks_of(step)));
    let all = std::iter::once(("all".to_string(), contracts::every_step(2)));
    for (label, checks) in steps.chain(all) {
        for (i, check) in checks.iter().enumerate() {
            let (chapter, _) = CHAPTERS[check.step as usize - 1];
            let number = format!("{label}.{}", i + 1);
            println!(
                "{number:<6} {} | {} | {chapter}",
                check.promise, check.section
            );
        }
    }
    ExitCode::SUCCESS
}

fn check_step(step: &str, program: &str, all: bool) -> ExitCode {
    let Some(n) = step.parse().ok().filter(|n| (1..=10).contains(n)) else {
        return usage();
    };
    let mut checks: Vec<&Check> = checks_of(n).iter().collect();
    if all {
        checks.extend(contracts::every_step(n));
    }
    let context = Context {
        step: n,
        program: PathBuf::from(program),
        tracee: tracee(),
        scratch: scratch_dir(),
    };
    let passed = run_checks(n, &checks, &context);
    let _ = std::fs::remove_dir_all(&context.scratch);
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs the checks in order, and stops at the first failure, which it reports.
fn run_checks(step: usize, checks: &[&Check], context: &Context) -> bool {
    let (_, title) = CHAPTERS[step - 1];
    let count = match checks.len() {
        1 => "1 check".to_string(),
        n => format!("{n} checks"),
    };
    println!(
        "[check] step {step}, \"{title}\": {count} on {}",
        run::shell_line(&context.program, &[])
    );
    let mut skipped = 0;
    for (i, check) in checks.iter().enumerate() {
        let label = format!("[check {step}.{}]", i + 1);
        match (check.check)(context) {
            Ok(()) => println!("{label} ok: {}", check.promise),
            Err(Problem::Skip(why)) => {
                println!("{label} skip: {} ({why})", check.promise);
                skipped += 1;
            }
            Err(Problem::Fail(failure)) => {
                report(&label, check, &failure);
                return false;
            }
        }
    }
    // A skipped check is not a passed one: say how many were not run.
    match skipped {
        0 => println!("[check] step {step}: all passed"),
        n => println!("[check] step {step}: the others passed, {n} skipped (see above why)"),
    }
    true
}

fn report(label: &str, check: &Check, failure: &check::Failure) {
    let (chapter, title) = CHAPTERS[check.step as usize - 1];
    println!("{label} FAIL: {}", check.promise);
    println!("  ran:      {}", failure.ran);
    println!("  expected: {}", wrapped(&failure.expected));
    println!("  seen:");
    for line in &failure.seen {
        println!("    | {line}");
    }
    println!("  hint:     {}", wrapped(&failure.hint));
    println!("  reread:   \"{}\"", check.section);
    println!(
        "            in chapter {}, \"{title}\" (book/src/{chapter})",
        check.step
    );
}

/// `text` cut into lines of at most 78 columns after the 12 of its label,
/// the lines after the first indented under it.
fn wrapped(text: &str) -> String {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().unwrap(); // never empty: one line to start
        if !line.is_empty() && line.len() + 1 + word.len() > 78 {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.join("\n            ")
}

/// The tests' tracee, built beside this program (tests/programs/tracee.rs).
fn tracee() -> String {
    let here = std::env::current_exe().unwrap_or_default();
    here.with_file_name("tracee").to_string_lossy().into_owned()
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("check-my-step-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}
