//! Fleiss' kappa (many raters, nominal) and Cohen's kappa (two raters,
//! unweighted or with linear or quadratic weights).
//!
//! # Fleiss' kappa
//!
//! Fleiss (1971), "Measuring nominal scale agreement among many raters",
//! *Psychological Bulletin* 76(5), 378–382. Unit i has r_i ratings, r_ik of
//! them in category k. Only units with r_i ≥ 2 take part:
//!
//! ```text
//! P_i = Σ_k r_ik (r_ik − 1) / (r_i (r_i − 1))      agreeing share of rater pairs
//! P̄   = mean of P_i over those units
//! p_k = Σ_i r_ik / Σ_i r_i                          category shares of their ratings
//! P_e = Σ_k p_k²
//! κ   = (P̄ − P_e) / (1 − P_e)
//! ```
//!
//! With complete data (every unit rated r times) this is exactly Fleiss'
//! statistic; with missing ratings each unit's P_i uses its own r_i and every
//! rating counts once in p_k. κ is undefined (an error) when fewer than one
//! unit has two ratings or when all those ratings fall in one category
//! (P_e = 1).
//!
//! # Cohen's kappa
//!
//! Cohen (1960) and, for weights, Cohen (1968), "Weighted kappa", *Psychological
//! Bulletin* 70(4), 213–220. From the K × K table of the two raters' joint
//! classifications (N pairs, row totals a_i, column totals b_j) and
//! disagreement weights w_ij:
//!
//! ```text
//! κ_w = 1 − N Σ_ij w_ij t_ij / Σ_ij w_ij a_i b_j
//! ```
//!
//! with w_ij = [i ≠ j] (unweighted; then κ = (p_o − p_e)/(1 − p_e)),
//! |i − j| (linear) or (i − j)² (quadratic), where i and j are the ranks of the
//! categories among the sorted distinct values — as statsmodels'
//! `cohens_kappa(table, wt=...)` does on a table. The reported observed and
//! expected agreements are 1 − Σ w p / max w on the agreement scale.

use serde::Serialize;

use super::error::StatsError;
use super::ratings::Ratings;

/// Fleiss' kappa with its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FleissKappa {
    /// κ = (P̄ − P_e)/(1 − P_e).
    pub kappa: f64,
    /// P̄, the mean share of agreeing rater pairs per unit.
    pub observed: f64,
    /// P_e = Σ_k p_k², the chance agreement.
    pub expected: f64,
    /// Units with at least two ratings.
    pub units: usize,
    /// Categories used in those units.
    pub categories: usize,
}

/// Fleiss' kappa of `ratings`, each distinct value a category.
pub fn fleiss_kappa(ratings: &Ratings) -> Result<FleissKappa, StatsError> {
    let tally = ratings.nominal_tally();
    fleiss_from_sums(
        tally.unit_agreement,
        tally.units,
        &tally.totals,
        tally.different_pairs(),
    )
}

/// Fleiss' kappa from a subjects × categories table of counts (`table[i][k]`
/// raters put subject i in category k). Rows may have different totals; rows
/// with fewer than two ratings are skipped.
///
/// Errors: [`StatsError::EmptyTable`], [`StatsError::TableShape`] for a row
/// whose length differs from row 0, and the undefined cases of
/// [`fleiss_kappa`].
pub fn fleiss_kappa_table<R: AsRef<[u64]>>(table: &[R]) -> Result<FleissKappa, StatsError> {
    let width = table.first().map_or(0, |r| r.as_ref().len());
    if width == 0 {
        return Err(StatsError::EmptyTable);
    }
    let mut totals = vec![0u64; width];
    let (mut agreement, mut units) = (0.0, 0u64);
    for (row, counts) in table.iter().enumerate() {
        let counts = counts.as_ref();
        if counts.len() != width {
            return Err(StatsError::TableShape {
                row,
                expected: width,
                found: counts.len(),
            });
        }
        let r: u64 = counts.iter().sum();
        if r < 2 {
            continue;
        }
        let same: u64 = counts.iter().map(|&x| x * x.saturating_sub(1)).sum();
        agreement += same as f64 / (r as f64 * (r - 1) as f64);
        units += 1;
        for (t, &x) in totals.iter_mut().zip(counts) {
            *t += x;
        }
    }
    let n = u128::from(totals.iter().sum::<u64>());
    let same: u128 = totals.iter().map(|&t| u128::from(t) * u128::from(t)).sum();
    fleiss_from_sums(agreement, units, &totals, (n * n - same) as f64)
}

