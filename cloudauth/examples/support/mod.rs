//! Plumbing that the provider examples share: reading environment variables and serving the
//! router on `BIND`.

use std::env::VarError;
use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use cloudauth::openapi::ApiSecurity;
use cloudauth::providers::PresetBuilder;
use utoipa::openapi::{Info, OpenApiBuilder};
use utoipa_swagger_ui::SwaggerUi;

/// The address the examples listen on when `BIND` is not set.
const DEFAULT_BIND: &str = "127.0.0.1:8000";

/// A configuration error. The example prints it and exits with status 2.
#[derive(Debug)]
pub(crate) struct ConfigError(pub(crate) String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<cloudauth::Error> for ConfigError {
    fn from(error: cloudauth::Error) -> Self {
        Self(format!("invalid configuration: {error}"))
    }
}

/// Reads the environment variable `name`, which must be set and not blank. `help` describes
/// the expected value in the error message.
pub(crate) fn env(name: &str, help: &str) -> Result<String, ConfigError> {
    match optional_env(name)? {
        Some(value) => Ok(value),
        None => Err(ConfigError(format!(
            "the environment variable {name} is empty or not set; set it to {help}"
        ))),
    }
}

/// Reads the environment variable `name`; unset and blank both give `None`.
fn optional_env(name: &str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value.trim().to_owned())),
        Err(VarError::NotPresent) => Ok(None),
        Err(VarError::NotUnicode(_)) => Err(ConfigError(format!(
            "the environment variable {name} is not valid UTF-8"
        ))),
    }
}

/// Applies `JWKS_URL` (where keys are fetched) and `ISSUER` (the expected `iss`) to a preset,
/// when they are set. Local emulators need them; real providers do not.
pub(crate) fn with_overrides<P>(
    mut preset: PresetBuilder<P>,
) -> Result<PresetBuilder<P>, ConfigError> {
    if let Some(url) = optional_env("JWKS_URL")? {
        preset = preset.jwks_url(url);
    }
    if let Some(issuer) = optional_env("ISSUER")? {
        preset = preset.issuer(issuer);
    }
    Ok(preset)
}

/// Adds the API description at `/openapi.json` and Swagger UI at `/docs`, with the protected
/// routes that `security` recorded. The UI is served from the binary and loads nothing from
/// other hosts.
pub(crate) fn with_docs(router: Router, security: &ApiSecurity, title: &str) -> Router {
    let mut document = OpenApiBuilder::new()
        .info(Info::new(title, env!("CARGO_PKG_VERSION")))
        .build();
    security.apply(&mut document);
    router.merge(SwaggerUi::new("/docs").url("/openapi.json", document))
}

/// Builds the router with `app` and serves it on `BIND` until the process is stopped.
///
/// Returns exit status 2 for a configuration error and 1 when the address cannot be bound.
pub(crate) fn run(app: fn() -> Result<Router, ConfigError>) -> ExitCode {
    tracing_subscriber::fmt::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the Tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };

    runtime.block_on(async {
        // The presets start loading keys in the background, so they are built inside the
        // runtime, and after `BIND` is checked, so that a mistake there fetches nothing.
        let (address, router) = match bind_address().and_then(|address| Ok((address, app()?))) {
            Ok(configured) => configured,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
        };
        serve(router, address).await
    })
}

/// Reads `BIND`, an IP address and port such as `127.0.0.1:8000`.
fn bind_address() -> Result<SocketAddr, ConfigError> {
    let text = optional_env("BIND")?.unwrap_or_else(|| DEFAULT_BIND.to_owned());
    text.parse().map_err(|_| {
        ConfigError(format!(
            "BIND is {text:?}, which is not an IP address and port such as {DEFAULT_BIND}"
        ))
    })
}

async fn serve(router: Router, address: SocketAddr) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: failed to listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(address);
    tracing::info!("listening on http://{address}");

    match axum::serve(listener, router).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the server stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
