//! Integration tests of the provider presets against `LocalIssuer` on 127.0.0.1, with tokens
//! shaped like each provider's.

#![expect(
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test the same way"
)]

mod auth0;
mod cognito;
mod common;
mod firebase;
mod oidc;
