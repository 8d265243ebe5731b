//! Which criteria matter to customers: for each criterion, how its answers relate to the
//! customer's own verdict on the same contact — CSAT (1–5), first-contact resolution (no repeat
//! within the window) and the customer's RQ (yes / no) — as Pearson correlations with their
//! counts and 95 % intervals. The quality team sees which criteria move customers and can improve
//! the form.

use std::collections::BTreeMap;

use serde::Serialize;

use super::report::{Detail, QualityParams, codes_in_reach, period};
use crate::auth::Principal;
use crate::contacts::calendar::{day_number, day_start_utc};
use crate::on_db;
use crate::programs::Program;
use crate::stats::correlation::Pairs;
use crate::stats::interval::Estimate;
use crate::store::Db;
use crate::web::error::AppResult;

/// A correlation and the number of pairs it rests on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Relation {
    pub pairs: u64,
    /// Pearson's r with its 95 % interval; `null` under 4 pairs or without spread.
    pub r: Option<Estimate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CriterionImpact {
    pub criterion: String,
    pub name: String,
    /// Answers (not n/a) in the period.
    pub answers: u64,
    pub csat: Relation,
    pub fcr: Relation,
    pub rq: Relation,
}

#[derive(sqlx::FromRow)]
struct Row {
    criterion_key: String,
    agent_code: String,
    percent: f64,
    csat: Option<i16>,
    fcr_repeat: Option<bool>,
    rq: Option<bool>,
}

#[derive(Default)]
struct Acc {
    answers: u64,
    csat: Pairs,
    fcr: Pairs,
    rq: Pairs,
}

fn relation(p: &Pairs) -> Relation {
    Relation {
        pairs: p.n,
        r: p.correlation(),
    }
}

/// Every criterion answered in the period (by the people within the person's reach), with its
/// relation to the customers' verdicts, the strongest relation to CSAT first.
pub async fn impact(
    db: &Db,
    user: &Principal,
    program: &Program,
    p: &QualityParams,
) -> AppResult<Vec<CriterionImpact>> {
    let codes = codes_in_reach(db, user, program.id, Detail::Whole).await?;
    let (from, to) = period(program, p)?;
    let tz = program.zone();
    let (start, end) = (
        day_start_utc(tz, day_number(from)),
        day_start_utc(tz, day_number(to) + 1),
    );
    const SQL: &str = "SELECT a.criterion_key, e.agent_code, a.percent, s.csat, c.fcr_repeat, s.rq \
        FROM evaluation_answers a \
        JOIN evaluations e ON e.id = a.evaluation_id \
        JOIN contacts c ON c.id = e.contact_id \
        LEFT JOIN surveys s ON s.program_id = c.program_id AND s.contact_external_id = c.external_id \
        WHERE e.program_id = $1 AND e.kind = 'evaluation' AND e.status <> 'draft' \
        AND e.submitted_at >= $2 AND e.submitted_at < $3 AND a.percent IS NOT NULL";
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(SQL)
        .bind(program.id).bind(start).bind(end).fetch_all(pool).await)?;
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| codes.as_ref().is_none_or(|c| c.contains(&r.agent_code)))
    {
        let acc = by.entry(r.criterion_key.clone()).or_default();
        acc.answers += 1;
        if let Some(csat) = r.csat {
            acc.csat.add(r.percent, f64::from(csat));
        }
        if let Some(repeat) = r.fcr_repeat {
            acc.fcr.add(r.percent, if repeat { 0.0 } else { 1.0 });
        }
        if let Some(rq) = r.rq {
            acc.rq.add(r.percent, if rq { 1.0 } else { 0.0 });
        }
    }
    let names = super::report::criterion_names(db, program.id).await?;
    let mut out: Vec<CriterionImpact> = by
        .into_iter()
        .map(|(key, acc)| CriterionImpact {
            name: names.get(&key).cloned().unwrap_or_else(|| key.clone()),
            criterion: key,
            answers: acc.answers,
            csat: relation(&acc.csat),
            fcr: relation(&acc.fcr),
            rq: relation(&acc.rq),
        })
        .collect();
    let strength = |c: &CriterionImpact| c.csat.r.map(|e| -e.value.abs()).unwrap_or(0.0);
    out.sort_by(|a, b| {
        strength(a)
            .total_cmp(&strength(b))
            .then(a.name.cmp(&b.name))
    });
    Ok(out)
}
