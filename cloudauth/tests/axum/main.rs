//! Tests of the axum extractors and layers over real HTTP on 127.0.0.1.

#![expect(
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test the same way"
)]

use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use cloudauth::axum::{
    AccessTokens, AuthRejection, Claims, CurrentUser, IdTokens, RawClaims, RejectionKind, Scoped,
};
use cloudauth::testing::{Behavior, LocalIssuer, TokenBuilder};
use cloudauth::{Clock as _, ManualClock, RemoteKeySet, ScopeRequirement, Verifier};
use serde::Deserialize;

const AUDIENCE: &str = "api-client";

cloudauth::define_scopes! {
    struct ReadUsers: all["read:users"];
}

#[derive(Clone)]
struct AppState {
    access: AccessTokens,
    id: IdTokens,
}

impl FromRef<AppState> for AccessTokens {
    fn from_ref(state: &AppState) -> Self {
        state.access.clone()
    }
}

impl FromRef<AppState> for IdTokens {
    fn from_ref(state: &AppState) -> Self {
        state.id.clone()
    }
}

#[derive(Deserialize)]
struct Subject {
    sub: String,
}

/// A running service and the issuer its tokens come from.
struct Service {
    issuer: LocalIssuer,
    clock: ManualClock,
    base: String,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Service {
    fn token(&self, scope: Option<&str>) -> String {
        let mut builder = self
            .issuer
            .token_builder_at(AUDIENCE, self.clock.now_unix());
        if let Some(scope) = scope {
            builder = builder.claim("scope", scope);
        }
        self.issuer.token(&builder)
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request succeeds");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("valid status");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.expect("body");
        (status, challenge, body)
    }
}

fn verifier(issuer: &LocalIssuer, clock: &ManualClock) -> Verifier {
    let keys = RemoteKeySet::builder(issuer.jwks_url())
        .clock(clock.clone())
        .build()
        .expect("key set builds");
    Verifier::builder(keys)
        .issuer(issuer.issuer())
        .audience(AUDIENCE)
        .clock(clock.clone())
        .build()
        .expect("verifier builds")
}

async fn serve(router: Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("port on 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server runs");
    });
    (base, server)
}

async fn start(configure: impl FnOnce(AccessTokens) -> AccessTokens) -> Service {
    let issuer = LocalIssuer::start().await.expect("issuer starts");
    let clock = ManualClock::new(std::time::SystemTime::now());
    let access = configure(AccessTokens::new(verifier(&issuer, &clock)));
    let state = AppState {
        access: access.clone(),
        id: IdTokens::new(verifier(&issuer, &clock)),
    };

    let router = Router::new()
        .route("/", get(|| async { "Hello" }))
        .route_layer(access.require(ScopeRequirement::all(["read:users"])))
        .route(
            "/access/",
            get(|Claims(claims): Claims<Subject>| async move { claims.sub }),
        )
        .route(
            "/user/",
            get(|CurrentUser(user): CurrentUser<RawClaims>| async move {
                format!(
                    "Hello, {}",
                    user.get("sub")
                        .and_then(|sub| sub.as_str())
                        .unwrap_or_default()
                )
            }),
        )
        .route(
            "/scoped/",
            get(|scoped: Scoped<ReadUsers, Subject>| async move { scoped.into_inner().sub }),
        )
        .route(
            "/optional/",
            get(|claims: Option<Claims<Subject>>| async move {
                claims.map_or_else(|| "anonymous".to_owned(), |Claims(claims)| claims.sub)
            }),
        )
        .route(
            "/lenient/",
            get(
                |claims: Result<Claims<Subject>, AuthRejection>| async move {
                    match claims {
                        Ok(Claims(claims)) => claims.sub,
                        Err(rejection) => format!("rejected: {:?}", rejection.kind()),
                    }
                },
            ),
        )
        .with_state(state);
    let (base, server) = serve(router).await;

    Service {
        issuer,
        clock,
        base,
        http: reqwest::Client::new(),
        server,
    }
}

