//! Service KPIs: service level, ASA, abandon rate, handle times and first-response figures,
//! from additive totals over [`ContactFacts`].

use crate::kpi::{ContactFacts, KpiValueError, Outcome, ratio};

/// Which contacts the service level divides by.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SlVariant {
    /// Answered within T / (answered + abandoned). The default.
    #[default]
    OverOffered,
    /// Answered within T / answered.
    OverAnswered,
    /// Answered within T / (answered + abandoned after T): abandons within T count neither way.
    IgnoreEarlyAbandons,
}

impl SlVariant {
    /// Every variant, in display order.
    pub const ALL: [SlVariant; 3] = [
        SlVariant::OverOffered,
        SlVariant::OverAnswered,
        SlVariant::IgnoreEarlyAbandons,
    ];

    /// The stored and serialised name: `over_offered`, `over_answered` or
    /// `ignore_early_abandons`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlVariant::OverOffered => "over_offered",
            SlVariant::OverAnswered => "over_answered",
            SlVariant::IgnoreEarlyAbandons => "ignore_early_abandons",
        }
    }

    /// Reads a name written by [`SlVariant::as_str`] (surrounding spaces and letter case
    /// ignored).
    pub fn parse(s: &str) -> Result<Self, KpiValueError> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| KpiValueError::UnknownSlVariant(s.to_owned()))
    }
}

/// A program's service-level settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ServiceConfig {
    /// T: a contact answered after a wait of at most this many seconds is answered in time.
    pub answer_within_s: u32,
    /// S: an abandon after a wait of less than this many seconds is a short abandon.
    pub short_abandon_s: u32,
    /// The service-level target, a fraction 0–1.
    #[serde(rename = "sl_target")]
    pub target: f64,
    /// Which contacts the service level divides by.
    #[serde(rename = "sl_variant")]
    #[schema(value_type = String)]
    pub variant: SlVariant,
    /// E-mail, social, chat: a first response after at most this many seconds is in time.
    pub response_sla_s: u32,
}

impl Default for ServiceConfig {
    /// T = 20 s, S = 5 s, target 80 %, over offered, response SLA 24 h.
    fn default() -> Self {
        Self {
            answer_within_s: 20,
            short_abandon_s: 5,
            target: 0.80,
            variant: SlVariant::OverOffered,
            response_sla_s: 86_400,
        }
    }
}

/// Additive service totals over a set of contacts: counts and sums only, so totals of two
/// groups merge into exactly the totals of their union.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceTotals {
    /// Contacts an agent answered: handled plus transferred.
    pub handled: u64,
    /// Of `handled`, those an agent transferred.
    pub transferred: u64,
    /// Abandoned contacts that are not short abandons.
    pub abandoned: u64,
    /// Abandons after a wait shorter than S; left out of every other figure.
    pub short_abandoned: u64,
    /// Contacts a bot resolved; left out of every other figure.
    pub bot_resolved: u64,
    /// Of `handled`, those answered after a wait ≤ T.
    pub answered_within_t: u64,
    /// Of `abandoned`, those abandoned after a wait ≤ T.
    pub abandoned_within_t: u64,
    /// Sum of the waits of the answered contacts, seconds.
    pub wait_answered_s: u64,
    /// Longest wait of an answered or (non-short) abandoned contact, seconds; 0 when none.
    pub longest_wait_s: u32,
    /// Sum of talk time of the answered contacts, seconds.
    pub talk_s: u64,
    /// Sum of hold time of the answered contacts, seconds.
    pub hold_s: u64,
    /// Sum of after-contact work of the answered contacts, seconds.
    pub acw_s: u64,
    /// E-mail, social and chat contacts with a first response (bot-resolved contacts and short
    /// abandons excluded).
    pub responded: u64,
    /// Of `responded`, those with a first response ≤ the response SLA.
    pub responded_within_sla: u64,
    /// Sum of the first-response times of `responded`, seconds.
    pub first_response_s_sum: u64,
}

