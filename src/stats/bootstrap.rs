//! Percentile bootstrap interval for Krippendorff's alpha.
//!
//! The pairable units (units with at least two values) are resampled with
//! replacement: a replicate draws as many units as there are pairable units,
//! uniformly and independently, and alpha is recomputed on them as if the
//! drawn units (with repeats) were the data. The interval is the percentile
//! interval of the replicate alphas: with confidence c the bounds are the
//! (1 − c)/2 and (1 + c)/2 quantiles, interpolated linearly between order
//! statistics (the default "type 7" rule of R and NumPy). Replicates whose
//! alpha is undefined (all drawn values equal) are skipped and counted in
//! [`AlphaInterval::undefined`]; the quantiles use the defined ones.
//!
//! Each unit's contribution is computed once: its observed term
//! S_u/(m_u − 1) and its category counts (or, at the interval level, its count,
//! mean and sum of squared deviations). A replicate only adds up the drawn
//! units' contributions and recomputes D_e from the resampled value totals.
//! At the ordinal level the distance itself depends on the totals (mid-ranks),
//! so a replicate recomputes each drawn unit's term from its category counts
//! under the replicate's mid-ranks — still without any per-pair work. At the
//! ratio level D_e is recomputed as for alpha itself (pairwise over the V
//! distinct values up to 2,048 of them, by quadrature beyond), which
//! dominates the cost of a replicate when V is large.
//!
//! # Reproducibility
//!
//! The random stream is ChaCha8 (`rand_chacha` 0.9) seeded with
//! `ChaCha8Rng::seed_from_u64(seed)`, and unit indices are drawn with
//! `rand` 0.9's `random_range` on `u32`. Given the same matrix, level, seed and
//! number of replicates, the result is identical on every run and platform
//! (the arithmetic is plain IEEE-754 in a fixed order).
//!
//! This unit-resampling scheme is the usual nonparametric bootstrap for a
//! statistic of independent units; it differs from the algorithm of Hayes &
//! Krippendorff (2007), which resamples pairs of values.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::alpha::{
    IntervalSums, Moments, RatioDistance, Sums, doubled_midranks, krippendorff_alpha,
    ordinal_expected, ordinal_fits_u64, ordinal_unit, ratio_expected, ratio_unit, unit_moments,
};
use super::error::StatsError;
use super::ratings::{Level, Ratings, unit_size};

/// Settings of the bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapConfig {
    /// Number of replicates (default 1,000).
    pub replicates: usize,
    /// Confidence level of the interval, strictly between 0 and 1 (default 0.95).
    pub confidence: f64,
    /// Seed of the ChaCha8 random stream (default 0).
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            replicates: 1000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

/// Alpha with its bootstrap percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AlphaInterval {
    /// Level of measurement used.
    pub level: Level,
    /// Alpha of the full data (the point estimate).
    pub alpha: f64,
    /// Lower bound, the (1 − confidence)/2 quantile of the replicate alphas.
    pub lower: f64,
    /// Upper bound, the (1 + confidence)/2 quantile of the replicate alphas.
    pub upper: f64,
    /// Confidence level.
    pub confidence: f64,
    /// Replicates drawn.
    pub replicates: usize,
    /// Replicates skipped because their alpha was undefined.
    pub undefined: usize,
    /// Seed used.
    pub seed: u64,
}

/// Alpha of `ratings` at `level` with a percentile bootstrap interval.
///
/// Errors: those of [`krippendorff_alpha`] on the full data,
/// [`StatsError::NoReplicates`], [`StatsError::InvalidConfidence`], and
/// [`StatsError::AllReplicatesUndefined`] when no replicate had a defined alpha.
pub fn bootstrap_alpha(
    ratings: &Ratings,
    level: Level,
    config: &BootstrapConfig,
) -> Result<AlphaInterval, StatsError> {
    if config.replicates == 0 {
        return Err(StatsError::NoReplicates);
    }
    if !(config.confidence > 0.0 && config.confidence < 1.0) {
        return Err(StatsError::InvalidConfidence(config.confidence));
    }
    let point = krippendorff_alpha(ratings, level)?;
    let prepared = Prepared::new(ratings, level);
    let count = u32::try_from(prepared.units.len())
        .map_err(|_| StatsError::TooLarge(prepared.units.len()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut scratch = Scratch::new(prepared.values.len(), prepared.units.len());
    let mut estimates = Vec::with_capacity(config.replicates);
    for _ in 0..config.replicates {
        scratch.drawn.clear();
        scratch
            .drawn
            .extend((0..count).map(|_| rng.random_range(0..count)));
        if let Ok(a) = prepared.replicate(&mut scratch).finish(level) {
            estimates.push(a.alpha);
        }
    }
    let undefined = config.replicates - estimates.len();
    if estimates.is_empty() {
        return Err(StatsError::AllReplicatesUndefined {
            replicates: config.replicates,
        });
    }
    estimates.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - config.confidence) / 2.0;
    Ok(AlphaInterval {
        level,
        alpha: point.alpha,
        lower: quantile(&estimates, tail),
        upper: quantile(&estimates, 1.0 - tail),
        confidence: config.confidence,
        replicates: config.replicates,
        undefined,
        seed: config.seed,
    })
}

/// Linear-interpolation quantile ("type 7") of sorted, non-empty data.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    let h = last as f64 * p;
    let lo = (h.floor() as usize).min(last);
    let hi = (lo + 1).min(last);
    match (sorted.get(lo), sorted.get(hi)) {
        (Some(&a), Some(&b)) => a + (h - lo as f64) * (b - a),
        _ => f64::NAN,
    }
}

