//! The service dashboard, its CSV export and the KPI API.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;

use super::report::{Dimension, KpiLine, KpiQuery, KpiSettings, kpis};
use crate::api::{ApiUser, IdPath, QueryParams};
use crate::auth::Principal;
use crate::domain::{InvalidValue, ProgramId};
use crate::i18n::Tr;
use crate::programs::Program;
use crate::startup::AppState;
use crate::web::error::{AppError, AppResult, ErrorBody};
use crate::web::page::PageCtx;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/programs/{id}/service", get(service_page))
        .route("/programs/{id}/service.csv", get(service_csv))
        .route("/programs/{id}/contacts", get(super::browse::list_page))
        .route("/programs/{id}/contacts.csv", get(super::browse::list_csv))
        .route("/contacts/{id}", get(super::browse::contact_page))
        .route(
            "/programs/{id}/imports",
            get(super::upload::imports_page)
                .post(super::upload::upload_page)
                .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
}

/// The largest file the upload form takes (the API streams without a limit).
const UPLOAD_LIMIT: usize = 4 << 30;

/// Report parameters as they come in a URL; every one optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiParams {
    /// First day, `YYYY-MM-DD`, in the program's time zone (default: a week before `to`).
    pub from: Option<String>,
    /// Last day, included (default: the latest day with contacts).
    pub to: Option<String>,
    /// `interval` (15 min), `30min`, `60min`, `day` (default), `week`, `month`, `queue`, `channel`, `agent`.
    pub by: Option<String>,
    /// Only this channel: `phone`, `email`, `chat`, `social`, `bot`.
    pub channel: Option<String>,
    /// Only this queue.
    pub queue: Option<String>,
    /// Only the agents of this team (its id).
    pub team: Option<String>,
}

pub(crate) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(crate) fn date(field: &'static str, raw: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        InvalidValue::new(
            field,
            "date",
            format!("{field}: expected a date as YYYY-MM-DD, got {raw:?}"),
        )
        .into()
    })
}

/// The program and whose figures in it the person sees: everybody's (program-wide roles), or
/// their own and their team's (agents and team leads).
pub(crate) async fn program_for(
    app: &AppState,
    user: &Principal,
    id: ProgramId,
) -> AppResult<(Program, Scope)> {
    let scope = crate::people::agent_codes::figure_scope(&app.db, user, id).await?;
    let program = crate::programs::find(&app.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((program, scope))
}

/// `None`: every agent; else only these agent codes.
pub(crate) type Scope = Option<std::collections::BTreeSet<String>>;

/// Turn URL parameters into a query, filling in the defaults.
pub(crate) async fn query_of(
    app: &AppState,
    program: &Program,
    scope: &Scope,
    p: &KpiParams,
) -> AppResult<KpiQuery> {
    let (by, then) = Dimension::parse_pair(given(&p.by).unwrap_or("day"))
        .map_err(|m| AppError::Invalid(InvalidValue::new("by", "by", m)))?;
    let tz: chrono_tz::Tz = program.timezone.parse().unwrap_or(chrono_tz::UTC);
    let to = match given(&p.to) {
        Some(t) => date("to", t)?,
        None => match super::rollup::latest_bucket(&app.db, program.id).await? {
            Some(b) => chrono::DateTime::from_timestamp_millis(b)
                .map(|d| d.with_timezone(&tz).date_naive())
                .unwrap_or_default(),
            None => chrono::Utc::now().with_timezone(&tz).date_naive(),
        },
    };
    let from = match given(&p.from) {
        Some(f) => date("from", f)?,
        None => to - chrono::Duration::days(6),
    };
    if from > to {
        return Err(
            InvalidValue::new("from", "period", "from: the first day is after the last").into(),
        );
    }
    if (to - from).num_days() > 731 {
        return Err(
            InvalidValue::new("to", "period", "to: a report covers at most two years").into(),
        );
    }
    let mut q = KpiQuery::new(from, to, by);
    q.then = then;
    q.channel = given(&p.channel).map(str::to_owned);
    q.queue = given(&p.queue).map(str::to_owned);
    q.agents = scope.clone();
    if let Some(raw) = given(&p.team) {
        let bad = || {
            InvalidValue::new(
                "team",
                "id",
                format!("team: no team {raw:?} in this program"),
            )
        };
        let team: crate::domain::TeamId = raw.parse().map_err(|_| bad())?;
        let codes = crate::people::agent_codes::team_codes(&app.db, program.id, team)
            .await?
            .ok_or_else(bad)?;
        // Within one's own scope: a team filter never widens what one may see.
        q.agents = Some(match &q.agents {
            Some(mine) => mine.intersection(&codes).cloned().collect(),
            None => codes,
        });
        q.team = Some(team);
    }
    Ok(q)
}

pub(crate) async fn report(
    app: &AppState,
    program: &Program,
    q: &KpiQuery,
) -> AppResult<(Vec<KpiLine>, KpiLine)> {
    kpis(&app.db, program, q, &program.kpi)
        .await
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!(e)))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct KpiReport {
    pub program: String,
    pub from: String,
    pub to: String,
    pub by: String,
    /// One line per group, in order; rates are fractions 0–1, NPS −1..1, `null` when undefined.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<KpiLine>,
    #[schema(value_type = Object)]
    pub total: KpiLine,
}

