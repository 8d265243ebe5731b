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
//! and all rows must have the same length. Values are stored row by row.
//! Integer ratings within 127 of the first rating (so any scale of up to 128
//! points) are stored as one-byte codes, coded and checked in the pass that
//! reads them; any other ratings are stored as `f64`, and per-unit sums are
//! accumulated reading the rows in order.
//!
//! The coefficients work on each unit's counts of the distinct values.
//! Those are computed on first use and cached, so several coefficients on
//! the same matrix share that work. Coded ratings spanning at most 16
//! consecutive values are counted into a dense categories × units table,
//! by vectorised comparisons of the codes; other ratings into lists of
//! (category, count) per unit. Interval alpha on `f64` ratings never needs
//! the counts and stays O(raters × units) whatever the values.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Serialize;

use super::alpha::Coincidences;
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

/// Marks a missing cell in coded storage (see [`Coded`]).
const MISSING_CODE: u8 = u8::MAX;

/// The first rating of a matrix gets this code, so that coded storage takes
/// ratings from 127 below it to 127 above it.
const CODE_CENTRE: f64 = 127.0;

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
    cells: Cells,
    rated: usize,
    counts: OnceLock<UnitCounts>,
    dense: OnceLock<Option<DenseCounts>>,
}

/// The stored cells, rater-major: the rating of rater `r` for unit `u` is
/// cell `r * units + u`.
#[derive(Debug)]
enum Cells {
    /// Integer ratings within 127 of the first one, one byte each.
    Coded(Coded),
    /// Any finite ratings; NaN marks a missing rating.
    Values(Vec<f64>),
}

/// Integer ratings as one-byte codes: a rating is `origin + code`, and
/// [`MISSING_CODE`] marks a missing one. Codes keep the order of the values.
#[derive(Debug)]
struct Coded {
    codes: Vec<u8>,
    origin: f64,
    /// The smallest code in use and the number of codes from it to the
    /// largest; `None` when every cell is missing.
    range: Option<(u8, usize)>,
}

impl Ratings {
    /// Builds the matrix from one row per rater, each with one entry per unit.
    ///
    /// Errors: [`StatsError::NoRaters`] for no rows, [`StatsError::NoUnits`]
    /// for empty rows, [`StatsError::RowLength`] naming the first row whose
    /// length differs from row 0, and [`StatsError::NonFinite`] naming the
    /// first NaN or infinite value (reading row by row). Negative zero is
    /// stored as zero.
    ///
    /// Integer ratings within 127 of the first rating (rating scales) are
    /// stored as one-byte codes, read and checked in one pass; anything else
    /// is stored as `f64`.
    pub fn from_rows<R: AsRef<[Option<f64>]>>(rows: &[R]) -> Result<Self, StatsError> {
        let raters = rows.len();
        let first = rows.first().ok_or(StatsError::NoRaters)?;
        let units = first.as_ref().len();
        if units == 0 {
            return Err(StatsError::NoUnits);
        }
        let uneven = rows
            .iter()
            .enumerate()
            .find(|(_, row)| row.as_ref().len() != units);
        if let Some((rater, row)) = uneven {
            return Err(StatsError::RowLength {
                rater,
                expected: units,
                found: row.as_ref().len(),
            });
        }
        let (cells, missing) = match Coded::from_rows(rows, units) {
            Some((coded, missing)) => (Cells::Coded(coded), missing),
            None => {
                let (values, missing) = values_from_rows(rows)?;
                (Cells::Values(values), missing)
            }
        };
        Ok(Ratings {
            raters,
            units,
            cells,
            rated: raters * units - missing,
            counts: OnceLock::new(),
            dense: OnceLock::new(),
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
        let cell = rater * self.units + unit;
        match &self.cells {
            Cells::Coded(coded) => coded.codes.get(cell).and_then(|&c| coded.decode(c)),
            Cells::Values(values) => values.get(cell).copied().filter(|v| !v.is_nan()),
        }
    }

    /// The sorted distinct values that occur in the matrix.
    pub fn distinct_values(&self) -> &[f64] {
        match self.counts() {
            Counts::Dense(counts) => counts.values(),
            Counts::Listed(counts) => counts.values(),
        }
    }

    /// Rater-major rows of cells (`units` long each), NaN for missing;
    /// `None` when the ratings are stored as codes.
    pub(super) fn value_rows(&self) -> Option<std::slice::ChunksExact<'_, f64>> {
        match &self.cells {
            Cells::Values(values) => Some(values.chunks_exact(self.units)),
            Cells::Coded(_) => None,
        }
    }

    /// Per-unit category counts in the layout best suited to computing
    /// with, computed on first use: a dense table for coded ratings with
    /// few categories, else [`Ratings::unit_counts`].
    pub(super) fn counts(&self) -> Counts<'_> {
        let dense = self.dense.get_or_init(|| match &self.cells {
            Cells::Coded(coded) => DenseCounts::of(coded, self.raters, self.units),
            Cells::Values(_) => None,
        });
        match dense {
            Some(counts) => Counts::Dense(counts),
            None => Counts::Listed(self.unit_counts()),
        }
    }

