//! A stored day's rows read one at a time from its file: at 100,000 entitlements the JSON is
//! 30 MB and its rows another 30, and a statement or the site reads up to 90 days, so neither
//! the file nor the day's rows are ever held whole. A small scanner follows the file's
//! structure chunk by chunk (strings, nesting, keys) to the array at
//! `consumption.entitlements` and cuts out each element, which serde_json then parses from
//! its slice: serde_json's own reader path (a byte at a time through `io::Read`) cost twice
//! the CPU. The file was checked against its manifest first, so it is the JSON we wrote; the
//! scanner still refuses anything unbalanced, truncated or without its rows.

use std::io::{ErrorKind, Read};

use serde::de::Error as _;

use crate::statement::StoredRow;

/// Bytes read at a time; a row never has to fit in one (it is carried over).
const CHUNK: usize = 256 * 1024;

/// Parses a stored daily report from `reader`, giving each row of
/// `consumption.entitlements` to `each` in file order; other fields are skipped unparsed.
pub fn rows(mut reader: impl Read, mut each: impl FnMut(StoredRow)) -> serde_json::Result<()> {
    let mut scan = Scan::default();
    let mut chunk = vec![0; CHUNK];
    let mut buf: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    let mut pos = 0;
    loop {
        // Only an unfinished row or key is carried over into the next chunk.
        let keep = scan.carried_from(pos);
        buf.drain(..keep);
        pos -= keep;
        scan.shift(keep);
        let n = loop {
            match reader.read(&mut chunk) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => break other.map_err(serde_json::Error::io)?,
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        if n == 0 {
            return scan.finish();
        }
        pos = scan.run(&buf, pos, &mut each)?;
    }
}

fn malformed(why: &str) -> serde_json::Error {
    serde_json::Error::custom(format!("not a stored daily report: {why}"))
}

#[derive(Default)]
struct Scan {
    /// The open objects and arrays, outermost first.
    stack: Vec<Frame>,
    in_string: bool,
    /// The byte after a backslash at the end of a chunk is still escaped.
    escaped: bool,
    string_start: usize,
    /// Where the row being cut out starts, inside the rows array.
    row_start: Option<usize>,
    found_rows: bool,
    /// The top-level value has closed: only whitespace may follow.
    done: bool,
}

struct Frame {
    object: bool,
    /// An object waits for a key (after `{` or `,`).
    expects_key: bool,
    /// An object's most recent key: what the next value sits under.
    last_key: Vec<u8>,
    /// This array is `consumption.entitlements`.
    rows: bool,
}

impl Scan {
    fn carried_from(&self, pos: usize) -> usize {
        let mut from = pos;
        if let Some(r) = self.row_start {
            from = from.min(r);
        }
        if self.in_string && self.row_start.is_none() {
            from = from.min(self.string_start);
        }
        from
    }

    fn shift(&mut self, by: usize) {
        self.string_start = self.string_start.saturating_sub(by);
        if let Some(r) = self.row_start.as_mut() {
            *r -= by;
        }
    }

    /// Scans `buf[pos..]`; returns where it stopped (the end of `buf`).
    fn run(
        &mut self,
        buf: &[u8],
        mut pos: usize,
        each: &mut impl FnMut(StoredRow),
    ) -> serde_json::Result<usize> {
        while pos < buf.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    pos += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &buf[pos..]) {
                    None => return Ok(buf.len()),
                    Some(at) if buf[pos + at] == b'\\' => {
                        self.escaped = true;
                        pos += at + 1;
                    }
                    Some(at) => {
                        self.in_string = false;
                        let end = pos + at;
                        if self.row_start.is_none()
                            && let Some(f) = self.stack.last_mut().filter(|f| f.expects_key)
                        {
                            f.last_key = buf[self.string_start..end].to_vec();
                            f.expects_key = false;
                        }
                        pos = end + 1;
                    }
                }
                continue;
            }
            let b = buf[pos];
            if self.done && !b.is_ascii_whitespace() {
                return Err(malformed("bytes after the report"));
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    self.string_start = pos + 1;
                }
                b'{' | b'[' => {
                    if self.row_start.is_none() && self.stack.last().is_some_and(|f| f.rows) {
                        if b != b'{' {
                            return Err(malformed("a row that is not an object"));
                        }
                        self.row_start = Some(pos);
                    }
                    self.open(b == b'{');
                }
                b'}' | b']' => {
                    let Some(f) = self.stack.pop() else {
                        return Err(malformed("unbalanced brackets"));
                    };
                    if f.object != (b == b'}') {
                        return Err(malformed("mismatched brackets"));
                    }
                    if let Some(start) = self.row_start
                        && self.stack.last().is_some_and(|f| f.rows)
                    {
                        each(serde_json::from_slice(&buf[start..=pos])?);
                        self.row_start = None;
                    }
                    self.done = self.stack.is_empty();
                }
                b',' => {
                    if let Some(f) = self.stack.last_mut().filter(|f| f.object) {
                        f.expects_key = true;
                    }
                }
                _ => {}
            }
            pos += 1;
        }
        Ok(pos)
    }

    fn open(&mut self, object: bool) {
        let rows = !object
            && self.row_start.is_none()
            && self.stack.len() == 2
            && self.stack[1].last_key == b"entitlements"
            && self.stack[0].last_key == b"consumption";
        self.found_rows |= rows;
        self.stack.push(Frame {
            object,
            expects_key: object,
            last_key: Vec::new(),
            rows,
        });
    }

    fn finish(self) -> serde_json::Result<()> {
        if self.in_string || !self.stack.is_empty() || !self.done {
            return Err(malformed("it ends early"));
        }
        if !self.found_rows {
            return Err(malformed("no consumption.entitlements"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serials(json: &str) -> serde_json::Result<Vec<String>> {
        let mut got = Vec::new();
        rows(json.as_bytes(), |r| got.push(r.serial_number))?;
        Ok(got)
    }

    #[test]
    fn rows_come_in_file_order_and_other_fields_are_skipped() {
        let json = r#"{"program": {"x": [1, {"entitlements": []}]},
            "consumption": {"total": "1.00", "entitlements": [
                {"serialNumber": "FGVMMLTM00000002", "accountId": 7, "points": 1.00,
                 "configName": "a", "extra": {"nested": [1, 2]}},
                {"serialNumber": "FGVMMLTM00000001", "accountId": 7, "points": 0.00}
            ], "after": 1},
            "tail": null}"#;
        assert_eq!(
            serials(json).unwrap(),
            ["FGVMMLTM00000002", "FGVMMLTM00000001"]
        );
    }

    /// Hands out a few bytes per read, so rows, keys and escapes straddle every boundary.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 13 + 1;
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn rows_split_across_reads_parse_as_serde_json_parses_the_whole_file() {
        let text_of = |s: String| serde_json::to_string(&s).unwrap();
        let rows: Vec<String> = (0..3000)
            .map(|i| {
                format!(
                    "{{\n  \"serialNumber\": \"FGVMMLTM{i:08}\", \"accountId\": {},\n  \
                     \"points\": {i}.{:02}, \"configId\": 4101, \"configName\": {},\n  \
                     \"description\": {}, \"extra\": {{\"a\": [1, {{\"b\": \"]\"}}]}}\n}}",
                    2321234 + i % 3,
                    i % 100,
                    text_of(format!("quote \" brace {{ ] \\ {i}")),
                    text_of("caf\u{e9} \u{1F600} \n".to_string()),
                )
            })
            .collect();
        let text = format!(
            "{{\"consumption\": {{\"message\": \"}}{{\\\"\", \"entitlements\": [\n{}\n]}}, \"status\": 0}}\n",
            rows.join(",\n")
        );
        assert!(text.len() > 2 * CHUNK, "spans several chunks");
        let whole: Vec<StoredRow> = rows
            .iter()
            .map(|r| serde_json::from_str(r).unwrap())
            .collect();
        let mut chunked = Vec::new();
        super::rows(text.as_bytes(), |r| chunked.push(r)).unwrap();
        assert_eq!(chunked, whole);
        let mut trickled = Vec::new();
        super::rows(Trickle(text.as_bytes(), 0), |r| trickled.push(r)).unwrap();
        assert_eq!(trickled, whole);
        assert_eq!(whole[7].points.to_string(), "7.07");
    }

    #[test]
    fn a_report_without_its_rows_or_with_trailing_bytes_is_an_error() {
        let missing = serials(r#"{"consumption": {"total": "1.00"}}"#).unwrap_err();
        assert!(missing.to_string().contains("entitlements"), "{missing}");
        let no_consumption = serials(r#"{"program": {}}"#).unwrap_err();
        assert!(no_consumption.to_string().contains("consumption"));
        assert!(serials(r#"{"consumption": {"entitlements": []}} x"#).is_err());
        let bad_row = r#"{"consumption": {"entitlements": [{"serialNumber": "A"}]}}"#;
        assert!(serials(bad_row).is_err());
        let not_object = r#"{"consumption": {"entitlements": [[1]]}}"#;
        assert!(serials(not_object).is_err());
        let truncated = r#"{"consumption": {"entitlements": [{"serialNumber": "A", "accountId": 1, "points": 1}"#;
        let e = serials(truncated).unwrap_err();
        assert!(e.to_string().contains("ends early"), "{e}");
        assert!(serials(r#"{"consumption": {"entitlements": []}]}"#).is_err());
    }
}
