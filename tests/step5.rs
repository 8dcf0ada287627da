//! Step 5: arguments decoded, and the options `-e trace=`, `-o`, `-s`.
//! (Line-for-line equality with strace is in compare_strace.rs.)

mod common;
use common::*;

#[test]
fn step5_shows_strings_flags_and_structures() {
    let file = scratch_file("fruit.txt");
    std::fs::write(&file, "pear\tapple\n").unwrap();
    // Whatever the umask, so that the mode below is known.
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let path = file.to_str().unwrap();
    let trace = stderr(&run_binary("step5", &["cat", path]));
    // The path, read at the entry; the flags by name.
    let open = format!("openat(AT_FDCWD, \"{path}\", O_RDONLY) = 3");
    assert!(trace.lines().any(|line| line == open), "{trace}");
    // The structure the kernel filled, abbreviated.
    let stat = "newfstatat(3, \"\", {st_mode=S_IFREG|0644, st_size=11, ...}, AT_EMPTY_PATH) = 0";
    assert!(trace.lines().any(|line| line == stat), "{trace}");
    // read's buffer at the exit: only the bytes it returned, escaped.
    let read = format!("{:<39} = 11", "read(3, \"pear\\tapple\\n\", 131072)");
    assert!(trace.lines().any(|line| line == read), "{trace}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn step5_cuts_strings_at_s() {
    let trace = stderr(&run_binary("step5", &["-s", "3", "echo", "hello"]));
    assert!(
        trace.contains(&format!("{:<39} = 6\n", "write(1, \"hel\"..., 6)")),
        "{trace}"
    );
    // Joined to its option, as strace allows.
    let trace = stderr(&run_binary("step5", &["-s5", "echo", "hello"]));
    assert!(trace.contains("write(1, \"hello\"..., 6)"), "{trace}");
}

#[test]
fn step5_traces_only_what_e_selects() {
    let trace = stderr(&run_binary(
        "step5",
        &["-e", "trace=openat,close", "cat", "/etc/hostname"],
    ));
    let names: std::collections::BTreeSet<String> =
        calls(&trace).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        ["close", "openat"].map(String::from).into(),
        "{trace}"
    );
    assert!(trace.ends_with("+++ exited with 0 +++\n"), "{trace}");

    let trace = stderr(&run_binary(
        "step5",
        &["-e", "trace=!openat,close", "cat", "/etc/hostname"],
    ));
    let names: Vec<String> = calls(&trace).into_iter().map(|(name, _)| name).collect();
    assert!(
        !names.iter().any(|n| n == "openat" || n == "close"),
        "{trace}"
    );
    assert!(names.iter().any(|n| n == "read"), "{trace}");
}

#[test]
fn step5_writes_the_trace_to_o_and_leaves_the_program_stderr_alone() {
    let file = scratch_file("trace.txt");
    let output = run_binary(
        "step5",
        &[
            "-o",
            file.to_str().unwrap(),
            "sh",
            "-c",
            "echo out; echo err >&2",
        ],
    );
    assert_eq!(stdout(&output), "out\n");
    assert_eq!(stderr(&output), "err\n", "only the program's own stderr");
    let trace = read(&file);
    // (dash points its stdout at its stderr, then writes to 1.)
    assert!(trace.contains("write(1, \"err\\n\", 4)"), "{trace}");
    assert!(trace.ends_with("+++ exited with 0 +++\n"), "{trace}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn step5_count_with_e_counts_only_what_it_selects() {
    let output = run_binary(
        "step5",
        &["-c", "-e", "trace=openat", "cat", "/etc/hostname"],
    );
    let counts = summary_counts(&stderr(&output));
    let names: Vec<&String> = counts.keys().collect();
    assert_eq!(names, ["openat", "total"], "{}", stderr(&output));
    assert_eq!(counts["openat"], counts["total"]);
}

/// A step 5 that refuses its arguments must start nothing: the command it
/// was given would create this file.
fn assert_refused(args: &[&str], exit_code: i32, says: &str) {
    let marker = scratch_file("must-not-exist");
    let touch = ["touch", marker.to_str().unwrap()];
    let output = run_binary("step5", &[args, &touch].concat());
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(exit_code), "{args:?}: {message}");
    assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
    assert!(
        message.starts_with("step5: ") && message.contains(says),
        "{message}"
    );
    assert!(!marker.exists(), "{args:?}: the program ran");
}

