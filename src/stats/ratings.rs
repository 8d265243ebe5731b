//! The input of every coefficient: a raters × units matrix of ratings with
//! missing values, and the level of measurement of the rated variable.
//!
//! In Krippendorff's terms this is the *reliability data matrix*: one row per
//! rater (coder, observer, evaluator), one column per unit (a call, ticket or
//! chat that was evaluated), and in each cell the value the rater gave the
//! unit, or nothing when that rater did not rate that unit.
//!
//! The matrix is validated once, when it is built ([`Ratings::from_rows`]):
//! every value must be finite, there must be at least one rater and one unit,
//! and all rows must have the same length. Values are stored row by row, as
//! given; per-unit sums are accumulated reading the rows in order.
//!
//! Nominal, ordinal and ratio computations work on each unit's counts of
//! the distinct values. Those are computed on first use and cached, so
//! several coefficients on the same matrix share that work; interval alpha
//! never needs them and stays O(raters × units) whatever the values.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Serialize;

use super::error::StatsError;

/// Stevens' level of measurement, which selects the distance (difference
/// function δ²) that Krippendorff's alpha uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Unordered categories: two values either match (δ² = 0) or not (δ² = 1).
    Nominal,
    /// Ordered categories: the distance grows with the number of pairable
    /// values ranked between the two values.
    Ordinal,
    /// Equal-interval scale: δ² = (c − k)².
    Interval,
    /// Interval scale with a true zero: δ² = ((c − k)/(c + k))².
    Ratio,
}

impl Level {
    /// The four levels, from weakest to strongest.
    pub const ALL: [Level; 4] = [
        Level::Nominal,
        Level::Ordinal,
        Level::Interval,
        Level::Ratio,
    ];

    /// Lower-case name: "nominal", "ordinal", "interval" or "ratio".
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Nominal => "nominal",
            Level::Ordinal => "ordinal",
            Level::Interval => "interval",
            Level::Ratio => "ratio",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = StatsError;

    /// Parses a level name, ignoring surrounding white space and ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        Level::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| StatsError::UnknownLevel(s.to_owned()))
    }
}

/// Marks a missing cell in internal code arrays.
const MISSING: u32 = u32::MAX;

/// Largest magnitude for which an integer-valued `f64` is handled by the
/// integer paths (well inside the exactly representable integers).
const INTEGER_LIMIT: f64 = 1.0e15;

/// Category counts are tallied in a dense units × (categories + 1) table
/// when it has at most this many cells or at most four times as many cells
/// as the matrix; otherwise unit by unit.
const DENSE_CELLS: usize = 1 << 20;

/// Up to this many distinct values are collected in a small sorted list
/// instead of sorting all values.
const FEW_VALUES: usize = 128;

/// A validated raters × units matrix of ratings; `None` marks a missing rating.
#[derive(Debug)]
pub struct Ratings {
    raters: usize,
    units: usize,
    /// Rater-major cells: the rating of rater `r` for unit `u` is at
    /// `r * units + u`; NaN marks a missing rating (inputs are finite).
    cells: Vec<f64>,
    rated: usize,
    counts: OnceLock<UnitCounts>,
}

impl Ratings {
    /// Builds the matrix from one row per rater, each with one entry per unit.
    ///
    /// Errors: [`StatsError::NoRaters`] for no rows, [`StatsError::NoUnits`]
    /// for empty rows, [`StatsError::RowLength`] naming the first row whose
    /// length differs from row 0, and [`StatsError::NonFinite`] naming the
    /// first NaN or infinite value (reading row by row). Negative zero is
    /// stored as zero.
    pub fn from_rows<R: AsRef<[Option<f64>]>>(rows: &[R]) -> Result<Self, StatsError> {
        let raters = rows.len();
        let first = rows.first().ok_or(StatsError::NoRaters)?;
        let units = first.as_ref().len();
        if units == 0 {
            return Err(StatsError::NoUnits);
        }
        // Each row is converted a block at a time; the block is then counted
        // while it is in cache. Each loop vectorises.
        let mut cells = Vec::with_capacity(raters.saturating_mul(units));
        let mut missing = 0usize;
        let mut not_finite = [0.0f64; LANES];
        for (rater, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != units {
                return Err(StatsError::RowLength {
                    rater,
                    expected: units,
                    found: row.len(),
                });
            }
            for segment in row.chunks(BLOCK) {
                let start = cells.len();
                // Adding zero turns −0.0 into +0.0, so both are one category.
                cells.extend(segment.iter().map(|x| x.map_or(f64::NAN, |v| v + 0.0)));
                missing += segment.iter().filter(|x| x.is_none()).count();
                count_not_finite(cells.get(start..).unwrap_or(&[]), &mut not_finite);
            }
        }
        // More NaN or infinite cells than missing ones: a value was not finite.
        if not_finite.iter().sum::<f64>() as usize != missing {
            for (rater, row) in rows.iter().enumerate() {
                if let Some(unit) = row
                    .as_ref()
                    .iter()
                    .position(|x| x.is_some_and(|v| !v.is_finite()))
                {
                    return Err(StatsError::NonFinite { rater, unit });
                }
            }
        }
        let rated = cells.len() - missing;
        Ok(Ratings {
            raters,
            units,
            cells,
            rated,
            counts: OnceLock::new(),
        })
    }