/// κ from Σ P_i, the unit count, the category totals and Σ_{k≠l} n_k n_l
/// (= n²(1 − P_e), exact in integers).
fn fleiss_from_sums(
    agreement: f64,
    units: u64,
    totals: &[u64],
    different_pairs: f64,
) -> Result<FleissKappa, StatsError> {
    if units == 0 {
        return Err(StatsError::NoPairableValues);
    }
    if different_pairs <= 0.0 {
        return Err(StatsError::NoVariation);
    }
    let n = totals.iter().sum::<u64>() as f64;
    let observed = agreement / units as f64;
    let expected: f64 = totals.iter().map(|&t| (t as f64 / n).powi(2)).sum();
    let chance_disagreement = different_pairs / (n * n);
    Ok(FleissKappa {
        kappa: (observed - expected) / chance_disagreement,
        observed,
        expected,
        units: units as usize,
        categories: totals.iter().filter(|t| **t > 0).count(),
    })
}

/// Disagreement weights of weighted kappa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    /// w_ij = [i ≠ j]: Cohen's (1960) kappa.
    Unweighted,
    /// w_ij = |i − j| (Cicchetti–Allison).
    Linear,
    /// w_ij = (i − j)² (Fleiss–Cohen).
    Quadratic,
}

impl Weights {
    /// Lower-case name: "unweighted", "linear" or "quadratic".
    pub fn as_str(self) -> &'static str {
        match self {
            Weights::Unweighted => "unweighted",
            Weights::Linear => "linear",
            Weights::Quadratic => "quadratic",
        }
    }

    /// Weight between category ranks i and j.
    fn weight(self, i: usize, j: usize) -> f64 {
        let d = i.abs_diff(j) as f64;
        match self {
            Weights::Unweighted => f64::from(u8::from(i != j)),
            Weights::Linear => d,
            Weights::Quadratic => d * d,
        }
    }

    /// Largest weight among `k` categories.
    fn max_weight(self, k: usize) -> f64 {
        self.weight(0, k.saturating_sub(1))
    }
}

/// Cohen's kappa with its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CohenKappa {
    /// κ (weighted when `weights` is not unweighted).
    pub kappa: f64,
    /// Observed (weighted) agreement 1 − Σ w_ij p_ij / max w.
    pub observed: f64,
    /// Chance (weighted) agreement 1 − Σ w_ij p_i· p_·j / max w.
    pub expected: f64,
    /// N, the number of units both raters rated.
    pub pairs: usize,
    /// K, the number of categories (table size).
    pub categories: usize,
    /// The weights used.
    pub weights: Weights,
}

/// Cohen's kappa of two raters' ratings of the same units; units where either
/// rating is missing are skipped. The categories are the sorted distinct
/// values of the kept pairs, and weights use their ranks.
///
/// Errors: [`StatsError::LengthMismatch`], [`StatsError::NonFinite`] (rater 0
/// or 1), [`StatsError::NoPairableValues`] when no unit has both ratings, and
/// [`StatsError::NoVariation`] when the chance disagreement is zero.
pub fn cohen_kappa(
    first: &[Option<f64>],
    second: &[Option<f64>],
    weights: Weights,
) -> Result<CohenKappa, StatsError> {
    if first.len() != second.len() {
        return Err(StatsError::LengthMismatch {
            left: first.len(),
            right: second.len(),
        });
    }
    let mut pairs = Vec::with_capacity(first.len());
    for (unit, (a, b)) in first.iter().zip(second).enumerate() {
        for (rater, v) in [(0, a), (1, b)] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(StatsError::NonFinite { rater, unit });
            }
        }
        if let (Some(a), Some(b)) = (a, b) {
            // +0.0 makes −0.0 and 0.0 one category.
            pairs.push((a + 0.0, b + 0.0));
        }
    }
    let mut values: Vec<f64> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    values.sort_unstable_by(f64::total_cmp);
    values.dedup();
    let rank = |v: f64| {
        values
            .binary_search_by(|x| x.total_cmp(&v))
            .unwrap_or_default()
    };
    let k = values.len();
    let (mut rows, mut cols) = (vec![0.0; k], vec![0.0; k]);
    let mut disagreement = 0.0;
    for &(a, b) in &pairs {
        let (i, j) = (rank(a), rank(b));
        if let (Some(r), Some(c)) = (rows.get_mut(i), cols.get_mut(j)) {
            *r += 1.0;
            *c += 1.0;
        }
        disagreement += weights.weight(i, j);
    }
    cohen_from_parts(disagreement, &rows, &cols, weights)
}

