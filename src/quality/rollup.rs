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
use crate::on_tx;
use crate::store::Tx;

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

const ROLLUP: &str = "INSERT INTO quality_rollups (program_id, grain, day, agent_code, evaluations, \
    scored, score_sum, score_sq_sum, passed, failed, rq_yes, rq_answered, disputed, upheld, \
    partly_upheld, rejected) \
    VALUES ($1, $16, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
    ON CONFLICT (program_id, grain, day, agent_code) DO UPDATE SET \
    evaluations = quality_rollups.evaluations + excluded.evaluations, \
    scored = quality_rollups.scored + excluded.scored, \
    score_sum = quality_rollups.score_sum + excluded.score_sum, \
    score_sq_sum = quality_rollups.score_sq_sum + excluded.score_sq_sum, \
    passed = quality_rollups.passed + excluded.passed, \
    failed = quality_rollups.failed + excluded.failed, \
    rq_yes = quality_rollups.rq_yes + excluded.rq_yes, \
    rq_answered = quality_rollups.rq_answered + excluded.rq_answered, \
    disputed = quality_rollups.disputed + excluded.disputed, \
    upheld = quality_rollups.upheld + excluded.upheld, \
    partly_upheld = quality_rollups.partly_upheld + excluded.partly_upheld, \
    rejected = quality_rollups.rejected + excluded.rejected";

const CRITERION: &str = "INSERT INTO quality_criterion_rollups (program_id, grain, day, agent_code, \
    criterion_key, principle, answers, not_applicable, percent_sum, percent_sq_sum, weight_sum, weighted_sum) \
    VALUES ($1, $12, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
    ON CONFLICT (program_id, grain, day, agent_code, criterion_key, principle) DO UPDATE SET \
    answers = quality_criterion_rollups.answers + excluded.answers, \
    not_applicable = quality_criterion_rollups.not_applicable + excluded.not_applicable, \
    percent_sum = quality_criterion_rollups.percent_sum + excluded.percent_sum, \
    percent_sq_sum = quality_criterion_rollups.percent_sq_sum + excluded.percent_sq_sum, \
    weight_sum = quality_criterion_rollups.weight_sum + excluded.weight_sum, \
    weighted_sum = quality_criterion_rollups.weighted_sum + excluded.weighted_sum";

async fn add(tx: &mut Tx, share: &Share, negate: bool) -> Result<(), sqlx::Error> {
    let s = if negate {
        share.sums.negated()
    } else {
        share.sums.clone()
    };
    // The day, its week and its month: a report reads the longest periods that fit.
    let periods = [
        ("day", share.day),
        ("week", week_of(share.day)),
        ("month", month_of(share.day)),
    ];
    for (grain, day) in periods {
        on_tx!(&mut *tx, t => sqlx::query(ROLLUP)
            .bind(share.program).bind(day).bind(&share.agent_code)
            .bind(s.evaluations).bind(s.scored).bind(s.score_sum).bind(s.score_sq_sum)
            .bind(s.passed).bind(s.failed).bind(s.rq_yes).bind(s.rq_answered)
            .bind(s.disputed).bind(s.upheld).bind(s.partly_upheld).bind(s.rejected).bind(grain)
            .execute(t).await.map(|_| ()))?;
        for ((key, principle), c) in &share.criteria {
            let c = if negate { c.negated() } else { c.clone() };
            on_tx!(&mut *tx, t => sqlx::query(CRITERION)
                .bind(share.program).bind(day).bind(&share.agent_code).bind(key).bind(principle)
                .bind(c.answers).bind(c.not_applicable).bind(c.percent_sum).bind(c.percent_sq_sum)
                .bind(c.weight_sum).bind(c.weighted_sum).bind(grain)
                .execute(t).await.map(|_| ()))?;
        }
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
    if let Some(b) = before {
        add(tx, b, true).await?;
    }
    if let Some(a) = after {
        add(tx, a, false).await?;
    }
    Ok(())
}
