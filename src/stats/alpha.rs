//! Krippendorff's alpha for nominal, ordinal, interval and ratio data with
//! missing values.
//!
//! Definitions follow Krippendorff (2011), "Computing Krippendorff's
//! Alpha-Reliability", University of Pennsylvania, and Krippendorff (2019),
//! *Content Analysis*, 4th ed., ch. 12.
//!
//! Let unit u carry m_u values (ratings that are present), n_uc of which equal
//! value c. Only units with m_u ≥ 2 are *pairable*; n = Σ_u m_u over them is
//! the number of pairable values. The coincidence matrix counts, over all
//! ordered pairs of values from different raters within a unit, each pair with
//! weight 1/(m_u − 1):
//!
//! ```text
//! o_ck = Σ_u (n_uc·n_uk − [c = k]·n_uc) / (m_u − 1),    n_c = Σ_k o_ck
//! D_o  = (1/n)        Σ_c Σ_k o_ck     δ²(c,k)
//! D_e  = 1/(n(n − 1)) Σ_c Σ_k n_c n_k  δ²(c,k)
//! α    = 1 − D_o / D_e = 1 − (n − 1) · Σ o_ck δ² / Σ n_c n_k δ²
//! ```
//!
//! The difference functions δ² (zero on the diagonal) are
//!
//! * nominal: 1 when c ≠ k;
//! * ordinal: (Σ_{g=c..k} n_g − (n_c + n_k)/2)² over the sorted distinct values;
//! * interval: (c − k)²;
//! * ratio: ((c − k)/(c + k))², and 0 when c = k = 0 (values must be ≥ 0).
//!
//! Alpha is undefined (an error, never NaN) when no unit is pairable or when
//! D_e = 0, i.e. all pairable values are equal.
//!
//! # How it is computed
//!
//! Because δ² vanishes on the diagonal, the observed part is a sum of per-unit
//! terms S_u/(m_u − 1) with S_u = Σ_{c,k} n_uc n_uk δ²(c,k), the sum of δ² over
//! the ordered pairs of the unit's values. Each unit's counts n_uc are tallied
//! once (see [`super::ratings`]), and the sums take one of two routes.
//!
//! **Few categories.** Ratings on a scale of at most 16 consecutive integers
//! by at most 65,535 raters (stored as one-byte codes, counted into a dense
//! categories × units table) go through the off-diagonal coincidences
//! o_ck = Σ_u n_uc n_uk/(m_u − 1), c < k. They are accumulated a block of 256
//! units at a time: each unit's weight 1/(m_u − 1) (0 for a unit with fewer
//! than two values), then, for every pair of categories, a dot product over
//! the block's units of the weighted and plain counts, a loop that
//! vectorises. Then, by definition, Σ_{c,k} o_ck δ²(c,k) = 2 Σ_{c<k} o_ck
//! δ²(c,k) at every level, with n_c the pairable values per category; D_e is
//! as below. The work is O(V²) per unit for V ≤ 16 categories, without
//! branches or divisions per unit and pair.
//!
//! **Otherwise,** unit by unit from its (category, count) list, or from the
//! `f64` rows for interval data:
//!
//! * nominal: S_u = m_u² − Σ_c n_uc², and Σ n_c n_k δ² = n² − Σ_c n_c², in
//!   integers; the units' Σ_c n_uc² are added up by m_u, so each group is
//!   divided by m_u − 1 once;
//! * interval: Σ_{i≠j} (v_i − v_j)² = 2 m Σ_i (v_i − v̄)². Per unit the squared
//!   deviations are accumulated about one of the unit's own values (error
//!   bounded by a few ε·m² relative), and for D_e the units' counts, means and
//!   squared deviations are pooled with Chan's formula, so nothing cancels and
//!   the cost is O(raters × units) whatever the number of distinct values.
//!   Integer ratings stored as codes use their offsets d from the smallest
//!   value instead: S_u = 2(m Σd² − (Σd)²), exact;
//! * ordinal: with P_c = Σ_{g<c} n_g, the ordinal distance equals
//!   (r_k − r_c)² for the mid-ranks r_c = P_c + n_c/2, so ordinal alpha is
//!   interval alpha on mid-ranks; 2r_c is an integer and all sums are exact
//!   integer arithmetic; the weighted mean of r_c is exactly n/2;
//! * ratio: per unit, the pairs of its distinct values (at most m_u²/2, from a
//!   tabulated δ² when there are few categories).
//!
//! Ordinal and integer interval terms are added up by m_u in integers, ratio
//! terms in `f64`, and each group divided by m_u − 1 once. For ratio data D_e
//! takes the pairs of distinct pairable values (O(V²)) up to 2,048 of them
//! and, beyond, an integral representation evaluated by a geometrically
//! convergent quadrature in O(V · 200) (see `ratio_expected_quadrature`),
//! accurate to a few 1e−15 relative.

use serde::Serialize;

use super::error::StatsError;
use super::ratings::{Counts, DenseCounts, Level, Ratings, UnitCounts, unit_size};

/// Krippendorff's alpha with its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Alpha {
    /// Level of measurement used.
    pub level: Level,
    /// α = 1 − D_o / D_e.
    pub alpha: f64,
    /// Observed disagreement D_o.
    pub observed: f64,
    /// Expected disagreement D_e.
    pub expected: f64,
    /// Pairable units (units with at least two values).
    pub units: usize,
    /// n, the number of pairable values.
    pub pairable_values: usize,
}

/// Krippendorff's alpha of `ratings` at `level`.
///
/// Errors: [`StatsError::NoPairableValues`] when no unit has two or more
/// values, [`StatsError::NoVariation`] when all pairable values are equal, and
/// for [`Level::Ratio`], [`StatsError::NegativeRatio`] naming the first
/// negative value.
pub fn krippendorff_alpha(ratings: &Ratings, level: Level) -> Result<Alpha, StatsError> {
    let sums = match level {
        Level::Nominal => nominal_sums(ratings),
        Level::Ordinal => ordinal_sums(ratings),
        Level::Interval => interval_sums(ratings),
        Level::Ratio => {
            ratings.check_non_negative()?;
            ratio_sums(ratings)
        }
    };
    sums.finish(level)
}

/// The two double sums of the alpha formula and the pairable counts.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sums {
    /// Σ_c Σ_k o_ck δ²(c,k) = Σ_u S_u / (m_u − 1).
    pub(super) observed: f64,
    /// Σ_c Σ_k n_c n_k δ²(c,k).
    pub(super) expected: f64,
    /// n, pairable values.
    pub(super) values: u64,
    /// Pairable units.
    pub(super) units: u64,
    /// Whether the pairable values take at least two distinct values.
    pub(super) varies: bool,
}

impl Sums {
    /// α and D_o, D_e from the sums, or why alpha is undefined.
    pub(super) fn finish(self, level: Level) -> Result<Alpha, StatsError> {
        if self.values == 0 {
            return Err(StatsError::NoPairableValues);
        }
        if !self.varies || self.expected <= 0.0 {
            return Err(StatsError::NoVariation);
        }
        let n = self.values as f64;
        Ok(Alpha {
            level,
            alpha: 1.0 - (n - 1.0) * self.observed / self.expected,
            observed: self.observed / n,
            expected: self.expected / (n * (n - 1.0)),
            units: self.units as usize,
            pairable_values: self.values as usize,
        })
    }
}

