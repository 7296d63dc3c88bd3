//! The pure core: FortiFlex's records, days, money, the report and the month's statement,
//! balance and alerts. No tokio, no I/O: everything here is a function of its inputs.

pub mod alerts;
pub mod balance;
pub mod catalog;
pub mod customers;
pub mod ids;
pub mod money;
pub mod records;
pub mod report;
pub mod statement;
pub mod window;
