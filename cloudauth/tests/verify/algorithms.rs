use cloudauth::testing::{TestKey, certificate_map, jwk_set};
use cloudauth::{Algorithm, ErrorKind, KeySet, ManualClock, Verifier, VerifyingKey};

use crate::common::{AUDIENCE, ISSUER, NOW, case, outcome, rsa_key, run_cases, valid, verifier};

fn verifier_for(keys: KeySet, algorithms: &[Algorithm]) -> Verifier {
    Verifier::builder(keys)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms(algorithms.iter().copied())
        .clock(ManualClock::from_unix(NOW))
        .build()
        .expect("verifier must build")
}

#[test]
fn every_algorithm_verifies_from_jwk() {
    for alg in Algorithm::ALL {
        let key = TestKey::generate(alg);
        let jwks = jwk_set([&key]).to_string();
        let keys = KeySet::from_jwks(jwks.as_bytes()).expect("JWK set must parse");
        let verifier = verifier_for(keys, &[alg]);

        let token = valid().sign(&key);
        assert_eq!(outcome(&verifier, &token), None, "{alg} from a JWK");
    }
}

#[test]
fn every_algorithm_verifies_from_pem_and_certificate() {
    for alg in Algorithm::ALL {
        let key = TestKey::generate(alg);
        let token = valid().sign(&key);

        let from_pem = VerifyingKey::from_pem(&key.public_key_pem())
            .expect("PEM public key must parse")
            .with_kid(key.kid());
        let verifier = verifier_for(KeySet::from_keys([from_pem]), &[alg]);
        assert_eq!(
            outcome(&verifier, &token),
            None,
            "{alg} from a PEM public key"
        );

        let from_certificate = VerifyingKey::from_pem(&key.certificate_pem())
            .expect("PEM certificate must parse")
            .with_kid(key.kid());
        let verifier = verifier_for(KeySet::from_keys([from_certificate]), &[alg]);
        assert_eq!(outcome(&verifier, &token), None, "{alg} from a certificate");
    }
}

#[test]
fn rsa_key_verifies_from_pkcs1_pem_and_spki_der() {
    let key = rsa_key();
    let token = valid().sign(key);
    let pkcs1 = key.rsa_public_key_pem().expect("RSA key has a PKCS#1 form");

    let from_pkcs1 = VerifyingKey::from_pem(&pkcs1).expect("PKCS#1 PEM must parse");
    let verifier = verifier_for(
        KeySet::from_keys([from_pkcs1.with_kid("rsa-1")]),
        &[Algorithm::RS256],
    );
    assert_eq!(outcome(&verifier, &token), None);

    let from_der = VerifyingKey::from_spki_der(&key.public_key_der()).expect("DER must parse");
    let verifier = verifier_for(
        KeySet::from_keys([from_der.with_kid("rsa-1")]),
        &[Algorithm::RS256],
    );
    assert_eq!(outcome(&verifier, &token), None);
}

#[test]
fn certificate_map_verifies() {
    let key = rsa_key();
    let map = certificate_map([key]).to_string();
    let keys = KeySet::from_certificate_map(map.as_bytes()).expect("certificate map must parse");
    assert_eq!(keys.len(), 1);

    let verifier = verifier_for(keys, &[Algorithm::RS256]);
    assert_eq!(outcome(&verifier, &valid().sign(key)), None);
}

#[test]
fn rsa_key_without_alg_verifies_rs_and_ps() {
    let rs256 = TestKey::generate(Algorithm::RS256);
    let ps256 = rs256.clone().with_rsa_algorithm(Algorithm::PS256);
    let mut jwk = rs256.to_jwk();
    jwk.as_object_mut().expect("JWK is an object").remove("alg");
    let keys = KeySet::from_jwks(serde_json::json!({ "keys": [jwk] }).to_string().as_bytes())
        .expect("JWK set must parse");
    let verifier = verifier_for(keys, &[Algorithm::RS256, Algorithm::PS256]);

    assert_eq!(outcome(&verifier, &valid().sign(&rs256)), None, "RS256");
    assert_eq!(outcome(&verifier, &valid().sign(&ps256)), None, "PS256");
}

