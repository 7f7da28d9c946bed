//! Keys from PEM blocks and DER SubjectPublicKeyInfo structures.

use pkcs1::RsaPublicKey;
use x509_cert::Certificate;
use x509_cert::der::asn1::UintRef;
use x509_cert::der::{Decode, pem};
use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

use super::VerifyingKey;
use crate::algorithm::Curve;

/// rsaEncryption (RFC 8017 appendix C).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey (RFC 5480 section 2.1.1).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// id-Ed25519 (RFC 8410 section 3).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// Named curves (RFC 5480 section 2.1.1.1).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// Parses a `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE` PEM block.
pub(super) fn parse(text: &str) -> Result<VerifyingKey, &'static str> {
    let (label, der) = pem::decode_vec(text.trim().as_bytes()).map_err(|_| "not a PEM block")?;
    match label {
        "PUBLIC KEY" => parse_spki(&der),
        "RSA PUBLIC KEY" => parse_pkcs1(&der),
        "CERTIFICATE" => {
            let certificate =
                Certificate::from_der(&der).map_err(|_| "not a valid X.509 certificate")?;
            let spki = certificate.tbs_certificate().subject_public_key_info();
            let algorithm = spki.algorithm.oid;
            let parameters = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            let Some(key_bytes) = spki.subject_public_key.as_bytes() else {
                return Err("certificate public key is not a whole number of bytes");
            };
            from_parts(algorithm, parameters, key_bytes)
        }
        _ => Err("PEM label is not PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE"),
    }
}

/// Parses a DER SubjectPublicKeyInfo.
pub(super) fn parse_spki(der: &[u8]) -> Result<VerifyingKey, &'static str> {
    let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| "not a valid public key")?;
    let parameters = spki
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let Some(key_bytes) = spki.subject_public_key.as_bytes() else {
        return Err("public key is not a whole number of bytes");
    };
    from_parts(spki.algorithm.oid, parameters, key_bytes)
}

fn from_parts(
    algorithm: ObjectIdentifier,
    parameters: Option<ObjectIdentifier>,
    key_bytes: &[u8],
) -> Result<VerifyingKey, &'static str> {
    if algorithm == RSA_ENCRYPTION {
        return parse_pkcs1(key_bytes);
    }
    if algorithm == ED25519 {
        return VerifyingKey::ed25519(key_bytes);
    }
    if algorithm != EC_PUBLIC_KEY {
        return Err("public key type is not supported");
    }

    let curve = match parameters {
        Some(oid) if oid == SECP256R1 => Curve::P256,
        Some(oid) if oid == SECP384R1 => Curve::P384,
        Some(oid) if oid == SECP521R1 => Curve::P521,
        _ => return Err("EC public key curve is not supported"),
    };
    VerifyingKey::ec(curve, key_bytes)
}

fn parse_pkcs1(der: &[u8]) -> Result<VerifyingKey, &'static str> {
    let key = RsaPublicKey::<UintRef<'_>>::from_der(der).map_err(|_| "not a valid RSA key")?;
    VerifyingKey::rsa(key.modulus.as_bytes(), key.public_exponent.as_bytes(), None)
}
