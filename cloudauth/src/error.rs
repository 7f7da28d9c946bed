//! The error type of every fallible operation, with a kind that callers match on.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::scope::ScopeRequirement;

/// The reason a token, a key set or a configuration was rejected.
///
/// [`Error::kind`] returns what failed and [`ErrorKind::category`] who can fix it. `Display`
/// prints a short lower-case phrase that names the failed check and, where it helps, the expected
/// value. It never contains the token, a signature or key material.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    times: Option<TimeCheck>,
    retry_after: Option<Duration>,
    required_scopes: Option<ScopeRequirement>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The kind of failure. Match on it instead of on the message, which may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A builder was given settings that cannot work, such as no issuer.
    InvalidConfiguration,

    /// A key set document could not be read at all (not JSON, or neither a JWK set nor a
    /// certificate map). Single unusable keys inside a readable set are skipped instead.
    InvalidKeySet,
    /// A single key given to a constructor could not be used; a configuration error, since
    /// the application chose the key.
    InvalidKey,
    /// No usable key set is loaded: the first fetch failed, or the keys went stale beyond
    /// their allowed age while fetches kept failing.
    KeySetUnavailable,

    /// The token is longer than the configured maximum; it was not parsed.
    TokenTooLong,
    /// The token is not a compact JWS: wrong number of segments, invalid base64url, a header or
    /// payload that is not a JSON object, or a duplicate member name.
    MalformedToken,
    /// The `alg` header is `none`, an HMAC algorithm, unknown, or not in the verifier's
    /// allow-list.
    DisallowedAlgorithm,
    /// The header has a `crit` member, which names extensions this verifier does not implement.
    CriticalHeader,
    /// The header has no `kid` and the verifier requires one.
    MissingKeyId,
    /// No key in the key set has the token's `kid` and fits its algorithm.
    UnknownKeyId,
    /// The signature does not verify with the key.
    InvalidSignature,
    /// A required claim (`exp`, `iss`, `aud` or a configured one) is absent.
    MissingClaim,
    /// A registered claim has the wrong JSON type or is out of range, such as `exp` as a string.
    InvalidClaimType,
    /// `exp` lies in the past by more than the leeway.
    Expired,
    /// `nbf` lies in the future by more than the leeway.
    NotYetValid,
    /// `iat` lies in the future by more than the leeway.
    IssuedInFuture,
    /// `iss` differs from every accepted issuer.
    InvalidIssuer,
    /// `aud` contains none of the accepted audiences.
    InvalidAudience,
    /// A claim required to equal one of a set of values has another value, such as `token_use`.
    InvalidClaimValue,
    /// The claims passed every check but do not fit the type the caller asked for.
    InvalidClaims,
    /// The token is valid but lacks the scopes, groups or permissions the request requires
    /// (403). [`Error::required_scopes`] returns the requirement.
    InsufficientScope,
}

/// The party that can fix an error, which decides the HTTP status of an integration's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// The application's configuration; found when a builder runs, never per request.
    Configuration,
    /// The provider's key set, which could not be used; a server-side failure (503).
    KeySet,
    /// The token the client sent; the client must get another one (401).
    Token,
}

impl ErrorKind {
    /// Returns who can fix an error of this kind.
    pub fn category(self) -> ErrorCategory {
        match self {
            Self::InvalidConfiguration | Self::InvalidKey => ErrorCategory::Configuration,
            Self::InvalidKeySet | Self::KeySetUnavailable => ErrorCategory::KeySet,
            Self::TokenTooLong
            | Self::MalformedToken
            | Self::DisallowedAlgorithm
            | Self::CriticalHeader
            | Self::MissingKeyId
            | Self::UnknownKeyId
            | Self::InvalidSignature
            | Self::MissingClaim
            | Self::InvalidClaimType
            | Self::Expired
            | Self::NotYetValid
            | Self::IssuedInFuture
            | Self::InvalidIssuer
            | Self::InvalidAudience
            | Self::InvalidClaimValue
            | Self::InvalidClaims
            | Self::InsufficientScope => ErrorCategory::Token,
        }
    }

    /// Returns the RFC 6750 section 3.1 error code for a `WWW-Authenticate: Bearer` challenge,
    /// or `None` for kinds that are not the token's fault.
    pub fn bearer_error_code(self) -> Option<&'static str> {
        match self.category() {
            ErrorCategory::Token if self == Self::InsufficientScope => Some("insufficient_scope"),
            ErrorCategory::Token => Some("invalid_token"),
            ErrorCategory::Configuration | ErrorCategory::KeySet => None,
        }
    }
}

/// The times behind a failed `exp`, `nbf` or `iat` check, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeCheck {
    /// The verifier's clock when the token was checked.
    pub now: i64,
    /// The value of the claim that failed.
    pub claim: i64,
    /// The leeway that was allowed, in seconds.
    pub leeway: u64,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                times: None,
                retry_after: None,
                required_scopes: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_times(mut self, times: TimeCheck) -> Self {
        self.inner.times = Some(times);
        self
    }

    pub(crate) fn with_retry_after(mut self, delay: Duration) -> Self {
        self.inner.retry_after = Some(delay);
        self
    }

    pub(crate) fn with_required_scopes(mut self, requirement: ScopeRequirement) -> Self {
        self.inner.required_scopes = Some(requirement);
        self
    }

    pub(crate) fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidConfiguration, message)
    }

    pub(crate) fn malformed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::MalformedToken, message)
    }

    /// Returns what failed.
    ///
    /// ```
    /// use cloudauth::{ErrorCategory, ErrorKind, Verifier, KeySet};
    ///
    /// let verifier = Verifier::builder(KeySet::default())
    ///     .issuer("https://issuer.example")
    ///     .audience("my-api")
    ///     .build()?;
    /// let error = verifier.verify::<serde_json::Value>("not-a-token").unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::MalformedToken);
    /// assert_eq!(error.kind().category(), ErrorCategory::Token);
    /// assert_eq!(error.kind().bearer_error_code(), Some("invalid_token"));
    /// # Ok::<(), cloudauth::Error>(())
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Returns the times involved when a time check (`exp`, `nbf`, `iat`) failed.
    pub fn time_check(&self) -> Option<TimeCheck> {
        self.inner.times
    }

    /// Returns when a request may succeed again, for an HTTP `Retry-After` header; set on
    /// [`ErrorKind::KeySetUnavailable`] errors to the delay before the next fetch attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Returns the requirement that an [`ErrorKind::InsufficientScope`] error failed, for the
    /// `scope` attribute of a `WWW-Authenticate` challenge.
    pub fn required_scopes(&self) -> Option<&ScopeRequirement> {
        self.inner.required_scopes.as_ref()
    }

    /// Returns `true` when the token is at fault, so the client should get a new one.
    pub fn is_token_error(&self) -> bool {
        self.kind().category() == ErrorCategory::Token
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(times) = &self.inner.times {
            debug.field("times", times);
        }
        if let Some(delay) = &self.inner.retry_after {
            debug.field("retry_after", delay);
        }
        if let Some(requirement) = &self.inner.required_scopes {
            debug.field("required_scopes", requirement);
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}