    /// Number of raters (rows).
    pub fn raters(&self) -> usize {
        self.raters
    }

    /// Number of units (columns).
    pub fn units(&self) -> usize {
        self.units
    }

    /// Number of ratings that are present (not missing).
    pub fn rated(&self) -> usize {
        self.rated
    }

    /// The rating of `rater` for `unit`; `None` when it is missing or either
    /// index is out of range.
    pub fn rating(&self, rater: usize, unit: usize) -> Option<f64> {
        if rater >= self.raters || unit >= self.units {
            return None;
        }
        self.cells
            .get(rater * self.units + unit)
            .copied()
            .filter(|v| !v.is_nan())
    }

    /// The sorted distinct values that occur in the matrix.
    pub fn distinct_values(&self) -> &[f64] {
        &self.unit_counts().values
    }

    /// Rater-major rows of cells (`units` long each), NaN for missing.
    pub(super) fn rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.cells.chunks_exact(self.units)
    }

    /// Per-unit category counts, computed on first use.
    pub(super) fn unit_counts(&self) -> &UnitCounts {
        self.counts.get_or_init(|| UnitCounts::of(self))
    }

    /// Position and value of the first negative rating (reading row by row),
    /// as the ratio-level error.
    pub(super) fn check_non_negative(&self) -> Result<(), StatsError> {
        // The distinct values are sorted: the first is the smallest.
        if self.distinct_values().first().is_none_or(|lo| *lo >= 0.0) {
            return Ok(());
        }
        match self.cells.iter().position(|v| *v < 0.0) {
            None => Ok(()),
            Some(i) => Err(StatsError::NegativeRatio {
                rater: i / self.units,
                unit: i % self.units,
                value: self.cells.get(i).copied().unwrap_or_default(),
            }),
        }
    }

    /// Per-unit category counts summarised for the nominal coefficients
    /// (alpha, percent agreement, Fleiss' kappa); see [`NominalTally`].
    pub(super) fn nominal_tally(&self) -> NominalTally {
        let counts = self.unit_counts();
        let mut tally = NominalTally {
            totals: vec![0u64; counts.values.len()],
            ..NominalTally::default()
        };
        for unit in counts.units() {
            let m: u64 = unit.iter().map(|&(_, n)| u64::from(n)).sum();
            if m < 2 {
                continue;
            }
            let mut squares = 0u64;
            for &(code, n) in unit {
                squares += u64::from(n) * u64::from(n);
                if let Some(t) = tally.totals.get_mut(code as usize) {
                    *t += u64::from(n);
                }
            }
            let (mf, sq) = (m as f64, squares as f64);
            tally.disagreeing += (mf * mf - sq) / (mf - 1.0);
            tally.agreeing += (sq - mf) / (mf - 1.0);
            tally.unit_agreement += (sq - mf) / (mf * (mf - 1.0));
            tally.values += m;
            tally.units += 1;
        }
        tally
    }
}

/// Adding and subtracting 1.5 · 2^52 rounds any |v| < 2^51 to an integer.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// Cells are processed in blocks of this many, which stay in cache.
const BLOCK: usize = 1024;

