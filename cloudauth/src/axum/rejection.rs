//! The responses to requests that fail authentication.

use std::fmt;
use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Error, ErrorCategory, ErrorKind};

/// A function that builds the response for a rejection, replacing the default one.
pub type RejectionHandler = Arc<dyn Fn(AuthRejection) -> Response + Send + Sync>;

/// The reason a request was rejected, with the status it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No bearer token was sent: 401 with a `WWW-Authenticate: Bearer` challenge and no error
    /// code (RFC 6750 section 3.1).
    MissingCredentials,
    /// The request is malformed, such as two `Authorization` headers or a token in two places:
    /// 400 `invalid_request`.
    InvalidRequest,
    /// The token failed verification: 401 `invalid_token`.
    InvalidToken,
    /// The token lacks the required scopes: 403 `insufficient_scope`.
    InsufficientScope,
    /// No key set could be loaded: 503 with `Retry-After`.
    KeySetUnavailable,
    /// The application set up no verifier for this extractor: 500.
    Misconfigured,
}

impl RejectionKind {
    /// Returns the HTTP status of the response.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingCredentials | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::KeySetUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Returns the `detail` of the JSON body; the first three are fastapi-cloudauth's texts.
    fn detail(self) -> &'static str {
        match self {
            Self::MissingCredentials => "Not authenticated",
            Self::InvalidToken => "Not verified",
            Self::InsufficientScope => "Scope not matched",
            Self::InvalidRequest => "Invalid request",
            Self::KeySetUnavailable => "Key set unavailable",
            Self::Misconfigured => "Authentication is not configured",
        }
    }
}

/// The rejection of the cloudauth extractors and layers.
///
/// As a response it carries the status of its [`RejectionKind`], a JSON body
/// `{"detail": "..."}` and, for 400, 401 and 403, an RFC 6750 `WWW-Authenticate: Bearer`
/// challenge. A handler that takes `Result<Claims<T>, AuthRejection>` receives it instead, to
/// build its own response.
#[derive(Clone)]
pub struct AuthRejection {
    kind: RejectionKind,
    reason: String,
    error: Option<Arc<Error>>,
    handler: Option<RejectionHandler>,
}

impl AuthRejection {
    pub(crate) fn new(kind: RejectionKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
            error: None,
            handler: None,
        }
    }

    pub(crate) fn from_error(error: Error) -> Self {
        let kind = match (error.kind().category(), error.kind()) {
            (ErrorCategory::Token, ErrorKind::InsufficientScope) => {
                RejectionKind::InsufficientScope
            }
            (ErrorCategory::Token, _) => RejectionKind::InvalidToken,
            (ErrorCategory::KeySet, _) => RejectionKind::KeySetUnavailable,
            (ErrorCategory::Configuration, _) => RejectionKind::Misconfigured,
        };
        Self {
            kind,
            reason: error.to_string(),
            error: Some(Arc::new(error)),
            handler: None,
        }
    }

    pub(crate) fn with_handler(mut self, handler: Option<RejectionHandler>) -> Self {
        self.handler = handler;
        self
    }

    /// Returns why the request was rejected.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// Returns the HTTP status of the default response.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// Returns the verification error, when one caused the rejection.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_deref()
    }

    /// Returns a short phrase that names what failed; it never contains the token.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Emits one `tracing` event for the rejection, with its kind and reason but never the
    /// token: `debug` for client errors and `warn` for 5xx.
    pub(crate) fn log(&self) {
        let kind = self.kind;
        let status = self.status().as_u16();
        if self.status().is_server_error() {
            tracing::warn!(target: "cloudauth::axum", ?kind, status, reason = %self.reason, "request rejected");
        } else {
            tracing::debug!(target: "cloudauth::axum", ?kind, status, reason = %self.reason, "request rejected");
        }
    }

    /// Builds the RFC 6750 challenge, or `None` for 5xx responses.
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        let challenge = match self.kind {
            RejectionKind::MissingCredentials => "Bearer".to_owned(),
            RejectionKind::InvalidRequest => format!(
                "Bearer error=\"invalid_request\", error_description=\"{}\"",
                quoted_text(&self.reason)
            ),
            RejectionKind::InvalidToken => format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                quoted_text(&self.reason)
            ),
            RejectionKind::InsufficientScope => {
                let scope = self
                    .error
                    .as_deref()
                    .and_then(Error::required_scopes)
                    .map(|scopes| scopes.names().join(" "))
                    .unwrap_or_default();
                format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                    quoted_text(&scope)
                )
            }
            RejectionKind::KeySetUnavailable | RejectionKind::Misconfigured => return None,
        };
        HeaderValue::from_str(&challenge).ok()
    }

    fn default_response(&self) -> Response {
        let mut response =
            (self.status(), Json(json!({ "detail": self.kind.detail() }))).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.www_authenticate() {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if self.kind == RejectionKind::KeySetUnavailable {
            let seconds = self
                .error
                .as_deref()
                .and_then(Error::retry_after)
                .map_or(5, |delay| delay.as_secs().max(1));
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self.handler.clone() {
            Some(handler) => handler(self),
            None => self.default_response(),
        }
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("kind", &self.kind)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for AuthRejection {}

/// Keeps the characters RFC 6750 allows in `error_description` and `scope`: printable ASCII
/// without `"` and `\`, which become `'`; other characters are dropped.
fn quoted_text(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '"' | '\\' => Some('\''),
            ' '..='~' => Some(c),
            _ => None,
        })
        .collect()
}
