//! Every file holds its own lesson (DESIGN.md, "How the steps relate"): a
//! reader finishes a step's main.rs; code that a later step uses unchanged is
//! borrowed by path, not copied; and a file copied forward is one whose diff
//! the book shows, since that diff is the chapter's lesson.

mod common;
use common::*;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

/// The most lines a step's main.rs may have: what a reader finishes top to
/// bottom in one sitting.
const MAIN_RS_LINES: usize = 450;

/// The most lines two files of different steps may have in common, as `diff`
/// counts them: more, and one of them is a copy that should be borrowed.
const SHARED_LINES: usize = 450;

/// The shortest run of copied lines that must be shown as a diff: a function
/// or two, no longer a coincidence of short lines.
const COPIED_RUN: usize = 30;

/// What to do about a copy that the book does not show.
const BORROW_OR_SHOW: &str = "borrow the file with #[path] instead of copying it, \
    give the module a seam, or, if the copy carries the chapter's lesson, \
    add the pair to DIFFS in tests/book.rs so that the chapter shows its diff";

/// What a line is to the comparisons of copies.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    /// Blank, or an anchor marker: there for the layout and for the book's
    /// includes, not code; one more or one fewer does not end a copied run.
    Skipped,
    /// Punctuation only (`}`, `);`, `]`): it must match inside a run, but
    /// is not counted in its length, as every Rust file has hundreds of them.
    Trivial,
    /// A line with a letter or a digit in it: code or a comment.
    Code,
}

fn kind_of(text: &str) -> Kind {
    let text = text.trim();
    if text.is_empty() || is_anchor_marker(text) {
        Kind::Skipped
    } else if text.chars().any(char::is_alphanumeric) {
        Kind::Code
    } else {
        Kind::Trivial
    }
}

/// One line of a step's file.
#[derive(Clone, Copy, Debug)]
struct Line {
    /// Its number in the file, from 1, to say where a copy starts.
    number: usize,
    /// A number for its text, the same for the same text in every file:
    /// comparing numbers, not strings, keeps the comparisons of every pair
    /// of files fast.
    id: u32,
    kind: Kind,
}

/// A source file of a step.
struct StepFile {
    /// The path from the repository's root, as the book's diffs label it:
    /// `steps/step5-arguments/decode.rs`.
    path: String,
    /// The step's number, to order the steps (step 10 comes after step 9).
    step: u32,
    /// The path inside the step's folder: `decode.rs`.
    name: String,
    lines: Vec<Line>,
}

/// Gives each distinct line text its number.
#[derive(Default)]
struct LineIds(HashMap<String, u32>);

impl LineIds {
    fn lines(&mut self, text: &str) -> Vec<Line> {
        text.lines()
            .enumerate()
            .map(|(index, line)| {
                let next = self.0.len() as u32;
                Line {
                    number: index + 1,
                    id: *self.0.entry(line.to_string()).or_insert(next),
                    kind: kind_of(line),
                }
            })
            .collect()
    }
}

/// Every `.rs` file in the step folders (`steps/stepN-*/`), in the order of
/// the steps. `steps/platform_check.rs` belongs to no step.
fn step_files() -> Vec<StepFile> {
    let mut ids = LineIds::default();
    let mut files = Vec::new();
    for folder in fs::read_dir(root().join("steps")).unwrap() {
        let folder = folder.unwrap().path();
        let Some(step) = step_number(&folder) else {
            continue;
        };
        for file in rust_files(&folder) {
            let name = file.strip_prefix(&folder).unwrap().to_str().unwrap();
            let path = file.strip_prefix(root()).unwrap().to_str().unwrap();
            files.push(StepFile {
                path: path.to_string(),
                step,
                name: name.to_string(),
                lines: ids.lines(&read(&file)),
            });
        }
    }
    files.sort_by(|a, b| (a.step, &a.name).cmp(&(b.step, &b.name)));
    files
}

