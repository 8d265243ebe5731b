//! Column mappings: how the columns of a source file become contact fields. A mapping is a small
//! TOML file (see `docs/import.md`); without one, the generic format's column names are used.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::Deserialize;

use super::record::Record;
use super::{Direction, NewContact, Turn};
use crate::kpi::{Channel, Outcome};

/// What a file holds: its fields as named in mappings and in the generic format, the ones every
/// row must have, and the text fields that may join several columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    pub required: &'static [(&'static str, &'static str)],
    pub joinable: &'static [&'static str],
}

/// Contact records.
pub const CONTACTS: Kind = Kind {
    name: "contacts",
    fields: &FIELDS,
    required: &[
        ("external_id", "every contact needs an external id column"),
        ("arrived", "every contact needs an arrival time"),
    ],
    joinable: &["external_id", "queue", "agent", "customer", "reason"],
};

/// Survey answers, each about one contact.
pub const SURVEYS: Kind = Kind {
    name: "surveys",
    fields: &[
        "contact", "answered", "csat", "nps", "rq", "effort", "comment",
    ],
    required: &[(
        "contact",
        "every survey answer names the contact (its external id)",
    )],
    joinable: &["contact"],
};

/// Every field a contact has, as named in mappings and in the generic format.
pub const FIELDS: [&str; 19] = [
    "external_id",
    "channel",
    "queue",
    "agent",
    "customer",
    "reason",
    "direction",
    "arrived",
    "answered",
    "ended",
    "wait_s",
    "talk_s",
    "hold_s",
    "acw_s",
    "first_response_s",
    "outcome",
    "resolved",
    "recording_url",
    "transcript",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub format: Option<Format>,
    /// Field separator for CSV: one character, or `\t`.
    pub delimiter: Option<String>,
    /// Time zone of local times in the file; default: the program's.
    pub timezone: Option<String>,
    /// Formats (chrono `strftime`) for date, time and date-time columns.
    pub date_format: Option<String>,
    pub time_format: Option<String>,
    pub datetime_format: Option<String>,
    /// Keep columns the mapping does not use as the contact's extra attributes (default true).
    pub keep_other_columns: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Columns {
    One(String),
    Many(Vec<String>),
}

impl Columns {
    fn names(&self) -> impl Iterator<Item = &str> {
        match self {
            Columns::One(c) => std::slice::from_ref(c),
            Columns::Many(v) => v.as_slice(),
        }
        .iter()
        .map(String::as_str)
    }
}

/// How one field is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The column, or several: the first with a value wins.
    pub column: Option<Columns>,
    /// A constant instead of a column.
    pub value: Option<String>,
    /// For times split over two columns: the date column, with `time` the time column(s).
    pub date: Option<String>,
    pub time: Option<Columns>,
    /// A format for this field alone: a `strftime` pattern, `epoch` or `epoch_ms`.
    pub format: Option<String>,
    /// Join the values of all listed columns with this separator (e.g. a line and a call number
    /// that are unique only together), instead of taking the first with a value.
    pub join: Option<String>,
    /// Values that mean "none", e.g. `0:00:00` or `NO_SERVER`.
    #[serde(default)]
    pub empty: Vec<String>,
    /// Source value → Kalibra value. Mapping an outcome to `skip` leaves the row out.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FieldSpec {
    Column(String),
    Rule(Rule),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    #[serde(default)]
    pub source: SourceSpec,
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
}

/// A mapping checked and ready to apply to rows.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub kind: Kind,
    pub source: SourceSpec,
    rules: BTreeMap<&'static str, Rule>,
    tz: Tz,
    used_columns: BTreeSet<String>,
    /// Whether every column the mapping names must be in the file (not for the generic format,
    /// whose optional columns may be left out).
    strict_columns: bool,
}

/// Why a field of a row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

fn err(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// What a row became.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Contact(Box<NewContact>),
    /// The mapping says to leave this row out (e.g. an ACD's phantom calls).
    Skip,
}

