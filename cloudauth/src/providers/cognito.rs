//! AWS Cognito user pools: access and ID tokens.
//!
//! Both kinds are RS256 JWTs with the issuer `https://cognito-idp.{region}.amazonaws.com/{pool}`
//! and keys at `{issuer}/.well-known/jwks.json`. Access tokens have no `aud`; their `client_id`
//! must be one of the app clients. ID tokens carry the app client in `aud`. `token_use` is
//! `access` or `id` and must match the verifier.
//!
//! ```no_run
//! use cloudauth::ScopeRequirement;
//! use cloudauth::providers::cognito::{AccessClaims, Cognito, IdClaims};
//!
//! # async fn run(access_token: &str, id_token: &str) -> Result<(), cloudauth::Error> {
//! let cognito = Cognito::builder("eu-west-1", "eu-west-1_AbCdEf123")
//!     .client_id("4b2cl1ent1d")
//!     .build()?;
//!
//! let readers = cognito
//!     .access_tokens()
//!     .with_scopes(ScopeRequirement::all(["read:users"]));
//! let access: AccessClaims = readers.verify_async(access_token).await?;
//! let user: IdClaims = cognito.id_tokens().verify_async(id_token).await?;
//! println!("{} is {}", access.sub, user.username);
//! # Ok(()) }
//! ```

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{PresetBuilder, check_identifier};
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::remote::RemoteKeySet;
use crate::verifier::Verifier;

/// The claim that grants scopes by default: the user's groups.
pub const DEFAULT_SCOPE_CLAIM: &str = "cognito:groups";

/// Verifiers for the tokens of one Cognito user pool, sharing one key set.
#[derive(Debug, Clone)]
pub struct Cognito {
    access: Verifier,
    id: Verifier,
    keys: RemoteKeySet,
}

/// The Cognito settings of a [`PresetBuilder`].
#[derive(Debug, Clone)]
pub struct CognitoConfig {
    region: String,
    user_pool_id: String,
    client_ids: Vec<String>,
    scope_claim: String,
}

/// Configures [`Cognito`].
pub type CognitoBuilder = PresetBuilder<CognitoConfig>;

impl Cognito {
    /// Starts the preset for the user pool `user_pool_id` in `region`, such as `eu-west-1`
    /// and `eu-west-1_AbCdEf123`.
    pub fn builder(region: impl Into<String>, user_pool_id: impl Into<String>) -> CognitoBuilder {
        PresetBuilder::new(CognitoConfig {
            region: region.into(),
            user_pool_id: user_pool_id.into(),
            client_ids: Vec::new(),
            scope_claim: DEFAULT_SCOPE_CLAIM.to_owned(),
        })
    }

    /// Returns the verifier for access tokens: `token_use` = `access` and `client_id` one of
    /// the app clients.
    pub fn access_tokens(&self) -> &Verifier {
        &self.access
    }

    /// Returns the verifier for ID tokens: `token_use` = `id` and `aud` one of the app clients.
    pub fn id_tokens(&self) -> &Verifier {
        &self.id
    }

    /// Returns the key set both verifiers use, for its status and a forced refresh.
    pub fn key_set(&self) -> &RemoteKeySet {
        &self.keys
    }

    /// Returns the issuer of the pool's tokens.
    pub fn issuer_for(region: &str, user_pool_id: &str) -> String {
        format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
    }
}

