//! Integration tests of token verification, with keys and tokens from the `testing` feature.

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "helpers outside #[test] functions fail the test the same way"
)]

mod algorithms;
mod builder;
mod cache;
mod claims;
mod common;
mod header;
mod key_set;
