//! Protects a route with Firebase Authentication ID tokens, like fastapi-cloudauth's Firebase
//! example.
//!
//! ```sh
//! PROJECT_ID=my-project cargo run --example firebase --features axum,utoipa
//! ```
//!
//! `GET /user/` greets the user of an ID token by user id.
//!
//! `JWKS_URL` and `ISSUER` replace Google's certificate URL and the project's issuer, for a
//! local issuer. `BIND` sets the listening address, `127.0.0.1:8000` by default.

mod support;

use std::process::ExitCode;

use axum::Router;
use axum::routing::get;
use cloudauth::axum::{CurrentUser, IdTokens};
use cloudauth::openapi::ApiSecurity;
use cloudauth::providers::firebase::{Firebase, IdClaims};
use utoipa::openapi::HttpMethod;

use support::ConfigError;

/// Runs the service; the quickstart example runs it too when `PROJECT_ID` is set.
pub(crate) fn main() -> ExitCode {
    support::run(app)
}

fn app() -> Result<Router, ConfigError> {
    let firebase = Firebase::builder(support::env(
        "PROJECT_ID",
        "the Firebase project id, such as my-project",
    )?);
    let firebase = support::with_overrides(firebase)?.build()?;

    let mut security = ApiSecurity::bearer("firebase", "An ID token of the Firebase project");
    security.protect(HttpMethod::Get, "/user/", None);

    let router = Router::new()
        .route("/user/", get(secure_user))
        .with_state(IdTokens::new(firebase.id_tokens().clone()));
    Ok(support::with_docs(
        router,
        &security,
        "cloudauth Firebase example",
    ))
}

async fn secure_user(CurrentUser(user): CurrentUser<IdClaims>) -> String {
    format!("Hello, {}", user.user_id)
}