/// Nominal: S_u = m_u² − Σ_c n_uc², expected Σ_{c≠k} n_c n_k = n² − Σ n_c².
fn nominal_sums(ratings: &Ratings) -> Sums {
    let tally = ratings.nominal_tally();
    Sums {
        observed: tally.disagreeing,
        expected: tally.different_pairs(),
        values: tally.values,
        units: tally.units,
        varies: tally.totals.iter().filter(|t| **t > 0).count() >= 2,
    }
}

/// Running count, mean and sum of squared deviations of a set of values.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Moments {
    pub(super) count: f64,
    pub(super) mean: f64,
    pub(super) m2: f64,
}

impl Moments {
    /// Pools another group (Chan, Golub & LeVeque 1979):
    /// M2 = M2_a + M2_b + δ² n_a n_b / (n_a + n_b), δ = mean_b − mean_a.
    pub(super) fn merge(&mut self, other: Moments) {
        let count = self.count + other.count;
        if count == 0.0 {
            return;
        }
        let delta = other.mean - self.mean;
        self.mean += delta * other.count / count;
        self.m2 += other.m2 + delta * delta * self.count * other.count / count;
        self.count = count;
    }

    /// Σ_{i≠j} (v_i − v_j)² over ordered pairs = 2 · count · M2.
    pub(super) fn pair_sum(&self) -> f64 {
        2.0 * self.count * self.m2
    }
}

/// Count, mean and M2 of every unit's present values.
///
/// Each unit's values are shifted by the first of them, K: with d = v − K,
/// M2 = Σd² − (Σd)²/m. Because |mean − K| is at most the unit's range R and
/// M2 ≥ R²/2, the rounding error relative to M2 stays below about 2m²ε (a
/// few 1e-13 for 50 raters). A unit whose values are all equal has every
/// d = 0, so it gets M2 = 0 and its value as mean, exactly.
///
/// Ratings stored as `f64` are read in one pass over the rater rows in
/// order; coded ratings (integers) from each unit's category counts, where
/// Σd and Σd² are exact.
pub(super) fn unit_moments(ratings: &Ratings) -> Vec<Moments> {
    match ratings.value_rows() {
        Some(rows) => row_moments(&rows.collect::<Vec<_>>(), ratings.units()),
        None => tally_moments(ratings.unit_counts()),
    }
}

/// The moments of every unit from its category counts.
fn tally_moments(counts: &UnitCounts) -> Vec<Moments> {
    let values = counts.values();
    counts
        .each_unit()
        .map(|unit| count_moments(unit, values))
        .collect()
}

