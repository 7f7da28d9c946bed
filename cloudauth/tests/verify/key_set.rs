use cloudauth::testing::{TestKey, b64};
use cloudauth::{Algorithm, ErrorKind, KeySet, ManualClock, Verifier, VerifyingKey};
use serde_json::json;

use crate::common::{AUDIENCE, ISSUER, NOW, case, ec_key, rsa_key, run_cases, valid};

/// A JWK set with one signing key beside entries that must all be skipped.
fn mixed_key_set() -> serde_json::Value {
    let signing = rsa_key().to_jwk();
    let mut encryption = TestKey::generate(Algorithm::RS256).to_jwk();
    encryption["kid"] = json!("rsa-1");
    encryption["use"] = json!("enc");
    encryption
        .as_object_mut()
        .expect("JWK is an object")
        .remove("alg");
    let mut verify_forbidden = TestKey::generate(Algorithm::RS256).to_jwk();
    verify_forbidden["kid"] = json!("sign-only");
    verify_forbidden["key_ops"] = json!(["sign"]);
    let mut wrong_curve_alg = ec_key().to_jwk();
    wrong_curve_alg["kid"] = json!("ec-wrong-alg");
    wrong_curve_alg["alg"] = json!("ES384");
    let short_modulus = {
        let mut n = vec![0xC3_u8];
        n.extend(std::iter::repeat_n(0x5A, 127));
        b64(&n)
    };

    json!({"keys": [
        encryption,
        {"kty": "oct", "kid": "hmac", "k": b64(b"shared secret of the attacker")},
        {"kty": "PQC", "kid": "future", "x": "AAAA"},
        {"kty": "EC", "kid": "curve-x", "crv": "secp256k1", "x": "AAAA", "y": "AAAA"},
        {"kty": "OKP", "kid": "x25519", "crv": "X25519", "x": b64(&[9; 32])},
        {"kty": "RSA", "kid": "rsa-1024", "n": short_modulus, "e": "AQAB"},
        {"kty": "RSA", "kid": "bad-n", "n": "not base64!", "e": "AQAB"},
        {"kty": "RSA", "kid": 42, "n": "AQAB", "e": "AQAB"},
        {"kid": "no-kty"},
        verify_forbidden,
        wrong_curve_alg,
        signing,
    ]})
}

#[test]
fn unusable_entries_are_skipped() {
    let keys = KeySet::from_jwks(mixed_key_set().to_string().as_bytes()).expect("set parses");

    assert_eq!(keys.len(), 1, "only the signing key is usable");
    assert_eq!(keys.keys()[0].kid(), Some("rsa-1"));
    assert_eq!(keys.skipped().len(), 11);

    let reasons: Vec<(Option<&str>, &str)> = keys
        .skipped()
        .iter()
        .map(|s| (s.kid(), s.reason()))
        .collect();
    let expected = [
        (Some("rsa-1"), "JWK use is not sig"),
        (Some("hmac"), "symmetric (oct) keys are never used"),
        (Some("future"), "JWK kty is not supported"),
        (Some("curve-x"), "EC JWK crv is not supported"),
        (Some("x25519"), "OKP JWK crv is not supported"),
        (Some("rsa-1024"), "RSA key is shorter than 2048 bits"),
        (Some("bad-n"), "RSA JWK has no valid n"),
        (
            None,
            "JWK is not a JSON object with members of the expected types",
        ),
        (Some("no-kty"), "JWK has no kty"),
        (Some("sign-only"), "JWK key_ops does not include verify"),
        (Some("ec-wrong-alg"), "JWK alg does not fit its key type"),
    ];
    for (index, expected) in expected.iter().enumerate() {
        assert_eq!(reasons.get(index), Some(expected), "skipped entry {index}");
    }
}

#[test]
fn signing_key_verifies_beside_skipped_entries() {
    let keys = KeySet::from_jwks(mixed_key_set().to_string().as_bytes()).expect("set parses");
    let verifier = Verifier::builder(keys)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(ManualClock::from_unix(NOW))
        .build()
        .expect("verifier must build");

    let cases = vec![
        case(
            "RS256 token of the signing key",
            valid().sign(rsa_key()),
            None,
        ),
        case(
            "HS256 token made with the oct key",
            valid()
                .header("kid", "hmac")
                .sign_hmac("HS256", b"shared secret of the attacker"),
            Some(ErrorKind::DisallowedAlgorithm),
        ),
    ];
    run_cases(&verifier, &cases);
}

#[test]
fn key_set_documents_are_told_apart() {
    let jwks = cloudauth::testing::jwk_set([rsa_key()]).to_string();
    let map = cloudauth::testing::certificate_map([rsa_key()]).to_string();

    let from_jwks = KeySet::from_json(jwks.as_bytes()).expect("JWK set parses");
    assert_eq!(from_jwks.keys()[0].kid(), Some("rsa-1"));
    let from_map = KeySet::from_json(map.as_bytes()).expect("certificate map parses");
    assert_eq!(from_map.keys()[0].kid(), Some("rsa-1"));
}

