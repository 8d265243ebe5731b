//! Quality rollups: per program, local day of submission and agent code, the sums every quality
//! figure is computed from (count, score sum and sum of squares, passes, critical failures,
//! relationship answers, disputes and their outcomes), and the same per criterion. Every change to
//! a submitted evaluation takes its old share out and puts its new share in, in the transaction
//! that makes the change.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::evaluations::{Evaluation, Kind, Status};
use super::form::Form;
use crate::contacts::calendar::{day_number, month_of, week_of};
use crate::domain::ProgramId;
use crate::store::{Tx, Value, marks};

/// The figures one evaluation adds to its rollup row, and what a report reads back.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct Sums {
    pub evaluations: i64,
    pub scored: i64,
    pub score_sum: f64,
    pub score_sq_sum: f64,
    pub passed: i64,
    pub failed: i64,
    pub rq_yes: i64,
    pub rq_answered: i64,
    pub disputed: i64,
    pub upheld: i64,
    pub partly_upheld: i64,
    pub rejected: i64,
}

impl Sums {
    pub fn merge(&mut self, o: &Sums) {
        self.evaluations += o.evaluations;
        self.scored += o.scored;
        self.score_sum += o.score_sum;
        self.score_sq_sum += o.score_sq_sum;
        self.passed += o.passed;
        self.failed += o.failed;
        self.rq_yes += o.rq_yes;
        self.rq_answered += o.rq_answered;
        self.disputed += o.disputed;
        self.upheld += o.upheld;
        self.partly_upheld += o.partly_upheld;
        self.rejected += o.rejected;
    }

    fn negated(&self) -> Sums {
        Sums {
            evaluations: -self.evaluations,
            scored: -self.scored,
            score_sum: -self.score_sum,
            score_sq_sum: -self.score_sq_sum,
            passed: -self.passed,
            failed: -self.failed,
            rq_yes: -self.rq_yes,
            rq_answered: -self.rq_answered,
            disputed: -self.disputed,
            upheld: -self.upheld,
            partly_upheld: -self.partly_upheld,
            rejected: -self.rejected,
        }
    }
}

/// One criterion's share of an evaluation.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct CriterionSums {
    pub answers: i64,
    pub not_applicable: i64,
    pub percent_sum: f64,
    pub percent_sq_sum: f64,
    pub weight_sum: f64,
    pub weighted_sum: f64,
}

impl CriterionSums {
    pub fn merge(&mut self, o: &CriterionSums) {
        self.answers += o.answers;
        self.not_applicable += o.not_applicable;
        self.percent_sum += o.percent_sum;
        self.percent_sq_sum += o.percent_sq_sum;
        self.weight_sum += o.weight_sum;
        self.weighted_sum += o.weighted_sum;
    }

    fn negated(&self) -> CriterionSums {
        CriterionSums {
            answers: -self.answers,
            not_applicable: -self.not_applicable,
            percent_sum: -self.percent_sum,
            percent_sq_sum: -self.percent_sq_sum,
            weight_sum: -self.weight_sum,
            weighted_sum: -self.weighted_sum,
        }
    }
}

/// An evaluation's share of the rollups: where it counts and what it adds.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub program: ProgramId,
    pub day: i64,
    pub agent_code: String,
    pub sums: Sums,
    /// By (criterion key, principle key or "").
    pub criteria: BTreeMap<(String, String), CriterionSums>,
}

/// What an evaluation counts for: nothing while a draft or when a self-evaluation.
pub fn share(e: &Evaluation, form: &Form, tz: Tz) -> Option<Share> {
    if e.kind != Kind::Evaluation || e.status == Status::Draft {
        return None;
    }
    let submitted = chrono::DateTime::from_timestamp_millis(e.submitted_at?)?;
    let day = day_number(submitted.with_timezone(&tz).date_naive());
    let count = |yes: bool| i64::from(yes);
    let sums = Sums {
        evaluations: 1,
        scored: count(e.score.is_some()),
        score_sum: e.score.unwrap_or(0.0),
        score_sq_sum: e.score.map(|s| s * s).unwrap_or(0.0),
        passed: count(e.passed == Some(true)),
        failed: count(e.failed),
        rq_yes: count(e.rq == Some(true)),
        rq_answered: count(e.rq.is_some()),
        disputed: count(e.disputed_at.is_some()),
        upheld: count(e.resolution.as_deref() == Some("upheld")),
        partly_upheld: count(e.resolution.as_deref() == Some("partly_upheld")),
        rejected: count(e.resolution.as_deref() == Some("rejected")),
    };
    let mut criteria = BTreeMap::new();
    for a in &e.answers {
        let Some(c) = form.criterion(&a.criterion) else {
            continue;
        };
        let principle = c.section.principle.clone().unwrap_or_default();
        let weight = f64::from(c.spec.weight);
        let s = match a.percent {
            Some(p) => CriterionSums {
                answers: 1,
                not_applicable: 0,
                percent_sum: p,
                percent_sq_sum: p * p,
                weight_sum: weight,
                weighted_sum: weight * p,
            },
            None => CriterionSums {
                not_applicable: 1,
                ..Default::default()
            },
        };
        criteria.insert((a.criterion.clone(), principle), s);
    }
    Some(Share {
        program: e.program_id,
        day,
        agent_code: e.agent_code.clone(),
        sums,
        criteria,
    })
}