/// Up to this many count columns (categories + missing), integer ratings
/// are counted by comparison rather than by incrementing counters.
const COMPARE_COLUMNS: usize = 9;

/// Range of the present values.
#[derive(Debug, Clone, Copy)]
struct Summary {
    lo: f64,
    hi: f64,
}

/// Independent accumulators per lane let the compiler vectorise the scans.
const LANES: usize = 8;

/// Adds, lane by lane, the number of cells that are NaN or infinite
/// (missing cells are NaN).
fn count_not_finite(cells: &[f64], lanes: &mut [f64; LANES]) {
    let mut chunks = cells.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (n, &v) in lanes.iter_mut().zip(chunk) {
            *n += if v.is_finite() { 0.0 } else { 1.0 };
        }
    }
    let [n, ..] = lanes;
    for &v in chunks.remainder() {
        *n += if v.is_finite() { 0.0 } else { 1.0 };
    }
}

impl Summary {
    /// The range of the present cells, in lanes (`f64::min` and `max`
    /// ignore the NaN of a missing cell).
    fn of(cells: &[f64]) -> Summary {
        let mut lo = [f64::INFINITY; LANES];
        let mut hi = [f64::NEG_INFINITY; LANES];
        let mut chunks = cells.chunks_exact(LANES);
        for chunk in &mut chunks {
            for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(chunk) {
                *l = l.min(v);
                *h = h.max(v);
            }
        }
        let rest = chunks.remainder();
        Summary {
            lo: rest.iter().chain(&lo).fold(f64::INFINITY, |a, &b| a.min(b)),
            hi: rest
                .iter()
                .chain(&hi)
                .fold(f64::NEG_INFINITY, |a, &b| a.max(b)),
        }
    }
}

/// Whether every present value is an integer of magnitude at most
/// [`INTEGER_LIMIT`] (`lo` and `hi` being the range of the values).
fn all_integers(cells: &[f64], lo: f64, hi: f64) -> bool {
    if lo < -INTEGER_LIMIT || hi > INTEGER_LIMIT {
        return false;
    }
    let mut fractional = 0u32;
    for &v in cells {
        // Missing cells (NaN) are excluded.
        fractional |= u32::from((v + ROUND) - ROUND != v && !v.is_nan());
    }
    fractional == 0
}

/// The sorted distinct values if there are at most [`FEW_VALUES`] of them,
/// found by insertion into a small sorted list (no sort of all values).
fn few_values(cells: &[f64]) -> Option<Vec<f64>> {
    let mut values: Vec<f64> = Vec::with_capacity(FEW_VALUES);
    let mut last = f64::NAN;
    for &v in cells.iter().filter(|v| !v.is_nan()) {
        if v == last {
            continue;
        }
        last = v;
        if let Err(at) = values.binary_search_by(|x| x.total_cmp(&v)) {
            if values.len() == FEW_VALUES {
                return None;
            }
            values.insert(at, v);
        }
    }
    Some(values)
}

/// Sums over the pairable units (m_u ≥ 2 ratings) of the per-unit category
/// counts n_uc.
#[derive(Debug, Default)]
pub(super) struct NominalTally {
    /// n: number of pairable values.
    pub(super) values: u64,
    /// Number of pairable units.
    pub(super) units: u64,
    /// Σ_u (m_u² − Σ_c n_uc²)/(m_u − 1): the off-diagonal coincidences Σ_{c≠k} o_ck.
    pub(super) disagreeing: f64,
    /// Σ_u (Σ_c n_uc² − m_u)/(m_u − 1): the diagonal coincidences Σ_c o_cc.
    pub(super) agreeing: f64,
    /// Σ_u Σ_c n_uc(n_uc − 1)/(m_u(m_u − 1)): Fleiss' Σ P_i.
    pub(super) unit_agreement: f64,
    /// n_c: pairable values per category.
    pub(super) totals: Vec<u64>,
}

impl NominalTally {
    /// Σ_{c≠k} n_c n_k = n² − Σ_c n_c², exact in integers.
    pub(super) fn different_pairs(&self) -> f64 {
        let n = u128::from(self.values);
        let same: u128 = self
            .totals
            .iter()
            .map(|&t| u128::from(t) * u128::from(t))
            .sum();
        (n * n - same) as f64
    }
}

