// ANCHOR: all
//! Just enough JSON to read a seccomp profile: objects, arrays, strings,
//! numbers, `true`, `false` and `null`, as RFC 8259 defines them.
//!
//! A JSON crate would do this too; this file keeps the dependencies to
//! nix, libc and syscalls, the build short, and says *where* a profile is
//! wrong (line and column), which is what a person fixing one needs.

/// A JSON value. An object keeps its members in the order written.
#[derive(Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object, if it is one and has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A text from the file, as a message quotes it: at most its first 32
/// characters, escaped as Rust escapes a string (`\\0` for a NUL byte,
/// `\\u{1b}` for an escape), so that no file can flood the terminal or send
/// it control characters through one of our messages.
pub fn quote(text: &str) -> String {
    const SHOWN: usize = 32;
    let shown: String = text
        .chars()
        .take(SHOWN)
        .flat_map(char::escape_debug)
        .collect();
    match text.chars().nth(SHOWN) {
        None => format!("'{shown}'"),
        Some(_) => format!("'{shown}...' ({} bytes)", text.len()),
    }
}

/// Reads a whole document: one value, and nothing after it but spaces.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut reader = Reader {
        text,
        at: 0,
        depth: 0,
    };
    let value = reader.value()?;
    reader.skip_spaces();
    match reader.peek() {
        None => Ok(value),
        Some(_) => Err(reader.error("more text after the end of the JSON value")),
    }
}

struct Reader<'a> {
    text: &'a str,
    /// Where we are, in bytes from the start.
    at: usize,
    /// How many arrays and objects we are inside.
    depth: usize,
}

/// How deep arrays and objects may nest. A profile needs three levels; each
/// level is a call of ours, and a file of a million `[` would overflow our
/// stack, which ends a program without a word.
const MAX_DEPTH: usize = 64;

impl Reader<'_> {
    fn value(&mut self) -> Result<Value, String> {
        self.skip_spaces();
        match self.peek() {
            Some('{') => self.nested(Self::object),
            Some('[') => self.nested(Self::array),
            Some('"') => Ok(Value::String(self.string()?)),
            Some('-' | '0'..='9') => self.number(),
            Some('t') => self.word("true", Value::Bool(true)),
            Some('f') => self.word("false", Value::Bool(false)),
            Some('n') => self.word("null", Value::Null),
            Some(c) => Err(self.error(&format!(
                "{} cannot start a JSON value",
                quote(&c.to_string())
            ))),
            None => Err(self.error("the text ends where a JSON value should be")),
        }
    }

    /// Reads an object or an array, one level deeper.
    fn nested(&mut self, read: fn(&mut Self) -> Result<Value, String>) -> Result<Value, String> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(&format!("nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Result<Value, String> {
        self.expect('{')?;
        let mut members = Vec::new();
        self.skip_spaces();
        if self.peek() == Some('}') {
            self.at += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_spaces();
            if self.peek() != Some('"') {
                return Err(self.error("expected a member's name, in double quotes"));
            }
            let key = self.string()?;
            self.skip_spaces();
            self.expect(':')?;
            members.push((key, self.value()?));
            self.skip_spaces();
            match self.next() {
                Some(',') => {}
                Some('}') => return Ok(Value::Object(members)),
                _ => return Err(self.error_before("expected ',' or '}' after a member")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.expect('[')?;
        let mut items = Vec::new();
        self.skip_spaces();
        if self.peek() == Some(']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_spaces();
            match self.next() {
                Some(',') => {}
                Some(']') => return Ok(Value::Array(items)),
                _ => return Err(self.error_before("expected ',' or ']' after an item")),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut text = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(text),
                Some('\\') => text.push(self.escape()?),
                Some(c) if (c as u32) < 0x20 => {
                    return Err(self.error_before("a control character inside a string"));
                }
                Some(c) => text.push(c),
                None => return Err(self.error("the text ends inside a string")),
            }
        }
    }

    /// What follows a backslash. (A `\u` escape of half a surrogate pair,
    /// which no syscall name needs, reads as U+FFFD.)
    fn escape(&mut self) -> Result<char, String> {
        Ok(match self.next() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let hex = self.text.get(self.at..self.at + 4).unwrap_or("");
                let code = u32::from_str_radix(hex, 16)
                    .map_err(|_| self.error("expected four hex digits after \\u"))?;
                self.at += 4;
                char::from_u32(code).unwrap_or('\u{fffd}')
            }
            _ => return Err(self.error_before("an unknown escape after a backslash")),
        })
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        let is_part = |c: char| c.is_ascii_digit() || "+-.eE".contains(c);
        while self.peek().is_some_and(is_part) {
            self.at += 1;
        }
        let text = &self.text[start..self.at];
        text.parse()
            .map(Value::Number)
            .map_err(|_| self.error(&format!("{} is not a number", quote(text))))
    }

    fn word(&mut self, word: &str, value: Value) -> Result<Value, String> {
        if !self.text[self.at..].starts_with(word) {
            return Err(self.error("not a JSON value (a word that is not true, false or null)"));
        }
        self.at += word.len();
        Ok(value)
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        match self.next() {
            Some(c) if c == wanted => Ok(()),
            _ => Err(self.error_before(&format!("expected '{wanted}'"))),
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| " \t\r\n".contains(c)) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    /// An error at the character just read.
    fn error_before(&mut self, what: &str) -> String {
        let previous = self.text[..self.at].chars().next_back();
        self.at -= previous.map_or(0, char::len_utf8);
        self.error(what)
    }

    /// An error at the current place, as `line L, column C: what`.
    fn error(&self, what: &str) -> String {
        let before = &self.text[..self.at];
        let line = before.matches('\n').count() + 1;
        let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
        format!("line {line}, column {column}: {what}")
    }
}
// ANCHOR_END: all
