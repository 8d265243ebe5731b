//! The web shell: layout and navigation, errors, assets, health checks and the home page.

pub mod assets;
pub mod error;
pub mod extract;
pub mod page;
pub mod request;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::startup::AppState;
use error::AppError;
use page::PageCtx;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/assets/{*file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers.
async fn readyz(State(app): State<AppState>) -> Response {
    match app.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomeTemplate<'a> {
    tr: crate::i18n::Tr,
    ctx: &'a PageCtx,
    programs: Vec<crate::programs::Program>,
}

async fn home(State(app): State<AppState>, ctx: PageCtx) -> Result<Response, AppError> {
    let programs = crate::programs::list_visible(&app.db, &ctx.user.program_scope()).await?;
    let title = ctx.tr.t("nav.home");
    ctx.render(
        &title,
        HomeTemplate {
            tr: ctx.tr,
            ctx: &ctx,
            programs,
        },
    )
}
