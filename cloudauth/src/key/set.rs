//! Key sets: the keys a provider publishes, looked up by key id.

use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{VerifyingKey, jwk, pem};
use crate::algorithm::Algorithm;
use crate::error::{Error, ErrorKind};
use crate::token::json::{JsonError, JsonStr, Members};

/// An immutable set of verifying keys.
///
/// Built from a JWK set (`{"keys": [...]}`), from Google's map of key id to PEM certificate, or
/// from keys built one by one. Entries that cannot verify signatures (encryption keys, `oct`
/// keys, unknown key types or curves, RSA keys under 2048 bits, malformed entries) are skipped and
/// listed by [`KeySet::skipped`]; they never make the whole set fail.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    skipped: Vec<SkippedKey>,
}

/// A key set entry that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    kid: Option<String>,
    reason: &'static str,
}

impl SkippedKey {
    /// Returns the entry's key id, if it had a readable one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Returns why the entry was skipped, as a short phrase.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// The entries of a JWK set document, left unparsed.
struct JwkSetDocument<'a> {
    keys: Vec<&'a RawValue>,
}

impl KeySet {
    /// Builds a set from keys that were parsed one by one.
    pub fn from_keys(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
            skipped: Vec::new(),
        }
    }

    /// Parses a JWK set document (RFC 7517 section 5).
    ///
    /// ```
    /// use cloudauth::KeySet;
    ///
    /// let document = br#"{"keys": [
    ///     {"kty": "oct", "kid": "shared", "k": "c2VjcmV0"},
    ///     {"kty": "EC", "kid": "ec-1", "crv": "P-256", "alg": "ES256",
    ///      "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///      "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
    /// ]}"#;
    /// let keys = KeySet::from_jwks(document)?;
    /// assert_eq!(keys.len(), 1);
    /// assert_eq!(keys.skipped()[0].reason(), "symmetric (oct) keys are never used");
    /// # Ok::<(), cloudauth::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKeySet`] when the document is not a JSON object with a `keys` array.
    pub fn from_jwks(json: &[u8]) -> Result<Self, Error> {
        Self::from_jwks_limited(json, usize::MAX)
    }

    fn from_jwks_limited(json: &[u8], max_entries: usize) -> Result<Self, Error> {
        let not_a_set = || Error::new(ErrorKind::InvalidKeySet, "key set is not a JWK set");
        // serde's derived `Deserialize` also reads a struct from a JSON array, so the document
        // is first required to be an object.
        let members = Members::parse(json).map_err(|source| not_a_set().with_source(source))?;
        let keys = members.get("keys").ok_or_else(not_a_set)?;
        let document = JwkSetDocument {
            keys: serde_json::from_str(keys.get())
                .map_err(|source| not_a_set().with_source(JsonError::from(source)))?,
        };
        check_entry_count(document.keys.len(), max_entries)?;

        let mut set = Self::default();
        for entry in document.keys {
            match jwk::parse(entry.get()) {
                Ok(key) => set.keys.push(key),
                Err(reason) => set.skip(kid_of(entry), reason),
            }
        }
        Ok(set)
    }

    /// Parses a JSON object that maps key ids to PEM certificates or public keys, the format
    /// of Google's `securetoken` keys that Firebase ID tokens are signed with.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKeySet`] when the document is not a JSON object.
    pub fn from_certificate_map(json: &[u8]) -> Result<Self, Error> {
        Self::from_certificate_map_limited(json, usize::MAX)
    }

    fn from_certificate_map_limited(json: &[u8], max_entries: usize) -> Result<Self, Error> {
        let members = Members::parse(json).map_err(|source| {
            Error::new(ErrorKind::InvalidKeySet, "key set is not a certificate map")
                .with_source(source)
        })?;
        check_entry_count(members.len(), max_entries)?;

        let mut set = Self::default();
        for (kid, raw) in members.iter() {
            let parsed = JsonStr::from_raw(raw)
                .ok_or("certificate map value is not a string")
                .and_then(|text| pem::parse(&text));
            match parsed {
                Ok(key) => set.keys.push(key.with_kid(kid)),
                Err(reason) => set.skip(Some(kid.to_owned()), reason),
            }
        }
        Ok(set)
    }

    /// Parses either a JWK set or a certificate map; a top-level `keys` member marks a JWK set.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKeySet`] when the document is neither.
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        Self::from_json_limited(json, usize::MAX)
    }

    /// Like [`KeySet::from_json`], rejecting documents with more than `max_entries` entries
    /// before any key is parsed.
    pub(crate) fn from_json_limited(json: &[u8], max_entries: usize) -> Result<Self, Error> {
        let has_keys_member = Members::parse(json)
            .map(|members| members.get("keys").is_some())
            .map_err(|source| {
                Error::new(ErrorKind::InvalidKeySet, "key set is not a JSON object")
                    .with_source(source)
            })?;
        if has_keys_member {
            Self::from_jwks_limited(json, max_entries)
        } else {
            Self::from_certificate_map_limited(json, max_entries)
        }
    }

    /// Returns the number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Returns `true` when the set contains no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Returns the usable keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Returns the entries that were skipped while parsing, with their reasons.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// Returns `true` when a key has the id `kid`, for any algorithm.
    pub(crate) fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid() == Some(kid))
    }

    /// Returns the keys that may verify a token with this `kid` and `alg`. Without a `kid`, every
    /// key that supports `alg` is a candidate.
    pub(crate) fn candidates<'s>(
        &'s self,
        kid: Option<&'s str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'s VerifyingKey> + 's {
        self.keys.iter().filter(move |key| {
            let kid_matches = kid.is_none_or(|kid| key.kid() == Some(kid));
            kid_matches && key.supports(alg)
        })
    }

    fn skip(&mut self, kid: Option<String>, reason: &'static str) {
        tracing::debug!(
            target: "cloudauth::key_set",
            kid = kid.as_deref().map(|kid| kid.escape_debug().to_string()),
            reason,
            "skipped a key set entry"
        );
        self.skipped.push(SkippedKey { kid, reason });
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.keys)
            .field("skipped", &self.skipped)
            .finish()
    }
}

fn check_entry_count(count: usize, max_entries: usize) -> Result<(), Error> {
    if count > max_entries {
        return Err(Error::new(
            ErrorKind::InvalidKeySet,
            format!("key set has {count} entries, more than the maximum of {max_entries}"),
        ));
    }
    Ok(())
}

fn kid_of(entry: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct KidOnly {
        kid: Option<String>,
    }
    serde_json::from_str::<KidOnly>(entry.get())
        .ok()
        .and_then(|entry| entry.kid)
}