    /// Per-unit category counts as lists, computed on first use.
    pub(super) fn unit_counts(&self) -> &UnitCounts {
        self.counts.get_or_init(|| match &self.cells {
            Cells::Coded(coded) => UnitCounts::of_codes(coded, self.units),
            Cells::Values(cells) => UnitCounts::of(&ValueCells {
                cells,
                raters: self.raters,
                units: self.units,
                rated: self.rated,
            }),
        })
    }

    /// Position and value of the first negative rating (reading row by row),
    /// as the ratio-level error.
    pub(super) fn check_non_negative(&self) -> Result<(), StatsError> {
        // The distinct values are sorted: the first is the smallest.
        if self.distinct_values().first().is_none_or(|lo| *lo >= 0.0) {
            return Ok(());
        }
        let first = match &self.cells {
            Cells::Coded(coded) => coded
                .codes
                .iter()
                .position(|&c| coded.decode(c).is_some_and(|v| v < 0.0)),
            Cells::Values(values) => values.iter().position(|v| *v < 0.0),
        };
        match first {
            None => Ok(()),
            Some(i) => Err(StatsError::NegativeRatio {
                rater: i / self.units,
                unit: i % self.units,
                value: self
                    .rating(i / self.units, i % self.units)
                    .unwrap_or_default(),
            }),
        }
    }

    /// Per-unit category counts summarised for the nominal coefficients
    /// (alpha, percent agreement, Fleiss' kappa); see [`NominalTally`].
    pub(super) fn nominal_tally(&self) -> NominalTally {
        match self.counts() {
            Counts::Dense(counts) => {
                let co = Coincidences::of(counts);
                NominalTally {
                    values: co.values,
                    units: co.units,
                    disagreeing: co.observed(|_, _| 1.0),
                    agreeing: co.agreeing,
                    unit_agreement: co.unit_agreement,
                    totals: co.totals,
                }
            }
            Counts::Listed(counts) => NominalTally::of(counts, self.raters),
        }
    }
}

