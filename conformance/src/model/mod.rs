//! The executable model of the documented behaviour: pure, deterministic state machines
//! (no I/O, no clock) that the mock tenant runs and the runner predicts with.
//!
//! One description of a rule, two uses: the mock tenant applies it to answer requests
//! (its faults are deviations applied around it, never inside it), and the runner
//! feeds every exchange it makes through the same rule to know what the tenant should
//! now hold, so that it never harms the test user.
//!
//! - [`attempts`]: the attempt count and lockout (the mock counts with it; the runner's
//!   ledger predicts with it);
//! - [`machine`]: the request life cycle of the test user and the answers a tenant may
//!   give to each step (the sequence checks hold a tenant to it);
//! - [`rules`]: the documented rules, each with its sentence, source and evidence.

pub mod attempts;
pub mod machine;
pub mod rules;
