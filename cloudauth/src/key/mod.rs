//! Public keys, parsed once into aws-lc-rs verification objects, and key sets.

mod jwk;
mod pem;
mod set;

use std::fmt;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};

use crate::algorithm::{Algorithm, Curve, KeyFamily};
use crate::error::{Error, ErrorKind};

pub use set::{KeySet, SkippedKey};

/// The smallest RSA modulus accepted, in bits (RFC 7518 section 3.3 and NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus accepted, in bits; aws-lc-rs verifies up to this size.
pub const MAX_RSA_BITS: usize = 8192;

/// A public key ready to verify signatures, with its key id and algorithm restriction.
///
/// The key material is parsed when the key is built, once for each algorithm it may verify, so
/// verifying a token parses no key. `Debug` shows the key id, type and algorithms, never the key.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<Box<str>>,
    family: KeyFamily,
    rsa_bits: usize,
    /// A hash of the public key material, equal for equal keys across key set fetches.
    fingerprint: u64,
    /// The parsed key for each algorithm this key verifies; a JWK `alg` leaves one entry.
    parsed: Vec<(Algorithm, ParsedPublicKey)>,
}

impl VerifyingKey {
    /// Parses a single JSON Web Key (RFC 7517) given as JSON text.
    ///
    /// Accepted are `RSA` keys of 2048 to 8192 bits, `EC` keys on P-256, P-384 and P-521 and
    /// `OKP` keys on Ed25519. The key's `kid` and `alg` are kept.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] when the JWK is malformed, of another type or curve, marked for
    /// a use other than `sig`, lacks `verify` in its `key_ops`, or has an RSA modulus out of
    /// range.
    pub fn from_jwk(json: &str) -> Result<Self, Error> {
        jwk::parse(json).map_err(|reason| Error::new(ErrorKind::InvalidKey, reason))
    }

    /// Parses a PEM block: a `PUBLIC KEY` (SubjectPublicKeyInfo), an `RSA PUBLIC KEY` (PKCS#1)
    /// or a `CERTIFICATE` (X.509), whose subject public key is used.
    ///
    /// A certificate is only a container here: its validity dates and issuer are not checked,
    /// as Firebase and Google publish signing keys as self-signed certificates.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] when the text is not one of these PEM blocks or holds a key of
    /// an unsupported type or size.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        pem::parse(pem).map_err(|reason| Error::new(ErrorKind::InvalidKey, reason))
    }

    /// Parses a DER-encoded SubjectPublicKeyInfo (RFC 5280 section 4.1).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] when the DER is malformed or contains an unsupported key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        pem::parse_spki(der).map_err(|reason| Error::new(ErrorKind::InvalidKey, reason))
    }

    /// Sets the key id that tokens name in their `kid` header.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into().into_boxed_str());
        self
    }

    /// Restricts the key to one algorithm, as a JWK `alg` member does.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] when the key cannot verify `alg`, such as an EC key and RS256.
    pub fn with_algorithm(mut self, alg: Algorithm) -> Result<Self, Error> {
        self.parsed.retain(|(candidate, _)| *candidate == alg);
        if self.parsed.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!("a {} key cannot verify {alg}", self.key_type()),
            ));
        }
        Ok(self)
    }

    /// Returns the key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Returns the algorithms this key verifies.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.parsed.iter().map(|(alg, _)| *alg)
    }

    /// Returns the JWK key type: `"RSA"`, `"EC"` or `"OKP"`.
    pub fn key_type(&self) -> &'static str {
        match self.family {
            KeyFamily::Rsa => "RSA",
            KeyFamily::Ec(_) => "EC",
            KeyFamily::Ed25519 => "OKP",
        }
    }

    /// Returns `true` when this key may verify a signature made with `alg`.
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.parsed.iter().any(|(candidate, _)| *candidate == alg)
    }

    /// Returns a hash of the public key material, equal for equal keys.
    pub(crate) fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Checks `signature` over `message`; `false` when it does not verify or `alg` does not fit.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.parsed
            .iter()
            .find(|(candidate, _)| *candidate == alg)
            .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok())
    }

    /// Builds an RSA key from its modulus and exponent, big-endian.
    fn rsa(modulus: &[u8], exponent: &[u8], alg: Option<Algorithm>) -> Result<Self, &'static str> {
        let modulus = strip_leading_zeros(modulus);
        let bits = bit_length(modulus);
        if bits < MIN_RSA_BITS {
            return Err("RSA key is shorter than 2048 bits");
        }
        if bits > MAX_RSA_BITS {
            return Err("RSA key is longer than 8192 bits");
        }

        // An even exponent or one below 3 gives no valid RSA key (RFC 8017 3.1).
        let exponent = strip_leading_zeros(exponent);
        let exponent_valid = match exponent {
            [] => false,
            [only] => *only >= 3 && only % 2 == 1,
            [.., last] => last % 2 == 1,
        };
        if !exponent_valid {
            return Err("RSA key exponent is not an odd number of at least 3");
        }

        let components = RsaPublicKeyComponents {
            n: modulus,
            e: exponent,
        };
        let mut parsed = Vec::new();
        for candidate in Algorithm::RSA {
            if alg.is_some_and(|alg| alg != candidate) {
                continue;
            }
            let Some(parameters) = candidate.rsa_parameters() else {
                continue;
            };
            let key = components
                .to_parsed_public_key(parameters)
                .map_err(|_| "RSA key is invalid")?;
            parsed.push((candidate, key));
        }

        Ok(Self {
            kid: None,
            family: KeyFamily::Rsa,
            rsa_bits: bits,
            fingerprint: fingerprint(&[modulus, exponent]),
            parsed,
        })
    }

    /// Builds an ECDSA key from a SEC1 encoded point.
    fn ec(curve: Curve, point: &[u8]) -> Result<Self, &'static str> {
        let alg = curve.algorithm();
        let key = ParsedPublicKey::new(alg.verification(), point)
            .map_err(|_| "EC key is not a valid point on its curve")?;
        Ok(Self {
            kid: None,
            family: KeyFamily::Ec(curve),
            rsa_bits: 0,
            fingerprint: fingerprint(&[point]),
            parsed: vec![(alg, key)],
        })
    }

    /// Builds an Ed25519 key from its 32 raw bytes.
    fn ed25519(public_key: &[u8]) -> Result<Self, &'static str> {
        if public_key.len() != 32 {
            return Err("Ed25519 key is not 32 bytes long");
        }
        let key = ParsedPublicKey::new(Algorithm::EdDSA.verification(), public_key)
            .map_err(|_| "Ed25519 key is invalid")?;
        Ok(Self {
            kid: None,
            family: KeyFamily::Ed25519,
            rsa_bits: 0,
            fingerprint: fingerprint(&[public_key]),
            parsed: vec![(Algorithm::EdDSA, key)],
        })
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("VerifyingKey");
        debug.field("kid", &self.kid).field("kty", &self.key_type());
        match self.family {
            KeyFamily::Rsa => debug.field("bits", &self.rsa_bits),
            KeyFamily::Ec(curve) => debug.field("crv", &curve.name()),
            KeyFamily::Ed25519 => debug.field("crv", &"Ed25519"),
        };
        let algorithms: Vec<Algorithm> = self.algorithms().collect();
        debug.field("algorithms", &algorithms).finish()
    }
}

fn fingerprint(parts: &[&[u8]]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

fn bit_length(unsigned: &[u8]) -> usize {
    match unsigned.first() {
        None => 0,
        Some(top) => (unsigned.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}
