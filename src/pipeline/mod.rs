//! The one pipeline both front ends call: discover, plan, fetch, build, publish, then the
//! month's statements, balance, alerts and the site.

pub mod archive;
pub mod balance_alerts;
pub mod discovery;
pub mod metered;
pub mod outcome;
pub mod plan;
pub mod program;
pub mod program_plan;
pub mod progress;
pub mod publish;
pub mod request;
pub mod run;
pub mod site;
pub mod statements;

pub use request::{Context, Request, Watch};
pub use run::run;