/// The figures of a rollup row, in the order they are bound.
const SUMS: [&str; 12] = [
    "evaluations",
    "scored",
    "score_sum",
    "score_sq_sum",
    "passed",
    "failed",
    "rq_yes",
    "rq_answered",
    "disputed",
    "upheld",
    "partly_upheld",
    "rejected",
];
const CRITERION_SUMS: [&str; 6] = [
    "answers",
    "not_applicable",
    "percent_sum",
    "percent_sq_sum",
    "weight_sum",
    "weighted_sum",
];
/// The grains every share is added to: a report reads the longest periods that fit.
const GRAINS: [&str; 3] = ["day", "week", "month"];

/// Where a share goes: the agent's rows, or the whole program's.
#[derive(Clone, Copy)]
enum Level {
    Agent,
    Program,
}

/// How many rows the program's sums of one period are spread over. Every submission in a
/// program adds to its day's, week's and month's rows; on PostgreSQL each submission held those
/// rows locked until its commit, and the others queued behind it. Spread by agent over eight
/// rows, the reports add them up as they add up periods.
const STRIPES: u32 = 8;

/// The program row an agent's shares go to: any is right, as the reports add them all up.
fn stripe_of(agent_code: &str) -> i64 {
    let h = agent_code
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    i64::from(h % STRIPES)
}

impl Level {
    fn tables(self) -> (&'static str, &'static str) {
        match self {
            Level::Agent => ("quality_rollups", "quality_criterion_rollups"),
            Level::Program => (
                "quality_program_rollups",
                "quality_program_criterion_rollups",
            ),
        }
    }

    /// The key columns after program, grain and day.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Level::Agent => &["agent_code"],
            Level::Program => &["stripe"],
        }
    }
}

/// `INSERT … VALUES <rows> ON CONFLICT DO UPDATE` adding each row's `sums` to the stored ones.
fn upsert_sql(table: &str, keys: &[&str], sums: &[&str], rows: &[Vec<String>]) -> String {
    let columns: Vec<&str> = keys.iter().chain(sums).copied().collect();
    let values: Vec<String> = rows.iter().map(|r| format!("({})", r.join(", "))).collect();
    let set: Vec<String> = sums
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
        columns.join(", "),
        values.join(", "),
        keys.join(", "),
        set.join(", ")
    )
}

/// The statement adding one share's sums at `level` to its day, week and month. Placeholders:
/// the program, the level's keys, the sums, then the three days.
fn sums_sql(level: Level) -> String {
    let keys = level.keys().len();
    let first_day = 2 + keys + SUMS.len();
    let rows: Vec<Vec<String>> = GRAINS
        .iter()
        .enumerate()
        .map(|(i, grain)| {
            let mut row = vec![
                "$1".to_owned(),
                format!("'{grain}'"),
                format!("${}", first_day + i),
            ];
            row.extend(marks(2, keys + SUMS.len()));
            row
        })
        .collect();
    let mut columns = vec!["program_id", "grain", "day"];
    columns.extend(level.keys());
    upsert_sql(level.tables().0, &columns, &SUMS, &rows)
}

/// The statement adding `criteria` criteria's sums at `level` to their day, week and month.
/// Placeholders: the program, the three days, the level's keys, then per criterion its key, its
/// principle and its sums.
fn criteria_sql(level: Level, criteria: usize) -> String {
    let keys = level.keys().len();
    let per = 2 + CRITERION_SUMS.len();
    let first = 5 + keys;
    let mut rows = Vec::with_capacity(GRAINS.len() * criteria);
    for (i, grain) in GRAINS.iter().enumerate() {
        for c in 0..criteria {
            let mut row = vec!["$1".to_owned(), format!("'{grain}'"), format!("${}", 2 + i)];
            row.extend(marks(5, keys));
            row.extend(marks(first + c * per, per));
            rows.push(row);
        }
    }
    let mut columns = vec!["program_id", "grain", "day"];
    columns.extend(level.keys());
    columns.extend(["criterion_key", "principle"]);
    upsert_sql(level.tables().1, &columns, &CRITERION_SUMS, &rows)
}

