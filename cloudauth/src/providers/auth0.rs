//! Auth0: access tokens for an API and ID tokens for an application.
//!
//! Tokens are RS256 JWTs with the issuer `https://{domain}/`, trailing slash included, and keys
//! at `https://{domain}/.well-known/jwks.json`. An access token's `aud`, a string or an array,
//! must contain the API identifier. An ID token's `aud` is the application's client id.
//!
//! ```no_run
//! use cloudauth::ScopeRequirement;
//! use cloudauth::providers::auth0::{AccessClaims, Auth0};
//!
//! # async fn run(token: &str) -> Result<(), cloudauth::Error> {
//! let auth0 = Auth0::builder("tenant.eu.auth0.com")
//!     .api_identifier("https://api.example.com")
//!     .client_id("app-client-id")
//!     .build()?;
//!
//! let access = auth0.access_tokens().expect("an API identifier is configured");
//! let writers = access.with_scopes(ScopeRequirement::all(["write:reports"]));
//! let claims: AccessClaims = writers.verify_async(token).await?;
//! println!("{} may {:?}", claims.sub, claims.permissions);
//! # Ok(()) }
//! ```

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{PresetBuilder, check_identifier};
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::remote::RemoteKeySet;
use crate::verifier::Verifier;

/// The claim that grants scopes by default: the role-based access control permissions.
pub const DEFAULT_SCOPE_CLAIM: &str = "permissions";

/// Verifiers for the tokens of one Auth0 tenant, sharing one key set.
#[derive(Debug, Clone)]
pub struct Auth0 {
    access: Option<Verifier>,
    id: Option<Verifier>,
    keys: RemoteKeySet,
}

/// The Auth0 settings of a [`PresetBuilder`].
#[derive(Debug, Clone)]
pub struct Auth0Config {
    domain: String,
    api_identifiers: Vec<String>,
    client_ids: Vec<String>,
    nonce: Option<String>,
    scope_claim: String,
}

/// Configures [`Auth0`].
pub type Auth0Builder = PresetBuilder<Auth0Config>;

impl Auth0 {
    /// Starts the preset for the tenant `domain`, such as `tenant.eu.auth0.com`; a leading
    /// `https://` and a trailing slash are ignored.
    pub fn builder(domain: impl Into<String>) -> Auth0Builder {
        let domain: String = domain.into();
        let domain = domain
            .strip_prefix("https://")
            .unwrap_or(&domain)
            .trim_end_matches('/')
            .to_owned();
        PresetBuilder::new(Auth0Config {
            domain,
            api_identifiers: Vec::new(),
            client_ids: Vec::new(),
            nonce: None,
            scope_claim: DEFAULT_SCOPE_CLAIM.to_owned(),
        })
    }

    /// Returns the verifier for access tokens, or `None` when no API identifier is configured.
    pub fn access_tokens(&self) -> Option<&Verifier> {
        self.access.as_ref()
    }

    /// Returns the verifier for ID tokens, or `None` when no client id is configured.
    pub fn id_tokens(&self) -> Option<&Verifier> {
        self.id.as_ref()
    }

    /// Returns the key set both verifiers use.
    pub fn key_set(&self) -> &RemoteKeySet {
        &self.keys
    }
}

impl Auth0Builder {
    /// Adds an API identifier that access tokens may be issued for.
    pub fn api_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.provider.api_identifiers.push(identifier.into());
        self
    }

    /// Adds an application client id that ID tokens may be issued to.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.provider.client_ids.push(client_id.into());
        self
    }

    /// Requires ID tokens to carry `nonce` with this value. Without it, `nonce` is not checked.
    ///
    /// A nonce belongs to one sign-in, so a fixed value suits tests. A login callback checks
    /// its own nonce with a verifier on the shared key set instead: `Verifier::builder(auth0
    /// .key_set().clone())` with the issuer, the client id as audience and
    /// `require_claim("nonce", [nonce])`.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.provider.nonce = Some(nonce.into());
        self
    }

    /// Sets the claim that grants scopes, replacing `permissions`; `scope` reads the OAuth
    /// scopes.
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.provider.scope_claim = claim.into();
        self
    }

    /// Builds the verifiers and the key set, which starts loading in the background.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfiguration`](crate::ErrorKind::InvalidConfiguration) when the
    /// domain is malformed, neither an API identifier nor a client id is set, or an override is
    /// invalid.
    pub fn build(mut self) -> Result<Auth0, Error> {
        let config = &self.provider;
        check_identifier("Auth0 domain", &config.domain, &['-', '.', ':'])?;
        if config.api_identifiers.is_empty() && config.client_ids.is_empty() {
            return Err(Error::config(
                "no Auth0 API identifier or client id configured; call api_identifier() or client_id()",
            ));
        }

        let issuers = self
            .common
            .issuers_or(format!("https://{}/", config.domain));
        let keys = self
            .common
            .key_set(format!("https://{}/.well-known/jwks.json", config.domain))?;
        let config = &self.provider;

        let access = if config.api_identifiers.is_empty() {
            None
        } else {
            let builder = self
                .common
                .verifier(keys.clone(), &issuers)
                .algorithms([Algorithm::RS256])
                .scope_claim(config.scope_claim.clone());
            let builder = config
                .api_identifiers
                .iter()
                .fold(builder, |builder, api| builder.audience(api.clone()));
            Some(builder.build()?)
        };

        let id = if config.client_ids.is_empty() {
            None
        } else {
            let mut builder = self
                .common
                .verifier(keys.clone(), &issuers)
                .algorithms([Algorithm::RS256])
                .scope_claim(config.scope_claim.clone());
            if let Some(nonce) = &config.nonce {
                builder = builder.require_claim("nonce", [nonce.clone()]);
            }
            let builder = config
                .client_ids
                .iter()
                .fold(builder, |builder, client| builder.audience(client.clone()));
            Some(builder.build()?)
        };

        Ok(Auth0 { access, id, keys })
    }
}

/// The claims of an Auth0 access token.
///
/// Custom claims are namespaced URLs, such as `https://example.com/roles`; they land in
/// `custom`, a map by default or the application's own type.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AccessClaims<C = Map<String, Value>> {
    /// The user's id, or `{client id}@clients` for machine-to-machine tokens.
    pub sub: String,
    /// The APIs the token is for; user tokens add the `/userinfo` URL.
    #[serde(deserialize_with = "super::serde_helpers::one_or_many")]
    pub aud: Vec<String>,
    /// The OAuth scopes, from the space-separated `scope` claim.
    #[serde(
        default,
        rename = "scope",
        deserialize_with = "super::serde_helpers::space_separated"
    )]
    pub scopes: Vec<String>,
    /// The permissions that role-based access control grants.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The application the token was issued to.
    #[serde(default)]
    pub azp: Option<String>,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: i64,
    /// The remaining claims.
    #[serde(flatten)]
    pub custom: C,
}

/// The claims of an Auth0 ID token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdClaims<C = Map<String, Value>> {
    /// The user's id.
    pub sub: String,
    /// The user's display name, from `name`.
    #[serde(default, rename = "name")]
    pub username: Option<String>,
    /// The user's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the email address is verified.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// The user's nickname.
    #[serde(default)]
    pub nickname: Option<String>,
    /// The URL of the user's picture.
    #[serde(default)]
    pub picture: Option<String>,
    /// The nonce of the login request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: i64,
    /// The remaining claims.
    #[serde(flatten)]
    pub custom: C,
}
