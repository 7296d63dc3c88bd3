//! The archive's rollups from the outside: an archive written before rollups existed (none
//! under `rollups/`) gets them on the first statement that needs them, with progress shown,
//! and the statement's bytes do not change.

use super::*;

/// Every file under `dir` with its bytes, keyed by its path below `dir`.
fn contents(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let key = p.strip_prefix(dir).unwrap().display().to_string();
            (key, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn an_archive_without_rollups_gets_them_and_the_same_statement() {
    let dir = super::statement::stored_days_from(
        "2025-11-01",
        "2025-11-06",
        r#"{"currency": "USD", "price_per_point": "0.50", "customers": [
            {"id": "acme", "name": "Acme Corp", "accounts": [3300001]},
            {"id": "lab", "name": "Lab", "serials": ["FZVMMLTM00000689"]}]}"#,
    )
    .await;
    let rollups = dir.path().join("out/rollups");
    assert_eq!(
        walk(&rollups).len(),
        12,
        "each stored day has its rollup (rows and summary) from the run that wrote it"
    );
    let statement = super::statement::STATEMENT;
    let first = run(None, dir.path(), &statement, &[]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        !text(&first.stderr).contains("rollup built"),
        "{}",
        text(&first.stderr)
    );
    let statements = dir.path().join("out/statements");
    let written = contents(&statements);
    assert!(
        written.keys().any(|k| k.contains("focus-1.3_")),
        "{:?}",
        written.keys()
    );
    let rollup_bytes = contents(&rollups);

    // An archive from before rollups: the same stored days, no rollup.
    std::fs::remove_dir_all(&rollups).unwrap();
    let again = run(None, dir.path(), &statement, &[]).await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    let progress = text(&again.stderr);
    assert_eq!(
        progress.matches("rollup built from the stored day").count(),
        6,
        "{progress}"
    );
    assert!(progress.contains("2025-11-03"), "{progress}");
    assert!(
        text(&again.stdout).contains("unchanged (revision 1)"),
        "the same statement bytes: {}",
        text(&again.stdout)
    );
    assert_eq!(contents(&statements), written);
    // The rebuilt rows are the bytes the report's run wrote (summaries may add totals).
    let rebuilt = contents(&rollups);
    for (key, bytes) in &rollup_bytes {
        if key.starts_with("dt=") && key.ends_with(".bin") {
            assert_eq!(rebuilt.get(key), Some(bytes), "{key}");
        }
    }

    // Built once: the next statement reads them as they are.
    let third = run(None, dir.path(), &statement, &[]).await;
    assert!(third.status.success());
    assert!(
        !text(&third.stderr).contains("rollup built"),
        "{}",
        text(&third.stderr)
    );
}
