//! A builder for signed, unsigned and deliberately broken tokens.

#![expect(
    clippy::panic,
    reason = "test helpers panic on failure, as a failed assertion does"
)]

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::TestKey;

/// Builds signed, unsigned and deliberately broken tokens.
///
/// The header gets `alg` and `kid` from the signing key unless they are set or removed here.
#[derive(Debug, Clone, Default)]
pub struct TokenBuilder {
    header: Map<String, Value>,
    removed_header: Vec<String>,
    claims: Map<String, Value>,
    raw_header: Option<String>,
    raw_payload: Option<String>,
}

impl TokenBuilder {
    /// Starts a token with an empty payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a token that a verifier for `issuer` and `audience` accepts now: `iss`, `aud`,
    /// `sub`, `iat` now and `exp` in one hour, by the system clock.
    pub fn valid(issuer: &str, audience: &str) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        Self::valid_at(issuer, audience, i64::try_from(now).unwrap_or(i64::MAX))
    }

    /// Like [`TokenBuilder::valid`], with `now` in seconds since the Unix epoch.
    pub fn valid_at(issuer: &str, audience: &str, now: i64) -> Self {
        Self::new()
            .claim("iss", issuer)
            .claim("aud", audience)
            .claim("sub", "user-1")
            .claim("iat", now)
            .claim("exp", now + 3600)
    }

    /// Sets a claim, replacing an earlier value.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets a header member, replacing the value the signing key would give.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Leaves a header member out, including `alg` or `kid`.
    pub fn remove_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self.removed_header.push(name.to_owned());
        self
    }

    /// Uses `json` verbatim as the header, for input that a JSON map cannot hold, such as a
    /// duplicate member.
    pub fn raw_header(mut self, json: &str) -> Self {
        self.raw_header = Some(json.to_owned());
        self
    }

    /// Uses `json` verbatim as the payload.
    pub fn raw_payload(mut self, json: &str) -> Self {
        self.raw_payload = Some(json.to_owned());
        self
    }

    /// Signs the token with `key`.
    pub fn sign(&self, key: &TestKey) -> String {
        let signing_input = self.signing_input(key.algorithm().name(), Some(key.kid()));
        let signature = key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&signature))
    }

    /// Signs the token with HMAC (`HS256`, `HS384` or `HS512`) keyed with `secret`, such as the
    /// bytes of a public key in an algorithm-confusion test.
    ///
    /// # Panics
    ///
    /// When `alg` is not one of the three names.
    pub fn sign_hmac(&self, alg: &str, secret: &[u8]) -> String {
        let algorithm = match alg {
            "HS256" => hmac::HMAC_SHA256,
            "HS384" => hmac::HMAC_SHA384,
            "HS512" => hmac::HMAC_SHA512,
            _ => panic!("{alg} is not an HMAC algorithm"),
        };
        let signing_input = self.signing_input(alg, None);
        let tag = hmac::sign(&hmac::Key::new(algorithm, secret), signing_input.as_bytes());
        format!("{signing_input}.{}", b64(tag.as_ref()))
    }

    /// Returns the token with `alg` set to `alg_name`, such as `none` or `NONE`, and an empty
    /// signature.
    pub fn unsigned(&self, alg_name: &str) -> String {
        format!("{}.", self.signing_input(alg_name, None))
    }

    /// Returns the token with `alg` set to `alg_name` and `signature` as its signature bytes.
    pub fn with_signature(&self, alg_name: &str, kid: Option<&str>, signature: &[u8]) -> String {
        format!("{}.{}", self.signing_input(alg_name, kid), b64(signature))
    }

    fn signing_input(&self, alg: &str, kid: Option<&str>) -> String {
        let header = match &self.raw_header {
            Some(raw) => raw.clone(),
            None => self.header_json(alg, kid),
        };
        let payload = match &self.raw_payload {
            Some(raw) => raw.clone(),
            None => Value::Object(self.claims.clone()).to_string(),
        };
        format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()))
    }

    fn header_json(&self, alg: &str, kid: Option<&str>) -> String {
        let mut header = Map::new();
        let removed = |name: &str| self.removed_header.iter().any(|r| r == name);
        if !removed("alg") {
            header.insert("alg".into(), alg.into());
        }
        if let Some(kid) = kid
            && !removed("kid")
        {
            header.insert("kid".into(), kid.into());
        }
        header.insert("typ".into(), "JWT".into());
        for (name, value) in &self.header {
            header.insert(name.clone(), value.clone());
        }
        Value::Object(header).to_string()
    }
}

/// Replaces the payload of a signed `token` with `claims`, keeping header and signature, so the
/// signature no longer matches.
pub fn tamper_payload(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or_default();
    let _payload = parts.next();
    let signature = parts.next().unwrap_or_default();
    format!(
        "{header}.{}.{signature}",
        b64(claims.to_string().as_bytes())
    )
}

/// Encodes bytes as unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