impl ServiceTotals {
    /// Totals of the given contacts.
    pub fn from_facts<'a>(
        facts: impl IntoIterator<Item = &'a ContactFacts>,
        cfg: &ServiceConfig,
    ) -> Self {
        let mut totals = Self::default();
        for c in facts {
            totals.add(c, cfg);
        }
        totals
    }

    /// Counts one contact in.
    pub fn add(&mut self, c: &ContactFacts, cfg: &ServiceConfig) {
        let within_t = c.wait_s <= cfg.answer_within_s;
        match c.outcome {
            Outcome::BotResolved => {
                self.bot_resolved += 1;
                return;
            }
            Outcome::Abandoned if c.wait_s < cfg.short_abandon_s => {
                self.short_abandoned += 1;
                return;
            }
            Outcome::Abandoned => {
                self.abandoned += 1;
                self.abandoned_within_t += u64::from(within_t);
                self.longest_wait_s = self.longest_wait_s.max(c.wait_s);
            }
            Outcome::Handled | Outcome::Transferred => {
                self.handled += 1;
                self.transferred += u64::from(c.outcome == Outcome::Transferred);
                self.answered_within_t += u64::from(within_t);
                self.wait_answered_s += u64::from(c.wait_s);
                self.longest_wait_s = self.longest_wait_s.max(c.wait_s);
                self.talk_s += u64::from(c.talk_s);
                self.hold_s += u64::from(c.hold_s);
                self.acw_s += u64::from(c.acw_s);
            }
        }
        if let Some(first) = c.first_response_s
            && c.channel.has_first_response()
        {
            self.responded += 1;
            self.responded_within_sla += u64::from(first <= cfg.response_sla_s);
            self.first_response_s_sum += u64::from(first);
        }
    }

    /// Adds another group's totals; the result equals the totals of both groups' contacts.
    pub fn merge(&mut self, other: &ServiceTotals) {
        self.handled += other.handled;
        self.transferred += other.transferred;
        self.abandoned += other.abandoned;
        self.short_abandoned += other.short_abandoned;
        self.bot_resolved += other.bot_resolved;
        self.answered_within_t += other.answered_within_t;
        self.abandoned_within_t += other.abandoned_within_t;
        self.wait_answered_s += other.wait_answered_s;
        self.longest_wait_s = self.longest_wait_s.max(other.longest_wait_s);
        self.talk_s += other.talk_s;
        self.hold_s += other.hold_s;
        self.acw_s += other.acw_s;
        self.responded += other.responded;
        self.responded_within_sla += other.responded_within_sla;
        self.first_response_s_sum += other.first_response_s_sum;
    }

    /// Offered contacts: answered + abandoned (short abandons and bot-resolved excluded).
    pub fn offered(&self) -> u64 {
        self.handled + self.abandoned
    }

    /// Service level, a fraction 0–1, divided as the variant says.
    pub fn service_level(&self, variant: SlVariant) -> Option<f64> {
        let denominator = match variant {
            SlVariant::OverOffered => self.offered(),
            SlVariant::OverAnswered => self.handled,
            SlVariant::IgnoreEarlyAbandons => {
                self.offered().saturating_sub(self.abandoned_within_t)
            }
        };
        ratio(self.answered_within_t, denominator)
    }

    /// Whether the service level (in the configured variant) reaches the configured target.
    pub fn meets_target(&self, cfg: &ServiceConfig) -> Option<bool> {
        self.service_level(cfg.variant).map(|sl| sl >= cfg.target)
    }

    /// Average speed of answer: mean wait of the answered contacts, seconds.
    pub fn asa_s(&self) -> Option<f64> {
        ratio(self.wait_answered_s, self.handled)
    }

    /// Abandon rate: abandoned / offered, a fraction 0–1 (short abandons excluded from both).
    pub fn abandon_rate(&self) -> Option<f64> {
        ratio(self.abandoned, self.offered())
    }

    /// Average handle time: (talk + hold + after-contact work) / answered, seconds.
    pub fn aht_s(&self) -> Option<f64> {
        ratio(self.talk_s + self.hold_s + self.acw_s, self.handled)
    }

    /// Mean talk time of the answered contacts, seconds.
    pub fn avg_talk_s(&self) -> Option<f64> {
        ratio(self.talk_s, self.handled)
    }

    /// Mean hold time of the answered contacts, seconds.
    pub fn avg_hold_s(&self) -> Option<f64> {
        ratio(self.hold_s, self.handled)
    }

    /// Mean after-contact work of the answered contacts, seconds.
    pub fn avg_acw_s(&self) -> Option<f64> {
        ratio(self.acw_s, self.handled)
    }

    /// Transfer rate: transferred / answered, a fraction 0–1.
    pub fn transfer_rate(&self) -> Option<f64> {
        ratio(self.transferred, self.handled)
    }

    /// Share of first responses within the response SLA, a fraction 0–1.
    pub fn sla_response_rate(&self) -> Option<f64> {
        ratio(self.responded_within_sla, self.responded)
    }

    /// Mean first-response time, seconds.
    pub fn avg_first_response_s(&self) -> Option<f64> {
        ratio(self.first_response_s_sum, self.responded)
    }
}

