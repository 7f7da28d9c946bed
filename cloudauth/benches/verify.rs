//! Verification throughput beside its limits, measured side by side in one process.
//!
//! For RS256 and ES256 it times, on the same Cognito-shaped access token:
//! 1. the raw aws-lc-rs signature check with a pre-parsed key (the limit);
//! 2. cloudauth's full verification into a typed struct;
//! 3. jsonwebtoken 12 (aws-lc-rs backend) with the same checks;
//! 4. cloudauth with its verified-token cache, for a repeated token;
//!
//! and for axum the cost of a protected route beside an open route and beside a verification
//! into the same claims type. Each measurement runs in interleaved rounds, and the tables show
//! medians. Run it with:
//!
//! ```sh
//! cargo bench --bench verify --all-features
//! ```

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    reason = "a benchmark stops on the first failed setup step, and counts fit in an f64"
)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::Request;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudauth::axum::{AccessTokens, Claims};
use cloudauth::testing::{TestKey, TokenBuilder};
use cloudauth::{Algorithm, KeySet, ScopeRequirement, Verifier};
use serde::Deserialize;
use serde_json::json;
use tower::{Service, ServiceExt};

const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Bench0001";
const CLIENT: &str = "4b2clientbench";
const ROUNDS: usize = 7;
const ROUND_TIME: Duration = Duration::from_millis(300);
/// Requests per round and route in the axum measurement.
const AXUM_REQUESTS: u32 = 3000;

/// The claims both libraries decode into.
#[derive(Deserialize)]
#[expect(dead_code, reason = "fields are read by deserialization only")]
struct BenchClaims {
    sub: String,
    client_id: String,
    token_use: String,
    username: Option<String>,
    scope: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
    exp: i64,
    iat: i64,
}

struct Case {
    name: &'static str,
    token: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    raw_key: ParsedPublicKey,
    verifier: Verifier,
    cached: Verifier,
    jwt_key: jsonwebtoken::DecodingKey,
    jwt_validation: jsonwebtoken::Validation,
}

fn now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

fn claims(now: i64) -> TokenBuilder {
    TokenBuilder::new()
        .claim("sub", "0c5e7a3e-2b51-4d0c-9a3f-6a2f1c3b9d01")
        .claim("cognito:groups", json!(["read:users", "admin"]))
        .claim("iss", ISSUER)
        .claim("client_id", CLIENT)
        .claim("origin_jti", "5b1e1f5c-6c3a-4b1e-8f0a-1d2c3b4a5f6e")
        .claim("token_use", "access")
        .claim("scope", "aws.cognito.signin.user.admin")
        .claim("auth_time", now - 60)
        .claim("exp", now + 3600)
        .claim("iat", now - 60)
        .claim("jti", "8d9c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a")
        .claim("username", "alice")
}

fn cognito_verifier(keys: KeySet, alg: Algorithm, cache: bool) -> Verifier {
    let mut builder = Verifier::builder(keys)
        .issuer(ISSUER)
        .insecure_skip_audience_check()
        .algorithms([alg])
        .require_claim("token_use", ["access"])
        .require_claim("client_id", [CLIENT])
        .scope_claim("cognito:groups")
        .require_scopes(ScopeRequirement::all(["read:users"]));
    if cache {
        builder = builder.cache_verified_tokens(10_000);
    }
    builder.build().expect("verifier builds")
}

fn case(name: &'static str, alg: Algorithm) -> Case {
    let key = TestKey::generate(alg);
    let token = claims(now()).sign(&key);
    let (signing_input, encoded_signature) = token.rsplit_once('.').expect("three segments");
    let signature = URL_SAFE_NO_PAD
        .decode(encoded_signature)
        .expect("signature is base64url");
    let jwk = key.to_jwk();
    let text = |name: &str| jwk[name].as_str().expect("JWK member").to_owned();
    let bytes = |name: &str| URL_SAFE_NO_PAD.decode(text(name)).expect("base64url");

    let (raw_key, jwt_key) = if alg == Algorithm::RS256 {
        let components = RsaPublicKeyComponents {
            n: bytes("n"),
            e: bytes("e"),
        };
        let raw = components
            .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
            .expect("RSA key parses");
        let jwt = jsonwebtoken::DecodingKey::from_rsa_components(&text("n"), &text("e"))
            .expect("jsonwebtoken reads the RSA key");
        (raw, jwt)
    } else {
        let mut point = vec![4];
        point.extend(bytes("x"));
        point.extend(bytes("y"));
        let raw = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            .expect("EC key parses");
        let jwt = jsonwebtoken::DecodingKey::from_ec_components(&text("x"), &text("y"))
            .expect("jsonwebtoken reads the EC key");
        (raw, jwt)
    };

    let jwt_alg = if alg == Algorithm::RS256 {
        jsonwebtoken::Algorithm::RS256
    } else {
        jsonwebtoken::Algorithm::ES256
    };
    let mut jwt_validation = jsonwebtoken::Validation::new(jwt_alg);
    jwt_validation.leeway = 60;
    jwt_validation.set_issuer(&[ISSUER]);
    jwt_validation.validate_aud = false;
    jwt_validation.validate_nbf = true;
    jwt_validation.set_required_spec_claims(&["exp", "iss"]);

    let keys = || cloudauth::testing::key_set([&key]);
    Case {
        name,
        signing_input: signing_input.as_bytes().to_vec(),
        signature,
        raw_key,
        verifier: cognito_verifier(keys(), alg, false),
        cached: cognito_verifier(keys(), alg, true),
        jwt_key,
        jwt_validation,
        token,
    }
}

