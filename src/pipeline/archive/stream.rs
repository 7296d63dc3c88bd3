//! A stored day's rows read one at a time from its file: at 100,000 entitlements the JSON is
//! 30 MB and its rows another 30, and a statement or the site reads up to 90 days, so neither
//! the file nor the day's rows are ever held whole. [`crate::adapters::json_rows`] cuts each element of
//! `consumption.entitlements` out of the chunks read, for serde_json to parse from its slice.
//! The file was checked against its manifest first, so it is the JSON we wrote; a file that
//! is unbalanced, cut off or without its rows is still refused.

use std::io::{ErrorKind, Read};

use serde::de::Error as _;

use crate::adapters::json_rows::{RowScanner, Target};
use crate::domain::statement::StoredRow;

/// Bytes read at a time; a row never has to fit in one (it is carried over).
const CHUNK: usize = 256 * 1024;

/// Parses a stored daily report from `reader`, giving each row of
/// `consumption.entitlements` to `each` in file order; other fields are skipped unparsed.
pub(super) fn rows(
    mut reader: impl Read,
    mut each: impl FnMut(StoredRow),
) -> serde_json::Result<()> {
    let mut scan = RowScanner::new(Target::Path(&["consumption", "entitlements"]));
    let mut chunk = vec![0; CHUNK];
    let mut failed = None;
    loop {
        let n = match reader.read(&mut chunk) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => other.map_err(serde_json::Error::io)?,
        };
        if n == 0 {
            break;
        }
        scan.feed(&chunk[..n], &mut |row| {
            if failed.is_none() {
                match crate::adapters::json_rows::parse(row.json) {
                    Ok(r) => each(r),
                    Err(e) => failed = Some(e),
                }
            }
        })
        .map_err(|e| malformed(&e.to_string()))?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    let scanned = scan.finish().map_err(|e| malformed(&e.to_string()))?;
    match scanned.arrays.len() {
        0 => return Err(malformed("no consumption.entitlements")),
        1 => {}
        _ => return Err(malformed("consumption.entitlements twice")),
    }
    Ok(())
}

fn malformed(why: &str) -> serde_json::Error {
    serde_json::Error::custom(format!("not a stored daily report: {why}"))
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
        let twice = r#"{"consumption": {"entitlements": [], "entitlements": []}}"#;
        assert!(serials(twice).unwrap_err().to_string().contains("twice"));
    }
}