/// The moments of a unit from its (category, count) pairs.
fn count_moments(unit: impl Iterator<Item = (u32, u32)> + Clone, values: &[f64]) -> Moments {
    let value = |code: u32| values.get(code as usize).copied().unwrap_or(0.0);
    let Some((first, _)) = unit.clone().find(|&(_, n)| n > 0) else {
        return Moments::default();
    };
    let k = value(first);
    let (mut count, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for (code, n) in unit {
        let (n, d) = (f64::from(n), value(code) - k);
        count += n;
        s1 += n * d;
        s2 += n * d * d;
    }
    Moments {
        count,
        mean: k + s1 / count,
        m2: (s2 - s1 * s1 / count).max(0.0),
    }
}

/// Unit moments from rater-major rows of `f64` cells (NaN = missing).
///
/// Units are processed in blocks whose accumulators stay in cache, and rows
/// four at a time so that each accumulator is loaded and stored once per
/// four values; the loops are branch-free and vectorise.
fn row_moments(rows: &[&[f64]], units: usize) -> Vec<Moments> {
    let mut out = Vec::with_capacity(units);
    let mut start = 0;
    while start < units {
        let len = MOMENT_BLOCK.min(units - start);
        let mut block = MomentBlock::new();
        let mut groups = rows.chunks_exact(4);
        for group in &mut groups {
            if let [a, b, c, d] = group {
                block.add4([
                    part(a, start, len),
                    part(b, start, len),
                    part(c, start, len),
                    part(d, start, len),
                ]);
            }
        }
        for row in groups.remainder() {
            block.add(part(row, start, len));
        }
        block.finish(len, &mut out);
        start += len;
    }
    out
}

/// Adds a value (NaN = missing) to a unit's [count, shift, Σd, Σd²],
/// branch-free so that loops over units vectorise.
#[inline(always)]
fn accumulate(acc: &mut [f64; 4], v: f64) {
    let [count, shift, s1, s2] = acc;
    let present = !v.is_nan();
    let k = if shift.is_nan() { v } else { *shift };
    *shift = k;
    let d = if present { v - k } else { 0.0 };
    *count += if present { 1.0 } else { 0.0 };
    *s1 += d;
    *s2 += d * d;
}

/// `len` cells of a row from `start` (fewer at the end of the row).
fn part<T>(row: &[T], start: usize, len: usize) -> &[T] {
    row.get(start..).map_or(&[], |r| r.get(..len).unwrap_or(r))
}

/// Units per block in [`unit_moments`].
const MOMENT_BLOCK: usize = 512;

/// Per-unit accumulators of a block of units: count, shift K (the first
/// value), Σd and Σd² with d = v − K.
struct MomentBlock {
    count: [f64; MOMENT_BLOCK],
    shift: [f64; MOMENT_BLOCK],
    s1: [f64; MOMENT_BLOCK],
    s2: [f64; MOMENT_BLOCK],
}

impl MomentBlock {
    fn new() -> Self {
        MomentBlock {
            count: [0.0; MOMENT_BLOCK],
            shift: [f64::NAN; MOMENT_BLOCK],
            s1: [0.0; MOMENT_BLOCK],
            s2: [0.0; MOMENT_BLOCK],
        }
    }

    /// Adds one rater's cells for the block's units.
    fn add(&mut self, cells: &[f64]) {
        let sums = self
            .count
            .iter_mut()
            .zip(self.s1.iter_mut())
            .zip(self.s2.iter_mut());
        for (((count, s1), s2), (shift, &v)) in sums.zip(self.shift.iter_mut().zip(cells)) {
            let mut acc = [*count, *shift, *s1, *s2];
            accumulate(&mut acc, v);
            [*count, *shift, *s1, *s2] = acc;
        }
    }

    /// Adds four raters' cells (in order), loading each accumulator once.
    fn add4(&mut self, cells: [&[f64]; 4]) {
        let [a, b, c, d] = cells;
        let n = a.len().min(b.len()).min(c.len()).min(d.len());
        let values = a.iter().zip(b).zip(c.iter().zip(d)).take(n);
        let sums = self
            .count
            .iter_mut()
            .zip(self.s1.iter_mut())
            .zip(self.s2.iter_mut());
        let per_unit = sums.zip(self.shift.iter_mut()).zip(values);
        for ((((count, s1), s2), shift), ((&va, &vb), (&vc, &vd))) in per_unit {
            let mut acc = [*count, *shift, *s1, *s2];
            for v in [va, vb, vc, vd] {
                accumulate(&mut acc, v);
            }
            [*count, *shift, *s1, *s2] = acc;
        }
    }

    /// Appends the moments of the block's first `len` units.
    fn finish(&self, len: usize, out: &mut Vec<Moments>) {
        let sums = self.count.iter().zip(&self.s1).zip(&self.s2);
        for (((&c, &a), &b), &k) in sums.zip(&self.shift).take(len) {
            out.push(if c == 0.0 {
                Moments::default()
            } else {
                Moments {
                    count: c,
                    mean: k + a / c,
                    m2: (b - a * a / c).max(0.0),
                }
            });
        }
    }
}

/// Accumulates interval-level sums unit by unit.
#[derive(Debug, Default)]
pub(super) struct IntervalSums {
    sums: Sums,
    pooled: Moments,
    first: Option<f64>,
}

impl IntervalSums {
    /// Adds a pairable unit with moments `mo` and observed term
    /// `observed` = S_u/(m_u − 1) = 2 m_u M2_u/(m_u − 1).
    pub(super) fn add(&mut self, mo: Moments, observed: f64) {
        self.sums.observed += observed;
        self.sums.values += mo.count as u64;
        self.sums.units += 1;
        // Variation: some unit varies, or two units differ in their constant value.
        if mo.m2 > 0.0 || self.first.is_some_and(|f| f != mo.mean) {
            self.sums.varies = true;
        }
        self.first.get_or_insert(mo.mean);
        self.pooled.merge(mo);
    }

    /// The sums; D_e's pair sum is 2 n M2 of all pairable values.
    pub(super) fn sums(&self) -> Sums {
        Sums {
            expected: if self.sums.varies {
                self.pooled.pair_sum()
            } else {
                0.0
            },
            ..self.sums
        }
    }
}

/// Interval: S_u = 2 m_u M2_u; expected 2 n M2 of all pairable values.
fn interval_sums(ratings: &Ratings) -> Sums {
    if ratings.value_rows().is_none() {
        return match ratings.counts() {
            Counts::Dense(counts) => {
                let co = Coincidences::of(counts);
                let values = counts.values();
                let value = |c: usize| values.get(c).copied().unwrap_or(0.0);
                let observed = co.observed(|c, k| (value(k) - value(c)).powi(2));
                co.sums(observed, integer_spread(&co.totals, values))
            }
            Counts::Listed(counts) => integer_interval_sums(counts, ratings.raters()),
        };
    }
    let mut acc = IntervalSums::default();
    for mo in unit_moments(ratings) {
        if mo.count >= 2.0 {
            acc.add(mo, mo.pair_sum() / (mo.count - 1.0));
        }
    }
    acc.sums()
}

/// Interval sums in integers, for integer values within 255 of each other
/// (coded ratings). With d the offset of a value from the smallest one,
/// S_u = 2(m Σd² − (Σd)²) per unit and Σ n_c n_k (v_c − v_k)² = 2(n Σ n_c
/// d_c² − (Σ n_c d_c)²) over the totals, both exact.
fn integer_interval_sums(counts: &UnitCounts, raters: usize) -> Sums {
    let values = counts.values();
    let base = values.first().copied().unwrap_or(0.0);
    let offsets: Vec<u64> = values.iter().map(|v| (v - base) as u64).collect();
    let offset = |code: u32| offsets.get(code as usize).copied().unwrap_or(0);
    let mut totals = vec![0u64; values.len()];
    let mut spread = BySize::<u128>::new(raters);
    let mut sums = Sums::default();
    for unit in counts.each_unit() {
        let (mut m, mut s1, mut s2) = (0u64, 0u64, 0u64);
        for (code, n) in unit.clone() {
            let (n, d) = (u64::from(n), offset(code));
            m += n;
            s1 += n * d;
            s2 += n * d * d;
        }
        if m < 2 {
            continue;
        }
        for (code, n) in unit {
            if let Some(t) = totals.get_mut(code as usize) {
                *t += u64::from(n);
            }
        }
        spread.add(
            m,
            u128::from(m) * u128::from(s2) - u128::from(s1) * u128::from(s1),
        );
        sums.values += m;
        sums.units += 1;
    }
    sums.observed = spread
        .groups()
        .map(|(m, sum)| 2.0 * sum as f64 / (m - 1) as f64)
        .sum();
    sums.expected = integer_spread(&totals, values);
    sums.varies = totals.iter().filter(|t| **t > 0).count() >= 2;
    sums
}

/// Σ_{c,k} n_c n_k (v_c − v_k)² = 2(n Σ n_c d_c² − (Σ n_c d_c)²) for integer
/// values within 255 of each other, d_c being v_c less the smallest value;
/// exact.
fn integer_spread(totals: &[u64], values: &[f64]) -> f64 {
    let base = values.first().copied().unwrap_or(0.0);
    let (mut n, mut s1, mut s2) = (0u128, 0u128, 0u128);
    for (&t, &v) in totals.iter().zip(values) {
        let (t, d) = (u128::from(t), (v - base) as u128);
        n += t;
        s1 += t * d;
        s2 += t * d * d;
    }
    2.0 * (n * s2 - s1 * s1) as f64
}

/// Units per block in [`Coincidences::of`].
const PAIR_BLOCK: usize = 256;

/// Σ a_i b_i in four lanes, so that the loop vectorises.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let (mut ca, mut cb) = (a.chunks_exact(4), b.chunks_exact(4));
    for (qa, qb) in (&mut ca).zip(&mut cb) {
        for ((l, &x), &y) in lanes.iter_mut().zip(qa).zip(qb) {
            *l += x * y;
        }
    }
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

/// The off-diagonal coincidences of dense counts (few categories),
/// o_ck = Σ_u n_uc n_uk / (m_u − 1) for c < k over the pairable units, with
/// the pairable values per category n_c. Since δ² vanishes on the diagonal
/// and is symmetric, Σ_{c,k} o_ck δ²(c,k) = 2 Σ_{c<k} o_ck δ²(c,k) needs no
/// more. The diagonal is summed too, for the nominal coefficients.
pub(super) struct Coincidences {
    width: usize,
    /// o_ck for the pairs c < k, row by row.
    upper: Vec<f64>,
    /// n_c.
    pub(super) totals: Vec<u64>,
    /// n, the number of pairable values.
    pub(super) values: u64,
    /// Number of pairable units.
    pub(super) units: u64,
    /// Σ_c o_cc = Σ_u Σ_c n_uc(n_uc − 1)/(m_u − 1).
    pub(super) agreeing: f64,
    /// Σ_u Σ_c n_uc(n_uc − 1)/(m_u(m_u − 1)).
    pub(super) unit_agreement: f64,
}

impl Coincidences {
    /// The coincidences of the units, a block of [`PAIR_BLOCK`] at a time:
    /// each unit's weight 1/(m_u − 1) (0 when it is not pairable), the
    /// category counts as `f64` with and without the weight, then one
    /// vectorised dot product per pair of categories.
    pub(super) fn of(counts: &DenseCounts) -> Coincidences {
        let columns: Vec<&[u16]> = counts.columns().collect();
        let width = columns.len();
        let units = counts.units();
        let mut co = Coincidences {
            width,
            upper: vec![0.0; width * width.saturating_sub(1) / 2],
            totals: vec![0; width],
            values: 0,
            units: 0,
            agreeing: 0.0,
            unit_agreement: 0.0,
        };
        let stride = PAIR_BLOCK.min(units).max(1);
        let mut plain = vec![0.0f64; width * stride];
        let mut weighted = vec![0.0f64; width * stride];
        let mut sizes = [0u32; PAIR_BLOCK];
        // Per unit: Σ_c n_uc(n_uc − 1), 1/(m_u − 1) and 1/(m_u(m_u − 1)),
        // the weights 0 when the unit is not pairable.
        let mut same = [0.0f64; PAIR_BLOCK];
        let mut weights = [0.0f64; PAIR_BLOCK];
        let mut pair_weights = [0.0f64; PAIR_BLOCK];
        let mut start = 0;
        while start < units {
            let len = stride.min(units - start);
            let sizes = sizes.get_mut(..len).unwrap_or(&mut []);
            let same = same.get_mut(..len).unwrap_or(&mut []);
            let weights = weights.get_mut(..len).unwrap_or(&mut []);
            let pair_weights = pair_weights.get_mut(..len).unwrap_or(&mut []);
            sizes.fill(0);
            same.fill(0.0);
            for column in &columns {
                let cells = sizes.iter_mut().zip(same.iter_mut());
                for ((m, s), &n) in cells.zip(part(column, start, len)) {
                    *m += u32::from(n);
                    let n = f64::from(n);
                    *s += n * (n - 1.0);
                }
            }
            let unit_weights = weights.iter_mut().zip(pair_weights.iter_mut());
            for ((w, pw), &m) in unit_weights.zip(sizes.iter()) {
                let (pairable, m) = (f64::from(u8::from(m >= 2)), f64::from(m.max(2)));
                *w = pairable / (m - 1.0);
                *pw = *w / m;
            }
            co.agreeing += dot(same, weights);
            co.unit_agreement += dot(same, pair_weights);
            let blocks = plain
                .chunks_exact_mut(stride)
                .zip(weighted.chunks_exact_mut(stride));
            for ((column, total), (x, y)) in columns.iter().zip(&mut co.totals).zip(blocks) {
                let cells = x.iter_mut().zip(y.iter_mut());
                let units = sizes.iter().zip(weights.iter());
                let mut sum = 0u64;
                for ((x, y), (&n, (&m, &w))) in
                    cells.zip(part(column, start, len).iter().zip(units))
                {
                    let n = if m >= 2 { n } else { 0 };
                    sum += u64::from(n);
                    *x = f64::from(n);
                    *y = *x * w;
                }
                *total += sum;
            }
            for &m in sizes.iter() {
                let pairable = u64::from(m >= 2);
                co.values += pairable * u64::from(m);
                co.units += pairable;
            }
            let mut upper = co.upper.iter_mut();
            for (c, y) in weighted.chunks_exact(stride).enumerate().take(width) {
                // The later categories first: zip stops on them without
                // taking another entry of `upper`.
                let later = plain.chunks_exact(stride).skip(c + 1);
                for (x, o) in later.zip(upper.by_ref()) {
                    *o += dot(part(y, 0, len), part(x, 0, len));
                }
            }
            start += len;
        }
        co
    }

    /// Σ_{c,k} o_ck δ²(c,k), with δ²(c, k) given for c < k.
    pub(super) fn observed(&self, delta: impl Fn(usize, usize) -> f64) -> f64 {
        let pairs = (0..self.width).flat_map(|c| (c + 1..self.width).map(move |k| (c, k)));
        let sum: f64 = self
            .upper
            .iter()
            .zip(pairs)
            .map(|(&o, (c, k))| o * delta(c, k))
            .sum();
        2.0 * sum
    }

    /// The alpha sums given the observed and expected double sums.
    fn sums(&self, observed: f64, expected: f64) -> Sums {
        Sums {
            observed,
            expected,
            values: self.values,
            units: self.units,
            varies: self.totals.iter().filter(|t| **t > 0).count() >= 2,
        }
    }
}

/// Per-unit terms added up separately for each number of values m (up to
/// the number of raters), so that the division by m − 1 in the alpha
/// formula happens once per m rather than once per unit.
struct BySize<T>(Vec<T>);

impl<T: Copy + Default + std::ops::AddAssign> BySize<T> {
    fn new(raters: usize) -> Self {
        BySize(vec![T::default(); raters + 1])
    }

    /// Adds the term of a unit with `m` values.
    fn add(&mut self, m: u64, term: T) {
        if let Some(sum) = usize::try_from(m).ok().and_then(|m| self.0.get_mut(m)) {
            *sum += term;
        }
    }

    /// (m, sum of the terms of the units with m values) for m ≥ 2.
    fn groups(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        (0u64..).zip(self.0.iter().copied()).skip(2)
    }
}

/// Pairable values per category, n_c (units with at least two values only).
fn pairable_totals(counts: &UnitCounts) -> Vec<u64> {
    let mut totals = vec![0u64; counts.values().len()];
    for unit in counts.each_unit().filter(|u| unit_size(u.clone()) >= 2) {
        for (code, n) in unit {
            if let Some(t) = totals.get_mut(code as usize) {
                *t += u64::from(n);
            }
        }
    }
    totals
}

/// Doubled mid-ranks R_c = 2 P_c + n_c (P_c = Σ_{g<c} n_g) of the categories.
pub(super) fn doubled_midranks(totals: &[u64]) -> Vec<u64> {
    let mut below = 0u64;
    totals
        .iter()
        .map(|&t| {
            let r = 2 * below + t;
            below += t;
            r
        })
        .collect()
}

/// Ordinal expected sum Σ_{c,k} n_c n_k (r_c − r_k)² = (n/2) Σ_c n_c (R_c − n)²,
/// using that the n-weighted mean of the mid-ranks r_c is exactly n/2.
pub(super) fn ordinal_expected(totals: &[u64], doubled: &[u64], n: u64) -> f64 {
    let sum: u128 = totals
        .iter()
        .zip(doubled)
        .map(|(&t, &r)| {
            let d = u128::from(r.abs_diff(n));
            u128::from(t) * d * d
        })
        .sum();
    n as f64 * sum as f64 / 2.0
}

/// Ordinal unit term S_u/(m_u − 1) from a unit's (category, count) pairs
/// and the doubled mid-ranks of the categories; see [`ordinal_unit_parts`].
pub(super) fn ordinal_unit(
    unit: impl Iterator<Item = (u32, u32)>,
    doubled: &[u64],
    narrow: bool,
) -> f64 {
    let (m, twice) = ordinal_unit_parts(unit, doubled, narrow);
    twice as f64 / 2.0 / (m - 1) as f64
}

/// m_u and 2 S_u = m ΣR² − (ΣR)², exact, from a unit's (category, count)
/// pairs and the doubled mid-ranks R of the categories. `narrow` says that
/// 64-bit sums cannot overflow (see [`ordinal_fits_u64`]); otherwise
/// 128-bit sums are used.
pub(super) fn ordinal_unit_parts(
    unit: impl Iterator<Item = (u32, u32)>,
    doubled: &[u64],
    narrow: bool,
) -> (u64, u128) {
    let rank = |code: u32| doubled.get(code as usize).copied().unwrap_or(0);
    if narrow {
        let (mut m, mut s1, mut s2) = (0u64, 0u64, 0u64);
        for (code, n) in unit {
            let (n, r) = (u64::from(n), rank(code));
            m += n;
            s1 += n * r;
            s2 += n * r * r;
        }
        (m, u128::from(m * s2 - s1 * s1))
    } else {
        let (mut m, mut s1, mut s2) = (0u64, 0u128, 0u128);
        for (code, n) in unit {
            let (n, r) = (u128::from(n), u128::from(rank(code)));
            m += n as u64;
            s1 += n * r;
            s2 += n * r * r;
        }
        (m, u128::from(m) * s2 - s1 * s1)
    }
}

/// Whether a unit of at most `m` values with doubled mid-ranks R ≤ 2n keeps
/// m ΣR² and (ΣR)² (both ≤ 4 m² n²) within 64 bits.
pub(super) fn ordinal_fits_u64(m: u64, n: u64) -> bool {
    let bound = 4 * u128::from(m) * u128::from(m) * u128::from(n) * u128::from(n);
    bound < u128::from(u64::MAX)
}

/// Ordinal: interval alpha on mid-ranks (see the module notes).
fn ordinal_sums(ratings: &Ratings) -> Sums {
    match ratings.counts() {
        Counts::Dense(counts) => {
            let co = Coincidences::of(counts);
            let doubled = doubled_midranks(&co.totals);
            let rank = |c: usize| doubled.get(c).copied().unwrap_or(0) as f64;
            let observed = co.observed(|c, k| ((rank(k) - rank(c)) / 2.0).powi(2));
            co.sums(observed, ordinal_expected(&co.totals, &doubled, co.values))
        }
        Counts::Listed(counts) => ordinal_tally_sums(counts, ratings.raters()),
    }
}

/// Ordinal sums over the units of `counts`, at most `raters` values each.
fn ordinal_tally_sums(counts: &UnitCounts, raters: usize) -> Sums {
    let totals = pairable_totals(counts);
    let doubled = doubled_midranks(&totals);
    let mut sums = Sums {
        values: totals.iter().sum(),
        varies: totals.iter().filter(|t| **t > 0).count() >= 2,
        ..Sums::default()
    };
    let narrow = ordinal_fits_u64(raters as u64, sums.values);
    let mut spread = BySize::<u128>::new(raters);
    for unit in counts.each_unit() {
        let (m, twice) = ordinal_unit_parts(unit, &doubled, narrow);
        if m >= 2 {
            spread.add(m, twice);
            sums.units += 1;
        }
    }
    sums.observed = spread
        .groups()
        .map(|(m, sum)| sum as f64 / 2.0 / (m - 1) as f64)
        .sum();
    sums.expected = ordinal_expected(&totals, &doubled, sums.values);
    sums
}

/// Ratio distance ((a − b)/(a + b))² for a, b ≥ 0, zero when both are zero.
pub(super) fn ratio_delta2(a: f64, b: f64) -> f64 {
    let s = a + b;
    if s == 0.0 {
        0.0
    } else {
        let q = (a - b) / s;
        q * q
    }
}

/// Ratio distances are tabulated once (V² entries) for up to this many
/// categories, when the table costs no more than the pairs it serves.
const RATIO_TABLE_MAX: usize = 256;

/// Ratio distances between categories: tabulated for few categories,
/// computed on demand otherwise.
pub(super) struct RatioDistance<'a> {
    values: &'a [f64],
    table: Option<Vec<f64>>,
}

