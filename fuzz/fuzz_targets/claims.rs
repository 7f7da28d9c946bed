//! Signs arbitrary text as the payload of a token with a real key and verifies it with a
//! lenient and a strict verifier, each with and without the verified-token cache.
//!
//! Nothing may panic, and every error must blame the token. An accepted token must satisfy the
//! claim rules as this target reads them, independently of the library: `iss`, `aud` and the
//! time claims, and for the strict verifier also `token_use`, `firebase.tenant`, `sub` and
//! `scope`. A cached verifier must return what an uncached one returns.

#![no_main]

use std::sync::OnceLock;

use cloudauth::testing::TokenBuilder;
use cloudauth::{ScopeRequirement, Verifier};
use cloudauth_fuzz::{
    AUDIENCE, ISSUER, LEEWAY, MAX_NUMERIC_DATE, NOW, builder, ed25519_key, is_token_kind,
};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The claims of the strict verifier as an application type, to exercise the conversion.
#[derive(Deserialize)]
#[expect(dead_code, reason = "only the conversion is exercised")]
struct Typed {
    sub: String,
    exp: f64,
    scope: Option<String>,
}

struct Verifiers {
    lenient: [Verifier; 2],
    strict: [Verifier; 2],
}

fn verifiers() -> &'static Verifiers {
    static VERIFIERS: OnceLock<Verifiers> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let strict = || {
            builder()
                .require_claim("token_use", ["access"])
                .require_nested_claim(["firebase", "tenant"], ["tenant-1"])
                .require_subject(128)
                .require_scopes(ScopeRequirement::all(["read"]))
        };
        let build = |builder: cloudauth::VerifierBuilder| builder.build().expect("verifier builds");
        Verifiers {
            lenient: [build(builder()), build(builder().cache_verified_tokens(64))],
            strict: [build(strict()), build(strict().cache_verified_tokens(64))],
        }
    })
}

/// Reads a NumericDate, rounded down for `exp` and up otherwise, within 1970 to 9999.
fn numeric_date(value: &Value, round_down: bool) -> Option<i64> {
    let float = value.as_f64()?;
    let rounded = if round_down {
        float.floor()
    } else {
        float.ceil()
    };
    let seconds = value.as_i64().unwrap_or(rounded as i64);
    (0..=MAX_NUMERIC_DATE).contains(&seconds).then_some(seconds)
}

/// Asserts that accepted claims satisfy the lenient verifier's rules.
fn assert_lenient_rules(claims: &Map<String, Value>) {
    assert_eq!(claims.get("iss"), Some(&Value::from(ISSUER)), "iss");

    let audience_matches = match claims.get("aud") {
        Some(Value::String(audience)) => audience == AUDIENCE,
        Some(Value::Array(items)) => {
            items.iter().all(Value::is_string) && items.iter().any(|item| item == AUDIENCE)
        }
        _ => false,
    };
    assert!(audience_matches, "aud {:?}", claims.get("aud"));

    let exp = claims.get("exp").and_then(|exp| numeric_date(exp, true));
    assert!(
        exp.is_some_and(|exp| NOW < exp + LEEWAY),
        "exp {:?}",
        claims.get("exp")
    );

    for name in ["nbf", "iat", "auth_time"] {
        if let Some(value) = claims.get(name) {
            let seconds = numeric_date(value, false);
            assert!(seconds.is_some_and(|s| s <= NOW + LEEWAY), "{name} {value}");
        }
    }
}

/// Asserts that accepted claims also satisfy the strict verifier's rules.
fn assert_strict_rules(claims: &Map<String, Value>) {
    assert_eq!(
        claims.get("token_use"),
        Some(&Value::from("access")),
        "token_use"
    );

    let tenant = claims
        .get("firebase")
        .and_then(|firebase| firebase.get("tenant"));
    assert_eq!(tenant, Some(&Value::from("tenant-1")), "firebase.tenant");

    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        (1..=128).contains(&subject.chars().count()),
        "sub of {} characters",
        subject.chars().count()
    );

    let read_granted = match claims.get("scope") {
        Some(Value::String(scopes)) => scopes.split(' ').any(|scope| scope == "read"),
        Some(Value::Array(scopes)) => scopes.iter().any(|scope| scope == "read"),
        _ => false,
    };
    assert!(read_granted, "scope {:?}", claims.get("scope"));
}

/// Verifies `token` with an uncached and a cached verifier, twice each so the cache serves
/// the second call, and returns the one result they must all agree on.
fn verify_all(verifiers: &[Verifier; 2], token: &str) -> Result<Value, cloudauth::ErrorKind> {
    let first = verifiers[0]
        .verify::<Value>(token)
        .map_err(|error| error.kind());
    for verifier in verifiers {
        for _ in 0..2 {
            let again = verifier
                .verify::<Value>(token)
                .map_err(|error| error.kind());
            assert_eq!(again, first, "cached and uncached results differ");
        }
    }
    if let Err(kind) = first {
        assert!(is_token_kind(kind), "kind {kind:?}");
    }
    first
}

fuzz_target!(|payload: &str| {
    let token = TokenBuilder::new().raw_payload(payload).sign(ed25519_key());
    let verifiers = verifiers();

    if let Ok(Value::Object(claims)) = verify_all(&verifiers.lenient, &token) {
        assert_lenient_rules(&claims);
    }
    if let Ok(Value::Object(claims)) = verify_all(&verifiers.strict, &token) {
        assert_lenient_rules(&claims);
        assert_strict_rules(&claims);

        let typed = verifiers.strict[0].verify::<Typed>(&token);
        if let Err(error) = typed {
            assert_eq!(error.kind(), cloudauth::ErrorKind::InvalidClaims);
        }
    }
});