impl KpiReport {
    /// The report as `serde_json` writes it, into a buffer of about its size (a year by agent
    /// and week is thousands of lines, and a growing buffer would be copied over and over).
    fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(1_024 + 600 * self.rows.len());
        out.extend_from_slice(b"{\"program\":");
        serde_json::to_writer(&mut out, &self.program)?;
        out.extend_from_slice(b",\"from\":");
        serde_json::to_writer(&mut out, &self.from)?;
        out.extend_from_slice(b",\"to\":");
        serde_json::to_writer(&mut out, &self.to)?;
        out.extend_from_slice(b",\"by\":");
        serde_json::to_writer(&mut out, &self.by)?;
        out.extend_from_slice(b",\"rows\":[");
        for (i, line) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            line.write_json(&mut out)?;
        }
        out.extend_from_slice(b"],\"total\":");
        self.total.write_json(&mut out)?;
        out.push(b'}');
        Ok(out)
    }
}

/// A program's service and customer KPIs for a period, grouped by time, queue, channel or agent
/// (administrators, evaluators, planners and client viewers of the program).
#[utoipa::path(get, path = "/api/v1/programs/{id}/kpis", tag = "contacts",
    params(("id" = i64, Path, description = "Program id"), KpiParams),
    responses((status = 200, body = KpiReport), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_kpis(
    State(app): State<AppState>,
    user: ApiUser,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(p): QueryParams<KpiParams>,
) -> AppResult<Response> {
    let (program, scope) = program_for(&app, &user.0, id).await?;
    let q = query_of(&app, &program, &scope, &p).await?;
    let (rows, total) = report(&app, &program, &q).await?;
    let report = KpiReport {
        program: program.code,
        from: q.from.to_string(),
        to: q.to.to_string(),
        by: given(&p.by).unwrap_or("day").to_owned(),
        rows,
        total,
    };
    let body = report
        .to_json()
        .map_err(|e| AppError::Unexpected(e.into()))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// A figure as the dashboard shows it.
pub struct Tile {
    pub label: String,
    pub value: String,
    pub note: String,
    pub status: &'static str,
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1} %", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn secs(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0} s")).unwrap_or_else(|| "–".into())
}

/// The figures of one line as the table shows them.
pub struct Row {
    pub group: String,
    /// The contacts behind the line.
    pub link: String,
    pub offered: u64,
    pub handled: u64,
    pub abandoned: u64,
    pub short: u64,
    pub sl: String,
    pub asa: String,
    pub aht: String,
    pub abandon: String,
    pub fcr: String,
    pub csat: String,
    pub nps: String,
    pub rq: String,
}

impl Row {
    fn new(l: &KpiLine, link: String) -> Self {
        Row {
            group: l.label(),
            link,
            offered: l.offered,
            handled: l.handled,
            abandoned: l.abandoned,
            short: l.short_abandoned,
            sl: pct(l.service_level),
            asa: secs(l.asa_s),
            aht: secs(l.aht_s),
            abandon: pct(l.abandon_rate),
            fcr: pct(l.fcr),
            csat: pct(l.csat),
            nps: l
                .nps
                .map(|n| format!("{:+.0}", n * 100.0))
                .unwrap_or_else(|| "–".into()),
            rq: pct(l.rq),
        }
    }
}

