//! The conformance suite's integration tests, one binary: the suite against the
//! embedded mock, every fault, every realistic behaviour, the command line as another
//! process, reports and snapshots. The hostile-tenant tests are a binary of their own
//! (`tests/hostile_runner.rs`): they install a counting global allocator.

mod behaviours;
mod canary_reports;
mod cli;
mod fault_matrix;
mod model;
mod patience;
mod readings;
mod served;
mod suite_embedded;
mod tenant_snapshots;