#[test]
fn step5_refuses_bad_options_before_starting_anything() {
    assert_refused(
        &["-e", "trace=openat,no_such_call"],
        2,
        "'no_such_call' is not the name of a syscall",
    );
    assert_refused(
        &["-e", "trace=!nope"],
        2,
        "'nope' is not the name of a syscall",
    );
    assert_refused(&["-s", "many"], 2, "-s: 'many' is not a number");
    assert_refused(&["-s", "-1"], 2, "-s: '-1' is not a number");
    assert_refused(
        &["-o", "/no/such/directory/trace.txt"],
        1,
        "cannot create /no/such/directory/trace.txt",
    );
    // Not ASCII: one clear line, not a panic.
    assert_refused(&["-é"], 2, "unknown option '-é'");
    let output = run_binary("step5", &["-o"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("option -o needs a value"),
        "{output:?}"
    );
}

#[test]
fn step5_shows_an_interrupted_call_as_strace_does() {
    // The kernel's own "restart" error, not "-1 ... (Unknown error 512)";
    // then the handler's return, which hands the program EINTR.
    let trace = stderr(&run_binary("step5", &[binary("tracee"), "interrupted"]));
    let read = trace
        .lines()
        .find(|line| line.starts_with("read(3, 0x"))
        .unwrap_or_else(|| panic!("no read of the pipe: {trace}"));
    assert!(
        read.contains(", 1)")
            && read.ends_with(" = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
        "{read}"
    );
    let sigreturn = format!(
        "{:<39} = -1 EINTR (Interrupted system call)",
        "rt_sigreturn({mask=[]})"
    );
    assert!(trace.lines().any(|line| line == sigreturn), "{trace}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn counting_never_reads_the_programs_memory() {
    // strace, the judge, counts step 5's own reads of the program's memory:
    // many when it prints every line, none with -c.
    let reads = |step5_args: &[&str]| {
        let step5 = [&[binary("step5")], step5_args, &["ls", "/"]].concat();
        let table = run_strace(&["-c", "-e", "trace=process_vm_readv"], &step5);
        summary_counts(&table)
            .get("process_vm_readv")
            .map_or(0, |(calls, _)| *calls)
    };
    assert!(reads(&["-o", "/dev/null"]) > 10);
    assert_eq!(reads(&["-c"]), 0);
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
fn cat_into_a_file_copies_in_the_kernel() {
    // Chapter 5's `-e trace=read,write` on cat, its output in a file: the
    // reads and the write of the file's bytes give way to copy_file_range.
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/no-interpreter.sh"
    );
    let options = ["-e", "trace=read,write,copy_file_range", "-s", "16"];
    let dir = scratch_dir("cat-into-a-file");
    let trace_of = |tracer: &str| {
        let copy = dir.join(format!("copy-by-{tracer}"));
        let output = std::process::Command::new(if tracer == "strace" {
            "strace"
        } else {
            binary(tracer)
        })
        .args(options)
        .args(["cat", file])
        .stdout(std::fs::File::create(&copy).unwrap())
        .output()
        .unwrap();
        assert_eq!(read(&copy), read(std::path::Path::new(file)));
        stderr(&output)
    };
    let ours = trace_of("step5");
    let calls: Vec<String> = ours
        .lines()
        .filter_map(parse_call)
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        calls,
        ["read", "read", "read", "copy_file_range", "copy_file_range"],
        "{ours}"
    );
    let masked = |trace: &str| trace.lines().map(mask_line).collect::<Vec<_>>();
    assert_eq!(masked(&ours), masked(&trace_of("strace")));
    // Into a pipe, as in the chapter's transcript: read and write.
    let piped = stderr(&run_binary(
        "step5",
        &[&options[..], &["cat", file]].concat(),
    ));
    assert!(!piped.contains("copy_file_range"), "{piped}");
    assert_eq!(piped.matches("write(1, ").count(), 1, "{piped}");
    std::fs::remove_dir_all(&dir).unwrap();
}