fn tiles(tr: Tr, t: &KpiLine, settings: &KpiSettings) -> Vec<Tile> {
    let (target, response_sla_s) = (settings.service.target, settings.service.response_sla_s);
    let sl_status = match t.service_level {
        Some(v) if v >= target => "ok",
        Some(v) if v >= target - 0.1 => "warn",
        Some(_) => "bad",
        None => "",
    };
    let target_note = tr.f(
        "service.target",
        &[("target", &format!("{:.0} %", target * 100.0))],
    );
    let mut tiles = vec![
        Tile {
            label: tr.t("kpi.offered"),
            value: t.offered.to_string(),
            note: tr.f("service.handled_n", &[("n", &t.handled.to_string())]),
            status: "",
        },
        Tile {
            label: tr.t("kpi.service_level"),
            value: pct(t.service_level),
            note: target_note,
            status: sl_status,
        },
        Tile {
            label: tr.t("kpi.asa"),
            value: secs(t.asa_s),
            note: String::new(),
            status: "",
        },
        Tile {
            label: tr.t("kpi.abandon_rate"),
            value: pct(t.abandon_rate),
            note: tr.f("service.short_n", &[("n", &t.short_abandoned.to_string())]),
            status: "",
        },
        Tile {
            label: tr.t("kpi.aht"),
            value: secs(t.aht_s),
            note: String::new(),
            status: "",
        },
        Tile {
            label: tr.t("kpi.fcr"),
            value: pct(t.fcr),
            note: String::new(),
            status: "",
        },
        Tile {
            label: tr.t("kpi.csat"),
            value: pct(t.csat),
            note: tr.f("service.surveys_n", &[("n", &t.surveys.to_string())]),
            status: "",
        },
        Tile {
            label: tr.t("kpi.nps"),
            value: t
                .nps
                .map(|n| format!("{:+.0}", n * 100.0))
                .unwrap_or_else(|| "–".into()),
            note: String::new(),
            status: "",
        },
        Tile {
            label: tr.t("kpi.rq"),
            value: pct(t.rq),
            note: String::new(),
            status: "",
        },
    ];
    // E-mail and social figures, where the program has such contacts.
    if t.first_response_s.is_some() || t.backlog.unwrap_or(0) > 0 {
        tiles.push(Tile {
            label: tr.t("kpi.first_response"),
            value: duration(t.first_response_s),
            note: tr.f(
                "service.within_sla",
                &[
                    ("pct", &pct(t.response_sla)),
                    ("sla", &duration(Some(f64::from(response_sla_s)))),
                ],
            ),
            status: "",
        });
        tiles.push(Tile {
            label: tr.t("kpi.backlog"),
            value: t.backlog.map_or_else(|| "–".into(), |n| n.to_string()),
            note: tr.t("service.backlog_note"),
            status: "",
        });
    }
    tiles
}

/// A duration for people: seconds, minutes or hours.
fn duration(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(s) if s < 120.0 => format!("{s:.0} s"),
        Some(s) if s < 7_200.0 => format!("{:.0} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / 3_600.0),
    }
}

/// An option of a select: value, label, whether chosen.
pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

const BY_CHOICES: [(&str, &str); 8] = [
    ("interval", "service.by_interval"),
    ("60min", "service.by_hour"),
    ("day", "service.by_day"),
    ("week", "service.by_week"),
    ("month", "service.by_month"),
    ("queue", "service.by_queue"),
    ("channel", "service.by_channel"),
    ("agent", "service.by_agent"),
];

const CHANNEL_CHOICES: [(&str, &str); 6] = [
    ("", "service.all_channels"),
    ("phone", "channel.phone"),
    ("chat", "channel.chat"),
    ("email", "channel.email"),
    ("social", "channel.social"),
    ("bot", "channel.bot"),
];

fn choices(tr: Tr, options: &[(&'static str, &'static str)], chosen: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, key)| Choice {
            value,
            label: tr.t(key),
            selected: *value == chosen,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "contacts/service.html")]
struct ServiceTemplate<'a> {
    tr: Tr,
    program: &'a Program,
    q: &'a KpiQuery,
    by_choices: Vec<Choice>,
    channel_choices: Vec<Choice>,
    queue: &'a str,
    /// The teams one may filter by: id, name, chosen.
    teams: Vec<(i64, String, bool)>,
    tiles: Vec<Tile>,
    rows: Vec<Row>,
    total: Row,
    chart: String,
    csv: String,
}

