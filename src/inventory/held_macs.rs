//! The MACs a listed pod's Multus annotation holds, read in one pass without serde: every
//! pod of a tracked inventory carries one, and serde's reading of it (a deserializer, a struct
//! per element) cost more than the rest of the pod.
//!
//! It must agree with `multus::held_macs`, which reads the text with serde: a text that is not
//! JSON holds nothing, so this reader validates the whole text as strictly as serde does
//! (string escapes and control characters, number grammar, literals, trailing bytes). For
//! anything it is not sure of (an escaped key, a `mac` given twice or not a plain string, an
//! element that is not an object, deep nesting, more than eight MACs) it answers `None` and serde decides.
//! src/object/tests.rs and the `multus` fuzz target compare the two.

use crate::mac::Mac;

/// Deeper than this, serde's recursion limit may apply: serde decides.
const MAX_DEPTH: usize = 64;

/// Not sure, or not JSON: serde decides.
struct Unsure;

type Step<T = ()> = Result<T, Unsure>;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// Pods name a few networks: up to this many MACs are kept on the stack, more go to serde.
const MAX_MACS: usize = 8;

/// MACs found so far, emitted only once the whole text has been read.
struct Found {
    macs: [Mac; MAX_MACS],
    len: usize,
}

impl Found {
    fn push(&mut self, mac: Mac) -> Step {
        *self.macs.get_mut(self.len).ok_or(Unsure)? = mac;
        self.len += 1;
        Ok(())
    }
}

/// Calls `visit` with the MACs held by an annotation in JSON form (a list of objects) and
/// answers `true`; answers `false`, having called nothing, when serde must decide.
pub fn read(text: &str, visit: &mut dyn FnMut(Mac)) -> bool {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
    };
    let mut found = Found {
        macs: [Mac::from_u64(0); MAX_MACS],
        len: 0,
    };
    if reader.list(&mut found).is_err() {
        return false;
    }
    reader.blanks();
    if reader.at != reader.bytes.len() {
        return false;
    }
    found.macs[..found.len].iter().copied().for_each(visit);
    true
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// One comparison for the usual case of no blank (see `scan::Scanner::skip_blanks`).
    fn blanks(&mut self) {
        while let Some(byte) = self.peek() {
            if byte > b' ' || !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return;
            }
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Step {
        self.blanks();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    /// After a member or element: `true` when another follows, `false` at `close`.
    fn more(&mut self, close: u8) -> Step<bool> {
        self.blanks();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(byte) if byte == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Unsure),
        }
    }

    /// Whether the container just opened is empty (and then closes it).
    fn empty(&mut self, close: u8) -> bool {
        self.blanks();
        if self.peek() == Some(close) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn list(&mut self, found: &mut Found) -> Step {
        self.eat(b'[')?;
        if self.empty(b']') {
            return Ok(());
        }
        loop {
            self.element(found)?;
            if !self.more(b']')? {
                return Ok(());
            }
        }
    }

    /// One network selection element: an object whose `mac`, if any, is a plain string or
    /// `null`.
    fn element(&mut self, found: &mut Found) -> Step {
        self.eat(b'{')?;
        if self.empty(b'}') {
            return Ok(());
        }
        let mut mac = None;
        loop {
            self.blanks();
            let (key, escaped) = self.string()?;
            if escaped {
                return Err(Unsure);
            }
            self.eat(b':')?;
            if key == b"mac" {
                if mac.is_some() {
                    return Err(Unsure);
                }
                self.blanks();
                mac = Some(match self.peek() {
                    Some(b'n') => {
                        self.literal(b"null")?;
                        None
                    }
                    _ => match self.string()? {
                        (value, false) => Some(value),
                        (_, true) => return Err(Unsure),
                    },
                });
            } else {
                self.value(2)?;
            }
            if !self.more(b'}')? {
                break;
            }
        }
        match mac.flatten().and_then(Mac::from_ascii) {
            Some(mac) => found.push(mac),
            None => Ok(()),
        }
    }

    /// Any JSON value, checked and skipped; `depth` counts the containers around it.
    fn value(&mut self, depth: usize) -> Step {
        self.blanks();
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{' | b'[') if depth >= MAX_DEPTH => Err(Unsure),
            Some(b'{') => {
                self.at += 1;
                if self.empty(b'}') {
                    return Ok(());
                }
                loop {
                    self.blanks();
                    self.string()?;
                    self.eat(b':')?;
                    self.value(depth + 1)?;
                    if !self.more(b'}')? {
                        return Ok(());
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                if self.empty(b']') {
                    return Ok(());
                }
                loop {
                    self.value(depth + 1)?;
                    if !self.more(b']')? {
                        return Ok(());
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Unsure),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Step {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Step {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.at += 1;
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(Unsure),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(Unsure);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(Unsure);
            }
        }
        // A digit left over ("01") is refused by whatever reads next.
        Ok(())
    }

    /// A string from its opening quote: its raw content, and whether it had escapes. Escapes
    /// are checked as serde checks them when it skips a string; control characters are refused.
    fn string(&mut self) -> Step<(&'a [u8], bool)> {
        if self.peek() != Some(b'"') {
            return Err(Unsure);
        }
        self.at += 1;
        let start = self.at;
        let mut escaped = false;
        loop {
            // Most bytes are none of the three kinds below: one test, not a `match`.
            if let Some(&byte) = self.bytes.get(self.at)
                && byte >= 0x20
                && byte != b'"'
                && byte != b'\\'
            {
                self.at += 1;
                continue;
            }
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok((&self.bytes[start..self.at - 1], escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1
                        }
                        Some(b'u') => {
                            let hex = self.bytes.get(self.at + 1..self.at + 5).ok_or(Unsure)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Unsure);
                            }
                            self.at += 5;
                        }
                        _ => return Err(Unsure),
                    }
                }
                Some(0x00..=0x1f) | None => return Err(Unsure),
                Some(_) => self.at += 1,
            }
        }
    }
}
