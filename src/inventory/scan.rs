//! A structural scan of a Kubernetes List: the byte range of every element of its `items`,
//! found without parsing them, and a pull `Cursor` that steps through a value reading only the
//! members asked for. The inventory reads every object of the cluster on every admission: in
//! a large cluster almost no Pod carries a Multus annotation, so finding each item's extent and
//! searching it for the annotation key costs less than parsing it; and the few members that
//! matter in a VM are read in the same pass that finds it (inventory/vm.rs).
//!
//! The scan trusts the payload's structure (it comes from the Kubewarden host, which serialises
//! it), tracking only strings, escapes and bracket depth; it never panics and never loops:
//! a payload that does not close is an error.

use std::ops::Range;

/// The payload is not a JSON object with an `items` array, or ends before it closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} at byte {offset}")]
pub struct ScanError {
    pub offset: usize,
    pub expected: &'static str,
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The high bit of every byte of `word` that is zero (and possibly of bytes above one that
/// is: only the lowest flagged byte is exact, which is the one used).
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The position of the first `"` or `\` at or after `from`. JSON strings in Kubernetes
/// objects are short (names, keys, MACs): eight bytes at a time in a register beats a call
/// into a vectorised search, whose set-up costs more than such a string.
#[inline]
fn find_quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 16) {
        let (quotes, backslashes) = string_marks(chunk.try_into().unwrap_or(&[0; 16]));
        let found = quotes | backslashes;
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize);
        }
        at += 16;
    }
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let found = zero_bytes(word ^ (ONES * u64::from(b'"')))
            | zero_bytes(word ^ (ONES * u64::from(b'\\')));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes
        .get(at..)?
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|i| at + i)
}

/// Bit i of each mask is set when byte i of a block (16 or 64 bytes) is that character
/// (`{`/`[` for `opens`, `}`/`]` for `closes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    quotes: u64,
    backslashes: u64,
    opens: u64,
    closes: u64,
}

/// Four 16-byte blocks as one: a metadata object is hundreds of bytes without a backslash,
/// and one pass of the bracket count per 64 bytes costs a quarter of four.
#[inline(always)]
fn classify_wide(bytes: &[u8; 64]) -> Block {
    let part = |i: usize| {
        let chunk: &[u8; 16] = bytes[i * 16..i * 16 + 16].try_into().unwrap_or(&[0; 16]);
        classify(chunk)
    };
    let (a, b, c, d) = (part(0), part(1), part(2), part(3));
    let join = |f: fn(&Block) -> u64| f(&a) | f(&b) << 16 | f(&c) << 32 | f(&d) << 48;
    Block {
        quotes: join(|b| b.quotes),
        backslashes: join(|b| b.backslashes),
        opens: join(|b| b.opens),
        closes: join(|b| b.closes),
    }
}

/// One 16-byte block classified by wasm SIMD: four byte compares of the whole block, each
/// turned into a 16-bit mask.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn classify(bytes: &[u8; 16]) -> Block {
    use core::arch::wasm32::{i8x16_bitmask, u8x16_eq, u8x16_splat, v128, v128_load, v128_or};
    // SAFETY: `bytes` is 16 readable bytes, and wasm loads have no alignment requirement.
    let block = unsafe { v128_load(bytes.as_ptr().cast::<v128>()) };
    // `[` `]` are `{` `}` without bit 0x20: one compare finds both of a pair.
    let folded = v128_or(block, u8x16_splat(0x20));
    let mask = |v: v128, byte: u8| u64::from(i8x16_bitmask(u8x16_eq(v, u8x16_splat(byte))));
    Block {
        quotes: mask(block, b'"'),
        backslashes: mask(block, b'\\'),
        opens: mask(folded, b'{'),
        closes: mask(folded, b'}'),
    }
}

/// Bit i of the first mask set when byte i of the block is `"`, of the second when it is `\\`:
/// where a string may end.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn string_marks(bytes: &[u8; 16]) -> (u32, u32) {
    use core::arch::wasm32::{i8x16_bitmask, u8x16_eq, u8x16_splat, v128, v128_load};
    // SAFETY: as in `classify`.
    let block = unsafe { v128_load(bytes.as_ptr().cast::<v128>()) };
    let mask = |byte: u8| u32::from(i8x16_bitmask(u8x16_eq(block, u8x16_splat(byte))));
    (mask(b'"'), mask(b'\\'))
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn string_marks(bytes: &[u8; 16]) -> (u32, u32) {
    let block = classify(bytes);
    (block.quotes as u32, block.backslashes as u32)
}

