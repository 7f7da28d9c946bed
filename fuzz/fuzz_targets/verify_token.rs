//! Verifies arbitrary text as a token. Nothing may panic, nothing may verify with the signing
//! verifier, every error must blame the token, and no error message may repeat the token.

#![no_main]

use std::sync::OnceLock;

use cloudauth::{KeySource, ManualClock, Verifier};
use cloudauth_fuzz::{AUDIENCE, ISSUER, NOW, builder, is_token_kind};
use libfuzzer_sys::fuzz_target;

/// Returns a verifier of signed tokens that does not require `kid`, so every key is a candidate,
/// and a verifier of unsigned tokens, which reads the token on another path.
fn verifiers() -> &'static (Verifier, Verifier) {
    static VERIFIERS: OnceLock<(Verifier, Verifier)> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let signed = builder().allow_missing_kid().build();
        let unsigned = Verifier::builder(KeySource::insecure_unsigned_tokens())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .clock(ManualClock::from_unix(NOW))
            .build();
        (
            signed.expect("verifier builds"),
            unsigned.expect("verifier builds"),
        )
    })
}

/// Checks an error for `token`: it blames the token and its message does not repeat it.
fn check_error(token: &str, error: &cloudauth::Error) {
    assert!(is_token_kind(error.kind()), "kind {:?}", error.kind());
    // The fuzzer learns the fixed messages and sends them as tokens, so only inputs with two
    // dots are checked. No message of the verifier contains two dots.
    if token.len() >= 24 && token.matches('.').count() >= 2 {
        assert!(
            !error.to_string().contains(token),
            "message repeats the token: {error}"
        );
    }
}

fuzz_target!(|token: &str| {
    let (signed, unsigned) = verifiers();

    match signed.verify::<serde_json::Value>(token) {
        Ok(claims) => panic!("a token no test key signed verified: {claims}"),
        Err(error) => check_error(token, &error),
    }

    // An unsigned token with valid claims is accepted by design, so only errors are checked.
    match unsigned.verify::<serde_json::Value>(token) {
        Ok(_) => assert!(
            token.ends_with('.'),
            "an unsigned token has an empty signature"
        ),
        Err(error) => check_error(token, &error),
    }
});
