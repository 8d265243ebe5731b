//! The administrator's people screens and the people / grants API.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::{GrantInput, Person, PersonInput, PersonPatch, PersonWithGrants};
use crate::api::{ApiUser, IdPath, JsonBody};
use crate::audit::Actor;
use crate::auth::access::{GrantView, load_grants};
use crate::auth::middleware::actor_of;
use crate::auth::routes::form_error;
use crate::auth::{Capability, Principal};
use crate::domain::{GrantId, PersonId, Role};
use crate::i18n::Tr;
use crate::programs::{Program, Team};
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult, ErrorBody};
use crate::web::extract::{FormBody, QueryParams};
use crate::web::page::PageCtx;
use crate::web::request::RequestMeta;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/admin/people", get(people_page).post(create_person_page))
        .route(
            "/admin/people/{id}",
            get(person_page).post(update_person_page),
        )
        .route("/admin/people/{id}/grants", post(add_grant_page))
        .route("/admin/grants/{id}/delete", post(remove_grant_page))
        .route("/admin/people/{id}/agent-codes", post(add_code_page))
        .route(
            "/admin/people/{id}/agent-codes/delete",
            post(remove_code_page),
        )
}

/// Administrators only; everybody else is refused before anything is read.
fn admin(user: &Principal, meta: &RequestMeta) -> AppResult<Actor> {
    user.check(Capability::ManageOrganisation)?;
    Ok(actor_of(user, meta))
}

#[derive(Template)]
#[template(path = "people/list.html")]
struct ListTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    people: Vec<PersonWithGrants>,
    query: &'a str,
    error: Option<String>,
    email: &'a str,
    name: &'a str,
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn list_view(
    app: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    error: Option<String>,
    (email, name): (&str, &str),
    query: &str,
) -> AppResult<Response> {
    let people = super::search(&app.db, query).await?;
    ctx.render_status(
        status,
        &ctx.tr.t("nav.admin_people"),
        ListTemplate {
            tr: ctx.tr,
            ctx,
            people,
            query,
            error,
            email,
            name,
        },
    )
}

async fn people_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    QueryParams(q): QueryParams<SearchQuery>,
) -> AppResult<Response> {
    admin(&ctx.user, &meta)?;
    let query = q.q.unwrap_or_default();
    list_view(&app, &ctx, StatusCode::OK, None, ("", ""), &query).await
}

async fn create_person_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    FormBody(input): FormBody<PersonInput>,
) -> AppResult<Response> {
    let actor = admin(&ctx.user, &meta)?;
    match super::create(&app.db, &actor, &input).await {
        Ok(p) => Ok(Redirect::to(&format!("/admin/people/{}", p.id)).into_response()),
        Err(e) => {
            let msg = Some(form_error(ctx.tr, e)?);
            list_view(
                &app,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                msg,
                (&input.email, &input.name),
                "",
            )
            .await
        }
    }
}

/// A scope a grant can name, as offered in the grant form: `org`, `p:<id>` or `t:<id>`.
struct ScopeOption {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "people/show.html")]
struct ShowTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    person: Person,
    grants: Vec<GrantView>,
    roles: [Role; 6],
    scopes: Vec<ScopeOption>,
    codes: Vec<super::agent_codes::AgentCode>,
    programs: Vec<Program>,
    error: Option<String>,
}

async fn scope_options(app: &AppState, tr: Tr) -> AppResult<Vec<ScopeOption>> {
    let mut out = vec![ScopeOption {
        value: "org".into(),
        label: tr.t("people.scope_org"),
    }];
    let programs: Vec<Program> = crate::programs::all(&app.db).await?;
    for p in programs {
        out.push(ScopeOption {
            value: format!("p:{}", p.id),
            label: p.name.clone(),
        });
        let teams: Vec<Team> = crate::programs::teams_of(&app.db, p.id).await?;
        for t in teams {
            out.push(ScopeOption {
                value: format!("t:{}", t.id),
                label: format!("{} / {}", p.name, t.name),
            });
        }
    }
    Ok(out)
}

async fn show_view(
    app: &AppState,
    ctx: &PageCtx,
    id: PersonId,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let person = super::find(&app.db, id).await?.ok_or(AppError::NotFound)?;
    let grants = load_grants(&app.db, id).await?;
    let scopes = scope_options(app, ctx.tr).await?;
    let codes = super::agent_codes::of_person(&app.db, id).await?;
    let programs = crate::programs::all(&app.db).await?;
    ctx.render_status(
        status,
        &person.name.clone(),
        ShowTemplate {
            tr: ctx.tr,
            ctx,
            person,
            grants,
            roles: Role::ALL,
            scopes,
            codes,
            programs,
            error,
        },
    )
}

/// The person's page again, with the reason a change was refused.
async fn person_refused(
    app: &AppState,
    ctx: &PageCtx,
    id: PersonId,
    e: AppError,
) -> AppResult<Response> {
    let msg = Some(form_error(ctx.tr, e)?);
    show_view(app, ctx, id, StatusCode::UNPROCESSABLE_ENTITY, msg).await
}

async fn person_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
) -> AppResult<Response> {
    admin(&ctx.user, &meta)?;
    show_view(&app, &ctx, id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct PersonForm {
    name: String,
    active: Option<String>,
    locale: Option<String>,
    #[serde(default)]
    password: String,
}

async fn update_person_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
    FormBody(f): FormBody<PersonForm>,
) -> AppResult<Response> {
    let actor = admin(&ctx.user, &meta)?;
    let patch = PersonPatch {
        name: Some(f.name),
        active: Some(f.active.is_some()),
        locale: f.locale,
        password: Some(f.password).filter(|p| !p.is_empty()),
    };
    match super::update(&app.db, &actor, id, &patch).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/people/{id}")).into_response()),
        Err(e) => person_refused(&app, &ctx, id, e).await,
    }
}

