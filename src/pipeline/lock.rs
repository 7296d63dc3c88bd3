//! The run lock: one writer at a time on an output root's shared records (`budget.json`, the
//! manifests, a job's state). Job steps are already single-file (the job queue is FIFO with
//! one message group); this keeps a direct invocation, or a CLI run on the same bucket, from
//! working beside one of them.
//!
//! The lock is an object (`staging/lock.json`) written only with S3's conditional writes: taken
//! with `If-None-Match: *` (or `If-Match` on an expired holder's version), renewed
//! with `If-Match` on our own version every [`RENEW_EVERY`] while the work runs, and removed
//! at the end (so a run leaves nothing behind, and a failed one nothing at all). A holder that
//! dies leaves a lease that ends [`LEASE`] after its last renewal, so a crash never locks the
//! program out for longer than that. Only shared sinks take it ([`Sink::shared`]).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::adapters::storage::{Sink, Tagged};
use crate::contract::keys;
use crate::error::{Error, Result};

/// How long a holder's claim lasts without renewal: a Lambda that dies mid-step (its timeout,
/// out of memory) frees the program this long after its last renewal.
pub(crate) const LEASE: Duration = Duration::from_secs(300);
/// How often a working holder renews its lease: well inside [`LEASE`].
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(60);

/// The lock object's body: who holds it, since when, until when at the latest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claim {
    holder: String,
    taken_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl Claim {
    fn free_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    fn body(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// Runs `work` while holding the run lock of `sink` as `holder` (say `job 3f2a… (chunk)` or
/// `run <request id>`). Refused with `Busy`, naming the holder and when its lease ends, when
/// someone else holds it; `work` is not started then. The lease is renewed while `work` runs;
/// if it is lost (another writer took it: this process stalled past its lease), `work` is
/// stopped and the run ends with `Busy`: what it wrote so far was written whole, object by
/// object, and a re-run completes it.
pub(crate) async fn exclusively<S: Sink, T>(
    sink: &S,
    holder: &str,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let (mut tag, taken_at) = take(sink, holder).await.map_err(|e| match e {
        Error::Busy(_) => e,
        other => other.during("taking the run lock"),
    })?;
    let renewals = async {
        loop {
            tokio::time::sleep(RENEW_EVERY).await;
            let claim = claim(holder, taken_at);
            match sink
                .put_if(keys::RUN_LOCK, claim.body(), JSON, Some(&tag))
                .await
            {
                Ok(true) => tag = current_tag(sink).await?,
                Ok(false) => {
                    return Err(Error::Busy(format!(
                        "{holder} lost the run lock ({}) to another writer: it stalled past its \
                         {}-second lease; run it again",
                        sink.location(keys::RUN_LOCK),
                        LEASE.as_secs()
                    )));
                }
                // A failed renewal is retried at the next tick; the lease outlasts a few.
                Err(e) => tracing::warn!(error = %e, "cannot renew the run lock"),
            }
        }
    };
    let out = {
        let work = std::pin::pin!(work);
        let renewals = std::pin::pin!(renewals);
        match futures_util::future::select(work, renewals).await {
            futures_util::future::Either::Left((out, _)) => out,
            futures_util::future::Either::Right((lost, _)) => return lost,
        }
    };
    release(sink, holder, taken_at).await;
    out
}

const JSON: &str = "application/json";

fn claim(holder: &str, taken_at: DateTime<Utc>) -> Claim {
    let now = Utc::now();
    Claim {
        holder: holder.to_string(),
        taken_at,
        expires_at: now + chrono::Duration::from_std(LEASE).unwrap_or_default(),
    }
}

/// Takes the lock (absent or expired): the version written and the claim's start.
async fn take<S: Sink>(sink: &S, holder: &str) -> Result<(String, DateTime<Utc>)> {
    // Twice: a free lock may be taken by someone else between our read and our write.
    for _ in 0..2 {
        let seen = sink.get_tagged(keys::RUN_LOCK).await?;
        let expected = match &seen {
            None => None,
            Some(Tagged { body, tag }) => match serde_json::from_slice::<Claim>(body) {
                Ok(c) if !c.free_at(Utc::now()) => return Err(busy(sink, holder, &c)),
                // Expired, or unreadable (not ours to trust): taken over.
                _ => Some(tag.as_str()),
            },
        };
        let taken_at = Utc::now();
        let body = claim(holder, taken_at).body();
        if sink.put_if(keys::RUN_LOCK, body, JSON, expected).await? {
            return Ok((current_tag(sink).await?, taken_at));
        }
    }
    match sink.get_tagged(keys::RUN_LOCK).await? {
        Some(t) => match serde_json::from_slice::<Claim>(&t.body) {
            Ok(c) => Err(busy(sink, holder, &c)),
            Err(_) => Err(Error::Busy(format!("{holder}: the run lock is contended"))),
        },
        None => Err(Error::Busy(format!("{holder}: the run lock is contended"))),
    }
}

/// The lock's version now (S3 answers a put's ETag, but the local folder and a stand-in may
/// not: read back, as any reader would see it).
async fn current_tag<S: Sink>(sink: &S) -> Result<String> {
    sink.get_tagged(keys::RUN_LOCK)
        .await?
        .map(|t| t.tag)
        .ok_or_else(|| Error::Storage("the run lock vanished right after it was written".into()))
}

fn busy<S: Sink>(sink: &S, holder: &str, c: &Claim) -> Error {
    Error::Busy(format!(
        "{holder} not started: {} has held the output root since {} ({}); its lease ends by {} \
         at the latest. Job steps wait and retry; run this again after it",
        c.holder,
        c.taken_at.format("%Y-%m-%dT%H:%M:%SZ"),
        sink.location(keys::RUN_LOCK),
        c.expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
    ))
}

/// Removes the lock, if it is still ours. Nobody else can have taken it meanwhile: it is
/// not expired (renewed within the minute, its lease runs for five). A
/// failure only logs: the lease ends on its own.
async fn release<S: Sink>(sink: &S, holder: &str, taken_at: DateTime<Utc>) {
    let Ok(Some(seen)) = sink.get_tagged(keys::RUN_LOCK).await else {
        return;
    };
    let ours = serde_json::from_slice::<Claim>(&seen.body)
        .is_ok_and(|c| c.holder == holder && c.taken_at == taken_at);
    if !ours {
        return;
    }
    if let Err(e) = sink.delete(keys::RUN_LOCK).await {
        tracing::warn!(error = %e, "cannot release the run lock; its lease ends on its own");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::storage::MemorySink;

    #[tokio::test]
    async fn a_second_holder_is_refused_while_the_first_works_and_welcome_after() {
        let sink = MemorySink::new();
        let inner = exclusively(&sink, "job abc (chunk)", async {
            let err = exclusively(&sink, "run r-2", async { Ok(()) })
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "Busy");
            let text = err.to_string();
            assert!(text.contains("run r-2 not started"), "{text}");
            assert!(text.contains("job abc (chunk) has held"), "{text}");
            Ok(7)
        })
        .await;
        assert_eq!(inner.unwrap(), 7);
        assert_eq!(
            exclusively(&sink, "run r-3", async { Ok(1) })
                .await
                .unwrap(),
            1
        );
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_a_failed_work_releases_the_lock() {
        let sink = MemorySink::new();
        let stale = Claim {
            holder: "job dead (chunk)".into(),
            taken_at: Utc::now() - chrono::Duration::minutes(30),
            expires_at: Utc::now() - chrono::Duration::minutes(1),
        };
        sink.put(keys::RUN_LOCK, stale.body(), JSON).await.unwrap();
        let failed: Result<()> =
            exclusively(&sink, "run r-1", async { Err(Error::Storage("x".into())) }).await;
        assert_eq!(failed.unwrap_err().kind(), "Storage");
        let takes = sink.puts().iter().filter(|k| *k == keys::RUN_LOCK).count();
        assert_eq!(takes, 2, "the stale claim, then ours over it");
        let left = sink.object(keys::RUN_LOCK);
        assert!(left.is_none(), "released after its work, even a failed one");
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_work_renews_its_lease_and_stops_when_another_writer_took_it() {
        let sink = MemorySink::new();
        let work = async {
            tokio::time::sleep(RENEW_EVERY * 2 + Duration::from_secs(1)).await;
            // Renewed twice: the lease still ends in the future.
            let c: Claim = serde_json::from_slice(&sink.object(keys::RUN_LOCK).unwrap().0).unwrap();
            assert!(c.expires_at > Utc::now());
            // Someone takes it over (as if this process had stalled past its lease).
            let thief = claim("run thief", Utc::now());
            sink.put(keys::RUN_LOCK, thief.body(), JSON).await.unwrap();
            tokio::time::sleep(RENEW_EVERY * 10).await;
            Ok("finished")
        };
        let err = exclusively(&sink, "job long (chunk)", work)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Busy");
        assert!(err.to_string().contains("lost the run lock"), "{err}");
        let c: Claim = serde_json::from_slice(&sink.object(keys::RUN_LOCK).unwrap().0).unwrap();
        assert_eq!(
            c.holder, "run thief",
            "the new holder's claim is left alone"
        );
    }
}
