//! The calibration pages: the sessions, planning one, scoring a contact blind, and the session
//! itself with the reveal, the results side by side and the reference answers.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::results::Results;
use super::session::{
    self, Loaded, NewParticipant, NewSession, ParticipantRole, ReferenceInput, ScoreInput, Session,
};
use crate::api::IdPath;
use crate::auth::middleware::actor_of;
use crate::auth::routes::form_error;
use crate::contacts::browse::{ContactView, view_contact};
use crate::domain::{PersonId, ProgramId};
use crate::i18n::Tr;
use crate::kpi::Channel;
use crate::programs::Program;
use crate::quality::forms::{self, VersionStatus};
use crate::quality::pages::{
    Fields, SectionView, answer_label, answers_of, field, id_field, options, sections, see_other,
};
use crate::quality::scale::AnswerValue;
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult};
use crate::web::extract::{FormBody, QueryParams};
use crate::web::page::PageCtx;
use crate::web::request::RequestMeta;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/calibration", get(list_page).post(create))
        .route("/calibration/new", get(new_page))
        .route("/calibration/gate", post(set_gate))
        .route("/calibration/{id}", get(session_page))
        .route("/calibration/{id}/reveal", post(reveal))
        .route("/calibration/{id}/references", post(references))
        .route(
            "/calibration/{id}/contacts/{contact}",
            get(score_page).post(score),
        )
}

/// A session as listed: its program and the caller's progress.
pub struct ListRow {
    pub s: Session,
    pub program: String,
    pub mine: String,
}

/// A facilitated program's gate, as its form shows it.
pub struct GateRow {
    pub program: Program,
    /// The least share in percent, empty without a gate.
    pub min: String,
    pub under: Vec<super::gate::Shortfall>,
    pub trends: Option<TrendView>,
    pub severity: Vec<SeverityRow>,
}

/// An evaluator's severity as shown.
pub struct SeverityRow {
    pub name: String,
    pub evaluations: usize,
    pub effect: String,
    pub interval: String,
    pub within_10: String,
    pub flagged: bool,
}

/// Points with their sign, a true minus for harshness.
fn signed(v: f64) -> String {
    if v < 0.0 {
        format!("−{:.1}", -v)
    } else {
        format!("+{v:.1}")
    }
}

fn severity_rows(list: Vec<super::severity::Severity>) -> Vec<SeverityRow> {
    list.into_iter()
        .map(|s| SeverityRow {
            effect: s.effect.map(signed).unwrap_or_else(|| "–".into()),
            interval: match (s.ci_low, s.ci_high) {
                (Some(lo), Some(hi)) => format!("{} … {}", signed(lo), signed(hi)),
                _ => "–".into(),
            },
            within_10: share(s.within_10),
            name: s.name,
            evaluations: s.evaluations,
            flagged: s.flagged,
        })
        .collect()
}

/// A program's calibration trends as tables and chart data.
pub struct TrendView {
    pub sessions: Vec<String>,
    pub criteria: Vec<(String, Vec<String>)>,
    pub participants: Vec<(String, Vec<String>)>,
    pub alpha_chart: String,
    pub distance_chart: String,
}

fn trend_view(t: &super::trends::Trends) -> Option<TrendView> {
    if t.sessions.is_empty() {
        return None;
    }
    let chart = |series: &[super::trends::Series]| {
        crate::web::page::script_json(&serde_json::json!({
            "labels": t.sessions.iter().map(|s| s.held_on.clone()).collect::<Vec<_>>(),
            "series": series.iter().map(|s| serde_json::json!({"label": s.name, "values": s.values}))
                .collect::<Vec<_>>(),
        }))
    };
    let rows = |series: &[super::trends::Series], digits: usize| {
        series
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.values.iter().map(|v| fixed(*v, digits)).collect(),
                )
            })
            .collect()
    };
    Some(TrendView {
        sessions: t.sessions.iter().map(|s| s.held_on.clone()).collect(),
        criteria: rows(&t.criteria, 3),
        participants: rows(&t.participants, 1),
        alpha_chart: chart(&t.criteria),
        distance_chart: chart(&t.participants),
    })
}

#[derive(Template)]
#[template(path = "calibration/list.html")]
struct ListTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    rows: Vec<ListRow>,
    may_plan: bool,
    reminders: Vec<String>,
    gates: Vec<GateRow>,
    error: Option<String>,
}

