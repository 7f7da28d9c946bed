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
use crate::verifier::Verifier;

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

/// Claims that a layer or an earlier extractor verified, left in the request extensions with
/// the verifier that checked them.
pub(crate) struct Verified<K> {
    claims: Arc<Value>,
    verifier: Verifier,
    kind: PhantomData<K>,
}

impl<K> Verified<K> {
    pub(crate) fn new(claims: Arc<Value>, verifier: Verifier) -> Self {
        Self {
            claims,
            verifier,
            kind: PhantomData,
        }
    }
}

impl<K> Clone for Verified<K> {
    fn clone(&self) -> Self {
        Self {
            claims: Arc::clone(&self.claims),
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

/// Returns the claims of the request's token as `verifier` accepts them. Claims that a layer
/// verified with the same rules are reused, with this verifier's scopes checked on them;
/// otherwise the token is verified. `Ok(None)` means no token was sent.
pub(crate) async fn authenticate<K: TokenKind>(
    parts: &mut Parts,
    verifier: &TokenVerifier<K>,
) -> Result<Option<Arc<Value>>, AuthRejection> {
    let reusable = parts
        .extensions
        .get::<Verified<K>>()
        .filter(|verified| verified.verifier.has_same_rules(&verifier.verifier))
        .map(|verified| Arc::clone(&verified.claims));
    if let Some(claims) = reusable {
        if let Some(own) = verifier.verifier.scope_requirement() {
            verifier.check_scopes(&claims, own)?;
        }
        for extra in verifier.extra_scopes.iter() {
            verifier.check_scopes(&claims, extra)?;
        }
        return Ok(Some(claims));
    }

    let claims = verify_request(parts, verifier).await?;
    if let Some(claims) = &claims {
        let verified = Verified::<K>::new(Arc::clone(claims), verifier.verifier.clone());
        parts.extensions.insert(verified);
    }
    Ok(claims)
}

/// Reads the token of `parts` and verifies it with `verifier`, including its scopes and the
/// extra requirements of its layer.
pub(crate) async fn verify_request<K: TokenKind>(
    parts: &Parts,
    verifier: &TokenVerifier<K>,
) -> Result<Option<Arc<Value>>, AuthRejection> {
    let token = match verifier.options.sources.find(parts) {
        Credentials::Missing => return Ok(None),
        Credentials::Invalid(reason) => {
            return Err(verifier.reject(AuthRejection::new(RejectionKind::InvalidRequest, reason)));
        }
        Credentials::Token(token) => token,
    };

    let claims = match verifier.verifier.verify_async::<Value>(&token).await {
        Ok(claims) => Arc::new(claims),
        Err(error) => return Err(verifier.reject(AuthRejection::from_error(error))),
    };
    for extra in verifier.extra_scopes.iter() {
        verifier.check_scopes(&claims, extra)?;
    }
    Ok(Some(claims))
}

/// Authenticates the request and converts its claims into `T`; `Ok(None)` means no token.
async fn extract<K: TokenKind, T: DeserializeOwned>(
    parts: &mut Parts,
    from_state: Option<TokenVerifier<K>>,
) -> Result<Option<(T, TokenVerifier<K>)>, AuthRejection> {
    let verifier = resolve(parts, from_state)?;
    match authenticate::<K>(parts, &verifier).await? {
        None => Ok(None),
        Some(claims) => {
            let converted = T::deserialize(&*claims).map_err(|source| {
                verifier.reject(AuthRejection::from_error(crate::verifier::claims_mismatch(
                    source,
                )))
            })?;
            Ok(Some((converted, verifier)))
        }
    }
}

/// Returns the claims, or the missing-credentials rejection of `verifier`.
async fn require<K: TokenKind, T: DeserializeOwned>(
    parts: &mut Parts,
    from_state: Option<TokenVerifier<K>>,
) -> Result<(T, TokenVerifier<K>), AuthRejection> {
    let verifier = resolve(parts, from_state.clone())?;
    match extract::<K, T>(parts, from_state).await? {
        Some(found) => Ok(found),
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
        let (claims, _) = require::<Access, T>(parts, state.token_verifier()).await?;
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
        let claims = extract::<Access, T>(parts, state.token_verifier()).await?;
        Ok(claims.map(|(claims, _)| Claims(claims)))
    }
}

impl<S, T> FromRequestParts<S> for CurrentUser<T>
where
    S: VerifierFromState<Id>,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (claims, _) = require::<Id, T>(parts, state.token_verifier()).await?;
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
        let claims = extract::<Id, T>(parts, state.token_verifier()).await?;
        Ok(claims.map(|(claims, _)| CurrentUser(claims)))
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
        let (claims, verifier) = require::<Access, Value>(parts, state.token_verifier()).await?;
        verifier.check_scopes(&claims, R::requirement())?;
        let claims = T::deserialize(&claims).map_err(|source| {
            verifier.reject(AuthRejection::from_error(crate::verifier::claims_mismatch(
                source,
            )))
        })?;
        Ok(Scoped {
            claims,
            requirement: PhantomData,
        })
    }
}
