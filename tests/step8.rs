//! Step 8: least privilege. `--deny` makes the named calls fail with EPERM,
//! and the tracer shows them failing; `--profile` writes what a program used
//! and `--sandbox` runs it under that, with the same output, or fails it
//! where the profile is one call short; an x32 call is refused under any
//! profile; a bad profile is refused before anything runs. Every run has a
//! time limit: a tracer that hangs fails the test.

mod common;
use common::*;

use std::fs;
use std::path::{Path, PathBuf};

fn step8(args: &[&str]) -> std::process::Output {
    run_within(HANG, binary("step8"), args)
}

/// The profile `--profile` writes of `command`.
fn profile_of(command: &[&str]) -> PathBuf {
    let path = scratch_file("profile.json");
    let output = step8(&[&["--profile", path.to_str().unwrap()], command].concat());
    assert!(output.status.success(), "{output:?}");
    assert!(
        stderr(&output).contains("syscalls allowed, every other one fails with EPERM"),
        "{output:?}"
    );
    path
}

fn sandboxed(profile: &Path, command: &[&str]) -> std::process::Output {
    step8(&[&["--sandbox", profile.to_str().unwrap()], command].concat())
}

/// The names a profile allows, in its order.
fn allowed(profile: &Path) -> Vec<String> {
    let text = read(profile);
    let start = text.find("\"names\": [").expect("a names list");
    let end = start + text[start..].find(']').unwrap();
    text[start..end]
        .lines()
        .skip(1)
        .filter(|line| line.trim().starts_with('"'))
        .map(|line| {
            line.trim()
                .trim_end_matches(',')
                .trim_matches('"')
                .to_string()
        })
        .collect()
}

#[test]
fn deny_fails_the_named_call_with_eperm_and_the_tracer_shows_it() {
    let output = step8(&["--deny", "openat", "cat", "/etc/hostname"]);
    let trace = stderr(&output);
    // cat's first openat is the dynamic loader's, for libc: cat never runs.
    assert!(
        trace.lines().any(|line| line.starts_with("openat(")
            && line.ends_with("= -1 EPERM (Operation not permitted)")),
        "{trace}"
    );
    assert!(
        trace
            .lines()
            .any(|line| line.starts_with("cat: ") && line.ends_with("Operation not permitted")),
        "{trace}"
    );
    assert!(stdout(&output).is_empty());
    // The program's status is ours, as the trace's last line says.
    let code = output.status.code().expect("an exit status");
    assert_ne!(code, 0);
    assert!(
        trace.ends_with(&format!("+++ exited with {code} +++\n")),
        "{trace}"
    );
}