/// The same classification, a byte at a time, where wasm SIMD is not compiled in (host tests).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn classify(bytes: &[u8; 16]) -> Block {
    let mut block = Block {
        quotes: 0,
        backslashes: 0,
        opens: 0,
        closes: 0,
    };
    for (i, &byte) in bytes.iter().enumerate() {
        let bit = 1 << i;
        match byte {
            b'"' => block.quotes |= bit,
            b'\\' => block.backslashes |= bit,
            b'{' | b'[' => block.opens |= bit,
            b'}' | b']' => block.closes |= bit,
            _ => {}
        }
    }
    block
}

/// Bit i set when an odd number of bits 0..=i of `quotes` are: the bytes from an opening quote
/// up to (not including) its closing quote, in a block that has no backslash.
#[inline(always)]
fn inside_strings(quotes: u64) -> u64 {
    let mut x = quotes;
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Where a container being skipped is, between blocks.
struct Skip {
    depth: u32,
    in_string: bool,
    /// The previous byte was a backslash inside a string: this one is escaped.
    escape: bool,
}

impl Skip {
    /// One byte; `true` when it closes the container.
    #[inline(always)]
    fn byte(&mut self, byte: u8) -> bool {
        if self.escape {
            self.escape = false;
        } else if self.in_string {
            match byte {
                b'\\' => self.escape = true,
                b'"' => self.in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    return self.depth == 0;
                }
                _ => {}
            }
        }
        false
    }

    /// A block of `width` bytes (16 or 64) without escapes: strings from the quote masks,
    /// brackets outside them counted in bulk. Returns the offset just past the closing bracket
    /// when the block holds it.
    #[inline(always)]
    fn block(&mut self, block: Block, width: u32) -> Option<u32> {
        let all = u64::MAX >> (64 - width);
        let mut inside = inside_strings(block.quotes) & all;
        if self.in_string {
            inside ^= all;
        }
        self.in_string = inside >> (width - 1) != 0;
        let opens = block.opens & !inside;
        let closes = block.closes & !inside;
        let count = closes.count_ones();
        if self.depth > count {
            // Even if every close came first, the depth would not reach zero here.
            self.depth = self.depth + opens.count_ones() - count;
            return None;
        }
        let mut brackets = opens | closes;
        while brackets != 0 {
            let i = brackets.trailing_zeros();
            if opens & (1 << i) != 0 {
                self.depth += 1;
            } else {
                self.depth -= 1;
                if self.depth == 0 {
                    return Some(i + 1);
                }
            }
            brackets &= brackets - 1;
        }
        None
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The last string or container skipped had a backslash.
    escaped: bool,
}

impl<'a> Scanner<'a> {
    fn fail<T>(&self, expected: &'static str) -> Result<T, ScanError> {
        Err(ScanError {
            offset: self.at,
            expected,
        })
    }

    /// The host writes compact JSON, so the first test almost always ends it: a `match` on
    /// the four blanks compiles to a jump table, an indirect branch per token.
    #[inline(always)]
    fn skip_blanks(&mut self) {
        const BLANKS: u64 = 1 << b' ' | 1 << b'\n' | 1 << b'\r' | 1 << b'\t';
        while let Some(&byte) = self.bytes.get(self.at) {
            if byte > b' ' || BLANKS >> byte & 1 == 0 {
                return;
            }
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_blanks();
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), ScanError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(expected)
        }
    }

    /// From just after an opening quote to just after the closing one. Most strings of an
    /// inventory (keys, names, MACs, uids) end within 32 bytes without a backslash: that case
    /// is two block compares, inlined into the readers; the engine also checks its interruption
    /// deadline on every call and loop the guest enters, which this path has none of.
    #[inline(always)]
    fn skip_string(&mut self) -> Result<(), ScanError> {
        if let Some(chunk) = self.bytes.get(self.at..self.at + 32) {
            let (low, high) = chunk.split_at(16);
            let (quotes, backslashes) = string_marks(low.try_into().unwrap_or(&[0; 16]));
            let (high_quotes, high_backslashes) = string_marks(high.try_into().unwrap_or(&[0; 16]));
            let quotes = quotes | high_quotes << 16;
            let backslashes = backslashes | high_backslashes << 16;
            // `quotes ^ (quotes - 1)`: the bits up to the first quote.
            if quotes != 0 && backslashes & (quotes ^ (quotes - 1)) == 0 {
                self.escaped = false;
                self.at += quotes.trailing_zeros() as usize + 1;
                return Ok(());
            }
        }
        self.skip_long_string()
    }

    /// `skip_string` for a string that runs past its first block or holds a backslash.
    #[inline(never)]
    fn skip_long_string(&mut self) -> Result<(), ScanError> {
        self.escaped = false;
        loop {
            match find_quote_or_backslash(self.bytes, self.at) {
                Some(found) if self.bytes[found] == b'"' => {
                    self.at = found + 1;
                    return Ok(());
                }
                // A backslash escapes the next byte, which may be a quote.
                Some(found) => {
                    self.escaped = true;
                    self.at = found + 2;
                }
                None => {
                    self.at = self.bytes.len();
                    return self.fail("the end of a string");
                }
            }
            if self.at > self.bytes.len() {
                self.at = self.bytes.len();
                return self.fail("the end of a string");
            }
        }
    }

    /// A string's raw bytes (escapes left as they are), from its opening quote.
    #[inline(always)]
    fn string(&mut self) -> Result<&'a [u8], ScanError> {
        self.expect(b'"', "a string")?;
        let start = self.at;
        self.skip_string()?;
        let bytes: &'a [u8] = self.bytes;
        Ok(&bytes[start..self.at - 1])
    }

    /// Any JSON value: a string, an object or array (by depth), or a scalar.
    fn skip_value(&mut self) -> Result<(), ScanError> {
        match self.peek() {
            Some(b'"') => {
                self.at += 1;
                self.skip_string()
            }
            Some(open @ (b'{' | b'[')) => {
                self.at += 1;
                // `{}` and `[]` (a binding, an empty list) are common: no block to classify.
                // `}` and `]` are their openers plus two.
                if self.bytes.get(self.at) == Some(&(open + 2)) {
                    self.at += 1;
                    self.escaped = false;
                    return Ok(());
                }
                self.skip_container()
            }
            Some(_) => {
                self.escaped = false;
                let start = self.at;
                while let Some(byte) = self.bytes.get(self.at) {
                    if matches!(byte, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    self.fail("a value")
                } else {
                    Ok(())
                }
            }
            None => self.fail("a value"),
        }
    }

    /// From just after an opening bracket to just after its closing one, noting in `escaped`
    /// whether it held a backslash. Labels, annotations and owner references are most of an
    /// inventory's bytes and are only skipped: 64 bytes at a time, strings found from the
    /// quote masks, brackets counted in bulk. Around a backslash, 16-byte blocks without one
    /// still go in bulk and those with one a byte at a time.
    fn skip_container(&mut self) -> Result<(), ScanError> {
        let mut skip = Skip {
            depth: 1,
            in_string: false,
            escape: false,
        };
        self.escaped = false;
        while let Some(bytes) = self.bytes.get(self.at..self.at + 64) {
            let bytes: &[u8; 64] = bytes.try_into().unwrap_or(&[0; 64]);
            let block = classify_wide(bytes);
            if block.backslashes == 0 && !skip.escape {
                if let Some(end) = skip.block(block, 64) {
                    self.at += end as usize;
                    return Ok(());
                }
                self.at += 64;
                continue;
            }
            for chunk in bytes.chunks_exact(16) {
                if self.skip_block(&mut skip, chunk.try_into().unwrap_or(&[0; 16])) {
                    return Ok(());
                }
            }
        }
        while let Some(bytes) = self.bytes.get(self.at..self.at + 16) {
            if self.skip_block(&mut skip, bytes.try_into().unwrap_or(&[0; 16])) {
                return Ok(());
            }
        }
        let bytes: &[u8] = self.bytes;
        if self.skip_bytes(&mut skip, &bytes[self.at..]) {
            return Ok(());
        }
        self.fail(if skip.in_string {
            "the end of a string"
        } else {
            "the end of an object or array"
        })
    }

    /// One 16-byte block of `skip_container` at `self.at`: `true` when it closes the
    /// container, with `self.at` just past the closing bracket.
    #[inline(always)]
    fn skip_block(&mut self, skip: &mut Skip, bytes: &[u8; 16]) -> bool {
        let block = classify(bytes);
        if block.backslashes == 0 && !skip.escape {
            if let Some(end) = skip.block(block, 16) {
                self.at += end as usize;
                return true;
            }
            self.at += 16;
            return false;
        }
        self.skip_bytes(skip, bytes)
    }

    /// `bytes` (those at `self.at`) one at a time: `true` when one closes the container.
    #[inline(always)]
    fn skip_bytes(&mut self, skip: &mut Skip, bytes: &[u8]) -> bool {
        for &byte in bytes {
            self.at += 1;
            self.escaped |= byte == b'\\';
            if skip.byte(byte) {
                return true;
            }
        }
        false
    }

    /// After an element of an object or array: `,` (more follow) or `close` (done).
    fn next_or_close(&mut self, close: u8, expected: &'static str) -> Result<bool, ScanError> {
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(byte) if byte == close => {
                self.at += 1;
                Ok(false)
            }
            _ => self.fail(expected),
        }
    }
}

