//! Gwet's AC1 agreement coefficient for nominal ratings by several raters,
//! with missing ratings.
//!
//! Gwet (2008), "Computing inter-rater reliability and its variance in the
//! presence of high agreement", *British Journal of Mathematical and
//! Statistical Psychology* 61, 29–48; Gwet (2014), *Handbook of Inter-Rater
//! Reliability*, 4th ed., ch. 4. Unit i has r_i ratings, r_ik in category k,
//! and q is the number of categories:
//!
//! ```text
//! p_a = mean over units with r_i ≥ 2 of Σ_k r_ik (r_ik − 1) / (r_i (r_i − 1))
//! π_k = mean over units with r_i ≥ 1 of r_ik / r_i
//! p_e = Σ_k π_k (1 − π_k) / (q − 1)
//! AC1 = (p_a − p_e) / (1 − p_e)
//! ```
//!
//! p_a is the observed agreement of Fleiss' kappa; the chance agreement p_e
//! is instead the probability that a rating is random (a "hard" unit) times
//! the chance agreement of random ratings, which keeps AC1 stable when one
//! category dominates (the kappa paradoxes). By default q is the number of
//! distinct values in the matrix (as `irrCAC` does); a scale's full number of
//! categories can be declared instead. For q ≥ 2, p_e ≤ 1/q < 1, so AC1 is
//! defined whenever some unit has two ratings and q ≥ 2.

use serde::Serialize;

use super::error::StatsError;
use super::ratings::{Ratings, unit_size};

/// Gwet's AC1 with its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GwetAc1 {
    /// AC1 = (p_a − p_e)/(1 − p_e).
    pub ac1: f64,
    /// p_a, the observed agreement.
    pub observed: f64,
    /// p_e, the chance agreement.
    pub expected: f64,
    /// Units with at least two ratings (those averaged in p_a).
    pub units: usize,
    /// q, the number of categories.
    pub categories: usize,
}

/// Gwet's AC1 with q = the number of distinct values in `ratings`.
///
/// Errors: [`StatsError::NoPairableValues`] when no unit has two ratings and
/// [`StatsError::NoVariation`] when only one category occurs (q < 2).
pub fn gwet_ac1(ratings: &Ratings) -> Result<GwetAc1, StatsError> {
    compute(ratings, ratings.distinct_values().len())
}

/// Gwet's AC1 with a declared number of categories q (the size of the
/// rating scale, counting categories nobody used).
///
/// Errors: as [`gwet_ac1`], and [`StatsError::TooFewCategories`] when more
/// distinct values occur than `categories`.
pub fn gwet_ac1_with_categories(
    ratings: &Ratings,
    categories: usize,
) -> Result<GwetAc1, StatsError> {
    let observed = ratings.distinct_values().len();
    if observed > categories {
        return Err(StatsError::TooFewCategories {
            declared: categories,
            observed,
        });
    }
    compute(ratings, categories)
}

fn compute(ratings: &Ratings, q: usize) -> Result<GwetAc1, StatsError> {
    let tally = ratings.nominal_tally();
    if tally.units == 0 {
        return Err(StatsError::NoPairableValues);
    }
    if q < 2 {
        return Err(StatsError::NoVariation);
    }
    let counts = ratings.unit_counts();
    // Σ_i r_ik / r_i over units with at least one rating.
    let mut shares = vec![0.0f64; counts.values.len()];
    let mut rated_units = 0usize;
    for unit in counts.units() {
        let r = unit_size(unit.iter().copied());
        if r == 0 {
            continue;
        }
        rated_units += 1;
        for &(code, n) in unit {
            if let Some(s) = shares.get_mut(code as usize) {
                *s += f64::from(n) / r as f64;
            }
        }
    }
    let spread: f64 = shares
        .iter()
        .map(|s| s / rated_units as f64)
        .map(|pi| pi * (1.0 - pi))
        .sum();
    let expected = spread / (q - 1) as f64;
    let observed = tally.unit_agreement / tally.units as f64;
    Ok(GwetAc1 {
        ac1: (observed - expected) / (1.0 - expected),
        observed,
        expected,
        units: tally.units as usize,
        categories: q,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        // 3 raters, 4 units, categories a=1, b=2:
        //   unit 0: 1 1 1   r=3  agreement 6/6 = 1      shares (1, 0)
        //   unit 1: 1 2 -   r=2  agreement 0            shares (1/2, 1/2)
        //   unit 2: 2 2 1   r=3  agreement 2/6 = 1/3    shares (1/3, 2/3)
        //   unit 3: - 2 -   r=1  (not in p_a)           shares (0, 1)
        // p_a = (1 + 0 + 1/3)/3 = 4/9
        // π_1 = (1 + 1/2 + 1/3 + 0)/4 = 11/24, π_2 = 13/24
        // p_e = 2 · (11/24)(13/24) / (2 − 1) = 286/576
        // AC1 = (4/9 − 286/576)/(1 − 286/576) = −30/290 = −3/29.
        let r = Ratings::from_rows(&[
            vec![Some(1.0), Some(1.0), Some(2.0), None],
            vec![Some(1.0), Some(2.0), Some(2.0), Some(2.0)],
            vec![Some(1.0), None, Some(1.0), None],
        ])
        .expect("valid");
        let g = gwet_ac1(&r).expect("defined");
        assert!((g.observed - 4.0 / 9.0).abs() < 1e-15);
        assert!((g.expected - 286.0 / 576.0).abs() < 1e-15);
        assert!((g.ac1 - (-3.0 / 29.0)).abs() < 1e-15, "{}", g.ac1);
        assert_eq!((g.units, g.categories), (3, 2));
    }

    #[test]
    fn published_reliability_data_matches_irrcac() {
        // Krippendorff (2011) data; irrCAC 0.4.4 `CAC(df,
        // categories=[1,2,3,4,5], digits=17).gwet()` gives
        // 0.7754440681269948 (p_a = 9/11, p_e = 0.19032118055555555).
        let r = Ratings::from_rows(&super::super::ratings::krippendorff_2011()).expect("valid");
        let g = gwet_ac1(&r).expect("defined");
        assert!((g.ac1 - 0.7754440681269948).abs() < 1e-12, "{}", g.ac1);
        assert!((g.observed - 9.0 / 11.0).abs() < 1e-15);
        assert!((g.expected - 0.19032118055555555).abs() < 1e-15);
        // Declaring a 7-point scale only changes the divisor q − 1.
        let g7 = gwet_ac1_with_categories(&r, 7).expect("defined");
        assert!((g7.expected - g.expected * 4.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn undefined_cases() {
        let one = Ratings::from_rows(&[vec![Some(3.0), Some(3.0)], vec![Some(3.0), None]])
            .expect("valid");
        assert_eq!(gwet_ac1(&one), Err(StatsError::NoVariation));
        let lonely =
            Ratings::from_rows(&[vec![Some(1.0), None], vec![None, Some(2.0)]]).expect("valid");
        assert_eq!(gwet_ac1(&lonely), Err(StatsError::NoPairableValues));
        let r = Ratings::from_rows(&vec![vec![Some(1.0), Some(2.0), Some(3.0)]; 2]).expect("valid");
        assert_eq!(
            gwet_ac1_with_categories(&r, 2),
            Err(StatsError::TooFewCategories {
                declared: 2,
                observed: 3
            })
        );
    }
}
