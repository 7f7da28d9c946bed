//! Sends requests with arbitrary `Authorization`, `Cookie` and other headers, query strings,
//! methods and paths through an axum router that reads tokens with the `Claims` extractor,
//! alone or behind the `RequireToken` layer.
//!
//! The input is text of `name: value` lines, such as `authorization: Bearer $TOKEN`. The names
//! `path`, `method` and `query` set those parts of the request; any other name is a header.
//! `$TOKEN` stands for a token that the router accepts.
//!
//! Nothing may panic; every response must be 200, 400 or 401, or 404 for another path; a 400
//! or 401 must carry a
//! `WWW-Authenticate` challenge; a 200 needs the token in the request; and two `Authorization`
//! headers must get a 400.

#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::routing::any;
use cloudauth::axum::{AccessTokens, Claims, RawClaims};
use cloudauth_fuzz::{builder, runtime, valid_token};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;

const PLACEHOLDER: &[u8] = b"$TOKEN";

async fn subject(Claims(claims): Claims<RawClaims>) -> String {
    claims["sub"].as_str().unwrap_or_default().to_owned()
}

/// Returns a router that reads tokens from the header, the cookie `session` and the query
/// parameter `access_token`. `/extract` uses the extractor alone, and `/layer` a layer that
/// lets CORS preflights through.
fn router() -> Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER
        .get_or_init(|| {
            let tokens = AccessTokens::new(builder().build().expect("verifier builds"))
                .token_cookie("session")
                .token_query("access_token")
                .pass_preflight();
            let layered = Router::new()
                .route("/layer", any(subject))
                .route_layer(tokens.layer());
            Router::new()
                .route("/extract", any(subject))
                .merge(layered)
                .with_state(tokens)
        })
        .clone()
}

/// Replaces every `$TOKEN` in `bytes` with the valid token.
fn expand(bytes: &[u8]) -> Vec<u8> {
    let mut expanded = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.starts_with(PLACEHOLDER) {
            expanded.extend_from_slice(valid_token().as_bytes());
            rest = &rest[PLACEHOLDER.len()..];
        } else {
            expanded.push(rest[0]);
            rest = &rest[1..];
        }
    }
    expanded
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Builds the request from the input lines, or `None` when a part cannot be built.
fn request(input: &[u8]) -> Option<(Request<Body>, bool, usize)> {
    let mut path = "/extract".to_owned();
    let mut method = Method::GET;
    let mut query = None;
    let mut headers = Vec::new();
    let mut carries_token = false;
    let mut authorization_count = 0;

    for line in input.split(|byte| *byte == b'\n') {
        let Some(colon) = line.iter().position(|byte| *byte == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon])
            .trim()
            .to_ascii_lowercase();
        let value = expand(
            line[colon + 1..]
                .strip_prefix(b" ")
                .unwrap_or(&line[colon + 1..]),
        );
        match name.as_str() {
            "path" => path = String::from_utf8(value).ok()?,
            "method" => method = Method::from_bytes(&value).ok()?,
            "query" => {
                carries_token |= contains(&value, valid_token().as_bytes());
                query = Some(String::from_utf8(value).ok()?);
            }
            _ => {
                let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
                let value = HeaderValue::from_bytes(&value).ok()?;
                if name == header::AUTHORIZATION {
                    authorization_count += 1;
                }
                if name == header::AUTHORIZATION || name == header::COOKIE {
                    carries_token |= contains(value.as_bytes(), valid_token().as_bytes());
                }
                headers.push((name, value));
            }
        }
    }

    let uri = match query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request.body(Body::empty()).ok()?;
    Some((request, carries_token, authorization_count))
}

fuzz_target!(|input: &[u8]| {
    let Some((request, carries_token, authorization_count)) = request(input) else {
        return;
    };
    let response = runtime()
        .block_on(router().oneshot(request))
        .expect("the router is infallible");
    let status = response.status();

    let allowed = [
        StatusCode::OK,
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::NOT_FOUND,
    ];
    assert!(allowed.contains(&status), "status {status}");
    if status == StatusCode::OK {
        assert!(carries_token, "200 without the token in the request");
    }
    if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
        let challenge = response.headers().get(header::WWW_AUTHENTICATE);
        assert!(challenge.is_some(), "status {status} without a challenge");
    }
    if authorization_count > 1 && status != StatusCode::NOT_FOUND {
        assert_eq!(status, StatusCode::BAD_REQUEST, "two Authorization headers");
    }
});