/// A request path and headers, with the status, challenge prefix and body it must get.
type Case<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, String)>,
    StatusCode,
    &'a str,
    &'a str,
);

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn statuses_challenges_and_bodies() {
    let service = start(|access| access).await;
    let reader = service.token(Some("read:users"));
    let outsider = service.token(Some("write:users"));
    let expired = service.issuer.token(
        &service
            .issuer
            .token_builder_at(AUDIENCE, service.clock.now_unix() - 7200),
    );

    let cases: Vec<Case<'_>> = vec![
        (
            "valid token with the scope",
            "/",
            vec![("authorization", bearer(&reader))],
            StatusCode::OK,
            "",
            "Hello",
        ),
        (
            "no token",
            "/",
            vec![],
            StatusCode::UNAUTHORIZED,
            "Bearer",
            r#"{"detail":"Not authenticated"}"#,
        ),
        (
            "basic scheme",
            "/",
            vec![("authorization", "Basic dXNlcjpwdw==".to_owned())],
            StatusCode::UNAUTHORIZED,
            "Bearer",
            r#"{"detail":"Not authenticated"}"#,
        ),
        (
            "garbage token",
            "/",
            vec![("authorization", bearer("garbage"))],
            StatusCode::UNAUTHORIZED,
            "Bearer error=\"invalid_token\"",
            r#"{"detail":"Not verified"}"#,
        ),
        (
            "expired token",
            "/access/",
            vec![("authorization", bearer(&expired))],
            StatusCode::UNAUTHORIZED,
            "Bearer error=\"invalid_token\"",
            r#"{"detail":"Not verified"}"#,
        ),
        (
            "missing scope",
            "/",
            vec![("authorization", bearer(&outsider))],
            StatusCode::FORBIDDEN,
            "Bearer error=\"insufficient_scope\", scope=\"read:users\"",
            r#"{"detail":"Scope not matched"}"#,
        ),
        (
            "scheme without token",
            "/access/",
            vec![("authorization", "Bearer".to_owned())],
            StatusCode::BAD_REQUEST,
            "Bearer error=\"invalid_request\"",
            r#"{"detail":"Invalid request"}"#,
        ),
        (
            "lower-case scheme and spaces",
            "/access/",
            vec![("authorization", format!("  bearer   {reader} "))],
            StatusCode::OK,
            "",
            "user-1",
        ),
        (
            "claims as the handler's type",
            "/access/",
            vec![("authorization", bearer(&outsider))],
            StatusCode::OK,
            "",
            "user-1",
        ),
        (
            "ID token extractor",
            "/user/",
            vec![("authorization", bearer(&reader))],
            StatusCode::OK,
            "",
            "Hello, user-1",
        ),
        (
            "scoped extractor with the scope",
            "/scoped/",
            vec![("authorization", bearer(&reader))],
            StatusCode::OK,
            "",
            "user-1",
        ),
        (
            "scoped extractor without it",
            "/scoped/",
            vec![("authorization", bearer(&outsider))],
            StatusCode::FORBIDDEN,
            "Bearer error=\"insufficient_scope\", scope=\"read:users\"",
            r#"{"detail":"Scope not matched"}"#,
        ),
        (
            "optional without a token",
            "/optional/",
            vec![],
            StatusCode::OK,
            "",
            "anonymous",
        ),
        (
            "optional with a valid token",
            "/optional/",
            vec![("authorization", bearer(&reader))],
            StatusCode::OK,
            "",
            "user-1",
        ),
        (
            "optional with a bad token",
            "/optional/",
            vec![("authorization", bearer("garbage"))],
            StatusCode::UNAUTHORIZED,
            "Bearer error=\"invalid_token\"",
            r#"{"detail":"Not verified"}"#,
        ),
        (
            "result without a token",
            "/lenient/",
            vec![],
            StatusCode::OK,
            "",
            "rejected: MissingCredentials",
        ),
        (
            "result with a bad token",
            "/lenient/",
            vec![("authorization", bearer("garbage"))],
            StatusCode::OK,
            "",
            "rejected: InvalidToken",
        ),
    ];

    let mut failures = Vec::new();
    for (name, path, headers, status, challenge, body) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (actual_status, actual_challenge, actual_body) = service.get(path, &headers).await;
        if actual_status != status {
            failures.push(format!("{name}: status {actual_status}, expected {status}"));
        }
        if !actual_challenge.starts_with(challenge)
            || (challenge.is_empty() && !actual_challenge.is_empty())
        {
            failures.push(format!(
                "{name}: challenge {actual_challenge:?}, expected {challenge:?}"
            ));
        }
        if actual_body != body {
            failures.push(format!("{name}: body {actual_body:?}, expected {body:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "failed cases:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn oversized_token_is_rejected_unparsed() {
    let service = start(|access| access).await;
    let header = bearer(&"a".repeat(60 * 1024));
    let (status, challenge, body) = service
        .get("/access/", &[("authorization", header.as_str())])
        .await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.contains("token is longer than the maximum"),
        "{challenge}"
    );
    assert_eq!(body, r#"{"detail":"Not verified"}"#);
}

#[tokio::test]
async fn two_authorization_headers_are_invalid() {
    let service = start(|access| access).await;
    let token = service.token(None);
    let response = service
        .http
        .get(format!("{}/access/", service.base))
        .header("authorization", bearer(&token))
        .header("authorization", bearer(&token))
        .send()
        .await
        .expect("request succeeds");

    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn query_and_cookie_sources_when_configured() {
    let service = start(|access| access.token_query("access_token").token_cookie("session")).await;
    let token = service.token(Some("read:users"));

    let (status, _, body) = service
        .get(&format!("/access/?access_token={token}"), &[])
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "user-1"),
        "query parameter"
    );
    let cookie = format!("theme=dark; session={token}");
    let (status, _, _) = service.get("/access/", &[("cookie", &cookie)]).await;
    assert_eq!(status, StatusCode::OK, "cookie");
    let (status, challenge, _) = service
        .get(
            &format!("/access/?access_token={token}"),
            &[("authorization", &bearer(&token))],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "token in two places");
    assert!(challenge.contains("invalid_request"), "{challenge}");
}

#[tokio::test]
async fn preflight_passes_the_layer_when_configured() {
    for (pass, expected) in [(true, StatusCode::OK), (false, StatusCode::UNAUTHORIZED)] {
        let service = start(|access| {
            if pass {
                access.pass_preflight()
            } else {
                access
            }
        })
        .await;
        let router_status = service
            .http
            .request(reqwest::Method::OPTIONS, format!("{}/", service.base))
            .header("origin", "http://127.0.0.1:3000")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .expect("request succeeds")
            .status()
            .as_u16();
        // The route has no OPTIONS handler, so a request that passes the layer gets 405.
        let passed = router_status == 405;
        assert_eq!(
            passed,
            expected == StatusCode::OK,
            "pass_preflight {pass}: status {router_status}"
        );
    }
}

#[tokio::test]
async fn cold_start_outage_is_503_with_retry_after() {
    let issuer = LocalIssuer::start().await.expect("issuer starts");
    issuer.set_behavior(Behavior::Status(500));
    let clock = ManualClock::new(std::time::SystemTime::now());
    let access = AccessTokens::new(verifier(&issuer, &clock));
    let router = Router::new()
        .route(
            "/access/",
            get(|Claims(claims): Claims<Subject>| async move { claims.sub }),
        )
        .layer(Extension(access));
    let (base, server) = serve(router).await;
    let token = issuer.token(&issuer.token_builder_at(AUDIENCE, clock.now_unix()));

    let response = reqwest::Client::new()
        .get(format!("{base}/access/"))
        .header("authorization", bearer(&token))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status().as_u16(), 503);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("Retry-After in seconds");
    assert!(
        (1..=300).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"detail":"Key set unavailable"}"#
    );
    server.abort();
}

