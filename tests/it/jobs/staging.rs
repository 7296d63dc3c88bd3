//! A job longer than the bucket's staging expiry: S3's lifecycle rule deletes staged objects
//! by age, and the job rewrites the parts it still needs every half expiry (checked at each
//! step and before each item of a chunk), so it completes.
//! Scaled down: a 30-second expiry, a 5-second budget hour, and a stand-in for the lifecycle
//! rule that deletes whatever under `staging/` is older than the expiry. The expiry must
//! still dwarf the gap between two steps (each rewrites the job's state), as 14 days dwarf an
//! hour's wait in AWS: a loaded machine runs moto's steps seconds apart (a part written just
//! after a refresh is rewritten at the first step half an expiry later: it must not age past
//! the expiry in that gap; at 15 s a loaded CI machine's 8-second gap let one expire).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use super::*;

const EXPIRY_SECS: u64 = 30;

/// S3's `expire-job-staging` rule, run every 200 ms instead of daily: deletes each staged
/// part whose current version is older than the expiry. Counts what it deleted. The job's
/// state and the budget are rewritten by every step, hours apart at most in AWS against 14
/// days; scaled to seconds, a loaded machine runs moto's steps further apart than any
/// expiry short enough to test, so only the parts (written once, read to the end) expire.
async fn lifecycle(aws: &Aws, stop: &AtomicBool, deleted: &AtomicUsize) {
    while !stop.load(Ordering::SeqCst) {
        let listed = aws
            .s3
            .list_objects_v2()
            .bucket(&aws.bucket)
            .prefix("fortiflex/staging/")
            .send()
            .await
            .unwrap();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        for o in listed.contents() {
            let written = o.last_modified().unwrap().as_secs_f64();
            let key = o.key().unwrap();
            if key.contains("/gen=") && now - written > EXPIRY_SECS as f64 {
                let gone = aws.s3.delete_object().bucket(&aws.bucket).key(key);
                gone.send().await.unwrap();
                deleted.fetch_add(1, Ordering::SeqCst);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_job_longer_than_the_staging_expiry_completes() {
    // Thirty accounts over six days: about 210 calls at 27 a (five-second) hour, 40 s.
    let (aws, sim) = setup(Dataset::mssp(27)).await;
    let mut env = env(&aws, &sim, budget_env(100, 27, 5));
    env.push(("FORTIFLEX_STAGING_EXPIRY_SECS", EXPIRY_SECS.to_string()));
    let h = handler(&aws.config, env);
    let machine = StateMachine::create(&aws).await;
    let input = json!({"start_date": "2025-11-10", "end_date": "2025-11-15"});
    let run = machine.start("long", input).await;

    let (stop, deleted) = (AtomicBool::new(false), AtomicUsize::new(0));
    let began = Instant::now();
    let work = async {
        let ended = machine.work(&h, &run, now(), None).await;
        stop.store(true, Ordering::SeqCst);
        ended
    };
    let (ended, ()) = tokio::join!(work, lifecycle(&aws, &stop, &deleted));
    let took = began.elapsed();

    assert_succeeded(&ended);
    assert!(
        took > Duration::from_secs(EXPIRY_SECS),
        "the job outlived the expiry ({took:?}): its catalog, staged at the start, was read at its end"
    );
    let manifests = manifests(&aws).await;
    assert_eq!(manifests.len(), 6, "{:?}", manifests.keys());
    for m in manifests.values() {
        assert_eq!(
            m["source"]["accounts"].as_array().map(Vec::len),
            Some(30),
            "{m}"
        );
    }
    assert!(staging(&aws.keys().await).is_empty());
    eprintln!(
        "lifecycle stand-in deleted {} objects",
        deleted.load(Ordering::SeqCst)
    );
}
