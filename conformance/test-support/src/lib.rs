//! What the workspace's tests share (not published): servers that stand in for a
//! tenant where the mock tenant cannot, and a counting allocator.
//!
//! - [`capture`]: a tiny HTTP/1.1 server that records every request and answers with
//!   canned responses (the client's request and response tests).
//! - [`hostile`]: a tenant that answers in one broken, slow or malicious way (the
//!   client's and the runner's robustness tests).
//! - [`alloc`]: [`alloc::Counting`], a global allocator measuring the peak of bytes held
//!   by a thread. A binary that installs it is its own test binary (a global allocator
//!   is per binary).

pub mod alloc;
pub mod capture;
pub mod hostile;
