use cloudauth::ErrorKind;
use cloudauth::testing::{TestKey, b64};
use serde_json::json;

use crate::common::{
    AUDIENCE, ISSUER, NOW, builder, case, ec_key, other_rsa_key, outcome, rsa_key, run_cases,
    valid, verifier,
};

#[test]
fn token_structure_is_checked() {
    let key = rsa_key();
    let signed = valid().sign(key);
    let mut segments = signed.split('.');
    let header = segments.next().expect("header");
    let payload = segments.next().expect("payload");
    let signature = segments.next().expect("signature");

    let cases = vec![
        case(
            "two segments",
            format!("{header}.{payload}"),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "four segments",
            format!("{signed}.{signature}"),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "empty token",
            String::new(),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "empty header",
            format!(".{payload}.{signature}"),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "padded header",
            format!("{header}=.{payload}.{signature}"),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "standard base64 alphabet in signature",
            format!("{header}.{payload}.{}", signature.replace(['-', '_'], "+")),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "padded signature",
            format!("{header}.{payload}.{signature}=="),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "signature with non-zero trailing bits",
            format!("{header}.{payload}.{}", flip_last_bit(signature)),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "trailing data after the header object",
            format!(
                "{}.{payload}.{signature}",
                b64(br#"{"alg":"RS256","kid":"rsa-1"} x"#)
            ),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "trailing data after the payload object",
            valid().raw_payload("{\"exp\":1} {}").sign(key),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "header with non-zero trailing bits",
            // "e30" is `{}`; "e31" decodes to the same byte with a trailing bit set.
            format!("e31.{payload}.{signature}"),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "header is a JSON array",
            format!("{}.{payload}.{signature}", b64(b"[1]")),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "header is not JSON",
            format!("{}.{payload}.{signature}", b64(b"alg=RS256")),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "payload is a JSON string",
            valid().raw_payload("\"claims\"").sign(key),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "payload is not JSON",
            valid().raw_payload("{\"exp\":").sign(key),
            Some(ErrorKind::MalformedToken),
        ),
    ];
    run_cases(&verifier(), &cases);
}

#[test]
fn header_members_are_checked() {
    let key = rsa_key();
    let attacker = TestKey::generate(cloudauth::Algorithm::RS256).with_kid("attacker");

    let cases = vec![
        case(
            "crit header",
            valid()
                .header("crit", json!(["exp"]))
                .header("exp", 1)
                .sign(key),
            Some(ErrorKind::CriticalHeader),
        ),
        case(
            "empty crit header",
            valid().header("crit", json!([])).sign(key),
            Some(ErrorKind::CriticalHeader),
        ),
        case(
            "missing alg",
            valid().remove_header("alg").sign(key),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "alg is a number",
            valid().header("alg", 256).sign(key),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "alg in lower case",
            valid().header("alg", "rs256").sign(key),
            Some(ErrorKind::DisallowedAlgorithm),
        ),
        case(
            "unknown alg",
            valid().header("alg", "RSA-OAEP").sign(key),
            Some(ErrorKind::DisallowedAlgorithm),
        ),
        case(
            "missing kid",
            valid().remove_header("kid").sign(key),
            Some(ErrorKind::MissingKeyId),
        ),
        case(
            "unknown kid",
            valid().header("kid", "rotated-away").sign(key),
            Some(ErrorKind::UnknownKeyId),
        ),
        case(
            "kid with path characters and 4 KiB of text",
            valid()
                .header("kid", format!("../../{}", "k".repeat(4096)))
                .sign(key),
            Some(ErrorKind::UnknownKeyId),
        ),
        case(
            "kid is a number",
            valid().header("kid", 7).sign(key),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "duplicate alg member",
            valid()
                .raw_header(r#"{"alg":"RS256","kid":"rsa-1","alg":"none"}"#)
                .sign(key),
            Some(ErrorKind::MalformedToken),
        ),
        case(
            "embedded jwk of the attacker's key",
            valid().header("jwk", attacker.to_jwk()).sign(&attacker),
            Some(ErrorKind::UnknownKeyId),
        ),
        case(
            "jku and x5u pointing elsewhere, signed by the attacker",
            valid()
                .header("jku", "https://attacker.invalid/jwks.json")
                .header("x5u", "https://attacker.invalid/cert.pem")
                .sign(&attacker),
            Some(ErrorKind::UnknownKeyId),
        ),
        case(
            "x5c of the attacker's certificate under the real kid",
            valid()
                .header("x5c", json!([attacker.certificate_pem()]))
                .header("kid", "rsa-1")
                .sign(&attacker),
            Some(ErrorKind::InvalidSignature),
        ),
        case(
            "jku on a token signed by the real key is ignored",
            valid()
                .header("jku", "https://attacker.invalid/jwks.json")
                .sign(key),
            None,
        ),
    ];
    run_cases(&verifier(), &cases);
}

#[test]
fn kid_may_be_optional() {
    let verifier = builder()
        .allow_missing_kid()
        .build()
        .expect("verifier must build");

    let cases = vec![
        case("no kid", valid().remove_header("kid").sign(rsa_key()), None),
        case(
            "no kid, signed by an unknown key",
            valid().remove_header("kid").sign(other_rsa_key()),
            Some(ErrorKind::InvalidSignature),
        ),
    ];
    run_cases(&verifier, &cases);
}

#[test]
fn long_token_is_rejected_before_parsing() {
    let verifier = builder()
        .max_token_length(256)
        .build()
        .expect("verifier must build");
    let token = valid().claim("padding", "x".repeat(300)).sign(rsa_key());

    let error = verifier
        .verify::<serde_json::Value>(&token)
        .expect_err("token over the limit");
    assert_eq!(error.kind(), ErrorKind::TokenTooLong);
    assert_eq!(
        error.to_string(),
        "token is longer than the maximum of 256 bytes"
    );

    let garbage = "!".repeat(64 * 1024);
    let error = crate::common::verifier()
        .verify::<serde_json::Value>(&garbage)
        .expect_err("64 KiB of garbage");
    assert_eq!(error.kind(), ErrorKind::TokenTooLong);
}

/// The base64url alphabet, in the order of the values it encodes.
const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Sets the lowest bit of the last character of an unpadded base64url segment whose length
/// leaves unused bits, so that those bits are no longer zero.
fn flip_last_bit(segment: &str) -> String {
    assert_ne!(segment.len() % 4, 0, "segment has no unused bits");
    let (head, last) = segment.split_at(segment.len() - 1);
    let index = BASE64URL.find(last).expect("base64url character");
    let flipped = char::from(BASE64URL.as_bytes()[index ^ 1]);
    format!("{head}{flipped}")
}

/// Signs a token whose compact form is exactly `length` bytes long, found by padding a claim
/// and a header member, since base64url cannot reach every length with one segment alone.
fn token_of_length(length: usize) -> String {
    let key = rsa_key();
    for extra in 0..3 {
        let token = |fill: usize| {
            valid()
                .claim("pad", "x".repeat(fill))
                .header("pad", "y".repeat(extra))
                .sign(key)
        };
        let (mut low, mut high) = (0, length);
        while low < high {
            let middle = (low + high).div_ceil(2);
            if token(middle).len() <= length {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        let candidate = token(low);
        if candidate.len() == length {
            return candidate;
        }
    }
    panic!("no token of exactly {length} bytes");
}

#[test]
fn default_maximum_length_is_16_kib() {
    let verifier = verifier();
    let at_limit = token_of_length(16 * 1024);
    let over_limit = token_of_length(16 * 1024 + 1);

    assert_eq!(outcome(&verifier, &at_limit), None);
    assert_eq!(
        outcome(&verifier, &over_limit),
        Some(ErrorKind::TokenTooLong)
    );
}

/// Returns the header segment of `token`, the text before its first dot.
fn header_segment(token: &str) -> &str {
    token.split('.').next().expect("header segment")
}

#[test]
fn remembered_header_keeps_other_checks() {
    let verifier = verifier();
    let first = valid().sign(rsa_key());
    assert_eq!(outcome(&verifier, &first), None);

    // Each of these tokens repeats the first token's header segment byte for byte.
    let signature = first.rsplit('.').next().expect("signature");
    let other_payload = b64(json!({ "iss": ISSUER, "aud": AUDIENCE, "exp": NOW + 60 })
        .to_string()
        .as_bytes());
    let cases = [
        (
            "other payload, first signature",
            format!("{}.{other_payload}.{signature}", header_segment(&first)),
            Some(ErrorKind::InvalidSignature),
        ),
        (
            "signed by a key outside the set",
            valid().sign(other_rsa_key()),
            Some(ErrorKind::InvalidSignature),
        ),
        (
            "expired",
            valid().claim("exp", NOW - 600).sign(rsa_key()),
            Some(ErrorKind::Expired),
        ),
        (
            "other issuer",
            valid().claim("iss", "https://other.test").sign(rsa_key()),
            Some(ErrorKind::InvalidIssuer),
        ),
        ("the first token again", first.clone(), None),
    ];
    for (name, token, expected) in cases {
        assert_eq!(header_segment(&token), header_segment(&first), "{name}");
        assert_eq!(outcome(&verifier, &token), expected, "{name}");
    }

    // A token with another header is read in full, and the first one still verifies after it.
    let ec_token = valid().sign(ec_key());
    assert_ne!(header_segment(&ec_token), header_segment(&first));
    assert_eq!(outcome(&verifier, &ec_token), None);
    let critical = valid().header("crit", json!(["exp"])).sign(rsa_key());
    assert_eq!(
        outcome(&verifier, &critical),
        Some(ErrorKind::CriticalHeader)
    );
    assert_eq!(outcome(&verifier, &first), None);
}

#[test]
fn remembered_header_stays_per_verifier() {
    let rsa_and_ec = verifier();
    let ec_only = builder()
        .algorithms([cloudauth::Algorithm::ES256])
        .build()
        .expect("verifier builds");
    let token = valid().sign(rsa_key());

    assert_eq!(outcome(&rsa_and_ec, &token), None);
    assert_eq!(
        outcome(&ec_only, &token),
        Some(ErrorKind::DisallowedAlgorithm)
    );
    assert_eq!(
        outcome(
            &ec_only.with_scopes(cloudauth::ScopeRequirement::all(["x"])),
            &token
        ),
        Some(ErrorKind::DisallowedAlgorithm)
    );
}
