//! The builder of [`Verifier`], with its defaults and checks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::cache::TokenCache;
use super::header::HeaderMemo;
use super::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LENGTH, Inner, KeySource, MAX_LEEWAY, Verifier};
use crate::algorithm::Algorithm;
use crate::claims::{ClaimRules, RequiredClaim, TimeRules};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::scope::ScopeRequirement;

/// How long a cached verification result is used by default: 5 minutes.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// The claim names that have their own builder methods and cannot be used with
/// [`VerifierBuilder::require_claim`].
const REGISTERED_CHECKED: [&str; 5] = ["exp", "nbf", "iat", "iss", "aud"];

/// Configures a [`Verifier`]; settings are checked by [`VerifierBuilder::build`].
///
/// # Defaults
///
/// - algorithms: RS256 only, the algorithm Cognito, Auth0 and Firebase sign with;
/// - leeway: 60 seconds ([`DEFAULT_LEEWAY`]) for `exp`, `nbf` and `iat`;
/// - maximum token length: 16 KiB ([`DEFAULT_MAX_TOKEN_LENGTH`]);
/// - `kid` required in the token header, unless [`VerifierBuilder::allow_missing_kid`] is
///   called;
/// - issuer: none, and at least one must be set;
/// - audience: none, and at least one must be set unless [`VerifierBuilder::insecure_skip_audience_check`]
///   is called;
/// - clock: [`SystemClock`].
#[must_use]
pub struct VerifierBuilder {
    keys: KeySource,
    issuers: Vec<String>,
    audiences: Vec<String>,
    skip_audience: bool,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    max_token_length: usize,
    require_kid: bool,
    required: Vec<RequiredClaim>,
    scope_claim: String,
    scopes: Option<ScopeRequirement>,
    subject_max_chars: Option<usize>,
    cache: Option<(usize, Duration)>,
    clock: Arc<dyn Clock>,
}

