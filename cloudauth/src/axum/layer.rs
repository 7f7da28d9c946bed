//! A tower layer that verifies the token before the handler runs.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower_layer::Layer;
use tower_service::Service;

use serde::de::IgnoredAny;

use super::credentials::is_preflight;
use super::extract::{Verified, verify_request};
use super::{TokenKind, TokenVerifier};
use crate::scope::ExtraScopes;

/// A layer that rejects requests without a valid token of kind `K`, and the scopes its
/// verifier requires, before they reach the handler. Build it with [`TokenVerifier::require`]
/// or [`TokenVerifier::layer`] and add it with `route_layer`.
#[derive(Debug, Clone)]
pub struct RequireToken<K> {
    verifier: TokenVerifier<K>,
}

impl<K: TokenKind> RequireToken<K> {
    pub(crate) fn new(verifier: TokenVerifier<K>) -> Self {
        Self { verifier }
    }
}

impl<S, K: TokenKind> Layer<S> for RequireToken<K> {
    type Service = RequireTokenService<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireTokenService {
            inner,
            verifier: self.verifier.clone(),
            kind: PhantomData,
        }
    }
}

/// The service of [`RequireToken`].
#[derive(Debug, Clone)]
pub struct RequireTokenService<S, K> {
    inner: S,
    verifier: TokenVerifier<K>,
    kind: PhantomData<K>,
}

impl<S, K> Service<Request> for RequireTokenService<S, K>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    K: TokenKind,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready handles this request, and the fresh clone waits for
        // the next one. This is the usual tower pattern for services that call inside a future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();

        Box::pin(async move {
            if verifier.options.pass_preflight && is_preflight(request.method(), request.headers())
            {
                return inner.call(request).await;
            }

            let (mut parts, body) = request.into_parts();
            let extra = ExtraScopes {
                layer: &verifier.extra_scopes,
                extractor: None,
            };
            // The layer needs no claims of its own: the payload is left for the extractors.
            let verified = verify_request::<K, IgnoredAny>(&parts, &verifier, extra).await;
            let payload = match verified {
                Ok(Some((_, payload))) => payload.into_shared(),
                Ok(None) => return Ok(verifier.missing().into_response()),
                Err(rejection) => return Ok(rejection.into_response()),
            };
            parts
                .extensions
                .insert(Verified::<K>::new(payload, verifier.verifier.clone()));
            // A verifier that an outer layer or extension provides keeps its place, so this
            // layer never loosens the rules that extractors apply.
            if parts.extensions.get::<TokenVerifier<K>>().is_none() {
                parts.extensions.insert(verifier);
            }
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}
