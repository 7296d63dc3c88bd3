//! fortiflex-reporter: FortiFlex point consumption turned into billing-grade reports.
//!
//! The folders are the layers, each importing only those below it ([`domain`] at the
//! bottom): [`domain`] is pure (records, Pacific days, exact money, the report, statements,
//! balance, alerts); [`contract`] is the bytes and keys of the output contract; [`adapters`]
//! put FortiFlex, storage and secrets behind small traits; [`pipeline`] is the one run both
//! front ends call; [`cli`] and [`lambda`] turn their input into a [`pipeline::Request`] and
//! show its [`pipeline::outcome::RunOutcome`]. [`config`] alone reads the environment.
//! `docs/architecture.md` draws the picture.

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
