//! The quality pages: forms and their versions, evaluating a contact beside its form, the
//! agent's acknowledgement or dispute, resolving disputes, and the disputes queue.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};

use super::catalogue::{self, Catalogue};
use super::evaluations::{self, Evaluation, Kind, SaveInput, StartInput, Status};
use super::form::{CriterionRef, Form, FormSpec};
use super::forms::{self, FormSummary, FormVersion, NewForm, VersionStatus};
use super::scale::{AnswerValue, NOT_APPLICABLE, Scale};
use super::scoring::{self, Answer};
use super::templates::{self, TemplateSummary};
use super::workflow::{self, Decision, DisputeInput, DisputeItem, DisputedCriterion, ResolveInput};
use crate::api::IdPath;
use crate::auth::middleware::actor_of;
use crate::auth::routes::form_error;
use crate::auth::{Capability, Principal};
use crate::contacts::browse::{ContactView, open_contact};
use crate::contacts::store::ContactDetail;
use crate::domain::{Locale, ProgramId, format_utc};
use crate::i18n::Tr;
use crate::kpi::Channel;
use crate::programs::Program;
use crate::startup::AppState;
use crate::store::Db;
use crate::web::error::{AppError, AppResult};
use crate::web::extract::FormBody;
use crate::web::page::PageCtx;
use crate::web::request::RequestMeta;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/quality", get(forms_page).post(create_form))
        .route(
            "/quality/versions/{id}",
            get(version_page).post(edit_version),
        )
        .route("/quality/versions/{id}/publish", post(publish_version))
        .route("/quality/versions/{id}/retire", post(retire_version))
        .route("/quality/forms/{id}/draft", post(new_draft))
        .route("/quality/disputes", get(disputes_page))
        .route("/programs/{id}/quality", get(dashboard_page))
        .route("/programs/{id}/quality/evaluations.csv", get(dashboard_csv))
        .route("/contacts/{id}/evaluations", post(start_evaluation))
        .route(
            "/evaluations/{id}",
            get(evaluation_page).post(save_evaluation),
        )
        .route("/evaluations/{id}/acknowledge", post(acknowledge))
        .route("/evaluations/{id}/dispute", post(dispute))
        .route("/evaluations/{id}/resolve", post(resolve))
}

pub(crate) fn see_other(to: String) -> Response {
    Redirect::to(&to).into_response()
}

fn score_text(score: Option<f64>) -> String {
    score.map(scoring::display).unwrap_or_else(|| "–".into())
}

// ---- The contact page's evaluations ----

pub struct EvaluationRow {
    pub id: i64,
    pub kind: String,
    pub evaluator: String,
    pub status: String,
    pub score: String,
}

/// The evaluations of a contact shown on its page, and what the person may start.
pub struct ContactEvaluations {
    pub contact: i64,
    pub rows: Vec<EvaluationRow>,
    pub can_evaluate: bool,
    pub can_self_evaluate: bool,
}

pub async fn contact_evaluations(
    db: &Db,
    user: &Principal,
    c: &ContactDetail,
) -> AppResult<ContactEvaluations> {
    let tr_free = evaluations::of_contact(db, user, c.id).await?;
    Ok(ContactEvaluations {
        contact: c.id,
        rows: tr_free
            .into_iter()
            .map(|e| EvaluationRow {
                id: e.id,
                kind: e.kind.label_key().into(),
                evaluator: e.evaluator_name,
                status: e.status.label_key().into(),
                score: score_text(e.score),
            })
            .collect(),
        can_evaluate: evaluations::may_start(db, user, c.program_id, &c.agent, Kind::Evaluation)
            .await?,
        can_self_evaluate: evaluations::may_start(
            db,
            user,
            c.program_id,
            &c.agent,
            Kind::SelfEvaluation,
        )
        .await?,
    })
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    kind: Option<String>,
}

async fn start_evaluation(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(f): FormBody<StartForm>,
) -> AppResult<Response> {
    let kind = match f.kind.as_deref() {
        Some("self") => Kind::SelfEvaluation,
        _ => Kind::Evaluation,
    };
    let input = StartInput {
        kind,
        form_version_id: None,
    };
    let (e, _) =
        evaluations::start(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id, &input).await?;
    Ok(see_other(format!("/evaluations/{}", e.id)))
}

// ---- A form shown criterion by criterion ----

pub struct OptionView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct CriterionView {
    pub key: String,
    pub name: String,
    pub definition: String,
    pub rationale: String,
    pub examples: Vec<String>,
    pub critical: bool,
    pub weight: u8,
    pub kpi: String,
    pub relationship: bool,
    pub channels: String,
    pub options: Vec<OptionView>,
    pub na_allowed: bool,
    pub na_selected: bool,
    /// The answer given, as shown.
    pub answer: String,
    pub percent: String,
    pub comment: String,
    /// The other view's answer (self-evaluation beside evaluation), and whether it differs.
    pub other: Option<String>,
    pub differs: bool,
    pub dispute: Option<DisputeView>,
}

/// A disputed criterion as shown: the answer proposed, the reason, the outcome once decided.
pub struct DisputeView {
    pub proposed: String,
    pub reason: String,
    pub outcome: String,
}

