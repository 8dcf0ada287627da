//! Helpers shared by the integration tests: running the steps, and asking
//! real strace, the judge, for its opinion.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The path of a binary of this package, built by `cargo test` before the tests.
pub fn binary(name: &str) -> &'static str {
    match name {
        "step1" => env!("CARGO_BIN_EXE_step1"),
        "step2" => env!("CARGO_BIN_EXE_step2"),
        "step3" => env!("CARGO_BIN_EXE_step3"),
        "step4" => env!("CARGO_BIN_EXE_step4"),
        "step5" => env!("CARGO_BIN_EXE_step5"),
        "step6" => env!("CARGO_BIN_EXE_step6"),
        "step7" => env!("CARGO_BIN_EXE_step7"),
        "step8" => env!("CARGO_BIN_EXE_step8"),
        "step9" => env!("CARGO_BIN_EXE_step9"),
        "step10" => env!("CARGO_BIN_EXE_step10"),
        "tracee" => env!("CARGO_BIN_EXE_tracee"),
        "check-my-step" => env!("CARGO_BIN_EXE_check-my-step"),
        _ => panic!("no binary named {name} in this package"),
    }
}

/// The tracing steps, which all keep the contracts of `tests/contracts.rs`.
pub const TRACING_STEPS: [&str; 8] = [
    "step2", "step3", "step4", "step5", "step6", "step7", "step8", "step9",
];

/// Runs `program` with `args` to the end, stdin empty, and returns what it did.
pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Like `run`, but a run that takes longer than `limit` is killed and fails
/// the test: a tracer that hangs must show as a failure, not block the tests.
pub fn run_within(limit: std::time::Duration, program: &str, args: &[&str]) -> Output {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let pid = child.id() as i32;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match receiver.recv_timeout(limit) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // SAFETY: a plain kill of the child we started, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{program} {args:?} hung: killed after {limit:?}");
        }
    }
}

/// How long a traced run of a small program may take before it counts as
/// hung.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `script` with `shell` (`sh`, `bash`), `args` in its `"$@"`: a path
/// given that way stays one word, whatever spaces it holds.
pub fn run_shell(shell: &str, script: &str, args: &[&str]) -> Output {
    run(shell, &[&["-c", script, shell], args].concat())
}

/// A new, empty directory of this test's own under the system's temporary
/// directory, for files no other test (nor a later run) can change.
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    static DIRS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = DIRS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "strace-from-scratch-{}-{n}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A directory of this test's own, holding `lines.txt` with `text` in it, for
/// the traced programs to read (`cat`, `sort`); returns the directory and the
/// file's path.
pub fn file_to_read(name: &str, text: &str) -> (std::path::PathBuf, String) {
    let dir = scratch_dir(name);
    let file = dir.join("lines.txt");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap().to_string();
    (dir, file)
}

/// A container image holding `programs` and the libraries they load, nothing
/// else, and the podman command line that runs it as the chapters say: as
/// root, runc, no network, cgroups by hand, and no default ulimits (which this
/// machine may not allow raising).
pub struct Container {
    dir: std::path::PathBuf,
    image: String,
}

impl Container {
    pub fn new(name: &str, programs: &[&str]) -> Container {
        let dir = scratch_dir("podman");
        let conf = "[containers]\ndefault_ulimits = []\n";
        std::fs::write(dir.join("containers.conf"), conf).unwrap();
        // The programs, and what `ldd` says they load, as a root filesystem
        // in a tar. Given several programs, ldd heads each list with its
        // program's path and a colon, and names a library each needs once per
        // program: each goes in once (twice would be a hard link, which
        // podman cannot import).
        let ldd = stdout(&run("ldd", programs));
        let libraries: BTreeSet<&str> = ldd
            .split_whitespace()
            .filter(|word| word.starts_with('/') && !word.ends_with(':'))
            .collect();
        let tar = dir.join("rootfs.tar");
        let mut args = vec!["-chf", tar.to_str().unwrap()];
        args.extend(programs);
        args.extend(libraries);
        let tarred = run("tar", &args);
        assert!(tarred.status.success(), "{tarred:?}");
        let image = format!(
            "localhost/strace-from-scratch-{name}-{}",
            std::process::id()
        );
        let container = Container { dir, image };
        let imported = container.podman(&["import", "-q", tar.to_str().unwrap(), &container.image]);
        assert!(imported.status.success(), "{imported:?}");
        container
    }