impl<'a> RatioDistance<'a> {
    /// Distances between `values`; `pairs` estimates how many will be asked.
    pub(super) fn new(values: &'a [f64], pairs: usize) -> Self {
        let v = values.len();
        let table = (v <= RATIO_TABLE_MAX && v * v <= pairs.max(64)).then(|| {
            values
                .iter()
                .flat_map(|&a| values.iter().map(move |&b| ratio_delta2(a, b)))
                .collect()
        });
        RatioDistance { values, table }
    }

    /// The tabulated distances from category `c`, if tabulated.
    pub(super) fn row(&self, c: u32) -> Option<&[f64]> {
        let v = self.values.len();
        let start = c as usize * v;
        self.table.as_ref()?.get(start..start + v)
    }

    pub(super) fn get(&self, c: u32, k: u32) -> f64 {
        let (c, k) = (c as usize, k as usize);
        match &self.table {
            Some(t) => t.get(c * self.values.len() + k).copied().unwrap_or(0.0),
            None => match (self.values.get(c), self.values.get(k)) {
                (Some(&a), Some(&b)) => ratio_delta2(a, b),
                _ => 0.0,
            },
        }
    }
}

/// Up to this many distinct pairable values the ratio-level D_e is summed
/// pair by pair; beyond, by quadrature ([`ratio_expected_quadrature`]).
const RATIO_DIRECT_MAX: usize = 2048;

