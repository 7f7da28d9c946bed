//! No token input panics the verifier, and none that was not signed by a key of the set verifies.

use cloudauth::testing::b64;
use cloudauth::{KeySource, ManualClock, Verifier};
use proptest::prelude::*;

use crate::common::{AUDIENCE, ISSUER, NOW, config, is_token_kind, outcome, runtime, verifier};
use crate::json::{self, Json};

fn unsigned_verifier() -> Verifier {
    Verifier::builder(KeySource::insecure_unsigned_tokens())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(ManualClock::from_unix(NOW))
        .build()
        .expect("verifier builds")
}

/// Generates three segments of base64url: JSON header, JSON payload and signature bytes.
fn token_shaped() -> impl Strategy<Value = String> {
    let header = prop_oneof![json::object(), json::value()];
    let payload = prop_oneof![json::object(), json::value()];
    let signature = prop::collection::vec(any::<u8>(), 0..600);
    (header, payload, signature).prop_map(|(header, payload, signature): (Json, Json, Vec<u8>)| {
        format!(
            "{}.{}.{}",
            b64(header.to_text().as_bytes()),
            b64(payload.to_text().as_bytes()),
            b64(&signature)
        )
    })
}

/// Generates text of the characters that tokens contain, with dots and a few others.
fn token_alphabet() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9_.=+/ -]{0,400}").expect("valid regex")
}

fn any_token() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), token_alphabet(), token_shaped()]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn verify_rejects_arbitrary_input(token in any_token()) {
        let kind = outcome(&verifier(), &token);

        prop_assert!(kind.is_some(), "input verified: {token:?}");
        prop_assert!(kind.is_some_and(is_token_kind), "kind {kind:?} for {token:?}");
    }

    #[test]
    fn verify_async_rejects_arbitrary_input(token in any_token()) {
        let result = runtime().block_on(verifier().verify_async::<serde_json::Value>(&token));
        let kind = result.err().map(|error| error.kind());

        prop_assert!(kind.is_some(), "input verified: {token:?}");
        prop_assert!(kind.is_some_and(is_token_kind), "kind {kind:?} for {token:?}");
    }

    #[test]
    fn unsigned_verifier_rejects_arbitrary_input(token in any_token()) {
        let kind = outcome(&unsigned_verifier(), &token);

        prop_assert!(kind.is_some(), "input verified: {token:?}");
        prop_assert!(kind.is_some_and(is_token_kind), "kind {kind:?} for {token:?}");
    }
}
