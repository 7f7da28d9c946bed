//! The fetcher trait that loads key set documents, and its default implementation on reqwest.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use url::Url;

/// The future a [`Fetcher`] returns.
pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<FetchResponse, FetchError>> + Send + 'a>>;

/// Loads key set documents over HTTP.
///
/// The default, [`ReqwestFetcher`], covers real deployments; implement this trait to route
/// requests through another client or to substitute responses in tests. An implementation must
/// not follow redirects, must stop reading a body past [`FetchRequest::max_bytes`] and must give
/// up after [`FetchRequest::timeout`].
pub trait Fetcher: Send + Sync + fmt::Debug + 'static {
    /// Sends one `GET` request.
    fn fetch<'a>(&'a self, request: &'a FetchRequest) -> FetchFuture<'a>;
}

impl<F: Fetcher + ?Sized> Fetcher for std::sync::Arc<F> {
    fn fetch<'a>(&'a self, request: &'a FetchRequest) -> FetchFuture<'a> {
        (**self).fetch(request)
    }
}

/// One conditional `GET` of a key set URL.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchRequest {
    /// The key set URL.
    pub url: Url,
    /// The `ETag` of the keys in use, sent as `If-None-Match`.
    pub if_none_match: Option<String>,
    /// The `Last-Modified` of the keys in use, sent as `If-Modified-Since`.
    pub if_modified_since: Option<String>,
    /// The total time allowed for the request, body included.
    pub timeout: Duration,
    /// The largest body accepted, in bytes.
    pub max_bytes: usize,
}

impl FetchRequest {
    /// Creates an unconditional request.
    pub fn new(url: Url, timeout: Duration, max_bytes: usize) -> Self {
        Self {
            url,
            if_none_match: None,
            if_modified_since: None,
            timeout,
            max_bytes,
        }
    }
}

/// The parts of an HTTP response that the key set engine reads.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct FetchResponse {
    /// The HTTP status code; only 200 and 304 are accepted.
    pub status: u16,
    /// The body; empty for a 304.
    pub body: Vec<u8>,
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The `Last-Modified` header.
    pub last_modified: Option<String>,
    /// The `Cache-Control` header.
    pub cache_control: Option<String>,
    /// The `Expires` header.
    pub expires: Option<String>,
    /// The `Date` header.
    pub date: Option<String>,
    /// The `Age` header.
    pub age: Option<String>,
}

impl FetchResponse {
    /// Creates a response with `status` and `body` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
            ..Self::default()
        }
    }
}

/// The failure of a fetch before an HTTP status could be read.
#[derive(Debug)]
pub struct FetchError {
    kind: FetchErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The kind of a [`FetchError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// The request did not complete within its timeout.
    Timeout,
    /// The body exceeded the maximum size.
    TooLarge,
    /// The client followed a redirect.
    Redirected,
    /// The connection failed or another transport error occurred.
    Transport,
}

impl FetchError {
    /// Creates an error of `kind` with a short message.
    pub fn new(kind: FetchErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Returns the kind.
    pub fn kind(&self) -> FetchErrorKind {
        self.kind
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(feature = "reqwest")]
pub use reqwest_fetcher::{DEFAULT_CONNECT_TIMEOUT, ReqwestFetcher};

#[cfg(feature = "reqwest")]
mod reqwest_fetcher {
    use std::time::Duration;

    use reqwest::header::{self, HeaderMap, HeaderName};

    use super::{FetchError, FetchErrorKind, FetchFuture, FetchRequest, FetchResponse, Fetcher};

    /// The connect timeout of the client that [`ReqwestFetcher::new`] builds.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Fetches key sets with a [`reqwest::Client`].
    ///
    /// [`ReqwestFetcher::new`] builds a client that uses rustls, follows no redirects and gives up
    /// connecting after [`DEFAULT_CONNECT_TIMEOUT`]. A client passed to
    /// [`ReqwestFetcher::with_client`] keeps its own settings, but a response that arrives
    /// after a redirect is still rejected, and the request timeout and body limit still apply.
    #[derive(Debug, Clone)]
    pub struct ReqwestFetcher {
        client: reqwest::Client,
    }

    impl ReqwestFetcher {
        /// Builds the default client.
        ///
        /// # Errors
        ///
        /// When the TLS backend cannot be initialised.
        pub fn new() -> Result<Self, FetchError> {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
                .build()
                .map_err(|source| {
                    FetchError::new(FetchErrorKind::Transport, "failed to build the HTTP client")
                        .with_source(source)
                })?;
            Ok(Self { client })
        }

        /// Uses the application's own client.
        pub fn with_client(client: reqwest::Client) -> Self {
            Self { client }
        }
    }

    impl Fetcher for ReqwestFetcher {
        fn fetch<'a>(&'a self, request: &'a FetchRequest) -> FetchFuture<'a> {
            Box::pin(async move {
                let fetch = self.fetch_within_limits(request);
                match tokio::time::timeout(request.timeout, fetch).await {
                    Ok(result) => result,
                    Err(_) => Err(FetchError::new(
                        FetchErrorKind::Timeout,
                        format!(
                            "key set request timed out after {} ms",
                            request.timeout.as_millis()
                        ),
                    )),
                }
            })
        }
    }

    impl ReqwestFetcher {
        async fn fetch_within_limits(
            &self,
            request: &FetchRequest,
        ) -> Result<FetchResponse, FetchError> {
            let mut builder = self.client.get(request.url.clone());
            if let Some(etag) = &request.if_none_match {
                builder = builder.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = &request.if_modified_since {
                builder = builder.header(header::IF_MODIFIED_SINCE, date);
            }
            let mut response = builder.send().await.map_err(transport)?;

            if response.url() != &request.url {
                return Err(FetchError::new(
                    FetchErrorKind::Redirected,
                    "key set request was redirected; redirects are not followed",
                ));
            }
            if response
                .content_length()
                .is_some_and(|length| length > request.max_bytes as u64)
            {
                return Err(too_large(request.max_bytes));
            }

            let headers = response.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                if body.len() + chunk.len() > request.max_bytes {
                    return Err(too_large(request.max_bytes));
                }
                body.extend_from_slice(&chunk);
            }

            Ok(FetchResponse {
                status: response.status().as_u16(),
                body,
                etag: header_text(&headers, &header::ETAG),
                last_modified: header_text(&headers, &header::LAST_MODIFIED),
                cache_control: header_text(&headers, &header::CACHE_CONTROL),
                expires: header_text(&headers, &header::EXPIRES),
                date: header_text(&headers, &header::DATE),
                age: header_text(&headers, &header::AGE),
            })
        }
    }

    fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    fn transport(source: reqwest::Error) -> FetchError {
        let kind = if source.is_timeout() {
            FetchErrorKind::Timeout
        } else {
            FetchErrorKind::Transport
        };
        // reqwest's own message omits the cause, such as "connection refused", so the causes
        // are appended.
        let mut message = String::from("key set request failed");
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&source);
        while let Some(error) = cause {
            message.push_str(": ");
            message.push_str(&error.to_string());
            cause = error.source();
        }
        FetchError::new(kind, message).with_source(source)
    }

    fn too_large(max_bytes: usize) -> FetchError {
        FetchError::new(
            FetchErrorKind::TooLarge,
            format!("key set response exceeds the maximum of {max_bytes} bytes"),
        )
    }
}
