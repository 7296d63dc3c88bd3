//! The Lambda front end: the event payload turned into a request, the handler that runs it,
//! and the CloudWatch metrics of its outcome.

mod diagnostic;
pub mod handler;
pub mod metrics;
pub mod payload;
pub mod queue;
