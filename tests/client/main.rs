//! The client's integration tests, one binary: each module holds the client to one
//! side of the contract (the requests it sends, the answers it reads, its status-keeping
//! errors, its policy on 429s and closed connections, its secrets). The hostile-tenant
//! tests are a binary of their own (`tests/hostile.rs`): they install a counting global
//! allocator.

mod generated_api;
mod policy;
mod properties;
mod readme;
mod requests;
mod responses;
mod secrets;
mod status;
mod support;
