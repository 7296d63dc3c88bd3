//! The one revisioned write, for daily reports, range reports and statements alike: the
//! files are staged (rendered to disk and hashed), compared with what the stored manifest
//! lists, and only when they differ written, data files first and the manifest last, as
//! `revision` + 1 naming the revision it replaces. A consumer that sees a manifest may read
//! every file it lists; a write that breaks off leaves the previous manifest in place.

use std::future::Future;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::adapters::storage::{Sink, Staged};
use crate::contract::{FileEntry, JSON_CONTENT_TYPE, PreviousFile, same_files};
use crate::error::{Error, Result};

/// One file of a revision, staged.
pub(crate) struct StagedFile {
    pub(crate) key: String,
    /// The manifest's `format` (`csv`, `json`, `xlsx`, `focus`).
    pub(crate) format: &'static str,
    pub(crate) rows: usize,
    pub(crate) body: Staged,
    pub(crate) content_type: &'static str,
}

impl StagedFile {
    pub(crate) fn new(
        key: &str,
        format: &'static str,
        rows: usize,
        body: Staged,
        content_type: &'static str,
    ) -> Self {
        StagedFile {
            key: key.to_string(),
            format,
            rows,
            body,
            content_type,
        }
    }
}

/// What a stored manifest says of its revision, whatever else it holds.
pub(crate) trait Listed {
    fn revision(&self) -> u64;
    fn files(&self) -> &[PreviousFile];
}

/// A stored manifest read for its revision and files alone (a statement's).
#[derive(Debug, Deserialize)]
pub(crate) struct Listing {
    pub(crate) revision: u64,
    pub(crate) files: Vec<PreviousFile>,
}

impl Listed for Listing {
    fn revision(&self) -> u64 {
        self.revision
    }
    fn files(&self) -> &[PreviousFile] {
        &self.files
    }
}

/// Whether the stored revision may be replaced; `Some(why)` keeps it. Daily reports refuse
/// a re-pull that lost an account's rows; statements replace freely (`()`).
pub(crate) trait Guard<M> {
    fn refuse(&self, stored: &M) -> impl Future<Output = Result<Option<String>>> + Send;
}

impl<M: Sync> Guard<M> for () {
    async fn refuse(&self, _: &M) -> Result<Option<String>> {
        Ok(None)
    }
}

/// A revision to write: the manifest's key and the files it will list, in write order.
pub(crate) struct Revision<'a> {
    pub(crate) manifest_key: &'a str,
    pub(crate) files: Vec<StagedFile>,
}

/// What the write did, and the revision now current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Revised {
    /// The data files and then the manifest were written as this new revision.
    New(u64),
    /// The stored manifest already lists these exact bytes: nothing was written.
    Unchanged(u64),
    /// The guard kept the stored revision, nothing was written; the reason says why.
    Kept(u64, String),
}

impl Revised {
    pub(crate) fn revision(&self) -> u64 {
        match self {
            Revised::New(r) | Revised::Unchanged(r) | Revised::Kept(r, _) => *r,
        }
    }
}

impl Revision<'_> {
    /// Writes this revision over `stored` (the manifest now at `manifest_key`, read with
    /// [`read_manifest`]). `manifest` renders the new manifest from the files, the new
    /// revision number and the stored manifest it replaces.
    pub(crate) async fn write<S: Sink, M: Listed + Sync>(
        self,
        sink: &S,
        stored: Option<M>,
        guard: &impl Guard<M>,
        manifest: impl FnOnce(&[FileEntry], u64, Option<M>) -> Result<Vec<u8>>,
    ) -> Result<Revised> {
        let entries: Vec<FileEntry> = self
            .files
            .iter()
            .map(|f| f.body.entry(&f.key, f.format, f.rows))
            .collect();
        if let Some(s) = &stored {
            if same_files(s.files(), &entries) {
                return Ok(Revised::Unchanged(s.revision()));
            }
            if let Some(why) = guard.refuse(s).await? {
                return Ok(Revised::Kept(s.revision(), why));
            }
        }
        let revision = stored.as_ref().map_or(1, |s| s.revision() + 1);
        let manifest = manifest(&entries, revision, stored)?;
        for f in self.files {
            sink.put_staged(&f.key, f.body, f.content_type).await?;
        }
        sink.put(self.manifest_key, manifest, JSON_CONTENT_TYPE)
            .await?;
        Ok(Revised::New(revision))
    }
}