/// Calls `visit` with the byte range of every element of the top-level `items` array.
pub fn list_items(payload: &[u8], mut visit: impl FnMut(Range<usize>)) -> Result<(), ScanError> {
    list_items_with(payload, |cursor| {
        let start = cursor.next_value_at();
        cursor.skip()?;
        visit(start..cursor.position());
        Ok(())
    })
}

/// `key == name`, for the readers that match the keys of every object they step through. Once
/// inlined with a constant `name`, the comparison is a few word loads: a slice comparison
/// would be a call into a byte loop in WebAssembly.
#[inline(always)]
pub fn key_is(key: &[u8], name: &[u8]) -> bool {
    if key.len() != name.len() {
        return false;
    }
    let word = |bytes: &[u8], at: usize| {
        u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default())
    };
    let half = |bytes: &[u8], at: usize| {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default())
    };
    let quarter = |bytes: &[u8], at: usize| {
        u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap_or_default())
    };
    let mut at = 0;
    while at + 8 <= name.len() {
        if word(key, at) != word(name, at) {
            return false;
        }
        at += 8;
    }
    let rest = name.len() - at;
    if rest & 4 != 0 {
        if half(key, at) != half(name, at) {
            return false;
        }
        at += 4;
    }
    if rest & 2 != 0 {
        if quarter(key, at) != quarter(name, at) {
            return false;
        }
        at += 2;
    }
    rest & 1 == 0 || key[at] == name[at]
}