/// The ratings of each unit as (category code, count) entries, the codes
/// indexing the sorted distinct values. Units without ratings have no
/// entries; within a unit each category appears once.
#[derive(Debug)]
pub(super) struct UnitCounts {
    pub(super) values: Vec<f64>,
    offsets: Vec<usize>,
    entries: Vec<(u32, u32)>,
}

/// Maps a present value to its category code.
enum Coder {
    /// Integer values: code = table[value − lo].
    Table { lo: i64, table: Vec<u32> },
    /// Any values: binary search in the sorted distinct values.
    Search,
}

impl UnitCounts {
    /// Entries of every unit, in unit order.
    pub(super) fn units(&self) -> impl Iterator<Item = &[(u32, u32)]> {
        self.offsets
            .windows(2)
            .map(|w| self.entries.get(w[0]..w[1]).unwrap_or(&[]))
    }

    fn of(ratings: &Ratings) -> UnitCounts {
        let dense_limit = (DENSE_CELLS.max(4 * ratings.cells.len()) / ratings.units.max(1))
            .saturating_sub(1)
            .max(1);
        if ratings.rated == 0 {
            return UnitCounts {
                values: Vec::new(),
                offsets: vec![0; ratings.units + 1],
                entries: Vec::new(),
            };
        }
        // Integer ratings in narrow ranges (rating scales) are counted by
        // value offset straight away; that pass gives up on anything else.
        if let Some(counts) = Self::dense_offsets(ratings, dense_limit) {
            return counts;
        }
        let Summary { lo, hi } = Summary::of(&ratings.cells);
        let (values, coder) = Self::distinct(ratings, lo, hi);
        let code = |v: f64| -> u32 {
            if v.is_nan() {
                return MISSING;
            }
            match &coder {
                Coder::Table { lo, table } => table
                    .get((v as i64 - lo) as usize)
                    .copied()
                    .unwrap_or(MISSING),
                Coder::Search => values
                    .binary_search_by(|x| x.total_cmp(&v))
                    .map_or(MISSING, |i| i as u32),
            }
        };
        let (offsets, entries) = if values.len() <= dense_limit {
            let width = values.len();
            let table = Self::count_table(ratings, width, |v| (code(v) as usize).min(width));
            Self::compress(&table, width, &(0..width as u32).collect::<Vec<_>>())
        } else {
            Self::sparse(ratings, code, values.len())
        };
        UnitCounts {
            values,
            offsets,
            entries,
        }
    }