    /// The command line of `podman ARGS`, with our containers.conf.
    pub fn podman_command(&self, args: &[&str]) -> Vec<String> {
        let conf = self.dir.join("containers.conf");
        let script =
            r#"CONTAINERS_CONF="$1" && shift && export CONTAINERS_CONF && exec podman "$@""#;
        let start = ["sh", "-c", script, "sh", conf.to_str().unwrap()];
        start
            .iter()
            .chain(args)
            .map(|arg| arg.to_string())
            .collect()
    }

    pub fn podman(&self, args: &[&str]) -> Output {
        let command = self.podman_command(args);
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        run_within(HANG, command[0], &command[1..])
    }

    /// The arguments of `podman run`, with `options`, of `command` in the image.
    pub fn run_args(&self, options: &[&str], command: &[&str]) -> Vec<String> {
        let ours = ["--rm", "--runtime", "runc", "--cgroup-manager", "cgroupfs"];
        let image = ["--network=none", &self.image];
        [&["run"], &ours[..], options, &image, command]
            .concat()
            .iter()
            .map(|arg| arg.to_string())
            .collect()
    }

    /// Runs `command` in a container of the image, with `options`.
    pub fn run(&self, options: &[&str], command: &[&str]) -> Output {
        let args = self.run_args(options, command);
        self.podman(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.podman(&["rmi", "-f", &self.image]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh path in the system's temporary directory that no other test,
/// nor another call, uses: for a trace, a profile, a marker file.
pub fn scratch_file(name: &str) -> std::path::PathBuf {
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    std::env::temp_dir().join(format!("strace-from-scratch-{pid}-file-{n}-{name}"))
}

/// The repository's root, where `cargo test` runs.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A script whose `#!` line names an interpreter that does not exist.
pub const NO_INTERPRETER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/programs/no-interpreter.sh"
);

/// A script without its `#!` line.
pub const NO_HASH_BANG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/programs/no-hash-bang.sh"
);

/// The profile the book shows that allows every syscall.
pub const ALLOW_EVERYTHING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/book/src/profiles/allow-everything.json"
);

/// Runs a binary of this package (`step4`, `tracee`, …).
pub fn run_binary(name: &str, args: &[&str]) -> Output {
    run(binary(name), args)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Tests that ask real strace, the judge, are marked
/// `#[cfg_attr(no_strace, ignore = "...")]`: where strace is missing, build.rs
/// says so in a cargo warning and sets `no_strace`, and `cargo test` lists them
/// as ignored, with the reason. Under CI (`CI=true`) they run, and fail.
pub const NEEDS_STRACE: &str = "needs strace: install it (e.g. sudo apt-get install strace)";

/// Tests that run step 10 are marked `#[cfg_attr(no_bpf, ignore = "...")]`:
/// where this user may not load BPF programs, build.rs says so in a cargo
/// warning and sets `no_bpf`. Under CI (`CI=true`, as root) they run.
pub const NEEDS_BPF: &str =
    "needs BPF: run as root, or with CAP_BPF and CAP_PERFMON (see the README)";

/// Runs real strace with `strace_args`, its output written to a file, and
/// returns that output.
pub fn run_strace(strace_args: &[&str], command: &[&str]) -> String {
    // Tests run in parallel, and two may ask strace about the same command.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!(
        "{}-{run}-{}",
        std::process::id(),
        command.join("_").replace('/', "_")
    );
    let file = std::env::temp_dir().join(format!("strace-from-scratch-{name}.txt"));
    let mut args = vec!["-o", file.to_str().unwrap()];
    args.extend_from_slice(strace_args);
    args.extend_from_slice(command);
    let output = Command::new("strace")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run strace ({e}): {NEEDS_STRACE}"));
    let trace = read(&file);
    // strace ends as the program did: killed by the same signal, if it was,
    // once its trace is complete (with -c, once the table's total is out).
    let program_killed =
        trace.contains("+++ killed by ") || trace.lines().any(|line| line.ends_with(" total"));
    assert!(
        output.status.code().is_some() || program_killed,
        "strace did not end normally: {output:?}"
    );
    std::fs::remove_file(&file).unwrap();
    trace
}

/// Whether mdBook takes `line` for an anchor's start or end marker (its own
/// rule: the marker anywhere in the line).
pub fn is_anchor_marker(line: &str) -> bool {
    line.contains("ANCHOR:") || line.contains("ANCHOR_END:")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Syscalls whose result is a process or thread id, which differs run to run.
pub const PID_RESULTS: [&str; 9] = [
    "getpid",
    "getppid",
    "gettid",
    "set_tid_address",
    "vfork",
    "fork",
    "clone",
    "clone3",
    "wait4",
];

/// Whether `line` is a row of a `-c` table: % time, seconds, usecs/call,
/// calls, [errors,] syscall.
pub fn is_summary_row(line: &str) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    fields.len() >= 5 && fields[0].parse::<f64>().is_ok() && fields[1].contains('.')
}

/// The rows of a `-c` table, the total last, each split into its fields:
/// % time, seconds, usecs/call, calls, [errors,] syscall.
pub fn summary_rows(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .filter(|line| is_summary_row(line))
        .map(|line| line.split_whitespace().collect())
        .collect()
}

/// The calls and errors columns of a `strace -c` table, by syscall name.
pub fn summary_counts(table: &str) -> BTreeMap<String, (u64, u64)> {
    summary_rows(table)
        .into_iter()
        .map(|fields| {
            let name = fields[fields.len() - 1].to_string();
            let calls = fields[3].parse().unwrap();
            let errors = if fields.len() == 6 {
                fields[4].parse().unwrap()
            } else {
                0
            };
            (name, (calls, errors))
        })
        .collect()
}

/// One traced syscall line, `name(args) = result`, as (name, result).
pub fn parse_call(line: &str) -> Option<(String, String)> {
    let (name, _) = line.split_once('(')?;
    let (_, result) = line.rsplit_once(" = ")?;
    Some((name.to_string(), result.trim().to_string()))
}

/// The syscalls of a trace, in order, as (name, result); other lines (how the
/// program ended, signals) are left out.
pub fn calls(trace: &str) -> Vec<(String, String)> {
    trace.lines().filter_map(parse_call).collect()
}

/// What real strace sees `command` do: its syscalls, in order.
pub fn strace_calls(command: &[&str]) -> Vec<(String, String)> {
    calls(&run_strace(&[], command))
}

// ---------------------------------------------------------------------------
// Masking: what changes from run to run, whoever traces, is hidden the same
// way on both sides of a comparison.

/// Hides what varies in one line of output: addresses (`0x…`), pids, and
/// large numbers (file sizes, such as the loader cache's, change as packages
/// are installed).
pub fn mask_line(line: &str) -> String {
    // "[pid  1234] ", the prefix of strace -f (and step 7) once there are
    // several processes: the pid, padded to five columns either way.
    if let Some((pid, rest)) = line.strip_prefix("[pid ").and_then(|l| l.split_once("] "))
        && pid.trim().parse::<u32>().is_ok()
    {
        return format!("[pid PID] {}", mask_line(rest));
    }
    // A child's CPU time, in a SIGCHLD: "si_utime=0", "si_stime=1 /* 0.01 s */".
    if let Some(masked) = mask_cpu_times(line) {
        return mask_line(&masked);
    }
    // The id of a new thread or process, which clone and clone3 write back
    // where the parent asked: "parent_tid=[1234]".
    let line = &match line.split_once("parent_tid=[") {
        Some((before, after)) if after.contains(']') => {
            let (_, rest) = after.split_once(']').unwrap();
            format!("{before}parent_tid=[PID]{rest}")
        }
        _ => line.to_string(),
    };
    // Pids first, on the raw words: a pid may have five digits or three, and
    // both must become the same `PID`.
    let mut words: Vec<&str> = line.split(' ').collect();
    // The call whole, or its end after another process's line.
    let is_pid_call = PID_RESULTS.iter().any(|name| {
        line.starts_with(&format!("{name}(")) || line.starts_with(&format!("<... {name} resumed>"))
    });
    if is_pid_call && let Some(last) = words.last_mut() {
        *last = "PID";
    }
    // A pid as the first argument.
    if line.starts_with("sched_getaffinity(") {
        words[0] = "sched_getaffinity(PID,";
    }
    // tgkill's process and thread, tkill's thread.
    if line.starts_with("tgkill(") && words.len() > 2 {
        words[0] = "tgkill(PID,";
        words[1] = "PID,";
    }
    if line.starts_with("tkill(") {
        words[0] = "tkill(PID,";
    }
    // A signal's sender, "si_pid=1234,"; the target of kill, "kill(1234,";
    // strace's notice of a change of ABI, "[ Process PID=1234 runs in …".
    for word in words.iter_mut() {
        for (start, masked) in [
            ("si_pid=", "si_pid=PID,"),
            ("kill(", "kill(PID,"),
            ("PID=", "PID=PID"),
        ] {
            if word.starts_with(start) {
                *word = masked;
            }
        }
    }
    // "child 1234 is stopped" (step 2), "traced, by process 1234,";
    // "superseded by execve in pid 1234", "Process 1234 attached" (-f, -p)
    for i in 1..words.len() {
        let number = words[i].trim_end_matches(',');
        let before = ["child", "process", "pid", "Process"];
        if before.contains(&words[i - 1]) && number.parse::<u32>().is_ok() {
            words[i] = "PID";
        }
    }
    // sysinfo's fields (uptime, free memory, processes) are the machine's
    // state at that instant.
    // Each number becomes one N, whatever its digits (99 processes, then 100).
    if line.starts_with("sysinfo(") {
        let mut masked = String::new();
        for c in line.chars() {
            if !c.is_ascii_digit() {
                masked.push(c);
            } else if !masked.ends_with('N') {
                masked.push('N');
            }
        }
        return masked;
    }
    let masked = words
        .into_iter()
        .map(mask_hex)
        .map(mask_hex_runs)
        .map(mask_large_number)
        .collect::<Vec<_>>()
        .join(" ");
    // What was masked in a short call changed the padding before its ` = `
    // (a pid of 2 digits or 5, an address): pad the masked call again, as
    // the tracers pad, to column 40.
    match masked.rsplit_once(" = ") {
        Some((call, result)) => format!("{:<39} = {result}", call.trim_end()),
        None => masked,
    }
}

/// `line` with each `si_utime=…` and `si_stime=…` (ticks, and strace's
/// comment in seconds, if any: neither has a `,` or a `}`) as `si_utime=T`,
/// if one is not masked yet.
fn mask_cpu_times(line: &str) -> Option<String> {
    let mut masked = line.to_string();
    for field in ["si_utime=", "si_stime="] {
        let Some(start) = masked.find(field).map(|at| at + field.len()) else {
            continue;
        };
        let rest = &masked[start..];
        let end = start + rest.find([',', '}']).unwrap_or(rest.len());
        masked.replace_range(start..end, "T");
    }
    (masked != line).then_some(masked)
}

/// Replaces every run of eight hex digits or more by `HEX`: addresses in
/// text, such as the lines of /proc/self/maps that a program reads. A string
/// cut short may hold part of an address at either end, whose digits differ
/// from run to run too, and is masked as well: the run that opens a read's
/// string (a read of 1024 bytes can end inside an address, and the next one
/// starts with its tail: `"5c000 rw-p`), and the run that `-s` cuts at the
/// string's end (`\n7f42"...`).
fn mask_hex_runs(word: String) -> String {
    let mut masked = String::new();
    let mut run = String::new();
    let end = (word.len(), ' ');
    for (i, c) in word.char_indices().chain(std::iter::once(end)) {
        if c.is_ascii_digit() || ('a'..='f').contains(&c) {
            run.push(c);
            continue;
        }
        let opens_the_string = masked.ends_with('"') && (c == ' ' || c == '-');
        let cut_by_s = word[i..].starts_with("\"...");
        let part_of_an_address = !run.is_empty() && (opens_the_string || cut_by_s);
        masked.push_str(if run.len() >= 8 || part_of_an_address {
            "HEX"
        } else {
            &run
        });
        run.clear();
        masked.push(c);
    }
    masked.pop(); // the space chained on above
    masked
}

/// Replaces every run of five digits or more by `N`.
fn mask_large_number(word: String) -> String {
    let mut masked = String::new();
    let mut digits = String::new();
    for c in word.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        masked.push_str(if digits.len() >= 5 { "N" } else { &digits });
        digits.clear();
        masked.push(c);
    }
    masked.pop(); // the space chained on above
    masked
}

