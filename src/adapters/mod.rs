//! The outside world behind small traits: FortiFlex (`FortiFlexApi`), storage (`Sink`),
//! secrets (`CredentialSource`), Step Functions' task callbacks (`TaskCallback`), billing
//! systems (`BillingPort`: ConnectWise, Stripe, a webhook), each port beside its adapters.

pub mod allocator;
pub mod billing;
pub mod credentials;
pub(crate) mod endpoint;
pub mod fortiflex;
pub(crate) mod json_rows;
pub mod secrets;
pub mod storage;
pub mod task_callback;
