//! The OpenAPI 3.1 document of `/api/v1`, generated from the route registration itself.
//!
//! Every API route is registered through [`api_router`] with `utoipa_axum::routes!`, which reads
//! the `#[utoipa::path]` attribute on its handler: the server's router and this document come
//! from the same registration, so a route cannot be served without being documented.
//! Handlers that answer with typed wire structs ([`crate::wire`]) reference their schemas;
//! those that build an untyped JSON object say so in their description. Every refusal is the
//! [`Error`] schema with a stable code.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use utoipa::openapi::info::LicenseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The body of every error and refusal: `{"error": {"code", "message", "request_id"}}`.
#[derive(ToSchema)]
pub struct Error {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    /// Stable and greppable, e.g. `person.not_found`, `scope.denied`, `account.locked`.
    #[schema(examples("person.not_found"))]
    pub code: String,
    /// For people, in English.
    pub message: String,
    /// The `x-request-id` of the response; quote it when reporting an internal error.
    pub request_id: String,
    /// Extra fields of some refusals: the collecting units to go to, the seconds to wait.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build(),
        )
        .into()
}

fn responses(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    list.iter()
        .map(|(status, description)| ((*status).to_owned(), error_response(description)))
        .collect()
}

const BAD: (&str, &str) = (
    "400",
    "Bad input (`person.bad_id`, `unit.bad_code`, `search.bad_birth`, `code.format`, …): the message says why.",
);
const UNAUTHORIZED: (&str, &str) = (
    "401",
    "Missing (`auth.required`) or invalid (`auth.invalid`) bearer token, or wrong credentials.",
);
const FORBIDDEN: (&str, &str) = (
    "403",
    "Outside the caller's scope (`scope.denied`; audited) or refused by an account rule.",
);
const NOT_FOUND: (&str, &str) = (
    "404",
    "Not found (`person.not_found`, `unit.not_found`, `account.not_found`, …).",
);
const INTERNAL: (&str, &str) = ("500", "Internal error (`internal`); quote the request id.");

/// The errors of the register API (persons, units, audit).
pub struct ReadErrors;

impl utoipa::IntoResponses for ReadErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        responses(&[BAD, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, INTERNAL])
    }
}

/// The errors of the account and operations API, whose rules refuse with a stable code.
pub struct Errors;

impl utoipa::IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        responses(&[
            BAD,
            UNAUTHORIZED,
            FORBIDDEN,
            NOT_FOUND,
            ("409", "The state does not allow it (`state.wrong`, `account.go_in_person` with the collecting units, `packet.replayed`, `ops.stale`, …)."),
            ("422", "A rule refused the input (`code.invalid`, `quota.metric`, `password.policy`, …)."),
            ("423", "The account is locked (`account.locked`)."),
            ("429", "Too many attempts (`auth.rate_limited`, `account.locked_out` with the seconds to wait)."),
            INTERNAL,
        ])
    }
}

/// The security schemes: staff API tokens and citizen sessions (bearer), relying parties'
/// client credentials (Basic).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token of a staff account, issued with `eid admin issue-token`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "citizen",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A citizen session token from /api/v1/app/signin."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "A relying party's client id and secret (`client_secret_basic`); a \
                         `private_key_jwt` client sends its assertion in the body instead.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "eid API",
        description = "The population register, e-ID accounts and operations of the national electronic identity platform. Every response carries an `x-request-id` header; every person read and search, and every officer and operations action, is audited with it.",
    ),
    servers((url = "/")),
    components(schemas(Error, ErrorDetail)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "register", description = "Persons, units and the audit trail (staff tokens)."),
        (name = "accounts", description = "The citizen app, intake devices and officers' account work."),
        (name = "operations", description = "Quotas, progress, campaigns, outreach, proposals and reports (staff tokens)."),
        (name = "linkage", description = "Sector data matched against the register: decisions and their explanations (staff tokens)."),
        (name = "residence", description = "Residence procedures: the citizen's requests (app session) and the commune police's queue (staff tokens)."),
        (name = "wallet", description = "Citizens' wallet presentations checked online by relying parties (client credentials)."),
    )
)]
struct ApiDoc;

/// Every `/api/v1` route with its documentation. The server mounts this router's routes
/// ([`crate::startup::router`]) and serves its document at `/api/v1/openapi.json`.
pub fn api_router() -> OpenApiRouter<AppState> {
    let mut doc = ApiDoc::openapi();
    doc.info.license = Some(
        LicenseBuilder::new()
            .name("Apache-2.0")
            .identifier(Some("Apache-2.0"))
            .build(),
    );
    OpenApiRouter::with_openapi(doc)
        .merge(crate::api::router())
        .merge(crate::accounts_api::router())
        .merge(crate::ops_api::router())
        .merge(crate::linkage::router())
        .merge(crate::stay::api_router())
        .merge(crate::residence::api_router())
        .merge(crate::wallet::api_router())
}

/// The whole document, built once from [`api_router`].
pub fn document() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(api_router().into_openapi()).unwrap_or_default())
}
