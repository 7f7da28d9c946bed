//! The verifier: one token in, checked claims out.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

mod builder;
mod cache;
mod header;

pub use builder::{DEFAULT_CACHE_TTL, VerifierBuilder};

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::{self, ClaimRules};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::key::KeySet;
use crate::remote::RemoteKeySet;
use crate::scope::{self, ExtraScopes, ScopeRequirement};
use crate::token::json::JsonError;
use crate::token::json::Members;
use crate::token::{
    self, HEADER_BUFFER_LEN, Header, HeaderBuffer, SIGNATURE_BUFFER_LEN, Segments, SignatureBuffer,
};
use cache::{Entry, TokenCache};
use header::{HeaderMemo, KnownHeader};

/// The default leeway for `exp`, `nbf` and `iat`: 60 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// The default maximum token length: 16 KiB.
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 16 * 1024;

/// The largest leeway a builder accepts: 10 minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(600);

/// The source of a verifier's keys: a fixed [`KeySet`] or a [`RemoteKeySet`].
#[derive(Debug, Clone)]
pub struct KeySource(Source);

#[derive(Debug, Clone)]
enum Source {
    Static(Arc<KeySet>),
    Remote(RemoteKeySet),
    Unsigned,
}

impl KeySource {
    /// Accepts unsigned tokens (`alg: none`) and no others, as the Firebase Authentication
    /// emulator issues them.
    ///
    /// Anyone can forge such a token, so this source is only for local emulators and tests.
    /// Every claim check still applies.
    pub fn insecure_unsigned_tokens() -> Self {
        Self(Source::Unsigned)
    }
}

impl From<KeySet> for KeySource {
    fn from(keys: KeySet) -> Self {
        Self(Source::Static(Arc::new(keys)))
    }
}

impl From<Arc<KeySet>> for KeySource {
    fn from(keys: Arc<KeySet>) -> Self {
        Self(Source::Static(keys))
    }
}

impl From<RemoteKeySet> for KeySource {
    fn from(keys: RemoteKeySet) -> Self {
        Self(Source::Remote(keys))
    }
}

/// Verifies tokens against a key set and a fixed list of rules.
///
/// A verifier is cheap to clone and safe to share between threads. With keys already loaded,
/// verifying a token takes no lock, performs no I/O and parses no key. The opt-in
/// verified-token cache is the exception: a lookup locks one of its 16 shards.
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
    scopes: Option<ScopeRequirement>,
}

struct Inner {
    keys: KeySource,
    algorithms: AlgorithmSet,
    require_kid: bool,
    max_token_length: usize,
    rules: ClaimRules,
    scope_claim: String,
    cache: Option<TokenCache>,
    headers: HeaderMemo,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    /// Starts a verifier that checks signatures with `keys`, a [`KeySet`] or a
    /// [`RemoteKeySet`].
    pub fn builder(keys: impl Into<KeySource>) -> VerifierBuilder {
        VerifierBuilder::new(keys.into())
    }

    /// Verifies `token` with the keys at hand and returns its claims as `T`.
    ///
    /// `T` is any [`serde::Deserialize`] type: the application's own claims struct, or
    /// [`serde_json::Value`] or a [`serde_json::Map`] for raw claims.
    ///
    /// The steps are length and structure, then the header (`alg` in the allow-list, no
    /// `crit`, `kid`), the payload's JSON, the key lookup by `kid` and the signature. The claims
    /// come next: `iss`, required claim values that are present, `aud`, the time claims and
    /// required claims that are absent. Last come the scopes and the conversion into `T`.
    ///
    /// With a [`RemoteKeySet`] this method never waits: it uses the cached keys, and a missing
    /// key set or an unknown `kid` starts a fetch in the background. Use
    /// [`Verifier::verify_async`] to wait for that fetch.
    ///
    /// # Errors
    ///
    /// An error of [`ErrorCategory::Token`](crate::ErrorCategory::Token) naming the first check
    /// that failed; claims that pass every check but do not fit `T` give
    /// [`ErrorKind::InvalidClaims`]. [`ErrorKind::KeySetUnavailable`] when a remote key set has
    /// no usable keys.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, Error> {
        let extra = ExtraScopes::default();
        if let Source::Unsigned = &self.inner.keys.0 {
            return self.verify_unsigned(token, extra).map(|(claims, _)| claims);
        }
        let segments = token::split(token, self.inner.max_token_length)?;
        if let Some(cached) = self.cached_result(token, extra) {
            return cached.map(|(claims, _)| claims);
        }
        let memo = self.inner.headers.load();
        let mut header_buffer: HeaderBuffer = [0; HEADER_BUFFER_LEN];
        let mut header_json = None;
        let (header, remembered) =
            self.read_header(segments.header, &memo, &mut header_buffer, &mut header_json)?;
        let payload = token::decode_segment(segments.payload, "token payload")?;
        let claims = token::parse_object(&payload, "token payload")?;
        let kid = header.kid.as_deref();