#[tokio::test]
async fn verifier_in_an_extension_and_custom_rejections() {
    let issuer = LocalIssuer::start().await.expect("issuer starts");
    let clock = ManualClock::new(std::time::SystemTime::now());
    let access = AccessTokens::new(verifier(&issuer, &clock)).on_rejection(|rejection| {
        (
            StatusCode::IM_A_TEAPOT,
            format!("custom: {:?}", rejection.kind()),
        )
            .into_response()
    });
    let router = Router::new()
        .route(
            "/access/",
            get(|Claims(claims): Claims<Subject>| async move { claims.sub }),
        )
        .layer(Extension(access));
    let (base, server) = serve(router).await;
    let http = reqwest::Client::new();
    let token = issuer.token(&issuer.token_builder_at(AUDIENCE, clock.now_unix()));

    let ok = http
        .get(format!("{base}/access/"))
        .header("authorization", bearer(&token))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(ok.status().as_u16(), 200, "verifier found in the extension");
    let rejected = http
        .get(format!("{base}/access/"))
        .header("authorization", bearer("garbage"))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(rejected.status().as_u16(), 418);
    assert_eq!(
        rejected.text().await.expect("body"),
        format!("custom: {:?}", RejectionKind::InvalidToken)
    );
    server.abort();
}

#[tokio::test]
async fn extractor_applies_its_own_verifier_after_a_layer() {
    let issuer = LocalIssuer::start().await.expect("issuer starts");
    let clock = ManualClock::new(std::time::SystemTime::now());
    let layer_verifier = AccessTokens::new(verifier(&issuer, &clock));
    // The state's verifier expects another audience; a layer with looser rules must not let
    // the extractor skip them.
    let keys = RemoteKeySet::builder(issuer.jwks_url())
        .build()
        .expect("key set builds");
    let other_audience = Verifier::builder(keys)
        .issuer(issuer.issuer())
        .audience("another-api")
        .build()
        .expect("verifier builds");
    let state = AppState {
        access: AccessTokens::new(other_audience.clone()),
        id: IdTokens::new(other_audience),
    };
    let router = Router::new()
        .route(
            "/access/",
            get(|Claims(claims): Claims<Subject>| async move { claims.sub }),
        )
        .route_layer(layer_verifier.layer())
        .with_state(state);
    let (base, server) = serve(router).await;
    let token = issuer.token(&issuer.token_builder_at(AUDIENCE, clock.now_unix()));

    let response = reqwest::Client::new()
        .get(format!("{base}/access/"))
        .header("authorization", bearer(&token))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status().as_u16(), 401);
    server.abort();
}