/// Σ_{c≠k} n_c n_k δ²(c,k) for the ratio distance over the categories with
/// n_c > 0 (`values` sorted ascending, all ≥ 0): pair by pair for at most
/// [`RATIO_DIRECT_MAX`] values, else by quadrature.
pub(super) fn ratio_expected(values: &[f64], totals: &[f64]) -> f64 {
    let (vals, counts): (Vec<f64>, Vec<f64>) = values
        .iter()
        .zip(totals)
        .filter(|(_, t)| **t > 0.0)
        .map(|(v, t)| (*v, *t))
        .unzip();
    if vals.len() <= RATIO_DIRECT_MAX {
        ratio_expected_direct(&vals, &counts)
    } else {
        ratio_expected_quadrature(&vals, &counts)
    }
}

/// The ratio double sum pair by pair, O(V²). The values are sorted, so
/// b > a ≥ 0 in the inner loop; four accumulators let it vectorise.
fn ratio_expected_direct(vals: &[f64], counts: &[f64]) -> f64 {
    let mut total = 0.0;
    for (i, (&a, &na)) in vals.iter().zip(counts).enumerate() {
        let rest_v = vals.get(i + 1..).unwrap_or(&[]);
        let rest_c = counts.get(i + 1..).unwrap_or(&[]);
        let mut acc = [0.0f64; 4];
        let mut chunks_v = rest_v.chunks_exact(4);
        let mut chunks_c = rest_c.chunks_exact(4);
        for (bv, bc) in (&mut chunks_v).zip(&mut chunks_c) {
            for (lane, (&b, &nb)) in acc.iter_mut().zip(bv.iter().zip(bc)) {
                let q = (b - a) / (b + a);
                *lane += nb * q * q;
            }
        }
        let mut tail = 0.0;
        for (&b, &nb) in chunks_v.remainder().iter().zip(chunks_c.remainder()) {
            let q = (b - a) / (b + a);
            tail += nb * q * q;
        }
        total += na * ((acc[0] + acc[1]) + (acc[2] + acc[3]) + tail);
    }
    2.0 * total
}

/// Step of the trapezoidal rule in u = ln s.
const QUADRATURE_STEP: f64 = 0.2;

/// The ratio double sum in O(V · nodes) through
///
/// ```text
/// ((a − b)/(a + b))² = (a − b)² ∫_0^∞ s e^{−s(a+b)} ds, so
/// Σ_{a,b} n_a n_b δ²(a,b) = ∫_0^∞ s · 2 W(s) M(s) ds
/// ```
///
/// with weights w_a = n_a e^{−s a}, W = Σ w_a and M = Σ w_a (a − μ)² about
/// the weighted mean μ: a weighted variance, computed in two passes, so every
/// term is non-negative and nothing cancels. In u = ln s the integrand of each
/// pair is a smooth bump (x² e^{−x} with x = s(a + b)) that is analytic in a
/// strip around the real axis, so the trapezoidal rule with step 0.2
/// converges geometrically (error of order e^{−2π·1.4/0.2}, below 1e−15
/// relative); the range of u covers x from 1e−8 to 48 for every pair sum.
/// Weights are scaled by e^{s·min} to avoid underflow.
fn ratio_expected_quadrature(vals: &[f64], counts: &[f64]) -> f64 {
    let (Some(&low), Some(&high)) = (vals.first(), vals.last()) else {
        return 0.0;
    };
    let smallest_positive = vals.iter().copied().find(|v| *v > 0.0).unwrap_or(high);
    // Smallest and largest pair sums a + b with a ≠ b.
    let least = if low == 0.0 {
        smallest_positive
    } else {
        2.0 * low
    };
    let most = 2.0 * high;
    if least <= 0.0 || least.is_nan() {
        return 0.0;
    }
    let (u_lo, u_hi) = ((1e-8 / most).ln(), (48.0 / least).ln());
    let nodes = ((u_hi - u_lo) / QUADRATURE_STEP).ceil() as usize + 1;
    let mut weights = vec![0.0f64; vals.len()];
    let mut total = 0.0;
    for node in 0..nodes {
        let s = (u_lo + node as f64 * QUADRATURE_STEP).exp();
        for ((w, &v), &n) in weights.iter_mut().zip(vals).zip(counts) {
            *w = n * (-s * (v - low)).exp();
        }
        let sum_w: f64 = weights.iter().sum();
        let mean = weights.iter().zip(vals).map(|(w, v)| w * v).sum::<f64>() / sum_w;
        let spread: f64 = weights
            .iter()
            .zip(vals)
            .map(|(w, v)| w * (v - mean) * (v - mean))
            .sum();
        total += s * s * 2.0 * sum_w * spread * (-2.0 * s * low).exp();
    }
    QUADRATURE_STEP * total
}

