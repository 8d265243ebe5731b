//! The shipped form templates, in English, German and Dutch (`form-templates/<id>/<lang>.toml`,
//! compiled into the binary). A program's first form usually starts from one of them.

use serde::Serialize;

use super::form::{Form, FormSpec};
use crate::domain::Locale;
use crate::kpi::Channel;

/// One template: its id and its text in each language.
pub struct Template {
    pub id: &'static str,
    sources: [&'static str; 3],
}

macro_rules! template {
    ($id:literal) => {
        Template {
            id: $id,
            sources: [
                include_str!(concat!("../../form-templates/", $id, "/en.toml")),
                include_str!(concat!("../../form-templates/", $id, "/de.toml")),
                include_str!(concat!("../../form-templates/", $id, "/nl.toml")),
            ],
        }
    };
}

/// Every template, the recommended one first.
pub static TEMPLATES: [Template; 4] = [
    template!("quality-monitoring-2"),
    template!("classic-phone"),
    template!("classic-email"),
    template!("classic-chat"),
];

/// A template as listed for choosing one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateSummary {
    pub id: &'static str,
    pub name: String,
    pub description: String,
    #[schema(value_type = Vec<String>)]
    pub channels: Vec<Channel>,
    pub criteria: usize,
}

impl Template {
    fn source(&self, locale: Locale) -> &'static str {
        let index = Locale::ALL
            .iter()
            .position(|l| *l == locale)
            .expect("every locale is listed");
        self.sources[index]
    }

    /// The template's form in a language. The files are checked by the tests, so a broken one
    /// cannot ship.
    pub fn form(&self, locale: Locale) -> Form {
        let spec: FormSpec = toml::from_str(self.source(locale))
            .unwrap_or_else(|e| panic!("form-templates/{}/{}.toml: {e}", self.id, locale.code()));
        Form::try_from(spec)
            .unwrap_or_else(|e| panic!("form-templates/{}/{}.toml: {e}", self.id, locale.code()))
    }

    pub fn summary(&self, locale: Locale) -> TemplateSummary {
        let form = self.form(locale);
        TemplateSummary {
            id: self.id,
            name: form.name().to_owned(),
            description: form.spec().description.clone(),
            channels: form.channels().to_vec(),
            criteria: form.criteria().count(),
        }
    }
}

pub fn find(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::form::{CriterionKind, CriterionSpec, SectionSpec};

    /// A definition with every text taken out: what must be the same in every language.
    fn shape(form: &Form) -> FormSpec {
        let mut spec = form.spec().clone();
        spec.name.clear();
        spec.description.clear();
        for SectionSpec {
            title,
            description,
            criteria,
            ..
        } in &mut spec.sections
        {
            title.clear();
            description.clear();
            for CriterionSpec {
                name,
                definition,
                rationale,
                points,
                examples,
                ..
            } in criteria
            {
                name.clear();
                definition.clear();
                rationale.clear();
                points.iter_mut().for_each(|p| p.label.clear());
                examples.iter_mut().for_each(String::clear);
            }
        }
        spec
    }

    #[test]
    fn every_template_is_sound_and_alike_in_every_language() {
        for template in &TEMPLATES {
            let english = template.form(Locale::En);
            for locale in [Locale::De, Locale::Nl] {
                let other = template.form(locale);
                assert_eq!(shape(&other), shape(&english), "{} {locale:?}", template.id);
                assert_ne!(
                    other.name(),
                    english.name(),
                    "{} is translated",
                    template.id
                );
            }
            for c in english.criteria() {
                assert!(
                    !c.spec.definition.is_empty(),
                    "{} {}",
                    template.id,
                    c.spec.key
                );
                assert!(
                    !c.spec.rationale.is_empty(),
                    "{} {}",
                    template.id,
                    c.spec.key
                );
            }
            let relationship = english
                .criteria()
                .filter(|c| c.spec.kind == CriterionKind::Relationship)
                .count();
            assert_eq!(
                relationship, 1,
                "{} asks the relationship question",
                template.id
            );
        }
    }

    #[test]
    fn quality_monitoring_2_follows_the_four_principles() {
        let form = find("quality-monitoring-2").unwrap().form(Locale::En);
        let principles: Vec<&str> = form.principle_keys().into_iter().collect();
        assert_eq!(
            principles,
            ["accessible", "connecting", "effective", "surprising"]
        );
        let kpis: Vec<&str> = form.kpi_keys().into_iter().collect();
        assert_eq!(kpis, ["commercial", "csat", "fcr"]);
        assert!(form.criteria().any(|c| c.spec.critical));
        assert_eq!(form.channels().len(), 5);
    }
}
