//! The executable model of the documented behaviour: pure, deterministic state machines
//! (no I/O, no clock) that the mock tenant runs and the runner predicts with.
//!
//! One description of a rule, two uses: the mock tenant applies it to answer requests
//! (its faults are deviations applied around it, never inside it), and the runner
//! feeds every exchange it makes through the same rule to know what the tenant should
//! now hold, so that it never harms the test user.
//!
//! Today the model holds the attempt count and lockout ([`attempts`]).

pub mod attempts;