fn dispute_view(tr: Tr, d: &DisputedCriterion) -> DisputeView {
    DisputeView {
        proposed: answer_label(tr, &d.proposed_value),
        reason: d.reason.clone(),
        outcome: outcome_label(tr, d.outcome.as_deref()),
    }
}

fn outcome_label(tr: Tr, outcome: Option<&str>) -> String {
    match outcome {
        Some("upheld") => tr.t("quality.upheld"),
        Some("partly_upheld") => tr.t("quality.partly_upheld"),
        Some("rejected") => tr.t("quality.rejected"),
        _ => String::new(),
    }
}

/// One step of the history as shown.
pub struct HistoryRow {
    pub at: String,
    pub who: String,
    pub action: String,
    pub detail: String,
}

pub struct SectionView {
    pub title: String,
    pub description: String,
    pub criteria: Vec<CriterionView>,
}

pub(crate) fn options(tr: Tr, scale: &Scale, selected: Option<&str>) -> Vec<OptionView> {
    let option = |value: String, label: String| OptionView {
        selected: selected == Some(value.as_str()),
        value,
        label,
    };
    match scale {
        Scale::YesNo => vec![
            option("yes".into(), tr.t("contacts.yes")),
            option("no".into(), tr.t("contacts.no")),
        ],
        Scale::Range { min, max } => (*min..=*max)
            .map(|n| option(n.to_string(), n.to_string()))
            .collect(),
        Scale::Custom(points) => points
            .iter()
            .map(|p| option(p.label.clone(), format!("{} ({} %)", p.label, p.percent)))
            .collect(),
    }
}

/// An answer as shown: "yes" in the reader's language, n/a, a number or a label.
pub(crate) fn answer_label(tr: Tr, value: &str) -> String {
    match value {
        "yes" => tr.t("contacts.yes"),
        "no" => tr.t("contacts.no"),
        NOT_APPLICABLE => tr.t("quality.not_applicable"),
        other => other.to_owned(),
    }
}

fn criterion_view(tr: Tr, c: CriterionRef<'_>) -> CriterionView {
    CriterionView {
        key: c.spec.key.clone(),
        name: c.spec.name.clone(),
        definition: c.spec.definition.clone(),
        rationale: c.spec.rationale.clone(),
        examples: c.spec.examples.clone(),
        critical: c.spec.critical,
        weight: c.spec.weight,
        kpi: c.spec.kpi.clone().unwrap_or_default(),
        relationship: c.spec.kind == super::form::CriterionKind::Relationship,
        channels: c
            .spec
            .channels
            .iter()
            .map(|ch| ch.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        options: options(tr, c.scale, None),
        na_allowed: c.spec.na_allowed,
        na_selected: false,
        answer: String::new(),
        percent: String::new(),
        comment: String::new(),
        other: None,
        differs: false,
        dispute: None,
    }
}

/// The form's sections with the criteria that apply to `channel` (all of them without one).
pub(crate) fn sections(tr: Tr, form: &Form, channel: Option<Channel>) -> Vec<SectionView> {
    let mut out: Vec<SectionView> = Vec::new();
    for section in &form.spec().sections {
        let criteria: Vec<CriterionView> = form
            .criteria()
            .filter(|c| c.section.key == section.key)
            .filter(|c| channel.is_none_or(|ch| c.applies_to(ch)))
            .map(|c| criterion_view(tr, c))
            .collect();
        if !criteria.is_empty() {
            out.push(SectionView {
                title: section.title.clone(),
                description: section.description.clone(),
                criteria,
            });
        }
    }
    out
}

// ---- Forms ----

pub struct ProgramForms {
    pub program: Program,
    pub forms: Vec<FormSummary>,
}

#[derive(Template)]
#[template(path = "quality/forms.html")]
struct FormsTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    programs: Vec<ProgramForms>,
    templates: Vec<TemplateSummary>,
    admin: bool,
    locales: [Locale; 3],
    error: Option<String>,
}

async fn forms_view(
    app: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let mut programs = Vec::new();
    for program in crate::programs::list_visible(&app.db, &ctx.user.program_scope()).await? {
        let mut list = forms::list(&app.db, program.id).await?;
        if ctx
            .user
            .check(Capability::ViewProgramFigures(program.id))
            .is_err()
        {
            for f in &mut list {
                f.versions.retain(|v| v.status != VersionStatus::Draft);
            }
            list.retain(|f| !f.versions.is_empty());
        }
        programs.push(ProgramForms {
            program,
            forms: list,
        });
    }
    let locale = ctx.tr.locale;
    ctx.render_status(
        status,
        &ctx.tr.t("quality.forms_title"),
        FormsTemplate {
            tr: ctx.tr,
            ctx,
            programs,
            templates: templates::TEMPLATES
                .iter()
                .map(|t| t.summary(locale))
                .collect(),
            admin: ctx.user.is_admin(),
            locales: Locale::ALL,
            error,
        },
    )
}