/// Cohen's kappa from a square K × K table of counts: `table[i][j]` units
/// the first rater put in category i and the second in category j. The
/// category ranks are the row (column) indices, so unused categories still
/// count in the weighted distances.
///
/// Errors: [`StatsError::EmptyTable`], [`StatsError::TableShape`] for a row
/// whose length is not K, and the undefined cases of [`cohen_kappa`].
pub fn cohen_kappa_table<R: AsRef<[u64]>>(
    table: &[R],
    weights: Weights,
) -> Result<CohenKappa, StatsError> {
    let k = table.len();
    if k == 0 {
        return Err(StatsError::EmptyTable);
    }
    let (mut rows, mut cols) = (vec![0.0; k], vec![0.0; k]);
    let mut disagreement = 0.0;
    for (i, row) in table.iter().enumerate() {
        let row = row.as_ref();
        if row.len() != k {
            return Err(StatsError::TableShape {
                row: i,
                expected: k,
                found: row.len(),
            });
        }
        for (j, &count) in row.iter().enumerate() {
            let count = count as f64;
            if let (Some(r), Some(c)) = (rows.get_mut(i), cols.get_mut(j)) {
                *r += count;
                *c += count;
            }
            disagreement += count * weights.weight(i, j);
        }
    }
    cohen_from_parts(disagreement, &rows, &cols, weights)
}

/// κ_w from the observed weighted disagreement Σ w_ij t_ij and the margins.
fn cohen_from_parts(
    disagreement: f64,
    rows: &[f64],
    cols: &[f64],
    weights: Weights,
) -> Result<CohenKappa, StatsError> {
    let n: f64 = rows.iter().sum();
    if n == 0.0 {
        return Err(StatsError::NoPairableValues);
    }
    let chance = chance_disagreement(rows, cols, weights);
    let w_max = weights.max_weight(rows.len());
    if chance <= 0.0 || w_max == 0.0 {
        return Err(StatsError::NoVariation);
    }
    Ok(CohenKappa {
        kappa: 1.0 - n * disagreement / chance,
        observed: 1.0 - disagreement / (n * w_max),
        expected: 1.0 - chance / (n * n * w_max),
        pairs: n as usize,
        categories: rows.len(),
        weights,
    })
}

/// Σ_ij w_ij a_i b_j for the margins a (rows) and b (columns), O(K):
///
/// * unweighted: N² − Σ_i a_i b_i;
/// * linear: Σ_i a_i D_i with D_i = Σ_j b_j |i − j|, stepped as
///   D_{i+1} = D_i + B_{≤i} − B_{>i};
/// * quadratic: N² (Var_a + Var_b + (μ_a − μ_b)²) of the rank distributions
///   (the mean squared difference of independent ranks), all terms ≥ 0.
fn chance_disagreement(rows: &[f64], cols: &[f64], weights: Weights) -> f64 {
    let n: f64 = rows.iter().sum();
    match weights {
        Weights::Unweighted => {
            let same: f64 = rows.iter().zip(cols).map(|(a, b)| a * b).sum();
            n * n - same
        }
        Weights::Linear => {
            let mut distance: f64 = cols.iter().enumerate().map(|(j, b)| j as f64 * b).sum();
            let mut at_or_below = 0.0;
            let mut total = 0.0;
            for (a, b) in rows.iter().zip(cols) {
                total += a * distance;
                at_or_below += b;
                distance += at_or_below - (n - at_or_below);
            }
            total
        }
        Weights::Quadratic => {
            let (mean_a, var_a) = rank_moments(rows, n);
            let (mean_b, var_b) = rank_moments(cols, n);
            n * n * (var_a + var_b + (mean_a - mean_b).powi(2))
        }
    }
}

