//! Step 2: fork, PTRACE_TRACEME, exec; the stop right after execve.

mod common;
use common::*;

use std::os::unix::ffi::OsStrExt;

#[test]
fn step2_sees_the_child_stopped_after_execve() {
    let output = run_binary("step2", &["echo", "hello"]);
    let trace = stderr(&output);
    assert!(
        trace.contains("is stopped right after its execve"),
        "{trace}"
    );
    let orig_rax = trace
        .lines()
        .find(|l| l.trim_start().starts_with("orig_rax"))
        .unwrap();
    let words: Vec<&str> = orig_rax.split_whitespace().collect();
    // orig_rax = 59, and 59 is execve: the syscall that just ran.
    assert_eq!(&words[..3], ["orig_rax", "=", "59"], "{trace}");
    assert!(orig_rax.ends_with("execve"), "{trace}");
    assert_eq!(stdout(&output), "hello\n");
}

#[test]
fn step2_reports_how_the_child_ended() {
    let output = run_binary("step2", &["sh", "-c", "exit 3"]);
    assert!(stderr(&output).ends_with("step2: child exited with status 3\n"));
    let output = run_binary("step2", &["sh", "-c", "kill -TERM $$"]);
    assert!(stderr(&output).ends_with("step2: child was killed by SIGTERM\n"));
}

#[test]
fn step2_passes_signals_on_to_the_child() {
    // The child stops for the signal; unless step 2 passes it on, the shell
    // never runs its trap.
    let script = "trap 'echo got USR1' USR1; kill -USR1 $$; echo after";
    let output = run_binary("step2", &["sh", "-c", script]);
    assert_eq!(stdout(&output), "got USR1\nafter\n");
}

#[test]
fn step2_says_where_the_program_resumes() {
    // A dynamically linked program starts in its dynamic loader; a static
    // one (glibc's ldconfig is static) in its own code.
    let resumes_in = |program: &str| {
        let trace = stderr(&run_binary("step2", &[program, "--version"]));
        let rip = trace.lines().find(|l| l.trim_start().starts_with("rip"));
        rip.unwrap_or_else(|| panic!("{trace}")).to_string()
    };
    assert!(resumes_in("echo").ends_with(" in ld-linux-x86-64.so.2"));
    assert!(resumes_in("/sbin/ldconfig").ends_with(" in ldconfig"));
}

#[test]
fn step2_lets_the_program_run_another_program() {
    // The kernel stops a traced process after each successful execve, with a
    // SIGTRAP: passed on, it would kill the new program (status 133).
    let fexecve = [binary("tracee"), "fexecve", "/bin/echo", "ok"];
    let commands: [&[&str]; 3] = [
        &["sh", "-c", "exec /bin/echo ok"],
        &["env", "echo", "ok"],
        &fexecve,
    ];
    for command in commands {
        let output = run_binary("step2", command);
        assert_eq!(stdout(&output), "ok\n", "{command:?}: {output:?}");
        assert_eq!(output.status.code(), Some(0), "{command:?}");
        let trace = stderr(&output);
        let again = "is stopped right after another execve (the program ran another program)";
        assert_eq!(trace.matches(again).count(), 1, "{trace}");
    }
}

#[test]
fn step2_still_passes_a_real_sigtrap_on() {
    // Only the SIGTRAP that follows an execve is held back.
    let output = run_binary("step2", &[binary("tracee"), "trap"]);
    assert_eq!(stdout(&output), "handled SIGTRAP\n");
    let output = run_binary("step2", &["sh", "-c", "kill -TRAP $$"]);
    assert!(
        stderr(&output).ends_with("step2: child was killed by SIGTRAP\n"),
        "{output:?}"
    );
}

#[test]
fn step2_does_not_name_a_32_bit_call_from_the_64_bit_table() {
    // Once the program is a 32-bit one, the kernel numbers its execve 11, the
    // 32-bit table's number; 11 is munmap in the 64-bit table.
    let program = program_32bit();
    let output = run_binary("step2", &[program.to_str().unwrap()]);
    assert_eq!(stdout(&output), "32-bit\n");
    let trace = stderr(&output);
    let orig_rax = trace.lines().find(|l| l.contains("orig_rax")).unwrap();
    assert!(
        orig_rax.ends_with(" 11               the syscall it made: 32-bit syscall 11"),
        "{trace}"
    );
    assert!(
        trace.contains("its first instruction, in hello32\n"),
        "{trace}"
    );
}

#[test]
fn step2_names_the_file_it_resumes_in_whatever_its_name() {
    // A static program starts in its own code: name it by its whole name,
    // spaces and bytes that are not UTF-8 included.
    let dir = scratch_dir("step2-names");
    let names: [&[u8]; 2] = [b"my ldconfig", b"ld\xffconfig"];
    for name in names {
        let program = dir.join(std::ffi::OsStr::from_bytes(name));
        std::fs::copy("/sbin/ldconfig", &program).unwrap();
        let output = std::process::Command::new(binary("step2"))
            .arg(&program)
            .arg("--version")
            .output()
            .unwrap();
        let trace = stderr(&output);
        let shown = String::from_utf8_lossy(name);
        assert!(
            trace.contains(&format!("its first instruction, in {shown}\n")),
            "{trace}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
