//! Where reports go. Keys are relative to the output root (an S3 prefix or a local folder)
//! and identical for every sink, so a local run lays out exactly what S3 would hold.

use std::future::Future;

use crate::error::{Error, Result};

mod local;
#[cfg(any(test, feature = "testing"))]
mod memory;
pub mod s3;
mod staged;
pub use local::LocalDir;
#[cfg(any(test, feature = "testing"))]
pub use memory::MemorySink;
pub use s3::S3Sink;
pub use staged::{Staged, StagedWriter, Staging};

pub trait Sink: Send + Sync {
    /// The object at `key`, or `None` when there is none.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    /// Stores `body` at `key` whole: a reader never sees part of it.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Stores a staged file at `key` whole. By default its bytes are read back and `put`;
    /// the local folder moves the file into place and S3 streams it from disk.
    fn put_staged(
        &self,
        key: &str,
        staged: Staged,
        content_type: &'static str,
    ) -> impl Future<Output = Result<()>> + Send {
        async move { self.put(key, staged.read()?, content_type).await }
    }
    /// The object at `key` as a file to read from its start, or `None` when there is none:
    /// for objects too big to hold (a stored day at 100,000 entitlements is 30 MB). By default
    /// `get` spilled to a temporary file; the local folder opens its own file and S3 streams
    /// the body to a temporary file (Lambda's `/tmp`).
    fn get_file(&self, key: &str) -> impl Future<Output = Result<Option<std::fs::File>>> + Send {
        async move {
            match self.get(key).await? {
                Some(bytes) => spill(&bytes).map(Some),
                None => Ok(None),
            }
        }
    }
    /// The object at `key` with its version tag (S3's ETag), or `None` when there is none:
    /// what [`Sink::put_if`] is told it expects.
    fn get_tagged(&self, key: &str) -> impl Future<Output = Result<Option<Tagged>>> + Send;
    /// Stores `body` at `key` only while the object is as the caller last saw it: absent
    /// (`expected` `None`) or still at version tag `expected`. `false`, with nothing
    /// written, when another writer came first. The one compare-and-swap write (the run lock,
    /// [`crate::pipeline::lock`]); S3 does it with `If-None-Match`/`If-Match`.
    fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Whether other processes write here too (a bucket: the Lambda's direct runs, its job
    /// steps, a CLI run with `--out s3://`), so a run takes the run lock. A local folder is one
    /// person's; a run there takes none and leaves nothing but reports.
    fn shared(&self) -> bool {
        false
    }
    /// Removes the object at `key`; a missing one is no error. Only a job's staging is ever
    /// deleted: reports and their revisions are never removed.
    fn delete(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
    /// Where `key` lives, for people (`reports/daily/...`, `s3://bucket/prefix/daily/...`).
    fn location(&self, key: &str) -> String;
}

/// An object and its version tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    pub body: Vec<u8>,
    pub tag: String,
}

/// The version tag of a body where the store has none of its own (the local folder, the
/// memory sink): its SHA-256, so equal bodies are one version, as S3's ETag of a plain put.
fn content_tag(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` in an unnamed temporary file, rewound.
fn spill(bytes: &[u8]) -> Result<std::fs::File> {
    use std::io::{Seek, Write};
    let fail = |e: std::io::Error| Error::Storage(format!("cannot spill to a temporary file: {e}"));
    let mut file = tempfile::tempfile().map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.rewind().map_err(fail)?;
    Ok(file)
}

/// Rejects keys that could leave the output root. Keys are built from validated serials,
/// so this is a second line of defence, not the first.
pub fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || key.chars().any(char::is_control);
    if bad {
        return Err(Error::Storage(format!(
            "refusing unsafe object key {key:?}"
        )));
    }
    Ok(())
}

/// Where a CLI run writes, chosen at run time: `--out DIR` or `--out s3://bucket/prefix`.
pub enum Destination {
    Local(LocalDir),
    S3(S3Sink),
}

impl Sink for Destination {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Destination::Local(s) => s.get(key).await,
            Destination::S3(s) => s.get(key).await,
        }
    }

