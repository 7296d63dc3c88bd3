//! The bucket billing reads: `s3://bucket/prefix/<key>`. A `PutObject` replaces an object
//! whole, so readers see the old bytes or the new ones, never a mix.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::primitives::ByteStream;

use super::{Sink, Staged, Tagged, check_key};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct S3Sink {
    client: Client,
    bucket: String,
    /// Empty, or a key prefix without leading or trailing `/`.
    prefix: String,
}

/// `bucket`, trimmed, if S3 accepts it as a bucket name.
pub fn check_bucket(bucket: &str) -> Result<&str> {
    let bucket = bucket.trim();
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if valid {
        Ok(bucket)
    } else {
        Err(Error::Configuration(format!(
            "{bucket:?} is not a valid S3 bucket name"
        )))
    }
}

/// `prefix` without its outer slashes, if it is safe as the start of a key and as part of
/// an IAM resource ARN (no `*` or `?`, which would be wildcards there).
pub fn check_prefix(prefix: &str) -> Result<&str> {
    let prefix = prefix.trim().trim_matches('/');
    if !prefix.is_empty() && (check_key(prefix).is_err() || prefix.contains(['*', '?'])) {
        return Err(Error::Configuration(format!(
            "{prefix:?} is not a safe key prefix"
        )));
    }
    Ok(prefix)
}

impl S3Sink {
    /// A sink under `s3://bucket/prefix/`. The bucket name is checked against S3's naming rules
    /// and the prefix like a key (callers name the setting or flag they came from).
    pub fn new(client: Client, bucket: &str, prefix: &str) -> Result<Self> {
        let (bucket, prefix) = (check_bucket(bucket)?, check_prefix(prefix)?);
        Ok(S3Sink {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// A sink whose client comes from the shared AWS configuration; `path_style` only for
    /// local S3 servers. Used by the Lambda and by the CLI's `--out s3://`.
    pub fn from_sdk(
        aws: &aws_config::SdkConfig,
        bucket: &str,
        prefix: &str,
        path_style: bool,
    ) -> Result<Self> {
        let conf = aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(path_style)
            .build();
        Self::new(Client::from_conf(conf), bucket, prefix)
    }

    fn object_key(&self, key: &str) -> Result<String> {
        check_key(key)?;
        Ok(if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        })
    }
}

/// What went wrong, with the service's code when there is one and the whole cause chain
/// (which names the endpoint) when the request never got an answer.
fn cause<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(se) => match (se.err().code(), se.err().message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_string(),
            _ => format!("HTTP {}", se.raw().status().as_u16()),
        },
        other => DisplayErrorContext(other).to_string(),
    }
}

impl Sink for S3Sink {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(body) = self.body(key).await? else {
            return Ok(None);
        };
        let body = body.collect().await.map_err(|e| self.broke_off(key, e))?;
        // One copy only when the body came in several chunks.
        Ok(Some(Vec::from(body.into_bytes())))
    }

    /// Streamed chunk by chunk to an unnamed temporary file: a 30 MB stored day is never
    /// held in memory.
    async fn get_file(&self, key: &str) -> Result<Option<std::fs::File>> {
        use std::io::{Seek, Write};
        let Some(mut body) = self.body(key).await? else {
            return Ok(None);
        };
        let spill = |e: std::io::Error| {
            Error::Storage(format!("cannot spill {} to /tmp: {e}", self.location(key)))
        };
        let mut file = tempfile::tempfile().map_err(spill)?;
        while let Some(chunk) = body.try_next().await.map_err(|e| self.broke_off(key, e))? {
            file.write_all(&chunk).map_err(spill)?;
        }
        file.rewind().map_err(spill)?;
        Ok(Some(file))
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &'static str) -> Result<()> {
        self.upload(key, ByteStream::from(body), content_type).await
    }

    async fn get_tagged(&self, key: &str) -> Result<Option<Tagged>> {
        let Some(reply) = self.object(key).await? else {
            return Ok(None);
        };
        let tag = reply.e_tag.clone().unwrap_or_default();
        let body = reply
            .body
            .collect()
            .await
            .map_err(|e| self.broke_off(key, e))?;
        Ok(Some(Tagged {
            body: Vec::from(body.into_bytes()),
            tag,
        }))
    }

    /// `If-None-Match: *` for an absent object, `If-Match: <ETag>` for a seen one. S3 answers
    /// 412 when the object is not as expected, and 409 when a concurrent conditional write
    /// to the key won the race: both mean another writer came first.
    async fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
        expected: Option<&str>,
    ) -> Result<bool> {
        let object_key = self.object_key(key)?;
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        let put = match expected {
            None => put.if_none_match("*"),
            Some(tag) => put.if_match(tag),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(se)) if matches!(se.raw().status().as_u16(), 409 | 412) => {
                Ok(false)
            }
            Err(e) => Err(Error::Storage(format!(
                "cannot write {}: {}",
                self.location(key),
                cause(&e)
            ))),
        }
    }

    fn shared(&self) -> bool {
        true
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.remove(key).await
    }

    /// Streamed from disk: the Lambda never holds a big report whole.
    async fn put_staged(
        &self,
        key: &str,
        staged: Staged,
        content_type: &'static str,
    ) -> Result<()> {
        let body = ByteStream::from_path(staged.path()).await.map_err(|e| {
            Error::Storage(format!(
                "cannot read a staged file for {}: {e}",
                self.location(key)
            ))
        })?;
        self.upload(key, body, content_type).await
    }

    fn location(&self, key: &str) -> String {
        match self.object_key(key) {
            Ok(k) => format!("s3://{}/{k}", self.bucket),
            Err(_) => format!("s3://{}/{}/{key:?}", self.bucket, self.prefix),
        }
    }
}