#[cfg(test)]
mod tests {
    use crate::kpi::{
        Channel, ContactFacts, Outcome, ServiceConfig, ServiceTotals, SlVariant, assert_close,
    };
    use proptest::prelude::*;

    fn contact(
        channel: Channel,
        outcome: Outcome,
        wait_s: u32,
        talk: u32,
        hold: u32,
        acw: u32,
    ) -> ContactFacts {
        ContactFacts {
            channel,
            outcome,
            wait_s,
            first_response_s: None,
            talk_s: talk,
            hold_s: hold,
            acw_s: acw,
        }
    }

    fn phone(outcome: Outcome, wait_s: u32, talk: u32, hold: u32, acw: u32) -> ContactFacts {
        contact(Channel::Phone, outcome, wait_s, talk, hold, acw)
    }

    fn responded(channel: Channel, first_response_s: Option<u32>) -> ContactFacts {
        ContactFacts {
            first_response_s,
            ..contact(channel, Outcome::Handled, 0, 0, 0, 0)
        }
    }

    /// The fixture of docs/kpis.md: 10 phone contacts and one bot contact.
    fn fixture() -> Vec<ContactFacts> {
        use Outcome::*;
        vec![
            phone(Handled, 0, 100, 0, 20),
            phone(Handled, 5, 200, 30, 10),
            phone(Handled, 12, 150, 0, 30),
            phone(Handled, 20, 300, 60, 40),
            phone(Handled, 21, 120, 0, 0),
            phone(Handled, 40, 90, 10, 20),
            phone(Abandoned, 3, 0, 0, 0),
            phone(Abandoned, 15, 0, 0, 0),
            phone(Abandoned, 30, 0, 0, 0),
            phone(Transferred, 8, 60, 0, 0),
            contact(Channel::Bot, BotResolved, 0, 200, 0, 0),
        ]
    }

    #[test]
    fn phone_fixture_by_hand() {
        // T = 20 s, S = 5 s.
        // Answered (handled + transferred): waits 0, 5, 12, 20, 21, 40, 8 → 7, of which
        //   within T (wait ≤ 20): 0, 5, 12, 20, 8 → 5.
        // Abandoned: wait 3 is short (< 5) → short_abandoned 1; waits 15, 30 → abandoned 2,
        //   of which within T: 15 → 1.
        // Bot-resolved: 1, counted apart (its talk time is not summed).
        // Offered = 7 + 2 = 9.
        let t = ServiceTotals::from_facts(&fixture(), &ServiceConfig::default());
        assert_eq!(t.handled, 7);
        assert_eq!(t.transferred, 1);
        assert_eq!(t.abandoned, 2);
        assert_eq!(t.short_abandoned, 1);
        assert_eq!(t.bot_resolved, 1);
        assert_eq!(t.answered_within_t, 5);
        assert_eq!(t.abandoned_within_t, 1);
        assert_eq!(t.offered(), 9);
        // SL over offered = 5 / 9; over answered = 5 / 7; ignoring early abandons
        // = 5 / (7 + 2 − 1) = 5 / 8.
        assert_close(t.service_level(SlVariant::OverOffered), 5.0 / 9.0);
        assert_close(t.service_level(SlVariant::OverAnswered), 5.0 / 7.0);
        assert_close(t.service_level(SlVariant::IgnoreEarlyAbandons), 0.625);
        // Target 80 %: 0.556 < 0.8.
        assert_eq!(t.meets_target(&ServiceConfig::default()), Some(false));
        // ASA = (0 + 5 + 12 + 20 + 21 + 40 + 8) / 7 = 106 / 7.
        assert_eq!(t.wait_answered_s, 106);
        assert_close(t.asa_s(), 106.0 / 7.0);
        // Abandon rate = 2 / 9.
        assert_close(t.abandon_rate(), 2.0 / 9.0);
        // Talk = 100 + 200 + 150 + 300 + 120 + 90 + 60 = 1020; hold = 30 + 60 + 10 = 100;
        // ACW = 20 + 10 + 30 + 40 + 0 + 20 + 0 = 120; AHT = 1240 / 7.
        assert_eq!((t.talk_s, t.hold_s, t.acw_s), (1020, 100, 120));
        assert_close(t.aht_s(), 1240.0 / 7.0);
        assert_close(t.avg_talk_s(), 1020.0 / 7.0);
        assert_close(t.avg_hold_s(), 100.0 / 7.0);
        assert_close(t.avg_acw_s(), 120.0 / 7.0);
        assert_close(t.transfer_rate(), 1.0 / 7.0);
        // Longest wait over answered and non-short abandoned: max(40, 30) = 40.
        assert_eq!(t.longest_wait_s, 40);
        // No e-mail, social or chat contact.
        assert_eq!(t.responded, 0);
        assert_eq!(t.sla_response_rate(), None);
        assert_eq!(t.avg_first_response_s(), None);
    }

