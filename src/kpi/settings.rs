//! A program's KPI settings: the service-level threshold and formula, the short-abandon limit,
//! the first-response SLA and the FCR window, each kept within the range that makes sense.

use crate::kpi::{ServiceConfig, SlVariant};

/// The KPI settings of one program (see docs/kpis.md, "Settings and defaults").
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct KpiSettings {
    #[serde(flatten)]
    pub service: ServiceConfig,
    /// A contact is resolved first time when the customer does not come back within this many
    /// days.
    pub fcr_days: u32,
}

impl Default for KpiSettings {
    /// T = 20 s, S = 5 s, target 80 %, over offered, response SLA 24 h, FCR window 7 days.
    fn default() -> Self {
        Self {
            service: ServiceConfig::default(),
            fcr_days: 7,
        }
    }
}

/// The allowed range of each whole-number setting: its name in data, lowest, highest.
pub const RANGES: [(&str, u32, u32); 4] = [
    ("answer_within_s", 1, 3_600),
    ("short_abandon_s", 0, 600),
    ("response_sla_s", 60, 2_592_000),
    ("fcr_days", 1, 90),
];

/// A change to the settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiSettingsPatch {
    /// T, seconds (1–3,600).
    pub answer_within_s: Option<u32>,
    /// S, seconds (0–600).
    pub short_abandon_s: Option<u32>,
    /// The service-level target, a fraction 0–1.
    pub sl_target: Option<f64>,
    /// `over_offered`, `over_answered` or `ignore_early_abandons`.
    pub sl_variant: Option<String>,
    /// First-response SLA for e-mail, social and chat, seconds (60 s – 30 days).
    pub response_sla_s: Option<u32>,
    /// FCR window, days (1–90).
    pub fcr_days: Option<u32>,
}

/// A setting outside its range: which one, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingError {
    pub field: &'static str,
    pub message: String,
}

impl KpiSettings {
    /// Settings from stored or submitted values, checked against [`RANGES`].
    pub fn new(
        answer_within_s: u32,
        short_abandon_s: u32,
        sl_target: f64,
        sl_variant: SlVariant,
        response_sla_s: u32,
        fcr_days: u32,
    ) -> Result<Self, SettingError> {
        let values = [answer_within_s, short_abandon_s, response_sla_s, fcr_days];
        for ((field, low, high), value) in RANGES.into_iter().zip(values) {
            if !(low..=high).contains(&value) {
                return Err(SettingError {
                    field,
                    message: format!("{field} must be between {low} and {high}, not {value}"),
                });
            }
        }
        if !(0.0..=1.0).contains(&sl_target) {
            return Err(SettingError {
                field: "sl_target",
                message: format!("sl_target is a fraction between 0 and 1, not {sl_target}"),
            });
        }
        Ok(Self {
            service: ServiceConfig {
                answer_within_s,
                short_abandon_s,
                target: sl_target,
                variant: sl_variant,
                response_sla_s,
            },
            fcr_days,
        })
    }

    /// These settings with a patch applied.
    pub fn patched(&self, p: &KpiSettingsPatch) -> Result<Self, SettingError> {
        let s = &self.service;
        let variant = match &p.sl_variant {
            Some(v) => SlVariant::parse(v).map_err(|e| SettingError {
                field: "sl_variant",
                message: e.to_string(),
            })?,
            None => s.variant,
        };
        Self::new(
            p.answer_within_s.unwrap_or(s.answer_within_s),
            p.short_abandon_s.unwrap_or(s.short_abandon_s),
            p.sl_target.unwrap_or(s.target),
            variant,
            p.response_sla_s.unwrap_or(s.response_sla_s),
            p.fcr_days.unwrap_or(self.fcr_days),
        )
    }

    /// Whether going from `self` to `other` changes what is counted per contact (and so the
    /// stored rollups), rather than only how stored counts are read.
    pub fn changes_counts(&self, other: &KpiSettings) -> bool {
        let (a, b) = (&self.service, &other.service);
        a.answer_within_s != b.answer_within_s
            || a.short_abandon_s != b.short_abandon_s
            || a.response_sla_s != b.response_sla_s
            || self.fcr_days != other.fcr_days
    }

    /// The changed settings, as `name: old → new`, for the audit log.
    pub fn describe_changes(&self, other: &KpiSettings) -> Vec<String> {
        let (a, b) = (&self.service, &other.service);
        let pairs = [
            (
                "answer_within_s",
                a.answer_within_s.to_string(),
                b.answer_within_s.to_string(),
            ),
            (
                "short_abandon_s",
                a.short_abandon_s.to_string(),
                b.short_abandon_s.to_string(),
            ),
            ("sl_target", a.target.to_string(), b.target.to_string()),
            (
                "sl_variant",
                a.variant.as_str().into(),
                b.variant.as_str().into(),
            ),
            (
                "response_sla_s",
                a.response_sla_s.to_string(),
                b.response_sla_s.to_string(),
            ),
            (
                "fcr_days",
                self.fcr_days.to_string(),
                other.fcr_days.to_string(),
            ),
        ];
        pairs
            .into_iter()
            .filter(|(_, old, new)| old != new)
            .map(|(name, old, new)| format!("{name}: {old} → {new}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let d = KpiSettings::default();
        assert_eq!(
            d,
            KpiSettings::new(20, 5, 0.8, SlVariant::OverOffered, 86_400, 7).unwrap()
        );
    }

    #[test]
    fn every_bound_is_inclusive_and_checked() {
        let ok = |t, s, sla, days| KpiSettings::new(t, s, 0.5, SlVariant::OverAnswered, sla, days);
        assert!(ok(1, 0, 60, 1).is_ok());
        assert!(ok(3_600, 600, 2_592_000, 90).is_ok());
        assert_eq!(ok(0, 5, 3_600, 7).unwrap_err().field, "answer_within_s");
        assert_eq!(ok(20, 601, 3_600, 7).unwrap_err().field, "short_abandon_s");
        assert_eq!(ok(20, 5, 59, 7).unwrap_err().field, "response_sla_s");
        let e = ok(20, 5, 3_600, 91).unwrap_err();
        assert_eq!(e.field, "fcr_days");
        assert_eq!(e.message, "fcr_days must be between 1 and 90, not 91");
        for bad in [-0.01, 1.01, f64::NAN] {
            let e = KpiSettings::new(20, 5, bad, SlVariant::OverOffered, 60, 7).unwrap_err();
            assert_eq!(e.field, "sl_target");
        }
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let d = KpiSettings::default();
        let p = KpiSettingsPatch {
            answer_within_s: Some(30),
            sl_variant: Some(" Over_Answered ".into()),
            ..Default::default()
        };
        let n = d.patched(&p).unwrap();
        assert_eq!(n.service.answer_within_s, 30);
        assert_eq!(n.service.variant, SlVariant::OverAnswered);
        assert_eq!(n.service.short_abandon_s, 5);
        assert_eq!(n.fcr_days, 7);
        assert!(d.changes_counts(&n));
        assert_eq!(
            d.describe_changes(&n),
            [
                "answer_within_s: 20 → 30",
                "sl_variant: over_offered → over_answered"
            ]
        );
        let read_only = d
            .patched(&KpiSettingsPatch {
                sl_target: Some(0.9),
                ..Default::default()
            })
            .unwrap();
        assert!(!d.changes_counts(&read_only));
        let bad = KpiSettingsPatch {
            sl_variant: Some("over_everything".into()),
            ..Default::default()
        };
        assert_eq!(d.patched(&bad).unwrap_err().field, "sl_variant");
    }
}