#[test]
fn unreadable_key_set_documents_are_errors() {
    let documents: [(&str, &[u8]); 5] = [
        ("not JSON", b"<html>"),
        ("JSON array", b"[]"),
        ("keys is a number", br#"{"keys": 5}"#),
        ("empty body", b""),
        (
            "duplicate kid in a certificate map",
            br#"{"a": "x", "a": "y"}"#,
        ),
    ];
    for (name, document) in documents {
        let error = KeySet::from_json(document).expect_err(name);
        assert_eq!(error.kind(), ErrorKind::InvalidKeySet, "{name}");
    }
}

#[test]
fn certificate_map_skips_bad_entries() {
    let document = json!({
        "good": rsa_key().certificate_pem(),
        "number": 5,
        "garbage": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "private": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    });

    let keys = KeySet::from_certificate_map(document.to_string().as_bytes()).expect("parses");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys.keys()[0].kid(), Some("good"));
    assert_eq!(keys.skipped().len(), 3);
}

#[test]
fn single_key_constructors_report_reasons() {
    let short = json!({"kty": "RSA", "n": b64(&[0xC3; 128]), "e": "AQAB"}).to_string();

    let error = VerifyingKey::from_jwk(&short).expect_err("1024-bit key");
    assert_eq!(error.kind(), ErrorKind::InvalidKey);
    assert_eq!(
        error.kind().category(),
        cloudauth::ErrorCategory::Configuration
    );
    assert_eq!(error.to_string(), "RSA key is shorter than 2048 bits");

    let error = VerifyingKey::from_pem("not a pem").expect_err("garbage");
    assert_eq!(error.kind(), ErrorKind::InvalidKey);

    let error = rsa_key()
        .verifying_key()
        .with_algorithm(Algorithm::ES256)
        .expect_err("RSA key cannot verify ES256");
    assert_eq!(error.to_string(), "a RSA key cannot verify ES256");
}

#[test]
fn debug_shows_no_key_material() {
    let key = rsa_key().verifying_key();
    let modulus = rsa_key().to_jwk()["n"].as_str().expect("n").to_owned();

    let debug = format!("{key:?}");
    assert!(debug.contains("rsa-1"), "Debug shows the kid: {debug}");
    assert!(debug.contains("2048"), "Debug shows the size: {debug}");
    assert!(!debug.contains(&modulus[..20]), "Debug shows no modulus");
}

#[test]
fn malformed_key_parameters_are_skipped() {
    let rsa = rsa_key().to_jwk();
    let ec = ec_key().to_jwk();
    let long_modulus = {
        let mut n = vec![0xC3_u8];
        n.extend(std::iter::repeat_n(0x5A, 1025));
        b64(&n)
    };
    let exponent_reason = "RSA key exponent is not an odd number of at least 3";

    let entries = [
        (
            json!({"kty": "RSA", "n": rsa["n"], "e": "AQ"}),
            exponent_reason,
        ),
        (
            json!({"kty": "RSA", "n": rsa["n"], "e": "AQAA"}),
            exponent_reason,
        ),
        (
            json!({"kty": "RSA", "n": long_modulus, "e": "AQAB"}),
            "RSA key is longer than 8192 bits",
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": b64(&[7; 31]), "y": ec["y"]}),
            "EC JWK coordinates do not have the curve's length",
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": ec["y"], "y": ec["x"]}),
            "EC key is not a valid point on its curve",
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[1; 31])}),
            "Ed25519 key is not 32 bytes long",
        ),
    ];
    for (entry, reason) in entries {
        let document = json!({ "keys": [entry] }).to_string();
        let keys = KeySet::from_jwks(document.as_bytes()).expect("set parses");
        assert!(keys.is_empty(), "{reason}");
        assert_eq!(keys.skipped().first().map(|s| s.reason()), Some(reason));
    }
}

#[test]
fn in_memory_sets_have_no_entry_limit() {
    let jwk = rsa_key().to_jwk();
    let keys: Vec<_> = (0..150).map(|_| jwk.clone()).collect();
    let document = json!({ "keys": keys }).to_string();

    let set = KeySet::from_jwks(document.as_bytes()).expect("no limit for in-memory sets");
    assert_eq!(set.len(), 150);
}

#[test]
fn rsa_8192_key_verifies() {
    let key = TestKey::generate_rsa(Algorithm::RS256, 8192).with_kid("rsa-8192");
    let verifier = Verifier::builder(cloudauth::testing::key_set([&key]))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(ManualClock::from_unix(NOW))
        .build()
        .expect("verifier must build");

    let token = valid().sign(&key);
    assert_eq!(crate::common::outcome(&verifier, &token), None);
}
