//! The verifier: one token in, checked claims out.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::{ClaimRules, RequiredClaim, TimeRules};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorKind};
use crate::key::KeySet;
use crate::token::{self, MAX_SIGNATURE_LEN, json::Members};

/// The default leeway for `exp`, `nbf` and `iat`: 60 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// The default maximum token length: 16 KiB.
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 16 * 1024;

/// The largest leeway a builder accepts: 10 minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(600);

/// The claim names that have their own builder methods and cannot be used with
/// [`VerifierBuilder::require_claim`].
const REGISTERED_CHECKED: [&str; 5] = ["exp", "nbf", "iat", "iss", "aud"];

/// Verifies tokens against a key set and a fixed list of rules.
///
/// A verifier is cheap to clone and safe to share between threads. Verifying a token takes no
/// lock, performs no I/O and parses no key.
///
/// # Examples
///
/// ```
/// use cloudauth::testing::{TestKey, TokenBuilder};
/// use cloudauth::{Algorithm, KeySet, Verifier};
///
/// let key = TestKey::generate(Algorithm::ES256);
/// let keys = KeySet::from_keys([key.verifying_key()]);
/// let verifier = Verifier::builder(keys)
///     .issuer("https://issuer.example")
///     .audience("my-api")
///     .algorithms([Algorithm::ES256])
///     .build()?;
///
/// let token = TokenBuilder::valid("https://issuer.example", "my-api").sign(&key);
/// let claims: serde_json::Value = verifier.verify(&token)?;
/// assert_eq!(claims["aud"], "my-api");
/// # Ok::<(), cloudauth::Error>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Arc<KeySet>,
    algorithms: AlgorithmSet,
    require_kid: bool,
    max_token_length: usize,
    rules: ClaimRules,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    /// Starts a verifier that checks signatures with `keys`.
    pub fn builder(keys: impl Into<Arc<KeySet>>) -> VerifierBuilder {
        VerifierBuilder::new(keys.into())
    }

    /// Verifies `token` and returns its claims as `T`.
    ///
    /// `T` is any [`serde::Deserialize`] type: the application's own claims struct, or
    /// [`serde_json::Value`] or a [`serde_json::Map`] for raw claims.
    ///
    /// The steps are: length and structure, header (`alg` in the allow-list, no `crit`, `kid`),
    /// key lookup by `kid`, signature, then `iss`, `aud`, `exp`, `nbf`, `iat` and the required
    /// claims, and last the conversion into `T`.
    ///
    /// # Errors
    ///
    /// An error of [`ErrorCategory::Token`](crate::ErrorCategory::Token) naming the first check
    /// that failed. Claims that pass every check but do not fit `T` give
    /// [`ErrorKind::InvalidClaims`].
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, Error> {
        let inner = &*self.inner;
        let segments = token::split(token, inner.max_token_length)?;

        let header_json = token::decode_segment(segments.header, "token header")?;
        let header = token::parse_header(&header_json)?;
        if !inner.algorithms.contains(header.alg) {
            return Err(Error::new(
                ErrorKind::DisallowedAlgorithm,
                format!("algorithm {} is not allowed by this verifier", header.alg),
            ));
        }
        let kid = header.kid.as_deref();
        if kid.is_none() && inner.require_kid {
            return Err(Error::new(
                ErrorKind::MissingKeyId,
                "token header has no kid",
            ));
        }

        let mut signature = [0_u8; MAX_SIGNATURE_LEN];
        let signature_len = token::decode_signature(segments.signature, &mut signature)?;
        let signature = signature.get(..signature_len).unwrap_or_default();
        self.verify_signature(kid, header.alg, segments.signing_input, signature)?;

        let payload = token::decode_segment(segments.payload, "token payload")?;
        let claims = Members::parse(&payload).map_err(|source| {
            Error::malformed("token payload is not a JSON object without duplicate members")
                .with_source(source)
        })?;
        inner.rules.check(&claims, inner.clock.now_unix())?;

        claims.deserialize().map_err(|source| {
            Error::new(
                ErrorKind::InvalidClaims,
                "token claims do not match the expected type",
            )
            .with_source(source)
        })
    }

    fn verify_signature(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        let mut tried_any = false;
        for key in self.inner.keys.candidates(kid, alg) {
            tried_any = true;
            if key.verify(alg, signing_input, signature) {
                return Ok(());
            }
        }

        if tried_any {
            return Err(Error::new(ErrorKind::InvalidSignature, "invalid signature"));
        }
        let message = if kid.is_some() {
            format!("no key in the key set matches the token's kid and algorithm {alg}")
        } else {
            format!("no key in the key set supports algorithm {alg}")
        };
        Err(Error::new(ErrorKind::UnknownKeyId, message))
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Verifier")
            .field("issuers", &inner.rules.issuers)
            .field("audiences", &inner.rules.audiences)
            .field("algorithms", &inner.algorithms)
            .field("leeway_seconds", &inner.rules.time.leeway)
            .field("require_kid", &inner.require_kid)
            .field("max_token_length", &inner.max_token_length)
            .field("keys", &inner.keys.len())
            .finish_non_exhaustive()
    }
}

