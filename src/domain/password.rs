use super::InvalidValue;

/// A password a person chose, long enough to be worth hashing.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(InvalidValue::new(
                "password",
                "password_short",
                format!("a password needs at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(InvalidValue::new(
                "password",
                "password_long",
                format!("a password has at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("elevenchars").is_err());
        assert!(NewPassword::parse("kalibra-demo").is_ok());
        assert!(NewPassword::parse(&"x".repeat(257)).is_err());
        // Counted in characters, not bytes.
        assert!(NewPassword::parse("ääääääääääää").is_ok());
    }
}
