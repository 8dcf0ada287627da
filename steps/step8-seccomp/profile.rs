// ANCHOR: all
//! Seccomp profiles in Docker's format: writing one that allows what a
//! traced run used, and reading one into the rules of a filter.
//!
//! Docker's format (moby's `profiles/seccomp/default.json`) is a JSON
//! object: a `defaultAction` for any syscall no rule names, and `syscalls`,
//! a list of rules, each a list of `names` and the `action` for them. We
//! read its plain parts; a rule that looks at arguments (`args`) or at the
//! container's capabilities (`includes`, `excludes`) is refused with a clear
//! message rather than loaded as a filter weaker or stronger than it says.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use syscalls::Sysno;

use crate::json::{self, Value};
use crate::seccomp::Action;

// ANCHOR: pending
/// A profile to be written at `path` once the run is over. The profile is
/// written to a file of its own in the same folder, and renamed to `path`
/// only when it is whole: a rename within a folder replaces the file at
/// once, so `path` holds the old profile or the new one, never an empty or
/// half-written one. That file is created before anything runs, which says
/// at once whether the folder can be written, as `-o` does for the trace,
/// without touching `path`; and it is removed if the run fails (a command
/// that does not exist, `-p` of a process that is gone): `path` is then as
/// it was, and nothing new is left.
pub struct Pending {
    path: PathBuf,
    temporary: PathBuf,
    file: fs::File,
}

pub fn create(path: &Path) -> Result<Pending, String> {
    let cannot = |why: &dyn std::fmt::Display| {
        format!("cannot create the profile {}: {why}", path.display())
    };
    let name = match path.file_name() {
        Some(name) if !path.is_dir() => name.to_string_lossy(),
        _ => return Err(cannot(&"it is a folder")),
    };
    let temporary = path.with_file_name(format!("{name}.{}.tmp", std::process::id()));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .map_err(|e| cannot(&e))?;
    Ok(Pending {
        path: path.to_path_buf(),
        temporary,
        file,
    })
}

impl Drop for Pending {
    /// Not written: the temporary file goes. (Once it is renamed, there is
    /// nothing there to remove.)
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.temporary);
    }
}
// ANCHOR_END: pending

// ANCHOR: write
impl Pending {
    /// Writes a profile that allows exactly `names` and fails everything else
    /// with EPERM (errno 1), laid out as Docker's own profile is; then puts
    /// it in place.
    pub fn write(mut self, names: &BTreeSet<String>) -> Result<(), String> {
        let names: Vec<String> = names
            .iter()
            .map(|name| format!("\t\t\t\t\"{name}\""))
            .collect();
        let text = format!(
            "{{\n\
             \t\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\
             \t\"defaultErrnoRet\": 1,\n\
             \t\"archMap\": [\n\
             \t\t{{\n\
             \t\t\t\"architecture\": \"SCMP_ARCH_X86_64\",\n\
             \t\t\t\"subArchitectures\": [\n\
             \t\t\t\t\"SCMP_ARCH_X86\",\n\
             \t\t\t\t\"SCMP_ARCH_X32\"\n\
             \t\t\t]\n\
             \t\t}}\n\
             \t],\n\
             \t\"syscalls\": [\n\
             \t\t{{\n\
             \t\t\t\"names\": [\n\
             {}\n\
             \t\t\t],\n\
             \t\t\t\"action\": \"SCMP_ACT_ALLOW\"\n\
             \t\t}}\n\
             \t]\n\
             }}\n",
            names.join(",\n")
        );
        let shown = self.path.display();
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the profile {shown}: {e}"))?;
        fs::rename(&self.temporary, &self.path)
            .map_err(|e| format!("cannot write the profile {shown}: {e}"))
    }
}
// ANCHOR_END: write

/// A profile, read: what to do with the syscalls it names, and with the rest.
pub struct Profile {
    pub rules: Vec<(u64, Action)>,
    pub default: Action,
}

// ANCHOR: read
/// Reads a profile, or says in one line what is wrong with it and where.
pub fn read(path: &Path) -> Result<Profile, String> {
    let shown = path.display();
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read the profile {shown}: {e}"))?;
    let document = json::parse(&text).map_err(|e| format!("{shown}: not valid JSON: {e}"))?;
    read_profile(&document).map_err(|e| format!("{shown}: {e}"))
}

