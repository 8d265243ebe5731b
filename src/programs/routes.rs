//! Program and team pages, the administrator's program screens, and their API.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::{Program, ProgramInput, ProgramPatch, Team, TeamInput};
use crate::api::{ApiUser, IdPath, JsonBody};
use crate::auth::Capability;
use crate::auth::middleware::actor_of;
use crate::auth::routes::form_error;
use crate::domain::ProgramId;
use crate::i18n::Tr;
use crate::startup::AppState;
use crate::web::error::{AppResult, ErrorBody};
use crate::web::extract::FormBody;
use crate::web::page::PageCtx;
use crate::web::request::RequestMeta;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/programs", get(programs_page))
        .route("/programs/{id}", get(program_page))
        .route(
            "/admin/programs",
            get(admin_programs).post(admin_create_program),
        )
        .route(
            "/admin/programs/{id}",
            get(admin_program).post(admin_update_program),
        )
        .route("/admin/programs/{id}/teams", post(admin_create_team))
        .route("/admin/programs/{id}/kpi", post(admin_update_kpi))
}

#[derive(Template)]
#[template(path = "programs/list.html")]
struct ListTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    programs: Vec<Program>,
    link_base: &'static str,
}

async fn programs_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let programs = super::list_visible(&app.db, &ctx.user.program_scope()).await?;
    ctx.render(
        &ctx.tr.t("nav.programs"),
        ListTemplate {
            tr: ctx.tr,
            ctx: &ctx,
            programs,
            link_base: "/programs/",
        },
    )
}

#[derive(Template)]
#[template(path = "programs/show.html")]
struct ShowTemplate {
    tr: Tr,
    program: Program,
    teams: Vec<Team>,
    /// Whether the person sees the program's figures as a whole.
    figures: bool,
    /// Whether the person may import into the program.
    admin: bool,
    /// Whether the person runs the program's sampling.
    sampling: bool,
}

async fn program_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Response> {
    let program = super::find_visible(&app.db, &ctx.user, id).await?;
    let teams = super::teams_visible(&app.db, &ctx.user, id).await?;
    ctx.render(
        &program.name.clone(),
        ShowTemplate {
            tr: ctx.tr,
            figures: crate::people::agent_codes::figure_scope(&app.db, &ctx.user, id)
                .await
                .is_ok(),
            admin: ctx.user.is_admin(),
            sampling: crate::quality::sampling::store::may_manage(&ctx.user, id),
            program,
            teams,
        },
    )
}

#[derive(Template)]
#[template(path = "programs/admin_list.html")]
struct AdminListTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    programs: Vec<Program>,
    link_base: &'static str,
    error: Option<String>,
    code: &'a str,
    name: &'a str,
    timezone: &'a str,
    zones: &'static [&'static str],
}

async fn admin_programs(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    admin_list_view(
        &app,
        &ctx,
        StatusCode::OK,
        None,
        &ProgramInput {
            code: String::new(),
            name: String::new(),
            timezone: "Europe/Berlin".into(),
        },
    )
    .await
}

async fn admin_list_view(
    app: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    error: Option<String>,
    input: &ProgramInput,
) -> AppResult<Response> {
    let programs = super::all(&app.db).await?;
    ctx.render_status(
        status,
        &ctx.tr.t("nav.admin_programs"),
        AdminListTemplate {
            tr: ctx.tr,
            ctx,
            programs,
            link_base: "/admin/programs/",
            error,
            code: &input.code,
            name: &input.name,
            timezone: &input.timezone,
            zones: crate::domain::time_zone_names(),
        },
    )
}

async fn admin_create_program(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    FormBody(input): FormBody<ProgramInput>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    match super::create(&app.db, &actor_of(&ctx.user, &meta), &input).await {
        Ok(p) => Ok(Redirect::to(&format!("/admin/programs/{}", p.id)).into_response()),
        Err(e) => {
            let msg = Some(form_error(ctx.tr, e)?);
            admin_list_view(&app, &ctx, StatusCode::UNPROCESSABLE_ENTITY, msg, &input).await
        }
    }
}

