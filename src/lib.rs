//! fortiflex-reporter: FortiFlex point consumption turned into billing-grade daily reports.
//!
//! The pure core ([`window`], [`report`], [`render`], [`run::plan`]) knows nothing of HTTP
//! or storage; [`fortiflex`] and [`sink`] put the outside world behind small traits;
//! [`run`] is the one pipeline (discover the program's accounts, plan against the archive
//! and the call budget, fetch, build, [`publish`]); [`cli`] and [`handler`] only turn their
//! input into a [`run::Request`] and print or return the [`summary`].

pub mod alerts;
pub mod allocator;
pub mod archive;
pub mod balance;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod console;
pub mod credentials;
pub mod customers;
pub mod error;
pub mod fortiflex;
pub mod handler;
pub mod ids;
pub mod json_rows;
pub mod listing;
pub mod metrics;
pub mod monthly;
pub mod payload;
pub mod program;
pub mod progress;
pub mod publish;
pub mod render;
pub mod report;
pub mod run;
pub mod secrets;
/// The FortiFlex simulator (`demo`, `sim`, the tests); the Lambda needs none of it.
#[cfg(feature = "sim")]
pub mod sim;
pub mod sink;
pub mod site;
pub mod statement;
pub mod summary;
pub mod window;

pub use error::{ApiError, Error, Result};
