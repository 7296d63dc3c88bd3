//! `demo`: the contract files byte for byte against the goldens.

use super::*;

#[tokio::test]
async fn demo_writes_the_contract_files_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(None, dir.path(), &["demo", "--today", "2025-11-09"], &[]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("CONSUMPTION REPORT - ALL ENTITLEMENTS - 2025-11-08"));
    assert!(stdout.contains("CONSUMPTION REPORT - ALL ENTITLEMENTS - LAST 7 DAYS"));
    let reports = dir.path().join("reports");
    for (key, golden) in [
        (
            "daily/csv/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.csv",
            "demo_daily.csv",
        ),
        (
            "daily/json/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.json",
            "demo_daily.json",
        ),
        (
            "ranges/consumption_ELAVMS0000123456_2025-11-02_2025-11-08.csv",
            "demo_range.csv",
        ),
        (
            "ranges/consumption_ELAVMS0000123456_2025-11-02_2025-11-08.json",
            "demo_range.json",
        ),
    ] {
        let actual = std::fs::read(reports.join(key)).unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(golden);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &actual).unwrap();
        }
        assert_eq!(
            text(&actual),
            std::fs::read_to_string(&path).unwrap(),
            "{key} differs from {golden}"
        );
    }
    let manifest = reports.join(
        "daily/manifests/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.manifest.json",
    );
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let csv = std::fs::read(
        reports.join("daily/csv/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.csv"),
    )
    .unwrap();
    assert_eq!(m["files"][0]["bytes"].as_u64(), Some(csv.len() as u64));
    assert_eq!(m["files"][0]["rows"].as_u64(), Some(13));
    // No licence token of the dataset appears in any file written.
    let data = Dataset::demo("2025-11-09".parse().unwrap());
    let tokens: Vec<&str> = data.programs[0]
        .entitlements
        .iter()
        .map(|e| e.token.as_str())
        .collect();
    for entry in walk(&reports) {
        let bytes = std::fs::read(&entry).unwrap();
        let body = String::from_utf8_lossy(&bytes);
        assert!(
            !tokens.iter().any(|t| body.contains(t)),
            "{} holds a licence token",
            entry.display()
        );
    }
    let mut top: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(
        top,
        [
            "alerts",
            "balances",
            "config",
            "daily",
            "metadata",
            "organizations",
            "ranges",
            "rates",
            "rollups",
            "site",
            "statements",
            "tieout"
        ]
    );
    // A month of days backfilled, billed per the sample customers file, and the site.
    assert_eq!(walk(&reports.join("daily/manifests")).len(), 30);
    // Each stored day's rollup beside it (rows, summary); the carried lines of November (its
    // days past restatement) and of October (settled, folded whole once).
    assert_eq!(walk(&reports.join("rollups")).len(), 2 * 30 + 2);
    assert!(
        stdout.contains(
            "Backfilled 17 days on 2025-10-27, then the scheduled job ran once a day through \
             2025-11-09 (13 more runs, each re-checking the 2 days before its last): 29 earlier \
             daily reports written, the rest unchanged."
        ),
        "{stdout}"
    );
    // Each daily run rewrote the month to date.
    assert!(
        stdout.contains("Statement 2025-11 (provisional, revision 8)"),
        "{stdout}"
    );
    assert!(stdout.contains("BALANCE of ELAVMS0000123456"));
    // What the tool catches: the overcharge (alerted the day it became final and listed on
    // each of its days), the announced rate change, the lab stopped for the weekend, the
    // top-up and the discount, each told as such.
    for told in [
        "[ALERT tieout] Program ELAVMS0000123456: on 2025-11-06 1 device(s) were charged 4.33 points",
        "[ALERT rate_change] Contoso Ltd's bill rises 1.3 % from 2025-11-23",
        "[ALERT stopped_consuming] FGVMMLTM00000998",
        "[ALERT new_customer] 3300005 'Initech' will be billed as its own customer with no price",
        "TIE-OUT ELAVMS0000123456 2025-10 through 2025-10-31",
        "(top-up of 10000.00 on 2025-10-28)",
        "TIE-OUT ELAVMS0000123456 2025-11 through 2025-11-08",
        "  Balance: 8 days tie with what Fortinet deducted, 0 differ, 0 unknown",
        "FortiAnalyzer-VM charged 20.0 % below its rate (a discount)",
        "DIFFERS 2025-11-04 FGVMMLTM00000995 (northwind, configuration 4102 FGT-VM 2 vCPU UTP): charged 25.99, rate 21.66, difference 4.33",
        "DIFFERS 2025-11-06 FGVMMLTM00000995",
    ] {
        assert!(stdout.contains(told), "{told}\n{stdout}");
    }
    assert_eq!(stdout.matches("    DIFFERS ").count(), 3, "{stdout}");
    let index = std::fs::read_to_string(reports.join("site/index.html")).unwrap();
    assert_eq!(index.matches("<tr class=\"consumer\"").count(), 10);
    assert!(index.matches("<rect class=\"bar\"").count() >= 30);
    for customer in ["northwind", "contoso", "fabrikam"] {
        let page = reports.join(format!("site/month=2025-11/{customer}.html"));
        assert!(page.exists(), "{}", page.display());
        assert!(index.contains(&format!("month=2025-11/{customer}.html")));
    }
    assert!(
        stdout.contains("The site: reports/site/index.html"),
        "{stdout}"
    );

    // A second demo finds identical bytes and writes nothing.
    let before = std::fs::read(&manifest).unwrap();
    let out = run(None, dir.path(), &["demo", "--today", "2025-11-09"], &[]).await;
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Report unchanged (revision 1)"));
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
}