impl Mapping {
    /// The generic contact format: every field read from the column of its own name.
    pub fn generic(tz: Tz) -> Mapping {
        Mapping::generic_for(CONTACTS, tz)
    }

    /// The generic format of a kind of file.
    pub fn generic_for(kind: Kind, tz: Tz) -> Mapping {
        let file = MappingFile {
            source: SourceSpec::default(),
            fields: kind
                .fields
                .iter()
                .map(|f| ((*f).to_owned(), FieldSpec::Column((*f).to_owned())))
                .collect(),
        };
        let mut m = Mapping::from_file(kind, file, tz).expect("the generic mapping is valid");
        m.strict_columns = false;
        m
    }

    /// Read a contact mapping file's text; `program_tz` is used when it names no time zone.
    pub fn parse(text: &str, program_tz: Tz) -> Result<Mapping, String> {
        Mapping::parse_for(CONTACTS, text, program_tz)
    }

    /// Read a mapping file's text for a kind of file.
    pub fn parse_for(kind: Kind, text: &str, program_tz: Tz) -> Result<Mapping, String> {
        let file: MappingFile = toml::from_str(text).map_err(|e| e.to_string())?;
        Mapping::from_file(kind, file, program_tz)
    }

    fn from_file(kind: Kind, file: MappingFile, program_tz: Tz) -> Result<Mapping, String> {
        let tz = match &file.source.timezone {
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| format!("source.timezone: unknown time zone {name:?}"))?,
            None => program_tz,
        };
        let mut rules = BTreeMap::new();
        let mut used_columns = BTreeSet::new();
        for (name, spec) in file.fields {
            let Some(field) = kind.fields.iter().find(|f| **f == name) else {
                return Err(format!(
                    "fields.{name}: unknown field; the fields of {} are {}",
                    kind.name,
                    kind.fields.join(", ")
                ));
            };
            let rule = match spec {
                FieldSpec::Column(c) => Rule {
                    column: Some(Columns::One(c)),
                    ..Rule::default()
                },
                FieldSpec::Rule(r) => r,
            };
            if rule.column.is_none()
                && rule.value.is_none()
                && rule.date.is_none()
                && rule.time.is_none()
            {
                return Err(format!(
                    "fields.{name}: give a column, a value, or date and time columns"
                ));
            }
            if rule.join.is_some() && !kind.joinable.contains(field) {
                return Err(format!(
                    "fields.{name}: join works for {}",
                    kind.joinable.join(", ")
                ));
            }
            for c in rule
                .column
                .iter()
                .chain(rule.time.iter())
                .flat_map(Columns::names)
            {
                used_columns.insert(c.to_owned());
            }
            if let Some(d) = &rule.date {
                used_columns.insert(d.clone());
            }
            rules.insert(*field, rule);
        }
        for (field, why) in kind.required {
            if !rules.contains_key(field) {
                return Err(format!("fields.{field}: {why}"));
            }
        }
        if let Some(d) = &file.source.delimiter {
            delimiter_byte(d)?;
        }
        Ok(Mapping {
            kind,
            source: file.source,
            rules,
            tz,
            used_columns,
            strict_columns: true,
        })
    }

    /// The source columns a file must have for this mapping.
    pub fn columns_needed(&self) -> Vec<&str> {
        if self.strict_columns {
            self.used_columns.iter().map(String::as_str).collect()
        } else {
            self.kind.required.iter().map(|(f, _)| *f).collect()
        }
    }

    pub fn delimiter(&self) -> u8 {
        self.source
            .delimiter
            .as_deref()
            .and_then(|d| delimiter_byte(d).ok())
            .unwrap_or(b',')
    }

    /// The raw text of a field in a row: a constant, or the first listed column with a value
    /// (values listed as `empty` count as none). Mapped through `map` when one is given.
    fn raw<'r>(&'r self, rec: &'r dyn Record, field: &str) -> Option<&'r str> {
        let rule = self.rules.get(field)?;
        debug_assert!(rule.join.is_none(), "joined fields are read with `text`");
        let value = match (&rule.value, &rule.column) {
            (Some(v), _) => Some(v.as_str()),
            (None, Some(cols)) => cols
                .names()
                .filter_map(|c| rec.get(c))
                .map(str::trim)
                .find(|v| !v.is_empty() && !rule.empty.iter().any(|e| e == v)),
            (None, None) => None,
        }?;
        Some(rule.map.get(value).map(String::as_str).unwrap_or(value))
    }

    fn text(&self, rec: &dyn Record, field: &str) -> Option<String> {
        let rule = self.rules.get(field)?;
        if let (Some(sep), Some(cols)) = (&rule.join, &rule.column) {
            let parts: Vec<&str> = cols
                .names()
                .map(|c| rec.get(c).map(str::trim).unwrap_or(""))
                .collect();
            return (!parts.iter().all(|p| p.is_empty())).then(|| parts.join(sep));
        }
        self.raw(rec, field).map(str::to_owned)
    }

    fn seconds(&self, rec: &dyn Record, field: &str) -> Result<Option<u32>, FieldError> {
        let Some(v) = self.raw(rec, field) else {
            return Ok(None);
        };
        parse_seconds(v).map(Some).map_err(|r| err(field, r))
    }

    /// A point in time, as UTC milliseconds.
    fn time(&self, rec: &dyn Record, field: &str) -> Result<Option<i64>, FieldError> {
        let Some(rule) = self.rules.get(field) else {
            return Ok(None);
        };
        let fmt = rule.format.as_deref();
        if let (Some(date_col), Some(time_cols)) = (&rule.date, &rule.time) {
            let Some(time) = time_cols
                .names()
                .filter_map(|c| rec.get(c))
                .map(str::trim)
                .find(|v| !v.is_empty() && !rule.empty.iter().any(|e| e == v))
            else {
                return Ok(None);
            };
            let date = rec.get(date_col).map(str::trim).unwrap_or("");
            let date_fmt = self.source.date_format.as_deref().unwrap_or("%Y-%m-%d");
            let time_fmt = fmt
                .or(self.source.time_format.as_deref())
                .unwrap_or("%H:%M:%S");
            let d = NaiveDate::parse_from_str(date, date_fmt)
                .map_err(|_| err(field, format!("{date:?} is not a date as {date_fmt}")))?;
            let t = NaiveTime::parse_from_str(time, time_fmt)
                .map_err(|_| err(field, format!("{time:?} is not a time as {time_fmt}")))?;
            return local_to_utc(self.tz, d.and_time(t))
                .map(Some)
                .map_err(|r| err(field, r));
        }
        let Some(v) = self.raw(rec, field) else {
            return Ok(None);
        };
        let fmt = fmt.or(self.source.datetime_format.as_deref());
        parse_instant(v, fmt, self.tz)
            .map(Some)
            .map_err(|r| err(field, r))
    }

    /// A text field of a row (any kind of file).
    pub fn text_of(&self, rec: &dyn Record, field: &str) -> Option<String> {
        self.text(rec, field)
    }

    /// A point in time of a row (any kind of file), as UTC milliseconds.
    pub fn instant_of(&self, rec: &dyn Record, field: &str) -> Result<Option<i64>, FieldError> {
        self.time(rec, field)
    }

    /// Turn one row into a contact, or say which field is wrong and why.
    pub fn apply(&self, rec: &dyn Record) -> Result<Parsed, FieldError> {
        let outcome_raw = self.raw(rec, "outcome");
        if outcome_raw == Some("skip") {
            return Ok(Parsed::Skip);
        }
        let external_id = self
            .text(rec, "external_id")
            .ok_or_else(|| err("external_id", "missing: every contact needs an external id"))?;
        if external_id.chars().count() > 200 {
            return Err(err("external_id", "longer than 200 characters"));
        }
        let channel = match self.raw(rec, "channel") {
            None => Channel::Phone,
            Some(c) => parse_channel(c).ok_or_else(|| {
                err(
                    "channel",
                    format!("{c:?} is not one of phone, email, chat, social, bot"),
                )
            })?,
        };
        let arrived = self
            .time(rec, "arrived")?
            .ok_or_else(|| err("arrived", "missing: every contact needs an arrival time"))?;
        let mut answered = self.time(rec, "answered")?;
        let mut ended = self.time(rec, "ended")?;
        // Times given as time of day next to the arrival's date may cross midnight.
        let split_day = |f: &str| self.rules.get(f).is_some_and(|r| r.date.is_some());
        for (f, t) in [("answered", &mut answered), ("ended", &mut ended)] {
            if let Some(v) = t.as_mut() {
                if split_day(f) && *v < arrived {
                    *v += 86_400_000;
                }
                if *v < arrived {
                    return Err(err(f, "earlier than the arrival"));
                }
            }
        }
        let since = |t: Option<i64>, from: i64| {
            t.map(|t| u32::try_from((t - from) / 1000).unwrap_or(u32::MAX))
        };
        // Queue time exists for the real-time channels; an e-mail's wait is its first response.
        let wait_s = match self.seconds(rec, "wait_s")? {
            Some(w) => w,
            None if matches!(channel, Channel::Phone | Channel::Chat) => {
                since(answered, arrived).unwrap_or(0)
            }
            None => 0,
        };
        let talk_s = match self.seconds(rec, "talk_s")? {
            Some(t) => t,
            None => match (answered, ended) {
                (Some(a), Some(e)) if e >= a => since(Some(e), a).unwrap_or(0),
                _ => 0,
            },
        };
        let first_response_s = match self.seconds(rec, "first_response_s")? {
            Some(f) => Some(f),
            None if matches!(channel, Channel::Email | Channel::Social | Channel::Chat) => {
                since(answered, arrived)
            }
            None => None,
        };
        let outcome = match outcome_raw {
            Some(o) => parse_outcome(o).ok_or_else(|| {
                err(
                    "outcome",
                    format!("{o:?} is not one of handled, abandoned, transferred, bot_resolved"),
                )
            })?,
            None if channel == Channel::Bot => Outcome::BotResolved,
            None if answered.is_some() || talk_s > 0 || first_response_s.is_some() => {
                Outcome::Handled
            }
            None => Outcome::Abandoned,
        };
        let direction = match self.raw(rec, "direction") {
            None => Direction::Inbound,
            Some(d) => Direction::parse(d)
                .ok_or_else(|| err("direction", format!("{d:?} is not inbound or outbound")))?,
        };
        let resolved = match self.raw(rec, "resolved") {
            None => None,
            Some(v) => Some(
                parse_bool(v).ok_or_else(|| err("resolved", format!("{v:?} is not yes or no")))?,
            ),
        };
        let transcript = match self.raw(rec, "transcript") {
            None => None,
            Some(t) => Some(serde_json::from_str::<Vec<Turn>>(t).map_err(|e| {
                err(
                    "transcript",
                    format!("not a list of turns {{speaker, at, text}}: {e}"),
                )
            })?),
        };
        let keep = self.source.keep_other_columns.unwrap_or(true);
        let attributes = if keep {
            rec.pairs()
                .into_iter()
                .filter(|(k, v)| !v.is_empty() && !self.used_columns.contains(*k))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        } else {
            BTreeMap::new()
        };
        Ok(Parsed::Contact(Box::new(NewContact {
            external_id,
            channel,
            queue: self.text(rec, "queue").unwrap_or_default(),
            agent: self.text(rec, "agent").unwrap_or_default(),
            customer: self.text(rec, "customer").unwrap_or_default(),
            reason: self.text(rec, "reason"),
            direction,
            arrived_ms: arrived,
            answered_ms: answered,
            ended_ms: ended,
            wait_s,
            talk_s,
            hold_s: self.seconds(rec, "hold_s")?.unwrap_or(0),
            acw_s: self.seconds(rec, "acw_s")?.unwrap_or(0),
            first_response_s,
            outcome,
            resolved,
            recording_url: self.text(rec, "recording_url"),
            transcript,
            attributes,
        })))
    }
}

