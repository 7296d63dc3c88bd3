//! The archive's small JSON records — balance and rate snapshots, tie-outs, an invoice
//! figure, cached product names: written pretty with a final newline, read back strictly (one
//! that does not parse is a `Storage` error naming it and what to do, never read as absent).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::adapters::storage::Sink;
use crate::contract::{JSON_CONTENT_TYPE, to_json};
use crate::error::{Error, Result};

/// The remedy for a snapshot that cannot be read: the next run writes a good one.
pub(crate) const MOVE_ASIDE: &str = "move it aside";

pub(crate) async fn put(sink: &impl Sink, key: &str, value: &impl Serialize) -> Result<()> {
    sink.put(key, to_json(value)?, JSON_CONTENT_TYPE).await
}

/// The record under `key`; `None` when there is none. `remedy`: what to do with one that
/// cannot be read ("move it aside").
pub(crate) async fn get<T: DeserializeOwned>(
    sink: &impl Sink,
    key: &str,
    remedy: &str,
) -> Result<Option<T>> {
    let Some(bytes) = sink.get(key).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::Storage(format!(
            "the stored {} is unreadable ({e}); {remedy}",
            sink.location(key)
        ))
    })
}