#[test]
fn deny_write_leaves_echo_silent_and_failing() {
    let output = step8(&["--deny", "write,writev", "echo", "hello"]);
    let trace = stderr(&output);
    assert!(
        trace
            .lines()
            .any(|line| line.starts_with("write(1, \"hello\\n\", 6)")
                && line.ends_with("= -1 EPERM (Operation not permitted)")),
        "{trace}"
    );
    assert_eq!(stdout(&output), "");
    // echo notices that its write failed, as it would on a full disk.
    assert_eq!(output.status.code(), Some(1), "{trace}");
    // Without the filter, the same command works: the filter made the difference.
    assert_eq!(stdout(&step8(&["echo", "hello"])), "hello\n");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn a_profile_allows_exactly_the_syscalls_strace_sees_the_program_make() {
    // strace -f -c, the judge, counts every call from the execve on, in
    // every process, but exit_group, which never returns.
    let command = ["sh", "-c", "ls / | wc -l"];
    let profile = profile_of(&command);
    let mut seen: Vec<String> = summary_counts(&run_strace(&["-f", "-c"], &command))
        .into_keys()
        .filter(|name| name != "total")
        .chain(["exit_group".to_string()])
        .collect();
    seen.sort();
    assert_eq!(allowed(&profile), seen);
    fs::remove_file(profile).unwrap();
}

#[test]
fn a_program_under_its_own_profile_prints_what_it_prints_unsandboxed() {
    let directory = env!("CARGO_MANIFEST_DIR");
    let command = ["ls", "-la", directory];
    let profile = profile_of(&command);
    let names = allowed(&profile);
    assert!(names.is_sorted(), "{names:?}");
    for name in ["execve", "openat", "getdents64", "write", "exit_group"] {
        assert!(names.contains(&name.to_string()), "{name}: {names:?}");
    }
    let untraced = run("ls", &command[1..]);
    let sandboxed = sandboxed(&profile, &command);
    assert_eq!(stdout(&sandboxed), stdout(&untraced));
    assert_eq!(stderr(&sandboxed), "");
    assert_eq!(sandboxed.status.code(), Some(0));
    fs::remove_file(profile).unwrap();
}

#[test]
fn a_profile_without_openat_fails_the_program_with_eperm() {
    let command = ["ls", "-la", env!("CARGO_MANIFEST_DIR")];
    let profile = profile_of(&command);
    let text = read(&profile);
    let without = text.replace("\t\t\t\t\"openat\",\n", "");
    assert_ne!(without, text, "openat was in the profile");
    fs::write(&profile, without).unwrap();
    let output = sandboxed(&profile, &command);
    assert_eq!(stdout(&output), "");
    assert_ne!(output.status.code(), Some(0));
    // Step 8's own tracer shows the refusal: it traces step 8 installing
    // the filter (seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=…, filter=…})),
    // then ls failing to open what it needs.
    let sandbox = ["--sandbox", profile.to_str().unwrap()];
    let traced = step8(
        &[
            &["-e", "trace=seccomp,openat", binary("step8")],
            &sandbox[..],
            &command,
        ]
        .concat(),
    );
    let trace = stderr(&traced);
    assert!(
        trace.lines().any(
            |line| line.starts_with("seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=")
                && line.ends_with("= 0")
        ),
        "{trace}"
    );
    let after_filter = &trace[trace.find("seccomp(").unwrap()..];
    let opens: Vec<&str> = after_filter
        .lines()
        .filter(|l| l.starts_with("openat("))
        .collect();
    assert!(!opens.is_empty(), "{trace}");
    for line in opens {
        assert!(
            line.ends_with("= -1 EPERM (Operation not permitted)"),
            "{line}"
        );
    }
    fs::remove_file(profile).unwrap();
}

#[test]
fn an_x32_call_is_refused_under_any_profile() {
    let tracee = binary("tracee");
    // Unfiltered, the kernel answers it: ENOSYS where it was built without
    // x32, which is most kernels; a number where x32 is there.
    let unfiltered = stdout(&run(tracee, &["x32-getpid"]));
    assert!(
        ["x32 getpid: ENOSYS\n", "x32 getpid: ok\n"].contains(&unfiltered.as_str()),
        "{unfiltered}"
    );
    // Its own profile (the x32 call is not in it: it is not an x86_64 call),
    // and a profile that allows everything.
    let own = profile_of(&[tracee, "x32-getpid"]);
    for profile in [&own, Path::new(ALLOW_EVERYTHING)] {
        let output = sandboxed(profile, &[tracee, "x32-getpid"]);
        assert_eq!(stdout(&output), "x32 getpid: EPERM\n", "{}", read(profile));
        assert_eq!(output.status.code(), Some(0));
    }
    fs::remove_file(own).unwrap();
}

#[test]
fn a_32_bit_call_is_refused_under_any_profile() {
    let tracee = binary("tracee");
    assert_eq!(stdout(&run(tracee, &["int80-write"])), "int 0x80\n");
    // tracee exits with 1 when its write does not write.
    let output = sandboxed(Path::new(ALLOW_EVERYTHING), &[tracee, "int80-write"]);
    assert_eq!(stdout(&output), "");
    assert_eq!(output.status.code(), Some(1));
}

/// Runs `--sandbox` with a profile of `text`, on a command that would leave
/// a file behind, and returns what step 8 said: one line, exit status 2,
/// nothing run.
fn refused_profile(text: &str) -> String {
    let profile = scratch_file("bad.json");
    fs::write(&profile, text).unwrap();
    let marker = scratch_file("ran");
    let output = sandboxed(&profile, &["touch", marker.to_str().unwrap()]);
    fs::remove_file(&profile).unwrap();
    assert!(!marker.exists(), "the command ran under a bad profile");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.starts_with("step8: "), "{message}");
    assert!(message.contains(profile.to_str().unwrap()), "{message}");
    message
}

