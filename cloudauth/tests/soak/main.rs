//! A bounded soak run, ignored by default: valid, expired and forged tokens sent concurrently
//! over HTTP to an axum service while its issuer rotates keys. Every response must be right, and
//! the service's memory must stay flat.
//!
//! ```sh
//! SOAK_SECONDS=120 cargo test --release --all-features --test soak -- --ignored --nocapture
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use cloudauth::axum::{AccessTokens, Claims, RawClaims};
use cloudauth::testing::{LocalIssuer, TestKey, TokenBuilder};
use cloudauth::{Algorithm, RemoteKeySet, Verifier};

const AUDIENCE: &str = "soak-api";
const CLIENTS: usize = 8;

/// The responses to one kind of token: right and wrong, with the first wrong one.
#[derive(Default)]
struct Tally {
    right: AtomicU64,
    wrong: AtomicU64,
    first_wrong: std::sync::Mutex<Option<String>>,
}

impl Tally {
    fn record(&self, answer: &Result<u16, String>, expected: u16) {
        if answer.as_ref().is_ok_and(|status| *status == expected) {
            self.right.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.wrong.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_wrong
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        first.get_or_insert_with(|| format!("{answer:?}, expected {expected}"));
    }
}

fn now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// Returns the resident set size of this process in MiB, from `/proc/self/statm`.
fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for minutes; start it explicitly"]
async fn tokens_stay_right_while_keys_rotate() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(120);
    let issuer = Arc::new(
        LocalIssuer::start_with(Algorithm::ES256)
            .await
            .expect("issuer starts"),
    );
    let keys = RemoteKeySet::builder(issuer.jwks_url())
        .unknown_kid_cooldown(Duration::from_secs(1))
        .build()
        .expect("key set builds");
    let verifier = Verifier::builder(keys)
        .issuer(issuer.issuer())
        .audience(AUDIENCE)
        .algorithms([Algorithm::ES256])
        .build()
        .expect("verifier builds");
    let router = Router::new()
        .route(
            "/",
            get(|Claims(_claims): Claims<RawClaims>| async { "ok" }),
        )
        .with_state(AccessTokens::new(verifier));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("port on 127.0.0.1");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server runs");
    });

    let valid = Arc::new(Tally::default());
    let expired = Arc::new(Tally::default());
    let forged = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let warm_until = Instant::now() + Duration::from_secs(seconds.min(20) / 2);
    let mut memory_after_warmup = None;

    let rotator = {
        let issuer = Arc::clone(&issuer);
        tokio::spawn(async move {
            let mut rotations = 0_u32;
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let old = issuer.signing_key().kid().to_owned();
                issuer.rotate();
                rotations += 1;
                // The old key stays published a little longer, as providers overlap keys.
                let issuer = Arc::clone(&issuer);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(4)).await;
                    issuer.retire(&old);
                });
            }
            rotations
        })
    };

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (issuer, url) = (Arc::clone(&issuer), url.clone());
        let (valid, expired, forged) = (
            Arc::clone(&valid),
            Arc::clone(&expired),
            Arc::clone(&forged),
        );
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let attacker = TestKey::generate(Algorithm::ES256);
            let mut round = 0_u64;
            while Instant::now() < deadline {
                round += 1;
                let fresh = TokenBuilder::valid_at(&issuer.issuer(), AUDIENCE, now());
                let (token, tally, expected) = match round % 3 {
                    0 => (issuer.token(&fresh), &valid, 200),
                    1 => (
                        issuer.token(&fresh.claim("exp", now() - 120)),
                        &expired,
                        401,
                    ),
                    _ => {
                        let kid = issuer.signing_key().kid().to_owned();
                        (fresh.sign(&attacker.clone().with_kid(kid)), &forged, 401)
                    }
                };
                let answer = match http
                    .get(&url)
                    .header("authorization", format!("Bearer {token}"))
                    .send()
                    .await
                {
                    Ok(response) if response.status().as_u16() == expected => {
                        Ok(response.status().as_u16())
                    }
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let challenge = response
                            .headers()
                            .get("www-authenticate")
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        Err(format!("{status} {challenge}"))
                    }
                    Err(error) => Err(error.to_string()),
                };
                tally.record(&answer, expected);
            }
        }));
    }

    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if memory_after_warmup.is_none() && Instant::now() >= warm_until {
            memory_after_warmup = Some(resident_mib());
        }
    }
    for client in clients {
        client.await.expect("client finishes");
    }
    let rotations = rotator.await.expect("rotator finishes");
    server.abort();

    let memory_at_end = resident_mib();
    let warm = memory_after_warmup.unwrap_or(memory_at_end);
    let count = |tally: &Tally| {
        if let Some(first) = tally
            .first_wrong
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            println!("first wrong answer: {first}");
        }
        (
            tally.right.load(Ordering::Relaxed),
            tally.wrong.load(Ordering::Relaxed),
        )
    };
    let (valid, expired, forged) = (count(&valid), count(&expired), count(&forged));
    println!(
        "soak: {seconds} s, {rotations} rotations, {CLIENTS} clients; right/wrong answers: \
         valid {valid:?}, expired {expired:?}, forged {forged:?}; resident memory {warm:.1} MiB \
         after warm-up, {memory_at_end:.1} MiB at the end; {} key set fetches",
        issuer.fetch_count()
    );

    assert_eq!(valid.1 + expired.1 + forged.1, 0, "every answer is right");
    assert!(
        valid.0 > 0 && expired.0 > 0 && forged.0 > 0,
        "every kind was sent"
    );
    assert!(
        memory_at_end - warm < 64.0,
        "memory grew from {warm:.1} MiB to {memory_at_end:.1} MiB"
    );
}