/// Mean and variance of the rank distribution with frequencies `freq`.
fn rank_moments(freq: &[f64], n: f64) -> (f64, f64) {
    let mean = freq
        .iter()
        .enumerate()
        .map(|(i, f)| i as f64 * f)
        .sum::<f64>()
        / n;
    let var = freq
        .iter()
        .enumerate()
        .map(|(i, f)| f * (i as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fleiss (1971) example as reproduced in the literature (e.g. Wikipedia,
    /// "Fleiss' kappa"): 10 subjects, 14 raters, 5 categories, κ ≈ 0.210.
    const FLEISS: [[u64; 5]; 10] = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ];

    /// The count table expanded into a 14 raters × 10 units matrix.
    fn fleiss_matrix() -> Ratings {
        let mut rows = vec![vec![None; FLEISS.len()]; 14];
        for (unit, counts) in FLEISS.iter().enumerate() {
            let mut rater = 0;
            for (cat, &count) in counts.iter().enumerate() {
                for _ in 0..count {
                    rows[rater][unit] = Some(cat as f64 + 1.0);
                    rater += 1;
                }
            }
        }
        Ratings::from_rows(&rows).expect("valid")
    }

    #[test]
    fn fleiss_published_example() {
        let k = fleiss_kappa_table(&FLEISS).expect("defined");
        // Exact: P̄ = 172/455, P_e = 417/1960, κ = 4211/20059.
        assert!((k.kappa - 4211.0 / 20059.0).abs() < 1e-14, "{}", k.kappa);
        assert!((k.observed - 172.0 / 455.0).abs() < 1e-15);
        assert!((k.expected - 417.0 / 1960.0).abs() < 1e-15);
        assert!((k.kappa - 0.2099).abs() < 1e-4);
        assert_eq!((k.kappa * 1000.0).round() / 1000.0, 0.210);
        assert_eq!((k.units, k.categories), (10, 5));
        let m = fleiss_kappa(&fleiss_matrix()).expect("defined");
        assert!((m.kappa - k.kappa).abs() < 1e-15);
    }

    #[test]
    fn fleiss_with_missing_ratings_uses_each_units_count() {
        // Unit 0: 3 ratings (1,1,2): P = 2/6; unit 1: 2 ratings (2,2): P = 1;
        // unit 2 has one rating and is skipped. Ratings used: 1,1,2,2,2.
        let r = Ratings::from_rows(&[
            vec![Some(1.0), Some(2.0), Some(1.0)],
            vec![Some(1.0), Some(2.0), None],
            vec![Some(2.0), None, None],
        ])
        .expect("valid");
        let k = fleiss_kappa(&r).expect("defined");
        let p_bar = (2.0 / 6.0 + 1.0) / 2.0;
        let p_e = 0.4f64.powi(2) + 0.6f64.powi(2);
        assert!((k.kappa - (p_bar - p_e) / (1.0 - p_e)).abs() < 1e-15);
        // The same through a ragged count table.
        let t = fleiss_kappa_table(&[[2u64, 1], [0, 2], [1, 0]]).expect("defined");
        assert!((t.kappa - k.kappa).abs() < 1e-15);
    }

    #[test]
    fn fleiss_undefined_and_bad_tables() {
        assert_eq!(
            fleiss_kappa_table(&[[3u64, 0], [2, 0]]),
            Err(StatsError::NoVariation)
        );
        assert_eq!(
            fleiss_kappa_table(&[[1u64, 0], [0, 1]]),
            Err(StatsError::NoPairableValues)
        );
        let empty: [[u64; 0]; 1] = [[]];
        assert_eq!(fleiss_kappa_table(&empty), Err(StatsError::EmptyTable));
        assert_eq!(
            fleiss_kappa_table(&[vec![1u64, 2], vec![3]]),
            Err(StatsError::TableShape {
                row: 1,
                expected: 2,
                found: 1
            })
        );
    }

    #[test]
    fn cohen_two_by_two() {
        // p_o = 35/50 = 0.7, p_e = (25·30 + 25·20)/50² = 0.5, κ = 0.4.
        let k = cohen_kappa_table(&[[20u64, 5], [10, 15]], Weights::Unweighted).expect("defined");
        assert!((k.kappa - 0.4).abs() < 1e-15, "{}", k.kappa);
        assert!((k.observed - 0.7).abs() < 1e-15);
        assert!((k.expected - 0.5).abs() < 1e-15);
        assert_eq!((k.pairs, k.categories), (50, 2));
        // With two categories all three weightings coincide.
        for w in [Weights::Linear, Weights::Quadratic] {
            let kw = cohen_kappa_table(&[[20u64, 5], [10, 15]], w).expect("defined");
            assert!((kw.kappa - 0.4).abs() < 1e-15);
        }
    }

    /// statsmodels 0.15 `cohens_kappa(table, wt=...)` on this table gives
    /// 0.4966118102613746 (none), 0.6155471060414027 (linear) and
    /// 0.7296048070256529 (quadratic).
    const TABLE4: [[u64; 4]; 4] = [[11, 3, 1, 0], [4, 14, 5, 1], [1, 3, 9, 3], [0, 1, 2, 7]];

    #[test]
    fn cohen_weighted_matches_statsmodels() {
        for (w, want) in [
            (Weights::Unweighted, 0.4966118102613746),
            (Weights::Linear, 0.6155471060414027),
            (Weights::Quadratic, 0.7296048070256529),
        ] {
            let k = cohen_kappa_table(&TABLE4, w).expect("defined");
            assert!((k.kappa - want).abs() < 1e-12, "{w:?}: {}", k.kappa);
            assert!((k.kappa - (k.observed - k.expected) / (1.0 - k.expected)).abs() < 1e-12);
        }
    }

    #[test]
    fn cohen_from_ratings_equals_table() {
        // Expand TABLE4 into rating pairs with categories 10, 20, 30, 40 and
        // some missing ratings that must be skipped.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, row) in TABLE4.iter().enumerate() {
            for (j, &count) in row.iter().enumerate() {
                for _ in 0..count {
                    a.push(Some(10.0 * (i + 1) as f64));
                    b.push(Some(10.0 * (j + 1) as f64));
                }
            }
        }
        a.extend([None, Some(10.0), None]);
        b.extend([Some(40.0), None, None]);
        for w in [Weights::Unweighted, Weights::Linear, Weights::Quadratic] {
            let from_pairs = cohen_kappa(&a, &b, w).expect("defined");
            let from_table = cohen_kappa_table(&TABLE4, w).expect("defined");
            assert!((from_pairs.kappa - from_table.kappa).abs() < 1e-14, "{w:?}");
            assert_eq!(from_pairs.pairs, 65);
        }
    }

    #[test]
    fn cohen_errors() {
        assert_eq!(
            cohen_kappa(&[Some(1.0)], &[], Weights::Unweighted),
            Err(StatsError::LengthMismatch { left: 1, right: 0 })
        );
        assert_eq!(
            cohen_kappa(&[Some(1.0), None], &[None, Some(2.0)], Weights::Linear),
            Err(StatsError::NoPairableValues)
        );
        assert_eq!(
            cohen_kappa(
                &[Some(1.0), Some(1.0)],
                &[Some(1.0), Some(1.0)],
                Weights::Linear
            ),
            Err(StatsError::NoVariation)
        );
        assert_eq!(
            cohen_kappa(
                &[Some(1.0), Some(2.0)],
                &[Some(1.0), Some(f64::NAN)],
                Weights::Linear
            ),
            Err(StatsError::NonFinite { rater: 1, unit: 1 })
        );
        assert_eq!(
            cohen_kappa_table(&[vec![1u64, 2], vec![3]], Weights::Unweighted),
            Err(StatsError::TableShape {
                row: 1,
                expected: 2,
                found: 1
            })
        );
        let empty: [[u64; 0]; 0] = [];
        assert_eq!(
            cohen_kappa_table(&empty, Weights::Unweighted),
            Err(StatsError::EmptyTable)
        );
    }

    #[test]
    fn chance_disagreement_closed_forms_match_double_sums() {
        let rows = [3.0, 0.0, 7.0, 2.0, 5.0];
        let cols = [1.0, 4.0, 4.0, 6.0, 2.0];
        for w in [Weights::Unweighted, Weights::Linear, Weights::Quadratic] {
            let mut direct = 0.0;
            for (i, a) in rows.iter().enumerate() {
                for (j, b) in cols.iter().enumerate() {
                    direct += w.weight(i, j) * a * b;
                }
            }
            assert!(
                (chance_disagreement(&rows, &cols, w) - direct).abs() < 1e-9,
                "{w:?}"
            );
        }
    }
}
