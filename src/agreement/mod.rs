//! How well raters agree on a ratings file: Krippendorff's alpha with a bootstrap interval,
//! percent agreement and, for nominal data, Fleiss' kappa and Gwet's AC1. The one report
//! `kalibra stats agreement` prints and `POST /api/v1/stats/agreement` answers.

pub mod matrix;
pub mod routes;

use crate::stats::ac1::gwet_ac1;
use crate::stats::alpha::krippendorff_alpha;
use crate::stats::bootstrap::{BootstrapConfig, bootstrap_alpha};
use crate::stats::error::StatsError;
use crate::stats::kappa::{Weights, cohen_kappa, fleiss_kappa};
use crate::stats::percent::percent_agreement;
use crate::stats::ratings::{Level, Ratings};
pub use matrix::{MatrixError, RatingMatrix};

/// Bootstrap replicates and seed of every report: the same file gives the same interval.
pub const REPLICATES: usize = 1_000;
pub const SEED: u64 = 2011;
pub const CONFIDENCE: f64 = 0.95;

/// The agreement of a ratings file. A coefficient is `null` where it is undefined (no pairable
/// values, no variation); `notes` says why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct AgreementReport {
    /// nominal, ordinal, interval or ratio.
    pub level: String,
    /// Krippendorff's alpha at the level.
    pub alpha: Option<f64>,
    /// The 95 % percentile bootstrap interval of alpha (1,000 resamples of the units, fixed seed).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The share of pairs of values within a unit that are equal.
    pub percent_agreement: Option<f64>,
    /// Units (columns) in the file, and those with at least two values.
    pub units: usize,
    pub pairable_units: usize,
    /// Raters (rows) in the file.
    pub raters: usize,
    /// Values in units with at least two values.
    pub pairable_values: usize,
    /// Nominal data only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleiss_kappa: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gwet_ac1: Option<Option<f64>>,
    /// Two raters only: Cohen's kappa, unweighted and with linear and quadratic weights (on the
    /// ranks of the values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohen_kappa: Option<CohenKappas>,
    /// Category names, when the file named its categories instead of numbering them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct CohenKappas {
    pub unweighted: Option<f64>,
    pub linear: Option<f64>,
    pub quadratic: Option<f64>,
}

/// What keeps a report from being made: the file, or a value the level does not allow.
#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    #[error(transparent)]
    File(#[from] MatrixError),
    #[error("{0}")]
    Ratings(String),
}

impl AgreementReport {
    /// The report of the ratings file `text` at `level`.
    pub fn of_text(text: &str, level: Level) -> Result<Self, AgreementError> {
        Self::of(&RatingMatrix::parse(text, level)?, level)
    }

