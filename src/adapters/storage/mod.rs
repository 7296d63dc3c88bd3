//! Where reports go. Keys are relative to the output root (an S3 prefix or a local folder)
//! and identical for every sink, so a local run lays out exactly what S3 would hold.

use std::future::Future;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[cfg(any(test, feature = "testing"))]
mod memory;
pub mod s3;
mod staged;
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
    /// Removes the object at `key`; a missing one is no error. Only a job's staging is ever
    /// deleted: reports and their revisions are never removed.
    fn delete(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
    /// Where `key` lives, for people (`reports/daily/...`, `s3://bucket/prefix/daily/...`).
    fn location(&self, key: &str) -> String;
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

/// A local folder laid out like the bucket. Files are written to a temporary name and
/// renamed, so a crash never leaves half a report.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDir { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

impl Sink for LocalDir {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Storage(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    async fn get_file(&self, key: &str) -> Result<Option<std::fs::File>> {
        let path = self.path(key)?;
        match std::fs::File::open(&path) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Storage(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &'static str) -> Result<()> {
        self.replace(key, |tmp| std::fs::write(tmp, &body).map_err(io_error(tmp)))
            .await
    }

    async fn put_staged(
        &self,
        key: &str,
        staged: Staged,
        _content_type: &'static str,
    ) -> Result<()> {
        self.replace(key, |tmp| staged.persist(tmp)).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Storage(format!(
                "cannot delete {}: {e}",
                path.display()
            ))),
        }
    }

    fn location(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Storage(format!("cannot write {}: {e}", path.display()))
}

impl LocalDir {
    /// Puts a file at `key` by writing it under a temporary name beside it (`fill`), then
    /// renaming it over the old one: a reader sees the old file or the new one, never half.
    async fn replace(&self, key: &str, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let path = self.path(key)?;
        let fail = |what: &str, e: std::io::Error| {
            Error::Storage(format!("cannot {what} {}: {e}", path.display()))
        };
        let dir = path
            .parent()
            .ok_or_else(|| Error::Storage(format!("{} has no folder", path.display())))?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| fail("create the folder of", e))?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            file_name(&path),
            uuid::Uuid::new_v4().simple()
        ));
        if let Err(e) = fill(&tmp) {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| fail("write", e))
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
