//! The mock tenant's integration tests, one binary: each module drives the tenant over
//! HTTP (and through its typed handle) and holds it to the documents.

mod concurrency;
mod control;
mod errors;
mod faults;
mod fixture;
mod flows;
mod fuzz;
mod handle;
mod load;
mod lockout;
mod race;
mod readme;
mod support;
