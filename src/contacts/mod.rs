//! Contacts of every channel (phone, e-mail, chat, social, bot): their import from telephony and
//! helpdesk exports, and their storage.

pub mod arrival_order;
pub mod backlog;
pub mod browse;
pub(crate) mod bulk;
pub mod calendar;
pub mod import;
mod interner;
pub mod mapping;
mod recent;
pub mod record;
mod repeats;
pub mod report;
pub mod rollup;
pub mod routes;
mod sqlite_bulk;
pub mod store;
pub mod surveys;
pub mod upload;

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kpi::{Channel, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "inbound" | "in" => Some(Direction::Inbound),
            "outbound" | "out" => Some(Direction::Outbound),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// One turn of a transcript or e-mail thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// `customer`, `agent`, `bot` or a name.
    pub speaker: String,
    /// When it was said or sent, as written in the source.
    #[serde(default)]
    pub at: Option<String>,
    pub text: String,
}

/// A contact as read from a source row, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewContact {
    pub external_id: String,
    pub channel: Channel,
    pub queue: String,
    /// The agent as the source names them (login, code or e-mail); empty when nobody answered.
    pub agent: String,
    /// The customer as the source names them; pseudonymised before it is stored.
    pub customer: String,
    pub reason: Option<String>,
    pub direction: Direction,
    pub arrived_ms: i64,
    pub answered_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub wait_s: u32,
    pub talk_s: u32,
    pub hold_s: u32,
    pub acw_s: u32,
    pub first_response_s: Option<u32>,
    pub outcome: Outcome,
    pub resolved: Option<bool>,
    pub recording_url: Option<String>,
    pub transcript: Option<Vec<Turn>>,
    pub attributes: BTreeMap<String, String>,
}

impl NewContact {
    /// A fingerprint of everything stored for the contact, to tell a changed row from the same
    /// row imported again.
    pub fn fingerprint(&self) -> String {
        // The hash of the contact's JSON text. Serialising a contact cannot fail (its maps
        // have text keys); if it did, the hash would still be stable.
        let mut json = Vec::with_capacity(1_024);
        let _ = serde_json::to_writer(&mut json, self);
        hex::encode(&Sha256::digest(&json)[..16])
    }
}

/// The keyed hash of customer references with the organisation's secret (HMAC-SHA-256), so one
/// customer's contacts link up without Kalibra storing who the customer is.
#[derive(Clone)]
pub struct Pseudonymiser(Hmac<Sha256>);

impl Pseudonymiser {
    pub fn new(key: &[u8]) -> Self {
        Self(<Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length"))
    }

    /// The pseudonym of `customer` (trimmed): the first 16 bytes of its keyed hash, in hex;
    /// empty for no customer.
    pub fn pseudonym(&self, customer: &str) -> String {
        let customer = customer.trim();
        if customer.is_empty() {
            return String::new();
        }
        // Keyed once, not for every contact.
        let mut mac = self.0.clone();
        mac.update(customer.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_hide_the_reference() {
        let pseudonymise = |key: &[u8], customer| Pseudonymiser::new(key).pseudonym(customer);
        let one = Pseudonymiser::new(b"key one");
        let a = one.pseudonym("CUST-1234");
        assert_eq!(a, one.pseudonym(" CUST-1234 "));
        assert_eq!(
            a,
            one.pseudonym("CUST-1234"),
            "the same after other customers"
        );
        assert_ne!(a, pseudonymise(b"key two", "CUST-1234"));
        assert_ne!(a, one.pseudonym("CUST-1235"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("1234"));
        assert_eq!(one.pseudonym(""), "");
        // RFC 4231 test case 2: HMAC-SHA-256 with key "Jefe", first 16 bytes.
        assert_eq!(
            pseudonymise(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7"
        );
    }
}
