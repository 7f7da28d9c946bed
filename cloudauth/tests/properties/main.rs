//! Property tests of the parsers and checks that see untrusted input: tokens, key set
//! documents, `Authorization` headers and claims.
//!
//! Each property runs a modest number of cases so that `cargo test` stays fast. Set
//! `PROPTEST_CASES` to run more, such as `PROPTEST_CASES=10000 cargo test --all-features --test
//! properties`. The fuzz targets in `fuzz/` at the workspace root cover the same parsers with
//! coverage guidance.

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "helpers outside #[test] functions fail the test the same way"
)]

mod authorization;
mod claims;
mod common;
mod json;
mod key_set;
mod limits;
mod tampering;
mod token;
mod typed;
