//! Evaluations as CSV, one row per evaluation and criterion, for analysis elsewhere.

use std::collections::btree_map::Entry;

use super::evaluations::{self, Kind};
use super::forms;
use super::report::{Detail, QualityParams, codes_in_reach, period};
use crate::auth::Principal;
use crate::contacts::calendar::{day_number, day_start_utc};
use crate::domain::format_utc;
use crate::on_db;
use crate::programs::Program;
use crate::store::Db;
use crate::web::error::{AppError, AppResult};

pub const COLUMNS: [&str; 20] = [
    "evaluation_id",
    "kind",
    "status",
    "contact_id",
    "channel",
    "agent_code",
    "evaluator",
    "form",
    "form_version",
    "submitted_utc",
    "score",
    "passed",
    "critical_failed",
    "rq",
    "criterion",
    "criterion_name",
    "principle",
    "answer",
    "percent",
    "comment",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Every submitted evaluation and self-evaluation of the period within the person's reach (per
/// person, so never for planners and client viewers), one row per answered criterion.
pub async fn evaluations_csv(
    db: &Db,
    user: &Principal,
    program: &Program,
    p: &QualityParams,
) -> AppResult<(Vec<u8>, String)> {
    let codes = codes_in_reach(db, user, program.id, Detail::Evaluations).await?;
    let (from, to) = period(program, p)?;
    let tz = program.zone();
    let (start, end) = (
        day_start_utc(tz, day_number(from)),
        day_start_utc(tz, day_number(to) + 1),
    );
    const SQL: &str = "SELECT id FROM evaluations WHERE program_id = $1 AND status <> 'draft' \
        AND submitted_at >= $2 AND submitted_at < $3 ORDER BY submitted_at, id";
    let ids: Vec<i64> = on_db!(db, pool => sqlx::query_scalar(SQL)
        .bind(program.id).bind(start).bind(end).fetch_all(pool).await)?;
    let fail = |e: csv::Error| AppError::Unexpected(e.into());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(fail)?;
    let mut versions = std::collections::BTreeMap::new();
    for id in ids {
        let e = match evaluations::get(db, user, id).await {
            Ok(e) => e,
            Err(AppError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        if codes.as_ref().is_some_and(|c| !c.contains(&e.agent_code)) {
            continue;
        }
        let v = match versions.entry(e.form_version_id) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(slot) => slot.insert(
                forms::version(db, e.form_version_id)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
        };
        for a in &e.answers {
            let c = v.form.criterion(&a.criterion);
            w.write_record([
                e.id.to_string(),
                match e.kind {
                    Kind::Evaluation => "evaluation".into(),
                    Kind::SelfEvaluation => "self".into(),
                },
                format!("{:?}", e.status).to_lowercase(),
                e.contact_id.to_string(),
                e.channel.clone(),
                e.agent_code.clone(),
                e.evaluator_name.clone(),
                v.name.clone(),
                v.version.to_string(),
                e.submitted_at.map(format_utc).unwrap_or_default(),
                opt(e.score),
                opt(e.passed),
                e.failed.to_string(),
                opt(e.rq),
                a.criterion.clone(),
                c.map(|c| c.spec.name.clone()).unwrap_or_default(),
                c.and_then(|c| c.section.principle.clone())
                    .unwrap_or_default(),
                a.value.clone(),
                opt(a.percent),
                a.comment.clone(),
            ])
            .map_err(fail)?;
        }
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("{e}")))?;
    Ok((
        body,
        format!("{}-evaluations-{from}-{to}.csv", program.code),
    ))
}