/// Add `share` (taken out when `negate`) to the agent's and the program's rows (those of
/// `stripe`) of its day, week and month: one statement per table.
async fn add(tx: &mut Tx, share: &Share, negate: bool, stripe: i64) -> Result<(), sqlx::Error> {
    let s = if negate {
        share.sums.negated()
    } else {
        share.sums.clone()
    };
    let days = [share.day, week_of(share.day), month_of(share.day)];
    let criteria: Vec<(&(String, String), CriterionSums)> = share
        .criteria
        .iter()
        .map(|(k, c)| (k, if negate { c.negated() } else { c.clone() }))
        .collect();
    for level in [Level::Agent, Level::Program] {
        let key: Value = match level {
            Level::Agent => share.agent_code.as_str().into(),
            Level::Program => stripe.into(),
        };
        let mut values: Vec<Value> = vec![share.program.into(), key.clone()];
        values.extend([
            s.evaluations.into(),
            s.scored.into(),
            s.score_sum.into(),
            s.score_sq_sum.into(),
            s.passed.into(),
            s.failed.into(),
            s.rq_yes.into(),
            s.rq_answered.into(),
            s.disputed.into(),
            s.upheld.into(),
            s.partly_upheld.into(),
            s.rejected.into(),
        ]);
        values.extend(days.map(Value::from));
        tx.later(&sums_sql(level), values).await?;
        if criteria.is_empty() {
            continue;
        }
        let mut values: Vec<Value> = vec![share.program.into()];
        values.extend(days.map(Value::from));
        values.push(key);
        for ((key, principle), c) in &criteria {
            values.extend([
                key.as_str().into(),
                principle.as_str().into(),
                c.answers.into(),
                c.not_applicable.into(),
                c.percent_sum.into(),
                c.percent_sq_sum.into(),
                c.weight_sum.into(),
                c.weighted_sum.into(),
            ]);
        }
        tx.later(&criteria_sql(level, criteria.len()), values)
            .await?;
    }
    Ok(())
}

/// Replaces an evaluation's old share of the rollups with its new one.
pub async fn replace(
    tx: &mut Tx,
    before: Option<&Share>,
    after: Option<&Share>,
) -> Result<(), sqlx::Error> {
    if before == after {
        return Ok(());
    }
    // One program row per transaction, whatever the agents: two submissions never wait for
    // each other's rows in opposite orders.
    let Some(stripe) = after.or(before).map(|s| stripe_of(&s.agent_code)) else {
        return Ok(());
    };
    if let Some(b) = before {
        add(tx, b, true, stripe).await?;
    }
    if let Some(a) = after {
        add(tx, a, false, stripe).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholders a statement uses, as a sorted list without repeats.
    fn placeholders(sql: &str) -> Vec<usize> {
        let mut found: Vec<usize> = sql
            .split('$')
            .skip(1)
            .map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap()
            })
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    #[test]
    fn statements_use_every_bound_value_once_numbered_from_one() {
        // program, agent (or the program's stripe), 12 sums, 3 days.
        for level in [Level::Agent, Level::Program] {
            assert_eq!(placeholders(&sums_sql(level)), (1..=17).collect::<Vec<_>>());
        }
        assert!(sums_sql(Level::Program).contains("ON CONFLICT (program_id, grain, day, stripe)"));
        // program, 3 days, agent, then 8 per criterion.
        let agent = criteria_sql(Level::Agent, 4);
        assert_eq!(placeholders(&agent), (1..=5 + 4 * 8).collect::<Vec<_>>());
        assert_eq!(
            agent.matches("),").count() + 1,
            3 * 4,
            "a row per grain and criterion"
        );
        let program = criteria_sql(Level::Program, 2);
        assert_eq!(placeholders(&program), (1..=5 + 2 * 8).collect::<Vec<_>>());
        assert!(
            program
                .contains("ON CONFLICT (program_id, grain, day, stripe, criterion_key, principle)")
        );
        assert!(sums_sql(Level::Agent).contains("'month', $17, $2, $3"));
    }

    #[test]
    fn agents_spread_over_every_stripe() {
        let stripes: std::collections::BTreeSet<i64> = (0..64)
            .map(|i| stripe_of(&format!("agent{i:03}")))
            .collect();
        assert_eq!(stripes, (0..i64::from(STRIPES)).collect());
    }
}