/// A pull reader over one JSON value, for code that needs a few members deep inside an
/// object: each value is either descended into or skipped, so every byte is read once.
pub struct Cursor<'a> {
    scanner: Scanner<'a>,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor {
            scanner: Scanner {
                bytes,
                at: 0,
                escaped: false,
            },
        }
    }

    /// Where the cursor is, to come back to with `seek`.
    pub fn position(&self) -> usize {
        self.scanner.at
    }

    /// Where the next value starts, blanks before it skipped.
    pub fn next_value_at(&mut self) -> usize {
        self.scanner.skip_blanks();
        self.scanner.at
    }

    pub fn seek(&mut self, position: usize) {
        self.scanner.at = position.min(self.scanner.bytes.len());
    }

    /// The bytes from `start` to the cursor.
    pub fn since(&self, start: usize) -> &'a [u8] {
        let bytes: &'a [u8] = self.scanner.bytes;
        &bytes[start.min(self.scanner.at)..self.scanner.at]
    }

    /// An error that makes the caller fall back to a full parser.
    pub fn unsupported(&self) -> ScanError {
        ScanError {
            offset: self.scanner.at,
            expected: "a value the cursor reads",
        }
    }

    /// The first byte of the next value, blanks skipped; nothing consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.scanner.peek()
    }

    /// Skips the next value, whatever it is.
    pub fn skip(&mut self) -> Result<(), ScanError> {
        self.scanner.skip_value()
    }

    /// Skips the next value: whether it held a backslash, which may escape any character
    /// (so a byte search in it can miss what a parser would see).
    pub fn skip_noting_escapes(&mut self) -> Result<bool, ScanError> {
        self.scanner.skip_value()?;
        Ok(self.scanner.escaped)
    }

    /// Consumes `text` if the bytes at the cursor are exactly it (no blanks skipped). For
    /// readers that expect the host's compact output and read anything else the long way.
    #[inline(always)]
    pub fn literal(&mut self, text: &[u8]) -> bool {
        let at = self.scanner.at;
        match self.scanner.bytes.get(at..at + text.len()) {
            Some(bytes) if key_is(bytes, text) => {
                self.scanner.at += text.len();
                true
            }
            _ => false,
        }
    }

    /// Consumes the next value if it is `null`.
    pub fn null(&mut self) -> Result<bool, ScanError> {
        if self.scanner.peek() != Some(b'n') {
            return Ok(false);
        }
        match self.scanner.bytes.get(self.scanner.at..self.scanner.at + 4) {
            Some(b"null") => {
                self.scanner.at += 4;
                Ok(true)
            }
            _ => self.scanner.fail("null"),
        }
    }

    /// Consumes the next value: whether it is anything but `null`.
    pub fn present(&mut self) -> Result<bool, ScanError> {
        if self.null()? {
            return Ok(false);
        }
        self.skip()?;
        Ok(true)
    }

    /// The next value's raw bytes when it is a string without escapes, `b""` for `null`;
    /// anything else is `unsupported`. The bytes are not checked to be UTF-8: the host's
    /// JSON writers only emit UTF-8, and the inventory compares bytes.
    pub fn plain_bytes(&mut self) -> Result<&'a [u8], ScanError> {
        if self.null()? {
            return Ok(b"");
        }
        let raw = self.scanner.string()?;
        if self.scanner.escaped {
            return Err(self.unsupported());
        }
        Ok(raw)
    }

    /// Consumes the next value, which must be a string (escapes allowed); its raw token is
    /// then `since` where it started.
    pub fn string(&mut self) -> Result<(), ScanError> {
        self.scanner.string().map(drop)
    }

    /// Whether the last string read had escapes: in an `object` member callback, before its
    /// value is read, whether the key had them (an escaped key may spell a known one).
    pub fn escaped(&self) -> bool {
        self.scanner.escaped
    }

    /// Reads an object: `member` gets each key (raw) and must consume its value.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&'a [u8], &mut Self) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        self.scanner.expect(b'{', "an object")?;
        if self.scanner.peek() == Some(b'}') {
            self.scanner.at += 1;
            return Ok(());
        }
        loop {
            let key = self.scanner.string()?;
            self.scanner.expect(b':', "`:` after a key")?;
            member(key, self)?;
            if !self
                .scanner
                .next_or_close(b'}', "`,` or `}` in an object")?
            {
                return Ok(());
            }
        }
    }

    /// Reads an array (`null` has no elements): `element` must consume each element.
    pub fn array(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        if self.null()? {
            return Ok(());
        }
        self.scanner.expect(b'[', "an array")?;
        if self.scanner.peek() == Some(b']') {
            self.scanner.at += 1;
            return Ok(());
        }
        loop {
            element(self)?;
            if !self.scanner.next_or_close(b']', "`,` or `]` in an array")? {
                return Ok(());
            }
        }
    }

    /// Refuses the key just read when it holds an escape: unescaped, it may spell a key the
    /// reader knows, which serde would match.
    pub fn plain_key(&self) -> Result<(), ScanError> {
        if self.escaped() {
            Err(self.unsupported())
        } else {
            Ok(())
        }
    }

    /// Reads an object as serde's derive reads a struct: the member named `names[i]` goes to
    /// `member(i, ...)`, each at most once (serde refuses a field given twice), every other
    /// member is skipped, and an escaped key is refused (`plain_key`).
    pub fn fields(
        &mut self,
        names: &[&[u8]],
        mut member: impl FnMut(usize, &mut Self) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        let mut seen = 0u32;
        self.object(|key, c| {
            c.plain_key()?;
            match names.iter().position(|name| key_is(key, name)) {
                Some(i) if seen & (1 << i) != 0 => Err(c.unsupported()),
                Some(i) => {
                    seen |= 1 << i;
                    member(i, c)
                }
                None => c.skip(),
            }
        })
    }
}