fn delimiter_byte(d: &str) -> Result<u8, String> {
    match d {
        "\\t" | "\t" | "tab" => Ok(b'\t'),
        s if s.len() == 1 => Ok(s.as_bytes()[0]),
        other => Err(format!("source.delimiter: {other:?} is not one character")),
    }
}

pub fn parse_channel(s: &str) -> Option<Channel> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "phone" | "voice" | "call" => Channel::Phone,
        "email" | "e-mail" | "mail" => Channel::Email,
        "chat" => Channel::Chat,
        "social" => Channel::Social,
        "bot" => Channel::Bot,
        _ => return None,
    })
}

pub fn parse_outcome(s: &str) -> Option<Outcome> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "handled" => Outcome::Handled,
        "abandoned" => Outcome::Abandoned,
        "transferred" => Outcome::Transferred,
        "bot_resolved" => Outcome::BotResolved,
        _ => return None,
    })
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "ja" | "j" => Some(true),
        "0" | "false" | "no" | "n" | "nee" | "nein" => Some(false),
        _ => None,
    }
}

/// Whole seconds, from `42`, `42.0` or `H:MM:SS` / `MM:SS`.
pub fn parse_seconds(v: &str) -> Result<u32, String> {
    let v = v.trim();
    if v.contains(':') {
        let mut total: u64 = 0;
        for part in v.split(':') {
            let n: u64 = part
                .parse()
                .map_err(|_| format!("{v:?} is not a duration"))?;
            total = total * 60 + n;
        }
        return u32::try_from(total).map_err(|_| format!("{v:?} is too long"));
    }
    let f: f64 = v
        .parse()
        .map_err(|_| format!("{v:?} is not a number of seconds"))?;
    if f < 0.0 {
        return Err(format!("{v} is negative; durations are 0 or more seconds"));
    }
    if !f.is_finite() || f > f64::from(u32::MAX) {
        return Err(format!("{v:?} is not a number of seconds"));
    }
    Ok(f.round() as u32)
}