/// Offered contacts and service level per group, for the chart.
fn chart_json(lines: &[KpiLine]) -> String {
    let pct = |v: Option<f64>| v.map(|v| (v * 1000.0).round() / 10.0);
    let labels: Vec<&str> = lines.iter().map(|l| l.group.as_str()).collect();
    let offered: Vec<u64> = lines.iter().map(|l| l.offered).collect();
    let series =
        |f: fn(&KpiLine) -> Option<f64>| lines.iter().map(|l| pct(f(l))).collect::<Vec<_>>();
    crate::web::page::script_json(&serde_json::json!({
        "labels": labels,
        "offered": offered,
        "sl": series(|l| l.service_level),
        "csat": series(|l| l.csat),
        "rq": series(|l| l.rq),
        "fcr": series(|l| l.fcr),
        "nps": series(|l| l.nps),
    }))
}

async fn service_page(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(p): QueryParams<KpiParams>,
) -> AppResult<Response> {
    let (program, scope) = program_for(&app, &ctx.user, id).await?;
    let q = query_of(&app, &program, &scope, &p).await?;
    let (lines, total) = report(&app, &program, &q).await?;
    let settings = program.kpi;
    let csv = serde_urlencoded::to_string([
        ("from", q.from.to_string()),
        ("to", q.to.to_string()),
        ("by", given(&p.by).unwrap_or("day").to_owned()),
        ("channel", q.channel.clone().unwrap_or_default()),
        ("queue", q.queue.clone().unwrap_or_default()),
        ("team", q.team.map(|t| t.to_string()).unwrap_or_default()),
    ])
    .unwrap_or_default();
    let teams = crate::programs::teams_visible(&app.db, &ctx.user, program.id)
        .await?
        .into_iter()
        .map(|t| (t.id.0, t.name, Some(t.id) == q.team))
        .collect();
    let title = format!("{} · {}", ctx.tr.t("service.title"), program.name);
    ctx.render(
        &title,
        ServiceTemplate {
            tr: ctx.tr,
            program: &program,
            q: &q,
            by_choices: choices(ctx.tr, &BY_CHOICES, given(&p.by).unwrap_or("day")),
            channel_choices: choices(ctx.tr, &CHANNEL_CHOICES, q.channel.as_deref().unwrap_or("")),
            queue: q.queue.as_deref().unwrap_or(""),
            teams,
            tiles: tiles(ctx.tr, &total, &settings),
            chart: chart_json(&lines),
            rows: lines
                .iter()
                .map(|l| Row::new(l, drill_link(&program, &q, Some(&l.group))))
                .collect(),
            total: Row::new(&total, drill_link(&program, &q, None)),
            csv,
        },
    )
}

