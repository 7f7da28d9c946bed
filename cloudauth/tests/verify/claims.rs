use cloudauth::{ErrorKind, TimeCheck};
use serde::Deserialize;
use serde_json::json;

use crate::common::{AUDIENCE, ISSUER, NOW, builder, case, rsa_key, run_cases, valid, verifier};

#[test]
fn time_claims_are_checked() {
    let key = rsa_key();
    let cases = vec![
        case(
            "exp missing",
            valid().remove_claim("exp").sign(key),
            Some(ErrorKind::MissingClaim),
        ),
        case(
            "exp as a string",
            valid().claim("exp", (NOW + 60).to_string()).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "exp as a bool",
            valid().claim("exp", true).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "exp as null",
            valid().claim("exp", json!(null)).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "exp as an array",
            valid().claim("exp", json!([NOW + 60])).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "exp negative",
            valid().claim("exp", -1).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "exp past year 9999",
            valid().claim("exp", 253_402_300_800_i64).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "exp beyond i64",
            valid()
                .raw_payload(&format!(
                    r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":1e300}}"#
                ))
                .sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "exp as a float",
            valid().claim("exp", NOW as f64 + 0.5).sign(key),
            None,
        ),
        case(
            "exp as a float rounded down",
            valid().claim("exp", NOW as f64 - 59.5).sign(key),
            Some(ErrorKind::Expired),
        ),
        case(
            "exp 59 s ago",
            valid().claim("exp", NOW - 59).sign(key),
            None,
        ),
        case(
            "exp 60 s ago",
            valid().claim("exp", NOW - 60).sign(key),
            Some(ErrorKind::Expired),
        ),
        case(
            "exp 30 s ago, inside the leeway",
            valid().claim("exp", NOW - 30).sign(key),
            None,
        ),
        case(
            "exp 61 s ago",
            valid().claim("exp", NOW - 61).sign(key),
            Some(ErrorKind::Expired),
        ),
        case(
            "nbf ten minutes ahead",
            valid().claim("nbf", NOW + 600).sign(key),
            Some(ErrorKind::NotYetValid),
        ),
        case(
            "nbf 30 s ahead",
            valid().claim("nbf", NOW + 30).sign(key),
            None,
        ),
        case(
            "nbf 60 s ahead",
            valid().claim("nbf", NOW + 60).sign(key),
            None,
        ),
        case(
            "nbf 61 s ahead",
            valid().claim("nbf", NOW + 61).sign(key),
            Some(ErrorKind::NotYetValid),
        ),
        case(
            "nbf as a float rounded up",
            valid().claim("nbf", NOW as f64 + 60.5).sign(key),
            Some(ErrorKind::NotYetValid),
        ),
        case(
            "nbf as a string",
            valid().claim("nbf", "soon").sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "iat 30 s ahead",
            valid().claim("iat", NOW + 30).sign(key),
            None,
        ),
        case(
            "iat 60 s ahead",
            valid().claim("iat", NOW + 60).sign(key),
            None,
        ),
        case(
            "iat 120 s ahead",
            valid().claim("iat", NOW + 120).sign(key),
            Some(ErrorKind::IssuedInFuture),
        ),
        case(
            "iat as a float 60.5 s ahead",
            valid().claim("iat", NOW as f64 + 60.5).sign(key),
            Some(ErrorKind::IssuedInFuture),
        ),
        case("iat missing", valid().remove_claim("iat").sign(key), None),
    ];
    run_cases(&verifier(), &cases);
}

