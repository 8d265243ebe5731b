//! The quality API: principles, the KPIs quality serves, form templates, forms and their
//! versions, and evaluations of contacts.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::catalogue::{self, Catalogue, Entry, EntryInput, EntryPatch};
use super::coaching::{self, Done, NewSession, Session};
use super::evaluations::{self, Evaluation, SaveInput, StartInput};
use super::export;
use super::form::FormSpec;
use super::forms::{self, FormSummary, FormVersion, NewForm, VersionStatus};
use super::impact::{self, CriterionImpact};
use super::notify::{self, Notification};
use super::report::{self, QualityParams, QualityReport};
use super::templates::{self, TemplateSummary};
use super::workflow::{self, DisputeInput, OpenDispute, ResolveInput};
use crate::api::{ApiUser, IdPath, JsonBody, QueryParams};
use crate::auth::middleware::actor_of;
use crate::auth::{Capability, Principal};
use crate::domain::{Locale, PersonId, ProgramId};
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult, ErrorBody};
use crate::web::request::RequestMeta;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogueQuery {
    /// Principles and KPIs: also list this program's own. Disputes: only this program's.
    pub program_id: Option<ProgramId>,
}

async fn list_catalogue(
    app: &AppState,
    user: &Principal,
    which: Catalogue,
    program: Option<ProgramId>,
) -> AppResult<Json<Vec<Entry>>> {
    if let Some(p) = program {
        user.check(Capability::ViewProgram(p))?;
    }
    Ok(Json(catalogue::list(&app.db, which, program).await?))
}

async fn create_entry(
    app: &AppState,
    user: &Principal,
    meta: &RequestMeta,
    which: Catalogue,
    input: &EntryInput,
) -> AppResult<(StatusCode, Json<Entry>)> {
    user.check(Capability::ManageOrganisation)?;
    let entry = catalogue::create(&app.db, &actor_of(user, meta), which, input).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

async fn update_entry(
    app: &AppState,
    user: &Principal,
    meta: &RequestMeta,
    which: Catalogue,
    id: i64,
    patch: &EntryPatch,
) -> AppResult<Json<Entry>> {
    user.check(Capability::ManageOrganisation)?;
    Ok(Json(
        catalogue::update(&app.db, &actor_of(user, meta), which, id, patch).await?,
    ))
}

/// The organisation's customer principles, and a program's own with `program_id`.
#[utoipa::path(get, path = "/api/v1/principles", tag = "quality", params(CatalogueQuery),
    responses((status = 200, body = [Entry]), (status = 404, body = ErrorBody)))]
pub async fn api_principles(
    State(app): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<CatalogueQuery>,
) -> AppResult<Json<Vec<Entry>>> {
    list_catalogue(&app, &user.0, Catalogue::Principles, q.program_id).await
}

/// Add a customer principle (administrators).
#[utoipa::path(post, path = "/api/v1/principles", tag = "quality", request_body = EntryInput,
    responses((status = 201, body = Entry), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create_principle(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    JsonBody(input): JsonBody<EntryInput>,
) -> AppResult<(StatusCode, Json<Entry>)> {
    create_entry(&app, &user.0, &meta, Catalogue::Principles, &input).await
}

/// Rename or redescribe a principle; its key stays (administrators).
#[utoipa::path(patch, path = "/api/v1/principles/{id}", tag = "quality", request_body = EntryPatch,
    params(("id" = i64, Path, description = "Principle id")),
    responses((status = 200, body = Entry), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_update_principle(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(patch): JsonBody<EntryPatch>,
) -> AppResult<Json<Entry>> {
    update_entry(&app, &user.0, &meta, Catalogue::Principles, id, &patch).await
}

/// The KPIs quality serves: `csat`, `fcr`, `commercial` and the organisation's own.
#[utoipa::path(get, path = "/api/v1/quality-kpis", tag = "quality", params(CatalogueQuery),
    responses((status = 200, body = [Entry]), (status = 404, body = ErrorBody)))]
pub async fn api_kpis(
    State(app): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<CatalogueQuery>,
) -> AppResult<Json<Vec<Entry>>> {
    list_catalogue(&app, &user.0, Catalogue::Kpis, q.program_id).await
}

