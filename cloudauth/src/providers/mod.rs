//! Presets for Cognito, Auth0, Firebase and generic OpenID Connect issuers.
//!
//! A preset configures the core for one provider: its issuer, key set URL, audience or client
//! rule, token use rule, algorithms and scope claim. Each returns ready [`Verifier`]s that share
//! one [`RemoteKeySet`], and offers the provider's claim types.

pub mod auth0;
pub mod cognito;
pub mod firebase;
pub mod oidc;
mod serde_helpers;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::remote::{Fetcher, RemoteKeySet, RemoteKeySetBuilder};
use crate::verifier::{DEFAULT_LEEWAY, Verifier, VerifierBuilder};

/// A function that adjusts the key set settings of a preset.
type KeySetOptions = Box<dyn FnOnce(RemoteKeySetBuilder) -> RemoteKeySetBuilder + Send>;

/// Configures a provider preset: the provider's own settings in `P`, and the options every
/// preset shares, which are methods of this type.
///
/// # Defaults
///
/// - leeway: 60 seconds;
/// - key set URL and issuer: the provider's;
/// - HTTP client and cache settings: those of [`RemoteKeySet::builder`];
/// - clock: [`SystemClock`].
#[must_use]
pub struct PresetBuilder<P> {
    provider: P,
    common: Common,
}

/// The options every preset shares.
struct Common {
    leeway: Duration,
    jwks_url: Option<String>,
    issuers: Option<Vec<String>>,
    fetcher: Option<Arc<dyn Fetcher>>,
    key_set_options: Option<KeySetOptions>,
    clock: Arc<dyn Clock>,
}

impl<P> PresetBuilder<P> {
    fn new(provider: P) -> Self {
        Self {
            provider,
            common: Common {
                leeway: DEFAULT_LEEWAY,
                jwks_url: None,
                issuers: None,
                fetcher: None,
                key_set_options: None,
                clock: Arc::new(SystemClock),
            },
        }
    }

    /// Sets the leeway for `exp`, `nbf`, `iat` and `auth_time`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.common.leeway = leeway;
        self
    }

    /// Fetches keys from `url` instead of the provider's key set URL, such as a local emulator
    /// on 127.0.0.1. The expected issuer does not change.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.common.jwks_url = Some(url.into());
        self
    }

    /// Expects `issuer` instead of the provider's issuer; call it again to accept several, such
    /// as an Auth0 custom domain beside the tenant domain.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.common
            .issuers
            .get_or_insert_with(Vec::new)
            .push(issuer.into());
        self
    }

    /// Fetches keys with the application's own [`reqwest::Client`].
    #[cfg(feature = "reqwest")]
    pub fn http_client(self, client: reqwest::Client) -> Self {
        self.fetcher(crate::remote::ReqwestFetcher::with_client(client))
    }

    /// Fetches keys, and discovery documents, with `fetcher`.
    pub fn fetcher(mut self, fetcher: impl Fetcher) -> Self {
        self.common.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// Adjusts the key set settings, such as the stale period or the refresh bounds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cloudauth::providers::cognito::Cognito;
    ///
    /// let builder = Cognito::builder("eu-west-1", "eu-west-1_AbCdEf123")
    ///     .client_id("client")
    ///     .key_set_options(|keys| keys.max_stale(Duration::from_secs(3600)));
    /// # let _ = builder;
    /// ```
    pub fn key_set_options(
        mut self,
        options: impl FnOnce(RemoteKeySetBuilder) -> RemoteKeySetBuilder + Send + 'static,
    ) -> Self {
        self.common.key_set_options = Some(Box::new(options));
        self
    }

    /// Sets the clock for time claims and key freshness.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.common.clock = Arc::new(clock);
        self
    }
}

impl<P: fmt::Debug> fmt::Debug for PresetBuilder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresetBuilder")
            .field("provider", &self.provider)
            .field("leeway", &self.common.leeway)
            .field("jwks_url", &self.common.jwks_url)
            .field("issuers", &self.common.issuers)
            .finish_non_exhaustive()
    }
}

impl Common {
    /// Returns the configured issuers, or `default` when none were set.
    fn issuers_or(&self, default: String) -> Vec<String> {
        self.issuers.clone().unwrap_or_else(|| vec![default])
    }

    /// Builds the key set from the configured URL, or `default`.
    fn key_set(&mut self, default_url: String) -> Result<RemoteKeySet, Error> {
        let url = self.jwks_url.clone().unwrap_or(default_url);
        let mut builder = RemoteKeySet::builder(url).clock(Arc::clone(&self.clock));
        if let Some(fetcher) = &self.fetcher {
            builder = builder.fetcher(Arc::clone(fetcher));
        }
        if let Some(options) = self.key_set_options.take() {
            builder = options(builder);
        }
        builder.build()
    }

    /// Starts a verifier with the shared options applied.
    fn verifier(
        &self,
        keys: impl Into<crate::verifier::KeySource>,
        issuers: &[String],
    ) -> VerifierBuilder {
        let mut builder = Verifier::builder(keys)
            .leeway(self.leeway)
            .clock(Arc::clone(&self.clock));
        for issuer in issuers {
            builder = builder.issuer(issuer.clone());
        }
        builder
    }
}

/// Checks that `value` is a non-empty run of ASCII letters, digits and the characters in
/// `extra`, so that it can be placed in a URL.
fn check_identifier(what: &str, value: &str, extra: &[char]) -> Result<(), Error> {
    let valid = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c));
    if valid {
        return Ok(());
    }
    Err(Error::config(format!("{what} {value:?} is not valid")))
}
