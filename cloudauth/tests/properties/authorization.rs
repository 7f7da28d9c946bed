//! No `Authorization` header, cookie or query string panics the axum extractors and layers,
//! each gets a 400 or 401 with a challenge unless it carries the valid token, and every
//! well-formed way of sending the token is accepted.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, Uri, header};
use axum::routing::get;
use cloudauth::axum::{AccessTokens, Claims, RawClaims};
use proptest::prelude::*;
use tower::ServiceExt as _;

use crate::common::{config, keys, runtime, valid, verifier};

const COOKIE: &str = "session";
const QUERY: &str = "access_token";

/// Returns the token that the router accepts, whose `sub` is `user-1`.
fn token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| valid().sign(&keys()[0]))
}

async fn subject(Claims(claims): Claims<RawClaims>) -> String {
    claims["sub"].as_str().unwrap_or_default().to_owned()
}

/// Returns a router that reads tokens from the header, the cookie `session` and the query parameter
/// `access_token`: `/extract` through the extractor alone, `/layer` through a layer first.
fn router() -> Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER
        .get_or_init(|| {
            let tokens = AccessTokens::new(verifier())
                .token_cookie(COOKIE)
                .token_query(QUERY);
            let layered = Router::new()
                .route("/layer", get(subject))
                .route_layer(tokens.layer());
            Router::new()
                .route("/extract", get(subject))
                .merge(layered)
                .with_state(tokens)
        })
        .clone()
}

/// A request's credentials: `Authorization` values, a `Cookie` value and a query string.
#[derive(Debug, Clone)]
struct Sent {
    path: &'static str,
    authorization: Vec<Vec<u8>>,
    cookie: Option<Vec<u8>>,
    query: Option<String>,
}

impl Sent {
    /// Builds the request, or `None` when the query string does not fit in a URI.
    fn request(&self) -> Option<Request<Body>> {
        let uri = match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.to_owned(),
        };
        let mut request = Request::builder().uri(Uri::try_from(uri).ok()?);
        for value in &self.authorization {
            let value = HeaderValue::from_bytes(value).expect("strategies make valid values");
            request = request.header(header::AUTHORIZATION, value);
        }
        if let Some(cookie) = &self.cookie {
            let value = HeaderValue::from_bytes(cookie).expect("strategies make valid values");
            request = request.header(header::COOKIE, value);
        }
        request.body(Body::empty()).ok()
    }

    /// Returns `true` when the token is sent somewhere, which a 200 response requires.
    fn carries_token(&self) -> bool {
        let token = token().as_bytes();
        let contains = |bytes: &[u8]| bytes.windows(token.len()).any(|window| window == token);
        self.authorization.iter().any(|value| contains(value))
            || self.cookie.as_deref().is_some_and(contains)
            || self
                .query
                .as_deref()
                .is_some_and(|query| contains(query.as_bytes()))
    }

    /// Returns `true` when the one `Authorization` value is exactly `Bearer` (in any case) and
    /// the token, surrounded by blanks.
    fn authorization_is_bearer_token(&self) -> bool {
        let [value] = self.authorization.as_slice() else {
            return false;
        };
        // Only visible ASCII and tabs are a readable header, and `trim` below must not meet
        // Unicode blanks such as U+0085.
        let Ok(value) = std::str::from_utf8(value) else {
            return false;
        };
        if !value.is_ascii() {
            return false;
        }
        let Some((scheme, rest)) = value.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && rest.trim() == token()
    }
}

/// Generates the bytes that an HTTP header value may contain, obs-text included.
fn header_byte() -> impl Strategy<Value = u8> {
    prop_oneof![Just(b'\t'), 0x20_u8..0x7f, 0x80_u8..=0xff]
}

fn blanks() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ \t]{0,3}").expect("valid regex")
}

fn scheme() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "Bearer", "bearer", "BEARER", "bEaReR", "Basic", "Bearer,", "Token", "",
    ])
}

