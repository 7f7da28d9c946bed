//! cloudauth verifies access and ID tokens issued by AWS Cognito, Auth0 and Firebase
//! Authentication.
//!
//! A [`Verifier`] checks a compact JWS token against a [`KeySet`]: structure and size first,
//! then the header (`alg` in an allow-list, no `crit`, `kid`), the signature with a key parsed
//! once when the set was loaded, and the claims `iss`, `aud`, `exp`, `nbf` and `iat` with one
//! leeway. The claims come back as the caller's own [`serde::Deserialize`] type or as raw JSON.
//!
//! ```
//! use cloudauth::testing::{TestKey, TokenBuilder};
//! use cloudauth::{Algorithm, KeySet, Verifier};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Claims {
//!     sub: String,
//! }
//!
//! let key = TestKey::generate(Algorithm::RS256);
//! let jwks = cloudauth::testing::jwk_set([&key]).to_string();
//!
//! let verifier = Verifier::builder(KeySet::from_jwks(jwks.as_bytes())?)
//!     .issuer("https://issuer.example")
//!     .audience("my-api")
//!     .build()?;
//!
//! let token = TokenBuilder::valid("https://issuer.example", "my-api").sign(&key);
//! let claims: Claims = verifier.verify(&token)?;
//! assert_eq!(claims.sub, "user-1");
//! # Ok::<(), cloudauth::Error>(())
//! ```
//!
//! # Features
//!
//! - `testing`: `testing::TestKey` and `testing::TokenBuilder` to generate keys and sign
//!   tokens in tests.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod claims;
mod clock;
mod error;
mod key;
#[cfg(feature = "utoipa")]
pub mod openapi;
pub mod providers;
mod remote;
mod scope;
mod token;
mod verifier;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "testing")]
pub mod testing;

/// Compiles the README's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorCategory, ErrorKind, TimeCheck};
pub use key::{KeySet, MAX_RSA_BITS, MIN_RSA_BITS, SkippedKey, VerifyingKey};
#[cfg(feature = "reqwest")]
pub use remote::{DEFAULT_CONNECT_TIMEOUT, ReqwestFetcher};
pub use remote::{
    FetchError, FetchErrorKind, FetchFuture, FetchRequest, FetchResponse, Fetcher, KeySetStatus,
    RemoteKeySet, RemoteKeySetBuilder,
};
pub use scope::{ScopeMatch, ScopeRequirement};
pub use verifier::{
    DEFAULT_CACHE_TTL, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LENGTH, KeySource, MAX_LEEWAY, Verifier,
    VerifierBuilder,
};
