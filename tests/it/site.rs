//! The site in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) loads the pages the demo and a run write, and the test reads the DOM it built
//! and keeps a screenshot under `target/tmp/`.

use crate::support;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Days, NaiveDate, Utc};
use fortiflex_reporter::adapters::storage::LocalDir;
use fortiflex_reporter::contract::keys::CUSTOMERS as CUSTOMERS_KEY;
use fortiflex_reporter::pipeline::progress::Silent;
use fortiflex_reporter::pipeline::{Request, Watch, run};
use fortiflex_reporter::sim::{Dataset, SimOptions};

const BIN: &str = env!("CARGO_BIN_EXE_fortiflex-report");

fn chromium() -> PathBuf {
    let path =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "{} is missing: apt-get install chromium (CI does), or set CHROMIUM",
        path.display()
    );
    path
}

/// Chromium headless on `page` with the flags of `toolchain.md` (no network of its own).
fn browse(page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    support::assert_succeeded(&out);
    String::from_utf8(out.stdout).unwrap()
}

fn rendered(page: &Path) -> String {
    browse(page, &["--dump-dom".to_string()])
}

#[test]
#[ignore = "needs chromium: make test"]
fn the_demo_page_renders_its_chart_and_top_consumers_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["demo", "--today", "2025-11-09", "--out", "reports"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    support::assert_succeeded(&out);
    let index = dir.path().join("reports/site/index.html");
    let dom = rendered(&index);
    // One bar per day and customer: 30 backfilled days, each with the sample file's three
    // customers and the partner's own configurations (its account, named from the
    // organization).
    assert_eq!(dom.matches("<rect class=\"bar\"").count(), 30 * 4, "{dom}");
    for customer in ["northwind", "contoso", "fabrikam", "2321234"] {
        let bars = format!("data-customer=\"{customer}\"");
        assert_eq!(dom.matches(&bars).count(), 30, "{customer}");
    }
    assert_eq!(dom.matches("<tr class=\"consumer\">").count(), 10);
    assert!(dom.contains("Projected run-out"));
    assert!(dom.contains("Northwind Traders"));
    // The date axis: a label a week apart, ending on the newest day.
    assert!(
        dom.contains("data-day=\"2025-11-08\">Nov 8</text>"),
        "{dom}"
    );
    assert!(dom.contains("data-day=\"2025-11-01\">Nov 1</text>"));

    // The balance over time: one reading a day of the demo's 14 daily runs.
    assert_eq!(dom.matches("<circle class=\"reading\"").count(), 14);
    // The tie-out panel: every day since the first snapshot ties with what Fortinet
    // deducted, the top-up marked on its day; the rate audit lists the overcharged
    // FortiGate-VM alone, on each of its three days, 4.33 points above its rate.
    let panel = &dom[dom
        .find("<section id=\"tieout\">")
        .expect("the tie-out panel")..];
    assert_eq!(
        panel.matches("<tr class=\"day ties\"").count(),
        13,
        "{panel}"
    );
    assert_eq!(panel.matches("<tr class=\"day differs\"").count(), 0);
    assert!(panel.contains("top-up of 10000.00"));
    assert_eq!(panel.matches("<g class=\"tieout-day\"").count(), 13);
    let devices: Vec<&str> = panel
        .match_indices("<tr class=\"device differs\" data-serial=\"")
        .map(|(i, m)| &panel[i + m.len()..i + m.len() + 16])
        .collect();
    assert_eq!(devices, ["FGVMMLTM00000995"; 3]);
    assert_eq!(panel.matches("<td class=\"num\">4.33</td>").count(), 3);
    assert!(panel.contains("FortiAnalyzer-VM is charged 20.0 % below the rate"));

    // A screenshot that is not blank: a white page compresses to a few kilobytes.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("site-demo.png");
    let _ = std::fs::remove_file(&shot);
    browse(
        &index,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600".to_string(),
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 30_000, "{} bytes: blank?", png.len());

    // The statement page of each customer is there, printable.
    let page = dir.path().join("reports/site/month=2025-11/northwind.html");
    let statement = rendered(&page);
    assert!(statement.contains("Statement ELAVMS0000123456 2025-11: Northwind Traders"));
    assert_eq!(statement.matches("<tr class=\"line\">").count(), 7);
}

const SCRIPT: &str = "<script>document.title='pwned'</script>";
const FORMULA: &str = "=HYPERLINK(\"http://example.invalid\",\"click\")";

#[tokio::test]
#[ignore = "needs chromium: make test"]
async fn hostile_names_show_as_text_in_chromium() {
    let mut data = Dataset::walkthrough();
    let config = data.programs[0]
        .configs
        .iter_mut()
        .find(|c| c.id == 4102)
        .unwrap();
    config.name = SCRIPT.into();
    let today = NaiveDate::from_ymd_opt(2025, 11, 9).unwrap();
    let opts = SimOptions {
        today: Some(today),
        ..SimOptions::default()
    };
    let sim = support::start_sim(data, opts).await;
    let dir = tempfile::tempdir().unwrap();
    let customers = format!(
        r#"{{"currency": "USD", "customers": [{{"id": "evil", "name": {}, "configs": [4102], "price_per_point": "0.10"}}]}}"#,
        serde_json::to_string(FORMULA).unwrap()
    );
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(dir.path().join(CUSTOMERS_KEY), customers).unwrap();

    let creds = sim.credentials();
    let last = today - Days::new(1);
    let request = Request {
        daily: (0..3).map(|n| last - Days::new(n)).collect(),
        statements: true,
        watch: Some(Watch::default()),
        site: true,
        ..Request::default()
    };
    let now: DateTime<Utc> = "2025-11-09T20:00:00Z".parse().unwrap();
    let ctx = support::run_context(now);
    let api = support::sim_api(&sim, &creds);
    run(
        &api,
        &LocalDir::new(dir.path()),
        &creds,
        &request,
        &ctx,
        &Silent,
    )
    .await
    .unwrap();

    for page in ["site/index.html", "site/month=2025-11/evil.html"] {
        let html = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(!html.contains("<script"), "{page} holds a script element");
        let dom = rendered(&dir.path().join(page));
        // The browser built no script element and ran nothing: the names are text.
        assert!(!dom.contains("<script"), "{page}: {dom}");
        assert!(!dom.contains("<title>pwned</title>"), "{page}");
        assert!(
            dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
            "{page}: {dom}"
        );
        assert!(dom.contains("=HYPERLINK("), "{page}");
    }
}