#[derive(Template)]
#[template(path = "programs/admin_edit.html")]
struct AdminEditTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    program: Program,
    teams: Vec<Team>,
    error: Option<String>,
    zones: &'static [&'static str],
    variants: [crate::kpi::SlVariant; 3],
}

impl AdminEditTemplate<'_> {
    /// The service-level target in percent, as the form shows it.
    fn target_pct(&self) -> String {
        trim_number(self.program.kpi.service.target * 100.0)
    }

    /// The response SLA in hours, as the form shows it.
    fn response_sla_h(&self) -> String {
        trim_number(f64::from(self.program.kpi.service.response_sla_s) / 3_600.0)
    }
}

/// A number with at most three decimals and no trailing zeros.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

async fn admin_edit_view(
    app: &AppState,
    ctx: &PageCtx,
    id: ProgramId,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let program = super::find(&app.db, id)
        .await?
        .ok_or(crate::web::error::AppError::NotFound)?;
    let teams = super::teams_of(&app.db, id).await?;
    ctx.render_status(
        status,
        &program.name.clone(),
        AdminEditTemplate {
            tr: ctx.tr,
            ctx,
            program,
            teams,
            error,
            zones: crate::domain::time_zone_names(),
            variants: crate::kpi::SlVariant::ALL,
        },
    )
}

async fn admin_program(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    admin_edit_view(&app, &ctx, id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct ProgramForm {
    name: String,
    timezone: String,
    active: Option<String>,
    client_agent_detail: Option<String>,
}

async fn admin_update_program(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    FormBody(f): FormBody<ProgramForm>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    let patch = ProgramPatch {
        name: Some(f.name),
        timezone: Some(f.timezone),
        active: Some(f.active.is_some()),
        client_agent_detail: Some(f.client_agent_detail.is_some()),
        kpi: None,
    };
    match super::update(&app.db, &actor_of(&ctx.user, &meta), id, &patch).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/programs/{id}")).into_response()),
        Err(e) => {
            let msg = Some(form_error(ctx.tr, e)?);
            admin_edit_view(&app, &ctx, id, StatusCode::UNPROCESSABLE_ENTITY, msg).await
        }
    }
}

/// The KPI settings form: the target in percent and the response SLA in hours, as people
/// think of them.
#[derive(Deserialize)]
struct KpiForm {
    answer_within_s: String,
    short_abandon_s: String,
    sl_target_pct: String,
    sl_variant: String,
    response_sla_h: String,
    fcr_days: String,
}

impl KpiForm {
    fn patch(&self) -> Result<crate::kpi::KpiSettingsPatch, crate::domain::InvalidValue> {
        use crate::domain::InvalidValue;
        // A number as typed (decimal comma or point), times `unit`.
        fn number(field: &'static str, text: &str, unit: f64) -> Result<f64, InvalidValue> {
            let text = text.trim();
            match text.replace(',', ".").parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v * unit),
                _ => Err(InvalidValue::new(
                    field,
                    "not_a_number",
                    format!("{field}: {text}"),
                )),
            }
        }
        // A whole count; a negative one is out of range like any other.
        let whole = |field, text: &str, unit| {
            number(field, text, unit).and_then(|v| {
                let v = v.round();
                if (0.0..=f64::from(u32::MAX)).contains(&v) {
                    Ok(v as u32)
                } else {
                    Err(InvalidValue::new(
                        field,
                        "out_of_range",
                        format!("{field} may not be {}", text.trim()),
                    ))
                }
            })
        };
        Ok(crate::kpi::KpiSettingsPatch {
            answer_within_s: Some(whole("answer_within_s", &self.answer_within_s, 1.0)?),
            short_abandon_s: Some(whole("short_abandon_s", &self.short_abandon_s, 1.0)?),
            sl_target: Some(number("sl_target", &self.sl_target_pct, 0.01)?),
            sl_variant: Some(self.sl_variant.clone()),
            response_sla_s: Some(whole("response_sla_s", &self.response_sla_h, 3_600.0)?),
            fcr_days: Some(whole("fcr_days", &self.fcr_days, 1.0)?),
        })
    }
}