#[test]
fn a_failed_run_leaves_the_profile_as_it_was_and_nothing_new() {
    // A profile written earlier, then runs that cannot trace anything: a
    // command that does not exist, a process that does not; then one that
    // works, which reads the file while it runs.
    let old = "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\n";
    for step in ["step8", "step9"] {
        let dir = scratch_dir("profile-kept");
        let path = dir.join("p.json");
        let profile = path.to_str().unwrap();
        fs::write(&path, old).unwrap();
        let files = || -> Vec<String> {
            let entries = fs::read_dir(&dir).unwrap();
            entries
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        };
        for failing in [&["no-such-command-here"][..], &["-p", "2147483647"]] {
            let args = [&["--profile", profile][..], failing].concat();
            let output = run_within(HANG, binary(step), &args);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{step} {failing:?}: {output:?}"
            );
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                old,
                "{step} {failing:?}"
            );
            assert_eq!(files(), ["p.json"], "{step} {failing:?}");
        }
        let output = run_within(HANG, binary(step), &["--profile", profile, "cat", profile]);
        assert!(output.status.success(), "{step}: {output:?}");
        assert_eq!(
            stdout(&output),
            old,
            "{step}: the profile was emptied as it ran"
        );
        assert!(read(&path).contains("\"defaultAction\": \"SCMP_ACT_ERRNO\""));
        assert_eq!(files(), ["p.json"], "{step}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_profile_told_to_end_holds_what_ran_until_then() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    // SIGTERM to the tracer: the program is let go, and the profile written
    // of what it made until then, which is said.
    let program = [binary("tracee"), "endings-handler"];
    for step in ["step8", "step9"] {
        let path = scratch_file("told.json");
        let mut tracer = std::process::Command::new(binary(step))
            .args(["--profile", path.to_str().unwrap()])
            .args(program)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = [0u8; 6];
        tracer
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut ready)
            .unwrap();
        asleep_child(tracer.id());
        let pid = nix::unistd::Pid::from_raw(tracer.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let output = tracer.wait_with_output().unwrap();
        assert_eq!(output.status.signal(), Some(libc::SIGTERM), "{output:?}");
        let message = stderr(&output);
        assert!(
            message.contains(" syscalls allowed (what ran until SIGTERM), "),
            "{message}"
        );
        let profile = read(&path);
        assert!(
            profile.contains("\"pause\"") && profile.contains("\"write\""),
            "{profile}"
        );
        fs::remove_file(&path).unwrap();
    }
}

#[test]
fn a_profile_that_cannot_be_written_is_said_before_anything_runs() {
    let marker = scratch_file("ran");
    let touch = ["touch", marker.to_str().unwrap()];
    let output = step8(&[&["--profile", "/nonexistent/dir/p.json"][..], &touch].concat());
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("cannot create the profile /nonexistent/dir/p.json"),
        "{message}"
    );
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn a_profile_nested_too_deep_is_refused_with_where() {
    // Each level is a call of the reader's: a million would overflow its
    // stack and kill step 8 without a word.
    let message = refused_profile(&"[".repeat(1_000_000));
    assert!(
        message.contains("line 1, column 65: nested more than 64 levels deep"),
        "{message}"
    );
}

#[test]
fn a_profile_that_refuses_execve_is_refused() {
    // Run, it would leave a process that can neither start the program nor,
    // its write and exit_group refused too, say why: it would crash.
    for text in [
        r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_KILL"}]}"#,
    ] {
        let message = refused_profile(text);
        assert!(message.contains("execve is not allowed"), "{message}");
    }
}