/// Configures a [`Verifier`]; settings are checked by [`VerifierBuilder::build`].
///
/// # Defaults
///
/// - algorithms: RS256 only, the algorithm Cognito, Auth0 and Firebase sign with;
/// - leeway: 60 seconds ([`DEFAULT_LEEWAY`]) for `exp`, `nbf` and `iat`;
/// - maximum token length: 16 KiB ([`DEFAULT_MAX_TOKEN_LENGTH`]);
/// - `kid` required in the token header;
/// - issuer: none, and at least one must be set;
/// - audience: none, and at least one must be set unless [`VerifierBuilder::skip_audience_check`]
///   is called;
/// - clock: [`SystemClock`].
#[must_use]
pub struct VerifierBuilder {
    keys: Arc<KeySet>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    skip_audience: bool,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    max_token_length: usize,
    require_kid: bool,
    required: Vec<RequiredClaim>,
    clock: Arc<dyn Clock>,
}

impl VerifierBuilder {
    fn new(keys: Arc<KeySet>) -> Self {
        Self {
            keys,
            issuers: Vec::new(),
            audiences: Vec::new(),
            skip_audience: false,
            algorithms: vec![Algorithm::RS256],
            leeway: DEFAULT_LEEWAY,
            max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
            require_kid: true,
            required: Vec::new(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Adds an accepted issuer; `iss` must equal one of them exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Adds an accepted audience; `aud`, a string or an array, must contain one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accepts tokens whatever their `aud`, including none.
    ///
    /// Only for tokens that carry no audience and are bound to a client by another claim, such
    /// as Cognito access tokens and their `client_id`: pair it with
    /// [`VerifierBuilder::require_claim`]. Without such a check, a token issued for any other
    /// application of the same issuer is accepted.
    pub fn skip_audience_check(mut self) -> Self {
        self.skip_audience = true;
        self
    }

    /// Sets the accepted signature algorithms, replacing the default of RS256.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Sets the leeway for `exp`, `nbf` and `iat`, in whole seconds, at most [`MAX_LEEWAY`].
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets the maximum token length in bytes; longer tokens are rejected unparsed.
    pub fn max_token_length(mut self, bytes: usize) -> Self {
        self.max_token_length = bytes;
        self
    }

    /// Sets whether the token header must have a `kid`. When it need not, a token without one is
    /// tried against every key that supports its algorithm.
    pub fn require_kid(mut self, required: bool) -> Self {
        self.require_kid = required;
        self
    }

    /// Requires claim `name` to be a string equal to one of `values`, such as
    /// `token_use` = `access` or `client_id` in a list of app clients.
    pub fn require_claim<I, S>(mut self, name: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required.push(RequiredClaim {
            name: name.into(),
            values: values.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Sets the clock that time claims are checked against.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the settings and builds the verifier.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfiguration`] when no issuer is set, no audience is set and the
    /// check is not skipped, an issuer, audience or required value is empty, no algorithm is
    /// allowed, the leeway exceeds [`MAX_LEEWAY`], the maximum token length is under 64 bytes,
    /// or a required claim is a registered claim or has no accepted value.
    pub fn build(self) -> Result<Verifier, Error> {
        self.validate()?;

        let audiences = (!self.skip_audience).then_some(self.audiences);
        let rules = ClaimRules {
            issuers: self.issuers,
            audiences,
            time: TimeRules {
                leeway: self.leeway.as_secs(),
            },
            required: self.required,
        };
        Ok(Verifier {
            inner: Arc::new(Inner {
                keys: self.keys,
                algorithms: self.algorithms.into_iter().collect(),
                require_kid: self.require_kid,
                max_token_length: self.max_token_length,
                rules,
                clock: self.clock,
            }),
        })
    }

    fn validate(&self) -> Result<(), Error> {
        if self.issuers.is_empty() {
            return Err(Error::config("no issuer configured; call issuer()"));
        }
        if self.issuers.iter().any(String::is_empty) {
            return Err(Error::config("an issuer is empty"));
        }
        if self.skip_audience && !self.audiences.is_empty() {
            return Err(Error::config(
                "audiences are configured and the audience check is skipped; choose one",
            ));
        }
        if !self.skip_audience && self.audiences.is_empty() {
            return Err(Error::config(
                "no audience configured; call audience(), or skip_audience_check() for tokens \
                 bound to a client by another claim",
            ));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(Error::config("an audience is empty"));
        }
        if self.algorithms.is_empty() {
            return Err(Error::config("no signature algorithm allowed"));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(Error::config(format!(
                "leeway of {} s exceeds the maximum of {} s",
                self.leeway.as_secs(),
                MAX_LEEWAY.as_secs()
            )));
        }
        if self.max_token_length < 64 {
            return Err(Error::config("maximum token length is under 64 bytes"));
        }
        for rule in &self.required {
            if REGISTERED_CHECKED.contains(&rule.name.as_str()) {
                return Err(Error::config(format!(
                    "claim \"{}\" has its own check and cannot be required by value",
                    rule.name
                )));
            }
            if rule.values.is_empty() || rule.values.iter().any(String::is_empty) {
                return Err(Error::config(format!(
                    "required claim \"{}\" has no accepted value or an empty one",
                    rule.name
                )));
            }
        }
        Ok(())
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("skip_audience", &self.skip_audience)
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("max_token_length", &self.max_token_length)
            .field("require_kid", &self.require_kid)
            .finish_non_exhaustive()
    }
}
