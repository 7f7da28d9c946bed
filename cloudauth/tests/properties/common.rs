use std::sync::OnceLock;

use cloudauth::testing::{TestKey, TokenBuilder};
use cloudauth::{Algorithm, ErrorCategory, ErrorKind, KeySet, ManualClock, Verifier};
use proptest::test_runner::{Config, FileFailurePersistence};

pub(crate) const NOW: i64 = 1_700_000_000;
pub(crate) const ISSUER: &str = "https://issuer.test";
pub(crate) const AUDIENCE: &str = "api-client";

/// The verifier's leeway for `exp`, `nbf`, `iat` and `auth_time`: the default of 60 s.
pub(crate) const LEEWAY: i64 = 60;

/// Returns a proptest configuration with `cases` cases, or `PROPTEST_CASES` when it is set.
pub(crate) fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        // Shrunk failures go beside the test's source file, such as `claims.regressions`.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

/// Returns one signing key for each algorithm family, generated once per test binary: RS256,
/// PS256 (the same RSA key pair under another key id), ES256, ES384 and EdDSA.
pub(crate) fn keys() -> &'static [TestKey] {
    static KEYS: OnceLock<Vec<TestKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = TestKey::generate(Algorithm::RS256).with_kid("rsa-1");
        let pss = rsa
            .clone()
            .with_rsa_algorithm(Algorithm::PS256)
            .with_kid("rsa-pss-1");
        vec![
            rsa,
            pss,
            TestKey::generate(Algorithm::ES256).with_kid("ec-256"),
            TestKey::generate(Algorithm::ES384).with_kid("ec-384"),
            TestKey::generate(Algorithm::EdDSA).with_kid("ed-1"),
        ]
    })
}

pub(crate) fn key_set() -> KeySet {
    cloudauth::testing::key_set(keys())
}

/// Starts a verifier that accepts tokens signed by any of [`keys`] at [`NOW`].
pub(crate) fn builder() -> cloudauth::VerifierBuilder {
    Verifier::builder(key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms(keys().iter().map(TestKey::algorithm))
        .clock(ManualClock::from_unix(NOW))
}

pub(crate) fn verifier() -> Verifier {
    builder().build().expect("verifier builds")
}

/// Starts a token whose claims [`verifier`] accepts.
pub(crate) fn valid() -> TokenBuilder {
    TokenBuilder::valid_at(ISSUER, AUDIENCE, NOW)
}

/// Returns the error kind of verifying `token`, or `None` when it verifies.
pub(crate) fn outcome(verifier: &Verifier, token: &str) -> Option<ErrorKind> {
    verifier
        .verify::<serde_json::Value>(token)
        .err()
        .map(|error| error.kind())
}

/// Returns `true` for kinds that blame the token, the only kinds untrusted input may cause
/// with a static key set.
pub(crate) fn is_token_kind(kind: ErrorKind) -> bool {
    kind.category() == ErrorCategory::Token
}

/// Builds a runtime for the tests that drive async code from inside a proptest case.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("Tokio runtime builds")
}