/// One pairable unit's precomputed contribution.
#[derive(Debug, Clone, Copy)]
struct Unit {
    /// m_u, its number of values.
    values: u64,
    /// S_u/(m_u − 1) (not used at the ordinal level).
    observed: f64,
    /// Count, mean and M2 of its values (interval level only).
    moments: Moments,
    /// Its (category, count) entries in [`Prepared::entries`].
    start: usize,
    end: usize,
}

/// Per-unit contributions of all pairable units.
struct Prepared<'a> {
    level: Level,
    /// The largest m_u.
    max_values: u64,
    units: Vec<Unit>,
    entries: Vec<(u32, u32)>,
    values: &'a [f64],
}

/// Buffers reused across replicates.
struct Scratch {
    drawn: Vec<u32>,
    totals: Vec<u64>,
    totals_f64: Vec<f64>,
}

impl Scratch {
    fn new(categories: usize, units: usize) -> Self {
        Scratch {
            drawn: Vec::with_capacity(units),
            totals: vec![0; categories],
            totals_f64: vec![0.0; categories],
        }
    }
}

impl<'a> Prepared<'a> {
    fn new(ratings: &'a Ratings, level: Level) -> Self {
        let mut prepared = Prepared {
            level,
            max_values: ratings.raters() as u64,
            units: Vec::new(),
            entries: Vec::new(),
            values: &[],
        };
        if level == Level::Interval {
            for mo in unit_moments(ratings).into_iter().filter(|m| m.count >= 2.0) {
                prepared.units.push(Unit {
                    values: mo.count as u64,
                    observed: mo.pair_sum() / (mo.count - 1.0),
                    moments: mo,
                    start: 0,
                    end: 0,
                });
            }
            return prepared;
        }
        let counts = ratings.unit_counts();
        prepared.values = &counts.values;
        let ratio = RatioDistance::new(&counts.values, ratings.rated() * ratings.raters() / 2);
        for unit in counts.units() {
            let m = unit_size(unit.iter().copied());
            if m < 2 {
                continue;
            }
            let observed = match level {
                Level::Nominal => {
                    let same: u64 = unit.iter().map(|&(_, n)| u64::from(n).pow(2)).sum();
                    (m * m - same) as f64 / (m - 1) as f64
                }
                Level::Ratio => ratio_unit(unit.iter().copied(), &ratio, m),
                Level::Ordinal | Level::Interval => 0.0,
            };
            let start = prepared.entries.len();
            prepared.entries.extend_from_slice(unit);
            prepared.units.push(Unit {
                values: m,
                observed,
                moments: Moments::default(),
                start,
                end: prepared.entries.len(),
            });
        }
        prepared
    }

    fn entries_of(&self, unit: &Unit) -> &[(u32, u32)] {
        self.entries.get(unit.start..unit.end).unwrap_or(&[])
    }