#[test]
fn a_profile_that_is_not_json_is_refused_with_where() {
    let message = refused_profile("{\n  \"defaultAction\": SCMP_ACT_ALLOW\n}\n");
    assert!(
        message.contains("not valid JSON: line 2, column 20"),
        "{message}"
    );
    let message = refused_profile("{\"defaultAction\": \"SCMP_ACT_ALLOW\",}");
    assert!(
        message.contains("not valid JSON: line 1, column 36"),
        "{message}"
    );
    let message = refused_profile("");
    assert!(message.contains("not valid JSON"), "{message}");
}

#[test]
fn a_profile_that_is_not_an_object_is_refused() {
    let message = refused_profile("[\"read\", \"write\"]");
    assert!(message.contains("a profile is a JSON object"), "{message}");
}

#[test]
fn a_syscall_that_does_not_exist_is_refused_with_where() {
    let message = refused_profile(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["write", "opne"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    assert!(
        message.contains("syscalls[1].names[1]: 'opne' is not the name of an x86_64 syscall"),
        "{message}"
    );
}

#[test]
fn an_unknown_action_is_refused_with_where() {
    let message = refused_profile(r#"{"defaultAction": "SCMP_ACT_MAYBE"}"#);
    assert!(
        message.contains("defaultAction: unknown action 'SCMP_ACT_MAYBE'"),
        "{message}"
    );
    let message = refused_profile(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    assert!(
        message.contains("syscalls[0].action: unknown action 'SCMP_ACT_NOTIFY'"),
        "{message}"
    );
}

#[test]
fn a_message_quotes_a_short_escaped_prefix_of_what_the_profile_holds() {
    // A name 5 MB long, control characters and NUL bytes: the message
    // stays one short line, and writes none of them raw.
    let short_and_clean = |message: &str| {
        assert!(
            message.len() < 400,
            "{} bytes: {}",
            message.len(),
            &message[..400]
        );
        assert!(
            !message.trim_end().chars().any(char::is_control),
            "{message:?}"
        );
    };
    let huge = "A".repeat(5_000_000);
    let message = refused_profile(&format!(r#"{{"defaultAction": "{huge}"}}"#));
    short_and_clean(&message);
    let prefix = "A".repeat(32);
    assert!(
        message.contains(&format!("unknown action '{prefix}...' (5000000 bytes)")),
        "{message}"
    );
    let message = refused_profile(r#"{"defaultAction": "\u0000\u001b[31mred"}"#);
    short_and_clean(&message);
    assert!(
        message.contains(r"unknown action '\0\u{1b}[31mred'"),
        "{message:?}"
    );
    let message = refused_profile(&format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": ["{huge}"], "action": "SCMP_ACT_ALLOW"}}]}}"#
    ));
    short_and_clean(&message);
    assert!(
        message.contains(&format!("'{prefix}...' (5000000 bytes) is not the name")),
        "{message}"
    );
    let message = refused_profile("\0{}");
    short_and_clean(&message);
    assert!(
        message.contains(r"'\0' cannot start a JSON value"),
        "{message:?}"
    );
    let message = refused_profile(&"1-".repeat(2_500_000));
    short_and_clean(&message);
    assert!(
        message.contains("(5000000 bytes) is not a number"),
        "{message}"
    );
}

#[test]
fn rules_with_conditions_are_refused_not_weakened() {
    // As in Docker's own profile: a rule for some arguments only, and rules
    // for containers with, or without, a capability.
    for (condition, value) in [
        (
            "args",
            r#"[{"index": 0, "value": 2080505856, "op": "SCMP_CMP_MASKED_EQ"}]"#,
        ),
        ("includes", r#"{"caps": ["CAP_SYS_ADMIN"]}"#),
        ("excludes", r#"{"caps": ["CAP_SYS_PTRACE"]}"#),
    ] {
        let message = refused_profile(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO",
                "syscalls": [{{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                               "{condition}": {value}}}]}}"#
        ));
        assert!(
            message.contains(&format!("syscalls[0].{condition}: rules with conditions")),
            "{message}"
        );
        assert!(message.contains("are not supported"), "{message}");
    }
    // Empty conditions, as Docker writes them on plain rules, say nothing.
    let profile = scratch_file("empty-conditions.json");
    fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO",
                          "args": [], "includes": {}, "excludes": {}}]}"#,
    )
    .unwrap();
    assert_eq!(stdout(&sandboxed(&profile, &["echo", "hi"])), "hi\n");
    fs::remove_file(profile).unwrap();
}

#[test]
fn an_errno_rule_returns_its_errno() {
    // A profile that refuses openat with ENOENT (2) rather than EPERM.
    let profile = scratch_file("enoent.json");
    fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2}]}"#,
    )
    .unwrap();
    let output = sandboxed(&profile, &["cat", "/etc/hostname"]);
    assert!(
        stderr(&output).contains("No such file or directory"),
        "{output:?}"
    );
    fs::remove_file(profile).unwrap();
}

