//! What a sampling plan says: how many contacts per agent and week, from which channels, which
//! targeted rules add contacts worth a look, who evaluates them and how soon. Checked here, so a
//! stored plan is always one the draw can follow.

use serde::{Deserialize, Serialize};

use crate::domain::{PersonId, ProgramId, Timestamp};
use crate::kpi::Channel;
use crate::web::error::AppError;

/// Why a contact is in the sample.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// The customer's CSAT answer is at most the threshold (default 2).
    LowCsat,
    /// The customer said the relationship was not kept (survey RQ "no").
    CustomerRqNo,
    /// The customer came back within the first-contact-resolution window.
    RepeatContact,
    /// Talk, hold and after-work time together at least the threshold in seconds (default 900).
    LongHandle,
    /// Waited at least the threshold in seconds (default 120).
    LongWait,
    /// The customer came from the bot: a bot conversation not resolved by the bot in the hour
    /// before.
    BotHandover,
}

impl RuleKind {
    pub const ALL: [RuleKind; 6] = [
        RuleKind::LowCsat,
        RuleKind::CustomerRqNo,
        RuleKind::RepeatContact,
        RuleKind::LongHandle,
        RuleKind::LongWait,
        RuleKind::BotHandover,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::LowCsat => "low_csat",
            RuleKind::CustomerRqNo => "customer_rq_no",
            RuleKind::RepeatContact => "repeat_contact",
            RuleKind::LongHandle => "long_handle",
            RuleKind::LongWait => "long_wait",
            RuleKind::BotHandover => "bot_handover",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The threshold's default and its allowed range, for the rules that have one.
    pub fn threshold_range(self) -> Option<(i64, i64, i64)> {
        match self {
            RuleKind::LowCsat => Some((2, 1, 4)),
            RuleKind::LongHandle => Some((900, 1, 86_400)),
            RuleKind::LongWait => Some((120, 1, 86_400)),
            RuleKind::CustomerRqNo | RuleKind::RepeatContact | RuleKind::BotHandover => None,
        }
    }
}

/// A targeted rule: up to `per_agent` contacts of each agent a week that match it, on top of the
/// random sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub kind: RuleKind,
    /// `low_csat`: the highest CSAT that matches (1–4); `long_handle`, `long_wait`: seconds.
    /// Left out: the default. The other rules take none.
    #[serde(default)]
    pub threshold: Option<i64>,
    /// Contacts per agent and week this rule adds (1–20).
    #[serde(default = "one")]
    pub per_agent: u32,
}

fn one() -> u32 {
    1
}

impl Rule {
    /// The threshold in force: the given one or the default.
    pub fn limit(&self) -> i64 {
        self.threshold
            .or(self.kind.threshold_range().map(|(d, _, _)| d))
            .unwrap_or(0)
    }
}

/// A plan as created or changed through the API and the pages.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub name: String,
    /// Random contacts per agent and week (0–50), spread over the channels by each agent's volume.
    pub per_agent: u32,
    /// The channels sampled: `phone`, `email`, `chat`, `social`.
    pub channels: Vec<String>,
    /// The evaluators the contacts go to, the least loaded first.
    pub evaluator_ids: Vec<PersonId>,
    /// Days after the sampled week's Sunday that an assignment is due (1–60, default 7).
    #[serde(default = "seven")]
    pub due_days: u32,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn seven() -> u32 {
    7
}

fn yes() -> bool {
    true
}

/// A stored plan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub id: i64,
    pub program_id: ProgramId,
    pub name: String,
    pub per_agent: u32,
    #[schema(value_type = Vec<String>)]
    pub channels: Vec<Channel>,
    pub evaluator_ids: Vec<PersonId>,
    pub due_days: u32,
    pub rules: Vec<Rule>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::InvalidAt {
        field: field.into(),
        message: message.into(),
    }
}

/// A plan's settings once checked (evaluators are checked against the program by the store).
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub name: String,
    pub per_agent: u32,
    pub channels: Vec<Channel>,
    pub evaluator_ids: Vec<PersonId>,
    pub due_days: u32,
    pub rules: Vec<Rule>,
    pub active: bool,
}

