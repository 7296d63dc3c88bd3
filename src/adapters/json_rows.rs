//! The rows of a JSON text cut out as the text arrives, chunk by chunk, for serde_json to
//! parse one at a time from their slice. At 100,000 entitlements a FortiFlex reply is 24 MB
//! and a stored day 30 MB; neither is ever held whole. serde_json's own reader path (a byte
//! at a time through `io::Read`) cost twice the CPU of this scanner plus slice parses.
//!
//! The scanner follows only the structure (strings, escapes, nesting, object keys): it cuts
//! each element of the chosen array and keeps everything else, the *skeleton* (the text with
//! those arrays emptied: `{"status":0,"entitlements":[]}`), for the caller to read whole. It
//! refuses what is unbalanced, cut off or followed by more than whitespace; serde_json
//! judges the rest, rows and skeleton alike.

/// A row parsed from its slice, its UTF-8 checked once for the whole row: from bytes,
/// serde_json checks each string on its own, a call per field. Text that is not UTF-8 is
/// left to serde_json, whose error says where.
pub(crate) fn parse<'a, T: serde::Deserialize<'a>>(json: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(json) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(json),
    }
}

/// Which arrays hold the rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'k> {
    /// The array under this path of object keys from the top: a stored report's
    /// `consumption.entitlements`. Its rows are list 0.
    Path(&'k [&'k str]),
    /// The array under any of these keys of the top-level object (list = the key's index),
    /// or the top-level array itself (list = `keys.len()`): a FortiFlex reply.
    Reply(&'k [&'k str]),
}

/// One element of a rows array, exactly as it is in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    pub list: usize,
    /// Its position in its array, from 0.
    pub index: usize,
    pub json: &'a [u8],
}

/// Where and why the text is not one balanced JSON value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{why} at byte {at}")]
pub(crate) struct Malformed {
    pub why: &'static str,
    pub at: usize,
}

impl Malformed {
    /// The text stopped inside a value.
    pub(crate) fn ended_early(&self) -> bool {
        self.why == ENDS_EARLY
    }
}

const ENDS_EARLY: &str = "the text ends early";

/// The bytes that matter inside a row being cut out: where strings and nesting change.
const INSIDE_A_ROW: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 5 {
        t[b"\"{}[]"[i] as usize] = true;
        i += 1;
    }
    t
};

/// A finished scan: the text without its rows, and the list of each rows array it held, in
/// order (a list named twice shows twice).
#[derive(Debug)]
pub(crate) struct Scanned {
    pub skeleton: Vec<u8>,
    pub arrays: Vec<usize>,
}

pub(crate) struct RowScanner<'k> {
    target: Target<'k>,
    /// The unfinished tail of earlier chunks (an open row or string) and the current chunk.
    buf: Vec<u8>,
    /// The text offset of `buf[0]`.
    offset: usize,
    /// The open objects and arrays, outermost first.
    stack: Vec<Frame>,
    in_string: bool,
    /// The byte after a backslash at the end of a chunk is still escaped.
    escaped: bool,
    string_start: usize,
    /// The row being cut out: where it starts, and whether it is a bare number or literal
    /// (which ends at the next delimiter rather than at a closing bracket or quote).
    row: Option<(usize, bool)>,
    /// Rows seen so far in the open rows array.
    index: usize,
    /// The top-level value has closed: only whitespace may follow.
    done: bool,
    skeleton: Vec<u8>,
    /// `buf` is copied into the skeleton up to here; `None` inside a rows array.
    copied: Option<usize>,
    arrays: Vec<usize>,
}

struct Frame {
    object: bool,
    /// An object waits for a key (after `{` or `,`).
    expects_key: bool,
    /// An object's most recent key: what the next value sits under.
    last_key: Vec<u8>,
    /// This array holds rows: which list.
    list: Option<usize>,
}

impl<'k> RowScanner<'k> {
    pub(crate) fn new(target: Target<'k>) -> Self {
        RowScanner {
            target,
            buf: Vec::new(),
            offset: 0,
            stack: Vec::new(),
            in_string: false,
            escaped: false,
            string_start: 0,
            row: None,
            index: 0,
            done: false,
            skeleton: Vec::new(),
            copied: Some(0),
            arrays: Vec::new(),
        }
    }

