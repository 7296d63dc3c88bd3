//! Reading a list reply while it arrives. A 100,000-entitlement `entitlements/list` reply is
//! about 28 MB; parsed from a buffer, the buffer and the rows it becomes are alive at once.
//! Here the body's chunks go through a small channel to a parser on a blocking thread, so
//! only the rows are ever held whole. A reply small enough to keep is kept as well, so a
//! malformed one is still diagnosed exactly.

use std::io::{self, Read};

use bytes::{Buf, Bytes};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::parse;
use crate::error::ApiError;

/// Replies up to this size are also kept whole, for an exact diagnosis if they do not parse.
const KEEP_BYTES: usize = 1 << 20;

pub(super) enum StreamError {
    /// FortiFlex's error status, or a reply that is not the expected list.
    Api(ApiError),
    /// Over the size cap.
    TooBig,
    /// The connection broke while the body arrived.
    Transport(reqwest::Error),
}

/// The rows of a successful reply, parsed as its body arrives; at most `max_bytes` read.
pub(super) async fn rows<T: DeserializeOwned + Send + 'static>(
    call: &str,
    http_status: u16,
    mut reply: reqwest::Response,
    keys: &[&str],
    max_bytes: usize,
) -> Result<Vec<T>, StreamError> {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let owned_keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let parser = tokio::task::spawn_blocking(move || {
        let keys: Vec<&str> = owned_keys.iter().map(String::as_str).collect();
        parse::read_list::<T>(
            Chunks {
                rx,
                current: Bytes::new(),
            },
            &keys,
        )
    });
    let (mut total, mut kept, mut feeding) = (0usize, Some(Vec::new()), Some(tx));
    while let Some(chunk) = reply.chunk().await.map_err(StreamError::Transport)? {
        total += chunk.len();
        if total > max_bytes {
            drop(feeding);
            let _ = parser.await;
            return Err(StreamError::TooBig);
        }
        kept = kept.filter(|_| total <= KEEP_BYTES).map(|mut k| {
            k.extend_from_slice(&chunk);
            k
        });
        if let Some(tx) = &feeding
            && tx.send(chunk).await.is_err()
        {
            // The parser gave up: read on only to keep a small reply for the diagnosis.
            feeding = None;
            if kept.is_none() {
                break;
            }
        }
    }
    drop(feeding);
    let parsed = parser.await.map_err(|e| {
        StreamError::Api(ApiError::new(
            call,
            Some(http_status),
            None,
            format!("the reply's parser stopped: {e}"),
        ))
    })?;
    match (parsed, kept) {
        (Ok(reply), _) => parse::settle(call, http_status, reply, keys).map_err(StreamError::Api),
        (Err(_), Some(body)) => {
            parse::diagnose(call, http_status, &body, keys).map_err(StreamError::Api)
        }
        (Err(e), None) => Err(StreamError::Api(ApiError::new(
            call,
            Some(http_status),
            None,
            format!("reply rows are malformed: {e} ({total} bytes read)"),
        ))),
    }
}

/// The body's chunks as one `Read`, on the parser's (blocking) thread.
struct Chunks {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while !self.current.has_remaining() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.remaining());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fortiflex::{Entitlement, PointsRow};

    fn reply(body: String) -> reqwest::Response {
        reqwest::Response::from(http::Response::new(body))
    }

    fn entitlements(n: usize) -> String {
        let rows: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"serialNumber":"FGVMSCAL{i:08}","accountId":2321234,"configId":"{}","description":"Branch {i}","status":"ACTIVE","token":"5CA1E0000000{i:04X}"}}"#,
                    10_000 + i / 100
                )
            })
            .collect();
        format!(
            r#"{{"status":0,"message":"ok","entitlements":[{}]}}"#,
            rows.join(",")
        )
    }

    #[tokio::test]
    async fn a_big_reply_is_parsed_as_it_arrives() {
        let body = entitlements(20_000);
        assert!(body.len() > KEEP_BYTES, "bigger than what is kept");
        let keys = ["entitlements", "vms"];
        let rows: Vec<Entitlement> = rows("entitlements/list", 200, reply(body), &keys, 1 << 25)
            .await
            .ok()
            .unwrap();
        assert_eq!(rows.len(), 20_000);
        assert_eq!(rows[19_999].serial_number, "FGVMSCAL00019999");
        assert_eq!(rows[19_999].config_id, Some(10_199));
    }

    #[tokio::test]
    async fn a_big_malformed_reply_says_where_it_broke_and_quotes_nothing() {
        let mut body = entitlements(20_000);
        body.truncate(body.len() - 5_000);
        let keys = ["entitlements"];
        let err = match rows::<Entitlement>("entitlements/list", 200, reply(body), &keys, 1 << 25)
            .await
        {
            Err(StreamError::Api(e)) => e,
            _ => panic!("a truncated reply must fail as an API error"),
        };
        let text = err.to_string();
        assert!(text.contains("reply rows are malformed"), "{text}");
        assert!(!text.contains("5CA1E"), "no licence token in {text}");
    }

    #[tokio::test]
    async fn a_small_malformed_reply_gets_the_exact_diagnosis() {
        let body = r#"{"status":0,"entitlements":[{"serialNumber":"A","points":"x"}]}"#;
        let keys = ["entitlements"];
        let err = match rows::<PointsRow>(
            "entitlements/points",
            200,
            reply(body.into()),
            &keys,
            1 << 20,
        )
        .await
        {
            Err(StreamError::Api(e)) => e,
            _ => panic!("a bad points value must fail"),
        };
        assert!(
            err.to_string()
                .contains("rows under 'entitlements' are malformed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_reply_over_the_cap_is_refused() {
        let body = entitlements(2_000);
        let keys = ["entitlements"];
        let refused = rows::<Entitlement>("entitlements/list", 200, reply(body), &keys, 4096).await;
        assert!(matches!(refused, Err(StreamError::TooBig)));
    }
}
