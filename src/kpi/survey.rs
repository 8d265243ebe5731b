//! Survey KPIs: CSAT, NPS and the "request resolved" question, from additive totals over
//! validated answers.

use crate::kpi::{KpiValueError, ratio};

/// A CSAT answer on the 1–5 scale (5 = very satisfied); other values cannot be built.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "u8")]
pub struct Csat(u8);

impl Csat {
    /// Accepts 1..=5.
    pub fn parse(v: i64) -> Result<Self, KpiValueError> {
        match u8::try_from(v) {
            Ok(n @ 1..=5) => Ok(Self(n)),
            _ => Err(KpiValueError::CsatOutOfRange(v)),
        }
    }

    /// The answer, 1..=5.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Whether the answer is in the top two boxes (4 or 5).
    pub fn is_top2(self) -> bool {
        self.0 >= 4
    }
}

impl TryFrom<i64> for Csat {
    type Error = KpiValueError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::parse(v)
    }
}

impl From<Csat> for u8 {
    fn from(c: Csat) -> u8 {
        c.0
    }
}

/// An NPS ("how likely are you to recommend …") answer on the 0–10 scale; other values cannot
/// be built.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "u8")]
pub struct Nps(u8);

impl Nps {
    /// Accepts 0..=10.
    pub fn parse(v: i64) -> Result<Self, KpiValueError> {
        match u8::try_from(v) {
            Ok(n @ 0..=10) => Ok(Self(n)),
            _ => Err(KpiValueError::NpsOutOfRange(v)),
        }
    }

    /// The answer, 0..=10.
    pub fn get(self) -> u8 {
        self.0
    }

    /// A promoter answered 9 or 10.
    pub fn is_promoter(self) -> bool {
        self.0 >= 9
    }

    /// A detractor answered 0 to 6.
    pub fn is_detractor(self) -> bool {
        self.0 <= 6
    }
}

impl TryFrom<i64> for Nps {
    type Error = KpiValueError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::parse(v)
    }
}

impl From<Nps> for u8 {
    fn from(n: Nps) -> u8 {
        n.0
    }
}

/// Additive survey totals: counts and sums only, so totals of two groups merge into exactly
/// the totals of their union.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SurveyTotals {
    /// CSAT answers given.
    pub csat_answers: u64,
    /// Of those, answers 4 or 5.
    pub csat_top2: u64,
    /// Sum of the CSAT answers.
    pub csat_sum: u64,
    /// NPS answers given.
    pub nps_answers: u64,
    /// Of those, answers 9 or 10.
    pub promoters: u64,
    /// Of those, answers 0 to 6.
    pub detractors: u64,
    /// Answers to the relationship question (kept or strengthened?) given.
    pub rq_answers: u64,
    /// Of those, answers yes.
    pub rq_yes: u64,
}

impl SurveyTotals {
    /// Counts one survey response in; a question left unanswered (`None`) counts nowhere.
    pub fn add(&mut self, csat: Option<Csat>, nps: Option<Nps>, rq: Option<bool>) {
        if let Some(c) = csat {
            self.csat_answers += 1;
            self.csat_top2 += u64::from(c.is_top2());
            self.csat_sum += u64::from(c.get());
        }
        if let Some(n) = nps {
            self.nps_answers += 1;
            self.promoters += u64::from(n.is_promoter());
            self.detractors += u64::from(n.is_detractor());
        }
        if let Some(yes) = rq {
            self.rq_answers += 1;
            self.rq_yes += u64::from(yes);
        }
    }

    /// Adds another group's totals; the result equals the totals of both groups' answers.
    pub fn merge(&mut self, other: &SurveyTotals) {
        self.csat_answers += other.csat_answers;
        self.csat_top2 += other.csat_top2;
        self.csat_sum += other.csat_sum;
        self.nps_answers += other.nps_answers;
        self.promoters += other.promoters;
        self.detractors += other.detractors;
        self.rq_answers += other.rq_answers;
        self.rq_yes += other.rq_yes;
    }

    /// Share of CSAT answers that are 4 or 5, a fraction 0–1.
    pub fn csat_top2_share(&self) -> Option<f64> {
        ratio(self.csat_top2, self.csat_answers)
    }

    /// Mean CSAT answer, 1–5.
    pub fn csat_mean(&self) -> Option<f64> {
        ratio(self.csat_sum, self.csat_answers)
    }

    /// NPS answers that are 7 or 8.
    pub fn passives(&self) -> u64 {
        self.nps_answers
            .saturating_sub(self.promoters)
            .saturating_sub(self.detractors)
    }

    /// Net promoter score as a fraction −1..1: promoters / answers − detractors / answers.
    pub fn nps(&self) -> Option<f64> {
        let promoters = ratio(self.promoters, self.nps_answers)?;
        let detractors = ratio(self.detractors, self.nps_answers)?;
        Some(promoters - detractors)
    }

    /// Share of "request resolved" answers that are yes, a fraction 0–1.
    pub fn rq_share(&self) -> Option<f64> {
        ratio(self.rq_yes, self.rq_answers)
    }
}

#[cfg(test)]
mod tests {
    use crate::kpi::{Csat, KpiValueError, Nps, SurveyTotals, assert_close};
    use proptest::prelude::*;

