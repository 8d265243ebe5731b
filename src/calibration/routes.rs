//! The calibration API: sessions, blind scoring, the reveal, reference answers and the results.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::gate::{self, GateInput, Shortfall};
use super::results::Results;
use super::session::{self, NewSession, ReferenceInput, ScoreInput, Session};
use crate::api::{ApiUser, IdPath, JsonBody};
use crate::auth::middleware::actor_of;
use crate::domain::ProgramId;
use crate::startup::AppState;
use crate::web::error::{AppResult, ErrorBody};
use crate::web::request::RequestMeta;

/// The sessions the caller facilitates or takes part in, and those of the programs whose
/// calibration they run.
#[utoipa::path(get, path = "/api/v1/calibration/sessions", tag = "calibration",
    responses((status = 200, body = [Session])))]
pub async fn api_sessions(
    State(app): State<AppState>,
    user: ApiUser,
) -> AppResult<Json<Vec<Session>>> {
    Ok(Json(session::list(&app.db, &user.0).await?))
}

/// Plan a session (administrators and the program's evaluators); participants are invited.
#[utoipa::path(post, path = "/api/v1/calibration/sessions", tag = "calibration",
    request_body = NewSession,
    responses((status = 201, body = Session), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    JsonBody(input): JsonBody<NewSession>,
) -> AppResult<(StatusCode, Json<Session>)> {
    let s = session::create(&app.db, &user.0, &actor_of(&user.0, &meta), &input).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// One session, with the caller's own scores.
#[utoipa::path(get, path = "/api/v1/calibration/sessions/{id}", tag = "calibration",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
pub async fn api_session(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Session>> {
    Ok(Json(session::get(&app.db, &user.0, id).await?))
}

/// Save or hand in the caller's answers to one of the session's contacts.
#[utoipa::path(put, path = "/api/v1/calibration/sessions/{id}/scores", tag = "calibration",
    request_body = ScoreInput, params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_score(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<ScoreInput>,
) -> AppResult<Json<Session>> {
    Ok(Json(
        session::score(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?,
    ))
}

/// Show everybody's scores (the facilitator); scoring closes.
#[utoipa::path(post, path = "/api/v1/calibration/sessions/{id}/reveal", tag = "calibration",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn api_reveal(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Session>> {
    Ok(Json(
        session::reveal(&app.db, &user.0, &actor_of(&user.0, &meta), id).await?,
    ))
}

/// Record the answer the session agreed for a contact's criterion (the facilitator).
#[utoipa::path(put, path = "/api/v1/calibration/sessions/{id}/references", tag = "calibration",
    request_body = ReferenceInput, params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = Results), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_reference(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<ReferenceInput>,
) -> AppResult<Json<Results>> {
    Ok(Json(
        session::set_reference(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?,
    ))
}

/// Everybody's answers side by side, agreement per criterion, each participant's distance from
/// the reference and the group: once the caller may see them.
#[utoipa::path(get, path = "/api/v1/calibration/sessions/{id}/results", tag = "calibration",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = Results), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn api_results(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Results>> {
    Ok(Json(session::results(&app.db, &user.0, id).await?))
}

/// A program's calibration gate and who is under it now.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GateView {
    /// The least share of answers equal to the reference; `null`: no gate.
    pub min_exact: Option<f64>,
    /// Evaluators whose last session fell short, the furthest first.
    pub under: Vec<Shortfall>,
}

/// The program's gate and the evaluators under it (administrators and the program's evaluators).
#[utoipa::path(get, path = "/api/v1/programs/{id}/calibration-gate", tag = "calibration",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = GateView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn api_gate(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Json<GateView>> {
    let under = gate::shortfalls(&app.db, &user.0, id).await?;
    Ok(Json(GateView {
        min_exact: gate::setting(&app.db, id).await?,
        under,
    }))
}

/// Set the program's gate, or turn it off with `null`.
#[utoipa::path(put, path = "/api/v1/programs/{id}/calibration-gate", tag = "calibration",
    request_body = GateInput, params(("id" = i64, Path, description = "Program id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_set_gate(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    JsonBody(input): JsonBody<GateInput>,
) -> AppResult<StatusCode> {
    gate::set(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Alpha per criterion and each participant's distance from the reference, session after
/// session (the last 12 whose scores are out; administrators and the program's evaluators).
#[utoipa::path(get, path = "/api/v1/programs/{id}/calibration-trends", tag = "calibration",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = super::trends::Trends), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn api_trends(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Json<super::trends::Trends>> {
    Ok(Json(super::trends::trends(&app.db, &user.0, id).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day, `YYYY-MM-DD`, of the submissions (default: 90 days before `to`).
    pub from: Option<String>,
    /// Last day (default: today), in the program's time zone.
    pub to: Option<String>,
}

/// The days `from..=to` of a program as UTC ms bounds, read as the quality report reads its
/// period (the last 90 days by default).
pub async fn period_bounds(
    db: &crate::store::Db,
    program: ProgramId,
    q: &PeriodQuery,
) -> AppResult<(i64, i64)> {
    use crate::contacts::calendar::{day_number, day_start_utc};
    let p = crate::programs::find(db, program)
        .await?
        .ok_or(crate::web::error::AppError::NotFound)?;
    let params = crate::quality::report::QualityParams {
        from: q.from.clone(),
        to: q.to.clone(),
        ..Default::default()
    };
    let (from, to) = crate::quality::report::period(&p, &params)?;
    let tz = p.zone();
    Ok((
        day_start_utc(tz, day_number(from)),
        day_start_utc(tz, day_number(to) + 1),
    ))
}

/// Each evaluator's leniency (+) or harshness (−) against peers on the same agents and criteria,
/// from the period's evaluations (administrators and the program's evaluators).
#[utoipa::path(get, path = "/api/v1/programs/{id}/evaluator-severity", tag = "calibration",
    params(("id" = i64, Path, description = "Program id"), PeriodQuery),
    responses((status = 200, body = [super::severity::Severity]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_severity(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
    crate::api::QueryParams(q): crate::api::QueryParams<PeriodQuery>,
) -> AppResult<Json<Vec<super::severity::Severity>>> {
    let bounds = period_bounds(&app.db, id, &q).await?;
    Ok(Json(
        super::severity::of_program(&app.db, &user.0, id, bounds).await?,
    ))
}
