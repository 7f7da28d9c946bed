//! No key set document or single key panics its parser, and every entry of a readable document
//! is either a usable key or listed as skipped.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cloudauth::{ErrorKind, KeySet, VerifyingKey};
use proptest::prelude::*;
use serde_json::value::RawValue;

use crate::common::{config, keys};
use crate::json::{self, Json};

/// Returns the number of entries of a document that `parse` read: the length of `keys` for
/// a JWK set, the number of members for a certificate map.
fn entry_count(document: &[u8], jwk_set: bool) -> Option<usize> {
    // Values stay raw, because `serde_json::Value` rejects numbers such as 1e400 that the key
    // set parsers skip over.
    let members: HashMap<String, &RawValue> = serde_json::from_slice(document).ok()?;
    if jwk_set {
        let entries: Vec<&RawValue> = serde_json::from_str(members.get("keys")?.get()).ok()?;
        return Some(entries.len());
    }
    Some(members.len())
}

/// Checks one parser on `document`: an error is `InvalidKeySet`, and a set accounts for every
/// entry as a key or a skipped entry.
fn check_parser(
    document: &[u8],
    parse: fn(&[u8]) -> Result<KeySet, cloudauth::Error>,
    jwk_set: bool,
) -> Result<(), TestCaseError> {
    match parse(document) {
        Err(error) => prop_assert_eq!(error.kind(), ErrorKind::InvalidKeySet),
        Ok(set) => {
            let accounted = set.len() + set.skipped().len();
            prop_assert_eq!(Some(accounted), entry_count(document, jwk_set));
        }
    }
    Ok(())
}

fn check_all_parsers(document: &[u8]) -> Result<(), TestCaseError> {
    check_parser(document, KeySet::from_jwks, true)?;
    check_parser(document, KeySet::from_certificate_map, false)?;

    let has_keys = entry_count(document, true).is_some();
    check_parser(document, KeySet::from_json, has_keys)
}

/// Returns the JWKs of the test keys, as JSON trees that strategies can change.
fn real_jwks() -> &'static [Vec<(String, Json)>] {
    static JWKS: OnceLock<Vec<Vec<(String, Json)>>> = OnceLock::new();
    JWKS.get_or_init(|| {
        keys()
            .iter()
            .map(|key| {
                let jwk = key.to_jwk();
                let members = jwk.as_object().expect("a JWK is an object");
                members
                    .iter()
                    .map(|(name, value)| {
                        let text = value.as_str().expect("JWK members are strings");
                        (name.clone(), Json::Text(text.to_owned()))
                    })
                    .collect()
            })
            .collect()
    })
}

/// A change to one JWK member: a new value, or `None` to remove it.
type MemberChange = (prop::sample::Index, Option<Json>);

/// Generates a real JWK with up to three members replaced or removed, and whether it is
/// unchanged.
fn changed_jwk() -> impl Strategy<Value = (Json, bool)> {
    let changes = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop::option::of(json::value()),
        ),
        0..3,
    );
    (any::<prop::sample::Index>(), changes).prop_map(|(key, changes): (_, Vec<MemberChange>)| {
        let mut members = key.get(real_jwks()).clone();
        let unchanged = changes.is_empty();
        for (member, replacement) in changes {
            let position = member.index(members.len());
            match replacement {
                Some(value) => members[position].1 = value,
                None => {
                    members.remove(position);
                }
            }
            if members.is_empty() {
                break;
            }
        }
        (Json::Object(members), unchanged)
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

/// Returns DER structures of the test keys (SubjectPublicKeyInfo, PKCS#1 and certificates)
/// with their PEM labels.
fn real_ders() -> &'static [(&'static str, Vec<u8>)] {
    static DERS: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    DERS.get_or_init(|| {
        let mut ders = Vec::new();
        for key in keys() {
            ders.push(("PUBLIC KEY", key.public_key_der()));
            ders.push(("CERTIFICATE", pem_der(&key.certificate_pem())));
            if let Some(pkcs1) = key.rsa_public_key_pem() {
                ders.push(("RSA PUBLIC KEY", pem_der(&pkcs1)));
            }
        }
        ders
    })
}

/// Generates a DER structure of a test key with some bytes changed, cut or added.
fn changed_der() -> impl Strategy<Value = (&'static str, Vec<u8>)> {
    let flips = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4);
    let cut = prop::option::of(any::<prop::sample::Index>());
    let tail = prop::collection::vec(any::<u8>(), 0..4);
    (any::<prop::sample::Index>(), flips, cut, tail).prop_map(|(which, flips, cut, tail)| {
        let (label, der) = which.get(real_ders());
        let mut der = der.clone();
        for (position, mask) in flips {
            let position = position.index(der.len());
            der[position] ^= mask;
        }
        if let Some(cut) = cut {
            der.truncate(cut.index(der.len() + 1));
        }
        der.extend(tail);
        (*label, der)
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn parsers_accept_any_bytes(document in prop::collection::vec(any::<u8>(), 0..512)) {
        check_all_parsers(&document)?;
    }

    #[test]
    fn parsers_accept_any_json(document in prop_oneof![json::object(), json::value()]) {
        check_all_parsers(document.to_text().as_bytes())?;
    }

    #[test]
    fn jwk_sets_of_changed_keys_parse(entries in prop::collection::vec(changed_jwk(), 0..6)) {
        let unchanged = entries.iter().filter(|(_, unchanged)| *unchanged).count();
        let entries = entries.into_iter().map(|(entry, _)| entry).collect();
        let document = Json::Object(vec![("keys".to_owned(), Json::Array(entries))]).to_text();

        check_all_parsers(document.as_bytes())?;
        let set = KeySet::from_jwks(document.as_bytes()).expect("a JWK set parses");
        prop_assert!(set.len() >= unchanged, "{} keys, {unchanged} unchanged", set.len());
    }

    #[test]
    fn certificate_maps_of_changed_keys_parse(
        entries in prop::collection::vec((any::<String>(), changed_der()), 0..4),
    ) {
        let members = entries
            .iter()
            .map(|(kid, (label, der))| (kid.clone(), Json::Text(pem(label, der))))
            .collect();
        let document = Json::Object(members).to_text();

        check_all_parsers(document.as_bytes())?;
    }

    #[test]
    fn single_key_parsers_reject_with_invalid_key((label, der) in changed_der()) {
        let results = [
            VerifyingKey::from_spki_der(&der),
            VerifyingKey::from_pem(&pem(label, &der)),
            VerifyingKey::from_jwk(&String::from_utf8_lossy(&der)),
        ];
        for result in results {
            if let Err(error) = result {
                prop_assert_eq!(error.kind(), ErrorKind::InvalidKey);
            }
        }
    }
}

#[test]
fn jwk_set_parser_rejects_arrays() {
    let jwk = keys()[0].to_jwk();
    let documents = [serde_json::json!([[jwk]]).to_string(), "[[]]".to_owned()];
    for document in documents {
        let result = KeySet::from_jwks(document.as_bytes());
        let kind = result.as_ref().err().map(cloudauth::Error::kind);
        assert_eq!(
            kind,
            Some(ErrorKind::InvalidKeySet),
            "{document}: {result:?}"
        );
    }
}
