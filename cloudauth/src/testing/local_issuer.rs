//! An issuer on 127.0.0.1 that serves its key set over HTTP and mints tokens.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{TestKey, TokenBuilder, certificate_map, jwk_set};
use crate::algorithm::Algorithm;

/// The path of the JWK set.
const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The path a redirecting key set endpoint points to.
const REDIRECT_TARGET_PATH: &str = "/moved/jwks.json";
/// The path of the OpenID Connect discovery document.
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The response behavior of the key set endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Behavior {
    /// Serves the key set, honouring `If-None-Match`.
    Normal,
    /// Waits this long, then serves the key set.
    Slow(Duration),
    /// Responds with this status code and a short text body.
    Status(u16),
    /// Responds 200 with a body that is not JSON.
    Garbage,
    /// Responds 200 with the key set padded to about this many bytes.
    Oversized(usize),
    /// Accepts the request and never responds.
    Hang,
    /// Responds 302 to another path, which serves the key set.
    Redirect,
}

/// The document format of the key set endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySetFormat {
    /// A JWK set, `{"keys": [...]}`.
    Jwks,
    /// A map of key id to PEM certificate, as Google publishes for Firebase.
    CertificateMap,
}

/// An issuer for tests: serves its key set and an OpenID Connect discovery document on
/// 127.0.0.1 at a random port, mints tokens with its keys, rotates keys on request, counts
/// fetches, and can be switched to fail in the ways real endpoints fail.
///
/// Its issuer identifier is its base URL, such as `http://127.0.0.1:41234`. The server stops
/// when the value is dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudauth::testing::{LocalIssuer, TokenBuilder};
/// use cloudauth::{RemoteKeySet, Verifier};
///
/// let issuer = LocalIssuer::start().await?;
/// let keys = RemoteKeySet::builder(issuer.jwks_url()).build()?;
/// let verifier = Verifier::builder(keys)
///     .issuer(issuer.issuer())
///     .audience("my-api")
///     .build()?;
///
/// let token = issuer.valid_token("my-api");
/// let claims: serde_json::Value = verifier.verify_async(&token).await?;
/// assert_eq!(claims["sub"], "user-1");
/// assert_eq!(issuer.fetch_count(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LocalIssuer {
    address: SocketAddr,
    state: Arc<IssuerState>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct IssuerState {
    base_url: String,
    keys: Mutex<Keys>,
    behavior: Mutex<Behavior>,
    cache_control: Mutex<Option<String>>,
    format: Mutex<KeySetFormat>,
    fetches: AtomicUsize,
    not_modified: AtomicUsize,
    redirected_fetches: AtomicUsize,
}

#[derive(Debug)]
struct Keys {
    signing: TestKey,
    published: Vec<TestKey>,
}