/// Calls `visit` with a cursor at every element of the top-level `items` array; `visit` must
/// consume the element.
pub fn list_items_with<'a>(
    payload: &'a [u8],
    mut visit: impl FnMut(&mut Cursor<'a>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let mut cursor = Cursor::new(payload);
    cursor.object(|key, c| {
        if key == b"items" {
            c.array(&mut visit)
        } else {
            c.skip()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The container skip a byte at a time: the reference the block skip must agree with.
    fn reference(bytes: &[u8]) -> Result<usize, &'static str> {
        let mut skip = Skip {
            depth: 1,
            in_string: false,
            escape: false,
        };
        for (i, &byte) in bytes.iter().enumerate().skip(1) {
            if skip.byte(byte) {
                return Ok(i + 1);
            }
        }
        Err(if skip.in_string {
            "the end of a string"
        } else {
            "the end of an object or array"
        })
    }

    fn block_skip(bytes: &[u8]) -> Result<usize, &'static str> {
        let mut scanner = Scanner {
            bytes,
            at: 1,
            escaped: false,
        };
        scanner
            .skip_container()
            .map(|()| scanner.at)
            .map_err(|e| e.expected)
    }

    #[test]
    fn a_block_classifies_every_byte() {
        let block = classify(br#"{"a\b":[1]} x"} "#);
        assert_eq!(block.quotes, 0b0010_0000_0010_0010);
        assert_eq!(block.backslashes, 0b0000_0000_0000_1000);
        assert_eq!(block.opens, 0b0000_0000_1000_0001);
        assert_eq!(block.closes, 0b0100_0110_0000_0000);
    }

    #[test]
    fn quotes_mark_the_bytes_inside_strings() {
        // `"ab"` at 0..4 and `"c"` at 6..9: the opening quote and the content are inside.
        assert_eq!(inside_strings(0b1_0100_1001), 0b0_1100_0111);
    }

    proptest::proptest! {
        /// On any bytes made of JSON's structural characters, the block skip ends where the
        /// byte-at-a-time skip ends, or fails as it does.
        #[test]
        fn the_block_skip_agrees_with_the_byte_skip(
            tail in proptest::collection::vec(
                proptest::sample::select(vec![b'"', b'\\', b'{', b'}', b'[', b']', b'a', b' ', b':', b',']),
                0..300,
            )
        ) {
            let mut bytes = vec![b'{'];
            bytes.extend(tail);
            proptest::prop_assert_eq!(block_skip(&bytes), reference(&bytes));
        }

        /// A skipped container says it held a backslash exactly when one is among its bytes.
        #[test]
        fn a_skip_notes_escapes_exactly_when_there_is_a_backslash(
            tail in proptest::collection::vec(
                proptest::sample::select(vec![b'"', b'\\', b'{', b'}', b'a', b' ', b':', b',']),
                0..300,
            )
        ) {
            let mut bytes = vec![b'{'];
            bytes.extend(tail);
            let mut cursor = Cursor::new(&bytes);
            if let Ok(escaped) = cursor.skip_noting_escapes() {
                let skipped = cursor.since(0);
                proptest::prop_assert_eq!(escaped, skipped.contains(&b'\\'));
            }
        }

        /// A string skipped from its first block ends where the byte-by-byte search ends it.
        #[test]
        fn a_string_ends_at_its_first_unescaped_quote(
            body in proptest::collection::vec(
                proptest::sample::select(vec![b'"', b'\\', b'a', b'{', b' ']),
                0..60,
            )
        ) {
            let mut bytes = vec![b'"'];
            bytes.extend(&body);
            let expected = {
                let mut at = 1;
                loop {
                    match bytes.get(at) {
                        Some(b'"') => break Some(at + 1),
                        Some(b'\\') => at += 2,
                        Some(_) => at += 1,
                        None => break None,
                    }
                }
            };
            let mut scanner = Scanner { bytes: &bytes, at: 1, escaped: false };
            let got = scanner.skip_string().ok().map(|()| scanner.at);
            proptest::prop_assert_eq!(got, expected.filter(|&end| end <= bytes.len()));
        }
    }
}
