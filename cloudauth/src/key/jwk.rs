//! JSON Web Keys (RFC 7517) for signature verification.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::VerifyingKey;
use crate::algorithm::{Algorithm, Curve, KeyFamily};

/// The JWK members cloudauth reads; others, such as `x5c`, are ignored.
#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    public_key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// Parses one JWK, returning the reason when it cannot verify signatures.
pub(super) fn parse(json: &str) -> Result<VerifyingKey, &'static str> {
    let jwk: Jwk = serde_json::from_str(json)
        .map_err(|_| "JWK is not a JSON object with members of the expected types")?;
    let kid = jwk.kid.clone();
    let key = jwk.into_key()?;
    Ok(match kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    })
}

impl Jwk {
    fn into_key(self) -> Result<VerifyingKey, &'static str> {
        if self.public_key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err("JWK use is not sig");
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err("JWK key_ops does not include verify");
        }
        let alg = match self.alg.as_deref() {
            None => None,
            Some(name) => Some(Algorithm::from_name(name).ok_or("JWK alg is not supported")?),
        };

        let key = match self.kty.as_deref() {
            Some("RSA") => self.rsa(alg)?,
            Some("EC") => self.ec()?,
            Some("OKP") => self.okp()?,
            Some("oct") => return Err("symmetric (oct) keys are never used"),
            Some(_) => return Err("JWK kty is not supported"),
            None => return Err("JWK has no kty"),
        };

        match alg {
            Some(alg) => key
                .with_algorithm(alg)
                .map_err(|_| "JWK alg does not fit its key type"),
            None => Ok(key),
        }
    }

    fn rsa(&self, alg: Option<Algorithm>) -> Result<VerifyingKey, &'static str> {
        if alg.is_some_and(|alg| alg.family() != KeyFamily::Rsa) {
            return Err("JWK alg does not fit its key type");
        }
        let modulus = decode(self.n.as_deref(), "RSA JWK has no valid n")?;
        let exponent = decode(self.e.as_deref(), "RSA JWK has no valid e")?;
        VerifyingKey::rsa(&modulus, &exponent, alg)
    }

    fn ec(&self) -> Result<VerifyingKey, &'static str> {
        let (curve, coordinate_len) = match self.crv.as_deref() {
            Some("P-256") => (Curve::P256, 32),
            Some("P-384") => (Curve::P384, 48),
            Some("P-521") => (Curve::P521, 66),
            _ => return Err("EC JWK crv is not supported"),
        };
        let x = decode(self.x.as_deref(), "EC JWK has no valid x")?;
        let y = decode(self.y.as_deref(), "EC JWK has no valid y")?;
        // RFC 7518 6.2.1.2: coordinates are the full size of the curve's field, never shortened.
        if x.len() != coordinate_len || y.len() != coordinate_len {
            return Err("EC JWK coordinates do not have the curve's length");
        }

        let mut point = Vec::with_capacity(1 + 2 * coordinate_len);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        VerifyingKey::ec(curve, &point)
    }

    fn okp(&self) -> Result<VerifyingKey, &'static str> {
        if self.crv.as_deref() != Some("Ed25519") {
            return Err("OKP JWK crv is not supported");
        }
        let x = decode(self.x.as_deref(), "OKP JWK has no valid x")?;
        VerifyingKey::ed25519(&x)
    }
}

fn decode(value: Option<&str>, reason: &'static str) -> Result<Vec<u8>, &'static str> {
    let value = value.ok_or(reason)?;
    URL_SAFE_NO_PAD.decode(value).map_err(|_| reason)
}
