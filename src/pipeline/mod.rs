//! The one pipeline both front ends call: discover, plan, fetch, build, publish, then the
//! month's statements, balance, alerts and the site.

pub mod archive;
pub(crate) mod balance_alerts;
pub mod discovery;
pub(crate) mod finish;
pub mod job;
pub(crate) mod lock;
pub(crate) mod metered;
pub(crate) mod organizations;
pub mod outcome;
pub(crate) mod plan;
pub(crate) mod product_types;
pub(crate) mod program;
pub(crate) mod program_plan;
pub mod progress;
pub(crate) mod publish;
pub mod push;
pub(crate) mod rates;
pub(crate) mod request;
pub(crate) mod run;
pub(crate) mod site;
pub(crate) mod statements;
pub(crate) mod tieout;

pub use plan::oldest_available;
pub use request::{Context, Request, Watch};
pub use run::run;
