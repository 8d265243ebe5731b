//! The administrator's audit log page, its CSV export and its API.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::{Entry, Filter};
use crate::api::{ApiUser, QueryParams};
use crate::auth::{Capability, Principal};
use crate::i18n::Tr;
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult, ErrorBody};
use crate::web::page::PageCtx;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(audit_page))
        .route("/admin/audit.csv", get(audit_csv))
}

const PAGE: i64 = 100;

async fn read(app: &AppState, user: &Principal, f: &Filter, max: i64) -> AppResult<Vec<Entry>> {
    user.check(Capability::ReadAudit)?;
    super::list(&app.db, f, max)
        .await?
        .map_err(|e| AppError::BadRequest(e.to_string()))
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct ListTemplate<'a> {
    tr: Tr,
    entries: Vec<Entry>,
    f: &'a Filter,
    older: Option<String>,
    csv: String,
}

fn query_string(f: &Filter, before: Option<i64>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("from", &f.from),
        ("to", &f.to),
        ("action", &f.action),
        ("actor", &f.actor),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            pairs.push((k, v.to_owned()));
        }
    }
    if let Some(b) = before {
        pairs.push(("before", b.to_string()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn audit_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    QueryParams(f): QueryParams<Filter>,
) -> AppResult<Response> {
    let f = Filter {
        limit: Some(PAGE),
        ..f
    };
    let entries = read(&app, &ctx.user, &f, PAGE).await?;
    let older = (entries.len() as i64 == PAGE)
        .then(|| entries.last().map(|e| query_string(&f, Some(e.id))))
        .flatten();
    let csv = query_string(&f, None);
    ctx.render(
        &ctx.tr.t("nav.admin_audit"),
        ListTemplate {
            tr: ctx.tr,
            entries,
            f: &f,
            older,
            csv,
        },
    )
}

async fn audit_csv(
    State(app): State<AppState>,
    ctx: PageCtx,
    QueryParams(f): QueryParams<Filter>,
) -> AppResult<Response> {
    let f = Filter {
        limit: Some(i64::MAX),
        ..f
    };
    let entries = read(&app, &ctx.user, &f, i64::MAX).await?;
    let body = super::to_csv(&entries)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"kalibra-audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The audit log, newest first (administrators). Page back with `before`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "organisation", params(Filter),
    responses((status = 200, body = Vec<Entry>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_list(
    State(app): State<AppState>,
    user: ApiUser,
    QueryParams(f): QueryParams<Filter>,
) -> AppResult<Json<Vec<Entry>>> {
    Ok(Json(read(&app, &user.0, &f, 1000).await?))
}
