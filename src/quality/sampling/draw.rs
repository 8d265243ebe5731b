//! The draw: from one week's contacts, each agent's targeted contacts (rule by rule) and random
//! sample (spread over the channels by the agent's volume in each), and who evaluates each.
//! Pure: the same contacts, plan and seed always give the same sample.

use std::collections::{BTreeMap, HashMap};

use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::plan::{Rule, RuleKind};
use crate::domain::PersonId;
use crate::kpi::Channel;

/// What the rules look at in a contact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub csat: Option<i16>,
    pub customer_rq: Option<bool>,
    pub repeat: bool,
    pub handle_s: i64,
    pub wait_s: i64,
    pub bot_handover: bool,
}

/// A contact that may be sampled: handled by an agent, not evaluated, not sampled before.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub contact_id: i64,
    pub agent: String,
    pub channel: Channel,
    pub facts: Facts,
}

/// Why a contact was drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    Random,
    Rule(RuleKind),
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Random => "random",
            Reason::Rule(k) => k.as_str(),
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        if raw == "random" {
            Some(Reason::Random)
        } else {
            RuleKind::parse(raw).map(Reason::Rule)
        }
    }
}

/// A drawn contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub contact_id: i64,
    pub agent: String,
    pub reason: Reason,
}

/// Whether a contact matches a rule.
pub fn matches(rule: &Rule, f: &Facts) -> bool {
    let limit = rule.limit();
    match rule.kind {
        RuleKind::LowCsat => f.csat.is_some_and(|c| i64::from(c) <= limit),
        RuleKind::CustomerRqNo => f.customer_rq == Some(false),
        RuleKind::RepeatContact => f.repeat,
        RuleKind::LongHandle => f.handle_s >= limit,
        RuleKind::LongWait => f.wait_s >= limit,
        RuleKind::BotHandover => f.bot_handover,
    }
}

/// Splits `n` over strata of the given sizes in proportion to them, by largest remainder
/// (Hamilton's method; ties to the larger stratum, then the earlier one). A stratum never gets
/// more than it holds; `n` at or above the total takes everything.
pub fn allocate(n: usize, sizes: &[usize]) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    if n >= total {
        return sizes.to_vec();
    }
    // Exact quotas as fractions n·size / total: whole part and remainder.
    let mut out: Vec<usize> = sizes.iter().map(|s| n * s / total).collect();
    let left = n - out.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = n * sizes[a] % total;
        let rb = n * sizes[b] % total;
        rb.cmp(&ra).then(sizes[b].cmp(&sizes[a])).then(a.cmp(&b))
    });
    for &i in order.iter().take(left) {
        out[i] += 1;
    }
    out
}

/// The seed of a plan's draw for a week: the same plan and week draw the same sample.
pub fn seed(plan: i64, week_day: i64) -> u64 {
    (plan as u64).rotate_left(32) ^ (week_day as u64)
}

