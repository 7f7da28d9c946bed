//! Runs the routes of the provider examples against a local issuer, with no account at any
//! provider, and prints `curl` commands with fresh tokens to try them.
//!
//! ```sh
//! cargo run --example quickstart --features axum,testing,utoipa
//! ```
//!
//! The issuer is [`cloudauth::testing::LocalIssuer`]: it listens on a random port of
//! 127.0.0.1, serves its key set and signs tokens with its own key. The service fetches and
//! checks keys from it the way it would from a provider. Access tokens have the audience
//! `quickstart-api` and grant scopes through the space-separated `scope` claim, the
//! verifier's default scope claim; ID tokens have the audience `quickstart-app` and carry the
//! user's `name`.
//!
//! - `GET /` requires an access token with the scope `read:users`;
//! - `GET /access/` greets the subject of an access token;
//! - `GET /user/` greets the user of an ID token by name;
//! - `GET /docs` serves Swagger UI and `GET /openapi.json` the API description, which lists the
//!   scope of `GET /`.
//!
//! When the variables of one provider are set, it runs that provider's example instead. They
//! are `REGION`, `USERPOOLID` and `APPCLIENTID` for Cognito, `DOMAIN`, `CUSTOMAPI` and
//! `CLIENTID` for Auth0, and `PROJECT_ID` for Firebase. `BIND` sets the listening address,
//! `127.0.0.1:8000` by default.

#![expect(
    clippy::duplicate_mod,
    reason = "the provider examples included below each declare `mod support` for themselves"
)]

#[path = "auth0.rs"]
mod auth0;
#[path = "cognito.rs"]
mod cognito;
#[path = "firebase.rs"]
mod firebase;

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use cloudauth::axum::{AccessTokens, Claims, CurrentUser, IdTokens};
use cloudauth::openapi::ApiSecurity;
use cloudauth::testing::{LocalIssuer, TokenBuilder};
use cloudauth::{RemoteKeySet, ScopeRequirement, Verifier};
use serde::Deserialize;
use utoipa::openapi::{HttpMethod, Info, OpenApiBuilder};
use utoipa_swagger_ui::SwaggerUi;

/// The audience of the quickstart's access tokens.
const API: &str = "quickstart-api";
/// The audience of the quickstart's ID tokens.
const APP: &str = "quickstart-app";

/// A provider example: its name, the variables that select it and its `main`.
type ProviderExample = (&'static str, &'static [&'static str], fn() -> ExitCode);

/// The provider examples.
const PROVIDERS: [ProviderExample; 3] = [
    (
        "Cognito",
        &["REGION", "USERPOOLID", "APPCLIENTID"],
        cognito::main,
    ),
    ("Auth0", &["DOMAIN", "CUSTOMAPI", "CLIENTID"], auth0::main),
    ("Firebase", &["PROJECT_ID"], firebase::main),
];

fn main() -> ExitCode {
    let configured: Vec<_> = PROVIDERS
        .iter()
        .filter(|(_, variables, _)| variables.iter().any(|name| is_set(name)))
        .collect();

    match configured.as_slice() {
        [] => run_local(),
        [(_, _, run_provider)] => run_provider(),
        several => {
            let names: Vec<_> = several.iter().map(|(name, _, _)| *name).collect();
            eprintln!(
                "error: variables of several providers are set ({}); set those of one only",
                names.join(", ")
            );
            ExitCode::from(2)
        }
    }
}

fn is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|value| !value.is_empty())
}

fn run_local() -> ExitCode {
    tracing_subscriber::fmt::init();
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let Ok(address) = bind.parse::<SocketAddr>() else {
        eprintln!(
            "error: BIND is {bind:?}, which is not an IP address and port such as 127.0.0.1:8000"
        );
        return ExitCode::from(2);
    };

    let served = tokio::runtime::Runtime::new()
        .map_err(Box::<dyn Error>::from)
        .and_then(|runtime| runtime.block_on(serve_local(address)));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Clone, FromRef)]
struct AppState {
    access: AccessTokens,
    id: IdTokens,
}

async fn serve_local(address: SocketAddr) -> Result<(), Box<dyn Error>> {
    let issuer = LocalIssuer::start().await?;
    let keys = RemoteKeySet::builder(issuer.jwks_url()).build()?;
    let access = Verifier::builder(keys.clone())
        .issuer(issuer.issuer())
        .audience(API)
        .build()?;
    let id = Verifier::builder(keys)
        .issuer(issuer.issuer())
        .audience(APP)
        .build()?;

    let state = AppState {
        access: AccessTokens::new(access),
        id: IdTokens::new(id),
    };
    // The layer and the API description take the requirement from the same value.
    let mut security = ApiSecurity::bearer("local", "An access or ID token of the local issuer");
    let readers = security.require(
        &state.access,
        HttpMethod::Get,
        "/",
        ScopeRequirement::all(["read:users"]),
    );
    security.protect(HttpMethod::Get, "/access/", None);
    security.protect(HttpMethod::Get, "/user/", None);
    let mut document = OpenApiBuilder::new()
        .info(Info::new("cloudauth quickstart", env!("CARGO_PKG_VERSION")))
        .build();
    security.apply(&mut document);

    let router = Router::new()
        .route("/", get(secure).route_layer(readers))
        .route("/access/", get(secure_access))
        .route("/user/", get(secure_user))
        .with_state(state)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", document));

    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| format!("failed to listen on {address}: {error}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    tracing::info!("listening on {url}");
    print_commands(&issuer, &url);

    // The issuer stays alive while the service runs, since it is dropped only on return.
    axum::serve(listener, router).await?;
    Ok(())
}

/// Prints `curl` commands with tokens that `issuer` signs now, valid for one hour.
fn print_commands(issuer: &LocalIssuer, url: &str) {
    let access = |scope: &str| {
        issuer.token(&TokenBuilder::valid(&issuer.issuer(), API).claim("scope", scope))
    };
    let reader = access("read:users");
    let writer = access("write:users");
    let user = issuer.token(&TokenBuilder::valid(&issuer.issuer(), APP).claim("name", "Jane Doe"));

    println!();
    println!("Try the service; the tokens expire in one hour:");
    println!();
    let commands = [
        (
            "200 Hello: access token with the scope read:users",
            &reader,
            "/",
        ),
        (
            "403 insufficient_scope: access token with only write:users",
            &writer,
            "/",
        ),
        (
            "200 Hello, user-1: the subject of an access token",
            &reader,
            "/access/",
        ),
        (
            "200 Hello, Jane Doe: the name in an ID token",
            &user,
            "/user/",
        ),
        (
            "401 invalid_token: an ID token where an access token is required",
            &user,
            "/access/",
        ),
    ];
    for (expected, token, path) in commands {
        println!("# {expected}");
        println!("curl -i -H 'Authorization: Bearer {token}' {url}{path}");
    }
    println!("# 401 without a token");
    println!("curl -i {url}/");
    println!();
    println!(
        "API description: {url}/openapi.json; Swagger UI with an Authorize button: {url}/docs"
    );
    println!();
}

async fn secure() -> &'static str {
    // The route layer has verified the access token and the scope.
    "Hello"
}

#[derive(Deserialize)]
struct AccessUser {
    sub: String,
}

async fn secure_access(Claims(user): Claims<AccessUser>) -> String {
    format!("Hello, {}", user.sub)
}

#[derive(Deserialize)]
struct User {
    name: String,
}

async fn secure_user(CurrentUser(user): CurrentUser<User>) -> String {
    format!("Hello, {}", user.name)
}
