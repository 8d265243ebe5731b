//! The coaching pages, the notifications page and badge, and the agent's "my quality" page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::coaching::{self, Done, NewAction, NewSession, Session};
use super::evaluations::{self, Evaluation, Kind, Status};
use super::notify::{self, Notification};
use super::pages::{Fields, field, see_other};
use super::report::{self, QualityParams};
use crate::api::IdPath;
use crate::auth::middleware::actor_of;
use crate::auth::routes::form_error;
use crate::domain::{PersonId, ProgramId, Role, format_utc};
use crate::i18n::Tr;
use crate::on_db;
use crate::startup::AppState;
use crate::store::Db;
use crate::web::error::{AppError, AppResult};
use crate::web::extract::{FormBody, QueryParams};
use crate::web::page::PageCtx;
use crate::web::request::RequestMeta;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/coaching", get(sessions_page).post(create_session))
        .route("/coaching/new", get(new_session_page))
        .route("/coaching/{id}", get(session_page))
        .route("/coaching/{id}/acknowledge", post(acknowledge))
        .route("/coaching-actions/{id}/done", post(action_done))
        .route("/notifications", get(notifications_page).post(read_all))
        .route("/notifications/count", get(unread_count))
        .route("/my/quality", get(my_quality_page))
}

// ---- Sessions ----

#[derive(Template)]
#[template(path = "quality/coaching_list.html")]
struct SessionsTemplate {
    tr: Tr,
    rows: Vec<(Session, String, usize)>,
}

async fn sessions_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let rows = coaching::list(&app.db, &ctx.user, None)
        .await?
        .into_iter()
        .map(|s| {
            let open = s.actions.iter().filter(|a| a.done_at.is_none()).count();
            let held = format_utc(s.held_at);
            (s, held, open)
        })
        .collect();
    ctx.render(
        &ctx.tr.t("coaching.title"),
        SessionsTemplate { tr: ctx.tr, rows },
    )
}

#[derive(Deserialize)]
struct NewQuery {
    evaluation: i64,
}

#[derive(Template)]
#[template(path = "quality/coaching_new.html")]
struct NewTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    e: Evaluation,
    agent_name: String,
    score: String,
    error: Option<String>,
}

/// The evaluation a session starts from, if the person may coach its agent.
async fn coachable(
    app: &AppState,
    ctx: &PageCtx,
    evaluation: i64,
) -> AppResult<(Evaluation, String)> {
    let e = evaluations::get(&app.db, &ctx.user, evaluation).await?;
    let agent = e.agent_id.ok_or_else(|| AppError::Conflict {
        field: None,
        message: ctx.tr.t("coaching.no_agent"),
    })?;
    if e.kind != Kind::Evaluation
        || e.status == Status::Draft
        || !coaching::may_coach(&app.db, &ctx.user, e.program_id, agent).await?
    {
        return Err(AppError::Forbidden);
    }
    let name = crate::people::find(&app.db, agent)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    Ok((e, name))
}

async fn new_view(
    app: &AppState,
    ctx: &PageCtx,
    evaluation: i64,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let (e, agent_name) = coachable(app, ctx, evaluation).await?;
    ctx.render_status(
        status,
        &ctx.tr.t("coaching.new"),
        NewTemplate {
            tr: ctx.tr,
            ctx,
            score: e
                .score
                .map(super::scoring::display)
                .unwrap_or_else(|| "–".into()),
            agent_name,
            e,
            error,
        },
    )
}

async fn new_session_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    QueryParams(q): QueryParams<NewQuery>,
) -> AppResult<Response> {
    new_view(&app, &ctx, q.evaluation, StatusCode::OK, None).await
}

async fn create_session(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let evaluation: i64 = field(&fields, "evaluation")
        .unwrap_or_default()
        .to_owned()
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let (e, _) = coachable(&app, &ctx, evaluation).await?;
    let descriptions = fields.iter().filter(|(k, _)| k == "action_description");
    let dues = fields.iter().filter(|(k, _)| k == "action_due");
    let actions = descriptions
        .zip(dues)
        .filter(|((_, d), _)| !d.trim().is_empty())
        .map(|((_, description), (_, due))| NewAction {
            description: description.clone(),
            due: due.clone(),
        })
        .collect();
    let input = NewSession {
        program_id: e.program_id,
        agent_id: e.agent_id.ok_or(AppError::NotFound)?,
        strengths: field(&fields, "strengths").unwrap_or_default().to_owned(),
        improvements: field(&fields, "improvements")
            .unwrap_or_default()
            .to_owned(),
        notes: field(&fields, "notes").unwrap_or_default().to_owned(),
        evaluation_ids: vec![e.id],
        actions,
    };
    match coaching::create(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), &input).await {
        Ok(s) => Ok(see_other(format!("/coaching/{}", s.id))),
        Err(err) => {
            let msg = form_error(ctx.tr, err)?;
            new_view(
                &app,
                &ctx,
                evaluation,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(msg),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "quality/coaching_show.html")]
struct SessionTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    s: Session,
    held: String,
    /// The person is the session's agent.
    agent: bool,
}

