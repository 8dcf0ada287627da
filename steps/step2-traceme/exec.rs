// ANCHOR: all
//! The program to run: found the way a shell finds it, passed to `execve`
//! as C strings, and, when it cannot run, a line that says why.
//!
//! Step 2 introduces this file, for its spawn.rs; every later step's way of
//! starting a program includes it unchanged.

use std::env;
use std::ffi::{CString, OsStr};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

/// Finds the program to run the way a shell does: a name with a slash is a
/// path; any other name is looked up in each directory of `PATH` in turn.
/// Doing it before fork lets us say clearly what is wrong while we still can.
pub fn find_program(name: &OsStr) -> Result<PathBuf, String> {
    let shown = name.to_string_lossy();
    if name.as_bytes().contains(&b'/') {
        let path = PathBuf::from(name);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "cannot run '{shown}': no executable file at that path"
            ))
        };
    }
    let search_path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&search_path)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
        .ok_or_else(|| {
            format!(
                "cannot find '{shown}' in PATH: check the spelling, or give a path like ./{shown}"
            )
        })
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

pub fn c_string(text: &OsStr) -> Result<CString, String> {
    CString::new(text.as_bytes()).map_err(|_| {
        let shown = text.to_string_lossy();
        format!("'{shown}' contains a NUL byte, which cannot be passed to a program")
    })
}

pub fn explain_exec_failure(program: &Path, errno: Errno) -> String {
    let shown = program.display();
    let why = match (errno, interpreter(program)) {
        // The file is there (find_program saw it): what is missing is the
        // program the kernel must start to run it.
        (Errno::ENOENT, Some(interpreter)) => {
            format!("its interpreter, {interpreter} (the #! line), does not exist")
        }
        (Errno::ENOENT, None) => {
            "the dynamic loader it asks for does not exist (a program built for another \
             system?)"
                .to_string()
        }
        (Errno::ENOEXEC, Some(interpreter)) => {
            format!(
                "its interpreter, {interpreter} (the #! line), is not a program this machine can run"
            )
        }
        // Not a program, and no #! line: a text file, most likely a script
        // whose first line does not say what runs it. (A shell would try it
        // with sh; execve does not.)
        (Errno::ENOEXEC, None) if !is_elf(program) => {
            "it is not a program, and has no #! line to name what runs it (a script needs \
             one as its first line, such as #!/bin/sh)"
                .to_string()
        }
        (Errno::ENOEXEC, None) => {
            "it is not a program this machine can run (built for another one?)".to_string()
        }
        // Any other error: its name and description say it all.
        (errno, _) => return format!("cannot execute {shown}: {errno}"),
    };
    format!("cannot execute {shown}: {why} ({errno})")
}

/// Whether `program` starts as a Linux program does: the ELF magic number.
fn is_elf(program: &Path) -> bool {
    let mut magic = [0; 4];
    let read = fs::File::open(program).and_then(|mut file| file.read_exact(&mut magic));
    read.is_ok() && magic == *b"\x7fELF"
}

/// The interpreter named by a script's `#!` line, if `program` is a script.
fn interpreter(program: &Path) -> Option<String> {
    let start = fs::read(program).ok()?;
    let first_line = start.strip_prefix(b"#!")?.split(|&b| b == b'\n').next()?;
    let text = String::from_utf8_lossy(first_line);
    text.split_whitespace().next().map(str::to_string)
}
// ANCHOR_END: all
