//! fortiflex-reporter: FortiFlex point consumption turned into billing-grade daily reports.
//!
//! The pure core ([`window`], [`report`], [`render`]) knows nothing of HTTP or storage;
//! [`fortiflex`] and [`sink`] put the outside world behind small traits; [`job`] and
//! [`publish`] join them; [`cli`] and [`sim`] are what the binaries hand over to.

pub mod cli;
pub mod config;
pub mod console;
pub mod credentials;
pub mod error;
pub mod fortiflex;
pub mod handler;
pub mod job;
pub mod listing;
pub mod metrics;
pub mod payload;
pub mod publish;
pub mod render;
pub mod report;
pub mod secrets;
pub mod sim;
pub mod sink;
pub mod window;

pub use error::{ApiError, Error, Result};
