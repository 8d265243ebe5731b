//! Inter-rater agreement statistics for evaluation (calibration) data.
//!
//! The input is a [`ratings::Ratings`] matrix — one row per rater, one column
//! per evaluated unit, missing ratings allowed. On it:
//!
//! * [`alpha`]: Krippendorff's alpha at the nominal, ordinal, interval and
//!   ratio levels (Krippendorff 2011);
//! * [`percent`]: observed percent agreement over pairable values;
//! * [`kappa`]: Fleiss' kappa for many raters (Fleiss 1971) and Cohen's
//!   kappa for two raters, unweighted and with linear or quadratic weights
//!   (Cohen 1960, 1968);
//! * [`ac1`]: Gwet's AC1 (Gwet 2008);
//! * [`bootstrap`]: a seeded percentile bootstrap interval for alpha.
//!
//! The module does no I/O and never panics on user data; undefined
//! coefficients are reported as [`error::StatsError`] values, never NaN.

pub mod ac1;
pub mod alpha;
pub mod bootstrap;
pub mod correlation;
pub mod error;
pub mod interval;
pub mod kappa;
pub mod percent;
pub mod ratings;
