//! Quality reports from the rollups: IQS (the mean evaluation score) and the evaluated RQ with
//! 95 % intervals, pass rate, critical failures, dispute rate and outcomes — over time, by agent
//! or team — and every criterion's and principle's share. Formulas in docs/quality.md.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::catalogue::{self, Catalogue};
use super::evaluations::has_program_grant;
use super::forms;
use super::rollup::{CriterionSums, Sums};
use crate::auth::{Capability, Principal};
use crate::contacts::calendar::{date_of, day_number, month_of, week_of};
use crate::contacts::report::cover;
use crate::contacts::rollup::Grain;
use crate::contacts::routes::{date, given};
use crate::domain::{InvalidValue, ProgramId, Role};
use crate::on_db;
use crate::programs::Program;
use crate::stats::interval::{self, Estimate};
use crate::store::Db;
use crate::web::error::{AppError, AppResult};

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Day,
    Week,
    Month,
    Agent,
    Team,
}

impl GroupBy {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "day" => GroupBy::Day,
            "week" => GroupBy::Week,
            "month" => GroupBy::Month,
            "agent" => GroupBy::Agent,
            "team" => GroupBy::Team,
            _ => return None,
        })
    }

    /// Whether the groups are people rather than periods.
    fn is_people(self) -> bool {
        matches!(self, GroupBy::Agent | GroupBy::Team)
    }

    /// The longest rollup period that never straddles two groups (`None`: days only).
    fn grain(self) -> Option<Grain> {
        match self {
            GroupBy::Day => None,
            GroupBy::Week => Some(Grain::Week),
            GroupBy::Month | GroupBy::Agent | GroupBy::Team => Some(Grain::Month),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualityParams {
    /// First day, `YYYY-MM-DD`, by the day evaluations were submitted in the program's time zone
    /// (default: 90 days before `to`).
    pub from: Option<String>,
    /// Last day, included (default: today).
    pub to: Option<String>,
    /// `day`, `week`, `month` (default), `agent` or `team`.
    pub by: Option<String>,
    /// The margin of error, in score points, the suggested sample size aims at (default 5).
    pub margin: Option<f64>,
}

/// One group's quality figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QualityLine {
    pub group: String,
    /// Submitted evaluations (self-evaluations not included).
    pub evaluations: i64,
    /// IQS: the mean score, 0–100, with its 95 % t interval (kept within 0–100).
    pub iqs: Option<Estimate>,
    /// Passed ÷ scored evaluations, 0–1, with its Wilson interval.
    pub pass_rate: Option<Estimate>,
    pub critical_failures: i64,
    /// Evaluated RQ: "yes" ÷ answers to the relationship question, 0–1, with its Wilson interval.
    pub rq: Option<Estimate>,
    pub rq_answered: i64,
    /// Disputed ÷ evaluations, 0–1.
    pub dispute_rate: Option<f64>,
    pub disputed: i64,
    pub upheld: i64,
    pub partly_upheld: i64,
    pub rejected: i64,
    /// Evaluations a period needs for the IQS within ± the report's margin at 95 %: from the
    /// group's own standard deviation once it has 5 scored evaluations, else the whole report's.
    pub suggested_evaluations: Option<u64>,
}

/// A criterion's answers, by its key across form versions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CriterionLine {
    pub criterion: String,
    pub name: String,
    pub principle: String,
    pub answers: i64,
    pub not_applicable: i64,
    /// The mean share of the points its answers earned, 0–100, with its 95 % t interval.
    pub mean: Option<Estimate>,
}

/// A principle's share: the weight its criteria earned over their weight, 0–100.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrincipleLine {
    pub principle: String,
    pub name: String,
    pub answers: i64,
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QualityReport {
    pub program_id: ProgramId,
    pub from: String,
    pub to: String,
    pub by: GroupBy,
    pub lines: Vec<QualityLine>,
    pub total: QualityLine,
    pub criteria: Vec<CriterionLine>,
    pub principles: Vec<PrincipleLine>,
    pub margin: f64,
    /// Evaluations an agent needs in a period for their IQS to be known within ±`margin` points
    /// (95 %), from the spread of the scores in this report.
    pub suggested_evaluations: Option<u64>,
}

/// A mean score's interval within the scale's 0–100.
fn on_scale(e: Option<Estimate>) -> Option<Estimate> {
    e.map(|e| Estimate {
        value: e.value,
        low: e.low.max(0.0),
        high: e.high.min(100.0),
    })
}

