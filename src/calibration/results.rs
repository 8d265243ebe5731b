//! A calibration session's results, from the submitted scores alone: each contact's answers side
//! by side with the reference, per criterion the agreement coefficients at the criterion's level
//! of measurement, and per participant the distance from the reference and from the group.
//! Pure: no I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::agreement::AgreementReport;
use crate::agreement::matrix::RatingMatrix;
use crate::domain::PersonId;
use crate::kpi::Channel;
use crate::quality::form::{CriterionRef, Form};
use crate::quality::scale::{AnswerValue, Scale};
use crate::quality::scoring::{self, Answer};
use crate::stats::ratings::Level;

/// Criteria whose alpha is under this are flagged (Krippendorff's lowest bar for tentative
/// conclusions).
pub const ALPHA_FLOOR: f64 = 0.667;
/// Participants whose answers are further than this from the reference (or, without one, from
/// the group), in points of the criteria's 0–100 % scale on average, are flagged.
pub const TOLERANCE: f64 = 10.0;
/// The industry's usual check: a participant's score of a contact within this many points of the
/// reference score.
pub const SCORE_BAND: f64 = 10.0;

/// A contact scored in the session.
#[derive(Debug, Clone)]
pub struct Unit {
    pub contact_id: i64,
    pub label: String,
    pub channel: Channel,
}

/// A participant whose scores count.
#[derive(Debug, Clone)]
pub struct Rater {
    pub person_id: PersonId,
    pub name: String,
}

/// The level of measurement a criterion's scale has: categories are nominal, rating scales
/// ordinal.
pub fn level_of(scale: &Scale) -> Level {
    match scale {
        Scale::YesNo | Scale::Custom(_) => Level::Nominal,
        Scale::Range { .. } => Level::Ordinal,
    }
}

/// An answer as a number for the agreement statistics: the rating itself on a range, the
/// category's position otherwise (no = 0, yes = 1; a custom scale's points in order).
fn coded(scale: &Scale, value: &AnswerValue) -> Option<f64> {
    if value.is_not_applicable() {
        return None;
    }
    match (scale, value) {
        (Scale::Range { .. }, AnswerValue::Number(n)) => Some(*n as f64),
        (Scale::YesNo, AnswerValue::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "no" => Some(0.0),
            "yes" => Some(1.0),
            _ => None,
        },
        (Scale::Custom(points), AnswerValue::Text(t)) => points
            .iter()
            .position(|p| p.label == t.trim())
            .map(|i| i as f64),
        _ => None,
    }
}

/// One participant's answer to one criterion of one contact.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Given {
    pub person_id: PersonId,
    pub value: String,
    /// The share of the points it earns; `null` for n/a.
    pub percent: Option<f64>,
}

