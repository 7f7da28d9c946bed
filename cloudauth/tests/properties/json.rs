//! Strategies for JSON text, including objects with duplicate member names, which
//! `serde_json::Value` cannot hold.

use proptest::prelude::*;

/// Member names that the token, claim and key set parsers look for, mixed into generated
/// objects so that the parsers get past their first checks.
const NAMES: &[&str] = &[
    "alg",
    "kid",
    "crit",
    "typ",
    "jwk",
    "iss",
    "aud",
    "sub",
    "exp",
    "nbf",
    "iat",
    "auth_time",
    "scope",
    "token_use",
    "keys",
    "kty",
    "use",
    "key_ops",
    "crv",
    "n",
    "e",
    "x",
    "y",
    // serde_json's `Value` treats a first member with this private name specially.
    "$serde_json::private::RawValue",
];

/// String values that the parsers compare against.
const VALUES: &[&str] = &[
    "RS256",
    "PS256",
    "ES256",
    "ES384",
    "EdDSA",
    "none",
    "HS256",
    "rsa-1",
    "ec-256",
    "RSA",
    "EC",
    "OKP",
    "oct",
    "P-256",
    "Ed25519",
    "sig",
    "verify",
    "AQAB",
    "https://issuer.test",
    "api-client",
];

/// A JSON document as a tree that keeps member order and duplicate names.
#[derive(Debug, Clone)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Writes the tree as compact JSON text.
    pub(crate) fn to_text(&self) -> String {
        let mut text = String::new();
        self.write(&mut text);
        text
    }

    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Self::Integer(value) => out.push_str(&value.to_string()),
            Self::Float(value) => out.push_str(&serde_json::Value::from(*value).to_string()),
            Self::Text(value) => out.push_str(&serde_json::Value::from(value.as_str()).to_string()),
            Self::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Self::Object(members) => {
                out.push('{');
                for (index, (name, value)) in members.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::from(name.as_str()).to_string());
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Generates a member name: one the parsers look for, or any text.
pub(crate) fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(NAMES).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(VALUES).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::Integer),
        (1_600_000_000_i64..1_800_000_000).prop_map(Json::Integer),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Json::Float),
        text().prop_map(Json::Text),
    ]
}

/// Generates any JSON value, nested up to three levels.
pub(crate) fn value() -> impl Strategy<Value = Json> {
    leaf().prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((name(), inner), 0..6).prop_map(Json::Object),
        ]
    })
}

/// Generates a JSON object whose members may repeat a name.
pub(crate) fn object() -> impl Strategy<Value = Json> {
    prop::collection::vec((name(), value()), 0..8).prop_map(Json::Object)
}
