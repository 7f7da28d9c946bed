//! Generic OpenID Connect issuers, configured through discovery.
//!
//! The issuer's discovery document (`{issuer}/.well-known/openid-configuration`, OpenID Connect
//! Discovery 1.0 section 4) names the key set URL and the signing algorithms. Its `issuer` must
//! equal the configured issuer exactly (section 4.3), so a document cannot redirect trust to
//! another issuer.
//!
//! ```no_run
//! use cloudauth::providers::oidc::Oidc;
//!
//! # async fn run(token: &str) -> Result<(), cloudauth::Error> {
//! let issuer = Oidc::builder("https://login.example.com/realms/main")
//!     .audience("my-api")
//!     .discover()
//!     .await?;
//! let claims: serde_json::Value = issuer.verifier().verify_async(token).await?;
//! # let _ = claims;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::PresetBuilder;
use crate::algorithm::Algorithm;
use crate::error::{Error, ErrorKind};
use crate::remote::{FetchRequest, Fetcher, RemoteKeySet};
use crate::verifier::Verifier;

/// The largest discovery document accepted, in bytes.
const MAX_DISCOVERY_BYTES: usize = 256 * 1024;

/// The time allowed for fetching the discovery document.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A verifier for one OpenID Connect issuer, configured from its discovery document.
#[derive(Debug, Clone)]
pub struct Oidc {
    verifier: Verifier,
    keys: RemoteKeySet,
    metadata: ProviderMetadata,
}

/// The parts of a discovery document that verification uses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// The key set URL.
    pub jwks_uri: String,
    /// The supported signature algorithms the issuer announces; RS256 when it announces none.
    pub algorithms: Vec<Algorithm>,
}

/// The OpenID Connect settings of a [`PresetBuilder`].
#[derive(Debug, Clone)]
pub struct OidcConfig {
    issuer: String,
    audiences: Vec<String>,
    scope_claim: String,
}

/// Configures [`Oidc`].
pub type OidcBuilder = PresetBuilder<OidcConfig>;

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

impl Oidc {
    /// Starts the preset for `issuer`, the exact issuer identifier its tokens carry.
    pub fn builder(issuer: impl Into<String>) -> OidcBuilder {
        PresetBuilder::new(OidcConfig {
            issuer: issuer.into(),
            audiences: Vec::new(),
            scope_claim: "scope".to_owned(),
        })
    }

    /// Returns the verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Returns the key set.
    pub fn key_set(&self) -> &RemoteKeySet {
        &self.keys
    }

    /// Returns what discovery found.
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }
}

impl OidcBuilder {
    /// Adds an accepted audience; at least one is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.provider.audiences.push(audience.into());
        self
    }

    /// Sets the claim that grants scopes; the default is `scope`.
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.provider.scope_claim = claim.into();
        self
    }

    /// Fetches the discovery document and builds the verifier. The discovered issuer, which
    /// must equal the configured one, is always accepted; issuers set with
    /// [`PresetBuilder::issuer`] are accepted beside it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::KeySetUnavailable`] when the document cannot be fetched or read;
    /// [`ErrorKind::InvalidConfiguration`] when its `issuer` differs from the configured one,
    /// its `jwks_uri` is not `https://` (or `http://` to a loopback host), or no audience is set.
    pub async fn discover(mut self) -> Result<Oidc, Error> {
        if self.provider.audiences.is_empty() {
            return Err(Error::config("no audience configured; call audience()"));
        }
        let metadata = self.fetch_metadata().await?;

        let mut issuers = self.common.issuers_or(metadata.issuer.clone());
        if !issuers.contains(&metadata.issuer) {
            issuers.push(metadata.issuer.clone());
        }
        let keys = self.common.key_set(metadata.jwks_uri.clone())?;
        let builder = self
            .common
            .verifier(keys.clone(), &issuers)
            .algorithms(metadata.algorithms.iter().copied())
            .scope_claim(self.provider.scope_claim.clone());
        let verifier = self
            .provider
            .audiences
            .iter()
            .fold(builder, |builder, audience| {
                builder.audience(audience.clone())
            })
            .build()?;

        Ok(Oidc {
            verifier,
            keys,
            metadata,
        })
    }

    async fn fetch_metadata(&self) -> Result<ProviderMetadata, Error> {
        let issuer = &self.provider.issuer;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let url = crate::remote::parse_key_set_url(&url)?;
        let fetcher = self.discovery_fetcher()?;

        let request = FetchRequest::new(url.clone(), DISCOVERY_TIMEOUT, MAX_DISCOVERY_BYTES);
        let unavailable = |message: String| Error::new(ErrorKind::KeySetUnavailable, message);
        let response = fetcher
            .fetch(&request)
            .await
            .map_err(|error| unavailable(format!("discovery from {url} failed: {error}")))?;
        if response.status != 200 {
            return Err(unavailable(format!(
                "discovery endpoint {url} answered with HTTP status {}",
                response.status
            )));
        }
        let document: DiscoveryDocument = serde_json::from_slice(&response.body)
            .map_err(|_| unavailable(format!("discovery document from {url} is invalid")))?;

        if document.issuer != *issuer {
            return Err(Error::config(format!(
                "discovery document names issuer {:?}, expected {issuer:?}",
                document.issuer
            )));
        }
        let mut algorithms: Vec<Algorithm> = document
            .id_token_signing_alg_values_supported
            .iter()
            .filter_map(|name| Algorithm::from_name(name))
            .collect();
        if algorithms.is_empty() {
            algorithms.push(Algorithm::RS256);
        }
        Ok(ProviderMetadata {
            issuer: document.issuer,
            jwks_uri: document.jwks_uri,
            algorithms,
        })
    }

    fn discovery_fetcher(&self) -> Result<Arc<dyn Fetcher>, Error> {
        if let Some(fetcher) = &self.common.fetcher {
            return Ok(Arc::clone(fetcher));
        }
        crate::remote::default_fetcher()
    }
}
