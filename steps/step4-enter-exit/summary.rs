// ANCHOR: all
//! The `-c` table: calls, errors and time per syscall, laid out as
//! `strace -c` lays it out.
//!
//! Step 4 introduces this file; steps 5 to 10 include it unchanged. Each
//! step writes the lines where its output goes, and names the syscalls from
//! its own table (step 6 has one per ABI), so both are the caller's.

use std::collections::BTreeMap;
use std::time::Duration;

// ANCHOR: counts
/// What `-c` adds up for one syscall.
#[derive(Default)]
pub struct Counts {
    pub calls: u64,
    pub errors: u64,
    pub time: Duration,
}

impl Counts {
    /// One more call, which took `time`, and whether it failed.
    pub fn add(&mut self, time: Duration, failed: bool) {
        self.calls += 1;
        self.time += time;
        if failed {
            self.errors += 1;
        }
    }
}

/// The counts of every syscall seen, by syscall number. A `BTreeMap` keeps
/// them in number order, which is how strace orders syscalls of equal time.
pub type Summary = BTreeMap<u64, Counts>;
// ANCHOR_END: counts

// ANCHOR: summary
const SUMMARY_HEADER: &str = "% time     seconds  usecs/call     calls    errors syscall";
const SUMMARY_RULE: &str = "------ ----------- ----------- --------- ---------";

/// The `-c` table in strace's layout, line by line: the slowest syscalls
/// first, each named by `name`.
pub fn table(summary: &Summary, name: impl Fn(u64) -> String) -> Vec<String> {
    let total = Counts {
        calls: summary.values().map(|counts| counts.calls).sum(),
        errors: summary.values().map(|counts| counts.errors).sum(),
        time: summary.values().map(|counts| counts.time).sum(),
    };
    let mut rows: Vec<(&u64, &Counts)> = summary.iter().collect();
    // A stable sort: syscalls of equal time stay in syscall-number order.
    rows.sort_by_key(|(_, counts)| std::cmp::Reverse(counts.time));

    // Like strace, the rule under "syscall" is 16 dashes, or one more than the
    // longest name.
    let longest_name = summary.keys().map(|n| name(*n).len()).max();
    let rule = format!(
        "{SUMMARY_RULE} {}",
        "-".repeat(16.max(longest_name.unwrap_or(0) + 1))
    );

    let mut lines = vec![SUMMARY_HEADER.to_string(), rule.clone()];
    for (number, counts) in rows {
        let percent = if total.time.is_zero() {
            0.0
        } else {
            100.0 * counts.time.as_secs_f64() / total.time.as_secs_f64()
        };
        lines.push(row(percent, counts, &name(*number)));
    }
    lines.push(rule);
    lines.push(row(100.0, &total, "total"));
    lines
}

/// One line of the table; like strace, an error count of zero is left blank.
fn row(percent: f64, counts: &Counts, name: &str) -> String {
    let seconds = counts.time.as_secs_f64();
    let usecs_per_call = counts.time.as_micros() / u128::from(counts.calls.max(1));
    let errors = match counts.errors {
        0 => String::new(),
        errors => errors.to_string(),
    };
    let calls = counts.calls;
    format!("{percent:6.2} {seconds:11.6} {usecs_per_call:11} {calls:9} {errors:>9} {name}")
}
// ANCHOR_END: summary
// ANCHOR_END: all
