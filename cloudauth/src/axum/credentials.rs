//! Finding the bearer token in a request: the `Authorization` header, and a cookie or a query
//! parameter when configured.

use std::borrow::Cow;

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

/// The places tokens are read from. The `Authorization` header is always read, and a cookie or
/// a query parameter only when named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenSources {
    pub(crate) cookie: Option<String>,
    pub(crate) query: Option<String>,
}

/// The outcome of looking for a token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials<'r> {
    /// No bearer token anywhere; another scheme such as `Basic` counts as none (RFC 6750
    /// section 3.1).
    Missing,
    /// Exactly one token, borrowed from the request unless a query parameter decoded it.
    Token(Cow<'r, str>),
    /// The request is malformed: two `Authorization` headers, a `Bearer` scheme without a
    /// token, or tokens in more than one place.
    Invalid(&'static str),
}

impl TokenSources {
    /// Looks for the token in `parts`.
    pub(crate) fn find<'r>(&self, parts: &'r Parts) -> Credentials<'r> {
        let mut found = Credentials::Missing;
        let sources = [
            Some(from_authorization(&parts.headers)),
            self.cookie
                .as_deref()
                .map(|name| from_cookie(&parts.headers, name)),
            self.query
                .as_deref()
                .map(|name| from_query(parts.uri.query(), name)),
        ];

        for credentials in sources.into_iter().flatten() {
            match (credentials, &found) {
                (Credentials::Missing, _) => {}
                (invalid @ Credentials::Invalid(_), _) => return invalid,
                (token @ Credentials::Token(_), Credentials::Missing) => found = token,
                // RFC 6750 section 2: a client must not send the token in more than one way.
                (Credentials::Token(_), _) => {
                    return Credentials::Invalid("the token was sent in more than one place");
                }
            }
        }
        found
    }
}

/// Returns `true` for a CORS preflight request: `OPTIONS` with `Access-Control-Request-Method`.
pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn from_authorization(headers: &HeaderMap) -> Credentials<'_> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credentials::Missing;
    };
    if values.next().is_some() {
        return Credentials::Invalid("the request has more than one Authorization header");
    }
    let Ok(value) = value.to_str() else {
        return Credentials::Invalid("the Authorization header is not visible ASCII");
    };

    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Credentials::Missing;
    }
    let token = rest.trim();
    if token.is_empty() {
        return Credentials::Invalid("the Bearer scheme has no token");
    }
    // The value is visible ASCII, so spaces and tabs are the only whitespace it can contain.
    if token.contains(' ') || token.contains('\t') {
        return Credentials::Invalid("the Bearer token contains spaces");
    }
    Credentials::Token(Cow::Borrowed(token))
}

fn from_cookie<'r>(headers: &'r HeaderMap, name: &str) -> Credentials<'r> {
    let mut found = None;
    for header in headers.get_all(header::COOKIE) {
        let Ok(text) = header.to_str() else {
            continue;
        };
        for pair in text.split(';') {
            let Some((key, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if key != name {
                continue;
            }
            if found.is_some() {
                return Credentials::Invalid("the token cookie appears more than once");
            }
            found = Some(value.trim().trim_matches('"'));
        }
    }
    match found {
        Some("") => Credentials::Invalid("the token cookie is empty"),
        Some(token) => Credentials::Token(Cow::Borrowed(token)),
        None => Credentials::Missing,
    }
}

fn from_query<'r>(query: Option<&'r str>, name: &str) -> Credentials<'r> {
    let Some(query) = query else {
        return Credentials::Missing;
    };
    let mut values = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value);
    let Some(token) = values.next() else {
        return Credentials::Missing;
    };
    if values.next().is_some() {
        return Credentials::Invalid("the token query parameter appears more than once");
    }
    if token.is_empty() {
        return Credentials::Invalid("the token query parameter is empty");
    }
    Credentials::Token(token)
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(headers: &[(&str, &str)], uri: &str) -> Parts {
        let mut request = Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).expect("valid request").into_parts().0
    }

    #[test]
    fn credentials_in_requests() {
        let everywhere = TokenSources {
            cookie: Some("session".to_owned()),
            query: Some("access_token".to_owned()),
        };
        let header_only = TokenSources::default();
        let token = |t: &'static str| Credentials::Token(Cow::Borrowed(t));
        let cases = [
            (
                "bearer header",
                &header_only,
                vec![("authorization", "Bearer abc")],
                "/",
                token("abc"),
            ),
            (
                "lower-case scheme",
                &header_only,
                vec![("authorization", "bearer abc")],
                "/",
                token("abc"),
            ),
            (
                "extra spaces",
                &header_only,
                vec![("authorization", "  Bearer    abc  ")],
                "/",
                token("abc"),
            ),
            ("no header", &header_only, vec![], "/", Credentials::Missing),
            (
                "basic scheme",
                &header_only,
                vec![("authorization", "Basic dXNlcjpwdw==")],
                "/",
                Credentials::Missing,
            ),
            (
                "scheme without token",
                &header_only,
                vec![("authorization", "Bearer")],
                "/",
                Credentials::Invalid("the Bearer scheme has no token"),
            ),
            (
                "scheme with blanks",
                &header_only,
                vec![("authorization", "Bearer   ")],
                "/",
                Credentials::Invalid("the Bearer scheme has no token"),
            ),
            (
                "token with a space",
                &header_only,
                vec![("authorization", "Bearer a b")],
                "/",
                Credentials::Invalid("the Bearer token contains spaces"),
            ),
            (
                "two headers",
                &header_only,
                vec![("authorization", "Bearer a"), ("authorization", "Bearer b")],
                "/",
                Credentials::Invalid("the request has more than one Authorization header"),
            ),
            (
                "query ignored unless configured",
                &header_only,
                vec![],
                "/?access_token=abc",
                Credentials::Missing,
            ),
            (
                "query",
                &everywhere,
                vec![],
                "/?access_token=abc",
                token("abc"),
            ),
            (
                "cookie",
                &everywhere,
                vec![("cookie", "theme=dark; session=abc")],
                "/",
                token("abc"),
            ),
            (
                "header and query",
                &everywhere,
                vec![("authorization", "Bearer abc")],
                "/?access_token=abc",
                Credentials::Invalid("the token was sent in more than one place"),
            ),
            (
                "two query parameters",
                &everywhere,
                vec![],
                "/?access_token=a&access_token=b",
                Credentials::Invalid("the token query parameter appears more than once"),
            ),
        ];
        for (name, sources, headers, uri, expected) in cases {
            assert_eq!(sources.find(&parts(&headers, uri)), expected, "{name}");
        }
    }

    #[test]
    fn preflight_needs_options_and_request_method() {
        let with = parts(&[("access-control-request-method", "GET")], "/");
        assert!(is_preflight(&Method::OPTIONS, &with.headers));
        assert!(!is_preflight(&Method::GET, &with.headers));
        assert!(!is_preflight(&Method::OPTIONS, &HeaderMap::new()));
    }
}
