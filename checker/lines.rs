//! Reading a trace loosely, as the chapters allow: `getppid`, `getppid = 5`,
//! `getppid(...) = 5` and strace's full `getppid() = 5` are all the same call.

/// One line of a trace that names a syscall.
#[derive(Debug, PartialEq)]
pub struct Call {
    pub name: String,
    /// What follows the last ` = `, if anything: `5`, `-1 ENOENT (No such …)`.
    pub result: Option<String>,
    /// The whole line, `[pid N] ` prefix removed.
    pub line: String,
}

impl Call {
    /// The result as a number: `5`, `0x7f00` (an address, in hex or
    /// decimal), `-1` for `-1 ENOENT (…)`.
    pub fn number(&self) -> Option<i64> {
        let first = self.result.as_deref()?.split_whitespace().next()?;
        match first.strip_prefix("0x") {
            Some(hex) => i64::from_str_radix(hex, 16).ok(),
            None => first.parse().ok(),
        }
    }
}

/// The lines of `trace` that name a syscall, in order. Other lines (the
/// tracer's own messages, `+++ exited with 0 +++`, signals) are left out.
pub fn calls(trace: &str) -> Vec<Call> {
    trace.lines().filter_map(call).collect()
}

/// A line that starts with a syscall's name: lower-case letters, digits and
/// `_`, then the end of the line, a space, `(` or `=`. `step3: …` and
/// `+++ …` do not.
pub fn call(line: &str) -> Option<Call> {
    let line = without_pid(line).trim_end();
    let end = line
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let starts_well = name.starts_with(|c: char| c.is_ascii_lowercase());
    if !starts_well || !(rest.is_empty() || rest.starts_with([' ', '(', '='])) {
        return None;
    }
    let result = rest
        .rsplit_once('=')
        .map(|(_, result)| result.trim().to_string())
        .filter(|result| !result.is_empty());
    Some(Call {
        name: name.to_string(),
        result,
        line: line.to_string(),
    })
}

/// A line of `strace -f`, without its pid: `[pid  1234] ` on a terminal,
/// `1234 ` in a file written with `-o` (padded: `123  `).
pub fn without_pid(line: &str) -> &str {
    if let Some((_, rest)) = line
        .strip_prefix("[pid ")
        .and_then(|rest| rest.split_once("] "))
    {
        return rest;
    }
    match line.split_once(' ') {
        Some((pid, rest)) if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) => {
            rest.trim_start()
        }
        _ => line,
    }
}

/// The rows of a `-c` table, as (syscall, calls, errors): strace's columns
/// are `% time`, `seconds`, `usecs/call`, `calls`, `errors` (blank when
/// there are none) and `syscall`.
pub fn table(text: &str) -> Vec<(String, u64, u64)> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let numbers = |words: &[&str]| words.iter().all(|w| w.parse::<f64>().is_ok());
        let row = match words.as_slice() {
            [head @ .., calls, errors, name] if head.len() == 3 && numbers(head) => {
                Some((name, calls.parse(), errors.parse()))
            }
            [head @ .., calls, name] if head.len() == 3 && numbers(head) => {
                Some((name, calls.parse(), Ok(0)))
            }
            _ => None,
        };
        if let Some((name, Ok(calls), Ok(errors))) = row
            && *name != "total"
        {
            rows.push((name.to_string(), calls, errors));
        }
    }
    rows.sort();
    rows
}

/// Hides what differs from run to run under strace itself: addresses, pids
/// and other large numbers, and the random bytes of getrandom.
pub fn mask(line: &str) -> String {
    let line = without_pid(line);
    // getrandom's bytes are random: its string goes whole.
    if let Some(rest) = line.strip_prefix("getrandom(\"")
        && let Some((_, after)) = rest.split_once("\", ")
    {
        return mask(&format!("getrandom(BYTES, {after}"));
    }
    // A pid or a thread id, returned, differs from run to run.
    if let Some((call, _)) = line.rsplit_once(" = ")
        && PID_RESULTS
            .iter()
            .any(|name| call.starts_with(&format!("{name}(")))
    {
        return format!("{} = PID", mask(call));
    }
    let mut masked = String::new();
    let mut word = String::new();
    for c in line.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_alphanumeric() {
            word.push(c);
            continue;
        }
        // A signal's sender, `si_pid=1234`: a pid of any length.
        if masked.ends_with("pid=") && !word.is_empty() {
            masked.push_str("PID");
        } else {
            masked.push_str(&mask_word(&word));
        }
        word.clear();
        masked.push(c);
    }
    masked.pop();
    masked
}

/// The calls whose result is a process's or a thread's id.
const PID_RESULTS: [&str; 8] = [
    "getpid",
    "getppid",
    "gettid",
    "set_tid_address",
    "clone",
    "clone3",
    "fork",
    "vfork",
];

fn mask_word(word: &str) -> String {
    let is_hex = word.len() > 2 && word.starts_with("0x");
    let is_large = word.len() >= 5 && word.chars().all(|c| c.is_ascii_digit());
    if is_hex || is_large {
        "N".to_string()
    } else {
        word.to_string()
    }
}

/// At most ten lines of `text`, for a failure's "seen", with how many more.
pub fn at_most_ten(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown: Vec<String> = lines.iter().take(10).map(|l| l.to_string()).collect();
    if lines.len() > 10 {
        shown.truncate(9);
        shown.push(format!("… and {} more lines", lines.len() - 9));
    }
    if shown.is_empty() {
        shown.push("(nothing)".to_string());
    }
    shown
}
