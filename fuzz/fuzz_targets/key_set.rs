//! Parses arbitrary bytes as a key set document (JWK set, certificate map, either) and as a
//! single key (JWK, PEM, DER SubjectPublicKeyInfo). Nothing may panic, errors must have the
//! documented kind, every entry of a readable set must be a key or listed as skipped, and
//! tokens must not verify with the parsed keys.

#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use cloudauth::testing::TokenBuilder;
use cloudauth::{Algorithm, ErrorKind, KeySet, ManualClock, Verifier, VerifyingKey};
use cloudauth_fuzz::{AUDIENCE, ISSUER, NOW, keys};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

/// Returns the number of entries in `document`: the length of `keys` for a JWK set, the
/// number of members for a certificate map.
fn entry_count(document: &[u8], jwk_set: bool) -> Option<usize> {
    let members: HashMap<String, &RawValue> = serde_json::from_slice(document).ok()?;
    if jwk_set {
        let entries: Vec<&RawValue> = serde_json::from_str(members.get("keys")?.get()).ok()?;
        return Some(entries.len());
    }
    Some(members.len())
}

/// Tokens without `kid`, one for each test key's algorithm, so every parsed key that supports
/// the algorithm is tried.
fn tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let claims = TokenBuilder::valid_at(ISSUER, AUDIENCE, NOW).remove_header("kid");
        keys().iter().map(|key| claims.sign(key)).collect()
    })
}

/// Checks a parsed set and tries the tokens against it. None may verify, because the fuzzer
/// cannot know the process's key pairs.
fn check_set(document: &[u8], set: &KeySet, jwk_set: bool) {
    let accounted = set.len() + set.skipped().len();
    assert_eq!(
        Some(accounted),
        entry_count(document, jwk_set),
        "entries unaccounted for"
    );
    let _ = format!("{set:?}");
    if set.is_empty() {
        return;
    }

    let verifier = Verifier::builder(set.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
        .allow_missing_kid()
        .clock(ManualClock::from_unix(NOW))
        .build()
        .expect("verifier builds");
    for token in tokens() {
        let result = verifier.verify::<serde_json::Value>(token);
        assert!(result.is_err(), "a token verified with a fuzzed key set");
    }
}

fn check_parser(
    document: &[u8],
    parse: fn(&[u8]) -> Result<KeySet, cloudauth::Error>,
    jwk_set: bool,
) {
    match parse(document) {
        Ok(set) => check_set(document, &set, jwk_set),
        Err(error) => assert_eq!(error.kind(), ErrorKind::InvalidKeySet),
    }
}

fn check_key(result: Result<VerifyingKey, cloudauth::Error>) {
    match result {
        Ok(key) => {
            let _ = format!("{key:?}");
        }
        Err(error) => assert_eq!(error.kind(), ErrorKind::InvalidKey),
    }
}

fuzz_target!(|document: &[u8]| {
    check_parser(document, KeySet::from_jwks, true);
    check_parser(document, KeySet::from_certificate_map, false);
    let has_keys = entry_count(document, true).is_some();
    check_parser(document, KeySet::from_json, has_keys);

    let text = String::from_utf8_lossy(document);
    check_key(VerifyingKey::from_jwk(&text));
    check_key(VerifyingKey::from_pem(&text));
    check_key(VerifyingKey::from_spki_der(document));
});