/// Scored evaluations from which a group's own standard deviation sizes its sample.
const OWN_SD_FROM: i64 = 5;

/// The sample standard deviation of the scores summed in `s` (two scored evaluations on).
fn score_sd(s: &Sums) -> Option<f64> {
    (s.scored > 1).then(|| {
        let n = s.scored as f64;
        let mean = s.score_sum / n;
        ((s.score_sq_sum - n * mean * mean) / (n - 1.0))
            .max(0.0)
            .sqrt()
    })
}

fn line(group: String, s: &Sums, margin: f64, pooled_sd: Option<f64>) -> QualityLine {
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    let sd = if s.scored >= OWN_SD_FROM {
        score_sd(s)
    } else {
        pooled_sd
    };
    QualityLine {
        group,
        evaluations: s.evaluations,
        iqs: on_scale(interval::mean(u(s.scored), s.score_sum, s.score_sq_sum)),
        pass_rate: interval::share(u(s.passed), u(s.scored)),
        critical_failures: s.failed,
        rq: interval::share(u(s.rq_yes), u(s.rq_answered)),
        rq_answered: s.rq_answered,
        dispute_rate: (s.evaluations > 0).then(|| s.disputed as f64 / s.evaluations as f64),
        disputed: s.disputed,
        upheld: s.upheld,
        partly_upheld: s.partly_upheld,
        rejected: s.rejected,
        suggested_evaluations: sd.and_then(|sd| interval::sample_size(sd, margin)),
    }
}

/// How finely a report shows people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The program or a period as a whole.
    Whole,
    /// Figures per agent or team.
    People,
    /// Single evaluations, with their comments: never for planners and client viewers.
    Evaluations,
}

impl From<GroupBy> for Detail {
    fn from(by: GroupBy) -> Self {
        if by.is_people() {
            Detail::People
        } else {
            Detail::Whole
        }
    }
}

/// Whose evaluations a person's report covers: `None` for all.
pub(crate) async fn codes_in_reach(
    db: &Db,
    user: &Principal,
    program: ProgramId,
    by: Detail,
) -> AppResult<Option<BTreeSet<String>>> {
    user.check(Capability::ViewProgram(program))?;
    let wide = user.is_admin() || has_program_grant(user, program, Role::Evaluator);
    if wide {
        return Ok(None);
    }
    let scope = crate::people::agent_codes::figure_scope(db, user, program).await?;
    match scope {
        Some(codes) => Ok(Some(codes)),
        None if by != Detail::Whole
            && (by == Detail::Evaluations || !client_sees_agents(db, user, program).await?) =>
        {
            // Planners and client viewers: the program's quality as a whole, not per person,
            // unless the program lets its client viewers see its agents.
            Err(AppError::Forbidden)
        }
        None => Ok(None),
    }
}

/// Whether the person views the program as a client and the program shows its client viewers
/// quality per agent and team.
async fn client_sees_agents(db: &Db, user: &Principal, program: ProgramId) -> AppResult<bool> {
    Ok(has_program_grant(user, program, Role::ClientViewer)
        && crate::programs::find(db, program)
            .await?
            .is_some_and(|p| p.client_agent_detail))
}