    #[test]
    fn other_config_moves_the_edges() {
        // T = 10 s, S = 15 s, over answered.
        // Within T among answered: waits 0, 5, 8 → 3 of 7.
        // Abandoned: only wait 3 is short (15 is not < 15); 15 and 30 are abandoned, neither
        // within T.
        let cfg = ServiceConfig {
            answer_within_s: 10,
            short_abandon_s: 15,
            target: 0.4,
            variant: SlVariant::OverAnswered,
            response_sla_s: 3600,
        };
        let t = ServiceTotals::from_facts(&fixture(), &cfg);
        assert_eq!(t.answered_within_t, 3);
        assert_eq!(
            (t.abandoned, t.short_abandoned, t.abandoned_within_t),
            (2, 1, 0)
        );
        // 3 / 7 = 0.43 ≥ 0.4.
        assert_close(t.service_level(cfg.variant), 3.0 / 7.0);
        assert_eq!(t.meets_target(&cfg), Some(true));
        // With no abandon within T the two offered variants agree: 3 / 9.
        assert_close(t.service_level(SlVariant::OverOffered), 3.0 / 9.0);
        assert_close(t.service_level(SlVariant::IgnoreEarlyAbandons), 3.0 / 9.0);
    }

    #[test]
    fn abandoned_contact_can_hold_the_longest_wait() {
        use Outcome::*;
        // Answered waits 10, 25; abandoned waits 4 (short), 5 (exactly S: not short), 90.
        let facts = [
            phone(Handled, 10, 60, 0, 0),
            phone(Handled, 25, 60, 0, 0),
            phone(Abandoned, 4, 0, 0, 0),
            phone(Abandoned, 5, 0, 0, 0),
            phone(Abandoned, 90, 0, 0, 0),
        ];
        let t = ServiceTotals::from_facts(&facts, &ServiceConfig::default());
        assert_eq!(t.longest_wait_s, 90);
        assert_eq!(
            (t.abandoned, t.short_abandoned, t.abandoned_within_t),
            (2, 1, 1)
        );
        // Within T: 10 → 1. SL = 1 / 4, 1 / 2, 1 / (4 − 1) = 1 / 3. Abandon rate 2 / 4.
        assert_close(t.service_level(SlVariant::OverOffered), 0.25);
        assert_close(t.service_level(SlVariant::OverAnswered), 0.5);
        assert_close(t.service_level(SlVariant::IgnoreEarlyAbandons), 1.0 / 3.0);
        assert_close(t.abandon_rate(), 0.5);
        // ASA = (10 + 25) / 2.
        assert_close(t.asa_s(), 17.5);
    }

    #[test]
    fn short_abandons_and_bots_alone_give_no_figures() {
        let facts = [
            phone(Outcome::Abandoned, 4, 0, 0, 0),
            contact(Channel::Bot, Outcome::BotResolved, 7, 30, 0, 0),
            ContactFacts {
                first_response_s: Some(10),
                ..contact(Channel::Chat, Outcome::BotResolved, 0, 0, 0, 0)
            },
        ];
        let t = ServiceTotals::from_facts(&facts, &ServiceConfig::default());
        assert_eq!((t.short_abandoned, t.bot_resolved), (1, 2));
        assert_eq!(t.offered(), 0);
        assert_eq!(t.longest_wait_s, 0);
        assert_eq!(t.responded, 0);
        for v in SlVariant::ALL {
            assert_eq!(t.service_level(v), None);
        }
        assert_eq!(t.meets_target(&ServiceConfig::default()), None);
        assert_eq!(t.asa_s(), None);
        assert_eq!(t.abandon_rate(), None);
        assert_eq!(t.aht_s(), None);
        assert_eq!(t.avg_talk_s(), None);
        assert_eq!(t.transfer_rate(), None);
    }

