//! Evaluator severity between sessions: from the everyday evaluations of a period, how lenient
//! or harsh each evaluator scores against their peers on comparable work. Each answer's share
//! of the points is modelled as
//!
//!     percent ≈ overall + agent effect + evaluator effect + criterion effect
//!
//! fitted by least squares (backfitting), so an evaluator who happens to evaluate the weaker
//! agents is not mistaken for a harsh one. An evaluator's effect is reported against the
//! observation-weighted mean of all evaluators, with an approximate 95 % interval
//! ± 1.96 · s / √n (s the residual standard deviation, n their answers).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::auth::Principal;
use crate::domain::{PersonId, ProgramId};
use crate::on_db;
use crate::stats::interval::Z_95;
use crate::store::Db;
use crate::web::error::{AppError, AppResult};

/// Evaluators further than this many points from their peers, with an interval that excludes
/// no difference, are flagged.
pub const BAND: f64 = 5.0;

/// One answer of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub evaluation: i64,
    pub agent: String,
    pub evaluator: PersonId,
    pub criterion: String,
    pub percent: f64,
}

/// The fitted effects, in points.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub overall: f64,
    /// Against the observation-weighted mean of the evaluators.
    pub evaluators: BTreeMap<PersonId, f64>,
    pub residual_sd: Option<f64>,
    /// Answers per evaluator.
    pub counts: BTreeMap<PersonId, usize>,
}

/// An answer by position: agent, evaluator, criterion, and its percent.
type Row = (usize, usize, usize, f64);

fn index<T: Ord + Clone>(values: impl Iterator<Item = T>) -> BTreeMap<T, usize> {
    let set: BTreeSet<T> = values.collect();
    set.into_iter().enumerate().map(|(i, v)| (v, i)).collect()
}

