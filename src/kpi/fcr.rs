//! First-contact resolution: a contact is resolved first time when the same customer does not
//! come back about the same matter within N days.

use std::collections::HashMap;

use crate::kpi::ratio;

/// Milliseconds in one day of the FCR window.
const DAY_MS: i64 = 86_400_000;

/// What FCR needs of one contact of one program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FcrContact {
    /// The pseudonymised customer id; empty (or only spaces) when unknown.
    pub customer: String,
    /// When the contact arrived, milliseconds since 1970-01-01 UTC.
    pub arrived_ms: i64,
    /// The contact reason, when recorded; empty or only spaces counts as not recorded.
    pub reason: Option<String>,
}

impl FcrContact {
    /// Whether the contact has a customer id and so counts in FCR.
    fn has_customer(&self) -> bool {
        !self.customer.trim().is_empty()
    }

    /// The recorded reason, trimmed; `None` when missing or blank.
    fn reason(&self) -> Option<&str> {
        self.reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }
}

/// For each contact (same order as the input): `true` when it was resolved first time, that is
/// when the same customer has no later contact at most `window_days` days after it, on the same
/// reason when both contacts have one (when either has none, any later contact is a repeat).
///
/// "Later" orders by arrival time, then by position in the input: of two contacts of one
/// customer at the same millisecond, the one later in the input is the repeat of the earlier.
/// The window is inclusive: a contact exactly `window_days` × 24 h later is a repeat.
/// Contacts without a customer id are `true` and are left out of [`fcr_totals`].
///
/// Runs in O(n log n).
pub fn first_contact_resolution(contacts: &[FcrContact], window_days: u32) -> Vec<bool> {
    let window_ms = i64::from(window_days) * DAY_MS;
    let mut resolved = vec![true; contacts.len()];
    let mut order: Vec<usize> = (0..contacts.len())
        .filter(|&i| contacts[i].has_customer())
        .collect();
    order.sort_by(|&a, &b| {
        let (ca, cb) = (&contacts[a], &contacts[b]);
        (ca.customer.as_str(), ca.arrived_ms, a).cmp(&(cb.customer.as_str(), cb.arrived_ms, b))
    });
    // Earliest arrival, among the contacts after the current one, per reason.
    let mut next_by_reason: HashMap<&str, i64> = HashMap::new();
    for group in order.chunk_by(|&a, &b| contacts[a].customer == contacts[b].customer) {
        next_by_reason.clear();
        // Earliest arrival after the current one, of any contact / of one without a reason.
        let mut next_any: Option<i64> = None;
        let mut next_unreasoned: Option<i64> = None;
        // Walking backwards, every arrival seen so far is ≥ the current one, and the last one
        // stored is the earliest.
        for &i in group.iter().rev() {
            let c = &contacts[i];
            let within = |later: Option<i64>| {
                later.is_some_and(|t| t.saturating_sub(c.arrived_ms) <= window_ms)
            };
            let repeated = match c.reason() {
                None => within(next_any),
                Some(r) => within(next_unreasoned) || within(next_by_reason.get(r).copied()),
            };
            resolved[i] = !repeated;
            next_any = Some(c.arrived_ms);
            match c.reason() {
                None => next_unreasoned = Some(c.arrived_ms),
                Some(r) => {
                    next_by_reason.insert(r, c.arrived_ms);
                }
            }
        }
    }
    resolved
}

/// FCR totals of the contacts that have a customer id (see [`first_contact_resolution`]).
pub fn fcr_totals(contacts: &[FcrContact], window_days: u32) -> FcrTotals {
    let mut totals = FcrTotals::default();
    let flags = first_contact_resolution(contacts, window_days);
    for (c, resolved) in contacts.iter().zip(flags) {
        if c.has_customer() {
            totals.add(resolved);
        }
    }
    totals
}

/// Additive FCR totals.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FcrTotals {
    /// Contacts with a customer id.
    pub contacts: u64,
    /// Of those, contacts resolved first time.
    pub resolved: u64,
}

impl FcrTotals {
    /// Counts one contact in.
    pub fn add(&mut self, resolved: bool) {
        self.contacts += 1;
        self.resolved += u64::from(resolved);
    }

    /// Adds another group's totals.
    pub fn merge(&mut self, other: &FcrTotals) {
        self.contacts += other.contacts;
        self.resolved += other.resolved;
    }

    /// First-contact resolution: resolved / contacts, a fraction 0–1.
    pub fn fcr(&self) -> Option<f64> {
        ratio(self.resolved, self.contacts)
    }

    /// Repeat-contact rate: 1 − FCR, a fraction 0–1.
    pub fn repeat_rate(&self) -> Option<f64> {
        ratio(self.contacts.saturating_sub(self.resolved), self.contacts)
    }
}

#[cfg(test)]
mod tests {
    use crate::kpi::{FcrContact, FcrTotals, assert_close, fcr_totals, first_contact_resolution};
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000;
    /// 2026-01-01 00:00 UTC.
    const T0: i64 = 1_767_225_600_000;

    fn c(customer: &str, at: i64, reason: Option<&str>) -> FcrContact {
        FcrContact {
            customer: customer.to_owned(),
            arrived_ms: at,
            reason: reason.map(str::to_owned),
        }
    }

