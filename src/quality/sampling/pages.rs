//! The sampling pages: a program's plans with their runs, how each evaluator keeps up and what
//! sample each agent needs; a plan's settings; the evaluator's own queue.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};

use super::assignments::{self, Assignment, Filter, Reassign, Tracking};
use super::plan::{Plan, PlanInput, Rule, RuleKind};
use super::routes::{RunInput, run_plan};
use super::store::{self, RunOutcome};
use crate::api::IdPath;
use crate::auth::middleware::actor_of;
use crate::auth::routes::form_error;
use crate::contacts::calendar::date_of;
use crate::domain::{PersonId, ProgramId};
use crate::i18n::Tr;
use crate::kpi::Channel;
use crate::programs::Program;
use crate::quality::pages::{Fields, field, id_field, see_other};
use crate::quality::report::{self, QualityParams};
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult};
use crate::web::extract::FormBody;
use crate::web::page::PageCtx;
use crate::web::request::RequestMeta;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/programs/{id}/sampling",
            get(program_page).post(create_plan),
        )
        .route("/sampling-plans/{id}", get(plan_page).post(update_plan))
        .route("/sampling-plans/{id}/run", post(run))
        .route("/assignments", get(queue_page))
        .route("/assignments/{id}/reassign", post(reassign))
}

/// The channels a plan can sample.
const CHANNELS: [Channel; 4] = [
    Channel::Phone,
    Channel::Email,
    Channel::Chat,
    Channel::Social,
];

pub struct RuleField {
    pub kind: &'static str,
    pub label: String,
    pub on: bool,
    pub has_threshold: bool,
    pub threshold: String,
    pub per_agent: String,
}

/// A plan's form, filled from what was sent or stored.
pub struct PlanForm {
    pub name: String,
    pub per_agent: String,
    pub due_days: String,
    pub active: bool,
    pub channels: Vec<(&'static str, String, bool)>,
    pub evaluators: Vec<(i64, String, bool)>,
    pub rules: Vec<RuleField>,
}

fn form_of(fields: &Fields, eligible: &[(PersonId, String)], tr: Tr) -> PlanForm {
    let has = |k: &str, v: &str| fields.iter().any(|(fk, fv)| fk == k && fv == v);
    let text = |k: &str, default: &str| field(fields, k).unwrap_or(default).to_owned();
    PlanForm {
        name: text("name", ""),
        per_agent: text("per_agent", "4"),
        due_days: text("due_days", "7"),
        active: field(fields, "active").is_some() || field(fields, "name").is_none(),
        channels: CHANNELS
            .iter()
            .map(|c| {
                let on = has("channel", c.as_str()) || field(fields, "name").is_none();
                (c.as_str(), tr.t(&format!("channel.{}", c.as_str())), on)
            })
            .collect(),
        evaluators: eligible
            .iter()
            .map(|(id, name)| (id.0, name.clone(), has("evaluator", &id.0.to_string())))
            .collect(),
        rules: RuleKind::ALL
            .iter()
            .map(|k| {
                let key = k.as_str();
                RuleField {
                    kind: key,
                    label: tr.t(&format!("sampling.rule_{key}")),
                    on: has("rule", key),
                    has_threshold: k.threshold_range().is_some(),
                    threshold: text(
                        &format!("threshold_{key}"),
                        &k.threshold_range()
                            .map(|(d, _, _)| d.to_string())
                            .unwrap_or_default(),
                    ),
                    per_agent: text(&format!("rule_per_agent_{key}"), "1"),
                }
            })
            .collect(),
    }
}

/// A stored plan as the fields its form sends.
fn fields_of(plan: &Plan) -> Fields {
    let mut f: Fields = vec![
        ("name".into(), plan.name.clone()),
        ("per_agent".into(), plan.per_agent.to_string()),
        ("due_days".into(), plan.due_days.to_string()),
    ];
    if plan.active {
        f.push(("active".into(), "on".into()));
    }
    f.extend(
        plan.channels
            .iter()
            .map(|c| ("channel".into(), c.as_str().into())),
    );
    f.extend(
        plan.evaluator_ids
            .iter()
            .map(|id| ("evaluator".into(), id.0.to_string())),
    );
    for r in &plan.rules {
        let key = r.kind.as_str();
        f.push(("rule".into(), key.into()));
        f.push((format!("threshold_{key}"), r.limit().to_string()));
        f.push((format!("rule_per_agent_{key}"), r.per_agent.to_string()));
    }
    f
}

fn whole(fields: &Fields, name: &str, path: &str) -> AppResult<u32> {
    let raw = field(fields, name).unwrap_or("").trim();
    raw.parse().map_err(|_| AppError::InvalidAt {
        field: path.into(),
        message: format!("expected a whole number, got {raw:?}"),
    })
}

/// What the form sent, as the API takes it.
fn input_of(fields: &Fields) -> AppResult<PlanInput> {
    let all = |k: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(fk, _)| fk == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut evaluator_ids = Vec::new();
    for raw in all("evaluator") {
        evaluator_ids.push(PersonId(raw.parse().map_err(|_| AppError::NotFound)?));
    }
    let mut rules = Vec::new();
    for (i, key) in all("rule").iter().enumerate() {
        let kind = RuleKind::parse(key).ok_or(AppError::NotFound)?;
        let threshold = match kind.threshold_range() {
            Some(_) => Some(i64::from(whole(
                fields,
                &format!("threshold_{key}"),
                &format!("rules[{i}].threshold"),
            )?)),
            None => None,
        };
        rules.push(Rule {
            kind,
            threshold,
            per_agent: whole(
                fields,
                &format!("rule_per_agent_{key}"),
                &format!("rules[{i}].per_agent"),
            )?,
        });
    }
    Ok(PlanInput {
        name: field(fields, "name").unwrap_or("").to_owned(),
        per_agent: whole(fields, "per_agent", "per_agent")?,
        channels: all("channel"),
        evaluator_ids,
        due_days: whole(fields, "due_days", "due_days")?,
        rules,
        active: field(fields, "active").is_some(),
    })
}

/// A plan as listed: what it samples, in words.
pub struct PlanRow {
    pub plan: Plan,
    pub channels: String,
    pub rules: String,
    pub evaluators: String,
}

pub struct AssignmentRow {
    pub a: Assignment,
    pub reason: String,
    pub state: String,
}

fn assignment_row(a: Assignment, tr: Tr) -> AssignmentRow {
    AssignmentRow {
        reason: tr.t(&format!("sampling.rule_{}", a.reason)),
        state: tr.t(a.state.label_key()),
        a,
    }
}

pub struct SizeRow {
    pub agent: String,
    pub evaluations: i64,
    pub iqs: String,
    pub interval: String,
    pub suggested: String,
}

#[derive(Template)]
#[template(path = "quality/sampling.html")]
struct ProgramTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    program: Program,
    plans: Vec<PlanRow>,
    week: String,
    notice: Option<String>,
    error: Option<String>,
    form: PlanForm,
    tracking: Vec<Tracking>,
    open: Vec<AssignmentRow>,
    eligible: Vec<(PersonId, String)>,
    sizes: Vec<SizeRow>,
    margin: String,
}

