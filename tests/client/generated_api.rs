//! The code progenitor generates from the contract, pinned: every spec change (or
//! generator upgrade) shows up as a reviewable diff of this snapshot.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test -p idcs-mfa --test client generated_api`, then
//! read the diff of `tests/client/snapshots/client__generated_api__generated_api.snap`.

// Test case: the generated client and types are exactly the reviewed ones.
#[test]
fn generated_api() {
    let code = include_str!(concat!(env!("OUT_DIR"), "/codegen.rs"));
    insta::assert_snapshot!("generated_api", code);
}