/// Local wall-clock time in `tz` to UTC milliseconds. A time that occurs twice (the hour
/// clocks go back) is read as the first; a time that does not exist is refused.
pub fn local_to_utc(tz: Tz, ndt: NaiveDateTime) -> Result<i64, String> {
    use chrono::LocalResult;
    match tz.from_local_datetime(&ndt) {
        LocalResult::Single(t) => Ok(t.timestamp_millis()),
        LocalResult::Ambiguous(first, _) => Ok(first.timestamp_millis()),
        LocalResult::None => Err(format!(
            "{ndt} does not exist in {} (clocks moved forward)",
            tz.name()
        )),
    }
}

/// An instant: with `fmt` (`epoch`, `epoch_ms` or a `strftime` pattern) or, without, RFC 3339
/// (with offset) or `YYYY-MM-DD HH:MM[:SS]` in local time.
pub fn parse_instant(v: &str, fmt: Option<&str>, tz: Tz) -> Result<i64, String> {
    let v = v.trim();
    match fmt {
        Some("epoch") => v
            .parse::<i64>()
            .map(|s| s * 1000)
            .map_err(|_| format!("{v:?} is not Unix seconds")),
        Some("epoch_ms") => v
            .parse::<i64>()
            .map_err(|_| format!("{v:?} is not Unix milliseconds")),
        Some(f) => NaiveDateTime::parse_from_str(v, f)
            .map_err(|_| format!("{v:?} is not a time as {f}"))
            .and_then(|n| local_to_utc(tz, n)),
        None => {
            if let Ok(t) = DateTime::parse_from_rfc3339(v) {
                return Ok(t.timestamp_millis());
            }
            for f in [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M",
            ] {
                if let Ok(n) = NaiveDateTime::parse_from_str(v, f) {
                    return local_to_utc(tz, n);
                }
            }
            Err(format!(
                "{v:?} is not a time: use 2026-11-25T14:05:00+01:00 or 2026-11-25 14:05:00"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::record::JsonRecord;

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    fn row(json: &str) -> JsonRecord {
        JsonRecord::parse(json).unwrap()
    }

    #[test]
    fn seconds_in_every_spelling() {
        assert_eq!(parse_seconds("42"), Ok(42));
        assert_eq!(parse_seconds("41.6"), Ok(42));
        assert_eq!(parse_seconds("1:02:03"), Ok(3723));
        assert_eq!(parse_seconds("02:03"), Ok(123));
        assert!(parse_seconds("-5").unwrap_err().contains("negative"));
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn instants_with_and_without_offsets() {
        let tz = berlin();
        // 2026-01-15 10:00 in Berlin (UTC+1) is 09:00 UTC = 1768467600 s.
        assert_eq!(
            parse_instant("2026-01-15 10:00:00", None, tz),
            Ok(1_768_467_600_000)
        );
        assert_eq!(
            parse_instant("2026-01-15T10:00", None, tz),
            Ok(1_768_467_600_000)
        );
        assert_eq!(
            parse_instant("2026-01-15T09:00:00Z", None, tz),
            Ok(1_768_467_600_000)
        );
        assert_eq!(
            parse_instant("1768467600", Some("epoch"), tz),
            Ok(1_768_467_600_000)
        );
        assert_eq!(
            parse_instant("15.01.2026 10:00", Some("%d.%m.%Y %H:%M"), tz),
            Ok(1_768_467_600_000)
        );
        assert!(parse_instant("yesterday", None, tz).is_err());
    }

    #[test]
    fn daylight_saving_gaps_and_overlaps() {
        let tz = berlin();
        // 2026-03-29 02:30 does not exist in Berlin.
        let gap = parse_instant("2026-03-29 02:30:00", None, tz).unwrap_err();
        assert!(gap.contains("does not exist"), "{gap}");
        // 2026-10-25 02:30 happens twice; the first is 00:30 UTC (still UTC+2).
        assert_eq!(
            parse_instant("2026-10-25 02:30:00", None, tz),
            Ok(1_792_888_200_000)
        );
    }

    #[test]
    fn generic_rows_become_contacts() {
        let m = Mapping::generic(berlin());
        let Parsed::Contact(c) = m
            .apply(&row(
                r#"{"external_id": "C-1", "channel": "Chat", "arrived": "2026-01-15 10:00:00",
                "answered": "2026-01-15 10:00:30", "ended": "2026-01-15 10:05:30", "customer": "K9",
                "transcript": [{"speaker": "customer", "text": "Hallo"}], "tier": "gold"}"#,
            ))
            .unwrap()
        else {
            panic!("a contact")
        };
        assert_eq!(c.channel, Channel::Chat);
        assert_eq!(c.wait_s, 30);
        assert_eq!(c.talk_s, 300);
        assert_eq!(c.first_response_s, Some(30));
        assert_eq!(c.outcome, Outcome::Handled);
        assert_eq!(c.transcript.as_ref().unwrap()[0].text, "Hallo");
        assert_eq!(c.attributes.get("tier").map(String::as_str), Some("gold"));
        // The fingerprint is the SHA-256 of the contact's JSON text, as stored before: a file
        // imported again after an upgrade is still unchanged.
        use sha2::Digest;
        let json = serde_json::to_vec(&*c).unwrap();
        let expected: String = sha2::Sha256::digest(&json)[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(c.fingerprint(), expected);
        let Parsed::Contact(c) = m
            .apply(&row(
                r#"{"external_id": "C-2", "arrived": "2026-01-15 10:00:00", "wait_s": 12}"#,
            ))
            .unwrap()
        else {
            panic!("a contact")
        };
        assert_eq!(
            (c.channel, c.outcome, c.wait_s),
            (Channel::Phone, Outcome::Abandoned, 12)
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let m = Mapping::generic(berlin());
        let cases = [
            (r#"{"arrived": "2026-01-15 10:00:00"}"#, "external_id"),
            (r#"{"external_id": "x"}"#, "arrived"),
            (
                r#"{"external_id": "x", "arrived": "2026-13-01 10:00"}"#,
                "arrived",
            ),
            (
                r#"{"external_id": "x", "arrived": "2026-01-15 10:00", "channel": "fax"}"#,
                "channel",
            ),
            (
                r#"{"external_id": "x", "arrived": "2026-01-15 10:00", "talk_s": "-3"}"#,
                "talk_s",
            ),
            (
                r#"{"external_id": "x", "arrived": "2026-01-15 10:00", "answered": "2026-01-15 09:00"}"#,
                "answered",
            ),
            (
                r#"{"external_id": "x", "arrived": "2026-01-15 10:00", "outcome": "lost"}"#,
                "outcome",
            ),
            (
                r#"{"external_id": "x", "arrived": "2026-01-15 10:00", "transcript": "hello"}"#,
                "transcript",
            ),
        ];
        for (json, field) in cases {
            let e = m.apply(&row(json)).unwrap_err();
            assert_eq!(e.field, field, "{json}: {}", e.reason);
        }
    }

    #[test]
    fn mappings_join_skip_and_cross_midnight() {
        let text = r#"
            [source]
            timezone = "UTC"
            date_format = "%y%m%d"
            [fields]
            external_id = { column = ["line", "id"], join = "-" }
            agent = { column = "server", empty = ["NO_SERVER"] }
            arrived = { date = "date", time = ["q_start", "vru_exit"], empty = ["0:00:00"] }
            answered = { date = "date", time = "ser_start", empty = ["0:00:00"] }
            outcome = { column = "outcome", map = { AGENT = "handled", HANG = "abandoned", PHANTOM = "skip" } }
        "#;
        let m = Mapping::parse(text, berlin()).unwrap();
        let Parsed::Contact(c) = m
            .apply(&row(r#"{"line": "AA01", "id": "7", "server": "NO_SERVER", "date": "990201",
                "q_start": "0:00:00", "vru_exit": "23:59:50", "ser_start": "0:00:10", "outcome": "AGENT"}"#))
            .unwrap()
        else {
            panic!("a contact")
        };
        assert_eq!(c.external_id, "AA01-7");
        assert_eq!(c.agent, "");
        // 1999-02-01 23:59:50 UTC, answered 20 s later on the next day.
        assert_eq!(c.arrived_ms, 917_913_590_000);
        assert_eq!(c.answered_ms, Some(917_913_610_000));
        assert_eq!(c.wait_s, 20);
        assert_eq!(m.apply(&row(r#"{"line": "AA01", "id": "8", "date": "990201", "vru_exit": "10:00:00", "outcome": "PHANTOM"}"#)), Ok(Parsed::Skip));
        assert!(
            Mapping::parse("[fields]\nexternal_id = \"a\"\n", berlin())
                .unwrap_err()
                .contains("arrival")
        );
        assert!(
            Mapping::parse(
                "[fields]\nexternal_id = \"a\"\narrived = \"b\"\nmood = \"c\"\n",
                berlin()
            )
            .unwrap_err()
            .contains("unknown field")
        );
        assert!(Mapping::parse("[source]\ntimezone = \"Moon/Base\"\n[fields]\nexternal_id = \"a\"\narrived = \"b\"\n", berlin()).unwrap_err().contains("unknown time zone"));
    }
}
