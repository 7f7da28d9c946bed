//! Validation of key set URLs.

use url::{Host, Url};

use crate::error::Error;

/// Parses `text` and accepts `https://` URLs, and `http://` only for loopback hosts (local
/// emulators and tests).
pub(crate) fn parse_key_set_url(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|source| {
        Error::config(format!("key set URL {text:?} is not a valid URL")).with_source(source)
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config("key set URL must not contain credentials"));
    }

    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::config(format!(
            "key set URL {url} must use https; plain http is allowed only for loopback addresses"
        ))),
        scheme => Err(Error::config(format!(
            "key set URL scheme {scheme:?} is not supported; use https"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_key_set_url;

    #[test]
    fn key_set_urls() {
        let cases = [
            (
                "https://cognito-idp.example/pool/.well-known/jwks.json",
                true,
            ),
            ("http://127.0.0.1:9000/jwks.json", true),
            ("http://127.8.9.10/jwks.json", true),
            ("http://[::1]:9000/jwks.json", true),
            ("http://localhost:9000/jwks.json", true),
            ("http://issuer.example/jwks.json", false),
            ("http://10.0.0.1/jwks.json", false),
            ("http://localhost.example/jwks.json", false),
            ("ftp://issuer.example/jwks.json", false),
            ("https://user:secret@issuer.example/jwks.json", false),
            ("not a url", false),
        ];
        for (url, accepted) in cases {
            assert_eq!(parse_key_set_url(url).is_ok(), accepted, "{url}");
        }
    }
}