/// Ratio unit term S_u/(m_u − 1) = 2 Σ_{a<b} n_a n_b δ²(a,b)/(m_u − 1) over
/// the unit's (category, count) pairs (m = m_u).
pub(super) fn ratio_unit(
    unit: impl Iterator<Item = (u32, u32)> + Clone,
    dist: &RatioDistance<'_>,
    m: u64,
) -> f64 {
    2.0 * ratio_pairs(unit, dist) / (m - 1) as f64
}

/// Σ_{a<b} n_a n_b δ²(a,b) over a unit's (category, count) pairs, as
/// Σ_a n_a (Σ_{b>a} n_b δ²(a,b)) so that the inner sums are independent.
fn ratio_pairs(unit: impl Iterator<Item = (u32, u32)> + Clone, dist: &RatioDistance<'_>) -> f64 {
    let mut pairs = 0.0;
    let mut rest = unit;
    while let Some((c, nc)) = rest.next() {
        if nc == 0 {
            continue;
        }
        let later = rest.clone();
        let near: f64 = match dist.row(c) {
            Some(row) => later
                .map(|(k, nk)| f64::from(nk) * row.get(k as usize).copied().unwrap_or(0.0))
                .sum(),
            None => later.map(|(k, nk)| f64::from(nk) * dist.get(c, k)).sum(),
        };
        pairs += f64::from(nc) * near;
    }
    pairs
}

/// Ratio: per unit the pairs of its distinct values; expected over the pairs
/// of distinct pairable values.
fn ratio_sums(ratings: &Ratings) -> Sums {
    let raters = ratings.raters();
    let pairs = ratings.rated() * raters / 2;
    match ratings.counts() {
        Counts::Dense(counts) => {
            let co = Coincidences::of(counts);
            let values = counts.values();
            let value = |c: usize| values.get(c).copied().unwrap_or(0.0);
            let observed = co.observed(|c, k| ratio_delta2(value(c), value(k)));
            let totals: Vec<f64> = co.totals.iter().map(|&t| t as f64).collect();
            co.sums(observed, ratio_expected(values, &totals))
        }
        Counts::Listed(counts) => ratio_tally_sums(counts, raters, pairs),
    }
}

