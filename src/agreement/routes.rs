//! `POST /api/v1/stats/agreement`: the agreement report of a ratings file.

use axum::Json;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;

use super::AgreementReport;
use crate::api::{ApiUser, QueryParams};
use crate::stats::ratings::Level;
use crate::web::error::{AppError, AppResult};

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct AgreementParams {
    /// nominal, ordinal, interval or ratio (default nominal)
    pub level: Option<String>,
}

/// Ratings as JSON: one array per rater, one entry per unit, `null` for a missing rating.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct AgreementRequest {
    /// nominal, ordinal, interval or ratio (default: the `level` parameter, else nominal)
    pub level: Option<String>,
    pub ratings: Vec<Vec<Option<f64>>>,
    /// Labels of the raters and units, for messages (default: their numbers from 1)
    pub raters: Option<Vec<String>>,
    pub units: Option<Vec<String>>,
}

/// How well raters agree: Krippendorff's alpha with a bootstrap interval, percent agreement,
/// and for nominal data Fleiss' kappa and Gwet's AC1. Send the ratings file as `text/csv` (one
/// row per rater, one column per unit, first row and column labels, empty = missing) or as
/// JSON (`{"level": …, "ratings": [[…], …]}`). Any signed-in person may use it.
#[utoipa::path(post, path = "/api/v1/stats/agreement", tag = "calibration",
    params(AgreementParams),
    request_body(content = AgreementRequest, description = "JSON, or a CSV ratings file as text/csv"),
    responses((status = 200, body = AgreementReport), (status = 422, body = crate::web::error::ErrorBody),
              (status = 401, body = crate::web::error::ErrorBody)))]
pub async fn api_agreement(
    _user: ApiUser,
    QueryParams(p): QueryParams<AgreementParams>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<AgreementReport>> {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bad = |e: &dyn std::fmt::Display| AppError::BadRequest(e.to_string());
    let level_of = |name: Option<&str>| name.unwrap_or("nominal").parse::<Level>();
    // A large file with its bootstrap is seconds of work: off the request threads.
    let work = if json {
        let req: AgreementRequest = serde_json::from_slice(&body).map_err(|e| bad(&e))?;
        let level = level_of(req.level.as_deref().or(p.level.as_deref())).map_err(|e| bad(&e))?;
        let matrix = super::RatingMatrix::labelled(req.ratings, req.raters, req.units);
        tokio::task::spawn_blocking(move || AgreementReport::of(&matrix?, level))
    } else {
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| bad(&"the ratings file is not UTF-8 text"))?;
        let level = level_of(p.level.as_deref()).map_err(|e| bad(&e))?;
        tokio::task::spawn_blocking(move || AgreementReport::of_text(&text, level))
    };
    let report = work
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?
        .map_err(|e| bad(&e))?;
    Ok(Json(report))
}
