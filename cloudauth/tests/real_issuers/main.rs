//! Tests of the provider presets against issuers that other people wrote, started on 127.0.0.1:
//! moto's Cognito, panva's oidc-provider shaped like Auth0, and the Firebase Auth emulator.
//!
//! `scripts/test.sh` installs them. A missing component fails its test; none is skipped.

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "helpers outside #[test] functions fail the test the same way"
)]

mod auth0;
mod cognito;
mod common;
mod firebase;