#[test]
fn issuer_and_audience_are_checked() {
    let key = rsa_key();
    let cases = vec![
        case(
            "iss missing",
            valid().remove_claim("iss").sign(key),
            Some(ErrorKind::MissingClaim),
        ),
        case(
            "iss of another issuer",
            valid().claim("iss", "https://other.test").sign(key),
            Some(ErrorKind::InvalidIssuer),
        ),
        case(
            "iss with a trailing slash",
            valid().claim("iss", format!("{ISSUER}/")).sign(key),
            Some(ErrorKind::InvalidIssuer),
        ),
        case(
            "iss as an array",
            valid().claim("iss", json!([ISSUER])).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "aud missing",
            valid().remove_claim("aud").sign(key),
            Some(ErrorKind::MissingClaim),
        ),
        case(
            "aud of another client",
            valid().claim("aud", "other-client").sign(key),
            Some(ErrorKind::InvalidAudience),
        ),
        case(
            "aud array containing the audience",
            valid()
                .claim("aud", json!(["https://userinfo.test", AUDIENCE]))
                .sign(key),
            None,
        ),
        case(
            "aud array without the audience",
            valid().claim("aud", json!(["a", "b"])).sign(key),
            Some(ErrorKind::InvalidAudience),
        ),
        case(
            "aud empty array",
            valid().claim("aud", json!([])).sign(key),
            Some(ErrorKind::InvalidAudience),
        ),
        case(
            "aud as a number",
            valid().claim("aud", 1).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "aud array with a number",
            valid().claim("aud", json!([AUDIENCE, 1])).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
        case(
            "aud as an object",
            valid().claim("aud", json!({"aud": AUDIENCE})).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
    ];
    run_cases(&verifier(), &cases);
}

#[test]
fn several_issuers_and_audiences_are_accepted() {
    let verifier = builder()
        .issuer("https://custom-domain.test/")
        .audience("second-client")
        .build()
        .expect("verifier must build");
    let key = rsa_key();

    let cases = vec![
        case("first issuer", valid().sign(key), None),
        case(
            "second issuer",
            valid()
                .claim("iss", "https://custom-domain.test/")
                .sign(key),
            None,
        ),
        case(
            "second audience",
            valid().claim("aud", "second-client").sign(key),
            None,
        ),
    ];
    run_cases(&verifier, &cases);
}

#[test]
fn required_claim_values_are_checked() {
    let verifier = crate::common::builder_without_audience()
        .insecure_skip_audience_check()
        .require_claim("token_use", ["access"])
        .require_claim("client_id", ["client-a", "client-b"])
        .build()
        .expect("verifier must build");
    let key = rsa_key();
    let access = || {
        valid()
            .remove_claim("aud")
            .claim("token_use", "access")
            .claim("client_id", "client-b")
    };

    let cases = vec![
        case("access token of a listed client", access().sign(key), None),
        case(
            "token_use missing",
            access().remove_claim("token_use").sign(key),
            Some(ErrorKind::MissingClaim),
        ),
        case(
            "token_use id",
            access().claim("token_use", "id").sign(key),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "token_use in upper case",
            access().claim("token_use", "ACCESS").sign(key),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "client_id of another client",
            access().claim("client_id", "client-c").sign(key),
            Some(ErrorKind::InvalidClaimValue),
        ),
        case(
            "client_id as an array",
            access().claim("client_id", json!(["client-a"])).sign(key),
            Some(ErrorKind::InvalidClaimType),
        ),
    ];
    run_cases(&verifier, &cases);
}

#[test]
fn duplicate_claims_are_rejected() {
    let payload = format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{},"sub":"user-1","sub":"admin"}}"#,
        NOW + 60
    );
    let token = valid().raw_payload(&payload).sign(rsa_key());

    let error = verifier()
        .verify::<serde_json::Value>(&token)
        .expect_err("duplicate sub");
    assert_eq!(error.kind(), ErrorKind::MalformedToken);
    assert!(
        error.to_string().contains("duplicate"),
        "message names the cause"
    );
}

#[test]
fn duplicate_claims_are_found_among_many_members() {
    let mut payload = format!(
        r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}"#,
        NOW + 60
    );
    for index in 0..40 {
        payload.push_str(&format!(",\"c{index}\":{index}"));
    }
    payload.push_str(",\"c7\":0}");
    let token = valid().raw_payload(&payload).sign(rsa_key());

    let kind = verifier()
        .verify::<serde_json::Value>(&token)
        .map_err(|e| e.kind());
    assert_eq!(kind.err(), Some(ErrorKind::MalformedToken));
}

#[derive(Debug, Deserialize, PartialEq)]
struct UserClaims {
    sub: String,
    email: Option<String>,
}

#[test]
fn claims_deserialize_into_caller_type() {
    let token = valid().claim("email", "user@example.test").sign(rsa_key());

    let claims: UserClaims = verifier().verify(&token).expect("token verifies");
    assert_eq!(
        claims,
        UserClaims {
            sub: "user-1".to_owned(),
            email: Some("user@example.test".to_owned())
        }
    );

    let raw: serde_json::Map<String, serde_json::Value> =
        verifier().verify(&token).expect("token verifies");
    assert_eq!(raw["email"], "user@example.test");
    assert_eq!(raw["exp"], NOW + 3600);
}

#[derive(Debug, Deserialize)]
struct NumericSubject {
    #[expect(dead_code, reason = "only the failed conversion matters")]
    sub: u64,
}

