//! The Lambda: the handler in-process as wired in AWS, on an MSSP program, and the binary
//! under the real runtime API.

mod accounts;
mod handler;
mod runtime;
