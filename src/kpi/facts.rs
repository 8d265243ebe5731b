//! The vocabularies (channel, outcome) and the facts of one contact that the service KPIs read.

use crate::kpi::KpiValueError;

/// The channel a contact came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call.
    Phone,
    /// An e-mail (or web form that arrives as a ticket).
    Email,
    /// A live chat with an agent (or with a bot first).
    Chat,
    /// A message on a social network or messenger.
    Social,
    /// A conversation with a bot only.
    Bot,
}

impl Channel {
    /// Every channel, in display order.
    pub const ALL: [Channel; 5] = [
        Channel::Phone,
        Channel::Email,
        Channel::Chat,
        Channel::Social,
        Channel::Bot,
    ];

    /// The stored and serialised name: `phone`, `email`, `chat`, `social` or `bot`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Social => "social",
            Channel::Bot => "bot",
        }
    }

    /// Reads a name written by [`Channel::as_str`] (surrounding spaces and letter case ignored).
    pub fn parse(s: &str) -> Result<Self, KpiValueError> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| KpiValueError::UnknownChannel(s.to_owned()))
    }

    /// Whether the channel's response time is measured as a first response (e-mail, social,
    /// chat) and so counts in the first-response figures.
    pub fn has_first_response(self) -> bool {
        matches!(self, Channel::Email | Channel::Social | Channel::Chat)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Channel {
    type Err = KpiValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// How a contact ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An agent answered and handled it.
    Handled,
    /// The customer hung up or left before an agent answered.
    Abandoned,
    /// An agent answered it and passed it on to another queue or agent.
    Transferred,
    /// A bot resolved it; no agent took it.
    BotResolved,
}

impl Outcome {
    /// Every outcome, in display order.
    pub const ALL: [Outcome; 4] = [
        Outcome::Handled,
        Outcome::Abandoned,
        Outcome::Transferred,
        Outcome::BotResolved,
    ];

    /// The stored and serialised name: `handled`, `abandoned`, `transferred` or `bot_resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Abandoned => "abandoned",
            Outcome::Transferred => "transferred",
            Outcome::BotResolved => "bot_resolved",
        }
    }

    /// Reads a name written by [`Outcome::as_str`] (surrounding spaces and letter case ignored).
    pub fn parse(s: &str) -> Result<Self, KpiValueError> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| KpiValueError::UnknownOutcome(s.to_owned()))
    }

    /// Whether an agent took the contact: handled or transferred.
    pub fn is_answered(self) -> bool {
        matches!(self, Outcome::Handled | Outcome::Transferred)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Outcome {
    type Err = KpiValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// What the service KPIs need of one contact. Times are whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactFacts {
    /// The channel it came in on.
    pub channel: Channel,
    /// How it ended.
    pub outcome: Outcome,
    /// Time in queue before an agent answered or the customer abandoned (phone, chat).
    pub wait_s: u32,
    /// E-mail, social, chat: time from arrival to the first agent response, if there was one.
    pub first_response_s: Option<u32>,
    /// Talk (or conversation) time of the agent.
    pub talk_s: u32,
    /// Time the customer was on hold.
    pub hold_s: u32,
    /// After-contact work (wrap-up) time of the agent.
    pub acw_s: u32,
}

#[cfg(test)]
mod tests {
    use crate::kpi::{Channel, ContactFacts, KpiValueError, Outcome};

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Ok(c));
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Ok(o));
        }
        assert_eq!(Channel::parse(" Email "), Ok(Channel::Email));
        assert_eq!(Outcome::parse("BOT_RESOLVED"), Ok(Outcome::BotResolved));
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert_eq!(
            Channel::parse("fax"),
            Err(KpiValueError::UnknownChannel("fax".into()))
        );
        assert_eq!(
            Outcome::parse("bot-resolved"),
            Err(KpiValueError::UnknownOutcome("bot-resolved".into()))
        );
        assert!(Channel::parse("").is_err());
    }

    #[test]
    fn serde_uses_snake_case_names() {
        let facts = ContactFacts {
            channel: Channel::Social,
            outcome: Outcome::BotResolved,
            wait_s: 1,
            first_response_s: None,
            talk_s: 2,
            hold_s: 3,
            acw_s: 4,
        };
        let json = serde_json::to_string(&facts).unwrap();
        assert_eq!(
            json,
            r#"{"channel":"social","outcome":"bot_resolved","wait_s":1,"first_response_s":null,"talk_s":2,"hold_s":3,"acw_s":4}"#
        );
        assert_eq!(serde_json::from_str::<ContactFacts>(&json).unwrap(), facts);
        for c in Channel::ALL {
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        for o in Outcome::ALL {
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
    }

    #[test]
    fn answered_means_an_agent_took_it() {
        assert!(Outcome::Handled.is_answered());
        assert!(Outcome::Transferred.is_answered());
        assert!(!Outcome::Abandoned.is_answered());
        assert!(!Outcome::BotResolved.is_answered());
    }
}
