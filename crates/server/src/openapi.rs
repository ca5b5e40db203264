//! The OpenAPI document, generated from the handlers' annotations (utoipa).

use std::sync::OnceLock;

use axum::Json;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Static parts of the document; paths are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(title = "Breakathon API", description = "Game-day simulator and referee. Times are simulated seconds. Authenticate with `Authorization: Bearer TOKEN`."),
    modifiers(&BearerAuth),
    tags(
        (name = "public", description = "Anyone, no token"),
        (name = "organizer", description = "Organizer token"),
        (name = "team", description = "Team token: only the team's own data"),
        (name = "judge", description = "Judge token"),
        (name = "metrics", description = "Prometheus text format"),
        (name = "pages", description = "Web pages and their assets"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer security scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The full document (built once from the router).
pub fn document() -> &'static OpenApiDoc {
    static DOCUMENT: OnceLock<OpenApiDoc> = OnceLock::new();
    DOCUMENT.get_or_init(|| crate::router::api_router().split_for_parts().1)
}

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "public",
    responses((status = 200, description = "OpenAPI 3.1 document", body = serde_json::Value)))]
pub async fn openapi_json() -> Json<&'static OpenApiDoc> {
    Json(document())
}