#[derive(Deserialize)]
struct GrantForm {
    role: String,
    scope: String,
}

impl GrantForm {
    fn parse(&self) -> AppResult<GrantInput> {
        let role = Role::parse(&self.role)?;
        let bad = || {
            AppError::Invalid(crate::domain::InvalidValue::new(
                "scope",
                "scope",
                "choose a scope from the list",
            ))
        };
        let (program_id, team_id) = match self.scope.split_once(':') {
            None if self.scope == "org" => (None, None),
            Some(("p", id)) => (Some(id.parse().map_err(|_| bad())?), None),
            Some(("t", id)) => (None, Some(id.parse().map_err(|_| bad())?)),
            _ => return Err(bad()),
        };
        Ok(GrantInput {
            role,
            program_id,
            team_id,
        })
    }
}

async fn add_grant_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
    FormBody(f): FormBody<GrantForm>,
) -> AppResult<Response> {
    let actor = admin(&ctx.user, &meta)?;
    let result = match f.parse() {
        Ok(input) => super::add_grant(&app.db, &actor, id, &input)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/people/{id}")).into_response()),
        Err(e) => person_refused(&app, &ctx, id, e).await,
    }
}

async fn remove_grant_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<GrantId>,
) -> AppResult<Response> {
    let actor = admin(&ctx.user, &meta)?;
    let person = super::remove_grant(&app.db, &actor, id).await?;
    Ok(Redirect::to(&format!("/admin/people/{person}")).into_response())
}

// ---- API ----

/// Everybody in the organisation (administrators).
#[utoipa::path(get, path = "/api/v1/people", tag = "organisation",
    responses((status = 200, body = Vec<Person>), (status = 403, body = ErrorBody)))]
pub async fn api_list(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
) -> AppResult<Json<Vec<Person>>> {
    admin(&user.0, &meta)?;
    Ok(Json(super::list(&app.db).await?))
}

/// Add a person (administrators).
#[utoipa::path(post, path = "/api/v1/people", tag = "organisation", request_body = PersonInput,
    responses((status = 201, body = Person), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_create(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    JsonBody(input): JsonBody<PersonInput>,
) -> AppResult<(StatusCode, Json<Person>)> {
    let actor = admin(&user.0, &meta)?;
    Ok((
        StatusCode::CREATED,
        Json(super::create(&app.db, &actor, &input).await?),
    ))
}

/// One person (administrators).
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "organisation",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, body = Person), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn api_get(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
) -> AppResult<Json<Person>> {
    admin(&user.0, &meta)?;
    Ok(Json(
        super::find(&app.db, id).await?.ok_or(AppError::NotFound)?,
    ))
}

/// Change a person's name, language, password or active flag (administrators).
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "organisation", request_body = PersonPatch,
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, body = Person), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_update(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
    JsonBody(patch): JsonBody<PersonPatch>,
) -> AppResult<Json<Person>> {
    let actor = admin(&user.0, &meta)?;
    Ok(Json(super::update(&app.db, &actor, id, &patch).await?))
}

/// A person's role grants (administrators).
#[utoipa::path(get, path = "/api/v1/people/{id}/grants", tag = "organisation",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, body = Vec<GrantView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn api_grants(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
) -> AppResult<Json<Vec<GrantView>>> {
    admin(&user.0, &meta)?;
    super::find(&app.db, id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(load_grants(&app.db, id).await?))
}

/// Grant a role (administrators).
#[utoipa::path(post, path = "/api/v1/people/{id}/grants", tag = "organisation", request_body = GrantInput,
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 201, body = GrantView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_add_grant(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
    JsonBody(input): JsonBody<GrantInput>,
) -> AppResult<(StatusCode, Json<GrantView>)> {
    let actor = admin(&user.0, &meta)?;
    Ok((
        StatusCode::CREATED,
        Json(super::add_grant(&app.db, &actor, id, &input).await?),
    ))
}

/// Withdraw a role grant (administrators).
#[utoipa::path(delete, path = "/api/v1/grants/{id}", tag = "organisation",
    params(("id" = i64, Path, description = "Grant id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn api_remove_grant(
    State(app): State<AppState>,
    user: ApiUser,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<GrantId>,
) -> AppResult<StatusCode> {
    let actor = admin(&user.0, &meta)?;
    super::remove_grant(&app.db, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct CodeForm {
    program_id: crate::domain::ProgramId,
    code: String,
}

async fn add_code_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
    FormBody(f): FormBody<CodeForm>,
) -> AppResult<Response> {
    let actor = admin(&ctx.user, &meta)?;
    super::find(&app.db, id).await?.ok_or(AppError::NotFound)?;
    match super::agent_codes::add(&app.db, &actor, id, f.program_id, &f.code).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/people/{id}")).into_response()),
        Err(e) => person_refused(&app, &ctx, id, e).await,
    }
}

async fn remove_code_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<PersonId>,
    FormBody(f): FormBody<CodeForm>,
) -> AppResult<Response> {
    let actor = admin(&ctx.user, &meta)?;
    super::agent_codes::remove(&app.db, &actor, id, f.program_id, &f.code).await?;
    Ok(Redirect::to(&format!("/admin/people/{id}")).into_response())
}