fn mask_hex(word: &str) -> String {
    // Random bytes, as strace shows getrandom's: "\x25\x50…"
    if word.contains("\\x") {
        return "BYTES".to_string();
    }
    match word.find("0x") {
        Some(start) => {
            let digits = word[start + 2..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .count();
            format!("{}0xADDRESS{}", &word[..start], &word[start + 2 + digits..])
        }
        None => word.to_string(),
    }
}

/// Whether `condition` becomes true within five seconds.
pub fn eventually(condition: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// Whether any process on the machine runs with exactly these arguments.
pub fn is_running(args: &[&str]) -> bool {
    process(args).is_some()
}

/// The state (`R`, `S`, `t`…, from /proc/PID/stat) of a process that runs
/// with exactly these arguments, if there is one.
pub fn process(args: &[&str]) -> Option<char> {
    let wanted: Vec<u8> = args
        .iter()
        .flat_map(|arg| [arg.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .find(|dir| std::fs::read(dir.join("cmdline")).is_ok_and(|cmdline| cmdline == wanted))
        .and_then(|dir| state_in(&dir.join("stat")))
}

/// The state (`R`, `S`, `t`…) of process or thread `pid`.
pub fn state(pid: i32) -> Option<char> {
    state_in(Path::new(&format!("/proc/{pid}/stat")))
}

/// The state in a /proc stat file, "PID (name) STATE …": the letter after
/// the last ')', since a name may hold one too.
pub fn state_in(stat_file: &Path) -> Option<char> {
    let stat = std::fs::read_to_string(stat_file).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// A 32-bit program, written here byte by byte, with no compiler or 32-bit C
/// library: it writes "32-bit\n" with the i386 `write` (4) and ends with the
/// i386 `exit_group` (252), both made with `int $0x80`. (The kernel must run
/// 32-bit code, as for `tracee int80-write`.) Returns its path, in a new
/// directory.
pub fn program_32bit() -> std::path::PathBuf {
    const LOAD_AT: u32 = 0x0804_8000;
    const HEADERS: u32 = 52 + 32; // the ELF header, one program header
    let message = b"32-bit\n";
    let mut code: Vec<u8> = Vec::new();
    let code_len = 31;
    let message_at = LOAD_AT + HEADERS + code_len;
    let mov = |register: u8, value: u32| [&[register][..], &value.to_le_bytes()].concat();
    code.extend(mov(0xb8, 4)); // mov eax, 4: write
    code.extend(mov(0xbb, 1)); // mov ebx, 1: stdout
    code.extend(mov(0xb9, message_at)); // mov ecx, the message
    code.extend(mov(0xba, message.len() as u32)); // mov edx, its length
    code.extend([0xcd, 0x80]); // int $0x80
    code.extend(mov(0xb8, 252)); // mov eax, 252: exit_group
    code.extend([0x31, 0xdb]); // xor ebx, ebx: status 0
    code.extend([0xcd, 0x80]); // int $0x80
    assert_eq!(code.len() as u32, code_len);
    let size = HEADERS + code_len + message.len() as u32;

    let mut elf: Vec<u8> = b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0".to_vec(); // 32-bit, LE
    let halves: [u16; 2] = [2, 3]; // an executable, for EM_386
    elf.extend(halves.iter().flat_map(|half| half.to_le_bytes()));
    // version, entry point, program headers' offset, sections' offset, flags
    let words = [1, LOAD_AT + HEADERS, 52, 0, 0];
    elf.extend(words.iter().flat_map(|word| word.to_le_bytes()));
    // header size, program header size and count, section header size,
    // count and names' index
    let halves: [u16; 6] = [52, 32, 1, 0, 0, 0];
    elf.extend(halves.iter().flat_map(|half| half.to_le_bytes()));
    // One PT_LOAD of the whole file, read and execute, at LOAD_AT.
    let segment = [1, 0, LOAD_AT, LOAD_AT, size, size, 5, 0x1000];
    elf.extend(segment.iter().flat_map(|word| word.to_le_bytes()));
    elf.extend(code);
    elf.extend(message);
    assert_eq!(elf.len() as u32, size);

    let path = scratch_dir("32-bit").join("hello32");
    std::fs::write(&path, elf).unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&path, executable).unwrap();
    path
}

/// A thread calls futex when it finds a lock (the allocator's, stdout's) held
/// by another thread: whether two threads meet there is a matter of timing,
/// which any tracer changes. Neither its count nor its presence is compared.
pub const CONTENDED_LOCKS: &str = "futex";

/// `STEP -f -c` (step 7 or later) and `strace -f -c` on `command`. strace
/// runs three times: what its runs agree on (most calls and errors), the
/// step must equal; what they do not, or what `loose` names, the step must
/// at least have seen.
pub fn assert_follow_counts_match_strace(step: &str, command: &[&str], loose: &[&str]) {
    let without_futex = |mut counts: BTreeMap<String, (u64, u64)>| {
        counts.remove(CONTENDED_LOCKS);
        counts
    };
    let args = [&["-f", "-c"], command].concat();
    let ours = without_futex(summary_counts(&stderr(&run_within(
        HANG,
        binary(step),
        &args,
    ))));
    let runs: Vec<_> = (0..3)
        .map(|_| without_futex(summary_counts(&run_strace(&["-f", "-c"], command))))
        .collect();
    let first = &runs[0];
    let mut compared = 0;
    for (name, counts) in first {
        let repeated = runs.iter().all(|run| run.get(name) == Some(counts));
        if repeated && name != "total" && !loose.contains(&name.as_str()) {
            assert_eq!(
                ours.get(name),
                Some(counts),
                "{step}: {name} in {command:?}: {ours:?}"
            );
            compared += 1;
        } else {
            assert!(
                ours.contains_key(name),
                "{step}: {name} in {command:?}: {ours:?}"
            );
        }
    }
    // Nothing seen that strace never sees.
    for name in ours.keys() {
        assert!(runs.iter().any(|run| run.contains_key(name)), "{name}");
    }
    assert!(compared > 10, "{command:?}: too little compared");
}

/// How a tracer ended, told to: its status, its stderr, and what the program
/// it traced wrote to stdout once let go.
pub struct Told {
    pub status: std::process::ExitStatus,
    pub stderr: String,
    pub program_said: String,
}

/// Runs `tracer` (its words before the program's) on `tracee
/// endings-handler`, whose handler of SIGHUP, SIGINT and SIGTERM says which
/// came and exits with 3; once the program sleeps in `pause`, sends `signal`
/// to the tracer (`to_the_group`: to its whole process group, as Ctrl-C
/// does), and waits for both to end.
pub fn tell_to_end(tracer: &[&str], signal: nix::sys::signal::Signal, to_the_group: bool) -> Told {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let program = [binary("tracee"), "endings-handler"];
    let errors = scratch_file("told.txt");
    let mut child = std::process::Command::new(tracer[0])
        .args(&tracer[1..])
        .args(program)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&errors).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    stdout.read_exact(&mut ready).unwrap();
    assert_eq!(&ready, b"ready\n", "{tracer:?}");
    // The program is the tracer's child; once in pause, it is past the
    // tracer's stop at its entry.
    let tracer_pid = child.id();
    let program_pid = asleep_child(tracer_pid);
    let pid = nix::unistd::Pid::from_raw(tracer_pid as i32);
    match to_the_group {
        true => nix::sys::signal::killpg(pid, signal).unwrap(),
        false => nix::sys::signal::kill(pid, signal).unwrap(),
    }
    // The program's stdout ends when it does (the tracer's copy, with it):
    // if it is not let go, or not told, it would not end; then the test
    // fails, and ends it.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut program_said = String::new();
        let _ = stdout.read_to_string(&mut program_said);
        sender.send(program_said)
    });
    let Ok(program_said) = receiver.recv_timeout(std::time::Duration::from_secs(10)) else {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(program_pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = child.kill();
        panic!("{tracer:?}, {signal}: the program did not end, or the tracer did not");
    };
    let status = child.wait().unwrap();
    let stderr = read(&errors);
    std::fs::remove_file(&errors).unwrap();
    Told {
        status,
        stderr,
        program_said,
    }
}

/// The child of `tracer` (the program it started, `tracee endings-handler`
/// or another that waits for a signal), once it sleeps: past the tracer's
/// stop at its last call's entry. By its pid: tests run side by side, and
/// another's program may have the same command line.
pub fn asleep_child(tracer: u32) -> i32 {
    let children = format!("/proc/{tracer}/task/{tracer}/children");
    let child: i32 = read(Path::new(&children)).trim().parse().unwrap();
    assert!(
        eventually(|| state(child) == Some('S')),
        "{child} never slept"
    );
    child
}