/// A clock that counts its readings; each full verification reads it once.
#[derive(Debug, Clone)]
struct CountingClock {
    inner: ManualClock,
    readings: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl cloudauth::Clock for CountingClock {
    fn now_unix(&self) -> i64 {
        self.readings
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.now_unix()
    }
}

/// A router with a static key set, so only verifications read the clock.
fn counted_router(
    key: &cloudauth::testing::TestKey,
    readings: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    configure: impl FnOnce(AccessTokens) -> AccessTokens,
) -> (AccessTokens, Router<AccessTokens>) {
    let clock = CountingClock {
        inner: ManualClock::new(std::time::SystemTime::now()),
        readings: std::sync::Arc::clone(readings),
    };
    let verifier = Verifier::builder(cloudauth::testing::key_set([key]))
        .issuer("https://issuer.test")
        .audience(AUDIENCE)
        .clock(clock)
        .build()
        .expect("verifier builds");
    let access = configure(AccessTokens::new(verifier));
    let router = Router::new().route(
        "/access/",
        get(|Claims(claims): Claims<Subject>| async move { claims.sub }),
    );
    (access, router)
}

async fn send(router: Router, token: Option<&str>) -> (u16, String) {
    use tower::ServiceExt as _;
    let mut request = axum::http::Request::get("/access/");
    if let Some(token) = token {
        request = request.header("authorization", bearer(token));
    }
    let response = router
        .oneshot(
            request
                .body(axum::body::Body::empty())
                .expect("request builds"),
        )
        .await
        .expect("router responds");
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn extractor_reuses_claims_of_the_same_verifier() {
    let key = cloudauth::testing::TestKey::generate(cloudauth::Algorithm::RS256);
    let readings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (access, router) = counted_router(&key, &readings, |access| access);
    let router = router.route_layer(access.layer()).with_state(access);
    let token = TokenBuilder::valid("https://issuer.test", AUDIENCE).sign(&key);

    assert_eq!(send(router, Some(&token)).await, (200, "user-1".to_owned()));
    assert_eq!(
        readings.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the layer verified the token and the extractor reused its claims"
    );
}

#[tokio::test]
async fn require_keeps_the_verifiers_own_scopes() {
    let key = cloudauth::testing::TestKey::generate(cloudauth::Algorithm::RS256);
    let readings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (access, router) = counted_router(&key, &readings, |access| access);
    let admins = AccessTokens::new(
        access
            .verifier()
            .with_scopes(ScopeRequirement::all(["admin"])),
    );
    let router = router
        .route_layer(admins.require(ScopeRequirement::all(["read"])))
        .with_state(admins);
    let reader = TokenBuilder::valid("https://issuer.test", AUDIENCE)
        .claim("scope", "read")
        .sign(&key);
    let both = TokenBuilder::valid("https://issuer.test", AUDIENCE)
        .claim("scope", "read admin")
        .sign(&key);

    assert_eq!(
        send(router.clone(), Some(&reader)).await.0,
        403,
        "admin is still required"
    );
    assert_eq!(send(router, Some(&both)).await.0, 200);
}

#[tokio::test]
async fn custom_rejection_covers_every_path() {
    let key = cloudauth::testing::TestKey::generate(cloudauth::Algorithm::RS256);
    let readings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let custom = |access: AccessTokens| {
        access.on_rejection(|rejection| {
            (StatusCode::IM_A_TEAPOT, format!("{:?}", rejection.kind())).into_response()
        })
    };
    let token = TokenBuilder::valid("https://issuer.test", AUDIENCE).sign(&key);
    let numeric = TokenBuilder::valid("https://issuer.test", AUDIENCE)
        .claim("sub", 7)
        .sign(&key);

    let (access, router) = counted_router(&key, &readings, custom);
    let router = router
        .route(
            "/scoped/",
            get(|scoped: Scoped<ReadUsers, Subject>| async move { scoped.into_inner().sub }),
        )
        .with_state(access);
    assert_eq!(
        send(router.clone(), None).await,
        (418, "MissingCredentials".to_owned()),
        "missing token"
    );
    assert_eq!(
        send(router.clone(), Some(&numeric)).await,
        (418, "InvalidToken".to_owned()),
        "claims of another type"
    );

    use tower::ServiceExt as _;
    let response = router
        .oneshot(
            axum::http::Request::get("/scoped/")
                .header("authorization", bearer(&token))
                .body(axum::body::Body::empty())
                .expect("request builds"),
        )
        .await
        .expect("router answers");
    assert_eq!(response.status().as_u16(), 418, "missing scope in Scoped");
}