/// The programs whose calibration the person runs.
async fn facilitated(app: &AppState, ctx: &PageCtx) -> AppResult<Vec<Program>> {
    Ok(
        crate::programs::list_visible(&app.db, &ctx.user.program_scope())
            .await?
            .into_iter()
            .filter(|p| session::may_facilitate(&ctx.user, p.id))
            .collect(),
    )
}

async fn list_page(State(app): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    list_view(&app, &ctx, StatusCode::OK, None).await
}

async fn list_view(
    app: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let programs = crate::programs::list_visible(&app.db, &ctx.user.program_scope()).await?;
    let name_of = |id: ProgramId| {
        programs
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let rows = session::list(&app.db, &ctx.user)
        .await?
        .into_iter()
        .map(|s| {
            let mine = s
                .participants
                .iter()
                .find(|p| p.person_id == ctx.user.person_id)
                .map(|p| format!("{} / {}", p.submitted, s.contacts.len()))
                .unwrap_or_else(|| "–".into());
            ListRow {
                program: name_of(s.program_id),
                mine,
                s,
            }
        })
        .collect();
    let mine = facilitated(app, ctx).await?;
    let reminders = session::without_session_this_month(&app.db, &mine).await?;
    let mut gates = Vec::new();
    for p in &mine {
        gates.push(GateRow {
            min: super::gate::setting(&app.db, p.id)
                .await?
                .map(|m| format!("{:.0}", m * 100.0))
                .unwrap_or_default(),
            under: super::gate::shortfalls(&app.db, &ctx.user, p.id).await?,
            trends: trend_view(&super::trends::trends(&app.db, &ctx.user, p.id).await?),
            severity: {
                let q = super::routes::PeriodQuery {
                    from: None,
                    to: None,
                };
                let bounds = super::routes::period_bounds(&app.db, p.id, &q).await?;
                severity_rows(super::severity::of_program(&app.db, &ctx.user, p.id, bounds).await?)
            },
            program: p.clone(),
        });
    }
    ctx.render_status(
        status,
        &ctx.tr.t("calibration.title"),
        ListTemplate {
            tr: ctx.tr,
            ctx,
            rows,
            may_plan: !mine.is_empty(),
            reminders,
            gates,
            error,
        },
    )
}

async fn set_gate(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let program: ProgramId = id_field(&fields, "program")?;
    let raw = field(&fields, "min_percent").unwrap_or_default().trim();
    let min_exact = if raw.is_empty() {
        Ok(None)
    } else {
        raw.parse::<f64>()
            .map(|p| Some(p / 100.0))
            .map_err(|_| AppError::InvalidAt {
                field: "min_exact".into(),
                message: format!("expected a percentage, got {raw:?}"),
            })
    };
    let actor = actor_of(&ctx.user, &meta);
    let set = match min_exact {
        Ok(min_exact) => {
            let input = super::gate::GateInput { min_exact };
            super::gate::set(&app.db, &ctx.user, &actor, program, &input).await
        }
        Err(e) => Err(e),
    };
    match set {
        Ok(()) => Ok(see_other("/calibration".into())),
        Err(e) => {
            let msg = form_error(ctx.tr, e)?;
            list_view(&app, &ctx, StatusCode::UNPROCESSABLE_ENTITY, Some(msg)).await
        }
    }
}

#[derive(Deserialize)]
struct NewQuery {
    program: Option<ProgramId>,
}

#[derive(Template)]
#[template(path = "calibration/new.html")]
struct NewTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    programs: Vec<Program>,
    program: Option<Program>,
    versions: Vec<(i64, String)>,
    /// Each published version's criteria to pick the session's focus from.
    focus: Vec<FocusGroup>,
    people: Vec<(PersonId, String, &'static str, bool)>,
    today: String,
    sent: Fields,
    error: Option<String>,
}

impl NewTemplate<'_> {
    fn value(&self, name: &str) -> String {
        field(&self.sent, name).unwrap_or_default().to_owned()
    }

    fn chosen(&self, name: &str, value: &str) -> bool {
        self.sent.iter().any(|(k, v)| k == name && v == value)
    }
}

