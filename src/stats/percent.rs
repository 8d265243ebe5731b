//! Observed percent agreement.
//!
//! Defined as Krippendorff's observed agreement A_o = 1 − D_o(nominal): the
//! share of pairable pairings that match exactly,
//!
//! ```text
//! A_o = (1/n) Σ_c o_cc = (1/n) Σ_u Σ_c n_uc (n_uc − 1) / (m_u − 1)
//! ```
//!
//! over the units with m_u ≥ 2 values, where n is the number of pairable
//! values. Each unit weighs in proportion to its number of values, and within
//! a unit every ordered pair of values from different raters counts
//! 1/(m_u − 1) (Krippendorff 2011, "Computing Krippendorff's
//! Alpha-Reliability"). With complete data (every unit rated by all m raters)
//! this is the plain mean, over units, of the share of agreeing rater pairs.
//! It does not correct for chance agreement.

use serde::Serialize;

use super::error::StatsError;
use super::ratings::Ratings;

/// Observed percent agreement, as a proportion in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PercentAgreement {
    /// A_o, the share of agreeing pairable pairings.
    pub agreement: f64,
    /// Pairable units (units with at least two values).
    pub units: usize,
    /// n, the number of pairable values.
    pub pairable_values: usize,
}

/// Observed agreement A_o of `ratings`; values are compared for exact
/// equality. [`StatsError::NoPairableValues`] when no unit has two values.
pub fn percent_agreement(ratings: &Ratings) -> Result<PercentAgreement, StatsError> {
    let tally = ratings.nominal_tally();
    if tally.values == 0 {
        return Err(StatsError::NoPairableValues);
    }
    Ok(PercentAgreement {
        agreement: tally.agreeing / tally.values as f64,
        units: tally.units as usize,
        pairable_values: tally.values as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_data_is_mean_share_of_agreeing_pairs() {
        // Unit 0: 3 of 3 pairs agree; unit 1: 1 of 3; unit 2: 0 of 3.
        let r = Ratings::from_rows(&[
            vec![Some(1.0), Some(1.0), Some(1.0)],
            vec![Some(1.0), Some(1.0), Some(2.0)],
            vec![Some(1.0), Some(2.0), Some(3.0)],
        ])
        .expect("valid");
        let p = percent_agreement(&r).expect("defined");
        assert!((p.agreement - (1.0 + 1.0 / 3.0 + 0.0) / 3.0).abs() < 1e-15);
        assert_eq!((p.units, p.pairable_values), (3, 9));
    }

    #[test]
    fn missing_values_weight_units_by_their_values() {
        // Unit 0: 2 values that agree (weight 2, share 1); unit 1: 3 values,
        // 1 of 3 pairs agree (weight 3); unit 2 has one value and is ignored.
        let r = Ratings::from_rows(&[
            vec![Some(4.0), Some(1.0), None],
            vec![Some(4.0), Some(1.0), Some(2.0)],
            vec![None, Some(5.0), None],
        ])
        .expect("valid");
        let p = percent_agreement(&r).expect("defined");
        assert!((p.agreement - (2.0 * 1.0 + 3.0 / 3.0) / 5.0).abs() < 1e-15);
        assert_eq!((p.units, p.pairable_values), (2, 5));
        // 1 − D_o (nominal) on the same data.
        let a = super::super::alpha::krippendorff_alpha(&r, super::super::ratings::Level::Nominal)
            .expect("defined");
        assert!((p.agreement - (1.0 - a.observed)).abs() < 1e-15);
    }

    #[test]
    fn needs_a_pairable_unit() {
        let r = Ratings::from_rows(&[vec![Some(1.0), None], vec![None, Some(2.0)]]).expect("valid");
        assert_eq!(percent_agreement(&r), Err(StatsError::NoPairableValues));
    }
}
