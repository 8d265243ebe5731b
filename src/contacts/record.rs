//! One source row, whatever the file format: values looked up by column name.

use std::collections::HashMap;
use std::sync::Arc;

/// A row of a CSV file or a line of a JSON Lines file.
pub trait Record {
    /// The value of a column; `None` when the row has no such column.
    fn get(&self, column: &str) -> Option<&str>;
    /// Every column and its value, in file order (for the extra attributes).
    fn pairs(&self) -> Vec<(&str, &str)>;
}

/// Column positions by name, hashed with a fast hasher: every field of every row is looked up.
pub type Header = HashMap<String, usize, foldhash::fast::RandomState>;

/// A CSV row with its file's header.
pub struct CsvRecord {
    pub header: Arc<Header>,
    pub names: Arc<Vec<String>>,
    pub row: csv::StringRecord,
}

impl Record for CsvRecord {
    fn get(&self, column: &str) -> Option<&str> {
        self.header.get(column).and_then(|&i| self.row.get(i))
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.names
            .iter()
            .zip(self.row.iter())
            .map(|(k, v)| (k.as_str(), v))
            .collect()
    }
}

/// A JSON Lines object; scalars are read as text, arrays and objects as JSON text.
pub struct JsonRecord {
    values: Vec<(String, String)>,
}

impl JsonRecord {
    pub fn parse(line: &str) -> Result<Self, String> {
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
        let values = obj
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
        Ok(Self { values })
    }
}

impl Record for JsonRecord {
    fn get(&self, column: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == column)
            .map(|(_, v)| v.as_str())
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}
