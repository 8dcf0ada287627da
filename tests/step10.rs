//! Step 10: strace -c's table, counted in the kernel by eBPF programs, with
//! the program never stopped. (Its counts are compared with real strace's in
//! `compare_strace.rs`; what it keeps of the tracers' contracts, in
//! `contracts.rs`.)

mod common;
use common::*;

// The programs' instructions, as step 10 assembles them.
#[allow(dead_code)]
#[path = "../steps/step10-ebpf/program.rs"]
mod program;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_prints_step4s_table_with_the_same_counts() {
    let command = [binary("tracee"), "mixed"];
    let output = run_binary("step10", &[&["-c"], &command[..]].concat());
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "mixed: begin\nmixed: done\n");
    let table = stderr(&output);
    let step4 = stderr(&run_binary("step4", &[&["-c"], &command[..]].concat()));
    // The same layout: header, rule, rows, rule, total.
    let lines: Vec<&str> = table.lines().collect();
    let step4_lines: Vec<&str> = step4.lines().collect();
    assert_eq!(lines[0], step4_lines[0], "{table}");
    assert_eq!(lines[1], step4_lines[1], "{table}");
    assert_eq!(lines[lines.len() - 2], lines[1], "{table}");
    assert_eq!(summary_counts(&table), summary_counts(&step4), "{table}");
    let counts = summary_counts(&table);
    assert!(!counts.contains_key("exit_group"), "{table}");
    assert_eq!(counts["execve"], (1, 0), "{table}");
    assert_eq!(counts["mkdir"], (1, 1), "{table}");
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_time_is_the_time_spent_in_each_syscall() {
    // As with strace -c -w: sleep's 0.3 s are spent inside one syscall.
    let table = stderr(&run_binary("step10", &["-c", "sleep", "0.3"]));
    let rows = summary_rows(&table);
    let top = &rows[0];
    assert_eq!(top[top.len() - 1], "clock_nanosleep", "{table}");
    let seconds: f64 = top[1].parse().unwrap();
    assert!((0.3..0.5).contains(&seconds), "{table}");
    // The rows are sorted by time, the slowest first.
    let times: Vec<f64> = rows[..rows.len() - 1]
        .iter()
        .map(|row| row[1].parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "{table}");
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_counts_the_first_thread_and_with_f_every_thread_and_child() {
    // 4 threads, 25 getppid calls each: without -f, as strace without -f,
    // none of them, only the first thread's calls; with -f, all of them.
    let threads = [binary("tracee"), "threads", "4", "25"];
    let table = stderr(&run_binary("step10", &[&["-c"], &threads[..]].concat()));
    assert_eq!(summary_counts(&table).get("getppid"), None, "{table}");
    let table = stderr(&run_binary(
        "step10",
        &[&["-f", "-c"], &threads[..]].concat(),
    ));
    assert_eq!(summary_counts(&table)["getppid"], (100, 0), "{table}");
    // The same program run by a shell, as its child: none of its calls
    // without -f, all of them with it.
    let script = format!("{} getppid 30; true", binary("tracee"));
    let table = stderr(&run_binary("step10", &["-c", "sh", "-c", &script]));
    let getppid = summary_counts(&table).get("getppid").copied();
    assert!(getppid.is_none_or(|(calls, _)| calls < 30), "{table}");
    let table = stderr(&run_binary("step10", &["-f", "-c", "sh", "-c", &script]));
    let getppid = summary_counts(&table)["getppid"];
    assert!(getppid.0 >= 30, "{table}");
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_counts_numbers_below_1024_that_strace_cannot_name_as_step6_does() {
    // fchmodat2 (452, newer than strace 6.1) and 1000, which is no syscall:
    // each in its row, named as step 6 names it.
    let table = stderr(&run_binary(
        "step10",
        &["-c", binary("tracee"), "new-syscalls"],
    ));
    let counts = summary_counts(&table);
    assert_eq!(counts.get("fchmodat2"), Some(&(1, 1)), "{table}");
    assert_eq!(counts.get("syscall_0x3e8"), Some(&(1, 1)), "{table}");
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_with_f_waits_for_every_process_the_program_started() {
    // A child that outlives the program is counted to its end, as under
    // strace -f; the exit status is the program's.
    let script = format!("({} getppid 20; exit 9) & exit 2", binary("tracee"));
    let output = run_within(HANG, binary("step10"), &["-f", "-c", "sh", "-c", &script]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    // (The shell calls getppid too, once.)
    let getppid = summary_counts(&stderr(&output))["getppid"];
    assert!(getppid.0 >= 20, "{output:?}");
}

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn told_to_end_step10_prints_what_it_counted_and_gives_the_program_the_signal() {
    // SIGTERM and SIGHUP, with -f and without: the table of what ran until
    // then, as strace -c prints it; the program gets the signal, and its
    // handler runs, uncounted. Step 10 ends with 128 + N, as a shell
    // reports a death by signal N.
    use nix::sys::signal::Signal;
    for options in [&["-c"][..], &["-f", "-c"]] {
        for signal in [Signal::SIGTERM, Signal::SIGHUP] {
            let ours = tell_to_end(&[&[binary("step10")], options].concat(), signal, false);
            let theirs = tell_to_end(&[&["strace"], options].concat(), signal, false);
            let what = format!("{options:?}, {signal}:\n{}", ours.stderr);
            assert_eq!(ours.status.code(), Some(128 + signal as i32), "{what}");
            assert_eq!(ours.program_said, format!("handled {signal}\n"), "{what}");
            let counts = summary_counts(&ours.stderr);
            assert_eq!(counts.get("write"), Some(&(1, 0)), "{what}");
            assert_eq!(
                counts,
                summary_counts(&theirs.stderr),
                "{what}\n{}",
                theirs.stderr
            );
        }
    }
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn ctrl_c_reaches_the_program_and_step10_counts_to_its_end() {
    // As steps 6 to 9 do: the program's handler runs, counted, and ends it;
    // the table follows, the handler's write in it.
    use nix::sys::signal::Signal;
    let told = tell_to_end(&[binary("step10"), "-c"], Signal::SIGINT, true);
    assert_eq!(told.status.code(), Some(3), "{}", told.stderr);
    assert_eq!(told.program_said, "handled SIGINT\n");
    let counts = summary_counts(&told.stderr);
    assert_eq!(counts.get("write"), Some(&(2, 0)), "{}", told.stderr);
}

#[test]
fn step10_in_a_sandbox_that_refuses_bpf_and_kill_ends_at_once_and_leaves_nothing() {
    // Under step 8's --sandbox with a profile that refuses bpf(2) and
    // kill(2): no map, and no signal to end the child that waits to run the
    // program. One line, at once, and no process left behind.
    let profile = scratch_file("no-bpf.json");
    let refused = r#"{"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["bpf", "kill"], "action": "SCMP_ACT_ERRNO"}]}"#;
    std::fs::write(&profile, refused).unwrap();
    let marker = "26.5358";
    let step10 = [binary("step10"), "-c", "sleep", marker];
    let sandboxed = [&["--sandbox", profile.to_str().unwrap()][..], &step10].concat();
    let output = run_within(Duration::from_secs(10), binary("step8"), &sandboxed);
    std::fs::remove_file(&profile).unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("step10: cannot create a map (EPERM"),
        "{message}"
    );
    assert!(message.contains("a seccomp filter"), "{message}");
    assert!(!is_running(&["sleep", marker]), "the program ran");
    assert!(!is_running(&step10), "a child was left waiting");
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_never_stops_the_program() {
    // A stopped program stays stopped: nothing resumes it behind its back
    // (under steps 2-4, SIGSTOP does not stop it at all).
    let script = "kill -STOP $$; echo resumed";
    let tracer = Command::new(binary("step10"))
        .args(["-c", "sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stopped = || process(&["sh", "-c", script]) == Some('T');
    assert!(eventually(stopped), "the program did not stop");
    std::thread::sleep(Duration::from_millis(100));
    assert!(stopped(), "the program was resumed");
    for pid in processes_with_parent(tracer.id()) {
        run("kill", &["-CONT", &pid.to_string()]);
    }
    let output = tracer.wait_with_output().unwrap();
    assert_eq!(stdout(&output), "resumed\n");
    assert!(output.status.success());
}

/// Runs step 10 without the capabilities BPF needs: as root, through
/// `setpriv`, which drops them all; as anyone else, as it is.
fn run_step10_unprivileged(args: &[&str]) -> std::process::Output {
    let is_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(2) == Some("0"));
    if is_root {
        let drop_all = ["--inh-caps=-all", "--bounding-set=-all", binary("step10")];
        run("setpriv", &[&drop_all[..], args].concat())
    } else {
        run_binary("step10", args)
    }
}

#[test]
fn step10_without_privileges_says_what_to_do_and_leaves_nothing() {
    let marker = "23.1406";
    let output = run_step10_unprivileged(&["-c", "sleep", marker]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert!(message.starts_with("step10: cannot "), "{message}");
    assert!(message.contains("EPERM"), "{message}");
    assert!(message.contains("CAP_BPF and CAP_PERFMON"), "{message}");
    assert!(message.contains("sudo"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    assert!(!is_running(&["sleep", marker]), "the program ran anyway");
    // The child that waited to run it is gone too.
    let tracer = [binary("step10"), "-c", "sleep", marker];
    assert!(!is_running(&tracer), "a child was left waiting");
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_refuses_inside_a_pid_namespace_where_it_would_count_nothing() {
    // In a new pid namespace, as in a container, the child's id is not the
    // one the eBPF programs see: step 10 says so rather than print an empty
    // table, and starts nothing.
    let marker = "31.0062";
    let args = ["--pid", "--fork", "--mount-proc", binary("step10"), "-c"];
    let output = run("unshare", &[&args[..], &["sleep", marker]].concat());
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("pid namespace of its own"), "{message}");
    assert!(!is_running(&["sleep", marker]));
}

#[test]
#[cfg_attr(
    any(no_bpf, no_podman),
    ignore = "needs BPF and podman, as root: apt-get install podman runc (see build.rs's warnings)"
)]
fn step10_in_a_container_counts_with_the_options_its_messages_give() {
    // A container of step 10 and `true`. Started as podman starts any, step
    // 10 cannot use bpf(2), and its line ends with the options to add.
    let container = Container::new("step10", &[binary("step10"), "/bin/true"]);
    let count_true = [binary("step10"), "-c", "/bin/true"];
    let refused = stderr(&container.run(&[], &count_true));
    let (_, options) = refused
        .trim_end()
        .split_once("in a container, start it with ")
        .unwrap_or_else(|| panic!("{refused}"));
    let options: Vec<&str> = options.split(' ').collect();
    // With them, it counts.
    let table = stderr(&container.run(&options, &count_true));
    assert_eq!(summary_counts(&table)["execve"], (1, 0), "{table}");
    // With all but the pid namespace, it refuses, and names the option.
    let without_host_pids: Vec<&str> = options.into_iter().filter(|o| *o != "--pid=host").collect();
    let refused = stderr(&container.run(&without_host_pids, &count_true));
    assert!(refused.contains("pid namespace of its own"), "{refused}");
    assert!(refused.contains("--pid=host"), "{refused}");
}

#[test]
fn step10_bad_input_gets_one_line() {
    let cases: [(&[&str], i32, &str); 4] = [
        (&[], 2, "no command to trace; usage: step10 -c [-f] COMMAND"),
        (&["ls"], 2, "step 10 only counts, so -c is required"),
        (&["-x", "ls"], 2, "unknown option '-x'; usage:"),
        (
            &["-c", "no-such-command-here"],
            1,
            "cannot find 'no-such-command-here' in PATH",
        ),
    ];
    for (args, exit_code, expected) in cases {
        let output = run_binary("step10", args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(exit_code), "{args:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(message.starts_with("step10: "), "{message}");
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn step10_says_why_the_program_could_not_start() {
    // The exec fails after the counters are in place: the child says why.
    let output = run_binary("step10", &["-c", NO_INTERPRETER]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("its interpreter, /no/such/interpreter (the #! line), does not exist"),
        "{message}"
    );
}

/// The ids of the BPF objects (programs, maps, links) that process `pid`
/// holds, from the `prog_id:`, `map_id:` and `link_id:` lines of its
/// /proc/PID/fdinfo/*.
fn bpf_objects(pid: u32) -> BTreeSet<(BpfObject, u32)> {
    let mut objects = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return objects;
    };
    for entry in entries {
        let info = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        for line in info.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let kind = match key {
                "prog_id" => BpfObject::Program,
                "map_id" => BpfObject::Map,
                "link_id" => BpfObject::Link,
                _ => continue,
            };
            objects.insert((kind, value.trim().parse().unwrap()));
        }
    }
    objects
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum BpfObject {
    Program,
    Map,
    Link,
}

/// Whether the kernel still has the BPF object `id`: `bpf(2)`'s
/// `BPF_*_GET_FD_BY_ID` opens it, or fails with ENOENT once it is gone.
fn exists(kind: BpfObject, id: u32) -> bool {
    let command = match kind {
        BpfObject::Program => 13, // BPF_PROG_GET_FD_BY_ID
        BpfObject::Map => 14,     // BPF_MAP_GET_FD_BY_ID
        BpfObject::Link => 30,    // BPF_LINK_GET_FD_BY_ID
    };
    // union bpf_attr for these commands: the id, then next_id, open_flags.
    let attr: [u32; 3] = [id, 0, 0];
    // SAFETY: `attr` is laid out as the kernel expects and lives across the
    // call; the size given is its own.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, command, attr.as_ptr(), 12) };
    if fd >= 0 {
        // SAFETY: the kernel has just given us this descriptor.
        unsafe { libc::close(fd as i32) };
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOENT)
}

/// `step10 -c sleep MARKER`, once the sleep runs: its programs are attached.
fn counting_a_sleep(marker: &str) -> std::process::Child {
    let tracer = Command::new(binary("step10"))
        .args(["-c", "sleep", marker])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(eventually(|| is_running(&["sleep", marker])));
    tracer
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn the_kernel_unloads_everything_when_the_tracer_dies() {
    let marker = "19.2137";
    // Once the program runs, the two programs are attached: two links, the
    // two programs, four maps.
    let mut tracer = counting_a_sleep(marker);
    let objects = bpf_objects(tracer.id());
    let kinds: Vec<BpfObject> = objects.iter().map(|(kind, _)| *kind).collect();
    use BpfObject::*;
    assert_eq!(
        kinds,
        [Program, Program, Map, Map, Map, Map, Link, Link],
        "{objects:?}"
    );
    assert!(objects.iter().all(|(kind, id)| exists(*kind, *id)));

    tracer.kill().unwrap();
    tracer.wait().unwrap();
    let all_gone = || objects.iter().all(|(kind, id)| !exists(*kind, *id));
    let gone = eventually(all_gone);
    // Nothing stops the program: it runs on, no longer counted, as it would
    // if strace -c were killed.
    let program_ran_on = is_running(&["sleep", marker]);
    run("pkill", &["-KILL", "-f", &format!("^sleep {marker}$")]);
    assert!(gone, "still loaded after the tracer died: {objects:?}");
    assert!(program_ran_on);
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn a_tracer_killed_as_it_starts_leaves_no_child_waiting() {
    // Kill the tracer at every moment of its start: the child waiting for
    // the word to go must die with it (PR_SET_PDEATHSIG), never wait forever.
    let marker = "17.3205";
    let tracer_args = [binary("step10"), "-c", "sleep", marker];
    for try_number in 0..40u64 {
        let mut tracer = Command::new(tracer_args[0])
            .args(&tracer_args[1..])
            // A child left behind must not hold the test's output open.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(try_number * 50));
        tracer.kill().unwrap();
        tracer.wait().unwrap();
        // A child forked but not yet run has the tracer's command line.
        let gone = eventually(|| !is_running(&tracer_args));
        run("pkill", &["-KILL", "-f", &format!("^sleep {marker}$")]);
        assert!(gone, "killed after {try_number} x 50 µs: a child is left");
    }
}

/// The processes whose parent is `parent`.
fn processes_with_parent(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            status.lines().any(|line| {
                line.strip_prefix("PPid:")
                    .is_some_and(|ppid| ppid.trim() == parent.to_string())
            })
        })
        .collect()
}

/// The comments of the instructions between `start` and the end of its
/// anchor in program.rs, by number: `// 14: null: to 41`.
fn numbered_comments(source: &str, start: &str) -> Vec<(usize, String)> {
    let body = source.split(start).nth(1).unwrap();
    let body = body.split("ANCHOR_END").next().unwrap();
    body.lines()
        .filter_map(|line| line.split_once("// ")?.1.split_once(':'))
        .filter_map(|(number, text)| Some((number.trim().parse().ok()?, text.to_string())))
        .collect()
}

#[test]
fn the_programs_instructions_are_numbered_as_the_chapter_reads_them() {
    // Chapter 10 refers to instructions by the numbers in their comments
    // (`// 23: null: to 67`): they must count every instruction, in order,
    // and a jump's "to N" must be where it goes ("to the end": the
    // program's `r0 = 0`, before its `return`).
    let source = read(&root().join("steps/step10-ebpf/program.rs"));
    let maps = program::Maps {
        armed: 3,
        entered: 4,
        counts: 5,
        followed: 6,
    };
    let whom = program::Whom {
        child: 1,
        follow: true,
    };
    let offsets = program::Offsets {
        status: 16,
        pending: 3000,
        exit_code: 96,
        tgid: 1000,
        signal: 2000,
        live: 4,
    };
    let whose = numbered_comments(&source, "fn whose(");
    let programs = [
        (
            "pub fn sys_enter",
            program::sys_enter(&whom, &maps, &offsets),
            true,
        ),
        (
            "pub fn sys_exit",
            program::sys_exit(&whom, &maps, &offsets),
            true,
        ),
        ("pub fn on_fork", program::on_fork(&maps, &offsets), false),
        ("pub fn on_exit", program::on_exit(&maps, &offsets), false),
        ("pub fn on_exec", program::on_exec(&maps), false),
    ];
    for (start, instructions, filtered) in programs {
        let mut comments = numbered_comments(&source, start);
        if filtered {
            comments.extend(whose.iter().cloned());
            comments.sort();
        }
        let numbers: Vec<usize> = comments.iter().map(|(number, _)| *number).collect();
        assert_eq!(
            numbers,
            (0..instructions.len()).collect::<Vec<_>>(),
            "{start}"
        );
        for (i, instruction) in instructions.iter().enumerate() {
            // Instruction's fields are private to program.rs: read them as
            // Debug shows them.
            let shown = format!("{instruction:?}");
            let field = |name: &str| -> i64 {
                let rest = shown.split(&format!("{name}: ")).nth(1).unwrap();
                rest.split([',', ' ']).next().unwrap().parse().unwrap()
            };
            let class = field("opcode") & 0x07;
            let is_jump = matches!(class, 0x05 | 0x06) && !matches!(field("opcode"), 0x85 | 0x95);
            if !is_jump {
                continue;
            }
            let target = i as i64 + 1 + field("offset");
            let text = &comments[i].1;
            let expected = match text.split_once("to ") {
                Some((_, to)) if to.starts_with("the end") => instructions.len() as i64 - 2,
                Some((_, to)) => to
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap(),
                None => panic!("{start}, {i}: a jump whose comment does not say where"),
            };
            assert_eq!(target, expected, "{start}, instruction {i}: {text}");
        }
    }
}

/// The rows of chapter 10's exercise 3 that the race moves: wait4,
/// rt_sigsuspend and rt_sigreturn, as (calls, errors).
type RaceRows = [(u64, u64); 3];

/// The three ways `timeout 0.2 sleep 1` goes. `sleep` died while the alarm's
/// handler ran: one wait for a signal, and the SIGCHLD handler returns into
/// the alarm's.
const SLEEP_DIED_IN_THE_HANDLER: RaceRows = [(2, 0), (1, 1), (2, 1)];
/// `sleep` died after the handler, before `timeout` asked (wait4 with
/// WNOHANG): its SIGCHLD, blocked, never arrives.
const SLEEP_DIED_BEFORE_THE_QUESTION: RaceRows = [(2, 0), (1, 1), (1, 1)];
/// `sleep` was still alive when asked: a second wait, for its SIGCHLD.
const TIMEOUT_ASKED_FIRST: RaceRows = [(3, 0), (2, 2), (2, 2)];

#[test]
#[cfg_attr(
    no_strace,
    ignore = "needs strace: install it (e.g. sudo apt-get install strace)"
)]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn timeout_races_as_chapter_10_says() {
    // `timeout 0.2 sleep 1`, counted by step 10 and by strace, each run
    // one of the two outcomes that chapter 10's exercise 3 describes, and
    // every other row the same in all.
    let command = ["timeout", "0.2", "sleep", "1"];
    let raced = ["wait4", "rt_sigsuspend", "rt_sigreturn"];
    let mut others = BTreeSet::new();
    for _ in 0..3 {
        let ours = stderr(&run_binary("step10", &[&["-c"], &command[..]].concat()));
        let theirs = run_strace(&["-c"], &command);
        for table in [ours, theirs] {
            let mut counts = summary_counts(&table);
            let rows = raced.map(|name| counts.remove(name).unwrap_or_default());
            let outcomes = [
                SLEEP_DIED_IN_THE_HANDLER,
                SLEEP_DIED_BEFORE_THE_QUESTION,
                TIMEOUT_ASKED_FIRST,
            ];
            assert!(outcomes.contains(&rows), "{table}");
            counts.remove("total");
            others.insert(format!("{counts:?}"));
        }
    }
    assert_eq!(others.len(), 1, "{others:#?}");
    let chapter = read(&root().join("book/src/step10-ebpf.md"));
    let chapter = chapter.split_whitespace().collect::<Vec<_>>().join(" ");
    for claim in [
        "two `rt_sigsuspend` calls, both interrupted (errors), three `wait4` calls, and two \
         `rt_sigreturn` calls that return `EINTR`",
        "one `rt_sigsuspend`, two `wait4` calls, and one `rt_sigreturn` that is an error",
        "and a second one, no error, if `sleep` died while that handler still ran",
        "none if it died after",
        "one of these three outcomes",
    ] {
        assert!(chapter.contains(claim), "chapter 10 should say: {claim}");
    }
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn echo_counts_one_failed_ioctl_more_on_dev_null() {
    // Chapter 10: "110 calls and 14 errors" is echo writing into a pipe, or
    // a pseudo-terminal (which `script` opens; the table lands there too);
    // on /dev/null the C library asks whether it is a terminal. In the
    // transcripts' environment, whose counts the chapter quotes.
    let step10 = |program: &str, args: &[&str], stdout: Stdio| {
        let output = Command::new(program)
            .args(args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C.UTF-8")
            .env("STEP10", binary("step10"))
            .stdin(Stdio::null())
            .stdout(stdout)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        summary_counts(&format!("{}{}", self::stdout(&output), stderr(&output)))
    };
    let echo = ["-c", "echo", "hello"];
    let into_a_pipe = step10(binary("step10"), &echo, Stdio::piped());
    let script = ["-qec", r#"exec "$STEP10" -c echo hello"#, "/dev/null"];
    let on_a_terminal = step10("script", &script, Stdio::piped());
    let mut on_dev_null = step10(binary("step10"), &echo, Stdio::null());
    let (calls, errors) = into_a_pipe["total"];
    assert_eq!(on_a_terminal, into_a_pipe);
    assert_eq!(on_dev_null.remove("ioctl"), Some((1, 1)), "{on_dev_null:?}");
    assert_eq!(on_dev_null.remove("total"), Some((calls + 1, errors + 1)));
    let mut into_a_pipe = into_a_pipe;
    into_a_pipe.remove("total");
    assert_eq!(on_dev_null, into_a_pipe);
    let chapter = read(&root().join("book/src/step10-ebpf.md"));
    let chapter = chapter.split_whitespace().collect::<Vec<_>>().join(" ");
    for claim in [
        format!("{calls} calls and {errors} errors in both"),
        format!("`ENOTTY`: {} calls and {} errors", calls + 1, errors + 1),
    ] {
        assert!(chapter.contains(&claim), "chapter 10 should say: {claim}");
    }
}

#[test]
#[cfg_attr(
    no_bpf,
    ignore = "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)"
)]
fn fdinfo_shows_each_map_as_the_chapter_names_it() {
    // Exercise 2 of chapter 10: armed and counts are arrays (map_type 2),
    // of 1 and 3 x 1024 entries; entered an LRU hash (9); followed a hash (1).
    let marker = "23.1406";
    let mut tracer = counting_a_sleep(marker);
    let fdinfo = |name: &str| {
        let mut maps = Vec::new();
        let dir = format!("/proc/{}/fdinfo", tracer.id());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let info = read(&entry.unwrap().path());
            let field = |field: &str| {
                info.lines()
                    .find_map(|line| line.strip_prefix(&format!("{field}:")))
                    .map(|value| value.trim().to_string())
            };
            if let (Some(kind), Some(entries)) = (field(name), field("max_entries")) {
                maps.push((kind, entries));
            }
        }
        maps.sort();
        maps
    };
    let maps = fdinfo("map_type");
    tracer.kill().unwrap();
    tracer.wait().unwrap();
    run("pkill", &["-KILL", "-f", &format!("^sleep {marker}$")]);
    let expected = [("1", "4096"), ("2", "1"), ("2", "3072"), ("9", "4096")]
        .map(|(kind, entries)| (kind.to_string(), entries.to_string()));
    assert_eq!(maps, expected);
}