    /// The alpha sums of the units listed in `scratch.drawn`.
    fn replicate(&self, scratch: &mut Scratch) -> Sums {
        let drawn = || {
            scratch
                .drawn
                .iter()
                .filter_map(|&i| self.units.get(i as usize))
        };
        if self.level == Level::Interval {
            let mut acc = IntervalSums::default();
            for unit in drawn() {
                acc.add(unit.moments, unit.observed);
            }
            return acc.sums();
        }
        let mut totals = std::mem::take(&mut scratch.totals);
        totals.fill(0);
        let mut sums = Sums::default();
        for unit in drawn() {
            sums.observed += unit.observed;
            sums.values += unit.values;
            sums.units += 1;
            for &(code, count) in self.entries_of(unit) {
                if let Some(t) = totals.get_mut(code as usize) {
                    *t += u64::from(count);
                }
            }
        }
        sums.varies = totals.iter().filter(|t| **t > 0).count() >= 2;
        let n = sums.values;
        sums.expected = match self.level {
            Level::Nominal => {
                let same: u128 = totals.iter().map(|&t| u128::from(t).pow(2)).sum();
                (u128::from(n).pow(2) - same) as f64
            }
            Level::Ratio => {
                for (f, &t) in scratch.totals_f64.iter_mut().zip(&totals) {
                    *f = t as f64;
                }
                ratio_expected(self.values, &scratch.totals_f64)
            }
            Level::Ordinal | Level::Interval => {
                let doubled = doubled_midranks(&totals);
                let narrow = ordinal_fits_u64(self.max_values, n);
                sums.observed = drawn()
                    .map(|unit| {
                        ordinal_unit(self.entries_of(unit).iter().copied(), &doubled, narrow)
                    })
                    .sum();
                ordinal_expected(&totals, &doubled, n)
            }
        };
        scratch.totals = totals;
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published() -> Ratings {
        Ratings::from_rows(&super::super::ratings::krippendorff_2011()).expect("valid")
    }

    /// The drawn units as a matrix of their own (columns in drawing order).
    fn resampled(r: &Ratings, pairable: &[usize], drawn: &[u32]) -> Ratings {
        let rows: Vec<Vec<Option<f64>>> = (0..r.raters())
            .map(|i| {
                drawn
                    .iter()
                    .map(|&d| r.rating(i, pairable[d as usize]))
                    .collect()
            })
            .collect();
        Ratings::from_rows(&rows).expect("valid")
    }

    #[test]
    fn replicate_equals_alpha_of_the_resampled_matrix() {
        let r = published();
        let pairable: Vec<usize> = (0..r.units())
            .filter(|&u| {
                (0..r.raters())
                    .filter(|&i| r.rating(i, u).is_some())
                    .count()
                    >= 2
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for level in Level::ALL {
            let prepared = Prepared::new(&r, level);
            assert_eq!(prepared.units.len(), pairable.len());
            let mut scratch = Scratch::new(prepared.values.len(), pairable.len());
            for _ in 0..50 {
                scratch.drawn.clear();
                let count = pairable.len() as u32;
                scratch
                    .drawn
                    .extend((0..count).map(|_| rng.random_range(0..count)));
                let fast = prepared.replicate(&mut scratch).finish(level);
                let direct = krippendorff_alpha(&resampled(&r, &pairable, &scratch.drawn), level);
                match (fast, direct) {
                    (Ok(a), Ok(b)) => assert!((a.alpha - b.alpha).abs() < 1e-12, "{level}"),
                    (a, b) => assert_eq!(a.map(|x| x.alpha), b.map(|x| x.alpha), "{level}"),
                }
            }
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let r = published();
        for level in Level::ALL {
            let config = BootstrapConfig {
                replicates: 300,
                seed: 42,
                ..BootstrapConfig::default()
            };
            let a = bootstrap_alpha(&r, level, &config).expect("defined");
            let b = bootstrap_alpha(&r, level, &config).expect("defined");
            assert_eq!(a, b);
            assert!(a.lower <= a.upper, "{level}");
            assert!(
                a.lower <= a.alpha + 0.2 && a.alpha - 0.2 <= a.upper,
                "{level}: {a:?}"
            );
            let other = bootstrap_alpha(&r, level, &BootstrapConfig { seed: 43, ..config })
                .expect("defined");
            assert_ne!((a.lower, a.upper), (other.lower, other.upper), "{level}");
        }
    }

    #[test]
    fn undefined_replicates_are_skipped_and_counted() {
        // Unit 0 is constant; a replicate drawing it twice has no variation
        // (probability 1/4).
        let r = Ratings::from_rows(&[vec![Some(1.0), Some(1.0)], vec![Some(1.0), Some(2.0)]])
            .expect("valid");
        let b = bootstrap_alpha(&r, Level::Nominal, &BootstrapConfig::default()).expect("defined");
        assert!(b.undefined > 150 && b.undefined < 350, "{}", b.undefined);
        assert_eq!(b.replicates, 1000);
    }

    #[test]
    fn rejects_bad_settings() {
        let r = published();
        for confidence in [0.0, 1.0, f64::NAN, -0.5] {
            let config = BootstrapConfig {
                confidence,
                ..BootstrapConfig::default()
            };
            assert!(matches!(
                bootstrap_alpha(&r, Level::Interval, &config),
                Err(StatsError::InvalidConfidence(_))
            ));
        }
        let none = BootstrapConfig {
            replicates: 0,
            ..BootstrapConfig::default()
        };
        assert_eq!(
            bootstrap_alpha(&r, Level::Interval, &none),
            Err(StatsError::NoReplicates)
        );
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        let data = [1.0, 2.0, 4.0, 8.0];
        // numpy.quantile([1, 2, 4, 8], [0, 0.025, 0.5, 0.975, 1])
        for (p, want) in [
            (0.0, 1.0),
            (0.025, 1.075),
            (0.5, 3.0),
            (0.975, 7.7),
            (1.0, 8.0),
        ] {
            assert!((quantile(&data, p) - want).abs() < 1e-12, "{p}");
        }
    }
}