/// Draws each agent's sample. Agents are taken in order of their code and contacts in order of
/// their id, so only the seed decides. Targeted rules come first, in the plan's order, each
/// adding up to its `per_agent` contacts not drawn already; then `per_agent` random contacts
/// from the rest, spread over the channels with [`allocate`].
pub fn draw(candidates: &[Candidate], per_agent: usize, rules: &[Rule], seed: u64) -> Vec<Pick> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_agent: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        by_agent.entry(c.agent.as_str()).or_default().push(c);
    }
    let mut picks = Vec::new();
    for (agent, mut theirs) in by_agent {
        theirs.sort_by_key(|c| c.contact_id);
        let mut taken: Vec<i64> = Vec::new();
        for rule in rules {
            let matching: Vec<&&Candidate> = theirs
                .iter()
                .filter(|c| !taken.contains(&c.contact_id) && matches(rule, &c.facts))
                .collect();
            let mut chosen: Vec<i64> = matching
                .choose_multiple(&mut rng, rule.per_agent as usize)
                .map(|c| c.contact_id)
                .collect();
            chosen.sort_unstable();
            for id in chosen {
                taken.push(id);
                picks.push(Pick {
                    contact_id: id,
                    agent: agent.to_owned(),
                    reason: Reason::Rule(rule.kind),
                });
            }
        }
        let mut strata: Vec<(Channel, Vec<i64>)> = Vec::new();
        for c in &theirs {
            if taken.contains(&c.contact_id) {
                continue;
            }
            match strata.iter_mut().find(|(ch, _)| *ch == c.channel) {
                Some((_, ids)) => ids.push(c.contact_id),
                None => strata.push((c.channel, vec![c.contact_id])),
            }
        }
        strata.sort_by_key(|(ch, _)| Channel::ALL.iter().position(|a| a == ch));
        let sizes: Vec<usize> = strata.iter().map(|(_, ids)| ids.len()).collect();
        for ((_, ids), k) in strata.iter().zip(allocate(per_agent, &sizes)) {
            let mut chosen: Vec<i64> = ids.choose_multiple(&mut rng, k).copied().collect();
            chosen.sort_unstable();
            picks.extend(chosen.into_iter().map(|id| Pick {
                contact_id: id,
                agent: agent.to_owned(),
                reason: Reason::Random,
            }));
        }
    }
    picks
}