        let key = match &self.inner.keys.0 {
            Source::Unsigned => return Err(unsigned_source()),
            Source::Static(keys) => check_signature(keys, kid, header.alg, &segments)?,
            Source::Remote(remote) => {
                // Read before the snapshot, so that a later fetch is known to be newer.
                let observed = remote.fetches_started();
                let snapshot = remote.snapshot_now()?;
                let mut checked = check_signature(&snapshot.keys, kid, header.alg, &segments);
                if let (Err(error), Some(kid)) = (&checked, kid)
                    && error.kind() == ErrorKind::UnknownKeyId
                {
                    // A refetch may have finished since the snapshot was taken.
                    if let Ok(current) = remote.snapshot_now()
                        && !Arc::ptr_eq(&current, &snapshot)
                    {
                        checked = check_signature(&current.keys, Some(kid), header.alg, &segments);
                    }
                    if checked.is_err() {
                        remote.refetch_for_unknown_kid_in_background(kid, observed);
                    }
                }
                checked?
            }
        };

        if !remembered {
            self.inner.headers.remember(segments.header, &header);
        }
        let accepted = Accepted {
            token,
            payload: &payload,
            kid,
            alg: header.alg,
            key,
        };
        self.check_claims(&claims, &payload, Some(accepted), extra)
    }

    /// Verifies `token` like [`Verifier::verify`], waiting for a remote key set when needed:
    /// for the first fetch, for keys past their stale period, and for one refetch when the
    /// token's `kid` is unknown (subject to the key set's cooldown). With a fixed [`KeySet`] it
    /// never waits.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub async fn verify_async<T: DeserializeOwned>(&self, token: &str) -> Result<T, Error> {
        let verified = self.verify_async_with(token, ExtraScopes::default()).await;
        verified.map(|(claims, _)| claims)
    }

    /// Verifies `token` like [`Verifier::verify_async`], requiring the `extra` scopes as well,
    /// and returns the decoded payload beside the claims, for framework glue that hands the
    /// payload on to later steps of the same request.
    pub(crate) async fn verify_async_with<T: DeserializeOwned>(
        &self,
        token: &str,
        extra: ExtraScopes<'_>,
    ) -> Result<(T, Payload), Error> {
        if let Source::Unsigned = &self.inner.keys.0 {
            return self.verify_unsigned(token, extra);
        }
        let segments = token::split(token, self.inner.max_token_length)?;
        if let Some(cached) = self.cached_result(token, extra) {
            return cached.map(|(claims, payload)| (claims, Payload::Cached(payload)));
        }
        // NOTE: the guard lives until the key lookup below. A cold remote key set suspends this
        // future while it holds the guard, and arc-swap then serves other loads on this thread
        // more slowly until the guard drops. A warm key set never suspends here.
        let memo = self.inner.headers.load();
        let mut header_buffer: HeaderBuffer = [0; HEADER_BUFFER_LEN];
        let mut header_json = None;
        let (header, remembered) =
            self.read_header(segments.header, &memo, &mut header_buffer, &mut header_json)?;
        let payload = token::decode_segment(segments.payload, "token payload")?;
        let claims = token::parse_object(&payload, "token payload")?;
        let kid = header.kid.as_deref();

        let key = match &self.inner.keys.0 {
            Source::Unsigned => return Err(unsigned_source()),
            Source::Static(keys) => check_signature(keys, kid, header.alg, &segments)?,
            Source::Remote(remote) => {
                // Read before the snapshot, so that a later fetch is known to be newer.
                let observed = remote.fetches_started();
                let snapshot = remote.usable_snapshot().await?;
                match check_signature(&snapshot.keys, kid, header.alg, &segments) {
                    Err(error) if error.kind() == ErrorKind::UnknownKeyId && kid.is_some() => {
                        let kid = kid.unwrap_or_default();
                        let refetched = remote.refetch_for_unknown_kid(kid, &snapshot, observed);
                        let Some(refetched) = refetched.await else {
                            return Err(error);
                        };
                        let rechecked = check_signature(
                            &refetched.snapshot.keys,
                            Some(kid),
                            header.alg,
                            &segments,
                        );
                        if refetched.fetched
                            && rechecked
                                .as_ref()
                                .is_err_and(|error| error.kind() == ErrorKind::UnknownKeyId)
                        {
                            remote.remember_absent(kid, &refetched.snapshot);
                        }
                        rechecked?
                    }
                    checked => checked?,
                }
            }
        };

        if !remembered {
            self.inner.headers.remember(segments.header, &header);
        }
        let accepted = Accepted {
            token,
            payload: &payload,
            kid,
            alg: header.alg,
            key,
        };
        let claims = self.check_claims(&claims, &payload, Some(accepted), extra)?;
        Ok((claims, Payload::Decoded(payload)))
    }

    /// Returns a verifier that also requires `scopes`, granted by the verifier's scope claim.
    /// It shares keys and settings with `self`, so one per route costs little.
    #[must_use]
    pub fn with_scopes(&self, scopes: ScopeRequirement) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            scopes: Some(scopes),
        }
    }

    /// Returns `true` when `other` shares this verifier's keys and claim rules, as the verifiers
    /// that [`Verifier::with_scopes`] returns do; their scope requirements may differ.
    pub(crate) fn has_same_rules(&self, other: &Verifier) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Returns the scope requirement, if any.
    pub fn scope_requirement(&self) -> Option<&ScopeRequirement> {
        self.scopes.as_ref()
    }

    /// Returns the claim that grants scopes, such as `scope` or `cognito:groups`.
    pub fn scope_claim(&self) -> &str {
        &self.inner.scope_claim
    }

    fn verify_unsigned<T: DeserializeOwned>(
        &self,
        token: &str,
        extra: ExtraScopes<'_>,
    ) -> Result<(T, Payload), Error> {
        let segments = token::split(token, self.inner.max_token_length)?;
        let header_json = token::decode_segment(segments.header, "token header")?;
        token::parse_unsigned_header(&header_json)?;
        if !segments.signature.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidSignature,
                "an unsigned token must have an empty signature",
            ));
        }
        let payload = token::decode_segment(segments.payload, "token payload")?;
        let claims = token::parse_object(&payload, "token payload")?;

        let claims = self.check_claims(&claims, &payload, None, extra)?;
        Ok((claims, Payload::Decoded(payload)))
    }

    /// Returns the header whose segment is `segment`, and whether it is the remembered one.
    /// Another header is decoded into `buffer`, kept in `decoded`, and checked.
    fn read_header<'h>(
        &self,
        segment: &str,
        memo: &'h Option<Arc<KnownHeader>>,
        buffer: &'h mut HeaderBuffer,
        decoded: &'h mut Option<Cow<'h, str>>,
    ) -> Result<(Header<'h>, bool), Error> {
        if let Some(header) = memo.as_ref().and_then(|known| known.header_for(segment)) {
            return Ok((header, true));
        }
        let json = decoded.insert(token::decode_header(segment, buffer)?);
        Ok((self.check_header(json)?, false))
    }

    fn check_header<'h>(&self, header_json: &'h str) -> Result<Header<'h>, Error> {
        let header = token::parse_header(header_json)?;
        if !self.inner.algorithms.contains(header.alg) {
            return Err(Error::new(
                ErrorKind::DisallowedAlgorithm,
                format!("algorithm {} is not allowed by this verifier", header.alg),
            ));
        }
        if header.kid.is_none() && self.inner.require_kid {
            return Err(Error::new(
                ErrorKind::MissingKeyId,
                "token header has no kid",
            ));
        }
        Ok(header)
    }

    /// Checks the claims, remembers an accepted token in the cache, checks the scopes and
    /// converts the claims into `T`.
    fn check_claims<T: DeserializeOwned>(
        &self,
        claims: &Members<'_>,
        payload: &str,
        accepted: Option<Accepted<'_>>,
        extra: ExtraScopes<'_>,
    ) -> Result<T, Error> {
        let now = self.inner.clock.now_unix();
        self.inner.rules.check(claims, now)?;

        // Cached before the scope check, so the token serves routes with other scopes too.
        if let (Some(cache), Some(accepted)) = (&self.inner.cache, accepted)
            && let Some((exp, nbf)) = claims::expiry_and_not_before(claims)
        {
            cache.insert(Entry {
                token: accepted.token.into(),
                payload: accepted.payload.into(),
                exp,
                nbf,
                kid: accepted.kid.map(Into::into),
                alg: accepted.alg,
                key: accepted.key,
                scopes: scope::granted_by(claims, &self.inner.scope_claim).into(),
                added: now,
            });
        }
        for scopes in self.scopes.iter().chain(extra.iter()) {
            scopes.check(claims, &self.inner.scope_claim)?;
        }

        read_claims(claims, payload)
    }

    /// Reads the claims of `payload`, which a verifier with the same rules accepted earlier in
    /// the same request, after checking this verifier's scopes and the `extra` ones.
    #[cfg(feature = "axum")]
    pub(crate) fn claims_from_payload<T: DeserializeOwned>(
        &self,
        payload: &str,
        extra: ExtraScopes<'_>,
    ) -> Result<T, Error> {
        let claims = token::parse_object(payload, "token payload")?;
        for scopes in self.scopes.iter().chain(extra.iter()) {
            scopes.check(&claims, &self.inner.scope_claim)?;
        }
        read_claims(&claims, payload)
    }

    /// Returns the result for a cached token, or `None` to verify it in full. `None` comes when
    /// the token is not cached, or when its entry expired, outlived the cache's time to live or
    /// names a key that left the key set. The full verification then gives the right error.
    fn cached_result<T: DeserializeOwned>(
        &self,
        token: &str,
        extra: ExtraScopes<'_>,
    ) -> Option<Result<(T, Arc<str>), Error>> {
        let cache = self.inner.cache.as_ref()?;
        let entry = cache.get(token)?;
        let now = self.inner.clock.now_unix();
        let leeway = i64::try_from(self.inner.rules.time.leeway).unwrap_or(i64::MAX);

        let expired = now >= entry.exp.saturating_add(leeway);
        let early = entry
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway));
        let too_old = now.saturating_sub(entry.added) >= cache.ttl;
        if expired || early || too_old || !self.key_still_present(&entry) {
            cache.remove(token);
            return None;
        }

        if let Some(scopes) = self
            .scopes
            .iter()
            .chain(extra.iter())
            .find(|scopes| !scopes.is_satisfied_by(&entry.scopes))
        {
            return Some(Err(scopes.insufficient()));
        }
        // One serde_json pass over the cached payload. When it fails, the claims are read again
        // as a full verification reads them, so the error names the claim as it does there.
        let claims = serde_json::from_str(&entry.payload).or_else(|_| {
            let members = token::parse_object(&entry.payload, "token payload")?;
            read_claims(&members, &entry.payload)
        });
        Some(claims.map(|claims| (claims, Arc::clone(&entry.payload))))
    }

    /// Returns `true` when the key that verified a cached token is still in the key set.
    fn key_still_present(&self, entry: &Entry) -> bool {
        let present = |keys: &KeySet| {
            keys.candidates(entry.kid.as_deref(), entry.alg)
                .any(|key| key.fingerprint() == entry.key)
        };
        match &self.inner.keys.0 {
            Source::Static(keys) => present(keys),
            Source::Remote(remote) => remote
                .snapshot_now()
                .is_ok_and(|snapshot| present(&snapshot.keys)),
            Source::Unsigned => false,
        }
    }
}