async fn program_view(
    app: &AppState,
    ctx: &PageCtx,
    program: ProgramId,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    sent: Option<&Fields>,
) -> AppResult<Response> {
    let tr = ctx.tr;
    let program = crate::programs::find_visible(&app.db, &ctx.user, program).await?;
    let plans = store::list(&app.db, &ctx.user, program.id).await?;
    let eligible = store::eligible_evaluators(&app.db, program.id).await?;
    let name_of = |id: &PersonId| {
        eligible
            .iter()
            .find(|(e, _)| e == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let plans = plans
        .into_iter()
        .map(|plan| PlanRow {
            channels: plan
                .channels
                .iter()
                .map(|c| tr.t(&format!("channel.{}", c.as_str())))
                .collect::<Vec<_>>()
                .join(", "),
            rules: plan
                .rules
                .iter()
                .map(|r| tr.t(&format!("sampling.rule_{}", r.kind.as_str())))
                .collect::<Vec<_>>()
                .join(", "),
            evaluators: plan
                .evaluator_ids
                .iter()
                .map(name_of)
                .collect::<Vec<_>>()
                .join(", "),
            plan,
        })
        .collect();
    let all = assignments::list(
        &app.db,
        &ctx.user,
        &Filter {
            program_id: Some(program.id),
            ..Filter::default()
        },
    )
    .await?;
    let tracking = assignments::tracking(&all);
    let open = all
        .into_iter()
        .filter(|a| a.state != assignments::State::Done)
        .take(200)
        .map(|a| assignment_row(a, tr))
        .collect();
    let today = crate::contacts::calendar::today_in(program.zone());
    let params = QualityParams {
        from: Some(date_of(today - 89).to_string()),
        to: Some(date_of(today).to_string()),
        by: Some("agent".into()),
        margin: None,
    };
    let quality = report::report(&app.db, &ctx.user, &program, &params).await?;
    let sizes = quality
        .lines
        .iter()
        .map(|l| SizeRow {
            agent: l.group.clone(),
            evaluations: l.evaluations,
            iqs: l
                .iqs
                .map(|e| format!("{:.1}", e.value))
                .unwrap_or_else(|| "–".into()),
            interval: l
                .iqs
                .map(|e| format!("{:.1}–{:.1}", e.low, e.high))
                .unwrap_or_default(),
            suggested: l
                .suggested_evaluations
                .map(|n| n.to_string())
                .unwrap_or_else(|| "–".into()),
        })
        .collect();
    let empty = Fields::new();
    let form = form_of(sent.unwrap_or(&empty), &eligible, tr);
    ctx.render_status(
        status,
        &tr.f("sampling.title_program", &[("program", &program.name)]),
        ProgramTemplate {
            tr,
            ctx,
            week: date_of(store::last_finished_week(program.zone())).to_string(),
            margin: format!("{:.0}", quality.margin),
            program,
            plans,
            notice,
            error,
            form,
            tracking,
            open,
            eligible,
            sizes,
        },
    )
}

async fn program_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
) -> AppResult<Response> {
    program_view(&app, &ctx, id, StatusCode::OK, None, None, None).await
}

async fn create_plan(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<ProgramId>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let made = match input_of(&fields) {
        Ok(input) => {
            store::create(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id, &input).await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(_) => Ok(see_other(format!("/programs/{id}/sampling"))),
        Err(e) => {
            let msg = form_error(ctx.tr, e)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            program_view(&app, &ctx, id, status, None, Some(msg), Some(&fields)).await
        }
    }
}

fn outcome_text(tr: Tr, o: &RunOutcome) -> String {
    let key = if o.already_sampled {
        "sampling.ran_before"
    } else {
        "sampling.ran"
    };
    tr.f(
        key,
        &[
            ("week", &o.week),
            ("n", &o.assigned.to_string()),
            ("due", &o.due),
        ],
    )
}

async fn run(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let plan = store::get(&app.db, &ctx.user, id).await?;
    let input = RunInput {
        week: field(&fields, "week").map(str::to_owned),
    };
    let (status, notice, error) = match run_plan(&app.db, &ctx.user, &meta, id, &input).await {
        Ok(o) => (StatusCode::OK, Some(outcome_text(ctx.tr, &o)), None),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(form_error(ctx.tr, e)?),
        ),
    };
    program_view(&app, &ctx, plan.program_id, status, notice, error, None).await
}

#[derive(Template)]
#[template(path = "quality/sampling_plan.html")]
struct PlanTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    plan: Plan,
    form: PlanForm,
    error: Option<String>,
}