/// A form version's criteria on the new-session page; each box sends `<version>:<criterion>`.
struct FocusGroup {
    version: i64,
    criteria: Vec<(String, String)>,
}

/// The focus criteria sent for the chosen version: the keys of the boxes of that version.
fn focus_of(fields: &Fields, version: i64) -> Vec<String> {
    let prefix = format!("{version}:");
    fields
        .iter()
        .filter(|(k, _)| k == "focus")
        .filter_map(|(_, v)| v.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

async fn new_view(
    app: &AppState,
    ctx: &PageCtx,
    program: Option<ProgramId>,
    status: StatusCode,
    sent: Fields,
    error: Option<String>,
) -> AppResult<Response> {
    let programs = facilitated(app, ctx).await?;
    if programs.is_empty() {
        return Err(AppError::Forbidden);
    }
    let program = match program {
        Some(id) => Some(
            programs
                .iter()
                .find(|p| p.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?,
        ),
        None if programs.len() == 1 => programs.first().cloned(),
        None => None,
    };
    let (mut versions, mut focus, mut people) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(p) = &program {
        for f in forms::list(&app.db, p.id).await? {
            for v in f
                .versions
                .iter()
                .filter(|v| v.status == VersionStatus::Published)
            {
                versions.push((v.id, format!("{} · v{}", v.name, v.version)));
                if let Some(full) = forms::version(&app.db, v.id).await? {
                    let criteria = full
                        .form
                        .criteria()
                        .map(|c| (c.spec.key.clone(), c.spec.name.clone()))
                        .collect();
                    focus.push(FocusGroup {
                        version: v.id,
                        criteria,
                    });
                }
            }
        }
        let chosen = |id: PersonId| {
            sent.iter()
                .any(|(k, v)| k == "participant" && v == &id.0.to_string())
        };
        people = session::candidates(&app.db, p.id)
            .await?
            .into_iter()
            .map(|(id, name, role)| (id, name, role.as_str(), chosen(id)))
            .collect();
    }
    let today = program
        .as_ref()
        .map(|p| crate::contacts::calendar::today_in(p.zone()))
        .map(crate::contacts::calendar::date_of)
        .map(|d| d.to_string())
        .unwrap_or_default();
    ctx.render_status(
        status,
        &ctx.tr.t("calibration.new"),
        NewTemplate {
            tr: ctx.tr,
            ctx,
            programs,
            program,
            versions,
            focus,
            people,
            today,
            sent,
            error,
        },
    )
}

async fn new_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    QueryParams(q): QueryParams<NewQuery>,
) -> AppResult<Response> {
    new_view(&app, &ctx, q.program, StatusCode::OK, Fields::new(), None).await
}

/// The session the form describes.
async fn new_session(app: &AppState, fields: &Fields, program: ProgramId) -> AppResult<NewSession> {
    let candidates = session::candidates(&app.db, program).await?;
    let reference: Option<PersonId> = field(fields, "reference")
        .and_then(|v| v.parse().ok())
        .map(PersonId);
    let participants = fields
        .iter()
        .filter(|(k, _)| k == "participant")
        .filter_map(|(_, v)| v.parse().ok().map(PersonId))
        .map(|id| NewParticipant {
            person_id: id,
            role: if Some(id) == reference {
                ParticipantRole::Reference
            } else {
                candidates
                    .iter()
                    .find(|(p, ..)| *p == id)
                    .map(|c| c.2)
                    .unwrap_or(ParticipantRole::Evaluator)
            },
        })
        .collect();
    let named: Vec<String> = field(fields, "contacts")
        .unwrap_or_default()
        .split([',', '\n', ' ', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let contact_ids = if named.is_empty() {
        let n = field(fields, "sample").and_then(|v| v.trim().parse().ok());
        match n {
            Some(n) => session::sample_contacts(&app.db, program, n).await?,
            None => Vec::new(),
        }
    } else {
        session::contacts_named(&app.db, program, &named).await?
    };
    let form_version_id = field(fields, "form_version_id")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(NewSession {
        program_id: program,
        title: field(fields, "title").unwrap_or_default().to_owned(),
        held_on: field(fields, "held_on").unwrap_or_default().to_owned(),
        due: field(fields, "due").unwrap_or_default().to_owned(),
        form_version_id,
        participants,
        contact_ids,
        focus: focus_of(fields, form_version_id),
        reveal_required: field(fields, "reveal_required").is_some(),
    })
}

async fn create(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let program: ProgramId = id_field(&fields, "program")?;
    let made = match new_session(&app, &fields, program).await {
        Ok(input) => session::create(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), &input).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(s) => Ok(see_other(format!("/calibration/{}", s.id))),
        Err(e) => {
            let msg = form_error(ctx.tr, e)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            new_view(&app, &ctx, Some(program), status, fields, Some(msg)).await
        }
    }
}

/// One row of a contact's side-by-side table.
pub struct CellRow {
    pub key: String,
    pub name: String,
    /// Each participant's answer, in the order of `raters`, as shown.
    pub answers: Vec<String>,
    pub unanimous: bool,
    pub reference: String,
    pub note: String,
    pub options: Vec<(String, String, bool)>,
}

pub struct ContactBlock {
    pub contact_id: i64,
    pub external_id: String,
    pub rows: Vec<CellRow>,
}

/// A criterion's agreement as shown.
pub struct AgreementRow {
    pub key: String,
    pub name: String,
    pub level: String,
    pub alpha: String,
    pub interval: String,
    pub percent: String,
    pub fleiss: String,
    pub ac1: String,
    pub units: String,
    pub flagged: bool,
    /// One of the session's focus criteria.
    pub focus: bool,
}

/// A participant's distances as shown.
pub struct DeviationRow {
    pub name: String,
    pub vs_reference: String,
    pub exact: String,
    pub vs_group: String,
    pub within_band: String,
    pub flagged: bool,
}

#[derive(Template)]
#[template(path = "calibration/show.html")]
struct ShowTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    s: Session,
    contact_rows: Vec<(session::SessionContact, bool)>,
    form_name: String,
    /// The focus criteria's names, or empty.
    focus: String,
    facilitator: bool,
    participant: bool,
    visible: bool,
    agreement: Vec<AgreementRow>,
    deviation: Vec<DeviationRow>,
    tolerance: String,
    raters: Vec<String>,
    blocks: Vec<ContactBlock>,
    error: Option<String>,
}

fn fixed(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

fn share(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0} %", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// The agreement per criterion, the session's focus criteria first.
fn agreement_rows(tr: Tr, r: &Results, focus: &[String]) -> Vec<AgreementRow> {
    let mut rows: Vec<AgreementRow> = r
        .criteria
        .iter()
        .map(|c| {
            let a = c.agreement.as_ref();
            let opt = |f: Option<Option<f64>>| fixed(f.flatten(), 3);
            AgreementRow {
                key: c.criterion.clone(),
                name: c.name.clone(),
                level: a
                    .map(|a| tr.t(&format!("calibration.level_{}", a.level)))
                    .unwrap_or_else(|| "–".into()),
                alpha: fixed(a.and_then(|a| a.alpha), 3),
                interval: match a {
                    Some(a) if a.ci_low.is_some() => {
                        format!("{} – {}", fixed(a.ci_low, 2), fixed(a.ci_high, 2))
                    }
                    _ => "–".into(),
                },
                percent: a
                    .and_then(|a| a.percent_agreement)
                    .map(|p| format!("{:.1} %", p * 100.0))
                    .unwrap_or_else(|| "–".into()),
                fleiss: opt(a.and_then(|a| a.fleiss_kappa)),
                ac1: opt(a.and_then(|a| a.gwet_ac1)),
                units: a.map(|a| a.pairable_units.to_string()).unwrap_or_default(),
                flagged: c.flagged,
                focus: focus.contains(&c.criterion),
            }
        })
        .collect();
    rows.sort_by_key(|r| !r.focus);
    rows
}

fn deviation_rows(r: &Results) -> Vec<DeviationRow> {
    r.participants
        .iter()
        .map(|p| DeviationRow {
            name: p.name.clone(),
            vs_reference: fixed(p.vs_reference.mean_abs_diff, 1),
            exact: share(p.vs_reference.exact_share),
            vs_group: fixed(p.vs_group.mean_abs_diff, 1),
            within_band: share(p.within_band),
            flagged: p.flagged,
        })
        .collect()
}

async fn show_view(
    app: &AppState,
    ctx: &PageCtx,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let tr = ctx.tr;
    let Loaded {
        session: s,
        version,
    } = session::get_with_form(&app.db, &ctx.user, id).await?;
    let results = if s.results_visible {
        Some(session::results(&app.db, &ctx.user, id).await?)
    } else {
        None
    };
    let notes = session::references(&app.db, id).await?;
    let raters: Vec<String> = results
        .as_ref()
        .map(|r| r.participants.iter().map(|p| p.name.clone()).collect())
        .unwrap_or_default();
    let mut blocks = Vec::new();
    if let Some(r) = &results {
        for c in &s.contacts {
            let channel = Channel::parse(&c.channel).unwrap_or(Channel::Phone);
            let mut rows = Vec::new();
            for crit in version.form.criteria().filter(|k| k.applies_to(channel)) {
                let key = crit.spec.key.clone();
                let cell = r
                    .cells
                    .iter()
                    .find(|x| x.contact_id == c.contact_id && x.criterion == key);
                let answers = r
                    .participants
                    .iter()
                    .map(|p| {
                        cell.and_then(|x| x.answers.iter().find(|a| a.person_id == p.person_id))
                            .map(|a| answer_label(tr, &a.value))
                            .unwrap_or_else(|| "–".into())
                    })
                    .collect();
                let (reference, note) = notes
                    .get(&(c.contact_id, key.clone()))
                    .cloned()
                    .unwrap_or_default();
                let mut opts: Vec<(String, String, bool)> =
                    options(tr, crit.scale, Some(&reference))
                        .into_iter()
                        .map(|o| (o.value, o.label, o.selected))
                        .collect();
                if crit.spec.na_allowed {
                    let na = crate::quality::scale::NOT_APPLICABLE;
                    opts.push((na.into(), tr.t("quality.not_applicable"), reference == na));
                }
                rows.push(CellRow {
                    name: crit.spec.name.clone(),
                    answers,
                    unanimous: cell.is_some_and(|x| x.unanimous),
                    reference: if reference.is_empty() {
                        String::new()
                    } else {
                        answer_label(tr, &reference)
                    },
                    note,
                    options: opts,
                    key,
                });
            }
            blocks.push(ContactBlock {
                contact_id: c.contact_id,
                external_id: c.external_id.clone(),
                rows,
            });
        }
    }
    let contact_rows = s
        .contacts
        .iter()
        .map(|c| {
            let handed = s
                .mine
                .iter()
                .any(|m| m.contact_id == c.contact_id && m.submitted_at.is_some());
            (c.clone(), handed)
        })
        .collect();
    ctx.render_status(
        status,
        &s.title.clone(),
        ShowTemplate {
            tr,
            ctx,
            contact_rows,
            visible: results.is_some(),
            agreement: results
                .as_ref()
                .map(|r| agreement_rows(tr, r, &s.focus))
                .unwrap_or_default(),
            deviation: results.as_ref().map(deviation_rows).unwrap_or_default(),
            tolerance: format!("{:.0}", super::results::TOLERANCE),
            form_name: format!("{} · v{}", version.name, version.version),
            focus: s
                .focus
                .iter()
                .map(|k| {
                    version
                        .form
                        .criterion(k)
                        .map_or_else(|| k.clone(), |c| c.spec.name.clone())
                })
                .collect::<Vec<_>>()
                .join(", "),
            facilitator: s.facilitator_id == ctx.user.person_id,
            participant: s
                .participants
                .iter()
                .any(|p| p.person_id == ctx.user.person_id),
            s,
            raters,
            blocks,
            error,
        },
    )
}

async fn session_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    show_view(&app, &ctx, id, StatusCode::OK, None).await
}

async fn reveal(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    session::reveal(&app.db, &ctx.user, &actor_of(&ctx.user, &meta), id).await?;
    Ok(see_other(format!("/calibration/{id}")))
}

/// The facilitator records one contact's reference answers: `ref:<criterion>` and
/// `note:<criterion>`.
async fn references(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let contact: i64 = id_field(&fields, "contact_id")?;
    let actor = actor_of(&ctx.user, &meta);
    let given: BTreeMap<&str, &str> = fields
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("ref:").map(|c| (c, v.as_str())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    for (criterion, raw) in given {
        let input = ReferenceInput {
            contact_id: contact,
            criterion: criterion.to_owned(),
            value: AnswerValue::from_stored(raw),
            note: field(&fields, &format!("note:{criterion}"))
                .unwrap_or_default()
                .to_owned(),
        };
        if let Err(e) = session::set_reference(&app.db, &ctx.user, &actor, id, &input).await {
            let msg = form_error(ctx.tr, e)?;
            return show_view(&app, &ctx, id, StatusCode::UNPROCESSABLE_ENTITY, Some(msg)).await;
        }
    }
    Ok(see_other(format!("/calibration/{id}#contact-{contact}")))
}

#[derive(Template)]
#[template(path = "calibration/score.html")]
struct ScoreTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    s: Session,
    v: ContactView,
    sections: Vec<SectionView>,
    handed_in: bool,
    next: Option<i64>,
    error: Option<String>,
}

async fn score_view(
    app: &AppState,
    ctx: &PageCtx,
    meta: &RequestMeta,
    (id, contact): (i64, i64),
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let tr = ctx.tr;
    let Loaded {
        session: s,
        version,
    } = session::get_with_form(&app.db, &ctx.user, id).await?;
    let position = s
        .contacts
        .iter()
        .position(|c| c.contact_id == contact)
        .ok_or(AppError::NotFound)?;
    if !s
        .participants
        .iter()
        .any(|p| p.person_id == ctx.user.person_id)
    {
        return Err(AppError::NotFound);
    }
    let detail = crate::contacts::store::find(&app.db, contact)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = view_contact(app, &ctx.user, meta, detail).await?;
    let mine = s.mine.iter().find(|m| m.contact_id == contact);
    let channel = Channel::parse(&v.c.channel).ok();
    let mut sections = sections(tr, &version.form, channel);
    for c in sections.iter_mut().flat_map(|x| x.criteria.iter_mut()) {
        let given = mine.and_then(|m| m.answers.iter().find(|a| a.criterion == c.key));
        if let (Some(a), Some(crit)) = (given, version.form.criterion(&c.key)) {
            let value = a.value.to_string();
            c.options = options(tr, crit.scale, Some(&value));
            c.na_selected = a.value.is_not_applicable();
            c.comment = a.comment.clone();
        }
    }
    let handed_in = mine.is_some_and(|m| m.submitted_at.is_some()) || s.revealed_at.is_some();
    let next = s.contacts.get(position + 1).map(|c| c.contact_id);
    ctx.render_status(
        status,
        &s.title.clone(),
        ScoreTemplate {
            tr,
            ctx,
            s,
            v,
            sections,
            handed_in,
            next,
            error,
        },
    )
}

async fn score_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    Path((id, contact)): Path<(i64, i64)>,
) -> AppResult<Response> {
    score_view(&app, &ctx, &meta, (id, contact), StatusCode::OK, None).await
}

async fn score(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    Path((id, contact)): Path<(i64, i64)>,
    FormBody(fields): FormBody<Fields>,
) -> AppResult<Response> {
    let Loaded { version, session } = session::get_with_form(&app.db, &ctx.user, id).await?;
    let input = ScoreInput {
        contact_id: contact,
        answers: answers_of(&version.form, &fields),
        submit: field(&fields, "action") == Some("submit"),
    };
    // Saved first, so answers given stay on the page when handing in is refused.
    let actor = actor_of(&ctx.user, &meta);
    let draft = ScoreInput {
        submit: false,
        ..input.clone()
    };
    let mut result = session::score(&app.db, &ctx.user, &actor, id, &draft).await;
    if result.is_ok() && input.submit {
        result = session::score(&app.db, &ctx.user, &actor, id, &input).await;
    }
    match result {
        Ok(_) if input.submit => {
            let at = session
                .contacts
                .iter()
                .position(|c| c.contact_id == contact);
            let next = at.and_then(|i| session.contacts.get(i + 1));
            Ok(see_other(match next {
                Some(c) => format!("/calibration/{id}/contacts/{}", c.contact_id),
                None => format!("/calibration/{id}"),
            }))
        }
        Ok(_) => Ok(see_other(format!("/calibration/{id}/contacts/{contact}"))),
        Err(e) => {
            let msg = form_error(ctx.tr, e)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            score_view(&app, &ctx, &meta, (id, contact), status, Some(msg)).await
        }
    }
}