/// The cells as `f64` (NaN for missing, −0.0 as +0.0) and the number of
/// missing ones, or the first NaN or infinite rating as an error.
fn values_from_rows<R: AsRef<[Option<f64>]>>(rows: &[R]) -> Result<(Vec<f64>, usize), StatsError> {
    let cells_len = rows.iter().map(|row| row.as_ref().len()).sum();
    // Each row is converted a block at a time; the block is then counted
    // while it is in cache. Each loop vectorises.
    let mut cells = Vec::with_capacity(cells_len);
    let mut missing = 0usize;
    let mut not_finite = [0.0f64; LANES];
    for row in rows {
        for segment in row.as_ref().chunks(BLOCK) {
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
    Ok((cells, missing))
}

/// Bits of [`ROUND`]: for an integer 0 ≤ k < 2^51, ROUND + k has the bits
/// `ROUND_BITS + k`.
const ROUND_BITS: u64 = 0x4338_0000_0000_0000;

impl Coded {
    /// The rows as codes and the number of missing cells, or `None` when
    /// a rating is not an integer within 127 of the first rating (or not
    /// finite); all rows are `units` long.
    ///
    /// Each block of a row is first copied to a buffer as `f64`, a missing
    /// cell becoming the value of [`MISSING_CODE`]; the block is then coded
    /// and checked in one loop (see [`encode`]). Both loops vectorise. A
    /// rating that happens to equal the value of [`MISSING_CODE`] would be
    /// taken for a missing one, so the missing codes are counted and must
    /// match the missing cells.
    fn from_rows<R: AsRef<[Option<f64>]>>(rows: &[R], units: usize) -> Option<(Coded, usize)> {
        let first = rows
            .iter()
            .find_map(|row| row.as_ref().iter().find_map(|x| *x));
        let origin = match first {
            None => 0.0,
            Some(v) if v.abs() <= INTEGER_LIMIT && v.fract() == 0.0 => v - CODE_CENTRE,
            Some(_) => return None,
        };
        let coded_missing = origin + f64::from(MISSING_CODE);
        let shift = ROUND - origin;
        let mut codes = Vec::with_capacity(rows.len() * units);
        let mut buffer = [0.0f64; BLOCK];
        let (mut missing, mut marked) = (0usize, 0usize);
        // The smallest code and one past the largest code in use: the
        // missing code wraps to 0 in the second.
        let (mut lo, mut end) = (MISSING_CODE, 0u8);
        for row in rows {
            for segment in row.as_ref().chunks(BLOCK) {
                let values = buffer.get_mut(..segment.len()).unwrap_or(&mut []);
                for (v, x) in values.iter_mut().zip(segment) {
                    missing += usize::from(x.is_none());
                    *v = x.map_or(coded_missing, |v| v);
                }
                let start = codes.len();
                codes.resize(start + values.len(), 0);
                let out = codes.get_mut(start..).unwrap_or(&mut []);
                marked += encode(values, shift, out)?;
                lo = out.iter().fold(lo, |a, &c| a.min(c));
                end = out.iter().fold(end, |a, &c| a.max(c.wrapping_add(1)));
            }
        }
        let range = (end > lo).then(|| (lo, usize::from(end - lo)));
        (missing == marked).then_some((
            Coded {
                codes,
                origin,
                range,
            },
            missing,
        ))
    }

    /// The rating a code stands for; `None` for [`MISSING_CODE`].
    fn decode(&self, code: u8) -> Option<f64> {
        (code != MISSING_CODE).then(|| self.origin + f64::from(code))
    }
}

/// Writes the code of each value, `shift` being [`ROUND`] − origin, and
/// returns how many have [`MISSING_CODE`], or `None` unless every value is
/// an integer from origin to origin + 255.
///
/// t = v + shift is exact for such values, and its low eight bits are the
/// code k; its other bits equal those of [`ROUND`] exactly when v − origin
/// rounds to 0..=255, and t − shift (exact) equals v only when v is that
/// integer. NaN and infinities fail one of the two tests, and −0.0 gets the
/// code of 0.0 (−0.0 + shift = shift). For k ≤ 255, (k + 1) >> 8 is 1 for
/// the missing code and 0 otherwise.
fn encode(values: &[f64], shift: f64, out: &mut [u8]) -> Option<usize> {
    let (mut check, mut marked) = (0u64, 0u64);
    for (code, &v) in out.iter_mut().zip(values) {
        let t = v + shift;
        let k = t.to_bits() ^ ROUND_BITS;
        check |= k | (u64::from(t - shift != v) << 8);
        marked += k.wrapping_add(1) >> 8;
        *code = k as u8;
    }
    (check >> 8 == 0).then_some(marked as usize)
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
    /// The sums over the units of `counts`, at most `raters` values each.
    /// The units' Σ_c n_uc² are added up separately for each m_u, so each
    /// term is divided once per m_u.
    fn of(counts: &UnitCounts, raters: usize) -> NominalTally {
        let mut tally = NominalTally {
            totals: vec![0u64; counts.values().len()],
            ..NominalTally::default()
        };
        // (units, Σ_c n_uc²) for each number of values m.
        let mut by_size = vec![(0u64, 0u64); raters + 1];
        for unit in counts.each_unit() {
            let m = unit_size(unit.clone());
            if m < 2 {
                continue;
            }
            let mut squares = 0u64;
            for (code, n) in unit {
                squares += u64::from(n) * u64::from(n);
                if let Some(t) = tally.totals.get_mut(code as usize) {
                    *t += u64::from(n);
                }
            }
            if let Some((units, sq)) = usize::try_from(m).ok().and_then(|m| by_size.get_mut(m)) {
                *units += 1;
                *sq += squares;
            }
        }
        for (m, &(units, squares)) in (0u64..).zip(&by_size).skip(2) {
            let (m, units, squares) = (u128::from(m), u128::from(units), u128::from(squares));
            let (mf, pairs) = (m as f64, (m * (m - 1)) as f64);
            tally.disagreeing += (m * m * units - squares) as f64 / (mf - 1.0);
            tally.agreeing += (squares - m * units) as f64 / (mf - 1.0);
            tally.unit_agreement += (squares - m * units) as f64 / pairs;
            tally.values += (m * units) as u64;
            tally.units += units as u64;
        }
        tally
    }

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

/// m_u, the number of values of a unit given its (category, count) pairs.
pub(super) fn unit_size(unit: impl Iterator<Item = (u32, u32)>) -> u64 {
    unit.map(|(_, n)| u64::from(n)).sum()
}

/// The per-unit counts of a matrix in one of the two layouts.
pub(super) enum Counts<'a> {
    /// Coded ratings with few categories: a categories × units table.
    Dense(&'a DenseCounts),
    /// Any ratings: (category, count) lists unit by unit.
    Listed(&'a UnitCounts),
}

/// Every unit's count of every category in a categories × units table,
/// for coded ratings with at most [`DENSE_MAX`] categories.
#[derive(Debug)]
pub(super) struct DenseCounts {
    values: Vec<f64>,
    units: usize,
    /// Category-major: the count of category c in unit u is at
    /// `c * units + u`.
    counts: Vec<u16>,
}

impl DenseCounts {
    /// The sorted distinct values; a category is an index into them.
    pub(super) fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of units.
    pub(super) fn units(&self) -> usize {
        self.units
    }

    /// Each category's counts, one per unit.
    pub(super) fn columns(&self) -> std::slice::ChunksExact<'_, u16> {
        self.counts.chunks_exact(self.units.max(1))
    }

    /// The table of coded ratings, or `None` when more than
    /// [`DENSE_MAX`] codes are spanned or there are more raters than
    /// a 16-bit count holds. Units are counted in blocks (see
    /// [`count_by_comparison`]); columns of codes that do not occur are
    /// dropped at the end.
    fn of(coded: &Coded, raters: usize, units: usize) -> Option<DenseCounts> {
        let Some((lo, width)) = coded.range else {
            return Some(DenseCounts {
                values: Vec::new(),
                units,
                counts: Vec::new(),
            });
        };
        if width > DENSE_MAX || raters > usize::from(u16::MAX) {
            return None;
        }
        let mut counts = vec![0u16; width * units];
        count_blocks(coded, units, lo, width, |start, len, stride, table| {
            let blocks = table.chunks_exact(stride);
            for (column, block) in counts.chunks_exact_mut(units).zip(blocks) {
                let column = column.get_mut(start..start + len).unwrap_or(&mut []);
                for (n, &count) in column.iter_mut().zip(block) {
                    *n = count as u16;
                }
            }
        });
        let mut values = Vec::with_capacity(width);
        let mut kept = 0;
        for c in 0..width {
            let start = c * units;
            if counts
                .get(start..start + units)
                .is_some_and(|col| col.iter().any(|&n| n > 0))
            {
                values.push(coded.origin + f64::from(lo) + c as f64);
                counts.copy_within(start..start + units, kept * units);
                kept += 1;
            }
        }
        counts.truncate(kept * units);
        Some(DenseCounts {
            values,
            units,
            counts,
        })
    }
}

/// Counts the codes `lo .. lo + width` of each unit, a block of at most
/// [`BLOCK`] units at a time, and hands each block's first unit, length,
/// stride and column-major table of counts (`stride` per column) to `emit`.
fn count_blocks(
    coded: &Coded,
    units: usize,
    lo: u8,
    width: usize,
    mut emit: impl FnMut(usize, usize, usize, &[u32]),
) {
    let rows: Vec<&[u8]> = coded.codes.chunks_exact(units.max(1)).collect();
    let stride = BLOCK.min(units).max(1);
    // One more column for missing cells.
    let mut table = vec![0u32; (width + 1) * stride];
    let mut partial = Vec::new();
    let mut start = 0;
    while start < units {
        let len = stride.min(units - start);
        let segments: Vec<&[u8]> = rows.iter().map(|row| part(row, start, len)).collect();
        table.fill(0);
        if width <= DENSE_MAX {
            count_by_comparison(&segments, lo, width, stride, &mut table, &mut partial);
        } else {
            count_by_increment(&segments, lo, width, stride, &mut table);
        }
        emit(start, len, stride, &table);
        start += len;
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

/// `f64` cells with the shape of their matrix, for counting them.
struct ValueCells<'a> {
    cells: &'a [f64],
    raters: usize,
    units: usize,
    rated: usize,
}

impl ValueCells<'_> {
    /// Rater-major rows of cells (`units` long each), NaN for missing.
    fn rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.cells.chunks_exact(self.units)
    }
}

/// Maps a present value to its category code.
enum Coder {
    /// Integer values: code = table[value − lo].
    Table { lo: i64, table: Vec<u32> },
    /// Any values: binary search in the sorted distinct values.
    Search,
}

impl UnitCounts {
    /// The sorted distinct values; a category is an index into them.
    pub(super) fn values(&self) -> &[f64] {
        &self.values
    }

    /// Entries of every unit, in unit order.
    pub(super) fn units(&self) -> impl Iterator<Item = &[(u32, u32)]> {
        self.offsets
            .windows(2)
            .map(|w| self.entries.get(w[0]..w[1]).unwrap_or(&[]))
    }

    /// Each unit's (category, count) pairs, in unit order.
    pub(super) fn each_unit(
        &self,
    ) -> impl Iterator<Item = impl Iterator<Item = (u32, u32)> + Clone> {
        self.units().map(|unit| unit.iter().copied())
    }

    /// Counts coded ratings. The codes in use span `width` columns from the
    /// smallest code; units are taken in blocks of [`BLOCK`] whose counts
    /// stay in cache, and each block's non-zero counts are emitted unit by
    /// unit. At the end the columns that occur are numbered in order.
    fn of_codes(coded: &Coded, units: usize) -> UnitCounts {
        let Some((lo, width)) = coded.range else {
            return UnitCounts::empty(units);
        };
        let mut offsets = Vec::with_capacity(units + 1);
        offsets.push(0);
        let mut entries = Vec::new();
        let mut used = vec![false; width];
        count_blocks(coded, units, lo, width, |_, len, stride, table| {
            append_block(table, stride, len, &mut used, &mut offsets, &mut entries);
        });
        let mut values = Vec::new();
        let columns: Vec<u32> = used
            .iter()
            .enumerate()
            .map(|(c, &u)| {
                if u {
                    values.push(coded.origin + f64::from(lo) + c as f64);
                    values.len() as u32 - 1
                } else {
                    MISSING
                }
            })
            .collect();
        if values.len() < width {
            for (c, _) in &mut entries {
                *c = columns.get(*c as usize).copied().unwrap_or(MISSING);
            }
        }
        UnitCounts {
            values,
            offsets,
            entries,
        }
    }

    /// No values in any of `units` units.
    fn empty(units: usize) -> UnitCounts {
        UnitCounts {
            values: Vec::new(),
            offsets: vec![0; units + 1],
            entries: Vec::new(),
        }
    }

    fn of(ratings: &ValueCells<'_>) -> UnitCounts {
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
        let Summary { lo, hi } = Summary::of(ratings.cells);
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
    fn dense_offsets(ratings: &ValueCells<'_>, dense_limit: usize) -> Option<UnitCounts> {
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
    fn count_table(
        ratings: &ValueCells<'_>,
        width: usize,
        index: impl Fn(f64) -> usize,
    ) -> Vec<u32> {
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
    fn distinct(ratings: &ValueCells<'_>, lo: f64, hi: f64) -> (Vec<f64>, Coder) {
        let span_limit = (2 * ratings.rated).max(1024) as f64;
        if hi - lo < span_limit && all_integers(ratings.cells, lo, hi) {
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
        if let Some(values) = few_values(ratings.cells) {
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
        ratings: &ValueCells<'_>,
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

/// Up to this many columns, coded ratings are counted by comparison (one
/// vectorised pass per column) rather than by incrementing counters, and
/// into a dense table ([`DenseCounts`]).
const DENSE_MAX: usize = 16;

/// `len` cells of a row from `start` (fewer at the end of the row).
fn part<T>(row: &[T], start: usize, len: usize) -> &[T] {
    row.get(start..).map_or(&[], |r| r.get(..len).unwrap_or(r))
}

/// Adds to the column-major `table` (`stride` counts per column) how often
/// each of the codes `lo .. lo + width` occurs in each unit of the
/// segments. Rows are taken 255 at a time into one-byte counts, four rows
/// per pass over a column, so each loop compares 16 codes per instruction.
fn count_by_comparison(
    segments: &[&[u8]],
    lo: u8,
    width: usize,
    stride: usize,
    table: &mut [u32],
    partial: &mut Vec<u8>,
) {
    partial.resize(width * stride, 0);
    for chunk in segments.chunks(usize::from(u8::MAX)) {
        partial.fill(0);
        for (column, counts) in partial.chunks_exact_mut(stride).enumerate() {
            let code = lo.wrapping_add(column as u8);
            let mut groups = chunk.chunks_exact(4);
            for group in &mut groups {
                if let [a, b, c, d] = group {
                    let cells = a.iter().zip(*b).zip(c.iter().zip(*d));
                    for (n, ((&a, &b), (&c, &d))) in counts.iter_mut().zip(cells) {
                        *n += u8::from(a == code)
                            + u8::from(b == code)
                            + u8::from(c == code)
                            + u8::from(d == code);
                    }
                }
            }
            for row in groups.remainder() {
                for (n, &a) in counts.iter_mut().zip(*row) {
                    *n += u8::from(a == code);
                }
            }
        }
        for (total, &n) in table.iter_mut().zip(partial.iter()) {
            *total += u32::from(n);
        }
    }
}

/// Adds to the column-major `table` the codes of the segments by
/// incrementing a counter per cell; missing cells go to column `width`.
fn count_by_increment(segments: &[&[u8]], lo: u8, width: usize, stride: usize, table: &mut [u32]) {
    for row in segments {
        for (unit, &code) in row.iter().enumerate() {
            let column = usize::from(code.wrapping_sub(lo)).min(width);
            if let Some(n) = table.get_mut(column * stride + unit) {
                *n += 1;
            }
        }
    }
}

/// Appends the non-zero counts of the first `len` units of a column-major
/// `table` (`stride` counts per column, one column per entry of `used`) as
/// (column, count) entries and their end offsets, marking the columns that
/// occur. Branch-free: every count is written at the cursor, which only
/// advances past non-zero ones.
fn append_block(
    table: &[u32],
    stride: usize,
    len: usize,
    used: &mut [bool],
    offsets: &mut Vec<usize>,
    entries: &mut Vec<(u32, u32)>,
) {
    let mut cursor = entries.len();
    entries.resize(cursor + len * used.len() + 1, (0, 0));
    for unit in 0..len {
        for (column, seen) in used.iter_mut().enumerate() {
            let n = table.get(column * stride + unit).copied().unwrap_or(0);
            if let Some(slot) = entries.get_mut(cursor) {
                *slot = (column as u32, n);
            }
            *seen |= n > 0;
            cursor += usize::from(n > 0);
        }
        offsets.push(cursor);
    }
    entries.truncate(cursor);
}

#[cfg(test)]
impl Ratings {
    /// The matrix of [`Ratings::from_rows`] stored as `f64` whatever its
    /// values, to check the coded storage against.
    pub(super) fn from_rows_as_values<R: AsRef<[Option<f64>]>>(
        rows: &[R],
    ) -> Result<Self, StatsError> {
        let built = Ratings::from_rows(rows)?;
        let (values, _) = values_from_rows(rows)?;
        Ok(Ratings {
            cells: Cells::Values(values),
            counts: OnceLock::new(),
            dense: OnceLock::new(),
            ..built
        })
    }

    /// Whether the cells are stored as codes.
    pub(super) fn is_coded(&self) -> bool {
        matches!(self.cells, Cells::Coded(_))
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
            // Integer cases are also stored as codes; every case also as f64.
            for r in [
                Ratings::from_rows(&rows).expect("valid"),
                Ratings::from_rows_as_values(&rows).expect("valid"),
            ] {
                assert_eq!(unit_lists(&r), naive_lists(&r));
                assert_eq!(r.distinct_values(), &sorted_distinct(&rows)[..]);
            }
        }
    }

    /// The distinct present values of rows, sorted, −0.0 read as +0.0.
    fn sorted_distinct(rows: &[Vec<Option<f64>>]) -> Vec<f64> {
        let mut all: Vec<f64> = rows.iter().flatten().flatten().map(|v| v + 0.0).collect();
        all.sort_by(f64::total_cmp);
        all.dedup();
        all
    }

    /// Checks a matrix built from `rows` against the rows themselves and
    /// against the same matrix stored as `f64`; returns whether it is coded.
    fn check_storage(rows: &[Vec<Option<f64>>]) -> bool {
        let r = Ratings::from_rows(rows).expect("valid");
        let plain = Ratings::from_rows_as_values(rows).expect("valid");
        for (i, row) in rows.iter().enumerate() {
            for (u, v) in row.iter().enumerate() {
                let got = r.rating(i, u);
                assert_eq!(got.map(f64::to_bits), v.map(|v| (v + 0.0).to_bits()));
            }
        }
        let present = rows.iter().flatten().flatten().count();
        assert_eq!((r.rated(), plain.rated()), (present, present));
        assert_eq!(unit_lists(&r), naive_lists(&r));
        assert_eq!(unit_lists(&r), unit_lists(&plain));
        assert_eq!(r.distinct_values(), &sorted_distinct(rows)[..]);
        assert_eq!(r.check_non_negative(), plain.check_non_negative());
        r.is_coded()
    }

    #[test]
    fn coded_storage_takes_integers_within_255_values() {
        let n = None;
        let coded = [
            // A rating scale with missing cells and an all-missing unit.
            vec![
                vec![Some(1.0), Some(5.0), n, Some(3.0)],
                vec![Some(2.0), n, n, Some(3.0)],
            ],
            // Negative values, and −0.0 with 0.0 as one category.
            vec![
                vec![Some(-0.0), Some(-3.0), Some(2.0)],
                vec![Some(0.0), Some(-0.0), Some(-3.0)],
            ],
            // The first value ± 127: the extremes of the codes.
            vec![vec![Some(10.0), Some(-117.0), Some(137.0), n]],
            // Large integers, exactly.
            vec![
                vec![Some(1e15), Some(1e15 - 2.0)],
                vec![Some(1e15 - 1.0), Some(1e15)],
            ],
            // Nothing rated at all.
            vec![vec![n, n], vec![n, n]],
            // A single rater.
            vec![vec![Some(4.0), Some(2.0), n]],
        ];
        for rows in &coded {
            assert!(check_storage(rows), "{rows:?}");
        }
        let plain = [
            // 128 above the first value has the code of a missing cell.
            vec![vec![Some(10.0), Some(138.0), n]],
            // 128 below the first value is out of range.
            vec![vec![Some(10.0), n], vec![Some(-118.0), Some(11.0)]],
            // A fraction, first or later, and one that rounds away when
            // subtracted from a distant origin.
            vec![vec![Some(2.5), Some(2.0)]],
            vec![vec![Some(2.0), Some(3.0)], vec![n, Some(2.5)]],
            vec![vec![Some(1.0), Some(1.0 + f64::EPSILON), Some(-100.0)]],
            // Beyond the integer limit.
            vec![vec![Some(1e16), Some(1e16 + 2.0)]],
            vec![vec![Some(3.0), Some(1e16)]],
        ];
        for rows in &plain {
            assert!(!check_storage(rows), "{rows:?}");
        }
    }

    #[test]
    fn coded_storage_counts_many_raters_and_wide_scales() {
        // More than 255 raters (the one-byte counts are taken in chunks),
        // several blocks of units, and scales counted by comparison (5
        // values) and by increments (101 values).
        for (raters, units, span) in [(300, 40, 5), (3, 2 * BLOCK + 9, 5), (7, BLOCK + 3, 101)] {
            let rows: Vec<Vec<Option<f64>>> = (0..raters)
                .map(|r| {
                    (0..units)
                        .map(|u| {
                            let v = ((r * 7 + u * 13) % span) as f64 - 20.0;
                            ((r + 3 * u) % 11 != 0).then_some(v)
                        })
                        .collect()
                })
                .collect();
            assert!(check_storage(&rows));
        }
    }

    #[test]
    fn non_finite_values_are_named_whatever_the_storage() {
        let n = None;
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let rows = vec![
                vec![Some(1.0), Some(2.0), n, Some(4.0)],
                vec![n, Some(3.0), Some(bad), Some(bad)],
            ];
            assert_eq!(
                Ratings::from_rows(&rows).unwrap_err(),
                StatsError::NonFinite { rater: 1, unit: 2 }
            );
            let first = vec![vec![n, Some(bad)], vec![Some(1.0), Some(2.0)]];
            assert_eq!(
                Ratings::from_rows(&first).unwrap_err(),
                StatsError::NonFinite { rater: 0, unit: 1 }
            );
        }
        // A row of the wrong length is reported before a bad value.
        assert_eq!(
            Ratings::from_rows(&[vec![Some(f64::NAN), n], vec![Some(1.0)]]).unwrap_err(),
            StatsError::RowLength {
                rater: 1,
                expected: 2,
                found: 1
            }
        );
    }

    #[test]
    fn negative_values_are_named_in_coded_storage() {
        let r = Ratings::from_rows(&[
            vec![Some(1.0), Some(2.0), Some(0.0)],
            vec![None, Some(-1.0), Some(-2.0)],
        ])
        .expect("valid");
        assert!(r.is_coded());
        assert_eq!(
            r.check_non_negative().unwrap_err(),
            StatsError::NegativeRatio {
                rater: 1,
                unit: 1,
                value: -1.0
            }
        );
    }
}
