//! Runs before the tests are compiled, to find out whether everything they
//! compare with is here: real strace, the judge, and the versions of the C
//! library, coreutils and strace that the book's transcripts were made with;
//! and whether step 10 may load BPF programs here (root, or CAP_BPF and
//! CAP_PERFMON).
//!
//! What is missing is said as a cargo warning, visible in any `cargo build`
//! or `cargo test`, and the tests that need it are compiled as ignored, with
//! the reason, so that `cargo test` says "ignored" rather than a silent "ok".
//! Under CI (`CI=true`) nothing is ignored: there, a missing judge fails.
//! Nor while regenerating the transcripts (`UPDATE_TRANSCRIPTS`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the transcripts' machine is recorded, from the package's root.
const RECORDED_MACHINE: &str = "book/src/transcripts/MACHINE.txt";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_strace, other_machine, no_bpf, no_podman)");
    println!("cargo::rerun-if-env-changed=PATH");
    // Who runs cargo decides whether BPF is allowed (sudo changes USER).
    println!("cargo::rerun-if-env-changed=USER");
    println!("cargo::rerun-if-env-changed=SUDO_USER");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=UPDATE_TRANSCRIPTS");
    println!("cargo::rerun-if-changed={RECORDED_MACHINE}");
    // Run again when one of the programs we ask is upgraded or removed, or,
    // if one is missing, when a directory of PATH changes, as it does when
    // the program is installed. (A path that does not exist would make cargo
    // run us, and rebuild, at every build.)
    let mut missing = false;
    for program in ["strace", "echo", "getconf", "podman", "runc"] {
        match find_in_path(program) {
            Some(path) => println!("cargo::rerun-if-changed={}", path.display()),
            None => missing = true,
        }
    }
    if missing {
        let path = env::var_os("PATH").unwrap_or_default();
        for dir in env::split_paths(&path).filter(|dir| dir.is_dir()) {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }

    let machine = describe_machine();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out_dir.join("machine.txt"), &machine).expect("cannot write to OUT_DIR");

    // Under CI, nothing may be skipped; when regenerating the transcripts,
    // nothing should be either.
    if env::var("CI").as_deref() == Ok("true") || env::var_os("UPDATE_TRANSCRIPTS").is_some() {
        return;
    }
    if let Err(why) = bpf_allowed() {
        println!(
            "cargo::warning=step 10 cannot load BPF programs here ({why}): `cargo test` will \
             SKIP its tests; run them as root (sudo -E env \"PATH=$PATH\" \
             CARGO_TARGET_DIR=target/root cargo test), or with CAP_BPF and CAP_PERFMON"
        );
        println!("cargo::rustc-cfg=no_bpf");
    }
    // Step 8's profiles loaded by a real container runtime: podman, with
    // runc, as root (rootless podman needs a setup of its own).
    let root = first_line("id", &["-u"]) == "0";
    if find_in_path("podman").is_none() || find_in_path("runc").is_none() || !root {
        println!(
            "cargo::warning=podman and runc, run as root, are not here: `cargo test` will SKIP \
             loading step 8's profiles in a container; install them (e.g. sudo apt-get install \
             podman runc, or scripts/install-prerequisites --podman) and run the tests as root"
        );
        println!("cargo::rustc-cfg=no_podman");
    }
    if find_in_path("strace").is_none() {
        println!(
            "cargo::warning=strace is not installed: `cargo test` will SKIP every comparison \
             with real strace, the book's transcripts included; install it (e.g. sudo apt-get \
             install strace)"
        );
        println!("cargo::rustc-cfg=no_strace");
        return;
    }
    let recorded = fs::read_to_string(RECORDED_MACHINE).unwrap_or_default();
    if recorded != machine {
        println!(
            "cargo::warning=the book's transcripts were made with other versions than this \
             machine has: `cargo test` will SKIP checking them (see {RECORDED_MACHINE}; this \
             machine has {})",
            machine.trim_end().replace('\n', ", ")
        );
        println!("cargo::rustc-cfg=other_machine");
    }
}

/// Whether this process may load step 10's programs: BPF in the kernel, and
/// CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON, among our effective
/// capabilities (what root has, unless a container took them away).
fn bpf_allowed() -> Result<(), &'static str> {
    // The file exists in any kernel built with the bpf(2) syscall.
    if !Path::new("/proc/sys/kernel/unprivileged_bpf_disabled").exists() {
        return Err("this kernel has no BPF");
    }
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let has = |capability: u32| effective & (1 << capability) != 0;
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    if !(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) {
        return Err("not root, nor CAP_BPF and CAP_PERFMON");
    }
    // Step 10 refuses to run in a pid namespace other than the first (the
    // inode number of the first is fixed: PROC_PID_INIT_INO).
    use std::os::unix::fs::MetadataExt;
    let first_namespace = fs::metadata("/proc/self/ns/pid").is_ok_and(|ns| ns.ino() == 0xEFFF_FFFC);
    if !first_namespace {
        return Err("this is a pid namespace of its own, a container's perhaps");
    }
    Ok(())
}

/// The versions that decide which syscalls the transcripts' programs make,
/// in the format of MACHINE.txt.
fn describe_machine() -> String {
    format!(
        "C library: {}\ncoreutils: {}\nstrace: {}\n",
        first_line("getconf", &["GNU_LIBC_VERSION"]),
        first_line("echo", &["--version"]).replace("echo ", ""),
        first_line("strace", &["-V"]),
    )
}

/// The first line a program prints, or "missing" if it cannot run.
fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|output| {
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.lines().next().map(str::to_string)
        })
        .unwrap_or_else(|| "missing".to_string())
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| Path::new(candidate).is_file())
}
