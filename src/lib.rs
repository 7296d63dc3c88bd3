//! fortiflex-reporter: FortiFlex point consumption turned into billing-grade daily reports.

pub mod credentials;
pub mod error;
pub mod fortiflex;
pub mod render;
pub mod report;
pub mod window;

pub use error::{ApiError, Error, Result};