    #[test]
    fn first_response_figures_by_hand() {
        // E-mail SLA 24 h = 86 400 s.
        // Counted: e-mail 3 600 (in SLA), e-mail 86 400 (exactly the SLA: in), e-mail 90 000
        // (late), social 100 (in), chat 30 (in) → responded 5, within SLA 4,
        // sum 3 600 + 86 400 + 90 000 + 100 + 30 = 180 130, mean 36 026.
        // Not counted: a phone call with a first response, an e-mail without one.
        let facts = [
            responded(Channel::Email, Some(3_600)),
            responded(Channel::Email, Some(86_400)),
            responded(Channel::Email, Some(90_000)),
            responded(Channel::Social, Some(100)),
            responded(Channel::Chat, Some(30)),
            responded(Channel::Phone, Some(10)),
            responded(Channel::Email, None),
        ];
        let t = ServiceTotals::from_facts(&facts, &ServiceConfig::default());
        assert_eq!(t.responded, 5);
        assert_eq!(t.responded_within_sla, 4);
        assert_eq!(t.first_response_s_sum, 180_130);
        assert_close(t.sla_response_rate(), 0.8);
        assert_close(t.avg_first_response_s(), 36_026.0);
    }

    #[test]
    fn config_defaults_and_serde() {
        let cfg = ServiceConfig::default();
        assert_eq!(cfg.answer_within_s, 20);
        assert_eq!(cfg.short_abandon_s, 5);
        assert_eq!(cfg.target, 0.80);
        assert_eq!(cfg.variant, SlVariant::OverOffered);
        assert_eq!(cfg.response_sla_s, 86_400);
        let partial: ServiceConfig =
            serde_json::from_str(r#"{"answer_within_s":30,"sl_variant":"ignore_early_abandons"}"#)
                .unwrap();
        assert_eq!(partial.answer_within_s, 30);
        assert_eq!(partial.variant, SlVariant::IgnoreEarlyAbandons);
        assert_eq!(partial.short_abandon_s, 5);
        for v in SlVariant::ALL {
            assert_eq!(SlVariant::parse(v.as_str()), Ok(v));
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                format!("\"{}\"", v.as_str())
            );
        }
        assert!(SlVariant::parse("offered").is_err());
    }

    #[test]
    fn totals_serialise_round_trip() {
        let t = ServiceTotals::from_facts(&fixture(), &ServiceConfig::default());
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<ServiceTotals>(&json).unwrap(), t);
    }

    fn any_contact() -> impl Strategy<Value = ContactFacts> {
        (
            prop::sample::select(Channel::ALL.to_vec()),
            prop::sample::select(Outcome::ALL.to_vec()),
            0u32..120,
            prop::option::of(0u32..200_000),
            (0u32..3_000, 0u32..600, 0u32..600),
        )
            .prop_map(
                |(channel, outcome, wait_s, first_response_s, (talk_s, hold_s, acw_s))| {
                    ContactFacts {
                        channel,
                        outcome,
                        wait_s,
                        first_response_s,
                        talk_s,
                        hold_s,
                        acw_s,
                    }
                },
            )
    }

    fn any_config() -> impl Strategy<Value = ServiceConfig> {
        (0u32..60, 0u32..15, 0u32..150_000).prop_map(|(t, s, sla)| ServiceConfig {
            answer_within_s: t,
            short_abandon_s: s,
            response_sla_s: sla,
            ..ServiceConfig::default()
        })
    }

    proptest! {
        #[test]
        fn merge_equals_totals_of_the_union(
            facts in prop::collection::vec(any_contact(), 0..60),
            split in any::<prop::sample::Index>(),
            cfg in any_config(),
        ) {
            let at = split.index(facts.len() + 1);
            let (left, right) = facts.split_at(at);
            let mut merged = ServiceTotals::from_facts(left, &cfg);
            merged.merge(&ServiceTotals::from_facts(right, &cfg));
            prop_assert_eq!(merged, ServiceTotals::from_facts(&facts, &cfg));
        }

        #[test]
        fn variants_are_ordered_and_rates_are_fractions(
            facts in prop::collection::vec(any_contact(), 0..60),
            cfg in any_config(),
        ) {
            let t = ServiceTotals::from_facts(&facts, &cfg);
            // Denominators: answered ≤ offered − abandoned within T ≤ offered.
            let offered = t.service_level(SlVariant::OverOffered);
            let early = t.service_level(SlVariant::IgnoreEarlyAbandons);
            let answered = t.service_level(SlVariant::OverAnswered);
            if let (Some(o), Some(e)) = (offered, early) {
                prop_assert!(0.0 <= o && o <= e && e <= 1.0);
            }
            if let (Some(e), Some(a)) = (early, answered) {
                prop_assert!(e <= a && a <= 1.0);
            }
            for rate in [t.abandon_rate(), t.sla_response_rate(), t.transfer_rate()].into_iter().flatten() {
                prop_assert!((0.0..=1.0).contains(&rate));
            }
            prop_assert_eq!(
                t.handled + t.abandoned + t.short_abandoned + t.bot_resolved,
                facts.len() as u64
            );
        }
    }
}