async fn service_csv(
    State(app): State<AppState>,
    ctx: PageCtx,
    IdPath(id): IdPath<ProgramId>,
    QueryParams(p): QueryParams<KpiParams>,
) -> AppResult<Response> {
    let (program, scope) = program_for(&app, &ctx.user, id).await?;
    let q = query_of(&app, &program, &scope, &p).await?;
    let (lines, total) = report(&app, &program, &q).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    for l in lines.iter().chain(std::iter::once(&total)) {
        w.serialize(l).map_err(|e| AppError::Unexpected(e.into()))?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("{e}")))?;
    let name = format!(
        "attachment; filename=\"{}-{}-{}.csv\"",
        program.code, q.from, q.to
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

/// The contact list behind a line of the report: the report's period and filters, narrowed to
/// the line's group.
fn drill_link(program: &Program, q: &KpiQuery, group: Option<&str>) -> String {
    use crate::kpi::Bucket;
    let mut params: Vec<(&str, String)> =
        vec![("from", q.from.to_string()), ("to", q.to.to_string())];
    let mut filters = vec![
        ("channel", q.channel.clone()),
        ("queue", q.queue.clone()),
        ("agent", q.agent.clone()),
        ("team", q.team.map(|t| t.to_string())),
    ];
    if let Some(g) = group {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        match q.by {
            Dimension::Queue => filters[1].1 = Some(g.to_owned()),
            Dimension::Channel => filters[0].1 = Some(g.to_owned()),
            Dimension::Agent => filters[2].1 = Some(g.to_owned()),
            Dimension::Time(Bucket::Day) => {
                params = vec![("from", g.to_owned()), ("to", g.to_owned())]
            }
            Dimension::Time(Bucket::Week) => {
                if let Some(d) = day(g) {
                    params = vec![
                        ("from", g.to_owned()),
                        ("to", (d + chrono::Duration::days(6)).to_string()),
                    ];
                }
            }
            Dimension::Time(Bucket::Month) => {
                if let Some(d) = day(&format!("{g}-01")) {
                    let next = d.checked_add_months(chrono::Months::new(1)).unwrap_or(d);
                    params = vec![
                        ("from", d.to_string()),
                        ("to", (next - chrono::Duration::days(1)).to_string()),
                    ];
                }
            }
            Dimension::Time(b) => {
                let minutes = match b {
                    Bucket::Min30 => 30,
                    Bucket::Min60 => 60,
                    _ => 15,
                };
                if let Ok(start) = chrono::NaiveDateTime::parse_from_str(g, "%Y-%m-%d %H:%M") {
                    let end = start + chrono::Duration::minutes(minutes);
                    params.push(("start", start.format("%Y-%m-%d %H:%M").to_string()));
                    params.push(("end", end.format("%Y-%m-%d %H:%M").to_string()));
                }
            }
        }
    }
    params.extend(filters.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    format!(
        "/programs/{}/contacts?{}",
        program.id,
        serde_urlencoded::to_string(params).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn february() -> KpiLine {
        KpiLine {
            group: "1999-02".into(),
            subgroup: None,
            offered: 30_906,
            handled: 27_162,
            abandoned: 3_744,
            short_abandoned: 2_160,
            service_level: Some(0.524_461_269_656_377_4),
            asa_s: Some(40.774_317_060_599_365),
            aht_s: Some(176.352_993_152_197_9),
            abandon_rate: Some(0.121_141_525_917_297_61),
            longest_wait_s: Some(908),
            transfers: 0,
            first_response_s: None,
            response_sla: None,
            fcr: Some(0.396_503_198_294_243_1),
            backlog: None,
            surveys: 7,
            response_rate: None,
            csat: Some(3.0 / 5.0),
            nps: Some(1.0 / 7.0),
            rq: None,
        }
    }

    /// The report's JSON is what `serde_json` writes for it, whatever the lines hold.
    #[test]
    fn report_json_is_serde_json() {
        let line = february();
        let other = KpiLine {
            group: "agent \"7\" \\ ü".into(),
            subgroup: Some("2025-W02".into()),
            service_level: None,
            longest_wait_s: None,
            first_response_s: Some(1e-7),
            backlog: Some(3),
            response_rate: Some(f64::NAN),
            nps: Some(-0.25),
            rq: Some(1.0),
            ..line.clone()
        };
        for rows in [
            vec![],
            vec![line.clone()],
            vec![line.clone(), other.clone()],
        ] {
            let report = KpiReport {
                program: "P\u{1}".into(),
                from: "2025-01-01".into(),
                to: "2025-12-31".into(),
                by: "agent,week".into(),
                rows,
                total: other.clone(),
            };
            let expected = serde_json::to_vec(&report).unwrap();
            assert_eq!(
                String::from_utf8(report.to_json().unwrap()).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }

    /// What the dashboard shows for computed figures, rounded for display only.
    #[test]
    fn figures_are_shown_rounded() {
        let line = february();
        let r = Row::new(&line, String::new());
        assert_eq!(
            (
                r.sl.as_str(),
                r.asa.as_str(),
                r.aht.as_str(),
                r.abandon.as_str(),
                r.fcr.as_str()
            ),
            ("52.4 %", "41 s", "176 s", "12.1 %", "39.7 %")
        );
        assert_eq!(
            (r.csat.as_str(), r.nps.as_str(), r.rq.as_str()),
            ("60.0 %", "+14", "–")
        );
        let t = tiles(Tr::default(), &line, &KpiSettings::default());
        assert_eq!(t.len(), 9, "no e-mail figures without e-mail contacts");
        let mail = KpiLine {
            first_response_s: Some(9_000.0),
            response_sla: Some(0.75),
            backlog: Some(12),
            ..line.clone()
        };
        let m = tiles(Tr::default(), &mail, &KpiSettings::default());
        assert_eq!(
            (m[9].value.as_str(), m[9].note.as_str()),
            ("2.5 h", "75.0 % within the SLA of 24.0 h")
        );
        assert_eq!(m[10].value, "12");
        assert_eq!(
            (duration(Some(90.0)), duration(Some(1_800.0))),
            ("90 s".into(), "30 min".into())
        );
        assert_eq!(
            t[1].status, "bad",
            "52.4 % is more than 10 points under the 80 % target"
        );
        assert_eq!(t[1].note, "target 80 %");
    }
}
