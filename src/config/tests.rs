//! Settings from the environment: defaults, bounds, and errors that name the variable.

use super::*;

#[test]
fn defaults_are_the_real_service_in_pacific_time() {
    let s = Settings::from_lookup(|_| None).unwrap();
    assert_eq!(s.endpoints.api_base().as_str(), DEFAULT_API_URL);
    assert_eq!((s.timezone, s.end_date), (PACIFIC, EndDateMode::Inclusive));
    assert_eq!((s.restate_days, s.retention_days), (2, 90));
    assert_eq!((s.limits.per_minute, s.limits.per_hour), (90, 950));
    assert_eq!(s.limits.hour, Duration::from_secs(3600));
    assert_eq!(s.rate_notice_days, 14);
    assert_eq!(s.context(chrono::Utc::now(), "r").rate_notice_days, 14);
}

#[test]
fn bad_settings_are_named() {
    let one = |name: &'static str, value: &'static str| {
        Settings::from_lookup(move |k| (k == name).then(|| value.to_string()))
            .unwrap_err()
            .to_string()
    };
    assert!(one("REPORT_TIMEZONE", "PST8").contains("REPORT_TIMEZONE"));
    assert!(one("FORTIFLEX_END_DATE", "maybe").contains("FORTIFLEX_END_DATE"));
    assert!(one("FORTIFLEX_API_URL", "ftp://x").contains("FORTIFLEX_API_URL"));
    assert!(one("FORTIFLEX_TIMEOUT_SECS", "0").contains("FORTIFLEX_TIMEOUT_SECS"));
    assert!(one("FORTIFLEX_CALLS_PER_MINUTE", "150").contains("1..=100"));
    assert!(one("FORTIFLEX_RETRIES", "many").contains("FORTIFLEX_RETRIES"));
    assert!(one("RATE_NOTICE_DAYS", "0").contains("RATE_NOTICE_DAYS"));
    let month = Settings::from_lookup(|k| (k == "RATE_NOTICE_DAYS").then(|| "30".into()));
    assert_eq!(month.unwrap().rate_notice_days, 30);
    assert!(one("ORGANIZATIONS", "yes").contains("ORGANIZATIONS \"yes\""));
    let unit = Settings::from_lookup(|k| (k == "ORGANIZATIONS").then(|| "unit".into()));
    assert_eq!(unit.unwrap().organizations, Some(CustomerFrom::Unit));
    let off = Settings::from_lookup(|k| (k == "ORGANIZATIONS").then(|| "off".into()));
    assert_eq!(off.unwrap().organizations, None);
    assert!(
        one(
            "FORTIFLEX_API_URL",
            "http://forti.example.com/ES/api/fortiflex/v2/"
        )
        .contains("https")
    );
}

fn lambda(vars: &[(&str, &str)]) -> Result<LambdaSettings> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LambdaSettings::from_lookup(move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
}

#[test]
fn the_lambda_needs_a_bucket_and_a_secret() {
    let base = [("REPORT_BUCKET", "billing"), ("FORTIFLEX_SECRET_ID", "ff")];
    let s = lambda(&base).unwrap();
    assert_eq!(
        (
            s.prefix.as_str(),
            s.settings.restate_days,
            s.force_path_style
        ),
        ("fortiflex", 2, false)
    );
    for (missing, named) in [(0, "REPORT_BUCKET"), (1, "FORTIFLEX_SECRET_ID")] {
        let mut vars = base.to_vec();
        vars.remove(missing);
        let err = lambda(&vars).unwrap_err();
        assert_eq!(err.kind(), "Configuration");
        assert_eq!(
            err.to_string(),
            format!("configuration: {named} is not set")
        );
    }
    for (name, value) in [
        ("RESTATE_DAYS", "-1"),
        ("RESTATE_DAYS", "32"),
        ("S3_FORCE_PATH_STYLE", "maybe"),
        ("REPORT_TIMEZONE", "Mars/Olympus"),
        ("FORTIFLEX_RETENTION_DAYS", "0"),
        ("REPORT_BUCKET", "Not_A_Bucket"),
        ("REPORT_PREFIX", "a/../b"),
    ] {
        let mut vars = base.to_vec();
        vars.retain(|(k, _)| *k != name);
        vars.push((name, value));
        let err = lambda(&vars).unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
    }
    let mut vars = base.to_vec();
    vars.extend([("S3_FORCE_PATH_STYLE", "TRUE"), ("RESTATE_DAYS", "0")]);
    let s = lambda(&vars).unwrap();
    assert_eq!((s.force_path_style, s.settings.restate_days), (true, 0));
}

#[test]
fn reads_the_environment() {
    let env = |k: &str| match k {
        "FORTIFLEX_USERNAME" => Some("u".to_string()),
        "FORTIFLEX_PASSWORD" => Some("p".to_string()),
        "FORTIFLEX_PROGRAM_SERIAL" => Some("ELAVMS0000123456".to_string()),
        "FORTIFLEX_ACCOUNT_ID" => Some("42".to_string()),
        _ => None,
    };
    let c = credentials(env).unwrap();
    assert_eq!(
        (c.program_serial.as_deref(), c.account_id),
        (Some("ELAVMS0000123456"), Some(AccountId(42)))
    );
    let err = credentials(|k| env(k).filter(|_| k != "FORTIFLEX_PASSWORD")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "credentials: environment variable FORTIFLEX_PASSWORD is not set"
    );
}