/// Runs `operation` repeatedly for one round and returns operations per second.
fn ops_per_second(mut operation: impl FnMut()) -> f64 {
    let mut count: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < ROUND_TIME {
        for _ in 0..16 {
            operation();
        }
        count += 16;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn jsonwebtoken_decode(case: &Case) -> bool {
    let Ok(data) =
        jsonwebtoken::decode::<BenchClaims>(&case.token, &case.jwt_key, &case.jwt_validation)
    else {
        return false;
    };
    // The checks jsonwebtoken cannot express: token use, app client and group.
    data.claims.token_use == "access"
        && data.claims.client_id == CLIENT
        && data.claims.groups.iter().any(|group| group == "read:users")
}

fn bench_signatures(case: &Case) {
    assert!(
        case.raw_key
            .verify_sig(&case.signing_input, &case.signature)
            .is_ok()
    );
    assert!(case.verifier.verify::<BenchClaims>(&case.token).is_ok());
    assert!(case.cached.verify::<BenchClaims>(&case.token).is_ok());
    assert!(jsonwebtoken_decode(case), "jsonwebtoken accepts the token");

    let mut raw = Vec::new();
    let mut full = Vec::new();
    let mut jwt = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..ROUNDS {
        raw.push(ops_per_second(|| {
            let verified = case
                .raw_key
                .verify_sig(black_box(&case.signing_input), black_box(&case.signature));
            black_box(verified.is_ok());
        }));
        full.push(ops_per_second(|| {
            let claims = case.verifier.verify::<BenchClaims>(black_box(&case.token));
            black_box(claims.is_ok());
        }));
        jwt.push(ops_per_second(|| {
            black_box(jsonwebtoken_decode(black_box(case)));
        }));
        cached.push(ops_per_second(|| {
            let claims = case.cached.verify::<BenchClaims>(black_box(&case.token));
            black_box(claims.is_ok());
        }));
    }

    let raw = median(raw);
    let rows = [
        ("aws-lc-rs signature check (limit)", raw),
        ("cloudauth full verification", median(full)),
        ("jsonwebtoken 12 decode, same checks", median(jwt)),
        (
            "cloudauth with verified-token cache, repeated token",
            median(cached),
        ),
    ];
    println!(
        "\n{} ({} rounds of {} ms, medians)",
        case.name,
        ROUNDS,
        ROUND_TIME.as_millis()
    );
    println!("| measurement | ops/s | ratio to the limit |");
    println!("| --- | ---: | ---: |");
    for (name, value) in rows {
        println!("| {name} | {value:.0} | {:.2}x |", value / raw);
    }
    println!("cloudauth / jsonwebtoken: {:.2}x", rows[1].1 / rows[2].1);
}

#[derive(Clone)]
struct State {
    access: AccessTokens,
}

impl FromRef<State> for AccessTokens {
    fn from_ref(state: &State) -> Self {
        state.access.clone()
    }
}

async fn bench_axum(case: &Case) {
    let access = AccessTokens::new(case.verifier.clone());
    let mut router = Router::new()
        .route("/open", get(|| async { "open" }))
        .route(
            "/protected",
            get(|Claims(claims): Claims<BenchClaims>| async move { claims.sub }),
        )
        .with_state(State { access });
    let authorization = format!("Bearer {}", case.token);

    let mut call = async |path: &str| {
        let request = Request::get(path)
            .header("authorization", &authorization)
            .body(Body::empty())
            .expect("request builds");
        let response = ServiceExt::<Request<Body>>::ready(&mut router)
            .await
            .expect("router is ready")
            .call(request)
            .await
            .expect("router responds");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    };
    call("/protected").await;

    let mut open = Vec::new();
    let mut protected = Vec::new();
    let mut verify = Vec::new();
    let mut overhead = Vec::new();
    for _ in 0..ROUNDS {
        let open_route = timed(AXUM_REQUESTS, async || call("/open").await).await;
        let protected_route = timed(AXUM_REQUESTS, async || call("/protected").await).await;
        let verification = timed(AXUM_REQUESTS, async || {
            let claims = case
                .verifier
                .verify_async::<BenchClaims>(black_box(&case.token))
                .await;
            black_box(claims.is_ok());
        })
        .await;
        // The three measurements of one round run back to back, so their difference is
        // steadier than the difference of the medians when the machine's speed drifts.
        overhead.push(protected_route - open_route - verification);
        open.push(open_route);
        protected.push(protected_route);
        verify.push(verification);
    }
    let (open, protected, verify) = (median(open), median(protected), median(verify));
    let overhead = median(overhead);
    println!("\naxum, {} (µs per request, medians)", case.name);
    println!(
        "| open route | protected route | verification into the same type | overhead beyond verification |"
    );
    println!("| ---: | ---: | ---: | ---: |");
    println!("| {open:.2} | {protected:.2} | {verify:.2} | {overhead:.2} |");
}

/// Runs `operation` `count` times and returns microseconds per run.
async fn timed(count: u32, mut operation: impl AsyncFnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..count {
        operation().await;
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(count)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime builds");
    println!("cloudauth verification benchmark; one thread, {ROUNDS} interleaved rounds");
    for (name, alg) in [("RS256", Algorithm::RS256), ("ES256", Algorithm::ES256)] {
        let case = case(name, alg);
        bench_signatures(&case);
        runtime.block_on(bench_axum(&case));
    }
}
