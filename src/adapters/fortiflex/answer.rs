//! How a FortiFlex reply's body is taken in as it arrives: a list call's rows parsed chunk
//! by chunk ([`parse::ReplyReader`]), a small reply kept whole and read at the end
//! ([`Whole`]: a rate), an error reply kept whole for its status and message ([`Reply`]).

use serde::de::DeserializeOwned;

use super::parse;
use crate::error::ApiError;

/// Where a reply's body goes as it arrives.
pub(super) trait Body {
    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<(), ApiError>;
}

impl Body for Vec<u8> {
    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<(), ApiError> {
        self.extend_from_slice(chunk);
        Ok(())
    }
}

/// How a successful reply is read: fed as it arrives, then judged whole.
pub(super) trait Answer: Body {
    type Out;
    fn finish(self) -> std::result::Result<Self::Out, ApiError>;
}

impl<T: DeserializeOwned> Body for parse::ReplyReader<'_, T> {
    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<(), ApiError> {
        parse::ReplyReader::feed(self, chunk)
    }
}

impl<T: DeserializeOwned> Answer for parse::ReplyReader<'_, T> {
    type Out = Vec<T>;
    fn finish(self) -> std::result::Result<Vec<T>, ApiError> {
        parse::ReplyReader::finish(self)
    }
}

/// A small reply kept whole, then read by `read` (a rate, not a list).
pub(super) struct Whole<F> {
    pub(super) bytes: Vec<u8>,
    pub(super) read: F,
}

impl<F> Body for Whole<F> {
    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<(), ApiError> {
        self.bytes.feed(chunk)
    }
}

impl<R, F: FnOnce(&[u8]) -> std::result::Result<R, ApiError>> Answer for Whole<F> {
    type Out = R;
    fn finish(self) -> std::result::Result<R, ApiError> {
        (self.read)(&self.bytes)
    }
}

/// A call's reply: read by its [`Answer`], or an error reply kept whole.
pub(super) enum Reply<A> {
    Ok(Box<A>),
    Error(Vec<u8>),
}

impl<A: Answer> Body for Reply<A> {
    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<(), ApiError> {
        match self {
            Reply::Ok(reader) => reader.feed(chunk),
            Reply::Error(bytes) => bytes.feed(chunk),
        }
    }
}
