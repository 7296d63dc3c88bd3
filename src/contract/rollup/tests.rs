use super::*;
use crate::testutil::dec;

/// A day's rows table: `rows` sorted by serial, as [`Table::rows`] gives them back.
fn day_table(header: &DayHeader, rows: &[RowRef<'_>]) -> Vec<u8> {
    let mut w = TableWriter::new(Kind::Day, header, rows.len());
    for r in rows {
        w.row(r);
    }
    w.finish()
}

fn row(serial: &'static str, points: &str) -> RowRef<'static> {
    RowRef {
        serial_number: serial,
        account_id: AccountId(2321234),
        config_id: Some(4101),
        config_name: Some("MSSP FMG"),
        product_type: Some("FortiManager-VM"),
        description: None,
        points: dec(points),
    }
}

fn header() -> DayHeader {
    DayHeader {
        program_serial: "ELAVMS0000123456".into(),
        date: "2025-11-08".parse().unwrap(),
        source: Source {
            revision: 1,
            manifest_sha256: "ab".into(),
        },
    }
}

#[test]
fn a_day_table_reads_back_every_field_exactly() {
    let mut b = row("FGVMMLTM00000002", "0.00");
    b.config_id = None;
    b.config_name = Some("");
    b.product_type = None;
    b.description = Some("caf\u{e9} \"quoted\"\nnext line");
    let rows = [
        row("FGVMMLTM00000001", "107.20"),
        b,
        row("FGVMMLTM00000003", "1.5"),
    ];
    let bytes = day_table(&header(), &rows);
    let t = Table::parse(&bytes, Kind::Day).unwrap();
    assert_eq!(t.len(), 3);
    let h: DayHeader = serde_json::from_slice(t.header).unwrap();
    assert_eq!(h, header());
    let mut back = Vec::new();
    t.rows(|r| back.push(r)).unwrap();
    assert_eq!(back, rows);
    assert_eq!(back[0].points.to_string(), "107.20", "scale kept");
    assert_eq!(back[2].points.to_string(), "1.5");
    assert!(Table::parse(&bytes, Kind::Carry).is_err(), "kind checked");
}

#[test]
fn carried_lines_read_back_with_their_customer_rule_cost_and_days() {
    let mut w = TableWriter::new(Kind::Carry, &"m", 2);
    let lines = [
        CarryRef {
            customer: "acme",
            rule: Some("fgvm-list"),
            row: row("FGVMMLTM00000001", "10.00"),
            days_billed: 3,
            cost: Some("4.1234".parse().unwrap()),
            days: (1, 14),
        },
        CarryRef {
            customer: "unassigned",
            rule: None,
            row: row("FGVMMLTM00000001", "0.00"),
            days_billed: 0,
            cost: None,
            days: (3, 3),
        },
    ];
    for l in &lines {
        w.carry(l);
    }
    let bytes = w.finish();
    let t = Table::parse(&bytes, Kind::Carry).unwrap();
    let mut back = Vec::new();
    t.carried(|l| back.push(l)).unwrap();
    assert_eq!(back, lines);
}

#[test]
fn a_cut_or_altered_table_is_refused() {
    let bytes = day_table(&header(), &[row("FGVMMLTM00000001", "1.00")]);
    for cut in [0, 5, 12, bytes.len() / 2, bytes.len() - 1] {
        let read = Table::parse(&bytes[..cut], Kind::Day).and_then(|t| t.rows(|_| {}));
        assert!(read.is_err(), "cut at {cut}");
    }
    // Three more bytes after the last row: the dictionary moved along, its offset kept.
    let t = Table::parse(&bytes, Kind::Day).unwrap();
    let body_end = t.body.as_ptr() as usize - bytes.as_ptr() as usize + t.body.len();
    let mut longer = bytes.clone();
    longer.splice(body_end..body_end, [0u8; 3]);
    let at = (body_end as u64 + 3).to_le_bytes();
    let n = longer.len();
    longer[n - 12..n - 4].copy_from_slice(&at);
    let t = Table::parse(&longer, Kind::Day).unwrap();
    assert!(t.rows(|_| {}).is_err(), "bytes after the rows");
    let mut other = bytes;
    other[8] = 9;
    assert!(Table::parse(&other, Kind::Day).is_err(), "version checked");
}