    pub fn of(m: &RatingMatrix, level: Level) -> Result<Self, AgreementError> {
        let ratings = Ratings::from_rows(&m.rows).map_err(|e| labelled(e, m))?;
        let mut notes = Vec::new();
        let mut keep = |r: Result<f64, StatsError>, what: &str| match r {
            Ok(v) => Some(v),
            Err(e) => {
                let note = format!("{what}: {e}");
                if !notes.contains(&note) {
                    notes.push(note);
                }
                None
            }
        };
        let alpha = krippendorff_alpha(&ratings, level);
        if let Err(e @ StatsError::NegativeRatio { .. }) = &alpha {
            return Err(labelled(e.clone(), m));
        }
        let (units, pairable_values) = alpha
            .as_ref()
            .map_or((0, 0), |a| (a.units, a.pairable_values));
        let config = BootstrapConfig {
            replicates: REPLICATES,
            confidence: CONFIDENCE,
            seed: SEED,
        };
        let interval = alpha
            .is_ok()
            .then(|| bootstrap_alpha(&ratings, level, &config));
        let (ci_low, ci_high) = match interval {
            Some(Ok(i)) => (Some(i.lower), Some(i.upper)),
            Some(Err(e)) => {
                keep(Err(e), "bootstrap interval");
                (None, None)
            }
            None => (None, None),
        };
        let alpha = keep(alpha.map(|a| a.alpha), "alpha");
        let percent = keep(
            percent_agreement(&ratings).map(|p| p.agreement),
            "percent agreement",
        );
        let nominal = level == Level::Nominal;
        let fleiss =
            nominal.then(|| keep(fleiss_kappa(&ratings).map(|k| k.kappa), "Fleiss' kappa"));
        let ac1 = nominal.then(|| keep(gwet_ac1(&ratings).map(|a| a.ac1), "Gwet's AC1"));
        let cohen = match m.rows.as_slice() {
            [a, b] => {
                let mut kappa = |w: Weights| {
                    let what = format!("Cohen's kappa ({})", w.as_str());
                    keep(cohen_kappa(a, b, w).map(|k| k.kappa), &what)
                };
                Some(CohenKappas {
                    unweighted: kappa(Weights::Unweighted),
                    linear: kappa(Weights::Linear),
                    quadratic: kappa(Weights::Quadratic),
                })
            }
            _ => None,
        };
        Ok(Self {
            level: level.as_str().to_owned(),
            alpha,
            ci_low,
            ci_high,
            percent_agreement: percent,
            units: m.units.len(),
            pairable_units: units,
            raters: m.raters.len(),
            pairable_values,
            fleiss_kappa: fleiss,
            gwet_ac1: ac1,
            cohen_kappa: cohen,
            categories: m.categories.clone(),
            notes,
        })
    }

    /// The report as a small table for the terminal.
    pub fn table(&self) -> String {
        let f = |v: Option<f64>| v.map_or("undefined".to_owned(), |v| format!("{v:.3}"));
        let mut out = format!(
            "Agreement at the {} level: {} raters, {} units ({} with two or more values), {} pairable values\n",
            self.level, self.raters, self.units, self.pairable_units, self.pairable_values
        );
        let ci = match (self.ci_low, self.ci_high) {
            (Some(lo), Some(hi)) => format!(
                "   95 % CI {lo:.3} to {hi:.3} ({REPLICATES} bootstrap samples of the units)"
            ),
            _ => String::new(),
        };
        out += &format!("{:<22}{}{ci}\n", "Krippendorff's alpha", f(self.alpha));
        out += &format!("{:<22}{}\n", "Percent agreement", f(self.percent_agreement));
        if let Some(k) = self.fleiss_kappa {
            out += &format!("{:<22}{}\n", "Fleiss' kappa", f(k));
        }
        if let Some(a) = self.gwet_ac1 {
            out += &format!("{:<22}{}\n", "Gwet's AC1", f(a));
        }
        if let Some(c) = self.cohen_kappa {
            out += &format!("{:<22}{}\n", "Cohen's kappa", f(c.unweighted));
            out += &format!("{:<22}{}\n", "  linear weights", f(c.linear));
            out += &format!("{:<22}{}\n", "  quadratic weights", f(c.quadratic));
        }
        if let Some(c) = &self.categories {
            out += &format!("Categories: {}\n", c.join(", "));
        }
        for n in &self.notes {
            out += &format!("Note: {n}\n");
        }
        out
    }
}

/// A ratings error with the file's rater and unit labels instead of positions.
fn labelled(e: StatsError, m: &RatingMatrix) -> AgreementError {
    let rater = |i: usize| m.raters.get(i).cloned().unwrap_or_else(|| i.to_string());
    let unit = |i: usize| m.units.get(i).cloned().unwrap_or_else(|| i.to_string());
    AgreementError::Ratings(match e {
        StatsError::NegativeRatio {
            rater: r,
            unit: u,
            value,
        } => format!(
            "rater {}, unit {}: {value} is negative, which ratio data cannot be",
            rater(r),
            unit(u)
        ),
        StatsError::NonFinite { rater: r, unit: u } => {
            format!("rater {}, unit {}: not a finite number", rater(r), unit(u))
        }
        other => other.to_string(),
    })
}
