//! `tieout`: the month's days against the balance's drops and each device against its
//! configuration's rate, from the archive alone.

use super::*;

/// `tieout` of the walkthrough's program for `month`, offline, with `FORTIFLEX_NOW` at `now`
/// and `extra` arguments.
async fn tie_out(dir: &Path, month: &str, now: &str, extra: &[&str]) -> Output {
    let mut args = vec!["tieout", "--program", "ELAVMS0000123456", "--month", month];
    args.extend_from_slice(extra);
    run(None, dir, &args, &[("FORTIFLEX_NOW", now)]).await
}

#[tokio::test]
async fn tieout_shows_each_day_against_the_balances_drop_from_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    // The daily runs of 9 and 10 November (06:00 Pacific), each reading the balance.
    for (today, now) in [
        ("2025-11-09", "2025-11-09T14:00:00Z"),
        ("2025-11-10", "2025-11-10T14:00:00Z"),
    ] {
        let sim = simulator_at(overcharged(), today).await;
        let args = [
            "consumption",
            "--credentials",
            &creds,
            "--daily",
            "--days",
            "3",
        ];
        let out = run(Some(&sim), dir.path(), &args, &[("FORTIFLEX_NOW", now)]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // The run of the 10th found the 7th final (two days of restatement before the 9th) and
    // raised the tie-out alert with the newest day's alerts.
    let alerts = dir
        .path()
        .join("reports/alerts/dt=2025-11-09/alerts_ELAVMS0000123456_2025-11-09.json");
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(&alerts).unwrap()).unwrap();
    let tieout: Vec<&serde_json::Value> = a["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "tieout")
        .collect();
    assert_eq!(tieout.len(), 1, "{a}");
    assert_eq!(tieout[0]["points"], serde_json::json!(8.34));
    let message = tieout[0]["message"].as_str().unwrap();
    assert!(
        message.contains("on 2025-11-07 1 device(s) were charged 8.34 points"),
        "{message}"
    );
    assert!(message.contains("FGVMMLTM00000995"), "{message}");

    // Run again the same day: every parameter set is priced already, none is asked again.
    let sim = simulator_at(overcharged(), "2025-11-10").await;
    let args = [
        "consumption",
        "--credentials",
        &creds,
        "--daily",
        "--days",
        "1",
    ];
    let now = [("FORTIFLEX_NOW", "2025-11-10T15:00:00Z")];
    let out = run(Some(&sim), dir.path(), &args, &now).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let asked: Vec<String> = sim.call_log().into_iter().map(|c| c.call).collect();
    assert!(asked.iter().any(|c| c == "programs/points"), "{asked:?}");
    assert!(!asked.iter().any(|c| c.starts_with("tools/")), "{asked:?}");

    // Offline: no simulator, no credentials.
    let out = tie_out(dir.path(), "2025-11", "2025-11-10T20:00:00Z", &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("2025-11-09"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &cells[..5],
        ["2025-11-09", "399.42", "399.42", "0.00", "ties"],
        "{line}"
    );
    assert!(
        stdout.contains("Days that tie: 1, differ: 0, unknown: 8"),
        "{stdout}"
    );
    // Four stored days of 13 devices, each against the rate snapshots of the 9th and 10th
    // (the days before the first snapshot priced by it).
    assert!(
        stdout.contains("Device-days that tie: 51, differ: 1 (0 with a known reason), unknown: 0"),
        "{stdout}"
    );
    let over = stdout
        .lines()
        .find(|l| l.contains("FGVMMLTM00000995"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = over.split_whitespace().collect();
    assert_eq!(
        cells[..8],
        [
            "2025-11-07",
            "FGVMMLTM00000995",
            "2321234",
            "4102",
            "30.00",
            "21.66",
            "8.34",
            "DIFFERS"
        ],
        "{over}"
    );
    assert!(
        over.contains("rate read on 2025-11-09, after the day"),
        "{over}"
    );
    let fgt = stdout
        .lines()
        .find(|l| l.starts_with("FortiGate-VM bundle"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = fgt.split_whitespace().collect();
    assert_eq!(
        cells[2..],
        ["28", "27", "1", "614.82", "606.48", "8.34", "-"],
        "{fgt}"
    );
    let file = dir
        .path()
        .join("reports/tieout/month=2025-11/tieout_ELAVMS0000123456_2025-11.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["through"], serde_json::json!("2025-11-09"));
    assert_eq!(
        v["rates"]["devices"][0]["difference"],
        serde_json::json!(8.34)
    );
    assert_eq!(v["rates"]["totals"]["difference"], serde_json::json!(8.34));
    // The same as one CSV table: the balance's days, the summaries and the device-day.
    let csv = std::fs::read_to_string(file.with_extension("csv")).unwrap();
    assert!(csv.starts_with("month,kind,day,key,customer,config_id,config_name,product_type,charged,expected,difference,amount,status,reason,note\n"), "{csv}");
    assert_eq!(
        csv.lines().filter(|l| l.contains(",balance,")).count(),
        9,
        "{csv}"
    );
    assert!(
        csv.contains("2025-11,device,2025-11-07,FGVMMLTM00000995,2321234,4102,FGT-VM 2 vCPU UTP,FortiGate-VM bundle,30.00,21.66,8.34,,differs,,\"rate read on 2025-11-09, after the day\"\n"),
        "{csv}"
    );
    assert!(
        csv.contains("2025-11,rates_total,,all,,,,,1606.02,1597.68,8.34,,differs,,\"52 device-days: 51 tie, 1 differ (0 explained), 0 unknown\"\n"),
        "{csv}"
    );
    let rates = dir
        .path()
        .join("reports/rates/dt=2025-11-10/rates_ELAVMS0000123456_2025-11-10.json");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&rates).unwrap()).unwrap();
    // One tools/calc per parameter set: eight configurations, eight sets, every one priced.
    let sets = r["rates"].as_array().unwrap();
    assert_eq!(sets.len(), 8, "{r}");
    assert!(
        sets.iter()
            .all(|s| s["error"].is_null() && s["current"].is_number()),
        "{r}"
    );
    // Each parameter id with its meaning, from tools/metadata.
    let fgt = sets
        .iter()
        .find(|s| s["configs"] == serde_json::json!([4102]));
    assert_eq!(
        fgt.unwrap()["parameter_names"],
        serde_json::json!({"1": "CPU", "2": "Service package", "10": "VDOMs"}),
        "{r}"
    );

    // A folder with no snapshots: named, and nothing written.
    let empty = tempfile::tempdir().unwrap();
    let out = tie_out(empty.path(), "2025-11", "2025-11-10T20:00:00Z", &[]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("nothing to tie out for ELAVMS0000123456 in 2025-11"),
        "{stderr}"
    );
}

/// The walkthrough with one FortiGate-VM charged 30.00 on 7 November where its
/// configuration costs 21.66: the balance falls by it too, so only the rate audit sees it.
fn overcharged() -> Dataset {
    let mut data = Dataset::walkthrough();
    let over = data.programs[0]
        .entitlements
        .iter_mut()
        .find(|e| e.serial_number == "FGVMMLTM00000995")
        .unwrap();
    over.spikes
        .push(("2025-11-07".parse().unwrap(), "30.00".parse().unwrap()));
    data
}

#[tokio::test]
async fn an_invoice_figure_is_kept_and_compared_with_the_whole_month() {
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    let sim = simulator_at(Dataset::walkthrough(), "2025-11-10").await;
    let args = [
        "consumption",
        "--credentials",
        &creds,
        "--daily",
        "--start",
        "2025-10-01",
        "--end",
        "2025-10-30",
    ];
    let now = [("FORTIFLEX_NOW", "2025-11-10T14:00:00Z")];
    let out = run(Some(&sim), dir.path(), &args, &now).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let invoice = |points: &'static str| {
        let dir = dir.path().to_path_buf();
        async move {
            let points = format!("--invoice-points={points}");
            tie_out(&dir, "2025-10", "2025-11-10T20:00:00Z", &[&points]).await
        }
    };
    // 30 of October's 31 days stored: the figure is kept, not yet compared.
    let out = invoice("12382.02").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("over 30 of 31 days: unknown (30 of the month's 31 days are stored"),
        "{}",
        text(&out.stdout)
    );
    let kept = dir
        .path()
        .join("reports/tieout/month=2025-10/invoice_ELAVMS0000123456_2025-10.json");
    assert!(kept.exists());
    // The 31st stored: the next daily run's tie-out compares the kept figure (31 x 399.42).
    let args = [
        "consumption",
        "--credentials",
        &creds,
        "--date",
        "2025-10-31",
        "--daily",
    ];
    let out = run(Some(&sim), dir.path(), &args, &now).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tie_out(dir.path(), "2025-10", "2025-11-10T20:00:00Z", &[]).await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Invoice 12382.02 points, reports 12382.02 points over 31 of 31 days: difference 0.00, ties"),
        "{stdout}"
    );
    // A figure 120 points over the reports differs.
    let out = invoice("12502.02").await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("difference 120.00, DIFFERS"), "{stdout}");
    let csv = std::fs::read_to_string(
        dir.path()
            .join("reports/tieout/month=2025-10/tieout_ELAVMS0000123456_2025-10.csv"),
    )
    .unwrap();
    assert!(
        csv.contains("2025-10,invoice,,,,,,,12382.02,12502.02,120.00,,differs,,\n"),
        "{csv}"
    );
    let refused = invoice("-5").await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--invoice-points must not be negative"),
        "{}",
        text(&refused.stderr)
    );
}