impl S3Sink {
    /// The body of the object at `key`, or `None` when there is none.
    async fn body(&self, key: &str) -> Result<Option<ByteStream>> {
        Ok(self.object(key).await?.map(|r| r.body))
    }

    /// The object at `key` (its body not read yet), or `None` when there is none.
    async fn object(&self, key: &str) -> Result<Option<GetObjectOutput>> {
        let object_key = self.object_key(key)?;
        let reply = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .send()
            .await;
        match reply {
            Ok(r) => Ok(Some(r)),
            Err(SdkError::ServiceError(se)) if matches!(se.err(), GetObjectError::NoSuchKey(_)) => {
                Ok(None)
            }
            Err(e) => Err(Error::Storage(format!(
                "cannot read {}: {}",
                self.location(key),
                cause(&e)
            ))),
        }
    }

    fn broke_off(&self, key: &str, e: impl std::error::Error) -> Error {
        Error::Storage(format!(
            "reading {} broke off: {}",
            self.location(key),
            DisplayErrorContext(e)
        ))
    }

    async fn remove(&self, key: &str) -> Result<()> {
        let object_key = self.object_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .send()
            .await
            .map_err(|e| {
                Error::Storage(format!(
                    "cannot delete {}: {}",
                    self.location(key),
                    cause(&e)
                ))
            })?;
        Ok(())
    }

    async fn upload(&self, key: &str, body: ByteStream, content_type: &'static str) -> Result<()> {
        let object_key = self.object_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                Error::Storage(format!(
                    "cannot write {}: {}",
                    self.location(key),
                    cause(&e)
                ))
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build();
        Client::from_conf(conf)
    }

    #[test]
    fn keys_sit_under_the_prefix() {
        let sink = S3Sink::new(client(), "billing-reports", "/fortiflex/").unwrap();
        assert_eq!(
            sink.location("daily/csv/x.csv"),
            "s3://billing-reports/fortiflex/daily/csv/x.csv"
        );
        let bare = S3Sink::new(client(), "billing-reports", "").unwrap();
        assert_eq!(bare.object_key("a/b").unwrap(), "a/b");
        assert!(sink.object_key("../b").is_err());
    }

    #[test]
    fn bad_buckets_and_prefixes_are_configuration_errors() {
        for (bucket, prefix, named) in [
            ("Billing", "p", "bucket name"),
            ("", "p", "bucket name"),
            ("b/c", "p", "bucket name"),
            ("bucket", "a/../b", "key prefix"),
            ("bucket", "a//b", "key prefix"),
            ("bucket", "fortiflex*", "key prefix"),
            ("bucket", "a/?/b", "key prefix"),
        ] {
            let err = S3Sink::new(client(), bucket, prefix).unwrap_err();
            assert_eq!(err.kind(), "Configuration");
            assert!(err.to_string().contains(named), "{err}");
        }
    }
}
