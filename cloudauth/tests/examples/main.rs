//! End-to-end tests of the examples. Each test starts example binaries as a user would, with
//! only the documented environment variables, on a free port of 127.0.0.1. It sends them
//! requests with tokens from moto's Cognito, from oidc-provider shaped like Auth0, or from a
//! `LocalIssuer`.
//!
//! The first test to need an example runs `cargo build --examples --all-features`, a no-op
//! after `cargo test --all-features`, and finds the binaries beside its own.
//! `scripts/test.sh` installs the issuer fixtures. A missing example or fixture fails its
//! test; none is skipped.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "helpers outside #[test] functions fail the test the same way"
)]

mod auth0;
mod browser;
mod cognito;
mod common;
mod firebase;
mod quickstart;
