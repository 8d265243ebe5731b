//! An evaluation form: sections (usually one per customer principle) holding criteria. A form
//! definition as written ([`FormSpec`], the shape of the API, the stored version and the shipped
//! templates) is checked once into a [`Form`], which cannot hold an invalid definition.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::scale::{NOT_APPLICABLE, Scale, ScaleKind, ScalePoint};
use crate::kpi::Channel;

/// What a failed critical criterion does to the evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriticalMode {
    /// The score becomes 0 and the evaluation fails.
    #[default]
    Zero,
    /// The evaluation fails; the computed score is kept.
    Fail,
}

/// A criterion as any other, or the relationship question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    #[default]
    Standard,
    /// "Did this contact keep or strengthen the relationship between customer and
    /// organisation?" Its answers give the evaluated RQ. Yes / no only; one per form.
    Relationship,
}

pub const DEFAULT_PASS_MARK: u8 = 80;

fn default_pass_mark() -> u8 {
    DEFAULT_PASS_MARK
}

fn default_weight() -> u8 {
    1
}

/// A form definition as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The channels the form is for: `phone`, `email`, `chat`, `social`, `bot`.
    #[schema(value_type = Vec<String>)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub critical_mode: CriticalMode,
    /// The score (0–100) an evaluation needs to pass, besides no critical failure.
    #[serde(default = "default_pass_mark")]
    pub pass_mark: u8,
    pub sections: Vec<SectionSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    /// Lower-case letters, digits and `-`; unique in the form.
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The key of the customer principle the section serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principle: Option<String>,
    pub criteria: Vec<CriterionSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionSpec {
    /// Lower-case letters, digits and `-`; unique in the form and kept across its versions, so
    /// reports compare a criterion that carried over.
    pub key: String,
    pub name: String,
    /// What good looks like, as behaviour.
    #[serde(default)]
    pub definition: String,
    /// Why the criterion is on the form; agents read it.
    #[serde(default)]
    pub rationale: String,
    pub scale: ScaleKind,
    /// The labelled points of a `custom` scale, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<ScalePoint>,
    #[serde(default)]
    pub na_allowed: bool,
    /// 0 to 100; 0 records the answer without counting it in the score.
    #[serde(default = "default_weight")]
    pub weight: u8,
    #[serde(default)]
    pub critical: bool,
    /// The key of the KPI the criterion serves (`csat`, `fcr`, `commercial` or the organisation's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi: Option<String>,
    /// The channels it applies to; empty means every channel of the form.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub kind: CriterionKind,
    #[serde(default)]
    pub examples: Vec<String>,
}

/// Where a definition is wrong (`sections[1].criteria[0].weight`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FormError {
    pub path: String,
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> FormError {
    FormError {
        path: path.into(),
        message: message.into(),
    }
}

/// A checked form definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    spec: FormSpec,
    /// The scale of each criterion, in the order of [`Form::criteria`].
    scales: Vec<Scale>,
}

/// One criterion of a checked form, with its section.
#[derive(Debug, Clone, Copy)]
pub struct CriterionRef<'a> {
    pub section: &'a SectionSpec,
    pub spec: &'a CriterionSpec,
    pub scale: &'a Scale,
}

impl CriterionRef<'_> {
    /// Whether the criterion is asked of contacts on this channel.
    pub fn applies_to(&self, channel: Channel) -> bool {
        self.spec.channels.is_empty() || self.spec.channels.contains(&channel)
    }
}

const MAX_TEXT: usize = 4000;

/// Whether `key` is a key: 1 to 64 lower-case letters, digits and `-`. Sections, criteria,
/// principles and KPIs are named by keys.
pub fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn check_key(path: &str, key: &str) -> Result<(), FormError> {
    if is_key(key) {
        Ok(())
    } else {
        Err(err(
            format!("{path}.key"),
            format!("{key:?} is not a key: use 1 to 64 lower-case letters, digits and '-'"),
        ))
    }
}