async fn forms_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    forms_view(&app, &ctx, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct CreateForm {
    program_id: ProgramId,
    template: String,
    language: String,
}

async fn create_form(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    FormBody(f): FormBody<CreateForm>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    let input = NewForm {
        template: Some(f.template),
        language: Locale::parse(&f.language),
        definition: None,
    };
    match forms::create(&app.db, &actor_of(&ctx.user, &meta), f.program_id, input).await {
        Ok(v) => Ok(see_other(format!("/quality/versions/{}", v.id))),
        Err(e) => {
            let msg = form_error(ctx.tr, e)?;
            forms_view(&app, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Some(msg)).await
        }
    }
}

#[derive(Template)]
#[template(path = "quality/version.html")]
struct VersionTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    v: FormVersion,
    program: Program,
    status: String,
    critical_mode: String,
    sections: Vec<SectionView>,
    admin: bool,
    draft: bool,
    published: bool,
    channels: String,
    json: String,
    error: Option<String>,
    /// The form builder's settings as JSON, on a draft an administrator may edit.
    builder: Option<String>,
}

/// A change to a version that was refused: the definition as sent, why, and where in it when
/// the refusal names a place.
struct Refused {
    json: String,
    message: String,
    at: Option<RefusedAt>,
}

/// The place in a definition a refusal names (`sections[1].criteria[0].weight`), and what is
/// wrong there.
#[derive(Serialize)]
struct RefusedAt {
    path: String,
    message: String,
}

impl Refused {
    fn new(tr: Tr, json: String, e: AppError) -> AppResult<Self> {
        let at = match &e {
            AppError::InvalidAt { field, message } => {
                field.strip_prefix("definition.").map(|path| RefusedAt {
                    path: path.to_owned(),
                    message: message.clone(),
                })
            }
            _ => None,
        };
        let message = form_error(tr, e)?;
        Ok(Refused { json, message, at })
    }
}

/// A principle, KPI or channel the form builder offers.
#[derive(Serialize)]
struct BuilderChoice {
    key: String,
    name: String,
}

/// The keys a form builder keeps as they are: those of the stored version.
#[derive(Serialize)]
struct KeptKeys {
    sections: Vec<String>,
    criteria: Vec<String>,
}

/// What the form builder's script is given: its texts, what a definition may choose from, the
/// keys that must not change and where a refused save went wrong.
#[derive(Serialize)]
struct BuilderConfig {
    texts: BTreeMap<String, String>,
    principles: Vec<BuilderChoice>,
    kpis: Vec<BuilderChoice>,
    channels: Vec<BuilderChoice>,
    kept: KeptKeys,
    error: Option<RefusedAt>,
}

/// The texts outside the `form_builder` section the builder's script uses.
const BUILDER_TEXTS: [&str; 12] = [
    "quality.answers",
    "quality.critical",
    "quality.critical_fail",
    "quality.critical_mode",
    "quality.critical_zero",
    "quality.not_applicable",
    "quality.pass_mark",
    "quality.relationship",
    "quality.weight",
    "quality.why",
    "contacts.no",
    "contacts.yes",
];

async fn catalogue_choices(
    db: &Db,
    which: Catalogue,
    program: ProgramId,
) -> AppResult<Vec<BuilderChoice>> {
    Ok(catalogue::list(db, which, Some(program))
        .await?
        .into_iter()
        .map(|e| BuilderChoice {
            key: e.key,
            name: e.name,
        })
        .collect())
}

/// The form builder's settings, as JSON safe to place in a `<script type="application/json">`.
async fn builder_config(
    db: &Db,
    tr: Tr,
    v: &FormVersion,
    error: Option<RefusedAt>,
) -> AppResult<String> {
    let mut texts = tr.section("form_builder");
    texts.extend(BUILDER_TEXTS.iter().map(|k| (k.to_string(), tr.t(k))));
    let config = BuilderConfig {
        texts,
        principles: catalogue_choices(db, Catalogue::Principles, v.program_id).await?,
        kpis: catalogue_choices(db, Catalogue::Kpis, v.program_id).await?,
        channels: Channel::ALL
            .iter()
            .map(|c| BuilderChoice {
                key: c.as_str().to_owned(),
                name: tr.t(&format!("channel.{}", c.as_str())),
            })
            .collect(),
        kept: KeptKeys {
            sections: v
                .definition
                .sections
                .iter()
                .map(|s| s.key.clone())
                .collect(),
            criteria: v.form.criteria().map(|c| c.spec.key.clone()).collect(),
        },
        error,
    };
    let json = serde_json::to_string(&config).map_err(|e| AppError::Unexpected(e.into()))?;
    Ok(json.replace('<', "\\u003c"))
}

