//! Protects three routes with the tokens of an Auth0 tenant, like fastapi-cloudauth's Auth0
//! example.
//!
//! ```sh
//! DOMAIN=tenant.eu.auth0.com CUSTOMAPI=https://api.example.com CLIENTID=app-client-id \
//!     cargo run --example auth0 --features axum,utoipa
//! ```
//!
//! - `GET /` requires an access token for the API with the permission `read:users`;
//! - `GET /access/` greets the subject of an access token;
//! - `GET /user/` greets the user of an ID token by name.
//!
//! `JWKS_URL` and `ISSUER` replace the tenant's key set URL and issuer, for a local issuer.
//! `BIND` sets the listening address, `127.0.0.1:8000` by default.

mod support;

use std::process::ExitCode;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use cloudauth::ScopeRequirement;
use cloudauth::axum::{AccessTokens, Claims, CurrentUser, IdTokens};
use cloudauth::openapi::ApiSecurity;
use cloudauth::providers::auth0::{Auth0, IdClaims};
use serde::Deserialize;
use utoipa::openapi::HttpMethod;

use support::ConfigError;

/// Runs the service; the quickstart example runs it too when the Auth0 variables are set.
pub(crate) fn main() -> ExitCode {
    support::run(app)
}

#[derive(Clone, FromRef)]
struct AppState {
    access: AccessTokens,
    id: IdTokens,
}

fn app() -> Result<Router, ConfigError> {
    let auth0 = Auth0::builder(support::env(
        "DOMAIN",
        "the tenant's domain, such as tenant.eu.auth0.com",
    )?)
    .api_identifier(support::env(
        "CUSTOMAPI",
        "the identifier (audience) of the API, such as https://api.example.com",
    )?)
    .client_id(support::env(
        "CLIENTID",
        "the client id of the application",
    )?);
    let auth0 = support::with_overrides(auth0)?.build()?;

    // The preset has both verifiers, since an API identifier and a client id are set.
    let (Some(access), Some(id)) = (auth0.access_tokens(), auth0.id_tokens()) else {
        return Err(ConfigError("the Auth0 preset lacks a verifier".to_owned()));
    };
    let state = AppState {
        access: AccessTokens::new(access.clone()),
        id: IdTokens::new(id.clone()),
    };
    // The layer and the API description take the requirement from the same value.
    let mut security = ApiSecurity::bearer("auth0", "An access or ID token of the Auth0 tenant");
    let readers = security.require(
        &state.access,
        HttpMethod::Get,
        "/",
        ScopeRequirement::all(["read:users"]),
    );
    security.protect(HttpMethod::Get, "/access/", None);
    security.protect(HttpMethod::Get, "/user/", None);

    let router = Router::new()
        .route("/", get(secure).route_layer(readers))
        .route("/access/", get(secure_access))
        .route("/user/", get(secure_user))
        .with_state(state);
    Ok(support::with_docs(
        router,
        &security,
        "cloudauth Auth0 example",
    ))
}

async fn secure() -> &'static str {
    // The route layer has verified the access token and the permission.
    "Hello"
}

#[derive(Deserialize)]
struct AccessUser {
    sub: String,
}

async fn secure_access(Claims(user): Claims<AccessUser>) -> String {
    format!("Hello, {}", user.sub)
}

async fn secure_user(CurrentUser(user): CurrentUser<IdClaims>) -> String {
    // Auth0 puts `name` in ID tokens only when the login requested the `profile` scope.
    format!("Hello, {}", user.username.unwrap_or(user.sub))
}
