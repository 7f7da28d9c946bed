use std::sync::OnceLock;

use cloudauth::testing::{TestKey, TokenBuilder};
use cloudauth::{Algorithm, ErrorKind, KeySet, ManualClock, Verifier, VerifierBuilder};

pub(crate) const NOW: i64 = 1_700_000_000;
pub(crate) const ISSUER: &str = "https://issuer.test";
pub(crate) const AUDIENCE: &str = "api-client";

/// The RSA key that most tests sign with, generated once per test binary.
pub(crate) fn rsa_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::RS256).with_kid("rsa-1"))
}

/// A second RSA key, never in the key set.
pub(crate) fn other_rsa_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::RS256).with_kid("rsa-1"))
}

pub(crate) fn ec_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate(Algorithm::ES256).with_kid("ec-1"))
}

pub(crate) fn key_set() -> KeySet {
    cloudauth::testing::key_set([rsa_key(), ec_key()])
}

/// A builder for the standard verifier without an audience: RS256 and ES256, clock at `NOW`.
pub(crate) fn builder_without_audience() -> VerifierBuilder {
    Verifier::builder(key_set())
        .issuer(ISSUER)
        .algorithms([Algorithm::RS256, Algorithm::ES256])
        .clock(ManualClock::from_unix(NOW))
}

/// A builder for the standard verifier.
pub(crate) fn builder() -> VerifierBuilder {
    builder_without_audience().audience(AUDIENCE)
}

pub(crate) fn verifier() -> Verifier {
    builder().build().expect("standard verifier must build")
}

/// Claims that the standard verifier accepts at `NOW`.
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

/// A named case: the token and the expected outcome (`None` for accepted).
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) token: String,
    pub(crate) expected: Option<ErrorKind>,
}

/// Runs every case and reports all mismatches at once.
pub(crate) fn run_cases(verifier: &Verifier, cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let actual = outcome(verifier, &case.token);
        if actual != case.expected {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.expected, actual
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "failed cases:\n{}",
        failures.join("\n")
    );
}

pub(crate) fn case(name: impl Into<String>, token: String, expected: Option<ErrorKind>) -> Case {
    Case {
        name: name.into(),
        token,
        expected,
    }
}