    async fn get_file(&self, key: &str) -> Result<Option<std::fs::File>> {
        match self {
            Destination::Local(s) => s.get_file(key).await,
            Destination::S3(s) => s.get_file(key).await,
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &'static str) -> Result<()> {
        match self {
            Destination::Local(s) => s.put(key, body, content_type).await,
            Destination::S3(s) => s.put(key, body, content_type).await,
        }
    }

    async fn put_staged(
        &self,
        key: &str,
        staged: Staged,
        content_type: &'static str,
    ) -> Result<()> {
        match self {
            Destination::Local(s) => s.put_staged(key, staged, content_type).await,
            Destination::S3(s) => s.put_staged(key, staged, content_type).await,
        }
    }

    async fn get_tagged(&self, key: &str) -> Result<Option<Tagged>> {
        match self {
            Destination::Local(s) => s.get_tagged(key).await,
            Destination::S3(s) => s.get_tagged(key).await,
        }
    }

    async fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
        expected: Option<&str>,
    ) -> Result<bool> {
        match self {
            Destination::Local(s) => s.put_if(key, body, content_type, expected).await,
            Destination::S3(s) => s.put_if(key, body, content_type, expected).await,
        }
    }

    fn shared(&self) -> bool {
        matches!(self, Destination::S3(_))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self {
            Destination::Local(s) => s.delete(key).await,
            Destination::S3(s) => s.delete(key).await,
        }
    }

    fn location(&self, key: &str) -> String {
        match self {
            Destination::Local(s) => s.location(key),
            Destination::S3(s) => s.location(key),
        }
    }
}

/// `s3://bucket/prefix` split into bucket and prefix; `None` when `out` is not an S3 URL.
pub fn s3_url(out: &str) -> Option<(&str, &str)> {
    let rest = out.strip_prefix("s3://")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        assert_eq!(
            s3_url("s3://billing/fortiflex/x"),
            Some(("billing", "fortiflex/x"))
        );
        assert_eq!(s3_url("s3://billing"), Some(("billing", "")));
        assert_eq!(s3_url("reports"), None);
    }

    #[test]
    fn unsafe_keys_are_refused() {
        for key in [
            "",
            "/etc/passwd",
            "daily/../../x",
            "a//b",
            "a\\b",
            "a/./b",
            "a/b\n",
        ] {
            assert_eq!(check_key(key).unwrap_err().kind(), "Storage", "{key:?}");
        }
        assert!(check_key("daily/csv/dt=2025-11-08/consumption_X_2025-11-08.csv").is_ok());
    }

    #[tokio::test]
    async fn local_dir_round_trips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LocalDir::new(dir.path());
        assert_eq!(sink.get("a/b.csv").await.unwrap(), None);
        sink.put("a/b.csv", b"one".to_vec(), "text/csv")
            .await
            .unwrap();
        sink.put("a/b.csv", b"two".to_vec(), "text/csv")
            .await
            .unwrap();
        assert_eq!(
            sink.get("a/b.csv").await.unwrap().as_deref(),
            Some(&b"two"[..])
        );
        let names: Vec<_> = std::fs::read_dir(dir.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.csv")]);
    }

    #[tokio::test]
    async fn a_staged_file_replaces_the_stored_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LocalDir::new(dir.path());
        sink.put("a/b.json", b"old".to_vec(), "application/json")
            .await
            .unwrap();
        let staged = Staged::render(|w| {
            w.write_all(b"{\"new\": true}\n")
                .map_err(|e| Error::Storage(e.to_string()))
        })
        .unwrap();
        let temp = staged.path().to_path_buf();
        sink.put_staged("a/b.json", staged, "application/json")
            .await
            .unwrap();
        assert_eq!(
            sink.get("a/b.json").await.unwrap().as_deref(),
            Some(&b"{\"new\": true}\n"[..])
        );
        assert!(!temp.exists(), "the staged file was moved or removed");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.json")]);
    }

    #[tokio::test]
    async fn local_dir_reports_unwritable_roots() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, b"x").unwrap();
        let err = LocalDir::new(&file)
            .put("a/b.csv", vec![], "text/csv")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Storage");
        assert!(err.to_string().contains("not-a-folder"), "{err}");
    }
}