/// Add a KPI that criteria can serve (administrators).
#[utoipa::path(post, path = "/api/v1/quality-kpis", tag = "quality", request_body = EntryInput,
    responses((status = 201, body = Entry), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create_kpi(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    JsonBody(input): JsonBody<EntryInput>,
) -> AppResult<(StatusCode, Json<Entry>)> {
    create_entry(&app, &user.0, &meta, Catalogue::Kpis, &input).await
}

/// Rename or redescribe a KPI; its key stays (administrators).
#[utoipa::path(patch, path = "/api/v1/quality-kpis/{id}", tag = "quality", request_body = EntryPatch,
    params(("id" = i64, Path, description = "KPI id")),
    responses((status = 200, body = Entry), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_update_kpi(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(patch): JsonBody<EntryPatch>,
) -> AppResult<Json<Entry>> {
    update_entry(&app, &user.0, &meta, Catalogue::Kpis, id, &patch).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LanguageQuery {
    /// `en`, `de` or `nl`; by default the caller's language.
    pub language: Option<Locale>,
}

/// The shipped form templates, in a language.
#[utoipa::path(get, path = "/api/v1/form-templates", tag = "quality", params(LanguageQuery),
    responses((status = 200, body = [TemplateSummary])))]
pub async fn api_templates(
    user: ApiUser,
    QueryParams(q): QueryParams<LanguageQuery>,
) -> Json<Vec<TemplateSummary>> {
    let locale = q.language.or(user.0.locale).unwrap_or_default();
    Json(
        templates::TEMPLATES
            .iter()
            .map(|t| t.summary(locale))
            .collect(),
    )
}

/// Whether the person sees drafts of a program's forms: administrators and program-wide roles.
fn sees_drafts(user: &Principal, program: ProgramId) -> bool {
    user.check(Capability::ViewProgramFigures(program)).is_ok()
}

/// A program's forms with their versions (drafts only for those who may see them).
#[utoipa::path(get, path = "/api/v1/programs/{id}/forms", tag = "quality",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = [FormSummary]), (status = 404, body = ErrorBody)))]
pub async fn api_forms(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Json<Vec<FormSummary>>> {
    user.0.check(Capability::ViewProgram(id))?;
    let mut list = forms::list(&app.db, id).await?;
    if !sees_drafts(&user.0, id) {
        for f in &mut list {
            f.versions.retain(|v| v.status != VersionStatus::Draft);
        }
        list.retain(|f| !f.versions.is_empty());
    }
    Ok(Json(list))
}

/// Create a form with a first draft, from a template or a definition (administrators).
#[utoipa::path(post, path = "/api/v1/programs/{id}/forms", tag = "quality", request_body = NewForm,
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 201, body = FormVersion), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create_form(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    JsonBody(input): JsonBody<NewForm>,
) -> AppResult<(StatusCode, Json<FormVersion>)> {
    user.0.check(Capability::ManageOrganisation)?;
    let v = forms::create(&app.db, &actor_of(&user.0, &meta), id, input).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// One form version with its definition.
#[utoipa::path(get, path = "/api/v1/form-versions/{id}", tag = "quality",
    params(("id" = i64, Path, description = "Form version id")),
    responses((status = 200, body = FormVersion), (status = 404, body = ErrorBody)))]