    fn csat(v: i64) -> Option<Csat> {
        Some(Csat::parse(v).unwrap())
    }

    fn nps(v: i64) -> Option<Nps> {
        Some(Nps::parse(v).unwrap())
    }

    #[test]
    fn answers_outside_the_scale_are_rejected() {
        for ok in 1..=5 {
            assert_eq!(Csat::parse(ok).map(Csat::get), Ok(ok as u8));
        }
        for bad in [0, 6, -1, 256 + 4, i64::MIN, i64::MAX] {
            assert_eq!(Csat::parse(bad), Err(KpiValueError::CsatOutOfRange(bad)));
        }
        for ok in 0..=10 {
            assert_eq!(Nps::parse(ok).map(Nps::get), Ok(ok as u8));
        }
        for bad in [11, -1, 256, i64::MIN, i64::MAX] {
            assert_eq!(Nps::parse(bad), Err(KpiValueError::NpsOutOfRange(bad)));
        }
    }

    #[test]
    fn serde_checks_the_scale() {
        assert_eq!(serde_json::from_str::<Csat>("4").unwrap().get(), 4);
        assert!(serde_json::from_str::<Csat>("0").is_err());
        assert!(serde_json::from_str::<Nps>("11").is_err());
        assert_eq!(serde_json::to_string(&Nps::parse(9).unwrap()).unwrap(), "9");
    }

    #[test]
    fn survey_fixture_by_hand() {
        // Seven responses:
        //   CSAT 5, 4, 3, 1, 5, –, –   → 5 answers, top two (4–5): 5, 4, 5 → 3;
        //                                sum 18, mean 18 / 5 = 3.6; top-2 share 3 / 5.
        //   NPS 10, 9, 8, 7, 6, 0, 10  → 7 answers, promoters 10, 9, 10 → 3,
        //                                detractors 6, 0 → 2, passives 8, 7 → 2;
        //                                NPS = 3 / 7 − 2 / 7 = 1 / 7 (≈ +14 points).
        //   Resolved yes, no, yes, –, –, –, – → 2 of 3.
        let rows = [
            (csat(5), nps(10), Some(true)),
            (csat(4), nps(9), Some(false)),
            (csat(3), nps(8), Some(true)),
            (csat(1), nps(7), None),
            (csat(5), nps(6), None),
            (None, nps(0), None),
            (None, nps(10), None),
        ];
        let mut t = SurveyTotals::default();
        for (c, n, rq) in rows {
            t.add(c, n, rq);
        }
        assert_eq!((t.csat_answers, t.csat_top2, t.csat_sum), (5, 3, 18));
        assert_close(t.csat_top2_share(), 0.6);
        assert_close(t.csat_mean(), 3.6);
        assert_eq!((t.nps_answers, t.promoters, t.detractors), (7, 3, 2));
        assert_eq!(t.passives(), 2);
        assert_close(t.nps(), 1.0 / 7.0);
        assert_eq!((t.rq_answers, t.rq_yes), (3, 2));
        assert_close(t.rq_share(), 2.0 / 3.0);
    }

    #[test]
    fn nps_can_be_negative_and_empty_is_none() {
        // Answers 0, 5, 9 → (1 − 2) / 3 = −1 / 3.
        let mut t = SurveyTotals::default();
        assert_eq!(t.nps(), None);
        assert_eq!(t.csat_mean(), None);
        assert_eq!(t.csat_top2_share(), None);
        assert_eq!(t.rq_share(), None);
        for v in [0, 5, 9] {
            t.add(None, nps(v), None);
        }
        assert_close(t.nps(), -1.0 / 3.0);
        assert_eq!(t.csat_answers, 0);
        assert_eq!(t.csat_mean(), None);
    }

    fn any_row() -> impl Strategy<Value = (Option<Csat>, Option<Nps>, Option<bool>)> {
        (
            prop::option::of(1i64..=5),
            prop::option::of(0i64..=10),
            prop::option::of(any::<bool>()),
        )
            .prop_map(|(c, n, rq)| {
                (
                    c.and_then(|v| Csat::parse(v).ok()),
                    n.and_then(|v| Nps::parse(v).ok()),
                    rq,
                )
            })
    }

    fn totals(rows: &[(Option<Csat>, Option<Nps>, Option<bool>)]) -> SurveyTotals {
        let mut t = SurveyTotals::default();
        for &(c, n, rq) in rows {
            t.add(c, n, rq);
        }
        t
    }

    proptest! {
        #[test]
        fn merge_equals_totals_of_the_union(
            rows in prop::collection::vec(any_row(), 0..60),
            split in any::<prop::sample::Index>(),
        ) {
            let (left, right) = rows.split_at(split.index(rows.len() + 1));
            let mut merged = totals(left);
            merged.merge(&totals(right));
            let all = totals(&rows);
            prop_assert_eq!(merged, all);
            if let Some(n) = all.nps() {
                prop_assert!((-1.0..=1.0).contains(&n));
            }
            if let Some(m) = all.csat_mean() {
                prop_assert!((1.0..=5.0).contains(&m));
            }
        }
    }
}