async fn version_view(
    app: &AppState,
    ctx: &PageCtx,
    id: i64,
    status: StatusCode,
    refused: Option<Refused>,
) -> AppResult<Response> {
    let v = forms::version(&app.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.user.check(Capability::ViewProgram(v.program_id))?;
    if v.status == VersionStatus::Draft
        && ctx
            .user
            .check(Capability::ViewProgramFigures(v.program_id))
            .is_err()
    {
        return Err(AppError::NotFound);
    }
    let program = crate::programs::find(&app.db, v.program_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (json, error, error_at) = match refused {
        Some(r) => (r.json, Some(r.message), r.at),
        None => (
            serde_json::to_string_pretty(&v.definition).unwrap_or_default(),
            None,
            None,
        ),
    };
    let draft = v.status == VersionStatus::Draft;
    let builder = if draft && ctx.user.is_admin() {
        Some(builder_config(&app.db, ctx.tr, &v, error_at).await?)
    } else {
        None
    };
    ctx.render_status(
        status,
        &v.name.clone(),
        VersionTemplate {
            tr: ctx.tr,
            ctx,
            status: ctx.tr.t(v.status.label_key()),
            critical_mode: ctx.tr.t(match v.form.critical_mode() {
                super::form::CriticalMode::Zero => "quality.critical_zero",
                super::form::CriticalMode::Fail => "quality.critical_fail",
            }),
            sections: sections(ctx.tr, &v.form, None),
            admin: ctx.user.is_admin(),
            draft,
            published: v.status == VersionStatus::Published,
            channels: v
                .form
                .channels()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            json,
            error,
            builder,
            program,
            v,
        },
    )
}

async fn version_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    version_view(&app, &ctx, id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct DefinitionForm {
    definition: String,
}

async fn edit_version(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(f): FormBody<DefinitionForm>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    let result = match serde_json::from_str::<FormSpec>(&f.definition) {
        Ok(spec) => forms::update_draft(&app.db, &actor_of(&ctx.user, &meta), id, spec)
            .await
            .map(|_| ()),
        Err(e) => Err(AppError::InvalidAt {
            field: "definition".into(),
            message: e.to_string(),
        }),
    };
    match result {
        Ok(()) => Ok(see_other(format!("/quality/versions/{id}"))),
        Err(e) => {
            let refused = Refused::new(ctx.tr, f.definition, e)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            version_view(&app, &ctx, id, status, Some(refused)).await
        }
    }
}

async fn version_action(
    app: &AppState,
    ctx: &PageCtx,
    id: i64,
    result: AppResult<FormVersion>,
) -> AppResult<Response> {
    match result {
        Ok(v) => Ok(see_other(format!("/quality/versions/{}", v.id))),
        Err(e) => {
            let v = forms::version(&app.db, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let json = serde_json::to_string_pretty(&v.definition).unwrap_or_default();
            let refused = Refused::new(ctx.tr, json, e)?;
            version_view(app, ctx, id, StatusCode::CONFLICT, Some(refused)).await
        }
    }
}

async fn publish_version(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    let r = forms::publish(&app.db, &actor_of(&ctx.user, &meta), id).await;
    version_action(&app, &ctx, id, r).await
}

async fn retire_version(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    let r = forms::retire(&app.db, &actor_of(&ctx.user, &meta), id).await;
    version_action(&app, &ctx, id, r).await
}

async fn new_draft(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    ctx.user.check(Capability::ManageOrganisation)?;
    match forms::new_draft(&app.db, &actor_of(&ctx.user, &meta), id).await {
        Ok(v) => Ok(see_other(format!("/quality/versions/{}", v.id))),
        Err(AppError::Conflict { .. }) => Ok(see_other("/quality".into())),
        Err(e) => Err(e),
    }
}

// ---- Evaluations ----

#[derive(Template)]
#[template(path = "quality/evaluation.html")]
struct EvaluationTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    v: ContactView,
    e: Evaluation,
    form_name: String,
    version: i64,
    sections: Vec<SectionView>,
    /// The person's own draft: answers can be changed.
    editable: bool,
    /// The agent may acknowledge or dispute.
    answerable: bool,
    /// The person may resolve the open dispute.
    resolvable: bool,
    /// The person may start a coaching session from it.
    coachable: bool,
    /// What the other view beside this one is (self-evaluation or evaluation), when shown.
    other_label: Option<String>,
    status: String,
    kind: String,
    score: String,
    resolution: String,
    history: Vec<HistoryRow>,
    /// The calibration gate's warning to the evaluator working on it.
    gate_warning: Option<String>,
    error: Option<String>,
}

/// The other view of the same contact to compare with: the agent's submitted self-evaluation
/// beside an evaluation, or the newest submitted evaluation beside a self-evaluation.
async fn other_view(db: &Db, user: &Principal, e: &Evaluation) -> AppResult<Option<Evaluation>> {
    let all = evaluations::of_contact(db, user, e.contact_id).await?;
    Ok(all
        .into_iter()
        .rev()
        .find(|o| o.id != e.id && o.kind != e.kind && o.status != Status::Draft))
}

async fn evaluation_view(
    app: &AppState,
    ctx: &PageCtx,
    meta: &RequestMeta,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let (e, version) = evaluations::get_with_form(&app.db, &ctx.user, id).await?;
    let v = open_contact(app, &ctx.user, meta, e.contact_id).await?;
    let channel = Channel::parse(&e.channel).ok();
    let other = other_view(&app.db, &ctx.user, &e).await?;
    let tr = ctx.tr;
    let mut sections = sections(tr, &version.form, channel);
    for c in sections.iter_mut().flat_map(|s| s.criteria.iter_mut()) {
        let given = e.answers.iter().find(|a| a.criterion == c.key);
        if let Some(a) = given {
            let scale = version.form.criterion(&c.key).map(|r| r.scale.clone());
            if let Some(scale) = scale {
                c.options = options(tr, &scale, Some(a.value.as_str()));
            }
            c.na_selected = a.value == NOT_APPLICABLE;
            c.answer = answer_label(tr, &a.value);
            c.percent = a
                .percent
                .map(|p| format!("{} %", scoring::display(p)))
                .unwrap_or_else(|| "–".into());
            c.comment = a.comment.clone();
        }
        if let Some(o) = &other {
            let theirs = o.answers.iter().find(|a| a.criterion == c.key);
            c.other = theirs.map(|a| answer_label(tr, &a.value));
            c.differs = theirs.map(|a| a.value.as_str()) != given.map(|a| a.value.as_str());
        }
        c.dispute = e
            .disputes
            .iter()
            .find(|d| d.criterion == c.key)
            .map(|d| dispute_view(tr, d));
    }
    let mine = e.evaluator_id == ctx.user.person_id;
    let answerable =
        e.status == Status::Submitted && workflow::is_its_agent(&app.db, &ctx.user, &e).await?;
    let resolvable =
        e.status == Status::Disputed && workflow::may_resolve(&app.db, &ctx.user, &e).await?;
    let coachable = match e.agent_id {
        Some(agent) if e.kind == Kind::Evaluation && e.status != Status::Draft => {
            super::coaching::may_coach(&app.db, &ctx.user, e.program_id, agent).await?
        }
        _ => false,
    };
    let title = format!("{} · {}", tr.t(e.kind.label_key()), v.c.external_id);
    let gate_warning = if mine && e.status == Status::Draft {
        crate::calibration::gate::shortfall(&app.db, &ctx.user, ctx.user.person_id, e.program_id)
            .await?
            .map(|g| {
                tr.f(
                    "quality.gate_warning",
                    &[
                        ("share", &format!("{:.0}", g.exact_share * 100.0)),
                        ("min", &format!("{:.0}", g.min_exact * 100.0)),
                        ("session", &g.session_title),
                    ],
                )
            })
    } else {
        None
    };
    ctx.render_status(
        status,
        &title,
        EvaluationTemplate {
            tr,
            ctx,
            form_name: version.name.clone(),
            version: version.version,
            sections,
            gate_warning,
            editable: mine && e.status == Status::Draft,
            answerable,
            resolvable,
            coachable,
            other_label: other.map(|o| tr.t(o.kind.label_key())),
            status: tr.t(e.status.label_key()),
            kind: tr.t(e.kind.label_key()),
            score: score_text(e.score),
            resolution: outcome_label(tr, e.resolution.as_deref()),
            history: e
                .history
                .iter()
                .map(|h| HistoryRow {
                    at: format_utc(h.at),
                    who: h.actor_name.clone().unwrap_or_default(),
                    action: tr.t(&format!("quality.history_{}", h.action)),
                    detail: h.detail.clone(),
                })
                .collect(),
            error,
            v,
            e,
        },
    )
}

async fn evaluation_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    evaluation_view(&app, &ctx, &meta, id, StatusCode::OK, None).await
}

/// Back to the evaluation's page after a change, or the page again with why it was refused.
async fn back_to_evaluation(
    app: &AppState,
    ctx: &PageCtx,
    meta: &RequestMeta,
    id: i64,
    result: AppResult<()>,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(see_other(format!("/evaluations/{id}"))),
        Err(e) => {
            let msg = form_error(ctx.tr, e)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            evaluation_view(app, ctx, meta, id, status, Some(msg)).await
        }
    }
}

/// A page form's fields, `answer:<criterion>` and the like, by name.
pub(crate) type Fields = Vec<(String, String)>;

pub(crate) fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An id a page form sends in a hidden field; a missing or garbled one is not found.
pub(crate) fn id_field<T: std::str::FromStr>(fields: &Fields, name: &str) -> AppResult<T> {
    field(fields, name)
        .and_then(|v| v.trim().parse().ok())
        .ok_or(AppError::NotFound)
}

/// Reads an answer from a page form: numbers on 1–5 and 0–10 scales, text otherwise.
fn answer_value(form: &Form, criterion: &str, raw: &str) -> AnswerValue {
    match form.criterion(criterion).map(|c| c.scale) {
        Some(Scale::Range { .. }) if raw != NOT_APPLICABLE => AnswerValue::from_stored(raw),
        _ => AnswerValue::Text(raw.to_owned()),
    }
}

/// The answers a page form sent: `answer:<criterion>` and its comment `note:<criterion>`.
pub(crate) fn answers_of(form: &Form, fields: &Fields) -> Vec<Answer> {
    let comments: BTreeMap<&str, &str> = fields
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("note:").map(|c| (c, v.as_str())))
        .collect();
    form.criteria()
        .filter_map(|c| {
            let key = c.spec.key.as_str();
            let raw = field(fields, &format!("answer:{key}")).filter(|v| !v.is_empty())?;
            Some(Answer {
                criterion: key.to_owned(),
                value: answer_value(form, key, raw),
                comment: comments.get(key).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

async fn save_evaluation(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let (_, version) = evaluations::get_with_form(&app.db, &ctx.user, id).await?;
    let answers = answers_of(&version.form, &fields);
    let input = SaveInput {
        answers,
        comment: field(&fields, "comment").unwrap_or_default().to_owned(),
    };
    let mut result = evaluations::save(&app.db, &ctx.user, id, &input)
        .await
        .map(|_| ());
    if result.is_ok() && field(&fields, "action") == Some("submit") {
        result = evaluations::submit(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id)
            .await
            .map(|_| ());
    }
    back_to_evaluation(&app, &ctx, &meta, id, result).await
}

async fn acknowledge(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    workflow::acknowledge(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id).await?;
    Ok(see_other(format!("/evaluations/{id}")))
}

async fn dispute(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let (e, version) = evaluations::get_with_form(&app.db, &ctx.user, id).await?;
    let items: Vec<DisputeItem> = e
        .answers
        .iter()
        .filter(|a| field(&fields, &format!("dispute:{}", a.criterion)).is_some())
        .map(|a| DisputeItem {
            criterion: a.criterion.clone(),
            proposed: answer_value(
                &version.form,
                &a.criterion,
                field(&fields, &format!("proposed:{}", a.criterion)).unwrap_or_default(),
            ),
            reason: field(&fields, &format!("reason:{}", a.criterion))
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    let input = DisputeInput { items };
    let result = workflow::dispute(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id, &input)
        .await
        .map(|_| ());
    back_to_evaluation(&app, &ctx, &meta, id, result).await
}

async fn resolve(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let decisions: Vec<Decision> = fields
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("decision:").map(|c| Decision {
                criterion: c.to_owned(),
                upheld: v == "upheld",
            })
        })
        .collect();
    let input = ResolveInput {
        decisions,
        note: field(&fields, "note").unwrap_or_default().to_owned(),
    };
    let result = workflow::resolve(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id, &input)
        .await
        .map(|_| ());
    back_to_evaluation(&app, &ctx, &meta, id, result).await
}

// ---- Disputes ----

pub struct DisputeRow {
    pub evaluation_id: i64,
    pub agent: String,
    pub evaluator: String,
    pub score: String,
    pub disputed_at: String,
    pub resolve_by: String,
    pub overdue: bool,
    pub criteria: usize,
}

#[derive(Template)]
#[template(path = "quality/disputes.html")]
struct DisputesTemplate {
    tr: Tr,
    rows: Vec<DisputeRow>,
}

async fn disputes_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let rows = workflow::queue(&app.db, &ctx.user, None)
        .await?
        .into_iter()
        .map(|d| DisputeRow {
            evaluation_id: d.evaluation_id,
            agent: d.agent_code,
            evaluator: d.evaluator_name,
            score: score_text(d.score),
            disputed_at: format_utc(d.disputed_at),
            resolve_by: format_utc(d.resolve_by),
            overdue: d.overdue,
            criteria: d.criteria,
        })
        .collect();
    ctx.render(
        &ctx.tr.t("quality.disputes_title"),
        DisputesTemplate { tr: ctx.tr, rows },
    )
}

// ---- The quality dashboard ----

/// A figure tile.
pub struct Tile {
    pub label: String,
    pub value: String,
    pub note: String,
}

/// A report line as the dashboard's table shows it.
pub struct LineView {
    pub group: String,
    pub evaluations: i64,
    pub iqs: String,
    pub iqs_interval: String,
    pub pass_rate: String,
    pub rq: String,
    pub critical_failures: i64,
    pub disputes: String,
    /// The agent's service and customer figures of the period (by agent only).
    pub kpis: Option<AgentKpis>,
}

/// An agent's contact KPIs beside their quality: AHT, FCR, CSAT (share 4–5), customer RQ.
pub struct AgentKpis {
    pub aht: String,
    pub fcr: String,
    pub csat: String,
    pub rq: String,
}

/// A criterion's relation to the customers' verdicts, as the dashboard shows it.
pub struct ImpactRow {
    pub name: String,
    pub answers: u64,
    pub csat: String,
    pub fcr: String,
    pub rq: String,
}

fn relation_text(r: &super::impact::Relation) -> String {
    match r.r {
        Some(e) => format!("{:+.2} (n = {})", e.value, r.pairs),
        None => format!("– (n = {})", r.pairs),
    }
}

pub struct CriterionRow {
    pub name: String,
    pub principle: String,
    pub answers: i64,
    pub not_applicable: i64,
    pub mean: String,
    pub interval: String,
}

pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "quality/dashboard.html")]
struct DashboardTemplate {
    tr: Tr,
    program: Program,
    from: String,
    to: String,
    by_choices: Vec<Choice>,
    tiles: Vec<Tile>,
    lines: Vec<LineView>,
    criteria: Vec<CriterionRow>,
    principles: Vec<(String, String, i64)>,
    chart: String,
    /// Whether the lines are periods, which the chart draws.
    over_time: bool,
    /// Whether the lines carry the agents' contact KPIs.
    with_kpis: bool,
    impact: Vec<ImpactRow>,
    export: String,
    /// Whether the person may download single evaluations.
    may_export: bool,
}

fn percent(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

fn points(v: f64) -> String {
    format!("{v:.1}")
}

fn line_view(l: &super::report::QualityLine) -> LineView {
    LineView {
        group: l.group.clone(),
        evaluations: l.evaluations,
        iqs: l.iqs.map(|e| points(e.value)).unwrap_or_else(|| "–".into()),
        iqs_interval: l
            .iqs
            .map(|e| format!("{}–{}", points(e.low), points(e.high)))
            .unwrap_or_default(),
        pass_rate: l
            .pass_rate
            .map(|e| percent(e.value))
            .unwrap_or_else(|| "–".into()),
        rq: l.rq.map(|e| percent(e.value)).unwrap_or_else(|| "–".into()),
        critical_failures: l.critical_failures,
        disputes: format!(
            "{} ({} / {} / {})",
            l.disputed, l.upheld, l.partly_upheld, l.rejected
        ),
        kpis: None,
    }
}

/// Each agent's contact KPIs of the report's period, by agent code.
async fn agent_kpis(
    app: &AppState,
    ctx: &PageCtx,
    program: ProgramId,
    from: &str,
    to: &str,
) -> AppResult<BTreeMap<String, AgentKpis>> {
    let (program, scope) = crate::contacts::routes::program_for(app, &ctx.user, program).await?;
    let params = crate::contacts::routes::KpiParams {
        from: Some(from.to_owned()),
        to: Some(to.to_owned()),
        by: Some("agent".into()),
        ..Default::default()
    };
    let q = crate::contacts::routes::query_of(app, &program, &scope, &params).await?;
    let (rows, _) = crate::contacts::routes::report(app, &program, &q).await?;
    let share = |v: Option<f64>| v.map(percent).unwrap_or_else(|| "–".into());
    Ok(rows
        .into_iter()
        .map(|l| {
            let k = AgentKpis {
                aht: l
                    .aht_s
                    .map(|s| format!("{s:.0} s"))
                    .unwrap_or_else(|| "–".into()),
                fcr: share(l.fcr),
                csat: share(l.csat),
                rq: share(l.rq),
            };
            (l.group, k)
        })
        .collect())
}

/// IQS and evaluated RQ (in percent) per report line, for the page's chart.
pub(super) fn quality_chart(lines: &[super::report::QualityLine]) -> String {
    crate::web::page::script_json(&serde_json::json!({
        "labels": lines.iter().map(|l| l.group.clone()).collect::<Vec<_>>(),
        "iqs": lines.iter().map(|l| l.iqs.map(|e| e.value)).collect::<Vec<_>>(),
        "rq": lines.iter().map(|l| l.rq.map(|e| e.value * 100.0)).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize, Default)]
struct DashboardQuery {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

async fn dashboard_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
    crate::web::extract::QueryParams(q): crate::web::extract::QueryParams<DashboardQuery>,
) -> AppResult<Response> {
    let program = crate::programs::find_visible(&app.db, &ctx.user, id).await?;
    let params = super::report::QualityParams {
        from: q.from,
        to: q.to,
        by: q.by,
        margin: None,
    };
    let r = super::report::report(&app.db, &ctx.user, &program, &params).await?;
    let tr = ctx.tr;
    let t = &r.total;
    let interval = |e: Option<crate::stats::interval::Estimate>, f: fn(f64) -> String| {
        e.map(|e| {
            tr.f(
                "quality.interval",
                &[("low", &f(e.low)), ("high", &f(e.high))],
            )
        })
        .unwrap_or_default()
    };
    let tiles = vec![
        Tile {
            label: tr.t("quality.iqs"),
            value: t.iqs.map(|e| points(e.value)).unwrap_or_else(|| "–".into()),
            note: interval(t.iqs, points),
        },
        Tile {
            label: tr.t("quality.pass_rate"),
            value: t
                .pass_rate
                .map(|e| percent(e.value))
                .unwrap_or_else(|| "–".into()),
            note: interval(t.pass_rate, percent),
        },
        Tile {
            label: tr.t("quality.evaluated_rq"),
            value: t.rq.map(|e| percent(e.value)).unwrap_or_else(|| "–".into()),
            note: interval(t.rq, percent),
        },
        Tile {
            label: tr.t("quality.evaluations"),
            value: t.evaluations.to_string(),
            note: r
                .suggested_evaluations
                .map(|n| {
                    tr.f(
                        "quality.suggested",
                        &[("n", &n.to_string()), ("margin", &points(r.margin))],
                    )
                })
                .unwrap_or_default(),
        },
        Tile {
            label: tr.t("quality.critical_failures"),
            value: t.critical_failures.to_string(),
            note: String::new(),
        },
        Tile {
            label: tr.t("quality.dispute_rate"),
            value: t.dispute_rate.map(percent).unwrap_or_else(|| "–".into()),
            note: tr.f(
                "quality.dispute_outcomes",
                &[
                    ("upheld", &t.upheld.to_string()),
                    ("partly", &t.partly_upheld.to_string()),
                    ("rejected", &t.rejected.to_string()),
                ],
            ),
        },
    ];
    let by = r.by;
    let by_choices = [
        ("day", "quality.by_day", super::report::GroupBy::Day),
        ("week", "quality.by_week", super::report::GroupBy::Week),
        ("month", "quality.by_month", super::report::GroupBy::Month),
        ("agent", "quality.by_agent", super::report::GroupBy::Agent),
        ("team", "quality.by_team", super::report::GroupBy::Team),
    ]
    .into_iter()
    .map(|(value, key, b)| Choice {
        value,
        label: tr.t(key),
        selected: b == by,
    })
    .collect();
    let chart = quality_chart(&r.lines);
    let export =
        serde_urlencoded::to_string([("from", &r.from), ("to", &r.to)]).unwrap_or_default();
    let mut lines: Vec<LineView> = r.lines.iter().map(line_view).collect();
    let with_kpis = by == super::report::GroupBy::Agent;
    if with_kpis {
        let mut kpis = agent_kpis(&app, &ctx, program.id, &r.from, &r.to).await?;
        for l in &mut lines {
            l.kpis = kpis.remove(&l.group);
        }
    }
    let impact = super::impact::impact(&app.db, &ctx.user, &program, &params)
        .await?
        .into_iter()
        .map(|c| ImpactRow {
            name: c.name,
            answers: c.answers,
            csat: relation_text(&c.csat),
            fcr: relation_text(&c.fcr),
            rq: relation_text(&c.rq),
        })
        .collect();
    let may_export = super::report::codes_in_reach(
        &app.db,
        &ctx.user,
        program.id,
        super::report::Detail::Evaluations,
    )
    .await
    .is_ok();
    ctx.render(
        &format!("{} · {}", tr.t("quality.dashboard"), program.name),
        DashboardTemplate {
            tr,
            from: r.from.clone(),
            to: r.to.clone(),
            by_choices,
            tiles,
            lines,
            with_kpis,
            impact,
            criteria: r
                .criteria
                .iter()
                .map(|c| CriterionRow {
                    name: c.name.clone(),
                    principle: c.principle.clone(),
                    answers: c.answers,
                    not_applicable: c.not_applicable,
                    mean: c
                        .mean
                        .map(|e| points(e.value))
                        .unwrap_or_else(|| "–".into()),
                    interval: c
                        .mean
                        .map(|e| format!("{}–{}", points(e.low), points(e.high)))
                        .unwrap_or_default(),
                })
                .collect(),
            principles: r
                .principles
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        p.score.map(points).unwrap_or_else(|| "–".into()),
                        p.answers,
                    )
                })
                .collect(),
            chart,
            over_time: !matches!(
                by,
                super::report::GroupBy::Agent | super::report::GroupBy::Team
            ),
            export,
            may_export,
            program,
        },
    )
}

async fn dashboard_csv(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
    crate::web::extract::QueryParams(q): crate::web::extract::QueryParams<DashboardQuery>,
) -> AppResult<Response> {
    let program = crate::programs::find_visible(&app.db, &ctx.user, id).await?;
    let params = super::report::QualityParams {
        from: q.from,
        to: q.to,
        by: None,
        margin: None,
    };
    let (body, name) =
        super::export::evaluations_csv(&app.db, &ctx.user, &program, &params).await?;
    Ok(super::routes::csv_response(body, &name))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Locale;
    use crate::i18n::CATALOG;

    /// Every text the form builder's script asks for (`say(b, "key", …)`) is sent to it, in
    /// every language.
    #[test]
    fn the_form_builder_script_is_given_every_text_it_uses() {
        let script = include_str!("../../assets/kalibra.js");
        let pattern = "say(b, \"";
        let used: Vec<String> = script
            .match_indices(pattern)
            .map(|(i, _)| {
                let rest = &script[i + pattern.len()..];
                let key = &rest[..rest.find('"').expect("a closing quote")];
                if key.contains('.') {
                    key.to_owned()
                } else {
                    format!("form_builder.{key}")
                }
            })
            .collect();
        assert!(used.len() > 50, "the builder's texts are found: {used:?}");
        for locale in Locale::ALL {
            let tr = Tr::new(locale);
            let mut sent = tr.section("form_builder");
            sent.extend(BUILDER_TEXTS.iter().map(|k| (k.to_string(), tr.t(k))));
            for key in &used {
                assert!(
                    sent.contains_key(key),
                    "kalibra.js asks for {key}, not sent"
                );
                assert!(
                    CATALOG.get(locale, key).is_some(),
                    "{}: {key} is missing",
                    locale.code()
                );
            }
        }
    }

    #[test]
    fn a_refusal_names_its_place_in_the_definition() {
        let e = AppError::InvalidAt {
            field: "definition.sections[1].criteria[0].weight".into(),
            message: "must be 0 to 100".into(),
        };
        let r = Refused::new(Tr::new(Locale::En), "{}".into(), e).unwrap();
        assert_eq!(
            r.message,
            "definition.sections[1].criteria[0].weight: must be 0 to 100"
        );
        let at = r.at.unwrap();
        assert_eq!(
            (at.path.as_str(), at.message.as_str()),
            ("sections[1].criteria[0].weight", "must be 0 to 100")
        );
        let e = AppError::Conflict {
            field: None,
            message: "version 1 is published".into(),
        };
        let r = Refused::new(Tr::new(Locale::En), "{}".into(), e).unwrap();
        assert!(r.at.is_none());
    }
}
