//! Claims read into the caller's type equal what serde_json reads from the whole payload: for
//! maps, structs with optional, flattened and unknown fields, untagged enums, raw JSON, and
//! types that no JSON object fits.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use cloudauth::testing::TokenBuilder;
use cloudauth::{ErrorKind, Verifier};
use proptest::prelude::*;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::common::{AUDIENCE, ISSUER, NOW, builder, config, keys, verifier};
use crate::json::{self, Json};

/// Names the verifier checks; generated members leave them alone so the tokens verify.
const CHECKED: &[&str] = &["iss", "aud", "exp", "nbf", "iat", "auth_time"];

#[derive(Debug, PartialEq, Deserialize)]
struct Optional {
    iss: String,
    exp: i64,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    kid: Option<i64>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Flattened {
    iss: String,
    #[serde(default)]
    alg: Option<Value>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Closed {
    iss: String,
    aud: String,
    exp: i64,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum Either {
    Scoped { scope: String, iss: String },
    Other(BTreeMap<String, Value>),
}

#[derive(Debug, PartialEq, Deserialize)]
struct Renamed {
    #[serde(rename = "iss")]
    issuer: String,
    #[serde(rename = "typ", default)]
    kind: Option<String>,
}

/// Generates claims that pass every check, with members of any name and value before or after
/// them.
fn payload() -> impl Strategy<Value = String> {
    let members = prop::collection::vec((json::name(), json::value()), 0..8);
    (members, any::<bool>()).prop_map(|(members, generated_first)| {
        let checked = [
            ("iss".to_owned(), Json::Text(ISSUER.to_owned())),
            ("aud".to_owned(), Json::Text(AUDIENCE.to_owned())),
            ("exp".to_owned(), Json::Integer(NOW + 600)),
        ];
        let mut generated: Vec<(String, Json)> = Vec::new();
        for (name, value) in members {
            let duplicate = generated.iter().any(|(other, _)| *other == name);
            if !duplicate && !CHECKED.contains(&name.as_str()) {
                generated.push((name, value));
            }
        }

        let object = if generated_first {
            generated.into_iter().chain(checked).collect()
        } else {
            checked.into_iter().chain(generated).collect()
        };
        Json::Object(object).to_text()
    })
}

/// Checks that the verifiers and serde_json agree on reading `payload` as `T`. `verifiers`
/// are a verifier without a cache and one with the verified-token cache, which verifies twice
/// so that the second result is a cache hit.
fn agree<T>(verifiers: &[Verifier; 2], token: &str, payload: &str) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + PartialEq + Debug,
{
    let [plain, cached] = verifiers;
    let theirs = serde_json::from_str::<T>(payload);
    let name = std::any::type_name::<T>();
    for (path, verifier) in [
        ("full", plain),
        ("cache miss", cached),
        ("cache hit", cached),
    ] {
        match (verifier.verify::<T>(token), &theirs) {
            (Ok(ours), Ok(theirs)) => prop_assert_eq!(&ours, theirs, "{} {}", path, name),
            (Err(error), Err(_)) => {
                prop_assert_eq!(error.kind(), ErrorKind::InvalidClaims, "{} {}", path, name);
            }
            (ours, theirs) => prop_assert!(
                false,
                "{path} {name}: cloudauth gave {:?}, serde_json {:?}",
                ours.map(|_| ()),
                theirs.as_ref().map(|_| ())
            ),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn typed_claims_match_serde_json(payload in payload()) {
        let token = TokenBuilder::new().raw_payload(&payload).sign(&keys()[2]);
        let cached = builder().cache_verified_tokens(16).build().expect("verifier builds");
        let verifier = [verifier(), cached];

        agree::<Value>(&verifier, &token, &payload)?;
        agree::<Map<String, Value>>(&verifier, &token, &payload)?;
        agree::<HashMap<String, Value>>(&verifier, &token, &payload)?;
        agree::<BTreeMap<String, String>>(&verifier, &token, &payload)?;
        agree::<Option<Map<String, Value>>>(&verifier, &token, &payload)?;
        agree::<Optional>(&verifier, &token, &payload)?;
        agree::<Flattened>(&verifier, &token, &payload)?;
        agree::<Closed>(&verifier, &token, &payload)?;
        agree::<Either>(&verifier, &token, &payload)?;
        agree::<Renamed>(&verifier, &token, &payload)?;
        agree::<IgnoredAny>(&verifier, &token, &payload)?;
        agree::<Vec<Value>>(&verifier, &token, &payload)?;
        agree::<(String,)>(&verifier, &token, &payload)?;
        agree::<String>(&verifier, &token, &payload)?;
        agree::<()>(&verifier, &token, &payload)?;

        let raw: Box<RawValue> = verifier[0].verify(&token).expect("the token verifies");
        prop_assert_eq!(raw.get(), payload.as_str());
    }
}