impl PlanInput {
    /// Checks every field; the first fault is named by its path (`rules[1].threshold`).
    pub fn check(&self) -> Result<Checked, AppError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "name the plan in 1 to 100 characters"));
        }
        if self.per_agent > 50 {
            return Err(invalid(
                "per_agent",
                "at most 50 contacts per agent and week",
            ));
        }
        let mut channels = Vec::new();
        for (i, raw) in self.channels.iter().enumerate() {
            let c = Channel::parse(raw)
                .ok()
                .filter(|c| *c != Channel::Bot)
                .ok_or_else(|| {
                    invalid(
                        format!("channels[{i}]"),
                        format!("expected phone, email, chat or social, got {raw:?}"),
                    )
                })?;
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
        if channels.is_empty() {
            return Err(invalid("channels", "choose at least one channel"));
        }
        channels.sort_by_key(|c| Channel::ALL.iter().position(|a| a == c));
        let mut evaluator_ids = Vec::new();
        for id in &self.evaluator_ids {
            if !evaluator_ids.contains(id) {
                evaluator_ids.push(*id);
            }
        }
        if evaluator_ids.is_empty() {
            return Err(invalid("evaluator_ids", "choose at least one evaluator"));
        }
        if !(1..=60).contains(&self.due_days) {
            return Err(invalid("due_days", "between 1 and 60 days"));
        }
        if self.rules.len() > RuleKind::ALL.len() {
            return Err(invalid("rules", "each rule at most once"));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if self.rules[..i].iter().any(|o| o.kind == r.kind) {
                return Err(invalid(
                    format!("rules[{i}].kind"),
                    format!("{} is in the plan already", r.kind.as_str()),
                ));
            }
            if !(1..=20).contains(&r.per_agent) {
                return Err(invalid(
                    format!("rules[{i}].per_agent"),
                    "between 1 and 20 contacts per agent and week",
                ));
            }
            match (r.kind.threshold_range(), r.threshold) {
                (None, Some(_)) => {
                    return Err(invalid(
                        format!("rules[{i}].threshold"),
                        format!("{} takes no threshold", r.kind.as_str()),
                    ));
                }
                (Some((_, low, high)), Some(t)) if !(low..=high).contains(&t) => {
                    return Err(invalid(
                        format!("rules[{i}].threshold"),
                        format!("between {low} and {high}"),
                    ));
                }
                _ => {}
            }
        }
        if self.per_agent == 0 && self.rules.is_empty() {
            return Err(invalid(
                "per_agent",
                "a plan samples at least one contact per agent or has a targeted rule",
            ));
        }
        Ok(Checked {
            name: name.to_owned(),
            per_agent: self.per_agent,
            channels,
            evaluator_ids,
            due_days: self.due_days,
            rules: self.rules.clone(),
            active: self.active,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PlanInput {
        PlanInput {
            name: " Weekly ".into(),
            per_agent: 4,
            channels: vec!["chat".into(), "Phone".into(), "chat".into()],
            evaluator_ids: vec![PersonId(3), PersonId(2), PersonId(3)],
            due_days: 7,
            rules: vec![Rule {
                kind: RuleKind::LowCsat,
                threshold: None,
                per_agent: 1,
            }],
            active: true,
        }
    }

    #[test]
    fn a_plan_is_tidied_and_checked() {
        let c = input().check().unwrap();
        assert_eq!(c.name, "Weekly");
        assert_eq!(c.channels, [Channel::Phone, Channel::Chat]);
        assert_eq!(c.evaluator_ids, [PersonId(3), PersonId(2)]);
        assert_eq!(c.rules[0].limit(), 2);
    }

    #[test]
    fn faults_are_named_by_their_path() {
        let field = |p: PlanInput| match p.check() {
            Err(AppError::InvalidAt { field, .. }) => field,
            other => panic!("expected a fault, got {other:?}"),
        };
        let mut p = input();
        p.channels.push("bot".into());
        assert_eq!(field(p), "channels[3]");
        let mut p = input();
        p.rules.push(Rule {
            kind: RuleKind::RepeatContact,
            threshold: Some(3),
            per_agent: 1,
        });
        assert_eq!(field(p), "rules[1].threshold");
        let mut p = input();
        p.rules[0].threshold = Some(5);
        assert_eq!(field(p), "rules[0].threshold");
        let mut p = input();
        p.rules.push(p.rules[0].clone());
        assert_eq!(field(p), "rules[1].kind");
        let mut p = input();
        p.evaluator_ids.clear();
        assert_eq!(field(p), "evaluator_ids");
        let mut p = input();
        p.per_agent = 0;
        p.rules.clear();
        assert_eq!(field(p), "per_agent");
        let mut p = input();
        p.due_days = 0;
        assert_eq!(field(p), "due_days");
    }
}
