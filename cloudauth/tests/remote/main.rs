//! Integration tests of remote key sets over real HTTP against `LocalIssuer` on 127.0.0.1.

#![expect(
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test the same way"
)]

mod background;
mod caching;
mod common;
mod fetching;
mod outages;
mod refetch;
