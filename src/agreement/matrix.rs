//! A ratings file: one row per rater, one column per unit, the first row and column labels, an
//! empty cell a missing rating. Values are numbers; at the nominal level they may also be
//! category names (`yes`, `no`, `n/a`…), which are numbered in sorted order.

use std::collections::BTreeMap;

use crate::stats::ratings::Level;

/// The ratings of a file with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingMatrix {
    pub raters: Vec<String>,
    pub units: Vec<String>,
    /// `rows[rater][unit]`.
    pub rows: Vec<Vec<Option<f64>>>,
    /// The category names, when the values were names: category `i` is the value `i`.
    pub categories: Option<Vec<String>>,
}

/// What is wrong with a ratings file, and where: `line` is the line of the file (1 = labels).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixError {
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("the file has no units: its first row should label one column per unit")]
    NoUnits,
    #[error("the file has no raters: after the labels, one row per rater")]
    NoRaters,
    #[error("line {line} ({rater}): {found} values for {expected} units")]
    Width {
        line: u64,
        rater: String,
        found: usize,
        expected: usize,
    },
    #[error(
        "line {line} ({rater}), unit {unit}: {value:?} is not a number \
         ({level} data are numbers; only nominal data may be named categories)"
    )]
    NotANumber {
        line: u64,
        rater: String,
        unit: String,
        value: String,
        level: Level,
    },
    #[error("ratings[{row}]: {found} values for {expected} units")]
    RowWidth {
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error("{found} {what} labels for {expected} {what}")]
    Labels {
        what: &'static str,
        found: usize,
        expected: usize,
    },
    #[error("line {line} ({rater}), unit {unit}: {value:?} is not a finite number")]
    NotFinite {
        line: u64,
        rater: String,
        unit: String,
        value: String,
    },
}

impl RatingMatrix {
    /// Ratings given as numbers (`rows[rater][unit]`), labelled by `raters` and `units` or, by
    /// default, by their numbers from 1.
    pub fn labelled(
        rows: Vec<Vec<Option<f64>>>,
        raters: Option<Vec<String>>,
        units: Option<Vec<String>>,
    ) -> Result<Self, MatrixError> {
        let width = rows.first().map_or(0, Vec::len);
        if width == 0 {
            return Err(MatrixError::NoUnits);
        }
        if let Some((row, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != width) {
            return Err(MatrixError::RowWidth {
                row,
                found: r.len(),
                expected: width,
            });
        }
        let numbered = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>();
        let check = |what, given: Option<Vec<String>>, n: usize| match given {
            Some(l) if l.len() != n => Err(MatrixError::Labels {
                what,
                found: l.len(),
                expected: n,
            }),
            Some(l) => Ok(l),
            None => Ok(numbered(n)),
        };
        Ok(Self {
            raters: check("raters", raters, rows.len())?,
            units: check("units", units, width)?,
            rows,
            categories: None,
        })
    }

    /// Read a ratings file's text (comma, semicolon or tab separated, judged by its first line).
    pub fn parse(text: &str, level: Level) -> Result<Self, MatrixError> {
        let delimiter = delimiter_of(text.lines().next().unwrap_or(""));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        let mut cells: Vec<(u64, Vec<String>)> = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| MatrixError::Csv {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let row: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
            if row.iter().all(String::is_empty) {
                continue;
            }
            cells.push((line, row));
        }
        let mut rows = cells.into_iter();
        let (_, header) = rows.next().ok_or(MatrixError::NoUnits)?;
        let mut units: Vec<String> = header.into_iter().skip(1).collect();
        while units.last().is_some_and(String::is_empty) {
            units.pop();
        }
        if units.is_empty() {
            return Err(MatrixError::NoUnits);
        }
        let mut raters = Vec::new();
        let mut texts: Vec<(u64, Vec<String>)> = Vec::new();
        for (line, mut row) in rows {
            let rater = row.first().cloned().unwrap_or_default();
            let mut values = row.split_off(1.min(row.len()));
            // Trailing empty cells are missing ratings, however many separators a program wrote.
            while values.len() > units.len() && values.last().is_some_and(String::is_empty) {
                values.pop();
            }
            if values.len() > units.len() {
                return Err(MatrixError::Width {
                    line,
                    rater,
                    found: values.len(),
                    expected: units.len(),
                });
            }
            values.resize(units.len(), String::new());
            raters.push(rater);
            texts.push((line, values));
        }
        if raters.is_empty() {
            return Err(MatrixError::NoRaters);
        }
        let named = level == Level::Nominal
            && texts
                .iter()
                .flat_map(|(_, v)| v)
                .any(|v| !v.is_empty() && number(v).is_none());
        let (rows, categories) = if named {
            let codes: BTreeMap<&str, f64> = {
                let mut names: Vec<&str> = texts
                    .iter()
                    .flat_map(|(_, v)| v.iter().map(String::as_str))
                    .filter(|v| !v.is_empty())
                    .collect();
                names.sort_unstable();
                names.dedup();
                names
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| (n, i as f64))
                    .collect()
            };
            let rows = texts
                .iter()
                .map(|(_, v)| v.iter().map(|c| codes.get(c.as_str()).copied()).collect())
                .collect();
            let names = codes.keys().map(|n| (*n).to_owned()).collect();
            (rows, Some(names))
        } else {
            let mut rows = Vec::with_capacity(texts.len());
            for ((line, values), rater) in texts.iter().zip(&raters) {
                let mut row = Vec::with_capacity(values.len());
                for (value, unit) in values.iter().zip(&units) {
                    row.push(if value.is_empty() {
                        None
                    } else {
                        Some(parse_value(value, level, *line, rater, unit)?)
                    });
                }
                rows.push(row);
            }
            (rows, None)
        };
        Ok(Self {
            raters,
            units,
            rows,
            categories,
        })
    }
}