/// Gives each pick to the evaluator with the fewest open assignments at that moment (ties: the
/// plan's order), never to the agent themselves. `load` holds each evaluator's open
/// assignments before the draw, in the plan's order; a pick nobody may take is left out.
pub fn assign(
    picks: Vec<Pick>,
    load: &[(PersonId, usize)],
    person_of_agent: &HashMap<String, PersonId>,
) -> Vec<(Pick, PersonId)> {
    let mut load = load.to_vec();
    let mut out = Vec::with_capacity(picks.len());
    for p in picks {
        let agent = person_of_agent.get(&p.agent).copied();
        let best = load
            .iter_mut()
            .filter(|(who, _)| Some(*who) != agent)
            .min_by_key(|(_, n)| *n);
        if let Some((who, n)) = best {
            *n += 1;
            out.push((p, *who));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_by_largest_remainder() {
        // 5 over 6 / 3 / 1: quotas 3.0, 1.5, 0.5 → 3, 1, 0 and one left for the larger of the
        // two halves, the 3.
        assert_eq!(allocate(5, &[6, 3, 1]), [3, 2, 0]);
        // 4 over 10 / 10 / 10: 1.33 each → 1, 1, 1 and the first of the ties.
        assert_eq!(allocate(4, &[10, 10, 10]), [2, 1, 1]);
        // 3 over 70 / 20 / 10: 2.1, 0.6, 0.3 → 2, 0, 0, then the 0.6.
        assert_eq!(allocate(3, &[70, 20, 10]), [2, 1, 0]);
        // More wanted than there are: everything.
        assert_eq!(allocate(9, &[2, 3]), [2, 3]);
        assert_eq!(allocate(0, &[2, 3]), [0, 0]);
        assert_eq!(allocate(2, &[]), Vec::<usize>::new());
    }

    #[test]
    fn allocation_sums_to_n_and_stays_within_each_stratum() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2000 {
            let k = rand::Rng::random_range(&mut rng, 1..6);
            let sizes: Vec<usize> = (0..k)
                .map(|_| rand::Rng::random_range(&mut rng, 0..40))
                .collect();
            let n = rand::Rng::random_range(&mut rng, 0..60);
            let got = allocate(n, &sizes);
            let total: usize = sizes.iter().sum();
            assert_eq!(
                got.iter().sum::<usize>(),
                n.min(total),
                "{n} over {sizes:?}"
            );
            for (g, s) in got.iter().zip(&sizes) {
                assert!(g <= s);
                // Within one of the exact quota.
                if n < total {
                    let quota = n as f64 * *s as f64 / total as f64;
                    assert!(
                        (*g as f64 - quota).abs() < 1.0,
                        "{n} over {sizes:?}: {got:?}"
                    );
                }
            }
        }
    }

    fn contact(id: i64, agent: &str, channel: Channel, facts: Facts) -> Candidate {
        Candidate {
            contact_id: id,
            agent: agent.into(),
            channel,
            facts,
        }
    }

    fn week() -> Vec<Candidate> {
        let mut v = Vec::new();
        for i in 0..8 {
            v.push(contact(i, "ann", Channel::Phone, Facts::default()));
        }
        for i in 8..10 {
            v.push(contact(i, "ann", Channel::Email, Facts::default()));
        }
        v.push(contact(
            10,
            "ann",
            Channel::Chat,
            Facts {
                csat: Some(1),
                ..Facts::default()
            },
        ));
        v.push(contact(
            11,
            "bob",
            Channel::Phone,
            Facts {
                csat: Some(3),
                wait_s: 300,
                ..Facts::default()
            },
        ));
        v
    }

    #[test]
    fn rules_first_then_a_random_sample_by_channel() {
        let rules = [
            Rule {
                kind: RuleKind::LowCsat,
                threshold: None,
                per_agent: 2,
            },
            Rule {
                kind: RuleKind::LongWait,
                threshold: Some(300),
                per_agent: 1,
            },
        ];
        let picks = draw(&week(), 5, &rules, 42);
        let ann: Vec<&Pick> = picks.iter().filter(|p| p.agent == "ann").collect();
        // Ann: her one low-CSAT chat by rule, then 5 of her 10 other contacts: 8 phone and
        // 2 e-mail → 4 and 1.
        assert_eq!(ann[0].contact_id, 10);
        assert_eq!(ann[0].reason, Reason::Rule(RuleKind::LowCsat));
        let random: Vec<i64> = ann[1..].iter().map(|p| p.contact_id).collect();
        assert_eq!(random.len(), 5);
        assert_eq!(random.iter().filter(|id| **id < 8).count(), 4);
        assert_eq!(random.iter().filter(|id| (8..10).contains(*id)).count(), 1);
        // Bob: CSAT 3 is not low; waited 300 s → long wait; nothing left for the random sample.
        let bob: Vec<(i64, Reason)> = picks
            .iter()
            .filter(|p| p.agent == "bob")
            .map(|p| (p.contact_id, p.reason))
            .collect();
        assert_eq!(bob, [(11, Reason::Rule(RuleKind::LongWait))]);
        // The same seed draws the same; another usually not.
        assert_eq!(draw(&week(), 5, &rules, 42), picks);
        assert!((0..20).any(|s| draw(&week(), 5, &rules, s) != picks));
    }

    #[test]
    fn the_least_loaded_evaluator_takes_the_next_pick_but_never_their_own_contact() {
        let pick = |id, agent: &str| Pick {
            contact_id: id,
            agent: agent.into(),
            reason: Reason::Random,
        };
        let picks = vec![
            pick(1, "ann"),
            pick(2, "ann"),
            pick(3, "ann"),
            pick(4, "eve"),
        ];
        let load = [(PersonId(7), 1), (PersonId(8), 0)];
        let eve_is_8 = HashMap::from([("eve".to_owned(), PersonId(8))]);
        let got: Vec<(i64, PersonId)> = assign(picks, &load, &eve_is_8)
            .into_iter()
            .map(|(p, who)| (p.contact_id, who))
            .collect();
        // 8 has none → 8; then 1 each → the first in order, 7; then 8 (1 against 2); eve's own
        // contact goes to 7 although 8 has fewer.
        assert_eq!(
            got,
            [
                (1, PersonId(8)),
                (2, PersonId(7)),
                (3, PersonId(8)),
                (4, PersonId(7))
            ]
        );
        let only_eve = [(PersonId(8), 0)];
        assert!(assign(vec![pick(4, "eve")], &only_eve, &eve_is_8).is_empty());
    }
}
