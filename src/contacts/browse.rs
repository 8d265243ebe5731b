//! Contact lists (the drill-down behind every figure) and the contact page. Opening a contact
//! with a transcript or thread is written to the audit log.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::Deserialize;

use super::Turn;
use super::mapping::local_to_utc;
use super::report::period;
use super::routes::{KpiParams, Scope, program_for, query_of};
use super::store::{self, ContactDetail, ContactFilter, ContactSummary};
use crate::api::IdPath;
use crate::audit::{self, Event};
use crate::auth::middleware::actor_of;
use crate::domain::{InvalidValue, ProgramId};
use crate::i18n::Tr;
use crate::programs::Program;
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult};
use crate::web::extract::QueryParams;
use crate::web::page::PageCtx;
use crate::web::request::RequestMeta;

const PAGE: i64 = 50;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    from: Option<String>,
    to: Option<String>,
    /// A narrower window in local time, `YYYY-MM-DD HH:MM` (an interval's drill-down).
    start: Option<String>,
    end: Option<String>,
    channel: Option<String>,
    queue: Option<String>,
    agent: Option<String>,
    team: Option<String>,
    page: Option<i64>,
}

fn given(v: &Option<String>) -> Option<String> {
    super::routes::given(v).map(str::to_owned)
}

fn local(field: &'static str, raw: &str, tz: Tz) -> Result<i64, AppError> {
    NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%d %H:%M")
        .map_err(|_| format!("{field}: expected YYYY-MM-DD HH:MM, got {raw:?}"))
        .and_then(|t| local_to_utc(tz, t))
        .map_err(|m| InvalidValue::new(field, "date", m).into())
}

/// The filter a list's parameters describe, and its period for the form.
async fn filter_of(
    app: &AppState,
    program: &Program,
    scope: &Scope,
    p: &ListParams,
) -> AppResult<(ContactFilter, NaiveDate, NaiveDate)> {
    let kp = KpiParams {
        from: p.from.clone(),
        to: p.to.clone(),
        team: p.team.clone(),
        ..KpiParams::default()
    };
    let q = query_of(app, program, scope, &kp).await?;
    let tz: Tz = program.timezone.parse().unwrap_or(chrono_tz::UTC);
    let (mut start, mut end) = period(tz, q.from, q.to).map_err(AppError::BadRequest)?;
    if let (Some(s), Some(e)) = (given(&p.start), given(&p.end)) {
        start = local("start", &s, tz)?;
        end = local("end", &e, tz)?;
    }
    let f = ContactFilter {
        start,
        end,
        channel: given(&p.channel),
        queue: given(&p.queue),
        agent: given(&p.agent),
        agents: q.agents,
    };
    Ok((f, q.from, q.to))
}

/// A contact as a list row shows it, in the program's time.
pub struct ListRow {
    pub c: ContactSummary,
    pub at: String,
}

fn local_time(ms: i64, tz: Tz) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "contacts/list.html")]
struct ListTemplate<'a> {
    tr: Tr,
    program: &'a Program,
    rows: Vec<ListRow>,
    total: i64,
    from: NaiveDate,
    to: NaiveDate,
    /// Filters kept when the period changes.
    hidden: Vec<(&'static str, String)>,
    csv: String,
    prev: Option<String>,
    next: Option<String>,
    describe: String,
}

fn describe(tr: Tr, f: &ContactFilter, p: &ListParams) -> String {
    let mut parts = Vec::new();
    if let (Some(s), Some(e)) = (given(&p.start), given(&p.end)) {
        parts.push(format!("{s} – {e}"));
    }
    for (key, v) in [
        ("service.channel", &f.channel),
        ("service.queue", &f.queue),
        ("kpi.agent", &f.agent),
    ] {
        if let Some(v) = v {
            parts.push(format!("{}: {v}", tr.t(key)));
        }
    }
    parts.join(" · ")
}

pub async fn list_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(p): QueryParams<ListParams>,
) -> AppResult<Response> {
    let (program, scope) = program_for(&app, &ctx.user, id).await?;
    let (f, from, to) = filter_of(&app, &program, &scope, &p).await?;
    let page = p.page.unwrap_or(0).max(0);
    let tz: Tz = program.timezone.parse().unwrap_or(chrono_tz::UTC);
    let total = store::count_matching(&app.db, program.id, &f).await?;
    let rows = store::list(&app.db, program.id, &f, PAGE, page * PAGE)
        .await?
        .into_iter()
        .map(|c| ListRow {
            at: local_time(c.arrived_at, tz),
            c,
        })
        .collect();
    let mut base: Vec<(&str, String)> = vec![("from", from.to_string()), ("to", to.to_string())];
    for (k, v) in [
        ("start", given(&p.start)),
        ("end", given(&p.end)),
        ("channel", f.channel.clone()),
        ("queue", f.queue.clone()),
        ("agent", f.agent.clone()),
        ("team", given(&p.team)),
    ] {
        if let Some(v) = v {
            base.push((k, v));
        }
    }
    let with_page = |n: i64| {
        let mut q = base.clone();
        q.push(("page", n.to_string()));
        format!(
            "/programs/{}/contacts?{}",
            program.id,
            serde_urlencoded::to_string(q).unwrap_or_default()
        )
    };
    let filters = serde_urlencoded::to_string(&base).unwrap_or_default();
    let title = format!("{} · {}", ctx.tr.t("contacts.title"), program.name);
    ctx.render(
        &title,
        ListTemplate {
            tr: ctx.tr,
            program: &program,
            rows,
            total,
            from,
            to,
            csv: filters,
            hidden: base
                .iter()
                .filter(|(k, _)| !["from", "to", "start", "end"].contains(k))
                .cloned()
                .collect(),
            prev: (page > 0).then(|| with_page(page - 1)),
            next: ((page + 1) * PAGE < total).then(|| with_page(page + 1)),
            describe: describe(ctx.tr, &f, &p),
        },
    )
}