fn check_name(path: String, value: &str) -> Result<(), FormError> {
    if value.trim().is_empty() {
        return Err(err(path, "must not be empty"));
    }
    if value.chars().count() > 200 {
        return Err(err(path, "is longer than 200 characters"));
    }
    Ok(())
}

fn check_text(path: String, value: &str) -> Result<(), FormError> {
    if value.chars().count() > MAX_TEXT {
        return Err(err(path, format!("is longer than {MAX_TEXT} characters")));
    }
    Ok(())
}

fn check_channels(path: String, channels: &[Channel]) -> Result<(), FormError> {
    let distinct: BTreeSet<&str> = channels.iter().map(|c| c.as_str()).collect();
    if distinct.len() != channels.len() {
        return Err(err(path, "names a channel twice"));
    }
    Ok(())
}

fn scale_of(path: &str, c: &CriterionSpec) -> Result<Scale, FormError> {
    if c.scale != ScaleKind::Custom && !c.points.is_empty() {
        return Err(err(
            format!("{path}.points"),
            "only a custom scale has points",
        ));
    }
    Ok(match c.scale {
        ScaleKind::YesNo => Scale::YesNo,
        ScaleKind::OneToFive => Scale::Range { min: 1, max: 5 },
        ScaleKind::ZeroToTen => Scale::Range { min: 0, max: 10 },
        ScaleKind::Custom => {
            let path = format!("{path}.points");
            if !(2..=11).contains(&c.points.len()) {
                return Err(err(path, "a custom scale needs 2 to 11 points"));
            }
            let mut labels = BTreeSet::new();
            let mut percents = BTreeSet::new();
            for (i, p) in c.points.iter().enumerate() {
                let here = format!("{path}[{i}]");
                check_name(format!("{here}.label"), &p.label)?;
                if p.label.trim() != p.label {
                    return Err(err(
                        format!("{here}.label"),
                        "must not start or end with a space",
                    ));
                }
                if p.label.eq_ignore_ascii_case(NOT_APPLICABLE) {
                    return Err(err(
                        format!("{here}.label"),
                        "\"n/a\" is the answer for not applicable; allow it with na_allowed",
                    ));
                }
                if p.percent > 100 {
                    return Err(err(format!("{here}.percent"), "must be 0 to 100"));
                }
                if !labels.insert(p.label.as_str()) {
                    return Err(err(format!("{here}.label"), "appears twice"));
                }
                if !percents.insert(p.percent) {
                    return Err(err(
                        format!("{here}.percent"),
                        "two points are worth the same",
                    ));
                }
            }
            Scale::Custom(c.points.clone())
        }
    })
}

impl TryFrom<FormSpec> for Form {
    type Error = FormError;

