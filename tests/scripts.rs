//! The setup scripts an attendee runs before the workshop say what is wrong,
//! and only that: `scripts/check-setup` and `scripts/install-prerequisites`,
//! run with stand-ins for the tools they call (cargo, sudo, apt-get) where
//! the real ones would build or install for minutes.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The path of `program` in this test's PATH.
fn which(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("no {program} in PATH"))
}

/// Writes an executable shell script.
fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(path, executable).unwrap();
}

/// A directory of stand-ins: a `cargo` whose `build` says, in cargo's own
/// JSON, that it put step2 at `step2` (where a `build.target` setting, or
/// CARGO_BUILD_TARGET, makes it put binaries: under the target's name), and
/// whose `metadata` names a target directory where nothing was built.
fn fake_cargo(name: &str, step2: &str) -> PathBuf {
    let dir = scratch_dir(name);
    let target = dir.join("target");
    let built = format!(
        r#"{{"reason":"compiler-artifact","target":{{"kind":["bin"],"crate_types":["bin"],"name":"step2"}},"filenames":["{step2}"],"executable":"{step2}","fresh":true}}"#
    );
    let metadata = format!(r#"{{"target_directory":"{}"}}"#, target.display());
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n  build) echo '{built}'; echo '{{\"reason\":\"build-finished\",\"success\":true}}' ;;\n  metadata) echo '{metadata}' ;;\n  *) exit 1 ;;\nesac\n"
    );
    write_script(&dir.join("cargo"), &script);
    dir
}

/// Runs `shell scripts/check-setup` with the stand-ins of `dir` first in
/// PATH.
fn check_setup(shell: &str, dir: &Path) -> Output {
    let path = std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    Command::new(which(shell))
        .arg(root().join("scripts/check-setup"))
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn check_setup_finds_step2_where_cargo_put_it() {
    // Not in the target directory's debug/, but where cargo's build said.
    let dir = scratch_dir("check-setup-elsewhere");
    let step2 = dir.join("x86_64-unknown-linux-gnu/debug/step2");
    std::fs::create_dir_all(step2.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(binary("step2"), &step2).unwrap();
    let cargo = fake_cargo("fake-cargo", step2.to_str().unwrap());
    let output = check_setup("bash", &cargo);
    let report = stdout(&output);
    assert!(
        report.contains("\nok    ptrace allowed (step2 true)\n"),
        "{report}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&cargo).unwrap();
}

#[test]
fn check_setup_tells_a_ptrace_refusal_from_other_failures() {
    let dir = scratch_dir("check-setup-failures");
    // A step2 that fails for a reason of its own: no ptrace advice.
    for stand_in in ["broken", "refused"] {
        std::fs::create_dir(dir.join(stand_in)).unwrap();
    }
    let broken = dir.join("broken/step2");
    let message = "step2: cannot find 'true' in PATH: check the spelling";
    write_script(
        &broken,
        &format!("#!/bin/sh\necho \"{message}\" >&2\nexit 1\n"),
    );
    // The real step2 where seccomp refuses ptrace, as a container may.
    let refused = dir.join("refused/step2");
    let script = format!(
        "#!/bin/sh\nexec {} deny-ptrace {} \"$@\"\n",
        binary("tracee"),
        binary("step2")
    );
    write_script(&refused, &script);

    let cargo = fake_cargo("fake-cargo-broken", broken.to_str().unwrap());
    let report = stdout(&check_setup("bash", &cargo));
    assert!(
        report.contains("\nFAIL  step2 true failed, and not because of ptrace\n"),
        "{report}"
    );
    assert!(report.contains(message), "{report}");
    assert!(!report.contains("--cap-add"), "{report}");

    let cargo = fake_cargo("fake-cargo-refused", refused.to_str().unwrap());
    let report = stdout(&check_setup("bash", &cargo));
    assert!(
        report.contains("\nFAIL  ptrace allowed (step2 true)\n"),
        "{report}"
    );
    assert!(report.contains("refused ptrace"), "{report}");
    assert!(report.contains("--cap-add=SYS_PTRACE"), "{report}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_setup_run_with_sh_runs_with_bash() {
    // `sh scripts/check-setup`: dash, on Debian, has no `-o pipefail`.
    let cargo = fake_cargo("fake-cargo-sh", binary("step2"));
    let output = check_setup("sh", &cargo);
    let report = stdout(&output);
    assert!(report.starts_with("ok    Linux\n"), "{report}{output:?}");
    assert!(
        report.contains("\nok    ptrace allowed (step2 true)\n"),
        "{report}"
    );
    assert!(!stderr(&output).contains("pipefail"), "{output:?}");
    std::fs::remove_dir_all(&cargo).unwrap();
}

#[test]
fn install_prerequisites_without_sudo_says_what_to_do() {
    // A user who is not root, on a system with apt-get and without sudo,
    // cc or strace: nothing to run, but something to say.
    let dir = scratch_dir("no-sudo");
    write_script(&dir.join("id"), "#!/bin/sh\necho 1000\n");
    let apt_log = dir.join("apt-get.log");
    let apt = format!("#!/bin/sh\necho \"$@\" >> {}\n", apt_log.display());
    write_script(&dir.join("apt-get"), &apt);
    let output = Command::new(which("bash"))
        .arg(root().join("scripts/install-prerequisites"))
        .arg("--no-mdbook")
        .env("PATH", &dir)
        .env("CARGO_HOME", dir.join("cargo-home"))
        .output()
        .unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(message.contains("sudo is not installed"), "{message}");
    assert!(message.contains("as root"), "{message}");
    assert!(message.contains("apt-get install gcc strace"), "{message}");
    assert!(!message.contains("command not found"), "{message}");
    assert!(!apt_log.exists(), "apt-get ran: {message}");
    std::fs::remove_dir_all(&dir).unwrap();
}
