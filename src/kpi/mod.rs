//! The KPI core: contact-center figures computed from plain facts, without I/O.
//!
//! Callers load facts (one [`ContactFacts`] per contact, survey answers, [`FcrContact`]s),
//! add them to additive totals ([`ServiceTotals`], [`SurveyTotals`], [`FcrTotals`]), merge
//! totals across groups (buckets, agents, queues) and read the derived figures from the merged
//! totals. Totals are plain counts and sums, so merging totals gives exactly the totals of the
//! union of their contacts; derived figures are never averaged.
//!
//! Every rate is a fraction 0–1 (`None` when its denominator is 0); NPS is a fraction −1..1.
//! Durations are whole seconds. User documentation: `docs/kpis.md`.

mod bucket;
mod facts;
mod fcr;
mod service;
mod settings;
mod survey;

pub use bucket::{Bucket, bucket_label, bucket_start};
pub use facts::{Channel, ContactFacts, Outcome};
pub use fcr::{FcrContact, FcrTotals, fcr_totals, first_contact_resolution};
pub use service::{ServiceConfig, ServiceTotals, SlVariant};
pub use settings::{KpiSettings, KpiSettingsPatch, SettingError};
pub use survey::{Csat, Nps, SurveyTotals};

/// A value that is not valid for the KPI core: a name that is not in a vocabulary,
/// or a survey answer outside its scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpiValueError {
    /// The text is not one of the channel names (`phone`, `email`, `chat`, `social`, `bot`).
    UnknownChannel(String),
    /// The text is not one of the outcome names (`handled`, `abandoned`, `transferred`,
    /// `bot_resolved`).
    UnknownOutcome(String),
    /// The text is not one of the service-level variant names.
    UnknownSlVariant(String),
    /// The text is not one of the bucket names (`15min`, `30min`, `60min`, `day`, `week`,
    /// `month`).
    UnknownBucket(String),
    /// A CSAT answer outside 1..=5.
    CsatOutOfRange(i64),
    /// An NPS answer outside 0..=10.
    NpsOutOfRange(i64),
}

impl std::fmt::Display for KpiValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownChannel(s) => write!(
                f,
                "unknown channel {s:?}: expected phone, email, chat, social or bot"
            ),
            Self::UnknownOutcome(s) => write!(
                f,
                "unknown outcome {s:?}: expected handled, abandoned, transferred or bot_resolved"
            ),
            Self::UnknownSlVariant(s) => write!(
                f,
                "unknown service-level variant {s:?}: expected over_offered, over_answered \
                 or ignore_early_abandons"
            ),
            Self::UnknownBucket(s) => write!(
                f,
                "unknown time bucket {s:?}: expected 15min, 30min, 60min, day, week or month"
            ),
            Self::CsatOutOfRange(v) => write!(f, "a CSAT answer is 1 to 5, not {v}"),
            Self::NpsOutOfRange(v) => write!(f, "an NPS answer is 0 to 10, not {v}"),
        }
    }
}

impl std::error::Error for KpiValueError {}

/// `num / den` as a fraction, or `None` when `den` is 0.
pub(crate) fn ratio(num: u64, den: u64) -> Option<f64> {
    if den == 0 {
        None
    } else {
        Some(num as f64 / den as f64)
    }
}

/// Asserts that a derived figure is present and within 1e-12 of the hand-computed value.
#[cfg(test)]
#[track_caller]
pub(crate) fn assert_close(actual: Option<f64>, expected: f64) {
    match actual {
        Some(a) => assert!(
            (a - expected).abs() < 1e-12,
            "expected {expected}, got {a} (difference {})",
            (a - expected).abs()
        ),
        None => panic!("expected {expected}, got None"),
    }
}

#[cfg(test)]
mod tests {
    use crate::kpi::{KpiValueError, ratio};

    #[test]
    fn ratio_is_none_on_zero_denominator() {
        assert_eq!(ratio(0, 0), None);
        assert_eq!(ratio(3, 0), None);
        assert_eq!(ratio(1, 4), Some(0.25));
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            KpiValueError::CsatOutOfRange(6).to_string(),
            "a CSAT answer is 1 to 5, not 6"
        );
        assert_eq!(
            KpiValueError::UnknownBucket("15".into()).to_string(),
            "unknown time bucket \"15\": expected 15min, 30min, 60min, day, week or month"
        );
    }
}
