//! Firebase Authentication ID tokens.
//!
//! Tokens are RS256 JWTs signed with Google's `securetoken` keys, which all projects share, so
//! the issuer `https://securetoken.google.com/{project}` and the audience `{project}` are what
//! separate one project from another. `sub` must be a non-empty string of at most 128
//! characters, and `auth_time` must not lie in the future.
//!
//! ```no_run
//! use cloudauth::providers::firebase::{Firebase, IdClaims};
//!
//! # async fn run(token: &str) -> Result<(), cloudauth::Error> {
//! let firebase = Firebase::builder("my-project").build()?;
//! let user: IdClaims = firebase.id_tokens().verify_async(token).await?;
//! println!("{} signed in with {}", user.user_id, user.firebase.sign_in_provider);
//! # Ok(()) }
//! ```

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{PresetBuilder, check_identifier};
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::remote::RemoteKeySet;
use crate::verifier::{KeySource, Verifier};

/// Google's map of key id to PEM certificate for the keys that sign Firebase ID tokens.
pub const KEYS_URL: &str =
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com";

/// The longest `sub` that Firebase issues, in characters.
pub const MAX_SUBJECT_CHARS: usize = 128;

/// The verifier for the ID tokens of one Firebase project.
#[derive(Debug, Clone)]
pub struct Firebase {
    id: Verifier,
    keys: Option<RemoteKeySet>,
}

/// The Firebase settings of a [`PresetBuilder`].
#[derive(Debug, Clone)]
pub struct FirebaseConfig {
    project_id: String,
    tenant: Option<String>,
    insecure_emulator: bool,
}

/// Configures [`Firebase`].
pub type FirebaseBuilder = PresetBuilder<FirebaseConfig>;

impl Firebase {
    /// Starts the preset for the project `project_id`.
    pub fn builder(project_id: impl Into<String>) -> FirebaseBuilder {
        PresetBuilder::new(FirebaseConfig {
            project_id: project_id.into(),
            tenant: None,
            insecure_emulator: false,
        })
    }

    /// Returns the verifier for ID tokens.
    pub fn id_tokens(&self) -> &Verifier {
        &self.id
    }

    /// Returns the key set, or `None` in emulator mode, which uses no keys.
    pub fn key_set(&self) -> Option<&RemoteKeySet> {
        self.keys.as_ref()
    }

    /// Returns the issuer of the project's tokens.
    pub fn issuer_for(project_id: &str) -> String {
        format!("https://securetoken.google.com/{project_id}")
    }
}

impl FirebaseBuilder {
    /// Accepts only tokens of users of the tenant `tenant_id` (`firebase.tenant`), for
    /// projects with multi-tenancy. Without it, users of any tenant and of none are accepted.
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.provider.tenant = Some(tenant_id.into());
        self
    }

    /// Accepts the unsigned tokens (`alg: none`) of the Firebase Authentication emulator, and no
    /// signed ones.
    ///
    /// Anyone can forge an unsigned token, so enable this only where the emulator runs, such as
    /// local development and tests. No environment variable turns it on; the application
    /// decides in code. Issuer, audience, expiry and subject are still checked.
    pub fn insecure_emulator(mut self) -> Self {
        self.provider.insecure_emulator = true;
        self
    }

    /// Builds the verifier; outside emulator mode the key set starts loading in the background.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfiguration`](crate::ErrorKind::InvalidConfiguration) when the
    /// project id is malformed or an override is invalid.
    pub fn build(mut self) -> Result<Firebase, Error> {
        let project_id = self.provider.project_id.clone();
        check_identifier("Firebase project id", &project_id, &['-'])?;
        let issuers = self.common.issuers_or(Firebase::issuer_for(&project_id));

        let (source, keys): (KeySource, Option<RemoteKeySet>) = if self.provider.insecure_emulator {
            tracing::warn!(
                target: "cloudauth::firebase",
                project_id,
                "Firebase emulator mode accepts unsigned tokens; never enable it in production"
            );
            (KeySource::insecure_unsigned_tokens(), None)
        } else {
            let keys = self.common.key_set(KEYS_URL.to_owned())?;
            (keys.clone().into(), Some(keys))
        };

        let mut id = self
            .common
            .verifier(source, &issuers)
            .algorithms([Algorithm::RS256])
            .audience(project_id)
            .require_subject(MAX_SUBJECT_CHARS);
        if let Some(tenant) = &self.provider.tenant {
            id = id.require_nested_claim(["firebase", "tenant"], [tenant.clone()]);
        }
        let id = id.build()?;
        Ok(Firebase { id, keys })
    }
}

/// The claims of a Firebase ID token. Custom claims are top-level members and land in
/// `custom`, a map by default or the application's own type.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdClaims<C = Map<String, Value>> {
    /// The user's id.
    pub sub: String,
    /// The user's id, equal to `sub`.
    pub user_id: String,
    /// The user's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the email address is verified.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// The user's display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The URL of the user's picture.
    #[serde(default)]
    pub picture: Option<String>,
    /// When the user signed in, in seconds since the Unix epoch.
    pub auth_time: i64,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: i64,
    /// Sign-in details.
    pub firebase: FirebaseInfo,
    /// The remaining claims, among them custom claims.
    #[serde(flatten)]
    pub custom: C,
}

/// The `firebase` claim: how the user signed in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FirebaseInfo {
    /// The sign-in method, such as `password`, `google.com` or `custom`.
    pub sign_in_provider: String,
    /// The tenant of a multi-tenant project.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The identities linked to the user, by provider.
    #[serde(default)]
    pub identities: Map<String, Value>,
}
