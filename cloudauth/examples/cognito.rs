//! Protects three routes with the tokens of an Amazon Cognito user pool, like
//! fastapi-cloudauth's Cognito example.
//!
//! ```sh
//! REGION=eu-west-1 USERPOOLID=eu-west-1_AbCdEf123 APPCLIENTID=4b2cl1ent1d \
//!     cargo run --example cognito --features axum,utoipa
//! ```
//!
//! - `GET /` requires an access token of a user in the group `read:users`;
//! - `GET /access/` greets the subject of an access token;
//! - `GET /user/` greets the user of an ID token.
//!
//! `APPCLIENTID` takes several app client ids separated by commas. `JWKS_URL` and `ISSUER`
//! replace the pool's key set URL and issuer, for local emulators such as moto. `BIND` sets
//! the listening address, `127.0.0.1:8000` by default.

mod support;

use std::process::ExitCode;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use cloudauth::ScopeRequirement;
use cloudauth::axum::{AccessTokens, Claims, CurrentUser, IdTokens};
use cloudauth::openapi::ApiSecurity;
use cloudauth::providers::cognito::{Cognito, IdClaims};
use serde::Deserialize;
use utoipa::openapi::HttpMethod;

use support::ConfigError;

/// Runs the service; the quickstart example runs it too when the Cognito variables are set.
pub(crate) fn main() -> ExitCode {
    support::run(app)
}

#[derive(Clone, FromRef)]
struct AppState {
    access: AccessTokens,
    id: IdTokens,
}

fn app() -> Result<Router, ConfigError> {
    let mut cognito = Cognito::builder(
        support::env(
            "REGION",
            "the AWS region of the user pool, such as eu-west-1",
        )?,
        support::env(
            "USERPOOLID",
            "the user pool id, such as eu-west-1_AbCdEf123",
        )?,
    );
    let clients = support::env(
        "APPCLIENTID",
        "the app client id, or several separated by commas",
    )?;
    for client in clients
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        cognito = cognito.client_id(client);
    }
    let cognito = support::with_overrides(cognito)?.build()?;

    let state = AppState {
        access: AccessTokens::new(cognito.access_tokens().clone()),
        id: IdTokens::new(cognito.id_tokens().clone()),
    };
    // The layer and the API description take the requirement from the same value.
    let mut security =
        ApiSecurity::bearer("cognito", "An access or ID token of the Cognito user pool");
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
        "cloudauth Cognito example",
    ))
}

async fn secure() -> &'static str {
    // The route layer has verified the access token and the group.
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
    format!("Hello, {}", user.username)
}
