//! The local folder: a run on a laptop lays out exactly what S3 would hold.

use std::path::{Path, PathBuf};

use super::{Sink, Staged, Tagged, check_key, content_tag};
use crate::error::{Error, Result};

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

    async fn get_tagged(&self, key: &str) -> Result<Option<Tagged>> {
        Ok(self.get(key).await?.map(|body| Tagged {
            tag: content_tag(&body),
            body,
        }))
    }

    /// Compared and written under an exclusive lock of a guard file, so two processes on this
    /// machine never both win.
    async fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
        expected: Option<&str>,
    ) -> Result<bool> {
        let path = self.path(key)?;
        // The guard lives in the temporary folder, keyed by the object's path: nothing but
        // reports in the output folder.
        let guard_path = std::env::temp_dir().join(format!(
            "fortiflex-cas-{}.lock",
            &content_tag(path.to_string_lossy().as_bytes())[..16]
        ));
        let fail = |e: std::io::Error| {
            Error::Storage(format!("cannot lock {}: {e}", guard_path.display()))
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(fail)?;
        }
        let guard = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&guard_path)
            .map_err(fail)?;
        guard.lock().map_err(fail)?;
        let current = self.get_tagged(key).await?.map(|t| t.tag);
        if current.as_deref() != expected {
            return Ok(false);
        }
        self.put(key, body, content_type).await?;
        Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_folder_writes_conditionally() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LocalDir::new(dir.path());
        let key = "staging/lock.json";
        assert!(sink.put_if(key, b"a".to_vec(), "x", None).await.unwrap());
        assert!(!sink.put_if(key, b"b".to_vec(), "x", None).await.unwrap());
        let seen = sink.get_tagged(key).await.unwrap().unwrap();
        assert!(
            !sink
                .put_if(key, b"c".to_vec(), "x", Some("stale"))
                .await
                .unwrap()
        );
        assert!(
            sink.put_if(key, b"d".to_vec(), "x", Some(&seen.tag))
                .await
                .unwrap()
        );
        assert_eq!(sink.get(key).await.unwrap().unwrap(), b"d");
    }
}