    /// The fixture of docs/kpis.md, in a shuffled order, with the expected flag.
    fn fixture() -> Vec<(FcrContact, bool)> {
        vec![
            // Customer b, no reasons: day 0, day 7 exactly, day 14 + 1 ms.
            //   b day 0 → b day 7 is exactly 7 days later (inclusive): repeat.
            //   b day 7 → next is 7 days + 1 ms later: resolved.
            (c("b", T0 + 7 * DAY, None), true),
            // Customer a: day 0 billing, day 3 delivery, day 5 billing, day 12 delivery.
            //   a day 0 billing → day 5 billing is 5 days later: repeat.
            //   a day 3 delivery → day 5 is another reason, day 12 is 9 days later: resolved.
            //   a day 5 billing → day 12 is exactly 7 days later but another reason: resolved.
            (c("a", T0 + 12 * DAY, Some("delivery")), true),
            (c("a", T0, Some("billing")), false),
            (c("b", T0 + 14 * DAY + 1, None), true),
            (c("a", T0 + 5 * DAY, Some(" billing ")), true),
            (c("b", T0, None), false),
            (c("a", T0 + 3 * DAY, Some("delivery")), true),
            // Customer c: day 0 billing, day 1 without a reason: any contact counts as repeat.
            (c("c", T0 + DAY, Some("")), true),
            (c("c", T0, Some("billing")), false),
            // Customer d: two contacts at the same millisecond: the later in the input is the
            // repeat of the earlier one, so the earlier one is not resolved.
            (c("d", T0, Some("billing")), false),
            (c("d", T0, Some("billing")), true),
            // No customer id: true, but not counted.
            (c("", T0, None), true),
            (c("  ", T0 + 1, None), true),
        ]
    }

    #[test]
    fn fixture_by_hand() {
        let (contacts, expected): (Vec<_>, Vec<_>) = fixture().into_iter().unzip();
        assert_eq!(first_contact_resolution(&contacts, 7), expected);
        // Counted: a 4, b 3, c 2, d 2 = 11; resolved: a 3, b 2, c 1, d 1 = 7.
        let t = fcr_totals(&contacts, 7);
        assert_eq!(
            t,
            FcrTotals {
                contacts: 11,
                resolved: 7
            }
        );
        assert_close(t.fcr(), 7.0 / 11.0);
        assert_close(t.repeat_rate(), 4.0 / 11.0);
    }

    #[test]
    fn window_edges() {
        let exactly = [c("x", T0, None), c("x", T0 + 7 * DAY, None)];
        assert_eq!(first_contact_resolution(&exactly, 7), [false, true]);
        let past = [c("x", T0, None), c("x", T0 + 7 * DAY + 1, None)];
        assert_eq!(first_contact_resolution(&past, 7), [true, true]);
        // A window of 0 days leaves only same-millisecond repeats.
        let same = [c("x", T0, None), c("x", T0, None), c("x", T0 + 1, None)];
        assert_eq!(first_contact_resolution(&same, 0), [false, true, true]);
        // The order of the input does not matter except between equal times.
        let reversed = [c("x", T0 + 7 * DAY, None), c("x", T0, None)];
        assert_eq!(first_contact_resolution(&reversed, 7), [true, false]);
    }

    #[test]
    fn a_later_contact_on_the_same_reason_is_found_past_other_reasons() {
        // day 0 billing, then 20 contacts on other reasons, then day 6 billing.
        let mut contacts = vec![c("x", T0, Some("billing"))];
        for k in 0..20 {
            contacts.push(c("x", T0 + DAY + k, Some(&format!("other{k}"))));
        }
        contacts.push(c("x", T0 + 6 * DAY, Some("billing")));
        let flags = first_contact_resolution(&contacts, 7);
        assert!(!flags[0]);
        assert!(flags[1..].iter().all(|&f| f));
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let contacts = [
            c("x", i64::MIN, None),
            c("x", i64::MAX, None),
            c("y", i64::MAX, None),
            c("y", i64::MAX, None),
        ];
        assert_eq!(
            first_contact_resolution(&contacts, u32::MAX),
            [true, true, false, true]
        );
    }

    #[test]
    fn empty_input_and_totals() {
        assert!(first_contact_resolution(&[], 7).is_empty());
        let t = fcr_totals(&[], 7);
        assert_eq!(t.fcr(), None);
        assert_eq!(t.repeat_rate(), None);
        let mut a = FcrTotals::default();
        a.add(true);
        a.add(false);
        let mut b = FcrTotals::default();
        b.add(true);
        a.merge(&b);
        assert_eq!(
            a,
            FcrTotals {
                contacts: 3,
                resolved: 2
            }
        );
    }

    /// The rule read literally, in O(n²).
    fn naive(contacts: &[FcrContact], window_days: u32) -> Vec<bool> {
        let window = i64::from(window_days) * DAY;
        let reason = |c: &FcrContact| c.reason.clone().filter(|r| !r.trim().is_empty());
        (0..contacts.len())
            .map(|i| {
                let a = &contacts[i];
                a.customer.trim().is_empty()
                    || !(0..contacts.len()).any(|j| {
                        let b = &contacts[j];
                        let later = (b.arrived_ms, j) > (a.arrived_ms, i);
                        let same_matter = match (reason(a), reason(b)) {
                            (Some(x), Some(y)) => x.trim() == y.trim(),
                            _ => true,
                        };
                        b.customer == a.customer
                            && later
                            && b.arrived_ms - a.arrived_ms <= window
                            && same_matter
                    })
            })
            .collect()
    }

    fn any_contact() -> impl Strategy<Value = FcrContact> {
        (
            prop::sample::select(vec!["", "a", "b", "c"]),
            0i64..20 * DAY,
            prop::option::of(prop::sample::select(vec!["", "billing", "delivery", "x"])),
        )
            .prop_map(|(customer, at, reason)| c(customer, at - at % (DAY / 2), reason))
    }

    proptest! {
        #[test]
        fn agrees_with_the_rule_read_literally(
            contacts in prop::collection::vec(any_contact(), 0..40),
            window_days in 0u32..10,
        ) {
            prop_assert_eq!(
                first_contact_resolution(&contacts, window_days),
                naive(&contacts, window_days)
            );
        }
    }
}
