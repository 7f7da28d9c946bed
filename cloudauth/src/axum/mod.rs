//! axum integration (feature `axum`): extractors and layers that verify bearer tokens.
//!
//! Wrap a [`Verifier`] in [`AccessTokens`] or [`IdTokens`] and put it in the router state
//! (through [`FromRef`]) or in a request extension; the state wins when both provide one. Then:
//!
//! - [`Claims<T>`] extracts the claims of a verified access token as `T`;
//! - [`CurrentUser<T>`] extracts the claims of a verified ID token as `T`;
//! - [`Scoped<R, T>`] also requires the scopes that `R` names (see [`define_scopes!`](crate::define_scopes));
//! - [`TokenVerifier::require`] and [`TokenVerifier::layer`] return a layer for `route_layer`
//!   that rejects a request before the handler runs, and leaves the verified claims in the
//!   request so extractors do not verify the token again.
//!
//! `Option<Claims<T>>` gives `None` when no token was sent, but still rejects a token that is
//! present and invalid. A handler that wants every failure as a value, as fastapi-cloudauth's
//! `auto_error=False` gave it, takes `Result<Claims<T>, AuthRejection>`.
//!
//! Responses: 401 for token failures, 403 for missing scopes, 400 for malformed requests,
//! 503 with `Retry-After` when no key set could be loaded; see [`AuthRejection`].
//!
//! ```
//! use axum::{Router, extract::FromRef, routing::get};
//! use cloudauth::axum::{AccessTokens, Claims, IdTokens, RawClaims};
//! use cloudauth::ScopeRequirement;
//!
//! #[derive(Clone)]
//! struct AppState {
//!     access: AccessTokens,
//!     id: IdTokens,
//! }
//!
//! // `#[derive(FromRef)]` (axum's `macros` feature) writes these two impls.
//! impl FromRef<AppState> for AccessTokens {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.access.clone()
//!     }
//! }
//!
//! impl FromRef<AppState> for IdTokens {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.id.clone()
//!     }
//! }
//!
//! async fn hello(Claims(claims): Claims<RawClaims>) -> String {
//!     format!("Hello, {}", claims["sub"])
//! }
//!
//! fn router(state: AppState) -> Router {
//!     let readers = state.access.require(ScopeRequirement::all(["read:users"]));
//!     Router::new()
//!         .route("/", get(hello))
//!         .route_layer(readers)
//!         .with_state(state)
//! }
//! ```

mod credentials;
mod extract;
mod layer;
mod rejection;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::response::Response;

use crate::scope::ScopeRequirement;
use crate::verifier::Verifier;
use credentials::TokenSources;

pub use extract::{Claims, CurrentUser, RawClaims, ScopeSpec, Scoped};
pub use layer::{RequireToken, RequireTokenService};
pub use rejection::{AuthRejection, RejectionHandler, RejectionKind};

/// Marks verifiers and extractors for access tokens.
#[derive(Debug, Clone, Copy)]
pub enum Access {}

/// Marks verifiers and extractors for ID tokens.
#[derive(Debug, Clone, Copy)]
pub enum Id {}

/// The kind of token a [`TokenVerifier`] checks: [`Access`] or [`Id`].
pub trait TokenKind: Send + Sync + 'static + private::Sealed {}

impl TokenKind for Access {}
impl TokenKind for Id {}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Access {}
    impl Sealed for super::Id {}
}

/// A verifier for access tokens, for router state or a request extension.
pub type AccessTokens = TokenVerifier<Access>;

/// A verifier for ID tokens, for router state or a request extension.
pub type IdTokens = TokenVerifier<Id>;

/// A [`Verifier`] with the settings of its extractors: where tokens are read from and which
/// response a rejection gets.
///
/// # Defaults
///
/// - tokens are read from the `Authorization: Bearer` header only;
/// - CORS preflight requests are rejected like others by layers;
/// - rejections get the default response of [`AuthRejection`].
pub struct TokenVerifier<K> {
    verifier: Verifier,
    /// Requirements that layers from [`TokenVerifier::require`] add to the verifier's own.
    extra_scopes: Arc<[ScopeRequirement]>,
    options: Arc<Options>,
    kind: PhantomData<K>,
}

#[derive(Default, Clone)]
struct Options {
    sources: TokenSources,
    pass_preflight: bool,
    on_rejection: Option<RejectionHandler>,
}