    /// Scans the next chunk of the text, giving `each` every row it completes.
    pub(crate) fn feed(
        &mut self,
        chunk: &[u8],
        each: &mut impl FnMut(Row<'_>),
    ) -> Result<(), Malformed> {
        let mut buf = std::mem::take(&mut self.buf);
        // Only an unfinished row or string is carried over into the next chunk.
        let end = buf.len();
        let keep = self.carried_from(end);
        buf.drain(..keep);
        self.offset += keep;
        self.shift(keep);
        buf.extend_from_slice(chunk);
        let scanned = self.run(&buf, end - keep, each);
        self.buf = buf;
        scanned
    }

    /// Ends the text: the skeleton, if the text was one whole value.
    pub(crate) fn finish(&mut self) -> Result<Scanned, Malformed> {
        if self.in_string || self.row.is_some() || !self.stack.is_empty() || !self.done {
            return Err(Malformed {
                why: ENDS_EARLY,
                at: self.offset + self.buf.len(),
            });
        }
        Ok(Scanned {
            skeleton: std::mem::take(&mut self.skeleton),
            arrays: std::mem::take(&mut self.arrays),
        })
    }

    fn carried_from(&self, end: usize) -> usize {
        let mut from = end;
        if let Some((r, _)) = self.row {
            from = from.min(r);
        } else if self.in_string {
            from = from.min(self.string_start);
        }
        from
    }

    fn shift(&mut self, by: usize) {
        self.string_start = self.string_start.saturating_sub(by);
        if let Some((r, _)) = self.row.as_mut() {
            *r -= by;
        }
        if let Some(c) = self.copied.as_mut() {
            *c -= by;
        }
    }

    fn malformed(&self, why: &'static str, pos: usize) -> Malformed {
        Malformed {
            why,
            at: self.offset + pos,
        }
    }

    /// The open rows array directly holding what comes next, when no row is being cut.
    fn rows_level(&self) -> Option<usize> {
        self.stack.last().and_then(|f| f.list)
    }

    /// Hands out the row `buf[start..end]` of the innermost (rows) array.
    fn emit(&mut self, json: &[u8], each: &mut impl FnMut(Row<'_>)) {
        let list = self.rows_level().unwrap_or_default();
        each(Row {
            list,
            index: self.index,
            json,
        });
        self.index += 1;
        self.row = None;
    }

    /// Scans `buf[pos..]` to its end.
    fn run(
        &mut self,
        buf: &[u8],
        mut pos: usize,
        each: &mut impl FnMut(Row<'_>),
    ) -> Result<(), Malformed> {
        while pos < buf.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    pos += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &buf[pos..]) {
                    None => pos = buf.len(),
                    Some(at) if buf[pos + at] == b'\\' => {
                        self.escaped = true;
                        pos += at + 1;
                    }
                    Some(at) => {
                        self.in_string = false;
                        let end = pos + at;
                        match self.row {
                            Some((start, _)) if self.rows_level().is_some() => {
                                self.emit(&buf[start..=end], each)
                            }
                            Some(_) => {}
                            None => {
                                if let Some(f) = self.stack.last_mut().filter(|f| f.expects_key) {
                                    f.last_key = buf[self.string_start..end].to_vec();
                                    f.expects_key = false;
                                }
                            }
                        }
                        pos = end + 1;
                    }
                }
                continue;
            }
            if let Some((_, false)) = self.row {
                // Inside a row only strings and brackets matter: skip to the next one.
                match buf[pos..]
                    .iter()
                    .position(|b| INSIDE_A_ROW[usize::from(*b)])
                {
                    Some(n) => pos += n,
                    None => break,
                }
            }
            let b = buf[pos];
            if let Some((start, true)) = self.row {
                if !(matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace()) {
                    pos += 1;
                    continue;
                }
                self.emit(&buf[start..pos], each);
            }
            if self.done && !b.is_ascii_whitespace() {
                return Err(self.malformed("more after the value", pos));
            }
            if self.row.is_none()
                && self.rows_level().is_some()
                && !(matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace())
            {
                let literal = !matches!(b, b'{' | b'[' | b'"');
                self.row = Some((pos, literal));
                if literal {
                    pos += 1;
                    continue;
                }
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    self.string_start = pos + 1;
                }
                b'{' | b'[' => self.open(b == b'{', buf, pos),
                b'}' | b']' => self.close(b == b'}', buf, pos, each)?,
                b',' => {
                    if let Some(f) = self.stack.last_mut().filter(|f| f.object) {
                        f.expects_key = true;
                    }
                }
                _ => {}
            }
            pos += 1;
        }
        if let Some(c) = self.copied {
            self.skeleton.extend_from_slice(&buf[c..]);
            self.copied = Some(buf.len());
        }
        Ok(())
    }

    fn open(&mut self, object: bool, buf: &[u8], pos: usize) {
        let list = if object || self.row.is_some() {
            None
        } else {
            match self.target {
                Target::Path(path) => (self.stack.len() == path.len()
                    && self
                        .stack
                        .iter()
                        .zip(path)
                        .all(|(f, k)| f.object && f.last_key == k.as_bytes()))
                .then_some(0),
                Target::Reply(keys) => match self.stack.as_slice() {
                    [] => Some(keys.len()),
                    [top] if top.object => keys.iter().position(|k| top.last_key == k.as_bytes()),
                    _ => None,
                },
            }
        };
        if let Some(l) = list {
            self.arrays.push(l);
            self.index = 0;
            if let Some(c) = self.copied.take() {
                self.skeleton.extend_from_slice(&buf[c..=pos]);
            }
        }
        self.stack.push(Frame {
            object,
            expects_key: object,
            last_key: Vec::new(),
            list,
        });
    }

    fn close(
        &mut self,
        object: bool,
        buf: &[u8],
        pos: usize,
        each: &mut impl FnMut(Row<'_>),
    ) -> Result<(), Malformed> {
        let Some(f) = self.stack.pop() else {
            return Err(self.malformed("a bracket closes what was not open", pos));
        };
        if f.object != object {
            return Err(self.malformed("mismatched brackets", pos));
        }
        if f.list.is_some() {
            self.copied = Some(pos);
        } else if let Some((start, _)) = self.row
            && self.rows_level().is_some()
        {
            self.emit(&buf[start..=pos], each);
        }
        self.done = self.stack.is_empty();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