/// Generates the valid token, a part of it, or it with other bytes added.
fn token_variant() -> impl Strategy<Value = Vec<u8>> {
    let whole = Just(token().as_bytes().to_vec());
    let cut = any::<prop::sample::Index>().prop_map(|at| {
        let bytes = token().as_bytes();
        bytes[..at.index(bytes.len())].to_vec()
    });
    let mixed = (
        any::<prop::sample::Index>(),
        prop::collection::vec(header_byte(), 1..4),
    )
        .prop_map(|(at, extra)| {
            let mut bytes = token().as_bytes().to_vec();
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, extra);
            bytes
        });
    prop_oneof![whole, cut, mixed]
}

fn authorization_value() -> impl Strategy<Value = Vec<u8>> {
    let raw = prop::collection::vec(header_byte(), 0..80);
    let bearer_raw = prop::collection::vec(header_byte(), 0..80)
        .prop_map(|rest: Vec<u8>| [b"Bearer ".as_slice(), &rest].concat());
    let around_token = (blanks(), scheme(), blanks(), token_variant(), blanks()).prop_map(
        |(lead, scheme, separator, token, trail)| {
            [
                lead.as_bytes(),
                scheme.as_bytes(),
                separator.as_bytes(),
                &token,
                trail.as_bytes(),
            ]
            .concat()
        },
    );
    prop_oneof![raw, bearer_raw, around_token]
}

fn cookie_value() -> impl Strategy<Value = Vec<u8>> {
    let raw = prop::collection::vec(header_byte(), 0..60);
    let named = (blanks(), token_variant())
        .prop_map(|(lead, token)| [lead.as_bytes(), b"session=", &token].concat());
    prop_oneof![raw, named]
}

fn query() -> impl Strategy<Value = String> {
    let raw = proptest::string::string_regex("[A-Za-z0-9_=&%.+~-]{0,40}").expect("valid regex");
    let named = token_variant().prop_map(|token| {
        format!(
            "{QUERY}={}",
            String::from_utf8_lossy(&token).replace(' ', "+")
        )
    });
    prop_oneof![raw, named]
}

fn sent() -> impl Strategy<Value = Sent> {
    let path = prop::sample::select(vec!["/extract", "/layer"]);
    let authorization = prop::collection::vec(authorization_value(), 0..3);
    let cookie = prop::option::weighted(0.2, cookie_value());
    let query = prop::option::weighted(0.2, query());
    (path, authorization, cookie, query).prop_map(|(path, authorization, cookie, query)| Sent {
        path,
        authorization,
        cookie,
        query,
    })
}

/// Sends `request` through the router and returns the status and the `WWW-Authenticate`
/// header.
fn send(request: Request<Body>) -> (StatusCode, Option<HeaderValue>) {
    let response = runtime()
        .block_on(router().oneshot(request))
        .expect("the router is infallible");
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).cloned();
    (response.status(), challenge)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_credentials_get_a_client_status(sent in sent()) {
        let Some(request) = sent.request() else {
            return Ok(());
        };
        let (status, challenge) = send(request);

        let expected = [StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED];
        prop_assert!(expected.contains(&status), "status {status} for {sent:?}");
        if status == StatusCode::OK {
            prop_assert!(sent.carries_token(), "accepted without the token: {sent:?}");
        } else {
            prop_assert!(challenge.is_some(), "status {status} without a challenge");
        }
        if sent.authorization.len() > 1 {
            prop_assert_eq!(status, StatusCode::BAD_REQUEST, "two Authorization headers");
        }
        if sent.authorization_is_bearer_token() && sent.cookie.is_none() && sent.query.is_none() {
            prop_assert_eq!(status, StatusCode::OK, "a well-formed header: {:?}", sent);
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive(
        uppercase in prop::collection::vec(any::<bool>(), 6),
        lead in blanks(),
        separator in blanks(),
        trail in blanks(),
        path in prop::sample::select(vec!["/extract", "/layer"]),
    ) {
        let scheme: String = "bearer"
            .chars()
            .zip(uppercase)
            .map(|(c, upper)| if upper { c.to_ascii_uppercase() } else { c })
            .collect();
        let value = format!("{lead}{scheme} {separator}{}{trail}", token());
        let sent = Sent {
            path,
            authorization: vec![value.into_bytes()],
            cookie: None,
            query: None,
        };

        let (status, _) = send(sent.request().expect("request builds"));
        prop_assert_eq!(status, StatusCode::OK);
    }
}
