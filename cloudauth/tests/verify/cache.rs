use std::time::Duration;

use cloudauth::testing::tamper_payload;
use cloudauth::{ErrorKind, ManualClock, ScopeRequirement, Verifier};
use serde_json::json;

use crate::common::{AUDIENCE, ISSUER, NOW, builder, outcome, rsa_key, valid};

fn cached(clock: &ManualClock) -> Verifier {
    builder()
        .clock(clock.clone())
        .cache_verified_tokens(100)
        .build()
        .expect("verifier builds")
}

#[test]
fn cache_hit_still_checks_expiry() {
    let clock = ManualClock::from_unix(NOW);
    let verifier = cached(&clock);
    let token = valid().claim("exp", NOW + 120).sign(rsa_key());

    assert_eq!(outcome(&verifier, &token), None, "first verification");
    assert_eq!(outcome(&verifier, &token), None, "cache hit");
    clock.advance(Duration::from_secs(180));
    assert_eq!(
        outcome(&verifier, &token),
        Some(ErrorKind::Expired),
        "expired while cached"
    );
}

#[test]
fn cache_hit_still_checks_scopes() {
    let clock = ManualClock::from_unix(NOW);
    let verifier = cached(&clock);
    let token = valid().claim("scope", "read:users").sign(rsa_key());
    assert_eq!(
        outcome(&verifier, &token),
        None,
        "cached without a requirement"
    );

    let readers = verifier.with_scopes(ScopeRequirement::all(["read:users"]));
    let writers = verifier.with_scopes(ScopeRequirement::all(["write:users"]));
    assert_eq!(outcome(&readers, &token), None);
    assert_eq!(
        outcome(&writers, &token),
        Some(ErrorKind::InsufficientScope)
    );
}

#[test]
fn cache_is_keyed_by_the_whole_token() {
    let clock = ManualClock::from_unix(NOW);
    let verifier = cached(&clock);
    let token = valid().sign(rsa_key());
    assert_eq!(outcome(&verifier, &token), None);

    // Same header and signature, another payload: must not be served from the cache.
    let forged = tamper_payload(
        &token,
        &json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "admin", "exp": NOW + 3600}),
    );
    assert_eq!(
        outcome(&verifier, &forged),
        Some(ErrorKind::InvalidSignature)
    );
}

#[test]
fn cached_claims_convert_into_the_requested_type() {
    #[derive(Debug, serde::Deserialize)]
    struct NumericSubject {
        #[expect(dead_code, reason = "only the failed conversion matters")]
        sub: u64,
    }

    let clock = ManualClock::from_unix(NOW);
    let verifier = cached(&clock);
    let token = valid().sign(rsa_key());
    assert_eq!(outcome(&verifier, &token), None);

    let error = verifier
        .verify::<NumericSubject>(&token)
        .expect_err("sub is a string");
    assert_eq!(error.kind(), ErrorKind::InvalidClaims);

    // A full verification gives the same message as the cache hit.
    let uncached = crate::common::verifier()
        .verify::<NumericSubject>(&token)
        .expect_err("sub is a string");
    assert_eq!(error.to_string(), uncached.to_string());
    assert!(error.to_string().contains("claim \"sub\""), "{error}");
}

#[test]
fn marker_member_cannot_replace_the_claims() {
    // serde_json's `Value` builds itself from the text of a first member with this private
    // name. The checks read the other members, so the claims must not come from that text.
    let inner = json!({ "iss": "https://other.test", "sub": "admin", "scope": "admin" });
    let payload = format!(
        r#"{{"$serde_json::private::RawValue":{},"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"user-1","exp":{}}}"#,
        json!(inner.to_string()),
        NOW + 3600
    );
    let token = valid().raw_payload(&payload).sign(rsa_key());

    let clock = ManualClock::from_unix(NOW);
    let verifier = cached(&clock);
    for attempt in ["full verification", "cache hit"] {
        let error = verifier
            .verify::<serde_json::Value>(&token)
            .expect_err("the claims type stops early");
        assert_eq!(error.kind(), ErrorKind::InvalidClaims, "{attempt}");
    }

    let claims: serde_json::Map<String, serde_json::Value> =
        verifier.verify(&token).expect("a map reads every member");
    assert_eq!(claims["sub"], "user-1");
}

#[test]
fn cache_settings_are_checked() {
    let error = builder()
        .cache_verified_tokens(0)
        .build()
        .expect_err("zero entries");
    assert_eq!(error.kind(), ErrorKind::InvalidConfiguration);
    let error = builder()
        .cache_verified_tokens(10)
        .verified_token_ttl(Duration::ZERO)
        .build()
        .expect_err("zero time to live");
    assert_eq!(error.kind(), ErrorKind::InvalidConfiguration);
}