/// The team of each agent code of a program, by name.
async fn teams_of_codes(
    db: &Db,
    program: ProgramId,
) -> Result<BTreeMap<String, String>, sqlx::Error> {
    const SQL: &str = "SELECT a.code, t.name FROM agent_codes a \
        JOIN grants g ON g.person_id = a.person_id AND g.role = 'agent' \
        JOIN teams t ON t.id = g.team_id AND t.program_id = a.program_id \
        WHERE a.program_id = $1 ORDER BY a.code, t.name";
    let rows: Vec<(String, String)> =
        on_db!(db, p => sqlx::query_as(SQL).bind(program).fetch_all(p).await)?;
    let mut out = BTreeMap::new();
    for (code, team) in rows {
        out.entry(code).or_insert(team);
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct RollupRow {
    day: i64,
    agent_code: String,
    #[sqlx(flatten)]
    sums: Sums,
}

#[derive(sqlx::FromRow)]
struct CriterionRow {
    criterion_key: String,
    principle: String,
    #[sqlx(flatten)]
    sums: CriterionSums,
}

/// The names criteria had in the program's newest form versions.
pub(crate) async fn criterion_names(
    db: &Db,
    program: ProgramId,
) -> AppResult<BTreeMap<String, String>> {
    let mut names = BTreeMap::new();
    for f in forms::list(db, program).await? {
        for v in &f.versions {
            if let Some(version) = forms::version(db, v.id).await? {
                for c in version.form.criteria() {
                    names
                        .entry(c.spec.key.clone())
                        .or_insert_with(|| c.spec.name.clone());
                }
            }
        }
    }
    Ok(names)
}

/// The report's days, in the program's time zone: `from` to `to`, both included.
pub fn period(program: &Program, p: &QualityParams) -> AppResult<(NaiveDate, NaiveDate)> {
    let tz = program.zone();
    let to = match given(&p.to) {
        Some(t) => date("to", t)?,
        None => chrono::Utc::now().with_timezone(&tz).date_naive(),
    };
    let from = match given(&p.from) {
        Some(f) => date("from", f)?,
        None => to - chrono::Duration::days(89),
    };
    if from > to {
        return Err(
            InvalidValue::new("from", "period", "from: the first day is after the last").into(),
        );
    }
    Ok((from, to))
}

/// The rows of a rollup table that cover the days `first..=last` within reach (`only`): whole
/// months or weeks of `grain` where they fit, days at the edges (every day without one). One
/// index range per part, as SQL of integers only.
fn covering(table: &str, first: i64, last: i64, grain: Option<Grain>, only: &str) -> String {
    let reads = match grain {
        Some(g) => cover(first, last, g),
        None => vec![(Grain::Day, first, last)],
    };
    reads
        .iter()
        .map(|(g, lo, hi)| {
            format!(
                "SELECT * FROM {table} WHERE program_id = $1 AND grain = '{}' \
                 AND day >= {lo} AND day <= {hi}{only}",
                g.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// A program's quality report for a person, within their reach.
pub async fn report(
    db: &Db,
    user: &Principal,
    program: &Program,
    p: &QualityParams,
) -> AppResult<QualityReport> {
    let by = match given(&p.by) {
        None => GroupBy::Month,
        Some(b) => GroupBy::parse(b).ok_or_else(|| {
            InvalidValue::new(
                "by",
                "by",
                format!("by: expected day, week, month, agent or team, got {b:?}"),
            )
        })?,
    };
    let codes = codes_in_reach(db, user, program.id, by.into()).await?;
    let (from, to) = period(program, p)?;
    let margin = p.margin.unwrap_or(5.0);
    if !(margin > 0.0 && margin <= 100.0) {
        return Err(
            InvalidValue::new("margin", "range", "margin: give 0 to 100 score points").into(),
        );
    }
    let (first, last) = (day_number(from), day_number(to));
    // Only the agent codes within reach; the database sums, so a year of rollups comes back
    // as one row per group.
    let codes: Option<Vec<String>> = codes.map(|c| c.into_iter().collect());
    let only = match &codes {
        None => String::new(),
        Some(c) if c.is_empty() => " AND 1 = 0".to_owned(),
        Some(c) => {
            let marks: Vec<String> = (0..c.len()).map(|i| format!("${}", i + 2)).collect();
            format!(" AND agent_code IN ({})", marks.join(", "))
        }
    };
    // Over every agent, the program's own rows: one per period instead of one per agent.
    let (lines_table, criteria_table) = match (&codes, by.is_people()) {
        (None, false) => (
            "quality_program_rollups",
            "quality_program_criterion_rollups",
        ),
        (None, true) => ("quality_rollups", "quality_program_criterion_rollups"),
        (Some(_), _) => ("quality_rollups", "quality_criterion_rollups"),
    };
    let (key, group) = if by.is_people() {
        ("CAST(0 AS BIGINT) AS day, agent_code", "agent_code")
    } else {
        ("day, '' AS agent_code", "day")
    };
    let rollups = format!(
        "SELECT {key}, CAST(SUM(evaluations) AS BIGINT) AS evaluations, \
         CAST(SUM(scored) AS BIGINT) AS scored, SUM(score_sum) AS score_sum, \
         SUM(score_sq_sum) AS score_sq_sum, CAST(SUM(passed) AS BIGINT) AS passed, \
         CAST(SUM(failed) AS BIGINT) AS failed, CAST(SUM(rq_yes) AS BIGINT) AS rq_yes, \
         CAST(SUM(rq_answered) AS BIGINT) AS rq_answered, CAST(SUM(disputed) AS BIGINT) AS disputed, \
         CAST(SUM(upheld) AS BIGINT) AS upheld, CAST(SUM(partly_upheld) AS BIGINT) AS partly_upheld, \
         CAST(SUM(rejected) AS BIGINT) AS rejected FROM ({rows}) r \
         GROUP BY {group}",
        rows = covering(lines_table, first, last, by.grain(), &only),
    );
    let rows: Vec<RollupRow> = on_db!(db, pool => {
        let mut q = sqlx::query_as(&rollups).bind(program.id);
        for c in codes.iter().flatten() {
            q = q.bind(c);
        }
        q.fetch_all(pool).await
    })?;
    let teams = if by == GroupBy::Team {
        teams_of_codes(db, program.id).await?
    } else {
        BTreeMap::new()
    };
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    let mut total = Sums::default();
    for r in &rows {
        let s = &r.sums;
        let label = match by {
            GroupBy::Day => date_of(r.day).to_string(),
            GroupBy::Week => date_of(week_of(r.day)).to_string(),
            GroupBy::Month => date_of(month_of(r.day)).format("%Y-%m").to_string(),
            GroupBy::Agent => r.agent_code.clone(),
            GroupBy::Team => teams.get(&r.agent_code).cloned().unwrap_or_default(),
        };
        groups.entry(label).or_default().merge(s);
        total.merge(s);
    }
    let sd = score_sd(&total);
    let lines: Vec<QualityLine> = groups
        .iter()
        .filter(|(_, s)| s.evaluations > 0)
        .map(|(g, s)| line(g.clone(), s, margin, sd))
        .collect();

    let criteria_sql = format!(
        "SELECT criterion_key, principle, CAST(SUM(answers) AS BIGINT) AS answers, \
         CAST(SUM(not_applicable) AS BIGINT) AS not_applicable, SUM(percent_sum) AS percent_sum, \
         SUM(percent_sq_sum) AS percent_sq_sum, SUM(weight_sum) AS weight_sum, \
         SUM(weighted_sum) AS weighted_sum FROM ({rows}) r \
         GROUP BY criterion_key, principle",
        rows = covering(criteria_table, first, last, Some(Grain::Month), &only),
    );
    let rows: Vec<CriterionRow> = on_db!(db, pool => {
        let mut q = sqlx::query_as(&criteria_sql).bind(program.id);
        for c in codes.iter().flatten() {
            q = q.bind(c);
        }
        q.fetch_all(pool).await
    })?;
    let mut by_criterion: BTreeMap<(String, String), CriterionSums> = BTreeMap::new();
    for r in &rows {
        by_criterion
            .entry((r.criterion_key.clone(), r.principle.clone()))
            .or_default()
            .merge(&r.sums);
    }
    let names = criterion_names(db, program.id).await?;
    let principle_names: BTreeMap<String, String> =
        catalogue::list(db, Catalogue::Principles, Some(program.id))
            .await?
            .into_iter()
            .map(|e| (e.key, e.name))
            .collect();
    let mut principles: BTreeMap<String, CriterionSums> = BTreeMap::new();
    let criteria: Vec<CriterionLine> = by_criterion
        .iter()
        .filter(|(_, c)| c.answers + c.not_applicable > 0)
        .map(|((key, principle), c)| {
            if !principle.is_empty() {
                principles.entry(principle.clone()).or_default().merge(c);
            }
            CriterionLine {
                criterion: key.clone(),
                name: names.get(key).cloned().unwrap_or_else(|| key.clone()),
                principle: principle.clone(),
                answers: c.answers,
                not_applicable: c.not_applicable,
                mean: on_scale(interval::mean(
                    u64::try_from(c.answers).unwrap_or(0),
                    c.percent_sum,
                    c.percent_sq_sum,
                )),
            }
        })
        .collect();
    let principles = principles
        .into_iter()
        .map(|(key, c)| PrincipleLine {
            name: principle_names
                .get(&key)
                .cloned()
                .unwrap_or_else(|| key.clone()),
            answers: c.answers,
            score: (c.weight_sum > 0.0).then(|| c.weighted_sum / c.weight_sum),
            principle: key,
        })
        .collect();
    Ok(QualityReport {
        program_id: program.id,
        from: from.to_string(),
        to: to.to_string(),
        by,
        lines,
        total: line(String::new(), &total, margin, sd),
        criteria,
        principles,
        margin,
        suggested_evaluations: sd.and_then(|sd| interval::sample_size(sd, margin)),
    })
}