impl CognitoBuilder {
    /// Adds an app client whose tokens are accepted; call it once per client.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.provider.client_ids.push(client_id.into());
        self
    }

    /// Sets the claim that grants scopes, replacing `cognito:groups`; `scope` reads the OAuth
    /// scopes of access tokens.
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.provider.scope_claim = claim.into();
        self
    }

    /// Builds both verifiers and the key set, which starts loading in the background.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfiguration`](crate::ErrorKind::InvalidConfiguration) when the
    /// region or pool id is malformed, no app client is set, or an override is invalid.
    pub fn build(mut self) -> Result<Cognito, Error> {
        let config = &self.provider;
        check_identifier("Cognito region", &config.region, &['-'])?;
        check_identifier("Cognito user pool id", &config.user_pool_id, &['-', '_'])?;
        // Pool ids have the form `{region}_{id}`, such as `eu-west-1_AbCdEf123`.
        let in_region = config
            .user_pool_id
            .strip_prefix(config.region.as_str())
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|id| !id.is_empty());
        if !in_region {
            return Err(Error::config(format!(
                "Cognito user pool id {:?} does not have the form {}_<id> of its region {:?}",
                config.user_pool_id, config.region, config.region
            )));
        }
        if config.client_ids.is_empty() {
            return Err(Error::config(
                "no Cognito app client configured; call client_id()",
            ));
        }

        let issuer = Cognito::issuer_for(&config.region, &config.user_pool_id);
        let issuers = self.common.issuers_or(issuer.clone());
        let keys = self
            .common
            .key_set(format!("{issuer}/.well-known/jwks.json"))?;
        let config = &self.provider;

        let access = self
            .common
            .verifier(keys.clone(), &issuers)
            .algorithms([Algorithm::RS256])
            .insecure_skip_audience_check()
            .require_claim("token_use", ["access"])
            .require_claim("client_id", config.client_ids.clone())
            .scope_claim(config.scope_claim.clone())
            .build()?;
        let id = self
            .common
            .verifier(keys.clone(), &issuers)
            .algorithms([Algorithm::RS256])
            .require_claim("token_use", ["id"])
            .scope_claim(config.scope_claim.clone());
        let id = config
            .client_ids
            .iter()
            .fold(id, |builder, client| builder.audience(client.clone()))
            .build()?;

        Ok(Cognito { access, id, keys })
    }
}

/// The claims of a Cognito access token.
///
/// `C` receives the remaining claims: a map by default, or the application's own type with
/// `#[derive(Deserialize)]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AccessClaims<C = Map<String, Value>> {
    /// The user's id, or the app client's for machine-to-machine tokens.
    pub sub: String,
    /// The app client the token was issued to.
    pub client_id: String,
    /// The user name; absent in machine-to-machine tokens.
    #[serde(default)]
    pub username: Option<String>,
    /// The OAuth scopes, from the space-separated `scope` claim.
    #[serde(
        default,
        rename = "scope",
        deserialize_with = "super::serde_helpers::space_separated"
    )]
    pub scopes: Vec<String>,
    /// The user's groups.
    #[serde(default, rename = "cognito:groups")]
    pub groups: Vec<String>,
    /// Always `access`.
    pub token_use: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: i64,
    /// The remaining claims.
    #[serde(flatten)]
    pub custom: C,
}

/// The claims of a Cognito ID token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdClaims<C = Map<String, Value>> {
    /// The user's id.
    pub sub: String,
    /// The user name, from `cognito:username`.
    #[serde(rename = "cognito:username")]
    pub username: String,
    /// The user's email address, when the pool stores one.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the email address is verified; the strings `"true"` and `"false"` are accepted
    /// too.
    #[serde(default, deserialize_with = "super::serde_helpers::lenient_bool")]
    pub email_verified: Option<bool>,
    /// The user's groups.
    #[serde(default, rename = "cognito:groups")]
    pub groups: Vec<String>,
    /// The app clients the token was issued to.
    #[serde(deserialize_with = "super::serde_helpers::one_or_many")]
    pub aud: Vec<String>,
    /// Always `id`.
    pub token_use: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: i64,
    /// The remaining claims, among them `custom:*` attributes.
    #[serde(flatten)]
    pub custom: C,
}

impl IdClaims<Map<String, Value>> {
    /// Returns the custom attribute `custom:{name}` as text.
    pub fn custom_attribute(&self, name: &str) -> Option<&str> {
        self.custom
            .get(&format!("custom:{name}"))
            .and_then(Value::as_str)
    }
}