/// The decoded payload of a verified token.
#[derive(Debug)]
pub(crate) enum Payload {
    /// Decoded from the token just now.
    Decoded(String),
    /// Kept in the verified-token cache.
    Cached(Arc<str>),
}

impl Payload {
    /// Returns the payload as shared text.
    pub(crate) fn into_shared(self) -> Arc<str> {
        match self {
            Self::Decoded(text) => text.into(),
            Self::Cached(text) => text,
        }
    }
}

/// A token whose signature verified, with what its cache entry needs.
struct Accepted<'a> {
    token: &'a str,
    payload: &'a str,
    kid: Option<&'a str>,
    alg: Algorithm,
    key: u64,
}

/// Converts checked claims into `T`. The members were split once for the checks, so only the
/// values that `T` requests are parsed again.
fn read_claims<T: DeserializeOwned>(claims: &Members<'_>, payload: &str) -> Result<T, Error> {
    claims::from_members(claims, payload).map_err(|mismatch| {
        let source = JsonError::from(mismatch.source);
        let source = match &mismatch.member {
            Some(member) => source.in_member(member),
            None => source,
        };
        mismatch_error(source)
    })
}

/// Builds the error for claims that do not fit the caller's type. The message names a missing
/// field, the claim or the position of the mismatch, never a value from the token.
fn mismatch_error(source: JsonError) -> Error {
    Error::new(
        ErrorKind::InvalidClaims,
        format!("token claims do not match the expected type: {source}"),
    )
    .with_source(source)
}

fn unsigned_source() -> Error {
    Error::new(
        ErrorKind::DisallowedAlgorithm,
        "verifier accepts unsigned tokens only",
    )
}

/// Verifies the signature of `segments` with the keys that fit `kid` and `alg`, and returns
/// the fingerprint of the key that verified it.
fn check_signature(
    keys: &KeySet,
    kid: Option<&str>,
    alg: Algorithm,
    segments: &Segments<'_>,
) -> Result<u64, Error> {
    let mut buffer: SignatureBuffer = [0; SIGNATURE_BUFFER_LEN];
    let length = token::decode_signature(segments.signature, &mut buffer)?;
    let signature = buffer.get(..length).unwrap_or_default();

    let mut tried_any = false;
    for key in keys.candidates(kid, alg) {
        tried_any = true;
        if key.verify(alg, segments.signing_input, signature) {
            return Ok(key.fingerprint());
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
            .field("scope_claim", &inner.scope_claim)
            .field("scopes", &self.scopes)
            .field("keys", &inner.keys)
            .finish_non_exhaustive()
    }
}