    fn try_from(spec: FormSpec) -> Result<Self, FormError> {
        check_name("name".into(), &spec.name)?;
        check_text("description".into(), &spec.description)?;
        if spec.channels.is_empty() {
            return Err(err("channels", "name at least one channel"));
        }
        check_channels("channels".into(), &spec.channels)?;
        if spec.pass_mark > 100 {
            return Err(err("pass_mark", "must be 0 to 100"));
        }
        if spec.sections.is_empty() {
            return Err(err("sections", "a form needs at least one section"));
        }
        let mut section_keys = BTreeSet::new();
        let mut criterion_keys = BTreeSet::new();
        let mut scales = Vec::new();
        let mut relationship = false;
        let mut weight = 0u32;
        for (s, section) in spec.sections.iter().enumerate() {
            let path = format!("sections[{s}]");
            check_key(&path, &section.key)?;
            if !section_keys.insert(section.key.as_str()) {
                return Err(err(format!("{path}.key"), "another section has this key"));
            }
            check_name(format!("{path}.title"), &section.title)?;
            check_text(format!("{path}.description"), &section.description)?;
            if let Some(p) = &section.principle {
                check_key(&format!("{path}.principle"), p)?;
            }
            if section.criteria.is_empty() {
                return Err(err(
                    format!("{path}.criteria"),
                    "a section needs at least one criterion",
                ));
            }
            for (c, criterion) in section.criteria.iter().enumerate() {
                let path = format!("{path}.criteria[{c}]");
                check_key(&path, &criterion.key)?;
                if !criterion_keys.insert(criterion.key.as_str()) {
                    return Err(err(format!("{path}.key"), "another criterion has this key"));
                }
                check_name(format!("{path}.name"), &criterion.name)?;
                check_text(format!("{path}.definition"), &criterion.definition)?;
                check_text(format!("{path}.rationale"), &criterion.rationale)?;
                let scale = scale_of(&path, criterion)?;
                if criterion.weight > 100 {
                    return Err(err(format!("{path}.weight"), "must be 0 to 100"));
                }
                if criterion.critical && !scale.has_zero() {
                    return Err(err(
                        format!("{path}.critical"),
                        "a critical criterion fails on an answer worth 0 %; give the scale such a point",
                    ));
                }
                if let Some(k) = &criterion.kpi {
                    check_key(&format!("{path}.kpi"), k)?;
                }
                check_channels(format!("{path}.channels"), &criterion.channels)?;
                if let Some(c) = criterion
                    .channels
                    .iter()
                    .find(|c| !spec.channels.contains(c))
                {
                    return Err(err(
                        format!("{path}.channels"),
                        format!("{} is not one of the form's channels", c.as_str()),
                    ));
                }
                if criterion.kind == CriterionKind::Relationship {
                    if scale != Scale::YesNo {
                        return Err(err(
                            format!("{path}.scale"),
                            "the relationship question is answered yes or no",
                        ));
                    }
                    if relationship {
                        return Err(err(
                            format!("{path}.kind"),
                            "a form asks the relationship question once",
                        ));
                    }
                    relationship = true;
                }
                if criterion.examples.len() > 10 {
                    return Err(err(format!("{path}.examples"), "at most 10 examples"));
                }
                for (e, example) in criterion.examples.iter().enumerate() {
                    check_text(format!("{path}.examples[{e}]"), example)?;
                }
                weight += u32::from(criterion.weight);
                scales.push(scale);
            }
        }
        if weight == 0 {
            return Err(err(
                "sections",
                "every criterion has weight 0: give at least one a weight",
            ));
        }
        Ok(Form { spec, scales })
    }
}

impl From<Form> for FormSpec {
    fn from(form: Form) -> Self {
        form.spec
    }
}

impl Form {
    pub fn spec(&self) -> &FormSpec {
        &self.spec
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn critical_mode(&self) -> CriticalMode {
        self.spec.critical_mode
    }

    pub fn pass_mark(&self) -> u8 {
        self.spec.pass_mark
    }

    pub fn channels(&self) -> &[Channel] {
        &self.spec.channels
    }

    /// Every criterion, section by section, in form order.
    pub fn criteria(&self) -> impl Iterator<Item = CriterionRef<'_>> {
        self.spec
            .sections
            .iter()
            .flat_map(|s| s.criteria.iter().map(move |c| (s, c)))
            .zip(&self.scales)
            .map(|((section, spec), scale)| CriterionRef {
                section,
                spec,
                scale,
            })
    }

