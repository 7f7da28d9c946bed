//! Key pairs for every supported algorithm, and their public halves in every format.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers panic on failure, as a failed assertion does"
)]

use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Map, Value, json};
use x509_cert::der::pem::{LineEnding, encode_string};

use super::b64;
use crate::algorithm::{Algorithm, KeyFamily};
use crate::key::{KeySet, VerifyingKey};

/// A key pair for one algorithm, with a key id.
///
/// `Debug` shows the key id and algorithm only.
#[derive(Clone)]
pub struct TestKey {
    kid: String,
    alg: Algorithm,
    pair: Arc<Pair>,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl TestKey {
    /// Generates a key pair for `alg` with a random key id; RSA keys have 2048 bits.
    ///
    /// # Panics
    ///
    /// When key generation fails.
    pub fn generate(alg: Algorithm) -> Self {
        Self::try_generate(alg, rsa::KeySize::Rsa2048).expect("key generation failed")
    }

    /// Generates an RSA key pair of `bits` (2048, 3072, 4096 or 8192) for `alg`.
    ///
    /// # Panics
    ///
    /// When `alg` is not an RSA algorithm, `bits` is not one of the sizes above, or key
    /// generation fails.
    pub fn generate_rsa(alg: Algorithm, bits: usize) -> Self {
        assert!(
            alg.family() == KeyFamily::Rsa,
            "{alg} is not an RSA algorithm"
        );
        let size = match bits {
            2048 => rsa::KeySize::Rsa2048,
            3072 => rsa::KeySize::Rsa3072,
            4096 => rsa::KeySize::Rsa4096,
            8192 => rsa::KeySize::Rsa8192,
            _ => panic!("unsupported RSA key size {bits}"),
        };
        Self::try_generate(alg, size).expect("key generation failed")
    }

    fn try_generate(alg: Algorithm, rsa_size: rsa::KeySize) -> Option<Self> {
        let pair = match alg.family() {
            KeyFamily::Rsa => Pair::Rsa(RsaKeyPair::generate(rsa_size).ok()?),
            KeyFamily::Ec(_) => Pair::Ecdsa(EcdsaKeyPair::generate(ecdsa_signing(alg)?).ok()?),
            KeyFamily::Ed25519 => Pair::Ed25519(Ed25519KeyPair::generate().ok()?),
        };
        Some(Self {
            kid: random_kid(),
            alg,
            pair: Arc::new(pair),
        })
    }

    /// Returns this key pair under another key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// Returns the same RSA key pair for another RSA algorithm, such as PS256 beside RS256.
    ///
    /// # Panics
    ///
    /// When the key is not an RSA key or `alg` is not an RSA algorithm.
    #[must_use]
    pub fn with_rsa_algorithm(mut self, alg: Algorithm) -> Self {
        assert!(
            matches!(*self.pair, Pair::Rsa(_)) && alg.family() == KeyFamily::Rsa,
            "with_rsa_algorithm needs an RSA key and an RSA algorithm"
        );
        self.alg = alg;
        self
    }

    /// Returns the key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Returns the algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Signs `message` with the key's algorithm, in the JWS signature encoding.
    ///
    /// # Panics
    ///
    /// When signing fails.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &*self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(rsa_signing(self.alg), &rng, message, &mut signature)
                    .expect("RSA signing failed");
                signature
            }
            Pair::Ecdsa(pair) => pair
                .sign(&rng, message)
                .expect("ECDSA signing failed")
                .as_ref()
                .to_vec(),
            Pair::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    /// Returns the public key as a JWK with `kid`, `alg` and `use: sig`.
    pub fn to_jwk(&self) -> Value {
        let mut jwk = match &*self.pair {
            Pair::Rsa(pair) => {
                let components =
                    signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "n": b64(&components.n), "e": b64(&components.e)})
            }
            Pair::Ecdsa(pair) => {
                let point = pair.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                let (x, y) = point.get(1..).unwrap_or_default().split_at(half);
                let crv = match self.alg {
                    Algorithm::ES384 => "P-384",
                    Algorithm::ES512 => "P-521",
                    _ => "P-256",
                };
                json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)})
            }
            Pair::Ed25519(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())})
            }
        };
        if let Value::Object(members) = &mut jwk {
            members.insert("kid".into(), self.kid.clone().into());
            members.insert("alg".into(), self.alg.name().into());
            members.insert("use".into(), "sig".into());
        }
        jwk
    }

    /// Returns the public key as a [`VerifyingKey`] with this key's `kid` and algorithm.
    ///
    /// # Panics
    ///
    /// When the generated public key cannot be parsed, which would be a bug.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_jwk(&self.to_jwk().to_string()).expect("generated key must parse")
    }

    /// Returns the DER SubjectPublicKeyInfo of the public key.
    ///
    /// # Panics
    ///
    /// When encoding fails.
    pub fn public_key_der(&self) -> Vec<u8> {
        let der: PublicKeyX509Der<'static> = match &*self.pair {
            Pair::Rsa(pair) => pair.public_key().as_der(),
            Pair::Ecdsa(pair) => pair.public_key().as_der(),
            Pair::Ed25519(pair) => pair.public_key().as_der(),
        }
        .expect("public key encoding failed");
        der.as_ref().to_vec()
    }

    /// Returns the public key as a `PUBLIC KEY` PEM block.
    pub fn public_key_pem(&self) -> String {
        pem("PUBLIC KEY", &self.public_key_der())
    }

    /// Returns an RSA public key as an `RSA PUBLIC KEY` (PKCS#1) PEM block; `None` for other
    /// key types.
    pub fn rsa_public_key_pem(&self) -> Option<String> {
        match &*self.pair {
            Pair::Rsa(pair) => Some(pem("RSA PUBLIC KEY", pair.public_key().as_ref())),
            _ => None,
        }
    }

    /// Returns a self-signed X.509 certificate of the public key as PEM, like the certificates
    /// Google publishes for Firebase.
    ///
    /// # Panics
    ///
    /// When the certificate cannot be made.
    pub fn certificate_pem(&self) -> String {
        let pkcs8: Vec<u8> = match &*self.pair {
            Pair::Rsa(pair) => AsDer::<Pkcs8V1Der<'_>>::as_der(pair)
                .expect("PKCS#8 encoding failed")
                .as_ref()
                .to_vec(),
            Pair::Ecdsa(pair) => pair
                .to_pkcs8v1()
                .expect("PKCS#8 encoding failed")
                .as_ref()
                .to_vec(),
            Pair::Ed25519(pair) => pair
                .to_pkcs8v1()
                .expect("PKCS#8 encoding failed")
                .as_ref()
                .to_vec(),
        };
        let signing_key =
            rcgen::KeyPair::try_from(pkcs8.as_slice()).expect("rcgen must read the key pair");
        let params = rcgen::CertificateParams::new(vec!["securetoken.test".to_owned()])
            .expect("valid certificate parameters");
        params
            .self_signed(&signing_key)
            .expect("self-signed certificate")
            .pem()
    }
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Returns a JWK set document (`{"keys": [...]}`) holding the public keys.
pub fn jwk_set<'k>(keys: impl IntoIterator<Item = &'k TestKey>) -> Value {
    let keys: Vec<Value> = keys.into_iter().map(TestKey::to_jwk).collect();
    json!({ "keys": keys })
}

/// Returns a certificate map (key id to PEM certificate), the format Google publishes for
/// Firebase.
pub fn certificate_map<'k>(keys: impl IntoIterator<Item = &'k TestKey>) -> Value {
    let map: Map<String, Value> = keys
        .into_iter()
        .map(|key| (key.kid.clone(), Value::String(key.certificate_pem())))
        .collect();
    Value::Object(map)
}

/// Returns a [`KeySet`] holding the public keys.
pub fn key_set<'k>(keys: impl IntoIterator<Item = &'k TestKey>) -> KeySet {
    KeySet::from_keys(keys.into_iter().map(TestKey::verifying_key))
}

fn pem(label: &str, der: &[u8]) -> String {
    encode_string(label, LineEnding::LF, der).expect("PEM encoding failed")
}

fn random_kid() -> String {
    let mut bytes = [0_u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("system random number generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rsa_signing(alg: Algorithm) -> &'static dyn signature::RsaEncoding {
    match alg {
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => &signature::RSA_PKCS1_SHA256,
    }
}

fn ecdsa_signing(alg: Algorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::ES256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        Algorithm::ES512 => Some(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
        _ => None,
    }
}