    /// Counts integer ratings by their offset from the smallest value of
    /// each block of units, or `None` if a value is not an integer or a
    /// block's values span `dense_limit` or more.
    ///
    /// Units are taken in blocks whose cells and counts stay in cache: the
    /// block's range is found first, then every row's segment is turned into
    /// column numbers in a loop the compiler vectorises (the low bits of
    /// x + 1.5 · 2^52 are the integer x) and counted. With few columns each
    /// column is counted by comparison in its own vectorised pass (16-bit
    /// counts, column by column); otherwise counters are incremented. The
    /// non-zero counts are emitted unit by unit; at the end the columns are
    /// shifted to a common origin and those that occur renumbered.
    fn dense_offsets(ratings: &Ratings, dense_limit: usize) -> Option<UnitCounts> {
        let mut column = [0u16; BLOCK];
        let mut by_column: Vec<u16> = Vec::new();
        let mut by_unit: Vec<u32> = Vec::new();
        let mut offsets = Vec::with_capacity(ratings.units + 1);
        let mut entries: Vec<(u32, u32)> = Vec::with_capacity(ratings.units * 2);
        // (first entry, smallest value) of each block with values.
        let mut blocks: Vec<(usize, f64)> = Vec::new();
        let (mut lo_all, mut hi_all) = (f64::INFINITY, f64::NEG_INFINITY);
        offsets.push(0);
        let mut start = 0;
        while start < ratings.units {
            let len = BLOCK.min(ratings.units - start);
            let segment =
                |row: &'_ [f64]| -> (usize, usize) { (start, (start + len).min(row.len())) };
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for row in ratings.rows() {
                let (a, b) = segment(row);
                let part = Summary::of(row.get(a..b).unwrap_or(&[]));
                lo = lo.min(part.lo);
                hi = hi.max(part.hi);
            }
            if lo > hi {
                // No values in this block.
                offsets.extend(std::iter::repeat_n(entries.len(), len));
                start += len;
                continue;
            }
            // Column numbers are 16-bit.
            let limit = dense_limit.min(usize::from(u16::MAX) - 1) as f64;
            if hi - lo >= limit || lo < -INTEGER_LIMIT || hi > INTEGER_LIMIT {
                return None;
            }
            lo_all = lo_all.min(lo);
            hi_all = hi_all.max(hi);
            blocks.push((entries.len(), lo));
            let width = (hi - lo) as usize + 1;
            let stride = width + 1;
            // A missing cell takes the last column; t − shift is exact, so
            // it equals v only for an integer v (testing v − lo instead
            // would let a value within rounding of an integer pass).
            let missing = lo + width as f64;
            let shift = ROUND - lo;
            let compare = stride <= COMPARE_COLUMNS && ratings.raters <= usize::from(u16::MAX);
            by_column.clear();
            by_unit.clear();
            if compare {
                by_column.resize(width * BLOCK, 0);
            } else {
                by_unit.resize(stride * BLOCK, 0);
            }
            for row in ratings.rows() {
                let (a, b) = segment(row);
                let cells = row.get(a..b).unwrap_or(&[]);
                let mut fractional = 0u16;
                for (c, &v) in column.iter_mut().zip(cells) {
                    let v = if v.is_nan() { missing } else { v };
                    let t = v + shift;
                    fractional |= u16::from(t - shift != v);
                    *c = t.to_bits() as u16;
                }
                if fractional != 0 {
                    return None;
                }
                let columns = column.get(..cells.len()).unwrap_or(&[]);
                if compare {
                    for (c, counts) in by_column.chunks_exact_mut(BLOCK).enumerate() {
                        for (n, &k) in counts.iter_mut().zip(columns) {
                            *n += u16::from(k == c as u16);
                        }
                    }
                } else {
                    for (counts, &k) in by_unit.chunks_exact_mut(stride).zip(columns) {
                        if let Some(n) = counts.get_mut(usize::from(k)) {
                            *n += 1;
                        }
                    }
                }
            }
            // Branch-free compaction: every count is written at the cursor,
            // which only advances past non-zero ones.
            let mut cursor = entries.len();
            entries.resize(cursor + len * width + 1, (0, 0));
            for u in 0..len {
                for c in 0..width {
                    let n = if compare {
                        by_column.get(c * BLOCK + u).map_or(0, |&n| u32::from(n))
                    } else {
                        by_unit.get(u * stride + c).copied().unwrap_or(0)
                    };
                    if let Some(slot) = entries.get_mut(cursor) {
                        *slot = (c as u32, n);
                    }
                    cursor += usize::from(n > 0);
                }
                offsets.push(cursor);
            }
            entries.truncate(cursor);
            start += len;
        }
        // Shift every block's columns to the overall smallest value, then
        // renumber the values that occur.
        let span = hi_all - lo_all;
        if span >= (1u64 << 24) as f64 {
            return None;
        }
        let mut used = vec![false; span as usize + 1];
        let ends = blocks.iter().skip(1).map(|b| b.0).chain([entries.len()]);
        for (&(first, lo), end) in blocks.iter().zip(ends) {
            let shift = (lo - lo_all) as u32;
            for (c, _) in entries.get_mut(first..end).unwrap_or(&mut []) {
                *c += shift;
                if let Some(u) = used.get_mut(*c as usize) {
                    *u = true;
                }
            }
        }
        let mut values = Vec::new();
        let codes: Vec<u32> = used
            .iter()
            .enumerate()
            .map(|(i, &u)| {
                if u {
                    values.push(lo_all + i as f64);
                    values.len() as u32 - 1
                } else {
                    MISSING
                }
            })
            .collect();
        for (c, _) in &mut entries {
            *c = codes.get(*c as usize).copied().unwrap_or(MISSING);
        }
        Some(UnitCounts {
            values,
            offsets,
            entries,
        })
    }