    pub fn criterion(&self, key: &str) -> Option<CriterionRef<'_>> {
        self.criteria().find(|c| c.spec.key == key)
    }

    /// The principle and KPI keys the form names, to check they exist.
    pub fn principle_keys(&self) -> BTreeSet<&str> {
        self.spec
            .sections
            .iter()
            .filter_map(|s| s.principle.as_deref())
            .collect()
    }

    pub fn kpi_keys(&self) -> BTreeSet<&str> {
        self.criteria()
            .filter_map(|c| c.spec.kpi.as_deref())
            .collect()
    }

    /// Reads a stored definition as JSON, checking it again.
    pub fn from_json(json: &str) -> Result<Form, FormError> {
        let spec: FormSpec =
            serde_json::from_str(json).map_err(|e| err("definition", e.to_string()))?;
        Form::try_from(spec)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.spec).expect("a form definition serialises")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The form of docs/scoring.md's worked examples: a yes/no, a 1–5 and a critical custom
    /// criterion, and the relationship question on phone contacts only.
    pub(crate) fn sample_spec() -> FormSpec {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/scoring-example-form.json"
        ))
        .unwrap()
    }

    fn refused(change: impl FnOnce(&mut FormSpec)) -> FormError {
        let mut spec = sample_spec();
        change(&mut spec);
        Form::try_from(spec).unwrap_err()
    }

    #[test]
    fn a_sound_definition_is_accepted_and_round_trips() {
        let form = Form::try_from(sample_spec()).unwrap();
        assert_eq!(form.criteria().count(), 4);
        assert_eq!(form.pass_mark(), DEFAULT_PASS_MARK);
        assert_eq!(form.critical_mode(), CriticalMode::Zero);
        let again = Form::from_json(&form.to_json()).unwrap();
        assert_eq!(again, form);
        let rel = form.criterion("relationship").unwrap();
        assert!(rel.applies_to(Channel::Phone));
        assert!(!rel.applies_to(Channel::Email));
        assert_eq!(form.kpi_keys().into_iter().collect::<Vec<_>>(), ["fcr"]);
    }

    #[test]
    fn a_wrong_definition_names_the_place() {
        let e = refused(|s| s.sections[1].criteria[0].key = "greeting".into());
        assert_eq!(e.path, "sections[1].criteria[0].key");
        let e = refused(|s| s.sections[0].criteria[1].key = "Listening".into());
        assert_eq!(e.path, "sections[0].criteria[1].key");
        let e = refused(|s| s.sections[0].criteria[0].weight = 101);
        assert_eq!(e.path, "sections[0].criteria[0].weight");
        let e = refused(|s| s.sections[1].criteria[0].points[2].percent = 50);
        assert_eq!(e.path, "sections[1].criteria[0].points[2].percent");
        let e = refused(|s| s.sections[1].criteria[0].points[2].percent = 10);
        assert_eq!(e.path, "sections[1].criteria[0].critical");
        let e = refused(|s| s.sections[1].criteria[1].scale = ScaleKind::OneToFive);
        assert_eq!(e.path, "sections[1].criteria[1].scale");
        let e = refused(|s| s.sections[1].criteria[1].channels = vec![Channel::Chat]);
        assert_eq!(e.path, "sections[1].criteria[1].channels");
        assert!(e.message.contains("chat"), "{e}");
        let e = refused(|s| s.sections[0].criteria.clear());
        assert_eq!(e.path, "sections[0].criteria");
        let e = refused(|s| {
            s.sections[0].criteria[0].points = sample_spec().sections[1].criteria[0].points.clone()
        });
        assert_eq!(e.path, "sections[0].criteria[0].points");
        let e = refused(|s| s.name = "  ".into());
        assert_eq!(e.path, "name");
        let e = refused(|s| s.channels.clear());
        assert_eq!(e.path, "channels");
        let e = refused(|s| s.pass_mark = 120);
        assert_eq!(e.path, "pass_mark");
        let e = refused(|s| {
            for section in &mut s.sections {
                for c in &mut section.criteria {
                    c.weight = 0;
                }
            }
        });
        assert_eq!(e.path, "sections");
        let e = refused(|s| {
            let mut second = s.sections[1].criteria[1].clone();
            second.key = "relationship-2".into();
            s.sections[1].criteria.push(second);
        });
        assert_eq!(e.path, "sections[1].criteria[2].kind");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<FormSpec, _> = serde_json::from_value(serde_json::json!({
            "name": "x", "channels": ["phone"], "sections": [], "colour": "red"
        }));
        assert!(r.unwrap_err().to_string().contains("colour"));
    }
}
