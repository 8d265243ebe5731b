/// A language the interface is written in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    De,
    Nl,
}

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::En, Locale::De, Locale::Nl];

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Nl => "nl",
        }
    }

    /// The language's own name, as shown in the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::De => "Deutsch",
            Locale::Nl => "Nederlands",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Locale::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The best supported language in an `Accept-Language` header, by q-value.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (pos, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if let Some(l) = Locale::parse(tag) {
                let better = match best {
                    None => true,
                    Some((bq, bpos, _)) => q > bq || (q == bq && pos < bpos),
                };
                if better {
                    best = Some((q, pos, l));
                }
            }
        }
        best.map(|(_, _, l)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_highest_supported() {
        assert_eq!(
            Locale::from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
            Some(Locale::De)
        );
        assert_eq!(
            Locale::from_accept_language("fr-FR,fr;q=0.9,nl;q=0.5,en;q=0.7"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("fr, es"), None);
        assert_eq!(
            Locale::from_accept_language("en;q=0.2, nl-BE"),
            Some(Locale::Nl)
        );
        assert_eq!(Locale::from_accept_language("de;q=0"), None);
    }
}
