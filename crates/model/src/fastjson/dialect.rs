//! fastjson's two departures from JSON, read back: bare (unquoted) map keys
//! and map keys that are whole objects written inline.

use std::borrow::Cow;

/// Rewrites fastjson text into standard JSON: bare object keys get quotes and
/// inline object keys become strings containing the key object's JSON. Text that
/// is already standard JSON is returned unchanged and unallocated.
pub fn normalize(text: &str) -> Cow<'_, str> {
    normalize_at(text, 0)
}

/// Object keys nested deeper than this stay as they are, which serde_json
/// then refuses. RocketMQ's bodies nest object keys one level deep; a hostile
/// body of `{{{{…` must not recurse through the stack (a stack overflow
/// aborts the process) nor rescan its text once per level.
const MAX_KEY_DEPTH: usize = 16;

fn normalize_at(text: &str, depth: usize) -> Cow<'_, str> {
    if !needs_normalizing(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    normalize_into(text, &mut out, depth);
    Cow::Owned(out)
}

/// Scans for a key position holding something other than a string.
fn needs_normalizing(text: &str) -> bool {
    let mut scan = Scanner::new(text);
    while let Some(event) = scan.next_token() {
        if let Token::BareKeyStart(_) = event {
            return true;
        }
    }
    false
}

fn normalize_into(text: &str, out: &mut String, depth: usize) {
    let mut scan = Scanner::new(text);
    let mut copied = 0;
    while let Some(event) = scan.next_token() {
        let Token::BareKeyStart(start) = event else { continue };
        out.push_str(&text[copied..start]);
        let end = scan.skip_bare_key(start);
        let key = &text[start..end];
        if key.starts_with('{') && depth >= MAX_KEY_DEPTH {
            out.push_str(key);
        } else if key.starts_with('{') {
            let inner = normalize_at(key, depth + 1);
            out.push_str(&serde_json::to_string(inner.as_ref()).unwrap_or_default());
        } else {
            out.push('"');
            out.push_str(key.trim_end());
            out.push('"');
        }
        copied = end;
    }
    out.push_str(&text[copied..]);
}

enum Token {
    /// A key position whose key is not a string starts at this byte index.
    BareKeyStart(usize),
    Other,
}

/// A minimal JSON scanner that knows where object keys are expected.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Open containers: `true` for objects, `false` for arrays.
    stack: Vec<bool>,
    expect_key: bool,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner { bytes: text.as_bytes(), pos: 0, stack: Vec::new(), expect_key: false }
    }

    fn next_token(&mut self) -> Option<Token> {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let c = *self.bytes.get(self.pos)?;
        if self.expect_key && c != b'"' && c != b'}' {
            self.expect_key = false;
            return Some(Token::BareKeyStart(self.pos));
        }
        match c {
            b'"' => {
                self.pos = self.skip_string(self.pos);
                self.expect_key = false;
            }
            b'{' => {
                self.stack.push(true);
                self.expect_key = true;
                self.pos += 1;
            }
            b'[' => {
                self.stack.push(false);
                self.pos += 1;
            }
            b'}' | b']' => {
                self.stack.pop();
                self.expect_key = false;
                self.pos += 1;
            }
            b',' => {
                self.expect_key = self.stack.last() == Some(&true);
                self.pos += 1;
            }
            _ => self.pos += 1,
        }
        Some(Token::Other)
    }

    /// Index just past the string literal starting at `start`.
    fn skip_string(&self, start: usize) -> usize {
        let mut i = start + 1;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        self.bytes.len()
    }

    /// Moves past a bare key (a token up to `:`, or a balanced object) and
    /// returns the index where it ends.
    fn skip_bare_key(&mut self, start: usize) -> usize {
        let mut i = start;
        if self.bytes[start] == b'{' {
            let mut depth = 0usize;
            while i < self.bytes.len() {
                match self.bytes[i] {
                    b'"' => {
                        i = self.skip_string(i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            while i < self.bytes.len() && self.bytes[i] != b':' {
                i += 1;
            }
        }
        self.pos = i;
        i
    }
}
