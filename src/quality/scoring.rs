//! The score of an evaluation, by the rule of docs/scoring.md: each answer earns a share of its
//! criterion's weight; the score is the earned weight over the weight of the criteria that
//! applied and were not answered "n/a"; a failed critical criterion fails the evaluation and,
//! where the form says so, sets the score to 0. Rounded only for display.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::form::{CriterionKind, CriticalMode, Form};
use super::scale::AnswerValue;
use crate::kpi::Channel;

/// One criterion's answer with its comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The criterion's key.
    pub criterion: String,
    /// `"yes"`, `"no"`, `"n/a"`, a number on a 1–5 or 0–10 scale, or a custom point's label.
    #[schema(value_type = serde_json::Value)]
    pub value: AnswerValue,
    #[serde(default)]
    pub comment: String,
}

/// An answer that does not fit the form, with the place it was given (`answers[2].value`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct AnswerError {
    pub path: String,
    pub message: String,
}

/// What one answer earned.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CriterionScore {
    pub criterion: String,
    /// The share of the criterion's points earned, 0–100; `null` for "n/a".
    pub percent: Option<f64>,
}

/// An evaluation's figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Scored {
    /// Every answer in form order.
    pub criteria: Vec<CriterionScore>,
    /// Weight earned and weight that counted.
    pub earned: f64,
    pub possible: f64,
    /// Earned over possible, 0–100, before the critical rule; `null` when nothing counted.
    pub computed: Option<f64>,
    /// The score after the critical rule.
    pub score: Option<f64>,
    /// Keys of the critical criteria answered with a 0 % answer.
    pub critical_failures: Vec<String>,
    pub failed: bool,
    /// No critical failure and the score at or above the pass mark; `null` without a score.
    pub passed: Option<bool>,
    /// The relationship question's answer, when asked and answered.
    pub rq: Option<bool>,
    /// Criteria that apply to the contact and have no answer yet.
    pub missing: Vec<String>,
}

fn wrong(i: usize, field: &str, message: impl Into<String>) -> AnswerError {
    AnswerError {
        path: format!("answers[{i}].{field}"),
        message: message.into(),
    }
}

/// Scores `answers` to `form` for a contact on `channel`. Answers may be missing (a draft);
/// [`Scored::missing`] lists them.
pub fn score(form: &Form, channel: Channel, answers: &[Answer]) -> Result<Scored, AnswerError> {
    let mut seen = BTreeSet::new();
    for (i, a) in answers.iter().enumerate() {
        let Some(criterion) = form.criterion(&a.criterion) else {
            return Err(wrong(
                i,
                "criterion",
                format!("the form has no criterion {:?}", a.criterion),
            ));
        };
        if !seen.insert(a.criterion.as_str()) {
            return Err(wrong(i, "criterion", "answered twice"));
        }
        if !criterion.applies_to(channel) {
            return Err(wrong(
                i,
                "criterion",
                format!("does not apply to {} contacts", channel.as_str()),
            ));
        }
        if a.value.is_not_applicable() {
            if !criterion.spec.na_allowed {
                return Err(wrong(i, "value", "this criterion cannot be \"n/a\""));
            }
        } else if criterion.scale.percent(&a.value).is_none() {
            return Err(wrong(
                i,
                "value",
                format!(
                    "{} is not on the scale: answer {}",
                    a.value,
                    criterion.scale.describe()
                ),
            ));
        }
        if a.comment.chars().count() > 4000 {
            return Err(wrong(i, "comment", "is longer than 4000 characters"));
        }
    }

    let mut scored = Scored {
        criteria: Vec::new(),
        earned: 0.0,
        possible: 0.0,
        computed: None,
        score: None,
        critical_failures: Vec::new(),
        failed: false,
        passed: None,
        rq: None,
        missing: Vec::new(),
    };
    for criterion in form.criteria().filter(|c| c.applies_to(channel)) {
        let key = &criterion.spec.key;
        let Some(answer) = answers.iter().find(|a| &a.criterion == key) else {
            scored.missing.push(key.clone());
            continue;
        };
        let percent = if answer.value.is_not_applicable() {
            None
        } else {
            criterion.scale.percent(&answer.value)
        };
        if let Some(p) = percent {
            let weight = f64::from(criterion.spec.weight);
            scored.earned += weight * p / 100.0;
            scored.possible += weight;
            if criterion.spec.critical && p == 0.0 {
                scored.critical_failures.push(key.clone());
            }
            if criterion.spec.kind == CriterionKind::Relationship {
                scored.rq = Some(p == 100.0);
            }
        }
        scored.criteria.push(CriterionScore {
            criterion: key.clone(),
            percent,
        });
    }
    scored.failed = !scored.critical_failures.is_empty();
    scored.computed = (scored.possible > 0.0).then(|| scored.earned * 100.0 / scored.possible);
    scored.score = match (scored.computed, form.critical_mode()) {
        (Some(_), CriticalMode::Zero) if scored.failed => Some(0.0),
        (computed, _) => computed,
    };
    scored.passed = scored
        .score
        .map(|s| !scored.failed && s >= f64::from(form.pass_mark()));
    Ok(scored)
}

