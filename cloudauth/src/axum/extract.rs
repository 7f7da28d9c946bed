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
use crate::scope::{ExtraScopes, ScopeRequirement};
use crate::verifier::{Payload, Verifier};

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

/// The payload of a token that a layer or an earlier extractor verified, left in the request
/// extensions with the verifier that checked it.
pub(crate) struct Verified<K> {
    payload: Arc<str>,
    verifier: Verifier,
    kind: PhantomData<K>,
}

impl<K> Verified<K> {
    pub(crate) fn new(payload: Arc<str>, verifier: Verifier) -> Self {
        Self {
            payload,
            verifier,
            kind: PhantomData,
        }
    }
}

impl<K> Clone for Verified<K> {
    fn clone(&self) -> Self {
        Self {
            payload: Arc::clone(&self.payload),
            verifier: self.verifier.clone(),
            kind: PhantomData,
        }
    }
}

/// Returns the verifier of kind `K`: the router state's, or else a request extension's, which
/// the application or a layer put there.
fn resolve<K: TokenKind>(
    parts: &Parts,
    from_state: Option<TokenVerifier<K>>,
) -> Result<TokenVerifier<K>, AuthRejection> {
    let found = || parts.extensions.get::<TokenVerifier<K>>().cloned();
    from_state.or_else(found).ok_or_else(|| {
        let rejection = AuthRejection::new(
            RejectionKind::Misconfigured,
            "no token verifier in the router state or the request extensions",
        );
        rejection.log();
        rejection
    })
}

/// Returns the claims of the request's token as `verifier` accepts them, with the scopes of
/// its layer and `required` by the extractor. A payload that a layer verified with the same
/// rules is read again with this verifier's scopes checked on it; otherwise the token is
/// verified. `Ok(None)` means no token was sent.
async fn authenticate<K: TokenKind, T: DeserializeOwned>(
    parts: &mut Parts,
    verifier: &TokenVerifier<K>,
    required: Option<&ScopeRequirement>,
) -> Result<Option<T>, AuthRejection> {
    let extra = ExtraScopes {
        layer: &verifier.extra_scopes,
        extractor: required,
    };
    let reusable = parts
        .extensions
        .get::<Verified<K>>()
        .filter(|verified| verified.verifier.has_same_rules(&verifier.verifier));
    if let Some(verified) = reusable {
        let claims = verifier
            .verifier
            .claims_from_payload(&verified.payload, extra)
            .map_err(|error| verifier.reject(AuthRejection::from_error(error)))?;
        return Ok(Some(claims));
    }

    let Some((claims, payload)) = verify_request::<K, T>(parts, verifier, extra).await? else {
        return Ok(None);
    };
    let verified = Verified::<K>::new(payload.into_shared(), verifier.verifier.clone());
    parts.extensions.insert(verified);
    Ok(Some(claims))
}

/// Reads the token of `parts` and verifies it with `verifier`, including its scopes and the
/// `extra` ones, and returns the claims as `T` with the decoded payload.
pub(crate) async fn verify_request<K: TokenKind, T: DeserializeOwned>(
    parts: &Parts,
    verifier: &TokenVerifier<K>,
    extra: ExtraScopes<'_>,
) -> Result<Option<(T, Payload)>, AuthRejection> {
    let token = match verifier.options.sources.find(parts) {
        Credentials::Missing => return Ok(None),
        Credentials::Invalid(reason) => {
            return Err(verifier.reject(AuthRejection::new(RejectionKind::InvalidRequest, reason)));
        }
        Credentials::Token(token) => token,
    };

    match verifier
        .verifier
        .verify_async_with::<T>(&token, extra)
        .await
    {
        Ok(verified) => Ok(Some(verified)),
        Err(error) => Err(verifier.reject(AuthRejection::from_error(error))),
    }
}

/// Authenticates the request and converts its claims into `T`; `Ok(None)` means no token.
async fn extract<K: TokenKind, T: DeserializeOwned>(
    parts: &mut Parts,
    from_state: Option<TokenVerifier<K>>,
    required: Option<&ScopeRequirement>,
) -> Result<Option<T>, AuthRejection> {
    let verifier = resolve(parts, from_state)?;
    authenticate::<K, T>(parts, &verifier, required).await
}

/// Returns the claims, or the missing-credentials rejection of the verifier.
async fn require<K: TokenKind, T: DeserializeOwned>(
    parts: &mut Parts,
    from_state: Option<TokenVerifier<K>>,
    required: Option<&ScopeRequirement>,
) -> Result<T, AuthRejection> {
    let verifier = resolve(parts, from_state)?;
    match authenticate::<K, T>(parts, &verifier, required).await? {
        Some(claims) => Ok(claims),
        None => Err(verifier.missing()),
    }
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: VerifierFromState<Access>,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = require::<Access, T>(parts, state.token_verifier(), None).await?;
        Ok(Claims(claims))
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
        let claims = extract::<Access, T>(parts, state.token_verifier(), None).await?;
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
        let claims = require::<Id, T>(parts, state.token_verifier(), None).await?;
        Ok(CurrentUser(claims))
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
        let claims = extract::<Id, T>(parts, state.token_verifier(), None).await?;
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
        let required = Some(R::requirement());
        let claims = require::<Access, T>(parts, state.token_verifier(), required).await?;
        Ok(Scoped {
            claims,
            requirement: PhantomData,
        })
    }
}