/// The separator of a file: the one of comma, semicolon and tab its first line has most of.
fn delimiter_of(first: &str) -> u8 {
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

fn parse_value(
    value: &str,
    level: Level,
    line: u64,
    rater: &str,
    unit: &str,
) -> Result<f64, MatrixError> {
    let Some(v) = number(value) else {
        return Err(MatrixError::NotANumber {
            line,
            rater: rater.to_owned(),
            unit: unit.to_owned(),
            value: value.to_owned(),
            level,
        });
    };
    if !v.is_finite() {
        return Err(MatrixError::NotFinite {
            line,
            rater: rater.to_owned(),
            unit: unit.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_labels_and_missing_cells() {
        let m = RatingMatrix::parse(
            "rater,c1,c2,c3\nAnna,1,,3\nBen,2,2\n\nCor;x\n",
            Level::Ordinal,
        );
        // "Cor;x" is one cell in a comma file: a rater named "Cor;x" with no ratings.
        let m = m.unwrap();
        assert_eq!(m.raters, ["Anna", "Ben", "Cor;x"]);
        assert_eq!(m.units, ["c1", "c2", "c3"]);
        assert_eq!(
            m.rows,
            [
                vec![Some(1.0), None, Some(3.0)],
                vec![Some(2.0), Some(2.0), None],
                vec![None, None, None]
            ]
        );
        assert_eq!(m.categories, None);
    }

    #[test]
    fn semicolons_tabs_and_trailing_separators() {
        let m = RatingMatrix::parse("r;u1;u2\nA;1,5;2\n", Level::Interval);
        // A decimal comma is not a number: the error says where.
        let e = m.unwrap_err().to_string();
        assert_eq!(
            e,
            "line 2 (A), unit u1: \"1,5\" is not a number (interval data are numbers; only \
             nominal data may be named categories)"
        );
        let m = RatingMatrix::parse("r\tu1\tu2\nA\t1.5\t2\t\t\n", Level::Interval).unwrap();
        assert_eq!(m.rows, [vec![Some(1.5), Some(2.0)]]);
    }

    #[test]
    fn nominal_names_are_numbered_in_sorted_order() {
        let m = RatingMatrix::parse("r,u1,u2\nA,yes,no\nB,yes,\n", Level::Nominal).unwrap();
        assert_eq!(m.categories, Some(vec!["no".into(), "yes".into()]));
        assert_eq!(m.rows, [vec![Some(1.0), Some(0.0)], vec![Some(1.0), None]]);
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let err = |t: &str, l| RatingMatrix::parse(t, l).unwrap_err().to_string();
        assert_eq!(
            err("", Level::Nominal),
            "the file has no units: its first row should label one column per unit"
        );
        assert_eq!(
            err("r,u1\n", Level::Nominal),
            "the file has no raters: after the labels, one row per rater"
        );
        assert_eq!(
            err("r,u1,u2\nA,1,2\nB,1,2,3\n", Level::Nominal),
            "line 3 (B): 3 values for 2 units"
        );
        assert_eq!(
            err("r,u1\nA,inf\n", Level::Ratio),
            "line 2 (A), unit u1: \"inf\" is not a finite number"
        );
    }
}
