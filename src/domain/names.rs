use super::InvalidValue;

fn bounded_text(field: &'static str, raw: &str, max: usize) -> Result<String, InvalidValue> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(InvalidValue::new(
            field,
            "required",
            format!("{field} is required"),
        ));
    }
    if s.chars().count() > max {
        return Err(InvalidValue::new(
            field,
            "too_long",
            format!("{field} has at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            field,
            "control_chars",
            format!("{field} may not contain control characters"),
        ));
    }
    Ok(s.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                bounded_text($field, raw, $max).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A person's display name.
    PersonName, "name", 200
);
text_type!(
    /// A program's display name, e.g. the client's brand.
    ProgramName, "name", 200
);
text_type!(
    /// A team's name, unique within its program.
    TeamName, "name", 120
);

/// A short program code used on the command line and in imports: `ACME-DE`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ProgramCode(String);

impl ProgramCode {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim().to_ascii_uppercase();
        let ok_len = (2..=32).contains(&s.len());
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_len || !ok_chars || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(InvalidValue::new(
                "code",
                "program_code",
                "a program code has 2 to 32 letters, digits, '-' or '_'",
            ));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The IANA zone names offered in forms: `Area/Location` names and `UTC`, sorted.
pub fn time_zone_names() -> &'static [&'static str] {
    static NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut v: Vec<&'static str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .filter(|n| (n.contains('/') && !n.starts_with("Etc/")) || *n == "UTC")
            .collect();
        v.sort_unstable();
        v
    });
    &NAMES
}

/// An IANA time zone name such as `Europe/Berlin`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let tz: chrono_tz::Tz = raw.trim().parse().map_err(|_| {
            InvalidValue::new(
                "timezone",
                "timezone",
                format!(
                    "unknown time zone {:?}; use an IANA name such as Europe/Berlin",
                    raw.trim()
                ),
            )
        })?;
        Ok(Self(tz.name().to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Ann  ").unwrap().as_str(), "Ann");
        assert!(PersonName::parse("   ").is_err());
        assert!(TeamName::parse(&"x".repeat(121)).is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn program_codes() {
        assert_eq!(ProgramCode::parse("acme-de").unwrap().as_str(), "ACME-DE");
        for bad in ["A", "-AB", "AB CD", "ÄB", &"A".repeat(33)] {
            assert!(ProgramCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            TimeZoneName::parse("Europe/Berlin").unwrap().as_str(),
            "Europe/Berlin"
        );
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        let offered = time_zone_names();
        assert!(offered.contains(&"Europe/Amsterdam") && offered.contains(&"UTC"));
        assert!(offered.iter().all(|z| TimeZoneName::parse(z).is_ok()));
    }
}