/// Ratio sums over the units of `counts`, at most `raters` values each;
/// `pairs` estimates the number of distances the units ask for.
fn ratio_tally_sums(counts: &UnitCounts, raters: usize, pairs: usize) -> Sums {
    let values = counts.values();
    let dist = RatioDistance::new(values, pairs);
    let mut totals = vec![0.0f64; values.len()];
    let mut spread = BySize::<f64>::new(raters);
    let mut sums = Sums::default();
    for unit in counts.each_unit() {
        let m = unit_size(unit.clone());
        if m < 2 {
            continue;
        }
        spread.add(m, ratio_pairs(unit.clone(), &dist));
        sums.values += m;
        sums.units += 1;
        for (code, n) in unit {
            if let Some(t) = totals.get_mut(code as usize) {
                *t += f64::from(n);
            }
        }
    }
    sums.observed = spread
        .groups()
        .map(|(m, sum)| 2.0 * sum / (m - 1) as f64)
        .sum();
    sums.varies = totals.iter().filter(|t| **t > 0.0).count() >= 2;
    sums.expected = ratio_expected(values, &totals);
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Krippendorff (2011), p. 3: 4 observers × 12 units, 0-based rows A..D.
    fn published() -> Ratings {
        Ratings::from_rows(&super::super::ratings::krippendorff_2011()).expect("valid matrix")
    }

    fn alpha(r: &Ratings, level: Level) -> f64 {
        krippendorff_alpha(r, level).expect("defined").alpha
    }

    /// Coincidence matrix built literally from its definition, for checking.
    fn coincidences(r: &Ratings) -> (Vec<f64>, Vec<Vec<f64>>) {
        let values = r.distinct_values().to_vec();
        let v = values.len();
        let mut o = vec![vec![0.0; v]; v];
        for u in 0..r.units() {
            let vals: Vec<usize> = (0..r.raters())
                .filter_map(|i| r.rating(i, u))
                .filter_map(|x| values.iter().position(|y| *y == x))
                .collect();
            let m = vals.len() as f64;
            for (i, &a) in vals.iter().enumerate() {
                for (j, &b) in vals.iter().enumerate() {
                    if i != j {
                        o[a][b] += 1.0 / (m - 1.0);
                    }
                }
            }
        }
        (values, o)
    }

    /// Alpha straight from the coincidence-matrix definition with a given δ².
    fn alpha_by_definition(
        r: &Ratings,
        delta2: impl Fn(usize, usize, &[f64], &[f64]) -> f64,
    ) -> f64 {
        let (values, o) = coincidences(r);
        let nc: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
        let n: f64 = nc.iter().sum();
        let (mut obs, mut exp) = (0.0, 0.0);
        for c in 0..values.len() {
            for k in 0..values.len() {
                let d = delta2(c, k, &values, &nc);
                obs += o[c][k] * d;
                exp += nc[c] * nc[k] * d;
            }
        }
        1.0 - (n - 1.0) * obs / exp
    }

    #[test]
    fn published_nominal_coincidences() {
        // Krippendorff (2011), p. 3: the coincidence matrix of the example.
        let (values, o) = coincidences(&published());
        assert_eq!(values, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let expected = [
            [7.0, 4.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0],
            [4.0 / 3.0, 10.0, 4.0 / 3.0, 1.0 / 3.0, 0.0],
            [1.0 / 3.0, 4.0 / 3.0, 8.0, 1.0 / 3.0, 0.0],
            [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 4.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 3.0],
        ];
        for (row, want) in o.iter().zip(expected) {
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-12, "{got} vs {want}");
            }
        }
        let nc: Vec<f64> = o.iter().map(|r| r.iter().sum()).collect();
        for (got, want) in nc.iter().zip([9.0, 13.0, 10.0, 5.0, 3.0]) {
            assert!((got - want).abs() < 1e-12);
        }
    }

    #[test]
    fn published_example_all_levels() {
        let r = published();
        // Exact values from the coincidence-matrix definition in rational
        // arithmetic (scripts/exact_published.py): alpha, D_o, D_e; and the
        // rounded values published in Krippendorff (2011).
        let cases = [
            (
                Level::Nominal,
                113.0 / 152.0,
                1.0 / 5.0,
                152.0 / 195.0,
                0.743,
            ),
            (
                Level::Ordinal,
                108_577.0 / 133_160.0,
                1891.0 / 40.0,
                3329.0 / 13.0,
                0.815,
            ),
            (
                Level::Interval,
                951.0 / 1120.0,
                13.0 / 30.0,
                112.0 / 39.0,
                0.849,
            ),
            (
                Level::Ratio,
                18_222_619.0 / 22_852_465.0,
                59_357.0 / 2_646_000.0,
                4_570_493.0 / 41_277_600.0,
                0.797,
            ),
        ];
        for (level, exact, d_o, d_e, published) in cases {
            let a = krippendorff_alpha(&r, level).expect("defined");
            assert_eq!(a.level, level);
            assert_eq!(a.pairable_values, 40, "{level}");
            assert_eq!(a.units, 11, "{level}");
            assert!(
                (a.alpha - exact).abs() < 1e-12,
                "{level}: {} vs {exact}",
                a.alpha
            );
            assert!(
                (a.observed - d_o).abs() < 1e-12,
                "{level}: D_o {}",
                a.observed
            );
            assert!(
                (a.expected - d_e).abs() < 1e-12,
                "{level}: D_e {}",
                a.expected
            );
            assert_eq!((a.alpha * 1000.0).round() / 1000.0, published, "{level}");
        }
    }

    #[test]
    fn fast_paths_match_the_definition() {
        let r = published();
        let nominal = alpha_by_definition(&r, |c, k, _, _| f64::from(u8::from(c != k)));
        let interval = alpha_by_definition(&r, |c, k, v, _| (v[c] - v[k]).powi(2));
        let ratio = alpha_by_definition(&r, |c, k, v, _| ratio_delta2(v[c], v[k]));
        let ordinal = alpha_by_definition(&r, |c, k, _, nc| {
            let (lo, hi) = (c.min(k), c.max(k));
            let between: f64 = nc[lo..=hi].iter().sum();
            (between - (nc[c] + nc[k]) / 2.0).powi(2)
        });
        for (level, want) in [
            (Level::Nominal, nominal),
            (Level::Ordinal, ordinal),
            (Level::Interval, interval),
            (Level::Ratio, ratio),
        ] {
            assert!((alpha(&r, level) - want).abs() < 1e-12, "{level}");
        }
    }

    /// δ²(c, k) given the category values and the totals n_c.
    type Delta2 = dyn Fn(usize, usize, &[f64], &[f64]) -> f64;

    /// A seeded random matrix: integers 1..=`k` (or continuous values in
    /// [0, 10) when `k` is 0) with about `missing` of the cells left out.
    fn random(
        raters: usize,
        units: usize,
        k: u32,
        missing: f64,
        seed: u64,
    ) -> Vec<Vec<Option<f64>>> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..raters)
            .map(|_| {
                (0..units)
                    .map(|_| {
                        let v = if k == 0 {
                            rng.random_range(0.0..10.0)
                        } else {
                            f64::from(rng.random_range(1..=k))
                        };
                        (rng.random::<f64>() >= missing).then_some(v)
                    })
                    .collect()
            })
            .collect()
    }

    fn build(rows: &[Vec<Option<f64>>]) -> Ratings {
        Ratings::from_rows(rows).expect("valid")
    }

    #[test]
    fn random_data_matches_the_definition() {
        for (seed, k) in [(1, 3), (2, 5), (3, 0), (4, 0), (5, 12)] {
            let r = build(&random(6, 40, k, 0.25, seed));
            let cases: [(Level, Box<Delta2>); 4] = [
                (
                    Level::Nominal,
                    Box::new(|c, k, _, _| f64::from(u8::from(c != k))),
                ),
                (
                    Level::Interval,
                    Box::new(|c, k, v, _| (v[c] - v[k]).powi(2)),
                ),
                (
                    Level::Ratio,
                    Box::new(|c, k, v, _| ratio_delta2(v[c], v[k])),
                ),
                (
                    Level::Ordinal,
                    Box::new(|c, k, _, nc| {
                        let (lo, hi) = (c.min(k), c.max(k));
                        let between: f64 = nc[lo..=hi].iter().sum();
                        (between - (nc[c] + nc[k]) / 2.0).powi(2)
                    }),
                ),
            ];
            for (level, delta2) in cases {
                let want = alpha_by_definition(&r, delta2);
                assert!(
                    (alpha(&r, level) - want).abs() < 1e-10,
                    "{level} seed {seed}"
                );
            }
        }
    }

    #[test]
    fn many_units_and_raters_match_the_definition() {
        // Several blocks of units and a rater count that is not a multiple of
        // four exercise the blocked and grouped accumulation paths.
        for (seed, k) in [(31, 5), (32, 40)] {
            let r = build(&random(7, 1300, k, 0.3, seed));
            let interval = alpha_by_definition(&r, |c, k, v, _| (v[c] - v[k]).powi(2));
            let nominal = alpha_by_definition(&r, |c, k, _, _| f64::from(u8::from(c != k)));
            assert!(
                (alpha(&r, Level::Interval) - interval).abs() < 1e-10,
                "seed {seed}"
            );
            assert!(
                (alpha(&r, Level::Nominal) - nominal).abs() < 1e-10,
                "seed {seed}"
            );
        }
    }

    #[test]
    fn coded_and_f64_storage_agree() {
        // Rating scales of 2, 5 and 30 values (30 are listed unit by unit
        // rather than tabulated), even values only (unused codes between
        // them), more raters than one-byte counts hold, and the published
        // example.
        let mut cases: Vec<Vec<Vec<Option<f64>>>> = [(41, 2), (42, 5), (43, 30)]
            .into_iter()
            .map(|(seed, k)| random(9, 700, k, 0.2, seed))
            .collect();
        let even = random(6, 300, 5, 0.2, 44)
            .into_iter()
            .map(|row| row.into_iter().map(|v| v.map(|v| 2.0 * v)).collect())
            .collect();
        cases.push(even);
        cases.push(random(300, 40, 4, 0.3, 45));
        // More raters than a 16-bit count holds: listed, not tabulated.
        cases.push(random(70_000, 3, 3, 0.5, 46));
        cases.push(super::super::ratings::krippendorff_2011());
        for rows in cases {
            let coded = build(&rows);
            let plain = Ratings::from_rows_as_values(&rows).expect("valid");
            assert!(coded.is_coded() && !plain.is_coded());
            for level in Level::ALL {
                let a = krippendorff_alpha(&coded, level).expect("defined");
                let b = krippendorff_alpha(&plain, level).expect("defined");
                assert!((a.alpha - b.alpha).abs() < 1e-12, "{level}");
                assert!((a.observed - b.observed).abs() <= 1e-12 * b.observed);
                assert!((a.expected - b.expected).abs() <= 1e-12 * b.expected);
                assert_eq!((a.units, a.pairable_values), (b.units, b.pairable_values));
            }
        }
    }

    #[test]
    fn invariant_to_rater_and_unit_order() {
        for (seed, k) in [(11, 4), (12, 0)] {
            let rows = random(5, 30, k, 0.2, seed);
            let base = build(&rows);
            let mut raters_reversed = rows.clone();
            raters_reversed.reverse();
            let units_rotated: Vec<Vec<Option<f64>>> = rows
                .iter()
                .map(|row| {
                    let mut row = row.clone();
                    row.rotate_left(7);
                    row.swap(0, 20);
                    row
                })
                .collect();
            for level in Level::ALL {
                let a = alpha(&base, level);
                assert!(
                    (alpha(&build(&raters_reversed), level) - a).abs() < 1e-12,
                    "{level}"
                );
                assert!(
                    (alpha(&build(&units_rotated), level) - a).abs() < 1e-12,
                    "{level}"
                );
            }
        }
    }

    #[test]
    fn interval_shift_and_ratio_scale_invariance() {
        for (seed, k) in [(21, 5), (22, 0)] {
            let rows = random(4, 50, k, 0.15, seed);
            let map = |f: &dyn Fn(f64) -> f64| -> Ratings {
                build(
                    &rows
                        .iter()
                        .map(|row| row.iter().map(|v| v.map(f)).collect())
                        .collect::<Vec<_>>(),
                )
            };
            let base = build(&rows);
            let shifted = map(&|v| v + 1234.5);
            let far = map(&|v| v + 1.0e6);
            let scaled = map(&|v| v * 37.25);
            let interval = alpha(&base, Level::Interval);
            assert!((alpha(&shifted, Level::Interval) - interval).abs() < 1e-12);
            assert!((alpha(&far, Level::Interval) - interval).abs() < 1e-9);
            assert!((alpha(&scaled, Level::Ratio) - alpha(&base, Level::Ratio)).abs() < 1e-12);
            // Ordinal and nominal only see the order and identity of values.
            for level in [Level::Nominal, Level::Ordinal] {
                assert!((alpha(&shifted, level) - alpha(&base, level)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn undefined_and_invalid_cases() {
        let same = build(&[
            vec![Some(2.5), Some(2.5), None],
            vec![Some(2.5), None, Some(2.5)],
        ]);
        let single_rater = build(&[vec![Some(1.0), Some(2.0), Some(3.0)]]);
        let unpaired = build(&[vec![Some(1.0), None], vec![None, Some(2.0)]]);
        for level in Level::ALL {
            assert_eq!(
                krippendorff_alpha(&same, level),
                Err(StatsError::NoVariation),
                "{level}"
            );
            assert_eq!(
                krippendorff_alpha(&single_rater, level),
                Err(StatsError::NoPairableValues),
                "{level}"
            );
            assert_eq!(
                krippendorff_alpha(&unpaired, level),
                Err(StatsError::NoPairableValues),
                "{level}"
            );
        }
        // Values that only occur in units with a single value do not count.
        let lone_variation = build(&[
            vec![Some(0.1), Some(7.0)],
            vec![Some(0.1), None],
            vec![Some(0.1), None],
        ]);
        for level in Level::ALL {
            assert_eq!(
                krippendorff_alpha(&lone_variation, level),
                Err(StatsError::NoVariation)
            );
        }
        let negative = build(&[vec![Some(1.0), Some(2.0)], vec![Some(1.0), Some(-2.0)]]);
        assert_eq!(
            krippendorff_alpha(&negative, Level::Ratio),
            Err(StatsError::NegativeRatio {
                rater: 1,
                unit: 1,
                value: -2.0
            })
        );
        assert!(krippendorff_alpha(&negative, Level::Interval).is_ok());
    }

    #[test]
    fn one_pairable_unit_gives_zero() {
        // With a single pairable unit the coincidences equal their expectation
        // (o_ck = e_ck), so alpha is exactly 0 at every level.
        let r = build(&[
            vec![None, Some(1.0), None, Some(9.0)],
            vec![None, Some(2.0), None, None],
            vec![None, Some(4.0), None, None],
        ]);
        for level in Level::ALL {
            let a = krippendorff_alpha(&r, level).expect("defined");
            assert!(a.alpha.abs() < 1e-15, "{level}: {}", a.alpha);
            assert_eq!((a.units, a.pairable_values), (1, 3));
        }
    }

    #[test]
    fn ratio_zero_pairs() {
        // δ²(0, 0) = 0 and δ²(0, k) = 1 for k > 0.
        assert_eq!(ratio_delta2(0.0, 0.0), 0.0);
        assert_eq!(ratio_delta2(0.0, 3.0), 1.0);
        assert!((ratio_delta2(1.0, 3.0) - 0.25).abs() < 1e-15);
        let r = build(&[
            vec![Some(0.0), Some(0.0), Some(2.0)],
            vec![Some(0.0), Some(1.0), Some(2.0)],
        ]);
        let want = alpha_by_definition(&r, |c, k, v, _| ratio_delta2(v[c], v[k]));
        assert!((alpha(&r, Level::Ratio) - want).abs() < 1e-14);
    }

    #[test]
    fn ratio_expected_matches_direct_double_sum() {
        let values: Vec<f64> = (0..23).map(|i| f64::from(i) * 0.7).collect();
        let totals: Vec<f64> = (0..23).map(|i| f64::from((i * 7) % 5)).collect();
        let mut direct = 0.0;
        for (a, na) in values.iter().zip(&totals) {
            for (b, nb) in values.iter().zip(&totals) {
                direct += na * nb * ratio_delta2(*a, *b);
            }
        }
        assert!((ratio_expected(&values, &totals) - direct).abs() < 1e-9 * direct);
    }

    #[test]
    fn ratio_quadrature_matches_pairwise_sum() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let spreads: [(f64, f64, bool); 4] = [
            (0.0, 100.0, false),
            (1000.0, 1001.0, false),
            (1e-3, 1e5, true),
            (5.0, 6.0, true),
        ];
        for (lo, hi, zeros) in spreads {
            let mut vals: Vec<f64> = (0..3000)
                .map(|_| {
                    if lo > 0.0 && hi / lo > 100.0 {
                        (rng.random_range(lo.ln()..hi.ln())).exp()
                    } else {
                        rng.random_range(lo..hi)
                    }
                })
                .collect();
            if zeros {
                vals.push(0.0);
            }
            vals.sort_by(f64::total_cmp);
            vals.dedup();
            let counts: Vec<f64> = (0..vals.len())
                .map(|_| f64::from(rng.random_range(1..4u8)))
                .collect();
            let direct = ratio_expected_direct(&vals, &counts);
            let quad = ratio_expected_quadrature(&vals, &counts);
            assert!(
                ((quad - direct) / direct).abs() < 1e-12,
                "[{lo}, {hi}]: {quad} vs {direct}"
            );
        }
    }

    #[test]
    fn ordinal_unit_sums_agree_in_64_and_128_bits() {
        let doubled = [3u64, 10, 17, 40];
        let entries = [(0u32, 2u32), (2, 1), (3, 4)];
        let narrow = ordinal_unit(entries.iter().copied(), &doubled, true);
        assert_eq!(
            narrow,
            ordinal_unit(entries.iter().copied(), &doubled, false)
        );
        // Σ_{i<j} (R_i − R_j)² / 2 / (m − 1) computed pair by pair.
        let ranks: Vec<f64> = entries
            .iter()
            .flat_map(|&(c, n)| std::iter::repeat_n(doubled[c as usize] as f64, n as usize))
            .collect();
        let mut direct = 0.0;
        for (i, a) in ranks.iter().enumerate() {
            for b in &ranks[i + 1..] {
                direct += (a - b) * (a - b);
            }
        }
        assert!((narrow - direct / 2.0 / (ranks.len() - 1) as f64).abs() < 1e-12);
        assert!(ordinal_fits_u64(50, 1 << 20));
        assert!(!ordinal_fits_u64(1 << 16, 1 << 20));
    }
}
