use super::InvalidValue;

/// A sign-in e-mail address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim().to_lowercase();
        let invalid = |m: &str| Err(InvalidValue::new("email", "email", m));
        if s.is_empty() {
            return invalid("an e-mail address is required");
        }
        if s.len() > 254 {
            return invalid("an e-mail address has at most 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return invalid("an e-mail address needs an @");
        };
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid("this is not a valid e-mail address");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(
            Email::parse("  Ann.Smith@Example.COM ").unwrap().as_str(),
            "ann.smith@example.com"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.de",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
