//! The one error type of the statistics module.
//!
//! Indices in messages are zero-based positions in the input (rater = row,
//! unit = column of the raters × units matrix).

use thiserror::Error;

/// Why a matrix could not be built or a coefficient could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StatsError {
    /// The matrix has no rows.
    #[error("no raters: the ratings matrix needs at least one rater (row)")]
    NoRaters,
    /// The matrix has no columns.
    #[error("no units: the ratings matrix needs at least one unit (column)")]
    NoUnits,
    /// A rater's row does not have as many entries as the first row.
    #[error(
        "rater {rater} has {found} ratings but rater 0 has {expected}: every rater needs one entry per unit"
    )]
    RowLength {
        rater: usize,
        expected: usize,
        found: usize,
    },
    /// A rating is NaN or infinite (use `None` for a missing rating).
    #[error("rating of rater {rater} for unit {unit} is not a finite number")]
    NonFinite { rater: usize, unit: usize },
    /// The ratio level needs non-negative values.
    #[error(
        "rating {value} of rater {rater} for unit {unit} is negative, which the ratio level does not allow"
    )]
    NegativeRatio {
        rater: usize,
        unit: usize,
        value: f64,
    },
    /// A level-of-measurement name that is not one of the four.
    #[error("unknown level of measurement {0:?}: expected nominal, ordinal, interval or ratio")]
    UnknownLevel(String),
    /// No unit has values from at least two raters, so nothing can be paired.
    #[error("no pairable values: no unit has ratings from at least two raters")]
    NoPairableValues,
    /// All pairable values are equal: the expected disagreement is zero and the
    /// coefficient is 0/0, i.e. undefined.
    #[error(
        "coefficient undefined: the pairable values show no variation (expected disagreement is zero)"
    )]
    NoVariation,
    /// Two rating vectors that should be paired have different lengths.
    #[error("the two raters have {left} and {right} ratings; they must rate the same units")]
    LengthMismatch { left: usize, right: usize },
    /// A count table with no rows or no columns.
    #[error("the count table is empty")]
    EmptyTable,
    /// A count-table row whose length differs from the first row (or, for a
    /// square table, from the number of rows).
    #[error("row {row} of the count table has {found} entries, expected {expected}")]
    TableShape {
        row: usize,
        expected: usize,
        found: usize,
    },
    /// More categories were observed than the declared number of categories.
    #[error("{observed} distinct categories were observed but only {declared} were declared")]
    TooFewCategories { declared: usize, observed: usize },
    /// Bootstrap confidence level outside (0, 1).
    #[error("confidence level {0} must lie strictly between 0 and 1")]
    InvalidConfidence(f64),
    /// Bootstrap asked for zero replicates.
    #[error("the bootstrap needs at least one replicate")]
    NoReplicates,
    /// Every bootstrap replicate had an undefined coefficient.
    #[error("all {replicates} bootstrap replicates had an undefined alpha")]
    AllReplicatesUndefined { replicates: usize },
    /// More units or values than the module's 32-bit indices can address.
    #[error("too large: {0} exceeds the supported size (2^32 - 1)")]
    TooLarge(usize),
}