/// N, for a folder named `stepN-…`.
fn step_number(folder: &Path) -> Option<u32> {
    let name = folder.file_name()?.to_str()?;
    let (number, _) = name.strip_prefix("step")?.split_once('-')?;
    number.parse().ok()
}

/// The `.rs` files under `folder`, in its subfolders too.
fn rust_files(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every pair of files of two different steps, the earlier step's first.
fn pairs_of_steps(files: &[StepFile]) -> Vec<(&StepFile, &StepFile)> {
    let mut pairs = Vec::new();
    for (i, earlier) in files.iter().enumerate() {
        for later in &files[i + 1..] {
            if later.step != earlier.step {
                pairs.push((earlier, later));
            }
        }
    }
    pairs
}

/// At most how many lines `lines_in_common` can find: each text as many
/// times as the file that has it fewer times has it. It is quick to count,
/// and rules out most pairs before the slow count.
fn most_lines_in_common(a: &[Line], b: &[Line]) -> usize {
    let mut left_in_a: HashMap<u32, usize> = HashMap::new();
    for line in a {
        *left_in_a.entry(line.id).or_default() += 1;
    }
    let mut common = 0;
    for line in b {
        if let Some(left) = left_in_a.get_mut(&line.id)
            && *left > 0
        {
            *left -= 1;
            common += 1;
        }
    }
    common
}

/// How many lines of `a` a `diff a b` keeps at most (prints neither as
/// deleted nor as added): the length of the longest sequence of lines found
/// in both, in the same order, gaps allowed. `diff --minimal` keeps exactly
/// these; plain diff may keep a few fewer on files far apart.
fn lines_in_common(a: &[Line], b: &[Line]) -> usize {
    // The classic table, one row at a time: after the lines of `a` so far,
    // row[j] is the answer for them and the first j lines of `b`.
    let mut row = vec![0; b.len() + 1];
    for line in a {
        // row[j] of the row before, which the loop is overwriting.
        let mut diagonal = 0;
        for (j, other) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if line.id == other.id {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A run of lines that two files share, consecutive in both.
#[derive(Debug, PartialEq)]
struct Run {
    /// Where the run starts in each file (line numbers, from 1).
    start_a: usize,
    start_b: usize,
    /// How many of its lines are code (see `Kind`): its length, as the
    /// failures tell it.
    code_lines: usize,
}

/// The run of lines that `a` and `b` share with the most code in it, blank
/// lines and anchor markers left out of both (see `Kind`); `None` if they
/// share no line of code.
fn longest_run(a: &[Line], b: &[Line]) -> Option<Run> {
    let kept = |lines: &[Line]| -> Vec<Line> {
        let kept = lines.iter().filter(|line| line.kind != Kind::Skipped);
        kept.copied().collect()
    };
    let (a, b) = (kept(a), kept(b));
    // code_before[i]: how many of the first i lines of `a` are code, so that
    // a run's count of code lines is one subtraction.
    let code_before: Vec<usize> = std::iter::once(0)
        .chain(a.iter().scan(0, |code, line| {
            *code += usize::from(line.kind == Kind::Code);
            Some(*code)
        }))
        .collect();
    // The table of the longest common run, one row at a time: row[j + 1] is
    // the length of the run that ends at the current line of `a` and at b[j].
    let mut row = vec![0; b.len() + 1];
    let mut best: Option<Run> = None;
    for (i, line) in a.iter().enumerate() {
        let mut diagonal = 0;
        for (j, other) in b.iter().enumerate() {
            let above = row[j + 1];
            let length = if line.id == other.id { diagonal + 1 } else { 0 };
            row[j + 1] = length;
            diagonal = above;
            let code_lines = code_before[i + 1] - code_before[i + 1 - length];
            if code_lines > best.as_ref().map_or(0, |run| run.code_lines) {
                best = Some(Run {
                    start_a: a[i + 1 - length].number,
                    start_b: b[j + 1 - length].number,
                    code_lines,
                });
            }
        }
    }
    best
}

/// The pairs of files (indices into `files`, the earlier first) that can
/// share a run of COPIED_RUN lines of code: those whose lines of code alone,
/// the others left out, have COPIED_RUN lines in a row in common, as a run's
/// lines of code are in both files. One pass over the rows of every file
/// finds them, where looking for the longest run of every pair of files, line
/// by line, takes seconds in a debug build.
fn pairs_with_a_common_row(files: &[StepFile]) -> BTreeSet<(usize, usize)> {
    let code: Vec<Vec<u32>> = files
        .iter()
        .map(|file| {
            let code = file.lines.iter().filter(|line| line.kind == Kind::Code);
            code.map(|line| line.id).collect()
        })
        .collect();
    let mut files_of_row: HashMap<&[u32], BTreeSet<usize>> = HashMap::new();
    for (file, ids) in code.iter().enumerate() {
        for row in ids.windows(COPIED_RUN) {
            files_of_row.entry(row).or_default().insert(file);
        }
    }
    let mut pairs = BTreeSet::new();
    for sharing in files_of_row.values() {
        for (n, &earlier) in sharing.iter().enumerate() {
            for &later in sharing.iter().skip(n + 1) {
                pairs.insert((earlier, later));
            }
        }
    }
    pairs
}

/// The pairs of files that the book shows as a diff, read from the labels of
/// `book/src/diffs/*.diff` (`--- OLD` and `+++ NEW`, repository paths).
fn pairs_shown_in_the_book() -> BTreeSet<(String, String)> {
    let mut shown = BTreeSet::new();
    for entry in fs::read_dir(root().join("book/src/diffs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "diff") {
            // A diff of two equal files is empty and shows nothing.
            if let Some((old, new)) = labels(&read(&path)) {
                shown.insert((old.to_string(), new.to_string()));
            }
        }
    }
    shown
}

/// The two files a diff compares, from its labels.
fn labels(diff: &str) -> Option<(&str, &str)> {
    let mut lines = diff.lines();
    let old = lines.next()?.strip_prefix("--- ")?;
    let new = lines.next()?.strip_prefix("+++ ")?;
    Some((file_of(old), file_of(new)))
}

/// The file a diff's label names. A label may select part of its file with
/// an anchor, `steps/step6-trustworthy/main.rs:tracer`: it is still a diff of
/// that file.
fn file_of(label: &str) -> &str {
    label.split_once(':').map_or(label, |(file, _anchor)| file)
}

/// Whether the book shows a diff of `a` and `b`, in either order.
fn is_shown(shown: &BTreeSet<(String, String)>, a: &str, b: &str) -> bool {
    let pair = |old: &str, new: &str| (old.to_string(), new.to_string());
    shown.contains(&pair(a, b)) || shown.contains(&pair(b, a))
}

#[test]
fn every_main_rs_is_short_enough_to_read() {
    let too_long: Vec<String> = step_files()
        .iter()
        .filter(|file| file.name == "main.rs" && file.lines.len() > MAIN_RS_LINES)
        .map(|file| format!("{}: {} lines", file.path, file.lines.len()))
        .collect();
    assert!(
        too_long.is_empty(),
        "a step's main.rs has at most {MAIN_RS_LINES} lines, so that a reader finishes it; \
         move what later steps carry unchanged into a module of the step that taught it, \
         and borrow it with #[path]:\n{}\n",
        too_long.join("\n")
    );
}

#[test]
fn no_two_step_files_share_more_than_450_lines() {
    let files = step_files();
    let shared: Vec<String> = pairs_of_steps(&files)
        .into_iter()
        .filter(|(a, b)| most_lines_in_common(&a.lines, &b.lines) > SHARED_LINES)
        .filter_map(|(a, b)| {
            let common = lines_in_common(&a.lines, &b.lines);
            let message = format!("{} and {} share {common} lines", a.path, b.path);
            (common > SHARED_LINES).then_some(message)
        })
        .collect();
    // Shown in the book or not: a chapter's diff of a copy this long is
    // mostly lines that did not change, and its lesson is lost among them.
    assert!(
        shared.is_empty(),
        "two files of different steps have at most {SHARED_LINES} lines in common \
         (lines that `diff` keeps); borrow the file with #[path] instead of copying it, \
         or give the module a seam so that the later step holds only its change:\n{}\n",
        shared.join("\n")
    );
}

// A run: lines identical and consecutive in both files, once blank lines and
// anchor markers are left out of both; its length counts its lines of code,
// not those of punctuation alone (see `Kind`). The pair itself must be shown:
// a run that steps 2, 6 and 8 all carry unchanged is reported for 2 and 8
// even where the book shows 2 to 6 and 6 to 8, as code that three steps use
// unchanged belongs in a module of the first, borrowed by the others.
#[test]
fn a_copied_run_of_lines_is_shown_as_a_diff_in_the_book() {
    let files = step_files();
    let shown = pairs_shown_in_the_book();
    let copies: Vec<String> = pairs_with_a_common_row(&files)
        .into_iter()
        .map(|(earlier, later)| (&files[earlier], &files[later]))
        .filter(|(a, b)| a.step != b.step && !is_shown(&shown, &a.path, &b.path))
        .filter_map(|(a, b)| {
            let run = longest_run(&a.lines, &b.lines)?;
            let message = format!(
                "{}:{} and {}:{}: a run of {} lines",
                a.path, run.start_a, b.path, run.start_b, run.code_lines
            );
            (run.code_lines >= COPIED_RUN).then_some(message)
        })
        .collect();
    assert!(
        copies.is_empty(),
        "files of different steps that share a run of {COPIED_RUN} lines of code or more \
         (blank lines, anchor markers and lines of punctuation uncounted) are shown as a \
         diff in the book; {BORROW_OR_SHOW}:\n{}\n",
        copies.join("\n")
    );
}

// Not the same check as the one above: a copy edited every few lines has no
// long run left, and a copy of a short file has none to begin with.
#[test]
fn no_unlisted_copy_of_an_earlier_steps_file() {
    let files = step_files();
    let shown = pairs_shown_in_the_book();
    let copies: Vec<String> = files
        .iter()
        .filter_map(|later| {
            // Its versions in earlier steps. A copy of a copy is shown against
            // the one it was copied from, which need not be the latest (step
            // 10's spawn.rs is step 2's without ptrace).
            let earlier: Vec<&StepFile> = files
                .iter()
                .filter(|file| file.step < later.step && file.name == later.name)
                .collect();
            if earlier
                .iter()
                .any(|file| is_shown(&shown, &file.path, &later.path))
            {
                return None;
            }
            let (common, version) = earlier
                .into_iter()
                .map(|file| (lines_in_common(&file.lines, &later.lines), file))
                .max_by_key(|(common, _)| *common)?;
            let lines = later.lines.len();
            let message = format!(
                "{} shares {common} of its {lines} lines with {}",
                later.path, version.path
            );
            (2 * common > lines).then_some(message)
        })
        .collect();
    assert!(
        copies.is_empty(),
        "a file that keeps more than half of the lines of a file of the same name in an \
         earlier step is shown as a diff against one of them in the book; \
         {BORROW_OR_SHOW}:\n{}\n",
        copies.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The counting, on inputs small enough to count by hand: the checks above
// pass on a tree without copies only if they can fail on one with them.

/// Two files of these texts, their lines numbered as `step_files` numbers
/// them: the same text, the same number.
fn two_files(a: &str, b: &str) -> [Vec<Line>; 2] {
    let mut ids = LineIds::default();
    [a, b].map(|text| ids.lines(text))
}

#[test]
fn lines_in_common_are_the_lines_diff_keeps() {
    // A line per word.
    let files = |a: &str, b: &str| two_files(&a.replace(' ', "\n"), &b.replace(' ', "\n"));
    let count = |a, b| {
        let [a, b] = files(a, b);
        lines_in_common(&a, &b)
    };
    assert_eq!(count("a b c b d a b", "b d c a b a"), 4);
    assert_eq!(count("a b c", "x y z"), 0);
    assert_eq!(count("a b c", "a b c"), 3);
    assert_eq!(count("a b c", ""), 0);
    // The quick bound: each text as often as the file that has it fewer
    // times, order aside.
    let bound = |a, b| {
        let [a, b] = files(a, b);
        most_lines_in_common(&a, &b)
    };
    assert_eq!(bound("a b c b d a b", "b d c a b a"), 6);
    assert_eq!(bound("a b a c", "a a a d"), 2);
}

#[test]
fn lines_in_common_are_as_many_as_diff_keeps_at_most() {
    // Two files of short lines in orders of their own, which share many
    // lines in many ways. `--minimal`, since plain diff may settle for more
    // changes on files far apart (step 5's decode.rs and step 6's main.rs:
    // it keeps 65 lines, where 123 can be kept).
    let [a, b] = [7, 11].map(|step| {
        let lines: Vec<String> = (0..300).map(|n| (n * step % 13).to_string()).collect();
        lines.join("\n") + "\n"
    });
    let [a_file, b_file] = [&a, &b].map(|text| {
        let file = scratch_file("layout.txt");
        fs::write(&file, text).unwrap();
        file
    });
    let diff = std::process::Command::new("diff")
        .arg("--minimal")
        .args([&a_file, &b_file])
        .output()
        .expect("cannot run diff");
    let deleted = stdout(&diff)
        .lines()
        .filter(|line| line.starts_with("< "))
        .count();
    let [a_lines, b_lines] = two_files(&a, &b);
    assert_eq!(lines_in_common(&a_lines, &b_lines), 300 - deleted);
    for file in [a_file, b_file] {
        fs::remove_file(file).unwrap();
    }
}

#[test]
fn a_run_counts_its_code_lines_across_blank_and_anchor_lines() {
    let [a, b] = two_files(
        "fn a() {\n    one();\n\n    two();\n}\n}\nfn b() {}\n",
        "x\nfn a() {\n    one();\n    // ANCHOR: two\n    two();\n}\n}\ny\n",
    );
    let run = Run {
        start_a: 1,
        start_b: 2,
        code_lines: 3,
    };
    assert_eq!(longest_run(&a, &b), Some(run));
    // A run of punctuation alone is no copy.
    let [a, b] = two_files("}\n)\n}\n", "}\n)\n}\n");
    assert_eq!(longest_run(&a, &b), None);
}

#[test]
fn a_common_row_of_code_is_found_whatever_lies_between_its_lines() {
    let ids = &mut LineIds::default();
    let file = |step, text: &str, ids: &mut LineIds| StepFile {
        path: format!("steps/step{step}-test/main.rs"),
        step,
        name: "main.rs".to_string(),
        lines: ids.lines(text),
    };
    let code: Vec<String> = (0..COPIED_RUN).map(|n| format!("call({n});")).collect();
    let files = [
        file(1, &code.join("\n"), ids),
        // One line short of a row.
        file(2, &code[1..].join("\n"), ids),
        // The same code, a blank line and a brace between its lines.
        file(3, &code.join("\n\n}\n"), ids),
    ];
    assert_eq!(pairs_with_a_common_row(&files), BTreeSet::from([(0, 2)]));
}

#[test]
fn a_diffs_labels_name_its_files_without_their_anchors() {
    let diff =
        "--- steps/step6-trustworthy/main.rs:tracer\n+++ steps/step7-many-processes/main.rs\n@@";
    let files = (
        "steps/step6-trustworthy/main.rs",
        "steps/step7-many-processes/main.rs",
    );
    assert_eq!(labels(diff), Some(files));
    assert_eq!(labels(""), None);
}