/// A score as shown: one decimal, `66.7`.
pub fn display(score: f64) -> String {
    format!("{score:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::form::tests::sample_spec;

    fn answer(criterion: &str, value: AnswerValue) -> Answer {
        Answer {
            criterion: criterion.into(),
            value,
            comment: String::new(),
        }
    }

    fn t(s: &str) -> AnswerValue {
        AnswerValue::Text(s.into())
    }

    fn form(mode: CriticalMode) -> Form {
        let mut spec = sample_spec();
        spec.critical_mode = mode;
        Form::try_from(spec).unwrap()
    }

    // The worked examples of docs/scoring.md.

    #[test]
    fn example_1_weighted_share_of_the_points() {
        let s = score(
            &form(CriticalMode::Zero),
            Channel::Phone,
            &[
                answer("greeting", t("yes")),
                answer("listening", AnswerValue::Number(4)),
                answer("information", t("Partly")),
                answer("relationship", t("yes")),
            ],
        )
        .unwrap();
        assert_eq!((s.earned, s.possible), (4.0, 6.0));
        assert_eq!(s.score, Some(200.0 / 3.0));
        assert_eq!(display(s.score.unwrap()), "66.7");
        assert_eq!(s.passed, Some(false));
        assert_eq!(s.rq, Some(true));
        assert!(s.missing.is_empty() && !s.failed);
    }

    #[test]
    fn example_2_not_applicable_leaves_both_sides() {
        let s = score(
            &form(CriticalMode::Zero),
            Channel::Phone,
            &[
                answer("greeting", t("no")),
                answer("listening", t("n/a")),
                answer("information", t("Fully")),
                answer("relationship", t("no")),
            ],
        )
        .unwrap();
        assert_eq!((s.earned, s.possible), (3.0, 4.0));
        assert_eq!(s.score, Some(75.0));
        assert_eq!(s.criteria[1].percent, None);
        assert_eq!(s.passed, Some(false));
        assert_eq!(s.rq, Some(false));
    }

    #[test]
    fn example_3_a_critical_failure_by_the_forms_setting() {
        let answers = [
            answer("greeting", t("yes")),
            answer("listening", AnswerValue::Number(5)),
            answer("information", t("Wrong")),
            answer("relationship", t("yes")),
        ];
        let zero = score(&form(CriticalMode::Zero), Channel::Phone, &answers).unwrap();
        assert_eq!(zero.computed, Some(50.0));
        assert_eq!(zero.score, Some(0.0));
        assert!(zero.failed);
        assert_eq!(zero.critical_failures, ["information"]);
        assert_eq!(zero.passed, Some(false));
        let fail = score(&form(CriticalMode::Fail), Channel::Phone, &answers).unwrap();
        assert_eq!(fail.score, Some(50.0));
        assert!(fail.failed);
        assert_eq!(fail.passed, Some(false));
    }

    #[test]
    fn example_4_criteria_of_other_channels_are_not_asked() {
        let s = score(
            &form(CriticalMode::Zero),
            Channel::Email,
            &[
                answer("greeting", t("yes")),
                answer("listening", AnswerValue::Number(5)),
                answer("information", t("Fully")),
            ],
        )
        .unwrap();
        assert_eq!(s.score, Some(100.0));
        assert_eq!(s.passed, Some(true));
        assert_eq!(s.rq, None);
        assert!(s.missing.is_empty());
    }

    #[test]
    fn a_draft_lists_what_is_missing() {
        let s = score(
            &form(CriticalMode::Zero),
            Channel::Phone,
            &[answer("listening", AnswerValue::Number(3))],
        )
        .unwrap();
        assert_eq!(s.missing, ["greeting", "information", "relationship"]);
        assert_eq!(s.score, Some(50.0));
        let none = score(&form(CriticalMode::Zero), Channel::Phone, &[]).unwrap();
        assert_eq!((none.score, none.passed), (None, None));
    }

    #[test]
    fn answers_that_do_not_fit_name_their_place() {
        let f = form(CriticalMode::Zero);
        let e = |answers: &[Answer], channel| score(&f, channel, answers).unwrap_err();
        let bad = e(&[answer("greeting", t("maybe"))], Channel::Phone);
        assert_eq!(bad.path, "answers[0].value");
        assert!(bad.message.contains("\"yes\" or \"no\""), "{bad}");
        let bad = e(
            &[answer("greeting", t("yes")), answer("tone", t("yes"))],
            Channel::Phone,
        );
        assert_eq!(bad.path, "answers[1].criterion");
        let bad = e(&[answer("greeting", t("n/a"))], Channel::Phone);
        assert_eq!(bad.path, "answers[0].value");
        let bad = e(&[answer("relationship", t("yes"))], Channel::Email);
        assert!(bad.message.contains("email"), "{bad}");
        let bad = e(
            &[answer("greeting", t("yes")), answer("greeting", t("no"))],
            Channel::Phone,
        );
        assert_eq!(bad.path, "answers[1].criterion");
        let bad = e(
            &[answer("listening", AnswerValue::Number(0))],
            Channel::Phone,
        );
        assert!(bad.message.contains("from 1 to 5"), "{bad}");
    }
}