async fn admin_update_kpi(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    FormBody(f): FormBody<KpiForm>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    let result = match f.patch() {
        Ok(kpi) => {
            let patch = ProgramPatch {
                kpi: Some(kpi),
                ..Default::default()
            };
            super::update(&app.db, &actor_of(&ctx.user, &meta), id, &patch).await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/programs/{id}")).into_response()),
        Err(e) => {
            let msg = Some(form_error(ctx.tr, e)?);
            admin_edit_view(&app, &ctx, id, StatusCode::UNPROCESSABLE_ENTITY, msg).await
        }
    }
}

async fn admin_create_team(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    FormBody(input): FormBody<TeamInput>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    match super::create_team(&app.db, &actor_of(&ctx.user, &meta), id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/programs/{id}")).into_response()),
        Err(e) => {
            let msg = Some(form_error(ctx.tr, e)?);
            admin_edit_view(&app, &ctx, id, StatusCode::UNPROCESSABLE_ENTITY, msg).await
        }
    }
}

// ---- API ----

/// The programs the caller may see.
#[utoipa::path(get, path = "/api/v1/programs", tag = "organisation",
    responses((status = 200, body = Vec<Program>), (status = 401, body = ErrorBody)))]
pub async fn api_list(State(app): State<AppState>, user: ApiUser) -> AppResult<Json<Vec<Program>>> {
    Ok(Json(
        super::list_visible(&app.db, &user.0.program_scope()).await?,
    ))
}

/// Create a program (administrators).
#[utoipa::path(post, path = "/api/v1/programs", tag = "organisation", request_body = ProgramInput,
    responses((status = 201, body = Program), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    JsonBody(input): JsonBody<ProgramInput>,
) -> AppResult<(StatusCode, Json<Program>)> {
    user.0.check(Capability::ManageOrganisation)?;
    let p = super::create(&app.db, &actor_of(&user.0, &meta), &input).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// One program, if the caller may see it.
#[utoipa::path(get, path = "/api/v1/programs/{id}", tag = "organisation",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = Program), (status = 404, body = ErrorBody)))]
pub async fn api_get(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Json<Program>> {
    Ok(Json(super::find_visible(&app.db, &user.0, id).await?))
}

/// Change a program's name, time zone or active flag (administrators).
#[utoipa::path(patch, path = "/api/v1/programs/{id}", tag = "organisation", request_body = ProgramPatch,
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = Program), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_update(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    JsonBody(patch): JsonBody<ProgramPatch>,
) -> AppResult<Json<Program>> {
    user.0.check(Capability::ManageOrganisation)?;
    Ok(Json(
        super::update(&app.db, &actor_of(&user.0, &meta), id, &patch).await?,
    ))
}

/// The teams of a program the caller may see.
#[utoipa::path(get, path = "/api/v1/programs/{id}/teams", tag = "organisation",
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = Vec<Team>), (status = 404, body = ErrorBody)))]
pub async fn api_teams(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Json<Vec<Team>>> {
    Ok(Json(super::teams_visible(&app.db, &user.0, id).await?))
}

/// Add a team to a program (administrators).
#[utoipa::path(post, path = "/api/v1/programs/{id}/teams", tag = "organisation", request_body = TeamInput,
    params(("id" = i64, Path, description = "Program id")),
    responses((status = 201, body = Team), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn api_create_team(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    JsonBody(input): JsonBody<TeamInput>,
) -> AppResult<(StatusCode, Json<Team>)> {
    user.0.check(Capability::ManageOrganisation)?;
    let t = super::create_team(&app.db, &actor_of(&user.0, &meta), id, &input).await?;
    Ok((StatusCode::CREATED, Json(t)))
}
