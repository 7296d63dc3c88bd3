//! A rendered file held on disk instead of in memory. It is written once through a hashing
//! writer, so its SHA-256 and size are known before anything is published (the manifest and
//! the "unchanged" check need them), and a sink then moves or streams it into place. A
//! 100,000-entitlement report is 43 MB of CSV and JSON; held whole, it would be most of the
//! Lambda's memory.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::contract::FileEntry;
use crate::error::{Error, Result};

#[derive(Debug)]
pub struct Staged {
    file: NamedTempFile,
    sha256: String,
    bytes: usize,
}

impl Staged {
    /// Runs `render` into a new temporary file (in the system's temporary folder: `/tmp` in
    /// Lambda), hashing and counting what it writes. Removed when dropped unless published.
    pub fn render(render: impl FnOnce(&mut StagedWriter) -> Result<()>) -> Result<Self> {
        let mut staging = Staging::new()?;
        render(staging.writer())?;
        staging.finish()
    }

    /// [`Staged::render`] for two files written in one pass (a report's CSV and JSON).
    pub fn render_pair(
        render: impl FnOnce(&mut StagedWriter, &mut StagedWriter) -> Result<()>,
    ) -> Result<(Self, Self)> {
        let (mut a, mut b) = (Staging::new()?, Staging::new()?);
        render(a.writer(), b.writer())?;
        Ok((a.finish()?, b.finish()?))
    }

    /// This file as its manifest lists it, hashed as it was written.
    pub fn entry(&self, key: &str, format: &str, rows: usize) -> FileEntry {
        FileEntry {
            key: key.into(),
            format: format.into(),
            rows,
            bytes: self.len(),
            sha256: self.sha256().into(),
        }
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn len(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The whole file, for sinks that take a body in memory.
    pub fn read(&self) -> Result<Vec<u8>> {
        std::fs::read(self.path())
            .map_err(|e| Error::Storage(format!("cannot read a staged file back: {e}")))
    }

    /// Moves the file to `to` (same file system), else copies it there.
    pub fn persist(self, to: &Path) -> Result<()> {
        let fail = |e: io::Error| Error::Storage(format!("cannot write {}: {e}", to.display()));
        match self.file.persist(to) {
            Ok(_) => Ok(()),
            Err(e) => {
                let staged = e.file;
                std::fs::copy(staged.path(), to).map(drop).map_err(fail)
            }
        }
    }
}

/// A staged file still being written, for renderers fed piece by piece across awaits (a
/// month's FOCUS rows, one stored day at a time); [`Staging::finish`] makes it a [`Staged`].
pub struct Staging {
    file: NamedTempFile,
    out: StagedWriter,
}

fn staging_failed(e: io::Error) -> Error {
    Error::Storage(format!("cannot stage a rendered file: {e}"))
}

impl Staging {
    pub fn new() -> Result<Self> {
        let file = NamedTempFile::new().map_err(staging_failed)?;
        let out = BufWriter::with_capacity(
            256 * 1024,
            Hashing {
                inner: file.as_file().try_clone().map_err(staging_failed)?,
                hasher: Sha256::new(),
                bytes: 0,
            },
        );
        Ok(Staging { file, out })
    }

    pub fn writer(&mut self) -> &mut StagedWriter {
        &mut self.out
    }

    pub fn finish(self) -> Result<Staged> {
        let Hashing { hasher, bytes, .. } = self
            .out
            .into_inner()
            .map_err(|e| staging_failed(e.into_error()))?;
        Ok(Staged {
            file: self.file,
            sha256: format!("{:x}", hasher.finalize()),
            bytes,
        })
    }
}

impl Write for Staging {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// What a renderer writes into: a concrete type, not `dyn Write`, so serializers' many small
/// writes are inlined copies into the buffer, and the hash sees the buffer's large chunks.
pub type StagedWriter = BufWriter<Hashing<std::fs::File>>;

/// Passes writes through, feeding SHA-256 and a byte count on the way.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: usize,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::sha256_hex;

    #[test]
    fn a_staged_file_knows_its_hash_and_size_and_moves_into_place() {
        let body = b"start_date,end_date\n2025-11-08,2025-11-08\n".repeat(1000);
        let staged = Staged::render(|w| {
            w.write_all(&body)
                .map_err(|e| Error::Storage(e.to_string()))
        })
        .unwrap();
        assert_eq!(staged.len(), body.len());
        assert_eq!(staged.sha256(), sha256_hex(&body));
        assert_eq!(staged.read().unwrap(), body);
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("report.csv");
        let temp = staged.path().to_path_buf();
        staged.persist(&to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), body);
        assert!(!temp.exists(), "the temporary file is gone");
    }

    #[test]
    fn a_file_staged_piece_by_piece_is_the_same_as_one_rendered_whole() {
        let body = b"BilledCost,BillingAccountId\n0.5,ELAVMS0000123456\n".repeat(5000);
        let mut staging = Staging::new().unwrap();
        for piece in body.chunks(977) {
            staging.write_all(piece).unwrap();
        }
        let pieces = staging.finish().unwrap();
        assert_eq!(
            (pieces.len(), pieces.sha256()),
            (body.len(), sha256_hex(&body).as_str())
        );
        assert_eq!(pieces.read().unwrap(), body);
    }
}