#[test]
fn jwk_alg_disagreeing_with_token_is_not_used() {
    let rs256 = TestKey::generate(Algorithm::RS256);
    let ps256 = rs256.clone().with_rsa_algorithm(Algorithm::PS256);
    let keys = KeySet::from_jwks(jwk_set([&rs256]).to_string().as_bytes()).expect("parses");
    let verifier = verifier_for(keys, &[Algorithm::RS256, Algorithm::PS256]);

    let token = valid().sign(&ps256);
    assert_eq!(outcome(&verifier, &token), Some(ErrorKind::UnknownKeyId));
}

#[test]
fn algorithm_confusion_is_rejected() {
    let key = rsa_key();
    let jwk_text = key.to_jwk().to_string();
    let modulus = {
        use base64::Engine as _;
        let n = key.to_jwk()["n"].as_str().expect("n").to_owned();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(n)
            .expect("n is base64url")
    };
    let pkcs1 = key.rsa_public_key_pem().expect("RSA key");
    let spki_pem = key.public_key_pem();
    let spki_der = key.public_key_der();

    let secrets: [(&str, &[u8]); 5] = [
        ("SPKI PEM", spki_pem.as_bytes()),
        ("PKCS#1 PEM", pkcs1.as_bytes()),
        ("SPKI DER", &spki_der),
        ("JWK text", jwk_text.as_bytes()),
        ("modulus", &modulus),
    ];
    let mut cases = Vec::new();
    for (name, secret) in secrets {
        for alg in ["HS256", "HS384", "HS512"] {
            let token = valid().header("kid", "rsa-1").sign_hmac(alg, secret);
            cases.push(case(
                format!("{alg} keyed with the {name}"),
                token,
                Some(ErrorKind::DisallowedAlgorithm),
            ));
        }
    }
    run_cases(&verifier(), &cases);
}

#[test]
fn unsigned_tokens_are_rejected() {
    let mut cases = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        cases.push(case(
            format!("alg {alg} without signature"),
            valid().header("kid", "rsa-1").unsigned(alg),
            Some(ErrorKind::DisallowedAlgorithm),
        ));
        cases.push(case(
            format!("alg {alg} with a signature"),
            valid().with_signature(alg, Some("rsa-1"), b"signature"),
            Some(ErrorKind::DisallowedAlgorithm),
        ));
    }
    run_cases(&verifier(), &cases);
}

#[test]
fn signature_failures_are_rejected() {
    let key = rsa_key();
    let signed = valid().sign(key);
    let tampered = cloudauth::testing::tamper_payload(
        &signed,
        &serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "admin", "exp": NOW + 60}),
    );
    let (without_signature, _) = signed.rsplit_once('.').expect("three segments");

    let cases = vec![
        case("valid RS256", signed.clone(), None),
        case("valid ES256", valid().sign(crate::common::ec_key()), None),
        case(
            "ES256 signature of zero bytes",
            valid().with_signature("ES256", Some("ec-1"), &[0; 64]),
            Some(ErrorKind::InvalidSignature),
        ),
        case(
            "ES256 signature of wrong length",
            valid().with_signature("ES256", Some("ec-1"), &[1; 63]),
            Some(ErrorKind::InvalidSignature),
        ),
        case(
            "signed by another key with the same kid",
            valid().sign(crate::common::other_rsa_key()),
            Some(ErrorKind::InvalidSignature),
        ),
        case(
            "tampered payload",
            tampered,
            Some(ErrorKind::InvalidSignature),
        ),
        case(
            "empty signature",
            format!("{without_signature}."),
            Some(ErrorKind::InvalidSignature),
        ),
        case(
            "signature over 1024 bytes",
            valid().with_signature("RS256", Some("rsa-1"), &[1; 1100]),
            Some(ErrorKind::InvalidSignature),
        ),
        case(
            "RS512 outside the allow-list",
            valid().sign(&key.clone().with_rsa_algorithm(Algorithm::RS512)),
            Some(ErrorKind::DisallowedAlgorithm),
        ),
    ];
    run_cases(&verifier(), &cases);
}
