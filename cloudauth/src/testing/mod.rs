//! Keys and tokens for tests of applications that use cloudauth (feature `testing`).
//!
//! [`TestKey`] generates a key pair for any supported algorithm and exports its public half as a
//! JWK, a PEM public key or a self-signed certificate. [`TokenBuilder`] signs arbitrary headers
//! and claims, including deliberately broken tokens: `alg: none`, HMAC signed with public key
//! bytes, a tampered payload, duplicate members.
//!
//! [`LocalIssuer`] serves a key set on 127.0.0.1 for tests of remote key sets.
//!
//! These helpers panic when the system's random number generator or key generation fails,
//! since they serve tests only.

mod key;
mod local_issuer;
mod token;

pub use key::{TestKey, certificate_map, jwk_set, key_set};
pub use local_issuer::{Behavior, KeySetFormat, LocalIssuer};
pub use token::{TokenBuilder, b64, tamper_payload};