/// The manifest at `key` as `M`, or `None` when there is none. One that cannot be read is
/// an error naming it, never a reason to overwrite it: `what` ("report", "statement") says
/// what moving it aside lets the next run rewrite.
pub(crate) async fn read_manifest<M: DeserializeOwned>(
    sink: &impl Sink,
    key: &str,
    what: &str,
) -> Result<Option<M>> {
    Ok(read_manifest_hashed(sink, key, what).await?.map(|(m, _)| m))
}

/// [`read_manifest`] with the SHA-256 of the manifest's bytes: what a day's rollup and a
/// statement name as their source.
pub(crate) async fn read_manifest_hashed<M: DeserializeOwned>(
    sink: &impl Sink,
    key: &str,
    what: &str,
) -> Result<Option<(M, String)>> {
    let Some(bytes) = sink.get(key).await? else {
        return Ok(None);
    };
    let m = serde_json::from_slice(&bytes).map_err(|e| unreadable(sink, key, what, e))?;
    Ok(Some((m, crate::contract::sha256_hex(&bytes))))
}

/// The error for a stored object that cannot be read.
pub(crate) fn unreadable(
    sink: &impl Sink,
    key: &str,
    what: &str,
    why: impl std::fmt::Display,
) -> Error {
    Error::Storage(format!(
        "the stored {} is unreadable ({why}); move it aside to rewrite the {what}",
        sink.location(key)
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::adapters::storage::MemorySink;

    /// A revision of one file holding `body`, its manifest naming the revision it replaces.
    async fn write(sink: &MemorySink, body: &str) -> Revised {
        let staged = Staged::render(|w| {
            w.write_all(body.as_bytes())
                .map_err(|e| Error::Storage(e.to_string()))
        })
        .unwrap();
        let files = vec![StagedFile::new("k/data.csv", "csv", 1, staged, "text/csv")];
        let stored: Option<Listing> = read_manifest(sink, "k/m.json", "test").await.unwrap();
        Revision {
            manifest_key: "k/m.json",
            files,
        }
        .write(sink, stored, &(), |files, revision, stored| {
            let previous = stored.map(|s| s.revision);
            Ok(serde_json::to_vec(&serde_json::json!({
                "revision": revision, "previous": previous, "files": files,
            }))
            .unwrap())
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn data_first_manifest_last_nothing_twice_and_a_change_is_the_next_revision() {
        let sink = MemorySink::new();
        assert_eq!(write(&sink, "a\n").await, Revised::New(1));
        assert_eq!(sink.puts(), ["k/data.csv", "k/m.json"]);
        assert_eq!(write(&sink, "a\n").await, Revised::Unchanged(1));
        assert_eq!(sink.puts().len(), 2, "unchanged bytes write nothing");
        assert_eq!(write(&sink, "b\n").await, Revised::New(2));
        let m: serde_json::Value =
            serde_json::from_slice(&sink.object("k/m.json").unwrap().0).unwrap();
        assert_eq!(
            (m["revision"].as_u64(), m["previous"].as_u64()),
            (Some(2), Some(1))
        );
        assert_eq!(sink.object("k/data.csv").unwrap().0, b"b\n");
    }

    #[tokio::test]
    async fn an_unreadable_manifest_is_an_error_naming_it() {
        let sink = MemorySink::new();
        sink.put("k/m.json", b"{".to_vec(), "application/json")
            .await
            .unwrap();
        let err = read_manifest::<Listing>(&sink, "k/m.json", "statement")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Storage");
        assert!(err.to_string().contains("k/m.json"), "{err}");
        assert!(err.to_string().contains("rewrite the statement"), "{err}");
    }
}
