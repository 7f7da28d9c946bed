//! OpenAPI descriptions of protected routes (feature `utoipa`).
//!
//! [`ApiSecurity`] records, for each protected operation, the scope requirement that its layer
//! enforces, and writes a bearer security scheme and one security requirement per operation
//! into a [`utoipa`] document. With [`ApiSecurity::require`] the layer and the documentation
//! come from the same [`ScopeRequirement`] value, so they cannot drift apart.
//!
//! ```
//! use cloudauth::ScopeRequirement;
//! use cloudauth::openapi::ApiSecurity;
//! use utoipa::openapi::{HttpMethod, OpenApiBuilder};
//!
//! let mut security = ApiSecurity::bearer("cognito", "An access token of the Cognito user pool");
//! let readers = ScopeRequirement::all(["read:users"]);
//! security.protect(HttpMethod::Get, "/", Some(&readers));
//!
//! let mut document = OpenApiBuilder::new().build();
//! security.apply(&mut document);
//! let json = serde_json::to_value(&document).unwrap();
//! assert_eq!(json["paths"]["/"]["get"]["security"][0]["cognito"][0], "read:users");
//! ```

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Components, HttpMethod, OpenApi, Response};

use crate::scope::{ScopeMatch, ScopeRequirement};

/// The protected operations of an API and the bearer scheme that guards them.
#[derive(Debug, Clone)]
pub struct ApiSecurity {
    scheme: String,
    description: String,
    operations: Vec<ProtectedOperation>,
}

#[derive(Clone)]
struct ProtectedOperation {
    method: HttpMethod,
    path: String,
    scopes: Option<ScopeRequirement>,
}

impl std::fmt::Debug for ProtectedOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // utoipa's `HttpMethod` implements `Debug` only with its `debug` feature.
        let method = serde_json::to_value(&self.method).unwrap_or_default();
        f.debug_struct("ProtectedOperation")
            .field("method", &method)
            .field("path", &self.path)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl ApiSecurity {
    /// Creates a bearer (`JWT`) security scheme called `scheme`, described by `description`,
    /// such as the provider that issues the tokens.
    pub fn bearer(scheme: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            scheme: scheme.into(),
            description: description.into(),
            operations: Vec::new(),
        }
    }

    /// Records that `method` on `path` requires a token and, when given, `scopes`.
    pub fn protect(&mut self, method: HttpMethod, path: &str, scopes: Option<&ScopeRequirement>) {
        self.operations.push(ProtectedOperation {
            method,
            path: path.to_owned(),
            scopes: scopes.cloned(),
        });
    }

    /// Records that `method` on `path` requires `scopes`, and returns the layer that enforces
    /// them, built from the same value.
    ///
    /// The layer guards every method of the route it is added to, so add it to a method
    /// router, as in `get(handler).route_layer(layer)`, or record each method of the route.
    #[cfg(feature = "axum")]
    pub fn require<K: crate::axum::TokenKind>(
        &mut self,
        verifier: &crate::axum::TokenVerifier<K>,
        method: HttpMethod,
        path: &str,
        scopes: ScopeRequirement,
    ) -> crate::axum::RequireToken<K> {
        self.protect(method, path, Some(&scopes));
        verifier.require(scopes)
    }

    /// Writes the security scheme and the security requirement of every recorded operation
    /// into `document`, adding operations that it does not describe yet, with 401 and, for
    /// scoped operations, 403 responses.
    pub fn apply(&self, document: &mut OpenApi) {
        let scheme = SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(self.description.clone()))
                .build(),
        );
        document
            .components
            .get_or_insert_with(Components::new)
            .add_security_scheme(self.scheme.clone(), scheme);

        for protected in &self.operations {
            let item = document
                .paths
                .paths
                .entry(protected.path.clone())
                .or_default();
            let operation = operation_mut(item, &protected.method)
                .get_or_insert_with(|| placeholder(&protected.path));
            self.describe(operation, protected.scopes.as_ref());
        }
    }

    fn describe(&self, operation: &mut Operation, scopes: Option<&ScopeRequirement>) {
        let names: Vec<String> = scopes.map(|s| s.names().to_vec()).unwrap_or_default();
        // OpenAPI lists security requirements as alternatives, so "any of" becomes one
        // requirement per name and "all of" one requirement with every name.
        let requirements = match scopes.map(ScopeRequirement::mode) {
            Some(ScopeMatch::Any) if !names.is_empty() => names
                .iter()
                .map(|name| SecurityRequirement::new(self.scheme.clone(), [name.clone()]))
                .collect(),
            _ => vec![SecurityRequirement::new(self.scheme.clone(), names)],
        };
        operation.security = Some(requirements);
        if operation.description.is_none() {
            operation.description = Some(match scopes.filter(|s| !s.is_empty()) {
                Some(scopes) => format!("Requires a bearer token with {}.", scope_list(scopes)),
                None => "Requires a bearer token.".to_owned(),
            });
        }

        let responses = &mut operation.responses.responses;
        responses
            .entry("401".to_owned())
            .or_insert_with(|| Response::new("Missing, malformed or invalid bearer token").into());
        if let Some(scopes) = scopes.filter(|s| !s.is_empty()) {
            let description = format!("The token lacks {}", scope_list(scopes));
            responses
                .entry("403".to_owned())
                .or_insert_with(|| Response::new(description).into());
        }
    }
}

/// Describes a requirement as "all of the scopes a, b" or "one of the scopes a, b".
fn scope_list(scopes: &ScopeRequirement) -> String {
    let mode = match scopes.mode() {
        ScopeMatch::All if scopes.names().len() == 1 => "the scope",
        ScopeMatch::All => "all of the scopes",
        ScopeMatch::Any => "one of the scopes",
    };
    format!("{mode} {}", scopes.names().join(", "))
}

fn placeholder(path: &str) -> Operation {
    let mut operation = Operation::new();
    operation.summary = Some(format!("Protected route {path}"));
    operation
        .responses
        .responses
        .insert("200".to_owned(), Response::new("Success").into());
    operation
}

fn operation_mut<'a>(item: &'a mut PathItem, method: &HttpMethod) -> &'a mut Option<Operation> {
    match method {
        HttpMethod::Get => &mut item.get,
        HttpMethod::Post => &mut item.post,
        HttpMethod::Put => &mut item.put,
        HttpMethod::Delete => &mut item.delete,
        HttpMethod::Options => &mut item.options,
        HttpMethod::Head => &mut item.head,
        HttpMethod::Patch => &mut item.patch,
        HttpMethod::Trace => &mut item.trace,
    }
}