fn read_profile(document: &Value) -> Result<Profile, String> {
    if !matches!(document, Value::Object(_)) {
        return Err("a profile is a JSON object ({\"defaultAction\": ...})".to_string());
    }
    let default = match document.get("defaultAction") {
        Some(name) => action(name, document.get("defaultErrnoRet"), "defaultAction")?,
        None => return Err("defaultAction is missing".to_string()),
    };
    let mut rules = Vec::new();
    let syscalls = match document.get("syscalls") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(syscalls)) => syscalls,
        Some(_) => return Err("syscalls: expected a list of rules".to_string()),
    };
    for (i, rule) in syscalls.iter().enumerate() {
        let place = format!("syscalls[{i}]");
        read_rule(rule, &place, &mut rules)?;
    }
    // The first syscall under the filter is the execve that starts the
    // program: refused, nothing could run, and we could not even say so,
    // were write and exit_group refused too.
    let execve = Sysno::execve as u64;
    let for_execve = rules
        .iter()
        .find(|&&(number, _)| number == execve)
        .map_or(default, |&(_, action)| action);
    if !matches!(for_execve, Action::Allow | Action::Log) {
        return Err(
            "execve is not allowed, so no program can start under this profile: allow it in a \
             rule whose action is SCMP_ACT_ALLOW"
                .to_string(),
        );
    }
    Ok(Profile { rules, default })
}

/// One rule: its names and their action. Where two rules name the same
/// syscall, the first one decides, as the filter compares in order.
fn read_rule(rule: &Value, place: &str, rules: &mut Vec<(u64, Action)>) -> Result<(), String> {
    for condition in ["args", "includes", "excludes"] {
        if rule.get(condition).is_some_and(|value| !is_empty(value)) {
            return Err(format!(
                "{place}.{condition}: rules with conditions (args, includes, excludes) are not \
                 supported; remove the rule, or the condition"
            ));
        }
    }
    let action = match rule.get("action") {
        Some(name) => action(name, rule.get("errnoRet"), &format!("{place}.action"))?,
        None => return Err(format!("{place}.action is missing")),
    };
    let Some(Value::Array(names)) = rule.get("names") else {
        return Err(format!("{place}.names: expected a list of syscall names"));
    };
    for (j, name) in names.iter().enumerate() {
        let number = match name {
            Value::String(name) => name.parse::<Sysno>().map_err(|_| {
                let name = json::quote(name);
                format!("{place}.names[{j}]: {name} is not the name of an x86_64 syscall")
            })?,
            _ => return Err(format!("{place}.names[{j}]: expected a syscall name")),
        };
        rules.push((number as u64, action));
    }
    Ok(())
}

/// A condition that says nothing: `null`, `[]` or `{}`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
        _ => false,
    }
}

/// An action by its name in Docker's format (libseccomp's names), with its
/// errno for `SCMP_ACT_ERRNO` (EPERM when the profile gives none).
fn action(name: &Value, errno: Option<&Value>, place: &str) -> Result<Action, String> {
    let Value::String(name) = name else {
        return Err(format!(
            "{place}: expected an action's name, like \"SCMP_ACT_ALLOW\""
        ));
    };
    Ok(match name.as_str() {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(errno_value(errno, place)?),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        _ => {
            return Err(format!(
                "{place}: unknown action {} (known: SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, \
                 SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, \
                 SCMP_ACT_LOG)",
                json::quote(name)
            ));
        }
    })
}

/// The errno of an `SCMP_ACT_ERRNO`: a whole number the kernel can return.
fn errno_value(errno: Option<&Value>, place: &str) -> Result<u16, String> {
    match errno {
        None => Ok(libc::EPERM as u16),
        Some(Value::Number(n)) if n.fract() == 0.0 && (1.0..4096.0).contains(n) => Ok(*n as u16),
        Some(_) => Err(format!(
            "{place}: its errno must be a number from 1 to 4095"
        )),
    }
}
// ANCHOR_END: read
// ANCHOR_END: all
