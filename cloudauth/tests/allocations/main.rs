//! Heap allocations of a warm verification, counted by a counting global allocator.
//!
//! A warm verification allocates the decoded payload and the list of its members, and beyond
//! them only what the caller's claims type holds. The signature library's own allocations
//! happen outside Rust's allocator and are not counted.
//!
//! The counts are exact, so a change that adds an allocation to the hot path fails here. This
//! binary contains one test, because the allocator counts for the whole process.

#![expect(clippy::expect_used, reason = "a test fails on its first failed step")]

use cloudauth::testing::{LocalIssuer, TestKey, TokenBuilder};
use cloudauth::{Algorithm, ManualClock, RemoteKeySet, ScopeRequirement, Verifier};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

const NOW: i64 = 1_700_000_000;
const ISSUER: &str = "https://issuer.test";

/// The allocations of the payload text and of its member list.
const PAYLOAD_ALLOCATIONS: u64 = 2;

#[derive(Deserialize)]
struct Subject {
    #[expect(dead_code, reason = "read by deserialization only")]
    sub: String,
}

#[derive(Deserialize)]
struct Expiry {
    #[expect(dead_code, reason = "read by deserialization only")]
    exp: i64,
}

/// Returns the number of allocations that `operation` makes.
fn allocations(operation: impl FnOnce()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    operation();
    dhat::HeapStats::get().total_blocks - before
}

/// Verifies `token` twice to warm up, then returns the allocations of a third verification.
fn verification<T: DeserializeOwned>(verifier: &Verifier, token: &str) -> u64 {
    for _ in 0..2 {
        verifier.verify::<T>(token).expect("the token verifies");
    }
    allocations(|| {
        verifier.verify::<T>(token).expect("the token verifies");
    })
}

fn builder(key: &TestKey) -> cloudauth::VerifierBuilder {
    Verifier::builder(cloudauth::testing::key_set([key]))
        .issuer(ISSUER)
        .audience("api")
        .algorithms([key.algorithm()])
        .scope_claim("groups")
        .require_scopes(ScopeRequirement::all(["readers"]))
        .require_claim("token_use", ["access"])
        .clock(ManualClock::from_unix(NOW))
}

#[test]
fn warm_verification_allocation_counts() {
    let _profiler = dhat::Profiler::builder().testing().build();

    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let key = TestKey::generate(alg);
        let token = TokenBuilder::valid_at(ISSUER, "api", NOW)
            .claim("sub", "user-1")
            .claim("token_use", "access")
            .claim("groups", serde_json::json!(["writers", "readers"]))
            .sign(&key);
        let verifier = builder(&key).build().expect("verifier builds");

        assert_eq!(
            verification::<IgnoredAny>(&verifier, &token),
            PAYLOAD_ALLOCATIONS,
            "{alg}: no claims"
        );
        assert_eq!(
            verification::<Expiry>(&verifier, &token),
            PAYLOAD_ALLOCATIONS,
            "{alg}: a number"
        );
        assert_eq!(
            verification::<Subject>(&verifier, &token),
            PAYLOAD_ALLOCATIONS + 1,
            "{alg}: one string"
        );

        // A hit in the verified-token cache reads the claims from the cached payload.
        let cached = builder(&key)
            .cache_verified_tokens(16)
            .build()
            .expect("verifier builds");
        assert_eq!(
            verification::<Expiry>(&cached, &token),
            0,
            "{alg}: cache hit"
        );
        assert_eq!(
            verification::<Subject>(&cached, &token),
            1,
            "{alg}: cache hit, one string"
        );
    }

    remote_key_set();
}

/// Checks that a warm remote key set adds no allocation, because its keys are read from the
/// current snapshot.
fn remote_key_set() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime builds");
    runtime.block_on(async {
        let issuer = LocalIssuer::start().await.expect("local issuer starts");
        let keys = RemoteKeySet::builder(issuer.jwks_url())
            .background_refresh(false)
            .build()
            .expect("key set builds");
        let verifier = Verifier::builder(keys)
            .issuer(issuer.issuer())
            .audience("api")
            .build()
            .expect("verifier builds");
        let token = issuer.valid_token("api");
        for _ in 0..2 {
            let warm_up = verifier.verify_async::<Expiry>(&token).await;
            warm_up.expect("the token verifies");
        }

        let before = dhat::HeapStats::get().total_blocks;
        let claims = verifier.verify_async::<Expiry>(&token).await;
        let counted = dhat::HeapStats::get().total_blocks - before;
        claims.expect("the token verifies");
        assert_eq!(counted, PAYLOAD_ALLOCATIONS, "remote key set");
    });
}
