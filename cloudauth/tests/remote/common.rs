use std::future::Future;
use std::time::Duration;

use cloudauth::testing::LocalIssuer;
use cloudauth::{ErrorKind, ManualClock, RemoteKeySet, RemoteKeySetBuilder, Verifier};

pub(crate) const NOW: i64 = 1_700_000_000;
pub(crate) const AUDIENCE: &str = "api-client";

/// A running issuer with a clock that tests move by hand.
pub(crate) struct Fixture {
    pub(crate) issuer: LocalIssuer,
    pub(crate) clock: ManualClock,
}

impl Fixture {
    pub(crate) async fn start() -> Self {
        let issuer = LocalIssuer::start().await.expect("local issuer starts");
        Self {
            issuer,
            clock: ManualClock::from_unix(NOW),
        }
    }

    /// A key set builder for the issuer's URL on the fixture's clock, without background
    /// refresh so that every fetch in a test is one the test caused.
    pub(crate) fn key_set_builder(&self) -> RemoteKeySetBuilder {
        RemoteKeySet::builder(self.issuer.jwks_url())
            .clock(self.clock.clone())
            .background_refresh(false)
    }

    pub(crate) fn key_set(&self) -> RemoteKeySet {
        self.key_set_builder().build().expect("key set builds")
    }

    pub(crate) fn verifier(&self, keys: RemoteKeySet) -> Verifier {
        Verifier::builder(keys)
            .issuer(self.issuer.issuer())
            .audience(AUDIENCE)
            .clock(self.clock.clone())
            .build()
            .expect("verifier builds")
    }

    /// A token signed by the issuer's current key, valid at the fixture's current time.
    pub(crate) fn token(&self) -> String {
        let now = cloudauth::Clock::now_unix(&self.clock);
        self.issuer
            .token(&self.issuer.token_builder_at(AUDIENCE, now))
    }

    /// A token whose `kid` is `kid`; its signature is garbage, which does not matter because
    /// the key lookup fails first.
    pub(crate) fn token_with_kid(&self, kid: &str) -> String {
        self.issuer
            .token_builder_at(AUDIENCE, NOW)
            .with_signature("RS256", Some(kid), &[1; 256])
    }
}

pub(crate) async fn verify(verifier: &Verifier, token: &str) -> Option<ErrorKind> {
    verifier
        .verify_async::<serde_json::Value>(token)
        .await
        .err()
        .map(|error| error.kind())
}

/// Bounds a test step that must finish on its own, so a regression fails instead of hanging.
pub(crate) async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("step finished within 20 s")
}