async fn plan_view(
    app: &AppState,
    ctx: &PageCtx,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    sent: Option<&Fields>,
) -> AppResult<Response> {
    let plan = store::get(&app.db, &ctx.user, id).await?;
    let eligible = store::eligible_evaluators(&app.db, plan.program_id).await?;
    let stored = fields_of(&plan);
    let form = form_of(sent.unwrap_or(&stored), &eligible, ctx.tr);
    ctx.render_status(
        status,
        &plan.name.clone(),
        PlanTemplate {
            tr: ctx.tr,
            ctx,
            plan,
            form,
            error,
        },
    )
}

async fn plan_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    plan_view(&app, &ctx, id, StatusCode::OK, None, None).await
}

async fn update_plan(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let changed = match input_of(&fields) {
        Ok(input) => {
            store::update(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id, &input).await
        }
        Err(e) => Err(e),
    };
    match changed {
        Ok(plan) => Ok(see_other(format!("/programs/{}/sampling", plan.program_id))),
        Err(e) => {
            let msg = form_error(ctx.tr, e)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            plan_view(&app, &ctx, id, status, Some(msg), Some(&fields)).await
        }
    }
}

#[derive(Template)]
#[template(path = "quality/assignments.html")]
struct QueueTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    rows: Vec<AssignmentRow>,
}

async fn queue_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let rows = assignments::list(&app.db, &ctx.user, &Filter::default())
        .await?
        .into_iter()
        .map(|a| assignment_row(a, ctx.tr))
        .collect();
    ctx.render(
        &ctx.tr.t("sampling.queue_title"),
        QueueTemplate {
            tr: ctx.tr,
            ctx: &ctx,
            rows,
        },
    )
}

async fn reassign(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let to: PersonId = id_field(&fields, "evaluator_id")?;
    let actor = actor_of(&ctx.user, &meta);
    let input = Reassign { evaluator_id: to };
    match assignments::reassign(&app.db, &ctx.user, &actor, id, &input).await {
        Ok(a) => Ok(see_other(format!("/programs/{}/sampling", a.program_id))),
        Err(e) => {
            let msg = form_error(ctx.tr, e)?;
            let program = assignments::program_of(&app.db, id).await?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            program_view(&app, &ctx, program, status, None, Some(msg), None).await
        }
    }
}