/// Fits the additive model to the answers; `None` without answers.
pub fn fit(obs: &[Observation]) -> Option<Fit> {
    if obs.is_empty() {
        return None;
    }
    let agents = index(obs.iter().map(|o| o.agent.clone()));
    let evaluators = index(obs.iter().map(|o| o.evaluator));
    let criteria = index(obs.iter().map(|o| o.criterion.clone()));
    let rows: Vec<Row> = obs
        .iter()
        .map(|o| {
            (
                agents[&o.agent],
                evaluators[&o.evaluator],
                criteria[&o.criterion],
                o.percent,
            )
        })
        .collect();
    let n = rows.len() as f64;
    let overall = rows.iter().map(|r| r.3).sum::<f64>() / n;
    let (mut a, mut e, mut c) = (
        vec![0.0; agents.len()],
        vec![0.0; evaluators.len()],
        vec![0.0; criteria.len()],
    );
    // One effect at a time: the mean of what the others leave unexplained.
    let update = |effect: &mut Vec<f64>, which: fn(&Row) -> usize, rest: &dyn Fn(&Row) -> f64| {
        let mut sum = vec![0.0; effect.len()];
        let mut count = vec![0usize; effect.len()];
        for r in &rows {
            sum[which(r)] += r.3 - overall - rest(r);
            count[which(r)] += 1;
        }
        let mut change: f64 = 0.0;
        for (i, v) in effect.iter_mut().enumerate() {
            let next = sum[i] / count[i].max(1) as f64;
            change = change.max((next - *v).abs());
            *v = next;
        }
        change
    };
    for _ in 0..500 {
        let mut change = update(&mut a, |r| r.0, &|r| e[r.1] + c[r.2]);
        change = change.max(update(&mut e, |r| r.1, &|r| a[r.0] + c[r.2]));
        change = change.max(update(&mut c, |r| r.2, &|r| a[r.0] + e[r.1]));
        if change < 1e-10 {
            break;
        }
    }
    let mut counts_by_index = vec![0usize; evaluators.len()];
    for r in &rows {
        counts_by_index[r.1] += 1;
    }
    let mean_e = rows.iter().map(|r| e[r.1]).sum::<f64>() / n;
    let residuals: f64 = rows
        .iter()
        .map(|r| (r.3 - overall - a[r.0] - e[r.1] - c[r.2]).powi(2))
        .sum();
    let params = agents.len() + evaluators.len() + criteria.len() - 2;
    let residual_sd =
        (rows.len() > params).then(|| (residuals / (rows.len() - params) as f64).sqrt());
    Some(Fit {
        overall,
        evaluators: evaluators
            .iter()
            .map(|(id, i)| (*id, e[*i] - mean_e))
            .collect(),
        residual_sd,
        counts: evaluators
            .iter()
            .map(|(id, i)| (*id, counts_by_index[*i]))
            .collect(),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Severity {
    pub evaluator_id: PersonId,
    pub name: String,
    pub evaluations: usize,
    /// Answers the estimate rests on.
    pub answers: usize,
    /// Agents this evaluator shares with another evaluator: without any, no estimate.
    pub shared_agents: usize,
    /// Points above (lenient) or below (harsh) their peers; `null` when not estimable.
    pub effect: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Their evaluations whose score lies within ±10 points of the mean score other evaluators
    /// gave the same agent in the period (the industry's usual check, for comparison).
    pub within_10: Option<f64>,
    pub flagged: bool,
}

/// The severity of each evaluator from the answers, and each evaluation's score.
pub fn severities(
    obs: &[Observation],
    scores: &[(i64, String, PersonId, f64)],
    names: &BTreeMap<PersonId, String>,
) -> Vec<Severity> {
    let fitted = fit(obs);
    let mut agents_of: BTreeMap<PersonId, BTreeSet<&str>> = BTreeMap::new();
    for o in obs {
        agents_of.entry(o.evaluator).or_default().insert(&o.agent);
    }
    let mut evaluations: BTreeMap<PersonId, BTreeSet<i64>> = BTreeMap::new();
    for o in obs {
        evaluations
            .entry(o.evaluator)
            .or_default()
            .insert(o.evaluation);
    }
    agents_of
        .iter()
        .map(|(who, agents)| {
            let shared = agents
                .iter()
                .filter(|a| {
                    agents_of
                        .iter()
                        .any(|(other, theirs)| other != who && theirs.contains(*a))
                })
                .count();
            let n = fitted
                .as_ref()
                .and_then(|f| f.counts.get(who))
                .copied()
                .unwrap_or(0);
            let effect = (shared > 0)
                .then(|| fitted.as_ref().and_then(|f| f.evaluators.get(who)).copied())
                .flatten();
            let half = fitted
                .as_ref()
                .and_then(|f| f.residual_sd)
                .filter(|_| n > 0)
                .map(|sd| Z_95 * sd / (n as f64).sqrt());
            let (ci_low, ci_high) = match (effect, half) {
                (Some(e), Some(h)) => (Some(e - h), Some(e + h)),
                _ => (None, None),
            };
            let banded: Vec<bool> = scores
                .iter()
                .filter(|s| s.2 == *who)
                .filter_map(|(_, agent, _, score)| {
                    let others: Vec<f64> = scores
                        .iter()
                        .filter(|o| o.2 != *who && &o.1 == agent)
                        .map(|o| o.3)
                        .collect();
                    (!others.is_empty()).then(|| {
                        let mean = others.iter().sum::<f64>() / others.len() as f64;
                        (score - mean).abs() <= 10.0
                    })
                })
                .collect();
            let flagged = match (effect, ci_low, ci_high) {
                (Some(e), Some(lo), Some(hi)) => e.abs() > BAND && (lo > 0.0 || hi < 0.0),
                _ => false,
            };
            Severity {
                evaluator_id: *who,
                name: names.get(who).cloned().unwrap_or_default(),
                evaluations: evaluations.get(who).map_or(0, BTreeSet::len),
                answers: n,
                shared_agents: shared,
                effect,
                ci_low,
                ci_high,
                within_10: (!banded.is_empty())
                    .then(|| banded.iter().filter(|b| **b).count() as f64 / banded.len() as f64),
                flagged,
            }
        })
        .collect()
}

/// Each evaluator's severity in a program over the days `from..=to` (submission, UTC ms
/// bounds), for who runs its calibration.
pub async fn of_program(
    db: &Db,
    user: &Principal,
    program: ProgramId,
    (from, to): (i64, i64),
) -> AppResult<Vec<Severity>> {
    user.check(crate::auth::Capability::ViewProgram(program))?;
    if !super::session::may_facilitate(user, program) {
        return Err(AppError::Forbidden);
    }
    const ANSWERS: &str = "SELECT e.id, e.agent_code, e.evaluator_id, a.criterion_key, a.percent \
        FROM evaluations e JOIN evaluation_answers a ON a.evaluation_id = e.id \
        WHERE e.program_id = $1 AND e.kind = 'evaluation' AND e.status <> 'draft' \
          AND e.submitted_at >= $2 AND e.submitted_at < $3 AND a.percent IS NOT NULL \
          AND e.agent_code <> ''";
    let rows: Vec<(i64, String, PersonId, String, f64)> = on_db!(db, p => sqlx::query_as(ANSWERS)
        .bind(program).bind(from).bind(to).fetch_all(p).await)?;
    let obs: Vec<Observation> = rows
        .into_iter()
        .map(
            |(evaluation, agent, evaluator, criterion, percent)| Observation {
                evaluation,
                agent,
                evaluator,
                criterion,
                percent,
            },
        )
        .collect();
    const SCORES: &str = "SELECT e.id, e.agent_code, e.evaluator_id, e.score FROM evaluations e \
        WHERE e.program_id = $1 AND e.kind = 'evaluation' AND e.status <> 'draft' \
          AND e.submitted_at >= $2 AND e.submitted_at < $3 AND e.score IS NOT NULL \
          AND e.agent_code <> ''";
    let scores: Vec<(i64, String, PersonId, f64)> = on_db!(db, p => sqlx::query_as(SCORES)
        .bind(program).bind(from).bind(to).fetch_all(p).await)?;
    const NAMES: &str = "SELECT DISTINCT p.id, p.name FROM people p JOIN evaluations e \
        ON e.evaluator_id = p.id WHERE e.program_id = $1";
    let names: Vec<(PersonId, String)> =
        on_db!(db, p => sqlx::query_as(NAMES).bind(program).fetch_all(p).await)?;
    let mut out = severities(&obs, &scores, &names.into_iter().collect());
    out.sort_by(|a, b| {
        b.effect
            .map(f64::abs)
            .unwrap_or(-1.0)
            .total_cmp(&a.effect.map(f64::abs).unwrap_or(-1.0))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every evaluator scores every agent on every criterion: percent = 60 + agent + evaluator
    /// + criterion exactly.
    fn balanced(evaluator_effects: &[f64]) -> Vec<Observation> {
        let agents = [-10.0, 0.0, 10.0];
        let criteria = [-5.0, 5.0];
        let mut out = Vec::new();
        let mut evaluation = 0;
        for (e, be) in evaluator_effects.iter().enumerate() {
            for (a, ae) in agents.iter().enumerate() {
                evaluation += 1;
                for (c, ce) in criteria.iter().enumerate() {
                    out.push(Observation {
                        evaluation,
                        agent: format!("a{a}"),
                        evaluator: PersonId(e as i64 + 1),
                        criterion: format!("c{c}"),
                        percent: 60.0 + ae + be + ce,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn a_balanced_design_recovers_the_evaluator_effects() {
        // Effects −6, 0, +9: their mean is +1, so against the peers −7, −1, +8.
        let f = fit(&balanced(&[-6.0, 0.0, 9.0])).unwrap();
        for (id, want) in [(1, -7.0), (2, -1.0), (3, 8.0)] {
            assert!(
                (f.evaluators[&PersonId(id)] - want).abs() < 1e-9,
                "{:?}",
                f.evaluators
            );
        }
        assert!(f.residual_sd.unwrap() < 1e-6, "no noise, nothing left over");
    }

    #[test]
    fn who_evaluates_the_weaker_agents_is_not_called_harsh() {
        // Two evaluators equally strict; the first only sees the weak agent and the middle one,
        // the second the middle one and the strong agent. Raw means differ by 20 points; the
        // model finds no difference.
        let mut obs = Vec::new();
        for (i, (evaluator, agent, level)) in [
            (1, "weak", 40.0),
            (1, "mid", 60.0),
            (2, "mid", 60.0),
            (2, "strong", 80.0),
        ]
        .into_iter()
        .enumerate()
        {
            obs.push(Observation {
                evaluation: i as i64,
                agent: agent.into(),
                evaluator: PersonId(evaluator),
                criterion: "c".into(),
                percent: level,
            });
        }
        let names = BTreeMap::new();
        let s = severities(&obs, &[], &names);
        for e in &s {
            assert!(e.effect.unwrap().abs() < 1e-9, "{s:?}");
            assert_eq!(e.shared_agents, 1);
            assert!(!e.flagged);
        }
    }

    #[test]
    fn a_harsh_evaluator_outside_the_band_is_flagged() {
        let mut obs = balanced(&[0.0, 0.0, -12.0]);
        // A little noise, so the interval has a width.
        for (i, o) in obs.iter_mut().enumerate() {
            o.percent += if i % 2 == 0 { 1.0 } else { -1.0 };
        }
        let s = severities(&obs, &[], &BTreeMap::new());
        let third = s.iter().find(|x| x.evaluator_id == PersonId(3)).unwrap();
        assert!((third.effect.unwrap() + 8.0).abs() < 0.5, "{third:?}");
        assert!(third.flagged);
        assert!(s.iter().filter(|x| x.flagged).count() == 1, "{s:?}");
    }

    #[test]
    fn within_ten_points_of_the_others_on_the_same_agent() {
        let scores = vec![
            (1, "a".to_owned(), PersonId(1), 70.0),
            (2, "a".to_owned(), PersonId(2), 75.0),
            (3, "a".to_owned(), PersonId(3), 95.0),
        ];
        let obs: Vec<Observation> = scores
            .iter()
            .map(|(id, agent, who, score)| Observation {
                evaluation: *id,
                agent: agent.clone(),
                evaluator: *who,
                criterion: "c".into(),
                percent: *score,
            })
            .collect();
        let s = severities(&obs, &scores, &BTreeMap::new());
        let share = |id: i64| {
            s.iter()
                .find(|x| x.evaluator_id == PersonId(id))
                .unwrap()
                .within_10
        };
        // 70 against (75 + 95) / 2 = 85: 15 apart; 75 against 82.5: within; 95 against 72.5: not.
        assert_eq!(
            (share(1), share(2), share(3)),
            (Some(0.0), Some(1.0), Some(0.0))
        );
    }
}
