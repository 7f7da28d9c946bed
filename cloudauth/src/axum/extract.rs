//! The extractors: verified claims of access and ID tokens.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::credentials::Credentials;
use super::rejection::{AuthRejection, RejectionKind};
use super::{Access, Id, TokenKind, TokenVerifier, VerifierFromState};
use crate::scope::ScopeRequirement;

/// Claims without a type: the JSON object of the payload.
pub type RawClaims = Map<String, Value>;

/// The claims of a verified access token, as `T`.
#[derive(Debug, Clone)]
pub struct Claims<T = RawClaims>(pub T);

/// The claims of a verified ID token, as `T`: the signed-in user.
#[derive(Debug, Clone)]
pub struct CurrentUser<T = RawClaims>(pub T);

/// The claims of a verified access token that grants the scopes `R` names.
#[derive(Debug, Clone)]
pub struct Scoped<R, T = RawClaims> {
    /// The claims.
    pub claims: T,
    requirement: PhantomData<R>,
}

impl<R, T> Scoped<R, T> {
    /// Returns the claims.
    pub fn into_inner(self) -> T {
        self.claims
    }
}

/// A type that names a scope requirement; [`define_scopes!`](crate::define_scopes) defines one.
pub trait ScopeSpec: Send + Sync + 'static {
    /// Returns the requirement.
    fn requirement() -> &'static ScopeRequirement;
}

/// Claims that a layer or an earlier extractor verified, left in the request extensions.
pub(crate) struct Verified<K> {
    pub(crate) claims: Arc<Value>,
    kind: PhantomData<K>,
}

impl<K> Verified<K> {
    pub(crate) fn new(claims: Arc<Value>) -> Self {
        Self {
            claims,
            kind: PhantomData,
        }
    }
}

impl<K> Clone for Verified<K> {
    fn clone(&self) -> Self {
        Self {
            claims: Arc::clone(&self.claims),
            kind: PhantomData,
        }
    }
}

/// Verifies the request's token with the verifier of kind `K`, or returns the claims a layer
/// already verified. `Ok(None)` means no token was sent.
pub(crate) async fn authenticate<K: TokenKind>(
    parts: &mut Parts,
    from_state: Option<TokenVerifier<K>>,
) -> Result<Option<Arc<Value>>, AuthRejection> {
    if let Some(verified) = parts.extensions.get::<Verified<K>>() {
        return Ok(Some(Arc::clone(&verified.claims)));
    }
    let Some(verifier) = parts
        .extensions
        .get::<TokenVerifier<K>>()
        .cloned()
        .or(from_state)
    else {
        let rejection = AuthRejection::new(
            RejectionKind::Misconfigured,
            "no token verifier in the router state or the request extensions",
        );
        rejection.log();
        return Err(rejection);
    };
    let claims = verify_request(parts, &verifier).await?;
    if let Some(claims) = &claims {
        parts.extensions.insert(Verified::<K> {
            claims: Arc::clone(claims),
            kind: PhantomData,
        });
    }
    Ok(claims)
}

/// Reads the token of `parts` and verifies it with `verifier`, including its scopes.
pub(crate) async fn verify_request<K: TokenKind>(
    parts: &Parts,
    verifier: &TokenVerifier<K>,
) -> Result<Option<Arc<Value>>, AuthRejection> {
    let handler = verifier.options.on_rejection.clone();
    let token = match verifier.options.sources.find(parts) {
        Credentials::Missing => return Ok(None),
        Credentials::Invalid(reason) => {
            let rejection = AuthRejection::new(RejectionKind::InvalidRequest, reason);
            rejection.log();
            return Err(rejection.with_handler(handler));
        }
        Credentials::Token(token) => token,
    };

    match verifier.verifier.verify_async::<Value>(&token).await {
        Ok(claims) => Ok(Some(Arc::new(claims))),
        Err(error) => {
            let rejection = AuthRejection::from_error(error);
            rejection.log();
            Err(rejection.with_handler(handler))
        }
    }
}

/// Authenticates the request and converts its claims into `T`; `Ok(None)` means no token.
async fn extract<K: TokenKind, T: DeserializeOwned>(
    parts: &mut Parts,
    from_state: Option<TokenVerifier<K>>,
) -> Result<Option<T>, AuthRejection> {
    match authenticate::<K>(parts, from_state).await? {
        None => Ok(None),
        Some(claims) => convert(&claims).map(Some),
    }
}

/// Converts verified claims into `T`; claims that do not fit are an invalid token.
fn convert<T: DeserializeOwned>(claims: &Value) -> Result<T, AuthRejection> {
    T::deserialize(claims).map_err(|source| {
        let rejection = AuthRejection::from_error(crate::verifier::claims_mismatch(source));
        rejection.log();
        rejection
    })
}

fn missing() -> AuthRejection {
    let rejection = AuthRejection::new(RejectionKind::MissingCredentials, "no bearer token");
    rejection.log();
    rejection
}

/// Checks `requirement` against claims that were verified without it.
fn check_scopes(
    claims: &Value,
    requirement: &ScopeRequirement,
    verifier: &Option<TokenVerifier<Access>>,
    parts: &Parts,
) -> Result<(), AuthRejection> {
    let claim = parts
        .extensions
        .get::<TokenVerifier<Access>>()
        .or(verifier.as_ref())
        .map_or("scope", |verifier| verifier.verifier.scope_claim());
    requirement.check_json(claims, claim).map_err(|error| {
        let rejection = AuthRejection::from_error(error);
        rejection.log();
        rejection
    })
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: VerifierFromState<Access>,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = extract::<Access, T>(parts, state.token_verifier()).await?;
        claims.ok_or_else(missing).map(Claims)
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: VerifierFromState<Access>,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let claims = extract::<Access, T>(parts, state.token_verifier()).await?;
        Ok(claims.map(Claims))
    }
}

impl<S, T> FromRequestParts<S> for CurrentUser<T>
where
    S: VerifierFromState<Id>,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = extract::<Id, T>(parts, state.token_verifier()).await?;
        claims.ok_or_else(missing).map(CurrentUser)
    }
}

impl<S, T> OptionalFromRequestParts<S> for CurrentUser<T>
where
    S: VerifierFromState<Id>,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let claims = extract::<Id, T>(parts, state.token_verifier()).await?;
        Ok(claims.map(CurrentUser))
    }
}

impl<S, R, T> FromRequestParts<S> for Scoped<R, T>
where
    S: VerifierFromState<Access>,
    R: ScopeSpec,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let from_state = state.token_verifier();
        let claims = authenticate::<Access>(parts, from_state.clone()).await?;
        let claims = claims.ok_or_else(missing)?;
        check_scopes(&claims, R::requirement(), &from_state, parts)?;
        Ok(Scoped {
            claims: convert(&claims)?,
            requirement: PhantomData,
        })
    }
}
