//! Keys, verifiers and a runtime shared by the fuzz targets in `fuzz_targets/`.
//!
//! Keys are generated once per fuzzing process, so the seed corpus cannot contain tokens that
//! they signed. The `claims` and `authorization_header` targets sign tokens inside the process
//! instead.

use std::sync::OnceLock;

use cloudauth::testing::{TestKey, TokenBuilder};
use cloudauth::{
    Algorithm, ErrorCategory, ErrorKind, KeySet, ManualClock, Verifier, VerifierBuilder,
};

/// The verifiers' clock, in seconds since the Unix epoch.
pub const NOW: i64 = 1_700_000_000;
pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "api-client";

/// The verifiers' leeway for the time claims: the default of 60 s.
pub const LEEWAY: i64 = 60;

/// The largest NumericDate the verifier accepts: 9999-12-31T23:59:59Z.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// Returns one signing key each for RS256, ES256 and EdDSA, generated once per process.
pub fn keys() -> &'static [TestKey] {
    static KEYS: OnceLock<Vec<TestKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            TestKey::generate(Algorithm::RS256).with_kid("rsa-1"),
            TestKey::generate(Algorithm::ES256).with_kid("ec-1"),
            TestKey::generate(Algorithm::EdDSA).with_kid("ed-1"),
        ]
    })
}

/// Returns the Ed25519 key, the fastest to sign with.
pub fn ed25519_key() -> &'static TestKey {
    &keys()[2]
}

pub fn key_set() -> KeySet {
    cloudauth::testing::key_set(keys())
}

/// Starts a verifier of [`keys`] at [`NOW`] for [`ISSUER`] and [`AUDIENCE`].
pub fn builder() -> VerifierBuilder {
    Verifier::builder(key_set())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms(keys().iter().map(TestKey::algorithm))
        .clock(ManualClock::from_unix(NOW))
}

/// Returns a token that [`builder`]'s verifiers accept, signed with the Ed25519 key.
pub fn valid_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| TokenBuilder::valid_at(ISSUER, AUDIENCE, NOW).sign(ed25519_key()))
}

/// Returns `true` for kinds that blame the token, the only kinds that input can cause when the
/// key set is static.
pub fn is_token_kind(kind: ErrorKind) -> bool {
    kind.category() == ErrorCategory::Token
}

/// Returns a single-threaded runtime for the async extractors.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("Tokio runtime builds")
    })
}