#[test]
fn a_missing_profile_is_refused() {
    let output = step8(&["--sandbox", "/no/such/profile.json", "true"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("step8: cannot read the profile /no/such/profile.json: "),
        "{output:?}"
    );
}

#[test]
fn bad_seccomp_options_are_usage_errors() {
    for (args, expected) in [
        (
            &["--deny", "opne", "true"][..],
            "--deny: 'opne' is not the name of a syscall",
        ),
        (&["--deny"][..], "option --deny needs a value"),
        (
            &["--sandboxx", "p.json", "true"][..],
            "unknown option '--sandboxx'",
        ),
        (
            &["--deny", "read", "-p", "1"][..],
            "--deny applies to a COMMAND we start",
        ),
    ] {
        let output = step8(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).contains(expected), "{args:?}: {output:?}");
    }
    let output = step8(&["-f", "--sandbox", ALLOW_EVERYTHING, "true"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--sandbox runs a COMMAND untraced"),
        "{output:?}"
    );
}

/// `podman run` of `ls /` in `container`, under `profile` if given.
fn run_ls(container: &Container, profile: Option<&Path>) -> Vec<String> {
    let seccomp = profile.map(|profile| format!("seccomp={}", profile.display()));
    let options = match &seccomp {
        Some(seccomp) => vec!["--security-opt", seccomp.as_str()],
        None => vec![],
    };
    container.run_args(&options, &["/usr/bin/ls", "/"])
}

fn ls(container: &Container, profile: Option<&Path>) -> std::process::Output {
    let args = run_ls(container, profile);
    container.podman(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
#[cfg_attr(
    no_podman,
    ignore = "needs podman and runc, as root: apt-get install podman runc (see build.rs's warning)"
)]
fn a_generated_profile_is_loaded_by_podman() {
    let container = Container::new("ls", &["/usr/bin/ls"]);
    let unfiltered = ls(&container, None);
    assert!(unfiltered.status.success(), "{unfiltered:?}");
    assert!(stdout(&unfiltered).contains("usr\n"), "{unfiltered:?}");

    // A profile of `ls /` alone is not enough: the runtime installs the
    // filter, then makes calls of its own before it becomes ls (runc checks
    // /proc/self/fd, to close what ls must not inherit).
    let ls_alone = profile_of(&["ls", "/"]);
    let refused = ls(&container, Some(&ls_alone));
    assert!(!refused.status.success(), "{refused:?}");
    assert!(stderr(&refused).contains("/proc/self/fd"), "{refused:?}");

    // The profile of the whole run, podman, runc and ls: podman loads it,
    // and ls prints what it prints without it.
    let whole_run = container.podman_command(
        &run_ls(&container, None)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let whole_run: Vec<&str> = whole_run.iter().map(String::as_str).collect();
    let whole = profile_of(&whole_run);
    let allowed = ls(&container, Some(&whole));
    assert!(allowed.status.success(), "{allowed:?}");
    assert_eq!(stdout(&allowed), stdout(&unfiltered));

    // One call short: the container does not start.
    let text = read(&whole).replace("\t\t\t\t\"openat\",\n", "");
    fs::write(&whole, text).unwrap();
    let short = ls(&container, Some(&whole));
    assert!(!short.status.success(), "{short:?}");
    assert!(
        stderr(&short).contains("operation not permitted"),
        "{short:?}"
    );
    for profile in [ls_alone, whole] {
        fs::remove_file(profile).unwrap();
    }
}