pub async fn list_csv(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(p): QueryParams<ListParams>,
) -> AppResult<Response> {
    let (program, scope) = program_for(&app, &ctx.user, id).await?;
    let (f, from, to) = filter_of(&app, &program, &scope, &p).await?;
    let tz: Tz = program.timezone.parse().unwrap_or(chrono_tz::UTC);
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::Unexpected(e.into());
    w.write_record([
        "external_id",
        "channel",
        "queue",
        "agent",
        "arrived_local",
        "wait_s",
        "talk_s",
        "outcome",
        "reason",
    ])
    .map_err(fail)?;
    let mut offset = 0;
    loop {
        let batch = store::list(&app.db, program.id, &f, 5_000, offset).await?;
        for c in &batch {
            w.write_record([
                c.external_id.clone(),
                c.channel.clone(),
                c.queue.clone(),
                c.agent.clone(),
                local_time(c.arrived_at, tz),
                c.wait_s.to_string(),
                c.talk_s.to_string(),
                c.outcome.clone(),
                c.reason.clone().unwrap_or_default(),
            ])
            .map_err(fail)?;
        }
        if batch.len() < 5_000 {
            break;
        }
        offset += 5_000;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("{e}")))?;
    let name = format!(
        "attachment; filename=\"{}-contacts-{from}-{to}.csv\"",
        program.code
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    )
        .into_response())
}

/// A contact as its pages show it: the record, its times in the program's zone, its transcript
/// or thread and its attributes.
pub struct ContactView {
    pub program: Program,
    pub c: ContactDetail,
    pub arrived: String,
    pub answered: String,
    pub ended: String,
    pub turns: Vec<Turn>,
    pub attributes: Vec<(String, String)>,
}

/// Opens a contact for a person: not found outside their scope (agents and team leads see only
/// their own and their team's contacts), and every opening is written to the audit log.
pub async fn open_contact(
    app: &AppState,
    user: &crate::auth::Principal,
    meta: &RequestMeta,
    id: i64,
) -> AppResult<ContactView> {
    let c = store::find(&app.db, id).await?.ok_or(AppError::NotFound)?;
    let scope = crate::people::agent_codes::figure_scope(&app.db, user, c.program_id).await?;
    if scope
        .as_ref()
        .is_some_and(|codes| !codes.contains(&c.agent))
    {
        return Err(AppError::NotFound);
    }
    view_contact(app, user, meta, c).await
}

/// A contact's view for a person already allowed to see it (its scope checked, or a
/// calibration session that shows it to its participants); the opening is written to the
/// audit log.
pub async fn view_contact(
    app: &AppState,
    user: &crate::auth::Principal,
    meta: &RequestMeta,
    c: store::ContactDetail,
) -> AppResult<ContactView> {
    let program = crate::programs::find(&app.db, c.program_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let turns: Vec<Turn> = c
        .transcript
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    // Every view of a transcript or thread is on record.
    let what = if turns.is_empty() {
        "contact.viewed"
    } else {
        "transcript.viewed"
    };
    audit::record_alone(
        &app.db,
        &actor_of(user, meta),
        Event::new(what)
            .object("contact", c.id)
            .program(c.program_id)
            .detail(c.external_id.clone()),
    )
    .await?;
    let tz: Tz = program.timezone.parse().unwrap_or(chrono_tz::UTC);
    let attributes: Vec<(String, String)> = c
        .attributes
        .as_deref()
        .and_then(|a| serde_json::from_str::<std::collections::BTreeMap<String, String>>(a).ok())
        .map(|m| m.into_iter().collect())
        .unwrap_or_default();
    let at = |t: Option<i64>| t.map(|t| local_time(t, tz)).unwrap_or_else(|| "–".into());
    Ok(ContactView {
        arrived: local_time(c.arrived_at, tz),
        answered: at(c.answered_at),
        ended: at(c.ended_at),
        program,
        turns,
        attributes,
        c,
    })
}

#[derive(Template)]
#[template(path = "contacts/show.html")]
struct ShowTemplate<'a> {
    tr: Tr,
    ctx: &'a PageCtx,
    v: ContactView,
    evaluations: crate::quality::pages::ContactEvaluations,
}

pub async fn contact_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    Extension(meta): Extension<RequestMeta>,
    IdPath(id): IdPath<i64>,
) -> AppResult<Response> {
    let v = open_contact(&app, &ctx.user, &meta, id).await?;
    let evaluations = crate::quality::pages::contact_evaluations(&app.db, &ctx.user, &v.c).await?;
    let title = format!("{} {}", ctx.tr.t("contacts.contact"), v.c.external_id);
    ctx.render(
        &title,
        ShowTemplate {
            tr: ctx.tr,
            ctx: &ctx,
            v,
            evaluations,
        },
    )
}