async fn session_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    let s = coaching::get(&app.db, &ctx.user, id).await?;
    ctx.render(
        &ctx.tr.t("coaching.session"),
        SessionTemplate {
            tr: ctx.tr,
            ctx: &ctx,
            held: format_utc(s.held_at),
            agent: s.agent_id == ctx.user.person_id,
            s,
        },
    )
}

async fn acknowledge(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    coaching::acknowledge(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id).await?;
    Ok(see_other(format!("/coaching/{id}")))
}

async fn action_done(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(done): FormBody<Done>,
) -> AppResult<Response> {
    let s = coaching::complete_action(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id, &done)
        .await?;
    Ok(see_other(format!("/coaching/{}", s.id)))
}

// ---- Notifications ----

#[derive(Template)]
#[template(path = "quality/notifications.html")]
struct NotificationsTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    rows: Vec<(Notification, String, String)>,
}

async fn notifications_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let tr = ctx.tr;
    let rows = notify::list(&app.db, ctx.user.person_id, notify::today())
        .await?
        .into_iter()
        .map(|n| {
            let text = tr.t(&format!("notify.{}", n.kind));
            let at = format_utc(n.at);
            (n, text, at)
        })
        .collect();
    ctx.render(
        &tr.t("notify.title"),
        NotificationsTemplate {
            tr,
            ctx: &ctx,
            rows,
        },
    )
}

async fn read_all(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    notify::mark_read(&app.db, ctx.user.person_id).await?;
    Ok(see_other("/notifications".into()))
}

/// The unread count for the badge beside "Notifications" (empty when none).
async fn unread_count(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let n = notify::unread(&app.db, ctx.user.person_id, notify::today()).await?;
    let body = if n == 0 {
        String::new()
    } else {
        format!("<span class=\"badge badge-warn\" data-testid=\"unread\">{n}</span>")
    };
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Html(body),
    )
        .into_response())
}

// ---- My quality ----

pub struct MyProgram {
    pub name: String,
    pub report: report::QualityReport,
    pub strong: Vec<report::CriterionLine>,
    pub weak: Vec<report::CriterionLine>,
    pub chart: String,
}

#[derive(Template)]
#[template(path = "quality/my_quality.html")]
struct MyTemplate {
    tr: Tr,
    programs: Vec<MyProgram>,
    evaluations: Vec<(Evaluation, String, String)>,
    actions: Vec<(Session, coaching::Action)>,
}

/// The agent's own submitted evaluations, newest first.
async fn my_evaluations(db: &Db, person: PersonId) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "SELECT id FROM evaluations WHERE agent_id = $1 AND kind = 'evaluation' \
        AND status <> 'draft' ORDER BY submitted_at DESC, id DESC LIMIT 50";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(person).fetch_all(p).await)
}

async fn my_quality_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let tr = ctx.tr;
    let programs_of_mine: Vec<ProgramId> = {
        let mut ids: Vec<ProgramId> = ctx
            .user
            .grants
            .iter()
            .filter(|g| g.role == Role::Agent)
            .filter_map(|g| g.scope_program_id)
            .collect();
        ids.dedup();
        ids
    };
    let mut programs = Vec::new();
    for id in programs_of_mine {
        let Some(program) = crate::programs::find(&app.db, id).await? else {
            continue;
        };
        let params = QualityParams {
            by: Some("week".into()),
            ..Default::default()
        };
        let r = report::report(&app.db, &ctx.user, &program, &params).await?;
        let mut ranked: Vec<report::CriterionLine> = r
            .criteria
            .iter()
            .filter(|c| c.mean.is_some())
            .cloned()
            .collect();
        ranked.sort_by(|a, b| {
            let m = |c: &report::CriterionLine| c.mean.map(|e| e.value).unwrap_or(0.0);
            m(b).total_cmp(&m(a)).then(a.name.cmp(&b.name))
        });
        let strong: Vec<_> = ranked.iter().take(3).cloned().collect();
        let weak: Vec<_> = ranked
            .iter()
            .rev()
            .take(3)
            .filter(|c| !strong.iter().any(|s| s.criterion == c.criterion))
            .cloned()
            .collect();
        let chart = super::pages::quality_chart(&r.lines);
        programs.push(MyProgram {
            name: program.name,
            report: r,
            strong,
            weak,
            chart,
        });
    }
    let mut evaluations = Vec::new();
    for id in my_evaluations(&app.db, ctx.user.person_id).await? {
        let e = evaluations::get(&app.db, &ctx.user, id).await?;
        let when = e.submitted_at.map(format_utc).unwrap_or_default();
        let score = e
            .score
            .map(super::scoring::display)
            .unwrap_or_else(|| "–".into());
        evaluations.push((e, when, score));
    }
    let mut actions = Vec::new();
    for s in coaching::list(&app.db, &ctx.user, Some(ctx.user.person_id)).await? {
        for a in s.actions.iter().filter(|a| a.done_at.is_none()) {
            actions.push((s.clone(), a.clone()));
        }
    }
    ctx.render(
        &tr.t("my.title"),
        MyTemplate {
            tr,
            programs,
            evaluations,
            actions,
        },
    )
}