    /// A units × (width + 1) table of counts by column, the last column
    /// taking the missing cells, filled reading the rows in order.
    fn count_table(ratings: &Ratings, width: usize, index: impl Fn(f64) -> usize) -> Vec<u32> {
        let stride = width + 1;
        let mut table = vec![0u32; ratings.units * stride];
        for row in ratings.rows() {
            for (counts, &v) in table.chunks_exact_mut(stride).zip(row) {
                if let Some(c) = counts.get_mut(index(v)) {
                    *c += 1;
                }
            }
        }
        table
    }

    /// The non-zero counts of a count table as entries, columns renamed by
    /// `codes`.
    fn compress(table: &[u32], width: usize, codes: &[u32]) -> (Vec<usize>, Vec<(u32, u32)>) {
        let stride = width + 1;
        let units = table.len() / stride;
        let mut offsets = Vec::with_capacity(units + 1);
        let mut entries = Vec::with_capacity(units * 2);
        offsets.push(0);
        for counts in table.chunks_exact(stride) {
            for (&code, &c) in codes.iter().zip(counts) {
                if c > 0 {
                    entries.push((code, c));
                }
            }
            offsets.push(entries.len());
        }
        (offsets, entries)
    }

    /// Sorted distinct values and how to find a value's code among them.
    fn distinct(ratings: &Ratings, lo: f64, hi: f64) -> (Vec<f64>, Coder) {
        let span_limit = (2 * ratings.rated).max(1024) as f64;
        if hi - lo < span_limit && all_integers(&ratings.cells, lo, hi) {
            let lo = lo as i64;
            let mut table = vec![MISSING; (hi as i64 - lo) as usize + 1];
            for &v in ratings.cells.iter().filter(|v| !v.is_nan()) {
                if let Some(slot) = table.get_mut((v as i64 - lo) as usize) {
                    *slot = 0;
                }
            }
            let mut values = Vec::new();
            for (offset, slot) in table.iter_mut().enumerate() {
                if *slot != MISSING {
                    *slot = values.len() as u32;
                    values.push((lo + offset as i64) as f64);
                }
            }
            return (values, Coder::Table { lo, table });
        }
        if let Some(values) = few_values(&ratings.cells) {
            return (values, Coder::Search);
        }
        let mut values: Vec<f64> = ratings
            .cells
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        values.sort_unstable_by(f64::total_cmp);
        values.dedup();
        (values, Coder::Search)
    }

    /// Many categories: group the codes by unit, then count each unit's
    /// codes with a scratch array, listing categories in order of first
    /// appearance.
    fn sparse(
        ratings: &Ratings,
        code: impl Fn(f64) -> u32,
        categories: usize,
    ) -> (Vec<usize>, Vec<(u32, u32)>) {
        let units = ratings.units;
        let mut sizes = vec![0usize; units];
        for row in ratings.rows() {
            for (s, v) in sizes.iter_mut().zip(row) {
                *s += usize::from(!v.is_nan());
            }
        }
        let mut offsets = Vec::with_capacity(units + 1);
        offsets.push(0);
        let mut total = 0;
        for s in &sizes {
            total += s;
            offsets.push(total);
        }
        let mut cursor = offsets.clone();
        let mut grouped = vec![MISSING; total];
        for row in ratings.rows() {
            for (at, &v) in cursor.iter_mut().zip(row) {
                if !v.is_nan() {
                    if let Some(slot) = grouped.get_mut(*at) {
                        *slot = code(v);
                    }
                    *at += 1;
                }
            }
        }
        let mut scratch = vec![0u32; categories];
        let mut entries = Vec::with_capacity(total);
        let mut unit_offsets = Vec::with_capacity(units + 1);
        unit_offsets.push(0);
        for w in offsets.windows(2) {
            let start = entries.len();
            for &c in grouped.get(w[0]..w[1]).unwrap_or(&[]) {
                if let Some(k) = scratch.get_mut(c as usize) {
                    if *k == 0 {
                        entries.push((c, 0));
                    }
                    *k += 1;
                }
            }
            for (c, n) in entries.get_mut(start..).unwrap_or(&mut []) {
                if let Some(k) = scratch.get_mut(*c as usize) {
                    *n = *k;
                    *k = 0;
                }
            }
            unit_offsets.push(entries.len());
        }
        (unit_offsets, entries)
    }
}

/// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", p. 3: observers A to D
/// (rows) × 12 units, `.` missing. The tests of every coefficient use it.
#[cfg(test)]
pub(super) fn krippendorff_2011() -> Vec<Vec<Option<f64>>> {
    const DATA: [&str; 4] = [
        "1 2 3 3 2 1 4 1 2 . . .",
        "1 2 3 3 2 2 4 1 2 5 . 3",
        ". 3 3 3 2 3 4 2 2 5 1 .",
        "1 2 3 3 2 4 4 1 2 5 1 .",
    ];
    DATA.iter()
        .map(|r| r.split(' ').map(|v| v.parse().ok()).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_back_cells() {
        let r = Ratings::from_rows(&[
            vec![Some(1.0), None, Some(3.0)],
            vec![Some(2.0), Some(2.0), None],
        ])
        .expect("valid");
        assert_eq!((r.raters(), r.units(), r.rated()), (2, 3, 4));
        assert_eq!(r.rating(0, 0), Some(1.0));
        assert_eq!(r.rating(0, 1), None);
        assert_eq!(r.rating(1, 1), Some(2.0));
        assert_eq!(r.rating(0, 2), Some(3.0));
        assert_eq!(r.rating(2, 0), None);
        assert_eq!(r.rating(0, 3), None);
        assert_eq!(r.distinct_values(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn rejects_bad_shapes_and_values() {
        let empty: [Vec<Option<f64>>; 0] = [];
        assert_eq!(
            Ratings::from_rows(&empty).unwrap_err(),
            StatsError::NoRaters
        );
        assert_eq!(
            Ratings::from_rows(&[Vec::<Option<f64>>::new()]).unwrap_err(),
            StatsError::NoUnits
        );
        assert_eq!(
            Ratings::from_rows(&[vec![Some(1.0), None], vec![Some(1.0)]]).unwrap_err(),
            StatsError::RowLength {
                rater: 1,
                expected: 2,
                found: 1
            }
        );
        assert_eq!(
            Ratings::from_rows(&[vec![Some(1.0), None], vec![Some(1.0), Some(f64::NAN)]])
                .unwrap_err(),
            StatsError::NonFinite { rater: 1, unit: 1 }
        );
        assert_eq!(
            Ratings::from_rows(&[vec![None, Some(f64::NEG_INFINITY), Some(f64::INFINITY)]])
                .unwrap_err(),
            StatsError::NonFinite { rater: 0, unit: 1 }
        );
        let msg = StatsError::NonFinite { rater: 1, unit: 4 }.to_string();
        assert!(msg.contains("rater 1") && msg.contains("unit 4"), "{msg}");
    }

    #[test]
    fn negative_values_are_named_for_ratio() {
        let r = Ratings::from_rows(&[vec![Some(1.0), Some(2.0)], vec![Some(-0.5), Some(-3.0)]])
            .expect("valid");
        assert_eq!(
            r.check_non_negative().unwrap_err(),
            StatsError::NegativeRatio {
                rater: 1,
                unit: 0,
                value: -0.5
            }
        );
        let ok = Ratings::from_rows(&[vec![Some(-0.0), Some(2.0)]]).expect("valid");
        assert!(ok.check_non_negative().is_ok());
        assert_eq!(ok.rating(0, 0).map(f64::is_sign_negative), Some(false));
    }

    #[test]
    fn level_names_round_trip() {
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>(), Ok(level));
            assert_eq!(level.to_string(), level.as_str());
        }
        assert_eq!(" Interval ".parse::<Level>(), Ok(Level::Interval));
        assert_eq!(
            "metric".parse::<Level>(),
            Err(StatsError::UnknownLevel("metric".into()))
        );
    }

    /// Each unit's counts as a sorted list of (value, count).
    fn unit_lists(r: &Ratings) -> Vec<Vec<(f64, u32)>> {
        let counts = r.unit_counts();
        counts
            .units()
            .map(|unit| {
                let mut list: Vec<(f64, u32)> = unit
                    .iter()
                    .map(|&(c, n)| (counts.values[c as usize], n))
                    .collect();
                list.sort_by(|a, b| a.0.total_cmp(&b.0));
                list
            })
            .collect()
    }

    /// The same lists counted naively from the cells.
    fn naive_lists(r: &Ratings) -> Vec<Vec<(f64, u32)>> {
        (0..r.units())
            .map(|u| {
                let mut vals: Vec<f64> = (0..r.raters()).filter_map(|i| r.rating(i, u)).collect();
                vals.sort_by(f64::total_cmp);
                let mut list: Vec<(f64, u32)> = Vec::new();
                for v in vals {
                    match list.last_mut() {
                        Some((last, n)) if *last == v => *n += 1,
                        _ => list.push((v, 1)),
                    }
                }
                list
            })
            .collect()
    }

    #[test]
    fn every_counting_path_agrees() {
        let n = None;
        let cases: Vec<Vec<Vec<Option<f64>>>> = vec![
            // Narrow integers: dense by offset, with an unused value (2).
            vec![
                vec![Some(3.0), n, Some(-2.0), Some(3.0)],
                vec![Some(7.0), Some(0.0), Some(-2.0), n],
            ],
            // Wide integers (table coder, sparse) and fractions (search).
            vec![
                (0..200).map(|u| Some(f64::from(u * 37 % 150))).collect(),
                (0..200)
                    .map(|u| (u % 3 > 0).then_some(f64::from(u * 11 % 150)))
                    .collect(),
            ],
            vec![
                (0..70).map(|u| Some(f64::from(u % 9) / 4.0)).collect(),
                (0..70)
                    .map(|u| (u % 5 > 0).then_some(f64::from(u % 7) / 4.0))
                    .collect(),
            ],
            vec![
                (0..300).map(|u| Some(f64::from(u) * 0.37)).collect(),
                (0..300)
                    .map(|u| Some(f64::from(u % 101) * 0.37 + 1e9))
                    .collect(),
            ],
            vec![vec![n, n], vec![n, n]],
            // Narrow range, but a fraction in the last row: the offset pass
            // gives up and the general path takes over.
            vec![
                vec![Some(1.0), Some(3.0), n, Some(2.0)],
                vec![Some(3.0), Some(3.0), Some(1.0), Some(2.5)],
            ],
            // Several blocks of units: few columns (counted by comparison)
            // and more columns (counted by increments).
            (0..3)
                .map(|r| {
                    (0..2 * BLOCK + 77)
                        .map(|u| ((u + r) % 7 > 0).then_some(f64::from(((u * 7 + r) % 5) as u32)))
                        .collect()
                })
                .collect(),
            (0..3)
                .map(|r| {
                    (0..2 * BLOCK + 77)
                        .map(|u| {
                            ((u + r) % 5 > 0).then_some(f64::from(((u * 3 + r) % 13) as u32) - 6.0)
                        })
                        .collect()
                })
                .collect(),
            // Blocks with different narrow ranges, shifted to one origin.
            (0..2)
                .map(|r| {
                    (0..3 * BLOCK)
                        .map(|u| {
                            let base = if u < BLOCK {
                                1.0
                            } else if u < 2 * BLOCK {
                                40.0
                            } else {
                                -7.0
                            };
                            ((u + r) % 6 > 0).then_some(base + f64::from(((u + r) % 3) as u32))
                        })
                        .collect()
                })
                .collect(),
            // Integers in the first blocks, a fraction in the last one.
            (0..2)
                .map(|r| {
                    (0..2 * BLOCK + 5)
                        .map(|u| {
                            Some(if u == 2 * BLOCK + 3 && r == 1 {
                                2.5
                            } else {
                                f64::from(((u + r) % 4) as u32)
                            })
                        })
                        .collect()
                })
                .collect(),
            // A value one rounding step above an integer, far above the
            // smallest value: not that integer.
            vec![vec![Some(1.0), Some(1.0 + f64::EPSILON), Some(-100.0)]],
            // Wide integers beyond the table span: sorted values.
            vec![
                vec![Some(1e12), Some(3.0), n, Some(2.0)],
                vec![Some(3.0), Some(-7.0), Some(1e12), Some(2.0)],
            ],
        ];
        for rows in cases {
            let r = Ratings::from_rows(&rows).expect("valid");
            assert_eq!(unit_lists(&r), naive_lists(&r));
            let mut all: Vec<f64> = r.cells.iter().copied().filter(|v| !v.is_nan()).collect();
            all.sort_by(f64::total_cmp);
            all.dedup();
            assert_eq!(r.distinct_values(), &all[..]);
        }
    }
}
