// ANCHOR: all
//! The command line, read as strace reads it: options first, up to the first
//! word that is not one (or `--`); that word and everything after it are the
//! command to trace.
//!
//! Step 5 introduces this file, with `-e trace=` and `-s`; steps 6 to 9
//! include it unchanged (and step 10, for step 6's abi.rs, which names the
//! calls `-e trace=` selects). Which options a step has, and what each one
//! does, is the step's own: its `parse_args` matches them.

use std::collections::BTreeSet;
use std::ffi::OsString;

use syscalls::Sysno;

// ANCHOR: command_line
/// One option, and its value if it takes one (empty if it does not).
pub struct Opt {
    pub flag: String,
    pub value: String,
}

/// The words of the command line, read one option at a time.
pub struct CommandLine<'a> {
    rest: &'a [OsString],
    /// The options that take a value: `-s 64`, `-s64`, `--deny openat`.
    with_value: &'a [&'a str],
    usage: &'a str,
}

impl<'a> CommandLine<'a> {
    pub fn new(args: &'a [OsString], with_value: &'a [&'a str], usage: &'a str) -> Self {
        CommandLine {
            rest: args,
            with_value,
            usage,
        }
    }

    /// The next option, or `None` where the command starts. A short option
    /// is a dash and one letter, and its value may be stuck to it (`-s64`)
    /// or be the next word (`-s 64`), as strace allows; a long one (`--deny`)
    /// is the whole word, and its value the next word.
    pub fn next_option(&mut self) -> Result<Option<Opt>, String> {
        let Some(word) = self.rest.first().and_then(|word| word.to_str()) else {
            return Ok(None);
        };
        if !word.starts_with('-') {
            return Ok(None); // the command starts here
        }
        self.rest = &self.rest[1..];
        if word == "--" {
            return Ok(None);
        }
        let letter_end = word.char_indices().nth(2).map_or(word.len(), |(i, _)| i);
        let (flag, stuck) = match word.starts_with("--") {
            true => (word, ""),
            false => word.split_at(letter_end),
        };
        if !self.with_value.contains(&flag) {
            return match stuck.is_empty() {
                true => Ok(Some(Opt {
                    flag: flag.to_string(),
                    value: String::new(),
                })),
                false => Err(self.unknown(word)),
            };
        }
        let value = match stuck.is_empty() {
            false => stuck.to_string(),
            true => self.next_word(flag)?,
        };
        let flag = flag.to_string();
        Ok(Some(Opt { flag, value }))
    }

    fn next_word(&mut self, flag: &str) -> Result<String, String> {
        let (next, after) = self
            .rest
            .split_first()
            .ok_or_else(|| format!("option {flag} needs a value; {}", self.usage))?;
        self.rest = after;
        Ok(next.to_string_lossy().into_owned())
    }

    /// What to say of an option the step does not know.
    pub fn unknown(&self, word: &str) -> String {
        format!("unknown option '{word}'; {}", self.usage)
    }

    /// What follows the options: the command and its arguments.
    pub fn command(self) -> Vec<OsString> {
        self.rest.to_vec()
    }
}
// ANCHOR_END: command_line

// ANCHOR: selection
/// Which syscalls `-e trace=` selects, by number.
pub enum Selection {
    All,
    Only(BTreeSet<u64>),
    AllBut(BTreeSet<u64>),
}

impl Selection {
    /// `trace=open,close` or `trace=!write`: syscall names, each one checked.
    pub fn parse(text: &str) -> Result<Selection, String> {
        let list = text.strip_prefix("trace=").unwrap_or(text);
        Ok(match list.strip_prefix('!') {
            Some(list) => Selection::AllBut(syscall_numbers("-e trace", list)?),
            None => Selection::Only(syscall_numbers("-e trace", list)?),
        })
    }

    pub fn contains(&self, number: u64) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(numbers) => numbers.contains(&number),
            Selection::AllBut(numbers) => !numbers.contains(&number),
        }
    }
}

/// `openat,read`: syscall names, each one checked, as numbers; `option`
/// says whose list it is, for the error.
pub fn syscall_numbers(option: &str, list: &str) -> Result<BTreeSet<u64>, String> {
    list.split(',')
        .map(|name| match name.parse::<Sysno>().ok() {
            Some(sysno) => Ok(sysno as u64),
            None => Err(format!(
                "{option}: '{name}' is not the name of a syscall (names as in \
                 `strace -e trace=openat,read`)"
            )),
        })
        .collect()
}
// ANCHOR_END: selection

/// `-s N`: how many bytes of a string to show.
pub fn string_limit(text: &str, usage: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("-s: '{text}' is not a number of bytes; {usage}"))
}
// ANCHOR_END: all
