//! Interface texts in English, German and Dutch, from `locales/*.toml`, embedded in the binary.
//! A test fails when a key is missing in any language.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use crate::domain::Locale;

const SOURCES: [(Locale, &str); 3] = [
    (Locale::En, include_str!("../locales/en.toml")),
    (Locale::De, include_str!("../locales/de.toml")),
    (Locale::Nl, include_str!("../locales/nl.toml")),
];

/// Every message of every language, keyed `section.key`.
pub struct Catalog {
    maps: HashMap<Locale, HashMap<String, String>>,
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

impl Catalog {
    fn load() -> Self {
        let maps = SOURCES
            .iter()
            .map(|(locale, src)| {
                let table: toml::Table = src.parse().unwrap_or_else(|e| {
                    panic!("locales/{}.toml does not parse: {e}", locale.code())
                });
                let mut map = HashMap::new();
                flatten("", &table, &mut map);
                (*locale, map)
            })
            .collect();
        Self { maps }
    }

    pub fn keys(&self, locale: Locale) -> Vec<&str> {
        let mut k: Vec<&str> = self.maps[&locale].keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    pub fn get(&self, locale: Locale, key: &str) -> Option<&str> {
        self.maps.get(&locale)?.get(key).map(String::as_str)
    }
}

pub static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::load);

/// The texts of one language, handed to every template.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tr {
    pub locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    /// The text for `key`; the English one, then the key itself, when missing.
    pub fn t(&self, key: &str) -> String {
        CATALOG
            .get(self.locale, key)
            .or_else(|| CATALOG.get(Locale::En, key))
            .unwrap_or(key)
            .to_owned()
    }

    /// The text for `key` with `{name}` placeholders filled in.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key);
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    pub fn code(&self) -> &'static str {
        self.locale.code()
    }

    /// Every text of a section of the catalogue (`form_builder`) by its whole key, for a page's
    /// script.
    pub fn section(&self, section: &str) -> BTreeMap<String, String> {
        let prefix = format!("{section}.");
        CATALOG
            .keys(Locale::En)
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .map(|k| (k.to_owned(), self.t(k)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key() {
        let en = CATALOG.keys(Locale::En);
        for l in [Locale::De, Locale::Nl] {
            let other = CATALOG.keys(l);
            let missing: Vec<_> = en.iter().filter(|k| !other.contains(k)).collect();
            let extra: Vec<_> = other.iter().filter(|k| !en.contains(k)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", l.code());
            assert!(
                extra.is_empty(),
                "{} has keys English lacks: {extra:?}",
                l.code()
            );
        }
    }

    #[test]
    fn no_text_is_empty() {
        for l in Locale::ALL {
            for k in CATALOG.keys(l) {
                assert!(
                    !CATALOG.get(l, k).unwrap().trim().is_empty(),
                    "{}:{k} is empty",
                    l.code()
                );
            }
        }
    }

    /// Every key used with `tr.t` or `tr.f` in a template or in the code exists in English.
    #[test]
    fn every_used_key_exists() {
        let mut sources = Vec::new();
        for dir in ["templates", "src"] {
            collect(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(dir)
                    .as_path(),
                &mut sources,
            );
        }
        let mut missing = Vec::new();
        for (path, text) in &sources {
            for pat in ["tr.t(\"", "tr.f(\""] {
                for (i, _) in text.match_indices(pat) {
                    let rest = &text[i + pat.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let key = &rest[..end];
                    if CATALOG.get(Locale::En, key).is_none() {
                        missing.push(format!("{path}: {key}"));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys used but not in locales/en.toml: {missing:#?}"
        );
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|e| e == "html" || e == "rs") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let tr = Tr::new(Locale::En);
        assert_eq!(tr.f("home.welcome", &[("name", "Ann")]), "Welcome, Ann");
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use crate::domain::Role;

    /// Keys built at run time: role names.
    #[test]
    fn every_role_has_a_name() {
        for r in Role::ALL {
            for l in Locale::ALL {
                assert!(
                    CATALOG.get(l, r.label_key()).is_some(),
                    "{}: {}",
                    l.code(),
                    r.label_key()
                );
            }
        }
    }
}
