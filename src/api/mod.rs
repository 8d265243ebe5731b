//! The JSON API under `/api/v1`, its OpenAPI 3 document and the browsable docs page.
//! Routes and their documentation are registered together, so the document cannot miss one.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::auth::middleware::CurrentUser;
use crate::startup::AppState;
use crate::web::error::AppError;
pub use crate::web::extract::{IdPath, JsonBody, QueryParams};

/// A signed-in caller of the API (bearer token or session); 401 otherwise.
pub struct ApiUser(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .and_then(|c| c.0.clone())
            .map(ApiUser)
            .ok_or(AppError::Unauthenticated)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kalibra API",
        description = "Quality and service management for customer-service organisations. \
            Authenticate with `Authorization: Bearer <token>` (create a token on your account page \
            or with `kalibra token create`). Every error has the shape `{code, message, field}`."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(crate::web::error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every API route with its documentation.
pub fn router() -> OpenApiRouter<AppState> {
    use crate::{audit, auth, contacts, people, programs, quality};
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::routes::api_me))
        .routes(routes!(
            auth::routes::api_list_tokens,
            auth::routes::api_create_token
        ))
        .routes(routes!(auth::routes::api_revoke_token))
        .routes(routes!(
            programs::routes::api_list,
            programs::routes::api_create
        ))
        .routes(routes!(
            programs::routes::api_get,
            programs::routes::api_update
        ))
        .routes(routes!(
            programs::routes::api_teams,
            programs::routes::api_create_team
        ))
        .routes(routes!(
            people::routes::api_list,
            people::routes::api_create
        ))
        .routes(routes!(people::routes::api_get, people::routes::api_update))
        .routes(routes!(
            people::routes::api_grants,
            people::routes::api_add_grant
        ))
        .routes(routes!(people::routes::api_remove_grant))
        .routes(routes!(audit::routes::api_list))
        .routes(routes!(contacts::routes::api_kpis))
        .routes(routes!(crate::agreement::routes::api_agreement))
        .routes(routes!(contacts::upload::api_upload))
        .routes(routes!(
            quality::routes::api_principles,
            quality::routes::api_create_principle
        ))
        .routes(routes!(quality::routes::api_update_principle))
        .routes(routes!(
            quality::routes::api_kpis,
            quality::routes::api_create_kpi
        ))
        .routes(routes!(quality::routes::api_update_kpi))
        .routes(routes!(quality::routes::api_templates))
        .routes(routes!(
            quality::routes::api_forms,
            quality::routes::api_create_form
        ))
        .routes(routes!(
            quality::routes::api_version,
            quality::routes::api_update_version
        ))
        .routes(routes!(quality::routes::api_publish))
        .routes(routes!(quality::routes::api_retire))
        .routes(routes!(quality::routes::api_new_draft))
        .routes(routes!(
            quality::routes::api_contact_evaluations,
            quality::routes::api_start
        ))
        .routes(routes!(
            quality::routes::api_evaluation,
            quality::routes::api_save
        ))
        .routes(routes!(quality::routes::api_submit))
        .routes(routes!(quality::routes::api_acknowledge))
        .routes(routes!(quality::routes::api_dispute))
        .routes(routes!(quality::routes::api_resolve))
        .routes(routes!(quality::routes::api_disputes))
        .routes(routes!(quality::routes::api_quality))
        .routes(routes!(quality::routes::api_evaluations_csv))
        .routes(routes!(quality::routes::api_impact))
        .routes(routes!(
            quality::routes::api_coaching,
            quality::routes::api_create_coaching
        ))
        .routes(routes!(quality::routes::api_coaching_session))
        .routes(routes!(quality::routes::api_acknowledge_coaching))
        .routes(routes!(quality::routes::api_action_done))
        .routes(routes!(quality::routes::api_notifications))
        .routes(routes!(quality::routes::api_notifications_read))
        .routes(routes!(
            quality::sampling::routes::api_plans,
            quality::sampling::routes::api_create_plan
        ))
        .routes(routes!(
            quality::sampling::routes::api_plan,
            quality::sampling::routes::api_update_plan
        ))
        .routes(routes!(quality::sampling::routes::api_run))
        .routes(routes!(quality::sampling::routes::api_assignments))
        .routes(routes!(quality::sampling::routes::api_reassign))
        .routes(routes!(quality::sampling::routes::api_tracking))
        .routes(routes!(
            crate::calibration::routes::api_sessions,
            crate::calibration::routes::api_create
        ))
        .routes(routes!(crate::calibration::routes::api_session))
        .routes(routes!(crate::calibration::routes::api_score))
        .routes(routes!(crate::calibration::routes::api_reveal))
        .routes(routes!(crate::calibration::routes::api_reference))
        .routes(routes!(crate::calibration::routes::api_results))
        .routes(routes!(
            crate::calibration::routes::api_gate,
            crate::calibration::routes::api_set_gate
        ))
        .routes(routes!(crate::calibration::routes::api_trends))
        .routes(routes!(crate::calibration::routes::api_severity))
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().split_for_parts().1
}

/// `/api/v1/openapi.json` and the Swagger UI at `/api/docs/` (vendored, no CDN).
pub fn docs() -> Router<AppState> {
    Router::new().merge(
        utoipa_swagger_ui::SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", openapi()),
    )
}