impl VerifierBuilder {
    pub(super) fn new(keys: KeySource) -> Self {
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
            scope_claim: "scope".to_owned(),
            scopes: None,
            subject_max_chars: None,
            cache: None,
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
    pub fn insecure_skip_audience_check(mut self) -> Self {
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

    /// Accepts tokens whose header has no `kid`; such a token is tried against every key that
    /// supports its algorithm. Every provider cloudauth targets sets `kid`, so this is only for
    /// issuers with a single key.
    pub fn allow_missing_kid(mut self) -> Self {
        self.require_kid = false;
        self
    }

    /// Requires claim `name` to be a string equal to one of `values`, such as
    /// `token_use` = `access` or `client_id` in a list of app clients.
    pub fn require_claim<I, S>(self, name: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require_nested_claim([name.into()], values)
    }

    /// Requires the string at `path` to equal one of `values`, where `path` names a claim and
    /// then members of the objects inside it, such as `["firebase", "tenant"]`.
    pub fn require_nested_claim<P, N, I, S>(mut self, path: P, values: I) -> Self
    where
        P: IntoIterator<Item = N>,
        N: Into<String>,
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required.push(RequiredClaim {
            path: path.into_iter().map(Into::into).collect(),
            values: values.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Sets the claim that grants scopes: a space-separated string or an array of strings.
    /// The default is `scope` (RFC 8693 section 4.2).
    pub fn scope_claim(mut self, name: impl Into<String>) -> Self {
        self.scope_claim = name.into();
        self
    }

    /// Requires `scopes` on every token; [`Verifier::with_scopes`] sets it per route instead.
    pub fn require_scopes(mut self, scopes: ScopeRequirement) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Requires `sub` to be a non-empty string of at most `max_chars` characters, as Firebase
    /// documents for its ID tokens.
    pub fn require_subject(mut self, max_chars: usize) -> Self {
        self.subject_max_chars = Some(max_chars);
        self
    }

    /// Remembers up to `max_entries` verified tokens, so that a client that sends the same
    /// token again skips the signature check, by far the largest cost of a verification.
    ///
    /// A hit still checks `exp` and `nbf` against the clock and the scope requirement. An entry
    /// is used at most [`DEFAULT_CACHE_TTL`] (see [`VerifierBuilder::verified_token_ttl`]) and
    /// never past `exp`, and it is dropped when the key that verified it leaves the key set.
    /// Memory: each entry keeps the token and its decoded payload, about 1.75 times the token
    /// length, so 10,000 entries of 1 KiB tokens take about 18 MiB.
    ///
    /// The cache is split into 16 shards with a lock each, so a lookup takes one short lock.
    /// Enable it for services whose clients repeat tokens, as browsers and mobile apps do for
    /// the token's lifetime. It is off by default.
    pub fn cache_verified_tokens(mut self, max_entries: usize) -> Self {
        let ttl = self.cache.map_or(DEFAULT_CACHE_TTL, |(_, ttl)| ttl);
        self.cache = Some((max_entries, ttl));
        self
    }

    /// Sets the longest a cached verification result is used.
    pub fn verified_token_ttl(mut self, ttl: Duration) -> Self {
        let entries = self.cache.map_or(0, |(entries, _)| entries);
        self.cache = Some((entries, ttl));
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
    /// [`ErrorKind::InvalidConfiguration`](crate::ErrorKind::InvalidConfiguration) in these cases:
    /// - no issuer is set, or no audience is set while the audience check is not skipped;
    /// - an issuer, an audience or a required value is empty;
    /// - no algorithm is allowed, or the leeway exceeds [`MAX_LEEWAY`];
    /// - the maximum token length is under 64 bytes, or the cache settings are zero;
    /// - a required claim is a registered claim or has no accepted value.
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
            subject_max_chars: self.subject_max_chars,
        };
        Ok(Verifier {
            inner: Arc::new(Inner {
                keys: self.keys,
                algorithms: self.algorithms.into_iter().collect(),
                require_kid: self.require_kid,
                max_token_length: self.max_token_length,
                rules,
                scope_claim: self.scope_claim,
                cache: self
                    .cache
                    .map(|(entries, ttl)| TokenCache::new(entries, seconds(ttl))),
                headers: HeaderMemo::default(),
                clock: self.clock,
            }),
            scopes: self.scopes,
        })
    }

    fn validate(&self) -> Result<(), Error> {
        self.validate_issuers_and_audiences()?;
        self.validate_limits()?;
        self.validate_required_claims()
    }

    fn validate_issuers_and_audiences(&self) -> Result<(), Error> {
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
                "no audience configured; call audience(), or insecure_skip_audience_check() for tokens \
                 bound to a client by another claim",
            ));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(Error::config("an audience is empty"));
        }
        Ok(())
    }

    fn validate_limits(&self) -> Result<(), Error> {
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
        if let Some((entries, ttl)) = self.cache
            && (entries == 0 || ttl < Duration::from_secs(1))
        {
            return Err(Error::config(
                "the verified-token cache needs at least one entry and a time to live of at \
                 least one second",
            ));
        }
        if self.max_token_length < 64 {
            return Err(Error::config("maximum token length is under 64 bytes"));
        }
        Ok(())
    }

    fn validate_required_claims(&self) -> Result<(), Error> {
        for rule in &self.required {
            let name = rule.display_name();
            if rule.path.is_empty() || rule.path.iter().any(String::is_empty) {
                return Err(Error::config("a required claim has an empty name"));
            }
            if rule.path.len() == 1 && REGISTERED_CHECKED.contains(&name.as_str()) {
                return Err(Error::config(format!(
                    "claim \"{name}\" has its own check and cannot be required by value"
                )));
            }
            if rule.values.is_empty() || rule.values.iter().any(String::is_empty) {
                return Err(Error::config(format!(
                    "required claim \"{name}\" has no accepted value or an empty one"
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