/// A contact's criterion with everybody's answer beside the reference.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Cell {
    pub contact_id: i64,
    pub criterion: String,
    pub answers: Vec<Given>,
    pub reference: Option<String>,
    /// Everybody answered alike.
    pub unanimous: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CriterionAgreement {
    pub criterion: String,
    pub name: String,
    /// Krippendorff's alpha and the rest, at `agreement.level`; units are the contacts.
    #[schema(value_type = Object)]
    pub agreement: Option<AgreementReport>,
    /// Alpha under 0.667.
    pub flagged: bool,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Deviation {
    /// Answers compared.
    pub items: usize,
    /// Mean absolute difference, in points of the criteria's 0–100 % scale.
    pub mean_abs_diff: Option<f64>,
    /// Answers equal to the other side (only against the reference).
    pub exact_share: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParticipantResult {
    pub person_id: PersonId,
    pub name: String,
    /// Against the reference answers agreed in the session.
    pub vs_reference: Deviation,
    /// Against the mean of the other participants' answers.
    pub vs_group: Deviation,
    /// Each contact's score (0–100) by this participant's answers.
    pub scores: BTreeMap<i64, Option<f64>>,
    /// The share of contacts whose score is within ±10 points of the reference score.
    pub within_band: Option<f64>,
    /// Further from the reference (or, without one, the group) than the tolerance.
    pub flagged: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Results {
    pub cells: Vec<Cell>,
    pub criteria: Vec<CriterionAgreement>,
    pub participants: Vec<ParticipantResult>,
    /// Each contact's score by the reference answers, once every applicable criterion has one.
    pub reference_scores: BTreeMap<i64, Option<f64>>,
    pub tolerance: f64,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn applies(c: &CriterionRef<'_>, u: &Unit) -> bool {
    c.applies_to(u.channel)
}

/// The results of the scores given (`scores[(contact, person)]`, submitted ones only) and the
/// reference answers agreed (`references[(contact, criterion)]`).
pub fn compute(
    form: &Form,
    units: &[Unit],
    raters: &[Rater],
    scores: &BTreeMap<(i64, PersonId), Vec<Answer>>,
    references: &BTreeMap<(i64, String), String>,
) -> Results {
    let answer = |contact: i64, person: PersonId, key: &str| -> Option<&AnswerValue> {
        scores
            .get(&(contact, person))?
            .iter()
            .find(|a| a.criterion == key)
            .map(|a| &a.value)
    };
    let percent = |scale: &Scale, v: &AnswerValue| -> Option<f64> {
        (!v.is_not_applicable()).then(|| scale.percent(v)).flatten()
    };
    let mut cells = Vec::new();
    let mut criteria = Vec::new();
    // Per participant: differences to the reference, exact matches, differences to the group.
    let mut to_ref: BTreeMap<PersonId, (Vec<f64>, usize)> = BTreeMap::new();
    let mut to_group: BTreeMap<PersonId, Vec<f64>> = BTreeMap::new();
    for c in form.criteria() {
        let key = c.spec.key.as_str();
        let scale = c.scale;
        let mut rows: Vec<Vec<Option<f64>>> = vec![Vec::new(); raters.len()];
        let mut labels = Vec::new();
        for u in units.iter().filter(|u| applies(&c, u)) {
            labels.push(u.label.clone());
            let mut answers = Vec::new();
            for (i, r) in raters.iter().enumerate() {
                let v = answer(u.contact_id, r.person_id, key);
                rows[i].push(v.and_then(|v| coded(scale, v)));
                if let Some(v) = v {
                    answers.push(Given {
                        person_id: r.person_id,
                        value: v.to_string(),
                        percent: percent(scale, v),
                    });
                }
            }
            let reference = references.get(&(u.contact_id, key.to_owned())).cloned();
            let ref_percent = reference
                .as_deref()
                .and_then(|r| percent(scale, &AnswerValue::from_stored(r)));
            for g in &answers {
                let Some(p) = g.percent else { continue };
                if let (Some(r), Some(rp)) = (reference.as_deref(), ref_percent) {
                    let e = to_ref.entry(g.person_id).or_default();
                    e.0.push((p - rp).abs());
                    e.1 += usize::from(g.value == r);
                }
                let others: Vec<f64> = answers
                    .iter()
                    .filter(|o| o.person_id != g.person_id)
                    .filter_map(|o| o.percent)
                    .collect();
                if let Some(m) = mean(&others) {
                    to_group.entry(g.person_id).or_default().push((p - m).abs());
                }
            }
            let unanimous =
                answers.len() > 1 && answers.iter().all(|a| a.value == answers[0].value);
            cells.push(Cell {
                contact_id: u.contact_id,
                criterion: key.to_owned(),
                answers,
                reference,
                unanimous,
            });
        }
        let agreement = (!labels.is_empty())
            .then(|| {
                let names = raters.iter().map(|r| r.name.clone()).collect();
                let mut m = RatingMatrix::labelled(rows, Some(names), Some(labels)).ok()?;
                if let Scale::Custom(points) = scale {
                    m.categories = Some(points.iter().map(|p| p.label.clone()).collect());
                }
                AgreementReport::of(&m, level_of(scale)).ok()
            })
            .flatten();
        let flagged = agreement
            .as_ref()
            .and_then(|a| a.alpha)
            .is_some_and(|a| a < ALPHA_FLOOR);
        criteria.push(CriterionAgreement {
            criterion: key.to_owned(),
            name: c.spec.name.clone(),
            agreement,
            flagged,
        });
    }

    let score_of = |answers: &[Answer], channel: Channel| -> Option<f64> {
        let s = scoring::score(form, channel, answers).ok()?;
        s.missing.is_empty().then_some(s.score).flatten()
    };
    let mut reference_scores = BTreeMap::new();
    for u in units {
        let answers: Vec<Answer> = form
            .criteria()
            .filter(|c| applies(c, u))
            .filter_map(|c| {
                let v = references.get(&(u.contact_id, c.spec.key.clone()))?;
                Some(Answer {
                    criterion: c.spec.key.clone(),
                    value: AnswerValue::from_stored(v),
                    comment: String::new(),
                })
            })
            .collect();
        reference_scores.insert(u.contact_id, score_of(&answers, u.channel));
    }
    let participants = raters
        .iter()
        .map(|r| {
            let (diffs, exact) = to_ref.get(&r.person_id).cloned().unwrap_or_default();
            let vs_reference = Deviation {
                items: diffs.len(),
                mean_abs_diff: mean(&diffs),
                exact_share: (!diffs.is_empty()).then(|| exact as f64 / diffs.len() as f64),
            };
            let group = to_group.get(&r.person_id).cloned().unwrap_or_default();
            let vs_group = Deviation {
                items: group.len(),
                mean_abs_diff: mean(&group),
                exact_share: None,
            };
            let scores: BTreeMap<i64, Option<f64>> = units
                .iter()
                .filter_map(|u| {
                    let given = scores.get(&(u.contact_id, r.person_id))?;
                    Some((u.contact_id, score_of(given, u.channel)))
                })
                .collect();
            let banded: Vec<bool> = scores
                .iter()
                .filter_map(|(contact, s)| {
                    let reference = reference_scores.get(contact).copied().flatten()?;
                    Some((s.as_ref()? - reference).abs() <= SCORE_BAND)
                })
                .collect();
            let within_band = (!banded.is_empty())
                .then(|| banded.iter().filter(|b| **b).count() as f64 / banded.len() as f64);
            let distance = vs_reference.mean_abs_diff.or(vs_group.mean_abs_diff);
            ParticipantResult {
                person_id: r.person_id,
                name: r.name.clone(),
                flagged: distance.is_some_and(|d| d > TOLERANCE),
                vs_reference,
                vs_group,
                scores,
                within_band,
            }
        })
        .collect();
    Results {
        cells,
        criteria,
        participants,
        reference_scores,
        tolerance: TOLERANCE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        Form::from_json(
            r#"{"name": "t", "channels": ["phone"], "critical_mode": "fail", "sections": [
                {"key": "s", "title": "S", "criteria": [
                    {"key": "greet", "name": "Greet", "scale": "yes_no", "weight": 1},
                    {"key": "listen", "name": "Listen", "scale": "1-5", "weight": 1}]}]}"#,
        )
        .unwrap()
    }

    fn given(greet: &str, listen: i64) -> Vec<Answer> {
        let a = |k: &str, v: AnswerValue| Answer {
            criterion: k.into(),
            value: v,
            comment: String::new(),
        };
        vec![
            a("greet", AnswerValue::Text(greet.into())),
            a("listen", AnswerValue::Number(listen)),
        ]
    }

    #[test]
    fn distances_from_the_reference_and_the_group_by_hand() {
        let units: Vec<Unit> = [1, 2]
            .map(|id| Unit {
                contact_id: id,
                label: format!("c{id}"),
                channel: Channel::Phone,
            })
            .to_vec();
        let raters: Vec<Rater> = [1, 2, 3]
            .map(|id| Rater {
                person_id: PersonId(id),
                name: format!("P{id}"),
            })
            .to_vec();
        let mut scores = BTreeMap::new();
        for (p, c1, c2) in [
            (1, ("yes", 5), ("yes", 3)),
            (2, ("yes", 4), ("no", 3)),
            (3, ("no", 3), ("no", 1)),
        ] {
            scores.insert((1, PersonId(p)), given(c1.0, c1.1));
            scores.insert((2, PersonId(p)), given(c2.0, c2.1));
        }
        let refs = BTreeMap::from([
            ((1, "greet".to_owned()), "yes".to_owned()),
            ((1, "listen".to_owned()), "5".to_owned()),
            ((2, "greet".to_owned()), "no".to_owned()),
            ((2, "listen".to_owned()), "3".to_owned()),
        ]);
        let r = compute(&form(), &units, &raters, &scores, &refs);
        let p = |id: i64| {
            r.participants
                .iter()
                .find(|p| p.person_id == PersonId(id))
                .unwrap()
        };
        // P1: 0, 0, 100 (greeted c2, the reference did not), 0 → 25 on average, 3 of 4 exact.
        assert_eq!(p(1).vs_reference.items, 4);
        assert_eq!(p(1).vs_reference.mean_abs_diff, Some(25.0));
        assert_eq!(p(1).vs_reference.exact_share, Some(0.75));
        assert!(p(1).flagged);
        // P2: listening 4 (75 %) on c1 against 5 (100 %): 25 / 4 = 6.25.
        assert_eq!(p(2).vs_reference.mean_abs_diff, Some(6.25));
        assert!(!p(2).flagged);
        // P1 against the others' mean: |100 − 50|, |100 − 62.5|, |100 − 0|, |50 − 25|.
        assert_eq!(
            p(1).vs_group.mean_abs_diff,
            Some((50.0 + 37.5 + 100.0 + 25.0) / 4.0)
        );
        // Scores: reference 100 and 25; P1 100 and 75 → one of two within ±10.
        assert_eq!(r.reference_scores[&1], Some(100.0));
        assert_eq!(r.reference_scores[&2], Some(25.0));
        assert_eq!(p(1).scores[&2], Some(75.0));
        assert_eq!(p(1).within_band, Some(0.5));
        assert_eq!(p(3).within_band, Some(0.0));
        // Levels follow the scales.
        let level = |k: &str| {
            r.criteria
                .iter()
                .find(|c| c.criterion == k)
                .unwrap()
                .agreement
                .as_ref()
                .unwrap()
                .level
                .clone()
        };
        assert_eq!(
            (level("greet").as_str(), level("listen").as_str()),
            ("nominal", "ordinal")
        );
        assert!(r.cells.iter().all(|c| !c.unanimous));
    }
}
