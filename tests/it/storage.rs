//! The one compare-and-swap write (`Sink::put_if`, which the run lock is built on) against S3
//! as moto serves it: `If-None-Match: *` and `If-Match` refused with 412 when another writer
//! came first, and nothing written then.

use fortiflex_reporter::adapters::storage::{S3Sink, Sink};

use crate::support::Aws;

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn conditional_puts_on_s3_let_one_writer_win() {
    let aws = Aws::new(true).await;
    let sink = S3Sink::new(aws.s3.clone(), &aws.bucket, "fortiflex").unwrap();
    let key = "staging/lock.json";
    let json = "application/json";

    assert!(sink.put_if(key, b"one".to_vec(), json, None).await.unwrap());
    assert!(
        !sink.put_if(key, b"two".to_vec(), json, None).await.unwrap(),
        "an object that exists is not created again"
    );
    let first = sink.get_tagged(key).await.unwrap().unwrap();
    assert_eq!(first.body, b"one");
    assert!(!first.tag.is_empty());

    assert!(
        sink.put_if(key, b"three".to_vec(), json, Some(&first.tag))
            .await
            .unwrap()
    );
    assert!(
        !sink
            .put_if(key, b"four".to_vec(), json, Some(&first.tag))
            .await
            .unwrap(),
        "a stale version loses"
    );
    let now = sink.get_tagged(key).await.unwrap().unwrap();
    assert_eq!(now.body, b"three");
    assert_ne!(now.tag, first.tag);
    assert_eq!(sink.get_tagged("staging/none.json").await.unwrap(), None);
}