#[test]
fn claims_not_fitting_type_are_invalid() {
    let token = valid().sign(rsa_key());

    let error = verifier()
        .verify::<NumericSubject>(&token)
        .expect_err("sub is a string");
    assert_eq!(error.kind(), ErrorKind::InvalidClaims);
    assert!(error.is_token_error());
    // The claim is named; its value, which comes from the token, is not shown.
    assert_eq!(
        error.to_string(),
        "token claims do not match the expected type: claim \"sub\": unexpected JSON type or value"
    );
}

#[test]
fn time_errors_carry_times_and_seconds() {
    let token = valid().claim("exp", NOW - 75).sign(rsa_key());

    let error = verifier()
        .verify::<serde_json::Value>(&token)
        .expect_err("expired");
    assert_eq!(error.kind(), ErrorKind::Expired);
    assert_eq!(error.to_string(), "token expired 75 s ago (leeway 60 s)");
    assert_eq!(
        error.time_check(),
        Some(TimeCheck {
            now: NOW,
            claim: NOW - 75,
            leeway: 60
        })
    );
}

#[test]
fn errors_never_show_the_token() {
    let token = valid().claim("iss", "https://other.test").sign(rsa_key());
    let signature = token.rsplit('.').next().expect("signature");

    let error = verifier()
        .verify::<serde_json::Value>(&token)
        .expect_err("wrong issuer");
    let display = error.to_string();
    let debug = format!("{error:?}");
    assert_eq!(display, format!("invalid issuer, expected \"{ISSUER}\""));
    assert!(!debug.contains(signature), "Debug shows no signature");
    assert!(!debug.contains(&token), "Debug shows no token");
}

#[test]
fn leeway_is_configurable() {
    let verifier = builder()
        .leeway(std::time::Duration::ZERO)
        .build()
        .expect("verifier must build");
    let key = rsa_key();

    let cases = vec![
        case(
            "exp 1 s ahead",
            valid().claim("exp", NOW + 1).sign(key),
            None,
        ),
        case(
            "exp now",
            valid().claim("exp", NOW).sign(key),
            Some(ErrorKind::Expired),
        ),
        case(
            "exp 1 s ago",
            valid().claim("exp", NOW - 1).sign(key),
            Some(ErrorKind::Expired),
        ),
        case(
            "iat 1 s ahead",
            valid().claim("iat", NOW + 1).sign(key),
            Some(ErrorKind::IssuedInFuture),
        ),
    ];
    run_cases(&verifier, &cases);
}

#[test]
fn claims_error_debug_shows_no_claim_value() {
    let token = valid()
        .claim("sub", "secret-subject@example.test")
        .sign(rsa_key());

    let error = verifier()
        .verify::<NumericSubject>(&token)
        .expect_err("sub is a string");
    let debug = format!("{error:?}");
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert!(!debug.contains("secret-subject"), "Debug: {debug}");
    assert!(
        source
            .as_deref()
            .is_some_and(|source| !source.contains("secret-subject")),
        "source: {source:?}"
    );
}

#[test]
fn time_errors_name_the_claim_and_seconds() {
    let key = rsa_key();
    let cases = [
        (
            valid().claim("nbf", NOW + 600).sign(key),
            "token is not valid for another 600 s (leeway 60 s)",
            NOW + 600,
        ),
        (
            valid().claim("iat", NOW + 120).sign(key),
            "token was issued 120 s in the future (leeway 60 s)",
            NOW + 120,
        ),
    ];
    for (token, message, claim) in cases {
        let error = verifier()
            .verify::<serde_json::Value>(&token)
            .expect_err(message);
        assert_eq!(error.to_string(), message);
        assert_eq!(
            error.time_check().map(|times| times.claim),
            Some(claim),
            "{message}"
        );
    }
}

#[test]
fn clock_at_its_limits_does_not_panic() {
    let token = valid().claim("nbf", NOW).sign(rsa_key());

    for now in [i64::MIN, -1, 0, i64::MAX] {
        let verifier = builder()
            .clock(cloudauth::ManualClock::from_unix(now))
            .build()
            .expect("verifier must build");
        let outcome = crate::common::outcome(&verifier, &token);
        assert!(outcome.is_some(), "clock at {now} must reject the token");
    }
}

#[derive(Debug, Deserialize)]
struct WithEmail {
    #[expect(dead_code, reason = "only the failed conversion matters")]
    email: String,
}

#[test]
fn missing_field_is_named_in_the_error() {
    let token = valid().sign(rsa_key());

    let error = verifier()
        .verify::<WithEmail>(&token)
        .expect_err("the token has no email");
    assert_eq!(error.kind(), ErrorKind::InvalidClaims);
    assert_eq!(
        error.to_string(),
        "token claims do not match the expected type: missing field \"email\""
    );
}
