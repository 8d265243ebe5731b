//! Texts kept once each and numbered in the order they were first seen: report labels, and the
//! names of the contacts an import holds.

use std::collections::HashMap;

#[derive(Default)]
pub struct Interner {
    texts: Vec<String>,
    ids: HashMap<String, u32, foldhash::fast::RandomState>,
}

impl Interner {
    /// The number of `text`, given to it when first seen.
    pub fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.texts.push(text.to_owned());
        self.ids.insert(text.to_owned(), id);
        id
    }

    /// The text numbered `id` ("" for a number never given).
    pub fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", String::as_str)
    }

    /// How many texts are numbered.
    pub fn count(&self) -> usize {
        self.texts.len()
    }

    /// Every text, in the order of their numbers.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }
}

#[cfg(test)]
mod tests {
    use super::Interner;

    #[test]
    fn each_text_gets_one_number_in_the_order_first_seen() {
        let mut n = Interner::default();
        assert_eq!((n.id("b"), n.id("a"), n.id("b")), (0, 1, 0));
        assert_eq!((n.text(1), n.text(7), n.count()), ("a", "", 2));
        assert_eq!(n.texts(), ["b", "a"]);
    }
}
