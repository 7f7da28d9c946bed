//! The claim checks agree with a model of RFC 7519's rules for `iss`, `aud` and the time claims,
//! on signed tokens whose claims vary one by one and together.

use cloudauth::ErrorKind;
use cloudauth::testing::TokenBuilder;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::common::{AUDIENCE, ISSUER, LEEWAY, NOW, config, keys, verifier};

/// The largest NumericDate the verifier accepts: 9999-12-31T23:59:59Z.
const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

fn issuer() -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(
        0.9,
        prop_oneof![
            4 => Just(json!(ISSUER)),
            1 => prop::sample::select(vec![
                json!("https://issuer.test/"),
                json!("https://ISSUER.test"),
                json!(""),
                json!(null),
                json!(7),
                json!([ISSUER]),
            ]),
        ],
    )
}

fn audience() -> impl Strategy<Value = Option<Value>> {
    let name = prop::sample::select(vec![AUDIENCE, "other-client", "", "API-CLIENT"]);
    let names = prop::collection::vec(name.clone(), 0..4).prop_map(|names| json!(names));
    prop::option::weighted(
        0.9,
        prop_oneof![
            3 => Just(json!(AUDIENCE)),
            1 => name.prop_map(|name| json!(name)),
            2 => names,
            1 => Just(json!([AUDIENCE, 5])),
            1 => Just(json!({ "aud": AUDIENCE })),
            1 => Just(json!(null)),
        ],
    )
}

/// Generates a NumericDate near `NOW`, within a few leeways, or a value of another type or
/// range.
fn time(present: f64) -> impl Strategy<Value = Option<Value>> {
    let near = -4 * LEEWAY..4 * LEEWAY;
    prop::option::weighted(
        present,
        prop_oneof![
            4 => near.clone().prop_map(|offset| json!(NOW + offset)),
            2 => (near, 0.0_f64..1.0).prop_map(|(offset, fraction)| {
                json!(offset as f64 + NOW as f64 + fraction)
            }),
            1 => prop::sample::select(vec![
                json!(NOW.to_string()),
                json!(-1),
                json!(-0.5),
                json!(MAX_NUMERIC_DATE),
                json!(MAX_NUMERIC_DATE + 1),
                json!(u64::MAX),
                json!(1e300),
                json!(true),
                json!(null),
            ]),
        ],
    )
}

#[derive(Debug, Clone, Copy)]
enum Rounding {
    Down,
    Up,
}

/// Reads a NumericDate as the model: an integer or a float, rounded, within 1970 to 9999.
fn numeric_date(value: &Value, rounding: Rounding) -> Result<i64, ErrorKind> {
    let invalid = Err(ErrorKind::InvalidClaimType);
    let Value::Number(number) = value else {
        return invalid;
    };
    let seconds = if let Some(whole) = number.as_i64() {
        whole
    } else if number.is_u64() {
        return invalid;
    } else {
        let float = number.as_f64().unwrap_or(f64::NAN);
        let rounded = match rounding {
            Rounding::Down => float.floor(),
            Rounding::Up => float.ceil(),
        };
        if !(0.0..=MAX_NUMERIC_DATE as f64).contains(&rounded) {
            return invalid;
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the value is whole and within 0..=MAX_NUMERIC_DATE"
        )]
        let whole = rounded as i64;
        whole
    };
    if !(0..=MAX_NUMERIC_DATE).contains(&seconds) {
        return invalid;
    }
    Ok(seconds)
}

/// Returns the kind of every check that `claims` fail, in the order the verifier checks them.
fn failed_checks(claims: &Map<String, Value>) -> Vec<ErrorKind> {
    let mut failed = Vec::new();

    match claims.get("iss") {
        None => failed.push(ErrorKind::MissingClaim),
        Some(Value::String(issuer)) if issuer == ISSUER => {}
        Some(Value::String(_)) => failed.push(ErrorKind::InvalidIssuer),
        Some(_) => failed.push(ErrorKind::InvalidClaimType),
    }

    match claims.get("aud") {
        None => failed.push(ErrorKind::MissingClaim),
        Some(Value::String(audience)) if audience == AUDIENCE => {}
        Some(Value::String(_)) => failed.push(ErrorKind::InvalidAudience),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            if !items.iter().any(|item| item == AUDIENCE) {
                failed.push(ErrorKind::InvalidAudience);
            }
        }
        Some(_) => failed.push(ErrorKind::InvalidClaimType),
    }

    match claims
        .get("exp")
        .map(|exp| numeric_date(exp, Rounding::Down))
    {
        None => failed.push(ErrorKind::MissingClaim),
        Some(Err(kind)) => failed.push(kind),
        // RFC 7519 section 4.1.4: rejected on or after `exp`.
        Some(Ok(exp)) if NOW >= exp + LEEWAY => failed.push(ErrorKind::Expired),
        Some(Ok(_)) => {}
    }

    let future = [
        ("nbf", ErrorKind::NotYetValid),
        ("auth_time", ErrorKind::IssuedInFuture),
        ("iat", ErrorKind::IssuedInFuture),
    ];
    for (name, kind) in future {
        match claims
            .get(name)
            .map(|value| numeric_date(value, Rounding::Up))
        {
            None => {}
            Some(Err(kind)) => failed.push(kind),
            Some(Ok(seconds)) if seconds > NOW + LEEWAY => failed.push(kind),
            Some(Ok(_)) => {}
        }
    }
    failed
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    (
        issuer(),
        audience(),
        time(0.95),
        time(0.3),
        time(0.2),
        time(0.6),
    )
        .prop_map(|(iss, aud, exp, nbf, auth_time, iat)| {
            let members = [
                ("iss", iss),
                ("aud", aud),
                ("exp", exp),
                ("nbf", nbf),
                ("auth_time", auth_time),
                ("iat", iat),
            ];
            let mut claims: Map<String, Value> = members
                .into_iter()
                .filter_map(|(name, value)| Some((name.to_owned(), value?)))
                .collect();
            claims.insert("sub".to_owned(), json!("user-1"));
            claims
        })
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn claim_checks_match_the_model(claims in claims(), key in any::<prop::sample::Index>()) {
        let payload = Value::Object(claims.clone()).to_string();
        let token = TokenBuilder::new().raw_payload(&payload).sign(key.get(keys()));
        let failed = failed_checks(&claims);

        match verifier().verify::<Value>(&token) {
            Ok(verified) => {
                prop_assert!(failed.is_empty(), "accepted, but the model fails {failed:?}");
                // Parsed again rather than compared with `claims`, because serde_json without
                // its `float_roundtrip` feature may read a float back one unit in the last
                // place off.
                let sent: Value = serde_json::from_str(&payload).expect("payload is JSON");
                prop_assert_eq!(verified, sent);
            }
            Err(error) => {
                prop_assert!(
                    failed.contains(&error.kind()),
                    "rejected with {:?} ({error}), the model fails {failed:?}",
                    error.kind()
                );
            }
        }
    }
}
