//! The integration tests: one binary, a module per area (as ripgrep's `tests/tests.rs`), so
//! the library is linked once. `support` holds what every area shares: moto, the simulator,
//! the goldens, the Lambda's environment.

mod accounts;
mod architecture;
mod cli;
mod customers;
mod faults;
mod fortiflex_http;
mod jobs;
mod lambda;
mod organizations;
mod parsers;
mod site;
mod storage;
mod support;
mod watch;