impl LocalIssuer {
    /// Starts an issuer that signs with a new RS256 key.
    ///
    /// # Errors
    ///
    /// When no port on 127.0.0.1 can be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(Algorithm::RS256).await
    }

    /// Starts an issuer that signs with a new key for `alg`.
    ///
    /// # Errors
    ///
    /// When no port on 127.0.0.1 can be bound.
    pub async fn start_with(alg: Algorithm) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let signing = TestKey::generate(alg);
        let state = Arc::new(IssuerState {
            base_url: format!("http://{address}"),
            keys: Mutex::new(Keys {
                published: vec![signing.clone()],
                signing,
            }),
            behavior: Mutex::new(Behavior::Normal),
            cache_control: Mutex::new(None),
            format: Mutex::new(KeySetFormat::Jwks),
            fetches: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
            redirected_fetches: AtomicUsize::new(0),
        });

        let router = Router::new()
            .route(JWKS_PATH, get(serve_key_set))
            .route(REDIRECT_TARGET_PATH, get(serve_redirect_target))
            .route(DISCOVERY_PATH, get(serve_discovery))
            .with_state(Arc::clone(&state));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(target: "cloudauth::testing", %error, "local issuer stopped");
            }
        });

        Ok(Self {
            address,
            state,
            server,
        })
    }

    /// Returns the issuer identifier, which is also the base URL.
    pub fn issuer(&self) -> String {
        self.state.base_url.clone()
    }

    /// Returns the socket address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Returns the URL of the key set.
    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.state.base_url)
    }

    /// Returns the URL of the OpenID Connect discovery document.
    pub fn discovery_url(&self) -> String {
        format!("{}{DISCOVERY_PATH}", self.state.base_url)
    }

    /// Returns the key that tokens are signed with now.
    pub fn signing_key(&self) -> TestKey {
        lock(&self.state.keys).signing.clone()
    }

    /// Signs `token` with the current signing key.
    pub fn token(&self, token: &TokenBuilder) -> String {
        token.sign(&self.signing_key())
    }

    /// Mints a token for `audience` that is valid now by the system clock.
    pub fn valid_token(&self, audience: &str) -> String {
        self.token(&TokenBuilder::valid(&self.state.base_url, audience))
    }

    /// Starts a token for `audience`, valid at `now` seconds since the Unix epoch.
    pub fn token_builder_at(&self, audience: &str, now: i64) -> TokenBuilder {
        TokenBuilder::valid_at(&self.state.base_url, audience, now)
    }

    /// Generates a new signing key of the same algorithm and publishes it beside the old ones.
    pub fn rotate(&self) -> TestKey {
        let mut keys = lock(&self.state.keys);
        let next = TestKey::generate(keys.signing.algorithm());
        keys.published.push(next.clone());
        keys.signing = next.clone();
        next
    }

    /// Stops publishing the key with `kid`; tokens it signed no longer verify after a refresh.
    pub fn retire(&self, kid: &str) {
        lock(&self.state.keys)
            .published
            .retain(|key| key.kid() != kid);
    }

    /// Sets the response behavior of the key set endpoint from now on.
    pub fn set_behavior(&self, behavior: Behavior) {
        *lock(&self.state.behavior) = behavior;
    }

    /// Sets the `Cache-Control` header of key set responses; `None` sends none.
    pub fn set_cache_control(&self, value: Option<&str>) {
        *lock(&self.state.cache_control) = value.map(str::to_owned);
    }

    /// Sets the document format of the key set.
    pub fn set_format(&self, format: KeySetFormat) {
        *lock(&self.state.format) = format;
    }

    /// Returns the number of requests to the key set URL, whatever the response.
    pub fn fetch_count(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// Returns the number of 304 responses.
    pub fn not_modified_count(&self) -> usize {
        self.state.not_modified.load(Ordering::SeqCst)
    }

    /// Returns the number of requests to the path that [`Behavior::Redirect`] points to.
    pub fn redirected_fetch_count(&self) -> usize {
        self.state.redirected_fetches.load(Ordering::SeqCst)
    }
}

impl Drop for LocalIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve_key_set(State(state): State<Arc<IssuerState>>, headers: HeaderMap) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let behavior = *lock(&state.behavior);

    match behavior {
        Behavior::Normal => key_set_response(&state, &headers),
        Behavior::Slow(delay) => {
            tokio::time::sleep(delay).await;
            key_set_response(&state, &headers)
        }
        Behavior::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "key set unavailable").into_response()
        }
        Behavior::Garbage => (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Service temporarily unavailable</body></html>",
        )
            .into_response(),
        Behavior::Oversized(bytes) => {
            // A valid key set padded to the size, so that only a size limit rejects it.
            let mut document = jwk_set(&lock(&state.keys).published);
            let keys_len = document.to_string().len();
            if let Some(members) = document.as_object_mut() {
                let padding = "x".repeat(bytes.saturating_sub(keys_len + 10));
                members.insert("pad".to_owned(), padding.into());
            }
            let body = document.to_string();
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Behavior::Hang => std::future::pending().await,
        Behavior::Redirect => (
            StatusCode::FOUND,
            [(header::LOCATION, REDIRECT_TARGET_PATH)],
        )
            .into_response(),
    }
}

async fn serve_redirect_target(
    State(state): State<Arc<IssuerState>>,
    headers: HeaderMap,
) -> Response {
    state.redirected_fetches.fetch_add(1, Ordering::SeqCst);
    key_set_response(&state, &headers)
}

async fn serve_discovery(State(state): State<Arc<IssuerState>>) -> Response {
    let algorithm = lock(&state.keys).signing.algorithm();
    let document = json!({
        "issuer": state.base_url,
        "jwks_uri": format!("{}{JWKS_PATH}", state.base_url),
        "id_token_signing_alg_values_supported": [algorithm.name()],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    });
    axum::Json(document).into_response()
}

/// Serves the published keys with an `ETag`, responding 304 when the client has them.
fn key_set_response(state: &IssuerState, request: &HeaderMap) -> Response {
    let body = {
        let keys = lock(&state.keys);
        match *lock(&state.format) {
            KeySetFormat::Jwks => jwk_set(&keys.published),
            KeySetFormat::CertificateMap => certificate_map(&keys.published),
        }
        .to_string()
    };
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    let etag = format!("\"{:016x}\"", hasher.finish());

    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if let Some(cache_control) = lock(&state.cache_control).as_deref()
        && let Ok(value) = HeaderValue::from_str(cache_control)
    {
        headers.insert(header::CACHE_CONTROL, value);
    }

    let client_has_it = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == etag);
    if client_has_it {
        state.not_modified.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }

    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (headers, body).into_response()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
