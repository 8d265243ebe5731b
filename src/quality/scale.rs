//! A criterion's scale and the answers it takes. Every answer maps to a share of the
//! criterion's points, from 0 to 100 % (docs/scoring.md).

use serde::{Deserialize, Serialize};

/// What a criterion's scale is called in a form definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ScaleKind {
    /// Yes (100 %) or no (0 %).
    #[serde(rename = "yes_no")]
    YesNo,
    /// 1 to 5; 1 is 0 %, 5 is 100 %, each step 25 %.
    #[serde(rename = "1-5")]
    OneToFive,
    /// 0 to 10; each step 10 %.
    #[serde(rename = "0-10")]
    ZeroToTen,
    /// Labelled points, each worth a percentage given with it.
    #[serde(rename = "custom")]
    Custom,
}

/// One labelled point of a custom scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalePoint {
    pub label: String,
    /// The share of the criterion's points this answer earns, 0 to 100.
    pub percent: u8,
}

/// A checked scale: ranges have their bounds, custom scales two or more distinct points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scale {
    YesNo,
    Range { min: u8, max: u8 },
    Custom(Vec<ScalePoint>),
}

/// The written form of "not applicable" in answers.
pub const NOT_APPLICABLE: &str = "n/a";

/// An answer as sent: `"yes"`, `"no"`, `"n/a"`, a number on a range, or a custom point's label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AnswerValue {
    Number(i64),
    Text(String),
}

impl std::fmt::Display for AnswerValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerValue::Number(n) => n.fmt(f),
            AnswerValue::Text(t) => f.write_str(t),
        }
    }
}

impl AnswerValue {
    /// Reads a stored answer: digits are a number, anything else text.
    pub fn from_stored(s: &str) -> Self {
        match s.parse::<i64>() {
            Ok(n) => AnswerValue::Number(n),
            Err(_) => AnswerValue::Text(s.to_owned()),
        }
    }

    pub fn is_not_applicable(&self) -> bool {
        matches!(self, AnswerValue::Text(t) if t.trim().eq_ignore_ascii_case(NOT_APPLICABLE))
    }
}

impl Scale {
    pub fn kind(&self) -> ScaleKind {
        match self {
            Scale::YesNo => ScaleKind::YesNo,
            Scale::Range { min: 1, .. } => ScaleKind::OneToFive,
            Scale::Range { .. } => ScaleKind::ZeroToTen,
            Scale::Custom(_) => ScaleKind::Custom,
        }
    }

    /// The points of a custom scale; empty for the others.
    pub fn points(&self) -> &[ScalePoint] {
        match self {
            Scale::Custom(points) => points,
            _ => &[],
        }
    }

    /// Whether some answer earns nothing, which a critical criterion needs in order to fail.
    pub fn has_zero(&self) -> bool {
        match self {
            Scale::YesNo | Scale::Range { .. } => true,
            Scale::Custom(points) => points.iter().any(|p| p.percent == 0),
        }
    }

    /// The share of the points an answer earns, 0 to 100; `None` when the answer is not on
    /// the scale. "n/a" is handled by the caller.
    pub fn percent(&self, answer: &AnswerValue) -> Option<f64> {
        match (self, answer) {
            (Scale::YesNo, AnswerValue::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
                "yes" => Some(100.0),
                "no" => Some(0.0),
                _ => None,
            },
            (Scale::Range { min, max }, AnswerValue::Number(n)) => {
                let (min, max) = (i64::from(*min), i64::from(*max));
                (min..=max)
                    .contains(n)
                    .then(|| (n - min) as f64 * 100.0 / (max - min) as f64)
            }
            (Scale::Custom(points), AnswerValue::Text(t)) => points
                .iter()
                .find(|p| p.label == t.trim())
                .map(|p| f64::from(p.percent)),
            _ => None,
        }
    }

    /// The answers the scale takes, for error messages: `yes or no`, `1 to 5`, `"Fully", …`.
    pub fn describe(&self) -> String {
        match self {
            Scale::YesNo => "\"yes\" or \"no\"".into(),
            Scale::Range { min, max } => format!("a whole number from {min} to {max}"),
            Scale::Custom(points) => {
                let labels: Vec<String> =
                    points.iter().map(|p| format!("\"{}\"", p.label)).collect();
                format!("one of {}", labels.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> AnswerValue {
        AnswerValue::Text(s.into())
    }

    #[test]
    fn answers_map_to_a_share_of_the_points() {
        assert_eq!(Scale::YesNo.percent(&text("yes")), Some(100.0));
        assert_eq!(Scale::YesNo.percent(&text(" No ")), Some(0.0));
        assert_eq!(Scale::YesNo.percent(&AnswerValue::Number(1)), None);
        let five = Scale::Range { min: 1, max: 5 };
        assert_eq!(five.percent(&AnswerValue::Number(1)), Some(0.0));
        assert_eq!(five.percent(&AnswerValue::Number(4)), Some(75.0));
        assert_eq!(five.percent(&AnswerValue::Number(6)), None);
        assert_eq!(five.percent(&text("4")), None);
        let ten = Scale::Range { min: 0, max: 10 };
        assert_eq!(ten.percent(&AnswerValue::Number(7)), Some(70.0));
        let custom = Scale::Custom(vec![
            ScalePoint {
                label: "Fully".into(),
                percent: 100,
            },
            ScalePoint {
                label: "Partly".into(),
                percent: 40,
            },
        ]);
        assert_eq!(custom.percent(&text("Partly")), Some(40.0));
        assert_eq!(custom.percent(&text("partly")), None);
        assert!(!custom.has_zero());
    }

    #[test]
    fn stored_answers_read_back_as_sent() {
        assert_eq!(AnswerValue::from_stored("4"), AnswerValue::Number(4));
        assert_eq!(AnswerValue::from_stored("yes"), text("yes"));
        assert!(AnswerValue::from_stored("N/A").is_not_applicable());
        let json: AnswerValue = serde_json::from_str("7").unwrap();
        assert_eq!(json, AnswerValue::Number(7));
    }
}
