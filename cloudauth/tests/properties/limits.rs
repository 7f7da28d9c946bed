//! Every input over a size limit is rejected: tokens over the maximum length before they are
//! parsed, and key sets with too many entries or too many bytes before any key is used.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::FromRequestParts as _;
use axum::http::{Request, header};
use cloudauth::axum::{AccessTokens, Claims, RawClaims};
use cloudauth::testing::TestKey;
use cloudauth::{
    ErrorKind, FetchFuture, FetchRequest, FetchResponse, Fetcher, KeySource, RemoteKeySet,
    RemoteKeySetBuilder, Verifier,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::common::{builder, config, keys, outcome, runtime, valid};

/// A key set URL that is never contacted: [`Document`] serves every fetch.
const KEY_SET_URL: &str = "http://127.0.0.1/jwks.json";

/// Generates text of more than `max` bytes, as more than `max` characters of any width.
fn longer_than(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), max + 1..max + 64)
        .prop_map(|chars| chars.into_iter().collect())
}

fn verifier_with_max(max: usize) -> Verifier {
    builder()
        .max_token_length(max)
        .build()
        .expect("verifier builds")
}

fn ed25519_key() -> &'static TestKey {
    keys()
        .iter()
        .find(|key| key.algorithm() == cloudauth::Algorithm::EdDSA)
        .expect("the test keys include Ed25519")
}

/// A fetcher that returns 200 and the same body for every request.
///
/// It ignores [`FetchRequest::max_bytes`] on purpose, as a careless fetcher would, so that only
/// the key set's own size check keeps the body from the parser.
#[derive(Debug)]
struct Document {
    body: Vec<u8>,
    fetches: Arc<AtomicUsize>,
}

impl Fetcher for Document {
    fn fetch<'a>(&'a self, _request: &'a FetchRequest) -> FetchFuture<'a> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let response = FetchResponse::new(200, self.body.clone());
        Box::pin(async move { Ok(response) })
    }
}

/// Loads `body` into a remote key set built by `configure` and returns the result and the
/// number of key set keys and fetches.
fn load(
    body: Vec<u8>,
    configure: impl FnOnce(RemoteKeySetBuilder) -> RemoteKeySetBuilder,
) -> (Result<(), cloudauth::Error>, usize, usize) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let document = Document {
        body,
        fetches: Arc::clone(&fetches),
    };
    let builder = RemoteKeySet::builder(KEY_SET_URL)
        .fetcher(document)
        .background_refresh(false);
    let keys = configure(builder).build().expect("key set builds");

    let result = runtime().block_on(keys.load());
    (
        result,
        keys.status().key_count,
        fetches.load(Ordering::SeqCst),
    )
}

/// Builds a JWK set or a certificate map with `count` entries, all the Ed25519 test key under
/// different key ids.
fn key_set_document(count: usize, certificate_map: bool) -> Vec<u8> {
    let key = ed25519_key();
    let document = if certificate_map {
        let pem = key.public_key_pem();
        let map: Map<String, Value> = (0..count)
            .map(|index| (format!("key-{index}"), Value::from(pem.as_str())))
            .collect();
        Value::Object(map)
    } else {
        let entries: Vec<Value> = (0..count)
            .map(|index| {
                let mut jwk = key.to_jwk();
                jwk["kid"] = json!(format!("key-{index}"));
                jwk
            })
            .collect();
        json!({ "keys": entries })
    };
    document.to_string().into_bytes()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn token_over_max_length_is_too_long(
        (max, token) in (64_usize..4096).prop_flat_map(|max| (Just(max), longer_than(max))),
    ) {
        prop_assert_eq!(outcome(&verifier_with_max(max), &token), Some(ErrorKind::TokenTooLong));

        let unsigned = Verifier::builder(KeySource::insecure_unsigned_tokens())
            .issuer(crate::common::ISSUER)
            .audience(crate::common::AUDIENCE)
            .max_token_length(max)
            .build()
            .expect("verifier builds");
        prop_assert_eq!(outcome(&unsigned, &token), Some(ErrorKind::TokenTooLong));
    }

    #[test]
    fn max_token_length_counts_bytes(
        max in 64_usize..256,
        chars in prop::collection::vec(any::<char>(), 0..300),
    ) {
        let token: String = chars.into_iter().collect();
        let kind = outcome(&verifier_with_max(max), &token);

        prop_assert_eq!(kind == Some(ErrorKind::TokenTooLong), token.len() > max);
    }

    #[test]
    fn token_one_byte_over_max_rejected(padding in 0_usize..2048) {
        let token = valid().claim("pad", "x".repeat(padding)).sign(ed25519_key());

        let at_limit = verifier_with_max(token.len());
        prop_assert_eq!(outcome(&at_limit, &token), None);
        let under = verifier_with_max(token.len() - 1);
        prop_assert_eq!(outcome(&under, &token), Some(ErrorKind::TokenTooLong));

        let tokens = AccessTokens::new(under);
        let request = Request::builder()
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .expect("request builds");
        let (mut parts, ()) = request.into_parts();
        let extract = Claims::<RawClaims>::from_request_parts(&mut parts, &tokens);
        let rejection = runtime().block_on(extract).err();
        let kind = rejection.and_then(|rejection| rejection.error().map(cloudauth::Error::kind));
        prop_assert_eq!(kind, Some(ErrorKind::TokenTooLong));
    }

    #[test]
    fn key_set_over_max_keys_is_rejected(
        max_keys in 1_usize..16,
        count in 1_usize..32,
        certificate_map in any::<bool>(),
    ) {
        let body = key_set_document(count, certificate_map);
        let limit = |builder: RemoteKeySetBuilder| builder.max_keys(max_keys);
        let (result, key_count, fetches) = load(body, limit);

        prop_assert_eq!(fetches, 1);
        if count > max_keys {
            let error = result.expect_err("too many entries");
            prop_assert_eq!(error.kind(), ErrorKind::KeySetUnavailable);
            let expected = format!("{count} entries, more than the maximum of {max_keys}");
            prop_assert!(error.to_string().contains(&expected), "{error}");
            prop_assert_eq!(key_count, 0);
        } else {
            prop_assert!(result.is_ok(), "{result:?}");
            prop_assert_eq!(key_count, count);
        }
    }

    #[test]
    fn key_set_over_max_bytes_is_rejected(max_bytes in 512_usize..4096, offset in -64_isize..64) {
        // A valid JWK set padded to `max_bytes + offset` bytes.
        let mut document = json!({ "keys": [ed25519_key().to_jwk()], "pad": "" });
        let unpadded = document.to_string().len();
        let size = max_bytes.saturating_add_signed(offset);
        document["pad"] = json!("x".repeat(size - unpadded));
        let body = document.to_string().into_bytes();
        prop_assert_eq!(body.len(), size);

        let limit = |builder: RemoteKeySetBuilder| builder.max_response_bytes(max_bytes);
        let (result, key_count, fetches) = load(body, limit);

        prop_assert_eq!(fetches, 1);
        if size > max_bytes {
            let error = result.expect_err("too many bytes");
            prop_assert_eq!(error.kind(), ErrorKind::KeySetUnavailable);
            let expected = format!("exceeds the maximum of {max_bytes} bytes");
            prop_assert!(error.to_string().contains(&expected), "{error}");
            prop_assert_eq!(key_count, 0);
        } else {
            prop_assert!(result.is_ok(), "{result:?}");
            prop_assert_eq!(key_count, 1);
        }
    }
}
