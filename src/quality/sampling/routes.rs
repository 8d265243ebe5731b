//! The sampling API: a program's plans, running a plan for a week, the assignments and how
//! each evaluator keeps up.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

use super::assignments::{self, Assignment, Filter, Reassign, Tracking};
use super::plan::{Plan, PlanInput};
use super::store::{self, RunOutcome};
use crate::api::{ApiUser, IdPath, JsonBody, QueryParams};
use crate::auth::Principal;
use crate::auth::middleware::actor_of;
use crate::contacts::calendar::day_number;
use crate::contacts::routes::date;
use crate::domain::ProgramId;
use crate::startup::AppState;
use crate::store::Db;
use crate::web::error::{AppResult, ErrorBody};
use crate::web::request::RequestMeta;

/// A program's sampling plans (administrators and the program's evaluators).
#[utoipa::path(get, path = "/api/v1/programs/{id}/sampling-plans", tag = "sampling",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = [Plan]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn api_plans(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Json<Vec<Plan>>> {
    Ok(Json(store::list(&app.db, &user.0, id).await?))
}

/// Add a sampling plan to a program.
#[utoipa::path(post, path = "/api/v1/programs/{id}/sampling-plans", tag = "sampling",
    request_body = PlanInput, params(("id" = i64, Path, description = "Program id")),
    responses((status = 201, body = Plan), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create_plan(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    JsonBody(input): JsonBody<PlanInput>,
) -> AppResult<(StatusCode, Json<Plan>)> {
    let plan = store::create(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// One sampling plan.
#[utoipa::path(get, path = "/api/v1/sampling-plans/{id}", tag = "sampling",
    params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, body = Plan), (status = 404, body = ErrorBody)))]
pub async fn api_plan(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Plan>> {
    Ok(Json(store::get(&app.db, &user.0, id).await?))
}

/// Change a plan, all of it at once; assignments made before stay as they are.
#[utoipa::path(put, path = "/api/v1/sampling-plans/{id}", tag = "sampling",
    request_body = PlanInput, params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, body = Plan), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_update_plan(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<PlanInput>,
) -> AppResult<Json<Plan>> {
    Ok(Json(
        store::update(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?,
    ))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    /// Any day of the week to sample, `YYYY-MM-DD` in the program's time zone; left out: the
    /// last week that has ended.
    #[serde(default)]
    pub week: Option<String>,
}

/// Runs a plan for a week. Each week is sampled once per plan: asked again, the answer is the
/// first run's (`already_sampled`).
pub async fn run_plan(
    db: &Db,
    user: &Principal,
    meta: &RequestMeta,
    id: i64,
    input: &RunInput,
) -> AppResult<RunOutcome> {
    let plan = store::get(db, user, id).await?;
    let week = match input.week.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => day_number(date("week", raw)?),
        _ => store::last_finished_week(crate::programs::zone(db, plan.program_id).await?),
    };
    store::run(db, &actor_of(user, meta), &plan, week, Some(user.person_id)).await
}

/// Sample a week's contacts by the plan and assign them to its evaluators.
#[utoipa::path(post, path = "/api/v1/sampling-plans/{id}/runs", tag = "sampling",
    request_body = RunInput, params(("id" = i64, Path, description = "Plan id")),
    responses((status = 201, body = RunOutcome), (status = 200, body = RunOutcome),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_run(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<RunInput>,
) -> AppResult<(StatusCode, Json<RunOutcome>)> {
    let outcome = run_plan(&app.db, &user.0, &meta, id, &input).await?;
    let status = if outcome.already_sampled {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(outcome)))
}

/// Assignments: without `program_id`, the caller's own queue; with it, the program's (for those
/// who run its sampling), optionally of one evaluator.
#[utoipa::path(get, path = "/api/v1/assignments", tag = "sampling", params(Filter),
    responses((status = 200, body = [Assignment]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_assignments(
    State(app): State<AppState>,
    user: ApiUser,
    QueryParams(f): QueryParams<Filter>,
) -> AppResult<Json<Vec<Assignment>>> {
    Ok(Json(assignments::list(&app.db, &user.0, &f).await?))
}

/// Per evaluator of a program: open, overdue and done assignments (done in the last 28 days).
#[utoipa::path(get, path = "/api/v1/programs/{id}/assignments/tracking", tag = "sampling",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = [Tracking]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn api_tracking(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Json<Vec<Tracking>>> {
    let f = Filter {
        program_id: Some(id),
        ..Filter::default()
    };
    let all = assignments::list(&app.db, &user.0, &f).await?;
    Ok(Json(assignments::tracking(&all)))
}

/// Give an assignment that is not done to another evaluator of the program.
#[utoipa::path(patch, path = "/api/v1/assignments/{id}", tag = "sampling",
    request_body = Reassign, params(("id" = i64, Path, description = "Assignment id")),
    responses((status = 200, body = Assignment), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_reassign(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<Reassign>,
) -> AppResult<Json<Assignment>> {
    Ok(Json(
        assignments::reassign(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?,
    ))
}
