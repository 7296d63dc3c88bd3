//! An in-memory sink for tests (the crate's own, and `tests/` through the `testing`
//! feature): records every put in order and can be told to fail, as a dead bucket would.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Sink, Tagged, check_key, content_tag};
use crate::error::{Error, Result};

/// An in-memory sink for tests: records every put in order and can be told to fail one key.
/// Built for the crate's own tests and, through the `testing` feature, for `tests/`.
#[derive(Debug, Default)]
pub struct MemorySink {
    objects: Mutex<BTreeMap<String, (Vec<u8>, &'static str)>>,
    puts: Mutex<Vec<String>>,
    fail_key: Mutex<Option<String>>,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key put so far, in write order.
    pub fn puts(&self) -> Vec<String> {
        self.puts.lock().unwrap().clone()
    }

    pub fn object(&self, key: &str) -> Option<(Vec<u8>, &'static str)> {
        self.objects.lock().unwrap().get(key).cloned()
    }

    /// Makes the next puts of keys ending in `suffix` fail, as a dead bucket would.
    pub fn fail_puts_ending_with(&self, suffix: Option<&str>) {
        *self.fail_key.lock().unwrap() = suffix.map(str::to_string);
    }
}

impl Sink for MemorySink {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(key)
            .map(|(b, _)| b.clone()))
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &'static str) -> Result<()> {
        check_key(key)?;
        if self
            .fail_key
            .lock()
            .unwrap()
            .as_deref()
            .is_some_and(|s| key.ends_with(s))
        {
            return Err(Error::Storage(format!("memory sink told to fail on {key}")));
        }
        self.puts.lock().unwrap().push(key.to_string());
        self.objects
            .lock()
            .unwrap()
            .insert(key.to_string(), (body, content_type));
        Ok(())
    }

    async fn get_tagged(&self, key: &str) -> Result<Option<Tagged>> {
        Ok(self.get(key).await?.map(|body| Tagged {
            tag: content_tag(&body),
            body,
        }))
    }

    /// Compared and written under the map's lock: atomic, as S3's conditional put.
    async fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
        expected: Option<&str>,
    ) -> Result<bool> {
        check_key(key)?;
        let mut objects = self.objects.lock().unwrap();
        let current = objects.get(key).map(|(b, _)| content_tag(b));
        if current.as_deref() != expected {
            return Ok(false);
        }
        self.puts.lock().unwrap().push(key.to_string());
        objects.insert(key.to_string(), (body, content_type));
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        self.objects.lock().unwrap().remove(key);
        Ok(())
    }

    fn location(&self, key: &str) -> String {
        format!("memory:{key}")
    }
}
