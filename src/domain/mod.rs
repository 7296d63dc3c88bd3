//! The pure core: FortiFlex's records, days, money, the report and the month's statement,
//! balance and alerts. No tokio, no I/O: everything here is a function of its inputs.

pub(crate) mod alerts;
pub(crate) mod balance;
pub mod billing;
pub(crate) mod catalog;
pub mod customers;
pub mod ids;
pub mod money;
pub(crate) mod rates;
pub(crate) mod records;
pub mod report;
pub(crate) mod statement;
pub mod targets;
pub(crate) mod tieout;
pub mod window;