pub async fn api_version(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<FormVersion>> {
    let v = forms::version(&app.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    user.0.check(Capability::ViewProgram(v.program_id))?;
    if v.status == VersionStatus::Draft && !sees_drafts(&user.0, v.program_id) {
        return Err(AppError::NotFound);
    }
    Ok(Json(v))
}

/// Replace a draft's definition (administrators); published versions never change.
#[utoipa::path(put, path = "/api/v1/form-versions/{id}", tag = "quality", request_body = FormSpec,
    params(("id" = i64, Path, description = "Form version id")),
    responses((status = 200, body = FormVersion), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_update_version(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(spec): JsonBody<FormSpec>,
) -> AppResult<Json<FormVersion>> {
    user.0.check(Capability::ManageOrganisation)?;
    Ok(Json(
        forms::update_draft(&app.db, &actor_of(&user.0, &meta), id, spec).await?,
    ))
}

/// Publish a draft; the form's previously published version is retired (administrators).
#[utoipa::path(post, path = "/api/v1/form-versions/{id}/publish", tag = "quality",
    params(("id" = i64, Path, description = "Form version id")),
    responses((status = 200, body = FormVersion), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn api_publish(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<FormVersion>> {
    user.0.check(Capability::ManageOrganisation)?;
    Ok(Json(
        forms::publish(&app.db, &actor_of(&user.0, &meta), id).await?,
    ))
}

/// Retire a published version; evaluations made with it keep it (administrators).
#[utoipa::path(post, path = "/api/v1/form-versions/{id}/retire", tag = "quality",
    params(("id" = i64, Path, description = "Form version id")),
    responses((status = 200, body = FormVersion), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn api_retire(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<FormVersion>> {
    user.0.check(Capability::ManageOrganisation)?;
    Ok(Json(
        forms::retire(&app.db, &actor_of(&user.0, &meta), id).await?,
    ))
}

/// Start the next draft of a form from its newest version (administrators).
#[utoipa::path(post, path = "/api/v1/forms/{id}/draft", tag = "quality",
    params(("id" = i64, Path, description = "Form id")),
    responses((status = 201, body = FormVersion), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn api_new_draft(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<(StatusCode, Json<FormVersion>)> {
    user.0.check(Capability::ManageOrganisation)?;
    let v = forms::new_draft(&app.db, &actor_of(&user.0, &meta), id).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// The evaluations of a contact the caller may read.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/evaluations", tag = "quality",
    params(("id" = i64, Path, description = "Contact id")),
    responses((status = 200, body = [Evaluation]), (status = 404, body = ErrorBody)))]
pub async fn api_contact_evaluations(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Vec<Evaluation>>> {
    Ok(Json(evaluations::of_contact(&app.db, &user.0, id).await?))
}

/// Start an evaluation of a contact (evaluators, administrators, the agent's team lead) or a
/// self-evaluation (the agent whose contact it is). An existing one of the caller's is returned.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/evaluations", tag = "quality",
    request_body = StartInput, params(("id" = i64, Path, description = "Contact id")),
    responses((status = 201, body = Evaluation), (status = 200, body = Evaluation),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_start(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<StartInput>,
) -> AppResult<(StatusCode, Json<Evaluation>)> {
    let (e, created) =
        evaluations::start(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(e)))
}

/// One evaluation, with its answers and score.
#[utoipa::path(get, path = "/api/v1/evaluations/{id}", tag = "quality",
    params(("id" = i64, Path, description = "Evaluation id")),
    responses((status = 200, body = Evaluation), (status = 404, body = ErrorBody)))]
pub async fn api_evaluation(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Evaluation>> {
    Ok(Json(evaluations::get(&app.db, &user.0, id).await?))
}

/// Save a draft's answers and comment (its evaluator).
#[utoipa::path(put, path = "/api/v1/evaluations/{id}", tag = "quality", request_body = SaveInput,
    params(("id" = i64, Path, description = "Evaluation id")),
    responses((status = 200, body = Evaluation), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_save(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<SaveInput>,
) -> AppResult<Json<Evaluation>> {
    Ok(Json(evaluations::save(&app.db, &user.0, id, &input).await?))
}

/// Submit a complete draft (its evaluator).
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/submit", tag = "quality",
    params(("id" = i64, Path, description = "Evaluation id")),
    responses((status = 200, body = Evaluation), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_submit(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Evaluation>> {
    Ok(Json(
        evaluations::submit(&app.db, &user.0, &actor_of(&user.0, &meta), id).await?,
    ))
}

/// The agent accepts a submitted evaluation of their contact.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/acknowledge", tag = "quality",
    params(("id" = i64, Path, description = "Evaluation id")),
    responses((status = 200, body = Evaluation), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn api_acknowledge(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Evaluation>> {
    Ok(Json(
        workflow::acknowledge(&app.db, &user.0, &actor_of(&user.0, &meta), id).await?,
    ))
}

/// The agent disputes answers of a submitted evaluation, each with a reason and the answer
/// proposed, within 14 days of its submission.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/dispute", tag = "quality",
    request_body = DisputeInput, params(("id" = i64, Path, description = "Evaluation id")),
    responses((status = 200, body = Evaluation), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_dispute(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<DisputeInput>,
) -> AppResult<Json<Evaluation>> {
    Ok(Json(
        workflow::dispute(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?,
    ))
}

/// A team lead or QA decides every disputed criterion; the score is computed again.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/resolve", tag = "quality",
    request_body = ResolveInput, params(("id" = i64, Path, description = "Evaluation id")),
    responses((status = 200, body = Evaluation), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_resolve(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(input): JsonBody<ResolveInput>,
) -> AppResult<Json<Evaluation>> {
    Ok(Json(
        workflow::resolve(&app.db, &user.0, &actor_of(&user.0, &meta), id, &input).await?,
    ))
}

/// The open disputes the caller may resolve, oldest first, with their deadlines.
#[utoipa::path(get, path = "/api/v1/disputes", tag = "quality", params(CatalogueQuery),
    responses((status = 200, body = [OpenDispute]), (status = 404, body = ErrorBody)))]
pub async fn api_disputes(
    State(app): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<CatalogueQuery>,
) -> AppResult<Json<Vec<OpenDispute>>> {
    if let Some(p) = q.program_id {
        user.0.check(Capability::ViewProgram(p))?;
    }
    Ok(Json(workflow::queue(&app.db, &user.0, q.program_id).await?))
}

/// A program's quality figures: IQS and evaluated RQ with 95 % intervals, pass rate, critical
/// failures, disputes; over time or by agent or team; every criterion and principle.
#[utoipa::path(get, path = "/api/v1/programs/{id}/quality", tag = "quality",
    params(("id" = i64, Path, description = "Program id"), QualityParams),
    responses((status = 200, body = QualityReport), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_quality(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(p): QueryParams<QualityParams>,
) -> AppResult<Json<QualityReport>> {
    let program = crate::programs::find_visible(&app.db, &user.0, id).await?;
    Ok(Json(report::report(&app.db, &user.0, &program, &p).await?))
}

/// The period's evaluations as CSV, one row per evaluation and criterion (`from`, `to`).
#[utoipa::path(get, path = "/api/v1/programs/{id}/evaluations.csv", tag = "quality",
    params(("id" = i64, Path, description = "Program id"), QualityParams),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn api_evaluations_csv(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(p): QueryParams<QualityParams>,
) -> AppResult<Response> {
    let program = crate::programs::find_visible(&app.db, &user.0, id).await?;
    let (body, name) = export::evaluations_csv(&app.db, &user.0, &program, &p).await?;
    Ok(csv_response(body, &name))
}

/// A CSV file to download.
pub fn csv_response(body: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoachingQuery {
    /// One agent's sessions; by default the caller's own, as agent or coach.
    pub agent_id: Option<PersonId>,
}

/// Coaching sessions: the caller's own (as agent or coach), or one agent's.
#[utoipa::path(get, path = "/api/v1/coaching", tag = "quality", params(CoachingQuery),
    responses((status = 200, body = [Session])))]
pub async fn api_coaching(
    State(app): State<AppState>,
    user: ApiUser,
    QueryParams(q): QueryParams<CoachingQuery>,
) -> AppResult<Json<Vec<Session>>> {
    Ok(Json(coaching::list(&app.db, &user.0, q.agent_id).await?))
}

/// Record a coaching session with an agent (administrators, the program's evaluators, the
/// agent's team lead); the agent is notified.
#[utoipa::path(post, path = "/api/v1/coaching", tag = "quality", request_body = NewSession,
    responses((status = 201, body = Session), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create_coaching(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    JsonBody(input): JsonBody<NewSession>,
) -> AppResult<(StatusCode, Json<Session>)> {
    let s = coaching::create(&app.db, &user.0, &actor_of(&user.0, &meta), &input).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// One coaching session with its actions.
#[utoipa::path(get, path = "/api/v1/coaching/{id}", tag = "quality",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody)))]
pub async fn api_coaching_session(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Session>> {
    Ok(Json(coaching::get(&app.db, &user.0, id).await?))
}

/// The agent confirms the session.
#[utoipa::path(post, path = "/api/v1/coaching/{id}/acknowledge", tag = "quality",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = Session), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn api_acknowledge_coaching(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Json<Session>> {
    Ok(Json(
        coaching::acknowledge(&app.db, &user.0, &actor_of(&user.0, &meta), id).await?,
    ))
}

/// Mark a coaching action done, with its follow-up (the agent or the coach).
#[utoipa::path(post, path = "/api/v1/coaching-actions/{id}/done", tag = "quality",
    request_body = Done, params(("id" = i64, Path, description = "Action id")),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_action_done(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    JsonBody(done): JsonBody<Done>,
) -> AppResult<Json<Session>> {
    Ok(Json(
        coaching::complete_action(&app.db, &user.0, &actor_of(&user.0, &meta), id, &done).await?,
    ))
}

/// The caller's notifications, unread first; coaching actions due within two days included.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "quality",
    responses((status = 200, body = [Notification])))]
pub async fn api_notifications(
    State(app): State<AppState>,
    user: ApiUser,
) -> AppResult<Json<Vec<Notification>>> {
    Ok(Json(
        notify::list(&app.db, user.0.person_id, notify::today()).await?,
    ))
}

/// Mark all of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "quality",
    responses((status = 204)))]
pub async fn api_notifications_read(
    State(app): State<AppState>,
    user: ApiUser,
) -> AppResult<StatusCode> {
    notify::mark_read(&app.db, user.0.person_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which criteria matter to customers: each criterion's correlation with CSAT, first-contact
/// resolution and the customer's RQ on the same contacts, with counts and 95 % intervals.
#[utoipa::path(get, path = "/api/v1/programs/{id}/quality/impact", tag = "quality",
    params(("id" = i64, Path, description = "Program id"), QualityParams),
    responses((status = 200, body = [CriterionImpact]), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn api_impact(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(p): QueryParams<QualityParams>,
) -> AppResult<Json<Vec<CriterionImpact>>> {
    let program = crate::programs::find_visible(&app.db, &user.0, id).await?;
    Ok(Json(impact::impact(&app.db, &user.0, &program, &p).await?))
}