#[tokio::test]
async fn an_announced_rate_change_is_told_ahead_and_ties_once_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    // Fortinet announces the FortiGate-VM bundle of configuration 4102 at 23.10 points a day
    // from 20 November; its seven devices are charged that from then on.
    let mut data = Dataset::walkthrough();
    let fgt = data.programs[0]
        .configs
        .iter_mut()
        .find(|c| c.id == 4102)
        .unwrap();
    fgt.announced = Some(("2025-11-20".parse().unwrap(), "23.10".parse().unwrap()));
    for (today, now, days) in [
        ("2025-11-09", "2025-11-09T14:00:00Z", "1"),
        ("2025-11-22", "2025-11-22T14:00:00Z", "3"),
    ] {
        let sim = simulator_at(data.clone(), today).await;
        let args = [
            "consumption",
            "--credentials",
            &creds,
            "--daily",
            "--days",
            days,
        ];
        let out = run(Some(&sim), dir.path(), &args, &[("FORTIFLEX_NOW", now)]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // Eleven days ahead, the account's bill: seven devices of 21.66 rise by 1.44 a day each.
    let alerts = dir
        .path()
        .join("reports/alerts/dt=2025-11-08/alerts_ELAVMS0000123456_2025-11-08.json");
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(&alerts).unwrap()).unwrap();
    let told: Vec<&serde_json::Value> = a["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "rate_change")
        .collect();
    assert_eq!(told.len(), 1, "{a}");
    assert_eq!(told[0]["customer_id"], "2321234");
    assert_eq!(told[0]["points"], serde_json::json!(302.40));
    let message = told[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("2321234's bill rises 2.5 % from 2025-11-20: Fortinet announces FortiGate-VM bundle (configuration 4102) from 21.66 to 23.10 points a day"),
        "{message}"
    );
    // Once in force, the devices charged the new rate tie: the snapshot of the 9th priced the
    // 20th and 21st at its announced rate.
    let out = tie_out(dir.path(), "2025-11", "2025-11-22T20:00:00Z", &[]).await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Device-days that tie: 52, differ: 0 (0 with a known reason), unknown: 0"),
        "{stdout}"
    );
}