impl<K: TokenKind> TokenVerifier<K> {
    /// Wraps `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            extra_scopes: Arc::new([]),
            options: Arc::new(Options::default()),
            kind: PhantomData,
        }
    }

    /// Returns the verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Also reads the token from the cookie `name`, for browsers, which cannot set headers on
    /// WebSocket upgrades. A request with the token in two places is rejected with 400.
    ///
    /// Browsers send cookies with cross-site requests too, so routes that change state need
    /// protection against cross-site request forgery, such as a `SameSite=Strict` cookie or a
    /// check of the `Origin` header.
    #[must_use]
    pub fn token_cookie(self, name: impl Into<String>) -> Self {
        self.with_options(|options| options.sources.cookie = Some(name.into()))
    }

    /// Also reads the token from the query parameter `name`. Query strings end up in access
    /// logs, so prefer the header or a cookie where clients can send them.
    #[must_use]
    pub fn token_query(self, name: impl Into<String>) -> Self {
        self.with_options(|options| options.sources.query = Some(name.into()))
    }

    /// Lets CORS preflight requests (`OPTIONS` with `Access-Control-Request-Method`) pass the
    /// layers of this verifier without a token, since browsers send them without credentials.
    #[must_use]
    pub fn pass_preflight(self) -> Self {
        self.with_options(|options| options.pass_preflight = true)
    }

    /// Builds every rejection response with `handler` instead of the default.
    #[must_use]
    pub fn on_rejection(
        self,
        handler: impl Fn(AuthRejection) -> Response + Send + Sync + 'static,
    ) -> Self {
        let handler: RejectionHandler = Arc::new(handler);
        self.with_options(|options| options.on_rejection = Some(handler))
    }

    /// Returns a layer for `route_layer` that requires a valid token and `scopes`, in addition
    /// to any scope requirement the verifier already has.
    pub fn require(&self, scopes: ScopeRequirement) -> RequireToken<K> {
        let mut extra_scopes = self.extra_scopes.to_vec();
        extra_scopes.push(scopes);
        RequireToken::new(Self {
            extra_scopes: extra_scopes.into(),
            ..self.clone()
        })
    }

    /// Returns a layer for `route_layer` that requires a valid token.
    pub fn layer(&self) -> RequireToken<K> {
        RequireToken::new(self.clone())
    }

    fn with_options(mut self, change: impl FnOnce(&mut Options)) -> Self {
        let mut options = Options::clone(&self.options);
        change(&mut options);
        self.options = Arc::new(options);
        self
    }

    /// Logs `rejection` and attaches the verifier's rejection handler.
    pub(crate) fn reject(&self, rejection: AuthRejection) -> AuthRejection {
        rejection.log();
        rejection.with_handler(self.options.on_rejection.clone())
    }

    /// Returns the rejection for a request without a token.
    pub(crate) fn missing(&self) -> AuthRejection {
        self.reject(AuthRejection::new(
            RejectionKind::MissingCredentials,
            "no bearer token",
        ))
    }
}

impl<K> Clone for TokenVerifier<K> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            extra_scopes: Arc::clone(&self.extra_scopes),
            options: Arc::clone(&self.options),
            kind: PhantomData,
        }
    }
}

impl<K: TokenKind> From<Verifier> for TokenVerifier<K> {
    fn from(verifier: Verifier) -> Self {
        Self::new(verifier)
    }
}

impl<K> fmt::Debug for TokenVerifier<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("verifier", &self.verifier)
            .field("sources", &self.options.sources)
            .field("pass_preflight", &self.options.pass_preflight)
            .finish_non_exhaustive()
    }
}

/// Gives the extractors a [`TokenVerifier`] from the router state.
///
/// Every state that provides one through [`FromRef`] implements it, and so does the empty
/// state `()`, for routers that put the verifier in a request extension instead.
pub trait VerifierFromState<K>: Send + Sync {
    /// Returns the verifier the state provides, if any.
    fn token_verifier(&self) -> Option<TokenVerifier<K>>;
}

impl<S, K> VerifierFromState<K> for S
where
    S: Send + Sync,
    TokenVerifier<K>: FromRef<S>,
{
    fn token_verifier(&self) -> Option<TokenVerifier<K>> {
        Some(TokenVerifier::from_ref(self))
    }
}

impl<K> VerifierFromState<K> for () {
    fn token_verifier(&self) -> Option<TokenVerifier<K>> {
        None
    }
}

/// Defines a type that names a scope requirement, for the [`Scoped`] extractor.
///
/// ```
/// cloudauth::define_scopes! {
///     /// Readers of the user list.
///     pub struct ReadUsers: all["read:users"];
/// }
/// cloudauth::define_scopes! {
///     pub struct Editors: any["write:users", "admin"];
/// }
/// ```
#[macro_export]
macro_rules! define_scopes {
    ($(#[$meta:meta])* $vis:vis struct $name:ident: $mode:ident [$($scope:expr),* $(,)?];) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;

        impl $crate::axum::ScopeSpec for $name {
            fn requirement() -> &'static $crate::ScopeRequirement {
                static REQUIREMENT: ::std::sync::OnceLock<$crate::ScopeRequirement> =
                    ::std::sync::OnceLock::new();
                REQUIREMENT.get_or_init(|| $crate::ScopeRequirement::$mode([$($scope),*]))
            }
        }
    };
}
