//! fortiflex-reporter: FortiFlex point consumption turned into billing-grade daily reports.
//!
//! The pure core ([`window`], [`report`], [`render`], [`run::plan`]) knows nothing of HTTP
//! or storage; [`fortiflex`] and [`sink`] put the outside world behind small traits;
//! [`run`] is the one pipeline (discover the program's accounts, plan against the archive
//! and the call budget, fetch, build, [`publish`]); [`cli`] and [`handler`] only turn their
//! input into a [`run::Request`] and print or return the [`summary`].

#![warn(unreachable_pub)]

pub mod adapters;
pub mod cli;
pub mod config;
pub mod contract;
pub mod domain;
pub mod error;
pub mod lambda;
pub mod pipeline;
/// The FortiFlex simulator (`demo`, `sim`, the tests); the Lambda needs none of it.
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(test)]
pub(crate) mod testutil;

pub use error::{ApiError, Error, Result};
