//! Realistic demo contacts: Poisson arrivals over daily and weekly patterns, waits from staffing
//! and patience (so some callers abandon), skewed handle times, repeat contacts, survey answers
//! for about 15 %, and chat and e-mail transcripts in the program's language. Deterministic:
//! the same size gives the same data. Rows are produced on demand as CSV, so millions stream
//! through the import without being held in memory.

use std::io::Read;
use std::sync::{Arc, Mutex};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal, Poisson};

/// What a demo program's traffic looks like.
pub struct Profile {
    pub code: &'static str,
    pub lang: &'static str,
    pub queues: &'static [&'static str],
    pub agents: &'static [&'static str],
    pub reasons: &'static [&'static str],
    /// Share of the contacts this program gets.
    pub weight: f64,
}

pub const PROFILES: [Profile; 3] = [
    Profile {
        code: "ACME-DE",
        lang: "de",
        queues: &["Rechnung", "Umzug", "Störung"],
        agents: &[
            "agent@example.com",
            "lena.h",
            "jonas.k",
            "mia.s",
            "felix.w",
            "emma.b",
            "paul.m",
            "hannah.r",
        ],
        reasons: &["Abschlag", "Zählerstand", "Umzug", "Vertrag", "Störung"],
        weight: 0.5,
    },
    Profile {
        code: "BLUE-NL",
        lang: "nl",
        queues: &["Internet", "TV", "Verkoop"],
        agents: &[
            "agent2@example.com",
            "daan.v",
            "sanne.d",
            "lucas.b",
            "julia.m",
            "sem.k",
        ],
        reasons: &["storing", "factuur", "overstap", "installatie"],
        weight: 0.3,
    },
    Profile {
        code: "NORD-UK",
        lang: "en",
        queues: &["Bookings", "Changes"],
        agents: &["oliver.t", "amelia.r", "harry.p", "isla.w"],
        reasons: &["new booking", "change", "refund", "baggage"],
        weight: 0.2,
    },
];

/// Relative arrivals per hour of the day (local time), 0–23.
const HOURLY: [f64; 24] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.9, 1.3, 1.5, 1.4, 1.1, 1.2, 1.4, 1.3, 1.1, 0.9, 0.6,
    0.4, 0.2, 0.0, 0.0, 0.0,
];
/// Relative arrivals per weekday, Monday first.
const WEEKLY: [f64; 7] = [1.3, 1.1, 1.0, 1.0, 0.95, 0.45, 0.15];

fn lines(lang: &str) -> [(&'static str, &'static str); 4] {
    match lang {
        "de" => [
            (
                "customer",
                "Guten Tag, meine Abschlagszahlung ist viel zu hoch.",
            ),
            (
                "agent",
                "Das schaue ich mir gern an. Können Sie mir Ihre Kundennummer nennen?",
            ),
            ("customer", "Ja, einen Moment bitte."),
            (
                "agent",
                "Danke, ich habe den Abschlag angepasst. Sie bekommen eine Bestätigung per E-Mail.",
            ),
        ],
        "nl" => [
            (
                "customer",
                "Hallo, mijn internet valt steeds weg sinds gisteren.",
            ),
            (
                "agent",
                "Vervelend! Ik kijk even mee. Mag ik uw postcode en huisnummer?",
            ),
            ("customer", "Natuurlijk, die stuur ik zo."),
            (
                "agent",
                "Ik zie een storing in uw wijk; die is vanmiddag opgelost. Ik houd u op de hoogte.",
            ),
        ],
        _ => [
            (
                "customer",
                "Hi, I need to change the date of my flight to Oslo.",
            ),
            (
                "agent",
                "Happy to help. Could you give me your booking reference?",
            ),
            (
                "customer",
                "Sure, it's in the confirmation e-mail, one moment.",
            ),
            (
                "agent",
                "Done: you're now on the 14th, same time. The new ticket is on its way.",
            ),
        ],
    }
}

/// A contact that was made, kept for its survey answer and a possible repeat.
struct Made {
    arrived: NaiveDateTime,
    customer: u32,
    reason: usize,
}

/// Generates one program's contacts as CSV in the generic format, and its survey answers.
pub struct Traffic {
    rng: StdRng,
    profile: &'static Profile,
    days: Vec<NaiveDate>,
    /// Arrivals per quarter hour at a factor of 1.
    base: f64,
    day: usize,
    quarter: u32,
    next_id: u64,
    customers: u32,
    buffer: Vec<u8>,
    pos: usize,
    header_done: bool,
    surveys: Arc<Mutex<Vec<String>>>,
    repeats: Vec<Made>,
}

impl Traffic {
    /// About `contacts` contacts over the `days` ending with `last_day`. The survey answers
    /// (CSV in the generic survey format) collect in the returned list as the rows are read.
    pub fn new(
        profile: &'static Profile,
        contacts: u64,
        last_day: NaiveDate,
        days: u32,
        seed: u64,
    ) -> (Self, Arc<Mutex<Vec<String>>>) {
        let surveys = Arc::new(Mutex::new(vec![
            "contact,answered,csat,nps,rq,comment".to_owned(),
        ]));
        let days: Vec<NaiveDate> = (0..days)
            .rev()
            .map(|d| last_day - chrono::Duration::days(i64::from(d)))
            .collect();
        let weight: f64 = days
            .iter()
            .map(|d| WEEKLY[d.weekday().num_days_from_monday() as usize])
            .sum::<f64>()
            * HOURLY.iter().sum::<f64>()
            * 4.0;
        // Repeats add about a tenth on top of first contacts.
        let base = contacts as f64 / 1.1 / weight.max(1e-9);
        let traffic = Self {
            rng: StdRng::seed_from_u64(seed),
            profile,
            days,
            base,
            day: 0,
            quarter: 0,
            next_id: 1,
            customers: ((contacts / 3).max(10)) as u32,
            buffer: Vec::new(),
            pos: 0,
            header_done: false,
            surveys: surveys.clone(),
            repeats: Vec::new(),
        };
        (traffic, surveys)
    }

    /// The CSV rows of the next quarter hour with traffic; `false` when all days are done.
    fn fill(&mut self) -> bool {
        use std::fmt::Write as _;
        if !self.header_done {
            self.header_done = true;
            self.buffer.extend_from_slice(
                b"external_id,channel,queue,agent,customer,reason,arrived,answered,wait_s,talk_s,hold_s,acw_s,first_response_s,outcome,transcript\n",
            );
            return true;
        }
        while self.day < self.days.len() {
            let date = self.days[self.day];
            let q = self.quarter;
            self.quarter += 1;
            if self.quarter == 96 {
                self.quarter = 0;
                self.day += 1;
            }
            let hour = (q / 4) as usize;
            let rate =
                self.base * HOURLY[hour] * WEEKLY[date.weekday().num_days_from_monday() as usize];
            let start = date
                .and_hms_opt(hour as u32, (q % 4) * 15, 0)
                .unwrap_or_default();
            // Repeats due in this quarter hour join the fresh arrivals.
            let (due, later): (Vec<Made>, Vec<Made>) = std::mem::take(&mut self.repeats)
                .into_iter()
                .partition(|m| m.arrived < start + chrono::Duration::minutes(15));
            self.repeats = later;
            let fresh = if rate > 0.0 {
                Poisson::new(rate)
                    .map(|p| p.sample(&mut self.rng) as u64)
                    .unwrap_or(0)
            } else {
                0
            };
            if fresh == 0 && due.is_empty() {
                continue;
            }
            let mut text = String::new();
            // Busier quarter hours wait longer: load relative to the day's peak.
            let load = (rate / (self.base * 1.5 * 1.3)).min(1.2);
            let mut arrivals: Vec<(NaiveDateTime, u32, usize)> = (0..fresh)
                .map(|_| {
                    (
                        start + chrono::Duration::seconds(self.rng.random_range(0..900)),
                        self.rng.random_range(0..self.customers),
                        self.rng.random_range(0..self.profile.reasons.len()),
                    )
                })
                .collect();
            arrivals.extend(due.iter().map(|m| (m.arrived, m.customer, m.reason)));
            for (arrived, customer, reason) in arrivals {
                let _ = write!(text, "{}", self.contact(arrived, customer, reason, load));
            }
            self.buffer.extend_from_slice(text.as_bytes());
            return true;
        }
        false
    }

    fn contact(
        &mut self,
        arrived: NaiveDateTime,
        customer: u32,
        reason: usize,
        load: f64,
    ) -> String {
        let id = self.next_id;
        self.next_id += 1;
        let p = self.profile;
        let roll: f64 = self.rng.random();
        let channel = match roll {
            r if r < 0.70 => "phone",
            r if r < 0.85 => "chat",
            r if r < 0.97 => "email",
            _ => "bot",
        };
        let queue = p.queues[self.rng.random_range(0..p.queues.len())];
        let ext = format!("{}-{id:07}", p.code);
        let arrived_s = arrived.format("%Y-%m-%d %H:%M:%S");
        if channel == "bot" {
            return format!(
                "{ext},bot,{queue},,C{customer},{},{arrived_s},,0,0,0,0,,bot_resolved,\n",
                p.reasons[reason]
            );
        }
        let agent = p.agents[self.rng.random_range(0..p.agents.len())];
        let ln = |median: f64, sigma: f64, rng: &mut StdRng| {
            LogNormal::new(median.ln(), sigma)
                .map(|d| d.sample(rng))
                .unwrap_or(median)
                .round() as u32
        };
        if channel == "email" {
            let first = ln(3.0 * 3600.0, 1.0, &mut self.rng).max(60);
            let answered = arrived + chrono::Duration::seconds(i64::from(first));
            let talk = ln(300.0, 0.5, &mut self.rng);
            self.follow_up(arrived, customer, reason, id);
            return format!(
                "{ext},email,{queue},{agent},C{customer},{},{arrived_s},{},0,{talk},0,0,{first},handled,{}\n",
                p.reasons[reason],
                answered.format("%Y-%m-%d %H:%M:%S"),
                self.transcript(arrived),
            );
        }
        // Phone and chat queue: the wait grows with load; callers leave when it passes their patience.
        let mean_wait = 5.0 + 60.0 * load * load;
        let wait = Exp::new(1.0_f64 / mean_wait)
            .map(|d| d.sample(&mut self.rng))
            .unwrap_or(0.0)
            .round() as u32;
        let patience = Exp::new(1.0_f64 / 120.0)
            .map(|d| d.sample(&mut self.rng))
            .unwrap_or(120.0)
            .round() as u32;
        if wait > patience {
            return format!(
                "{ext},{channel},{queue},,C{customer},{},{arrived_s},,{patience},0,0,0,,abandoned,\n",
                p.reasons[reason]
            );
        }
        let talk = if channel == "chat" {
            ln(420.0, 0.5, &mut self.rng)
        } else {
            ln(240.0, 0.6, &mut self.rng)
        };
        let hold = if self.rng.random_bool(0.3) {
            ln(40.0, 0.7, &mut self.rng)
        } else {
            0
        };
        let acw = ln(30.0, 0.5, &mut self.rng);
        let outcome = if self.rng.random_bool(0.06) {
            "transferred"
        } else {
            "handled"
        };
        let transcript = if channel == "chat" {
            self.transcript(arrived)
        } else {
            String::new()
        };
        self.follow_up(arrived, customer, reason, id);
        format!(
            "{ext},{channel},{queue},{agent},C{customer},{},{arrived_s},,{wait},{talk},{hold},{acw},{},{outcome},{transcript}\n",
            p.reasons[reason],
            if channel == "chat" {
                wait.to_string()
            } else {
                String::new()
            },
        )
    }

    /// A repeat contact for some customers, and a survey answer for about 15 %.
    fn follow_up(&mut self, arrived: NaiveDateTime, customer: u32, reason: usize, id: u64) {
        let resolved = self.rng.random_bool(0.85);
        if !resolved {
            let after = chrono::Duration::minutes(self.rng.random_range(60..6 * 24 * 60));
            let mut again = arrived + after;
            // Customers call back while the center is open.
            if !(8..20).contains(&again.hour()) {
                let next = if again.hour() >= 20 {
                    again.date() + chrono::Duration::days(1)
                } else {
                    again.date()
                };
                again = next
                    .and_hms_opt(9, self.rng.random_range(0..60), 0)
                    .unwrap_or(again);
            }
            self.repeats.push(Made {
                arrived: again,
                customer,
                reason,
            });
        }
        if self.rng.random_bool(0.15) {
            let good = resolved && self.rng.random_bool(0.8);
            let csat = if good {
                self.rng.random_range(4..=5)
            } else {
                self.rng.random_range(1..=3)
            };
            let nps = if good {
                self.rng.random_range(8..=10)
            } else {
                self.rng.random_range(0..=7)
            };
            let kept = if good {
                self.rng.random_bool(0.9)
            } else {
                self.rng.random_bool(0.25)
            };
            let rq = if kept { "yes" } else { "no" };
            let comment = match (good, self.profile.lang) {
                (true, "de") => "Sehr freundlich und schnell geholfen",
                (false, "de") => "Ich musste zu lange warten",
                (true, "nl") => "Prima geholpen, dank je",
                (false, "nl") => "Ik moest opnieuw bellen",
                (true, _) => "Quick and friendly, thank you",
                (false, _) => "I had to call back about the same thing",
            };
            let answered = (arrived + chrono::Duration::hours(2)).format("%Y-%m-%d %H:%M:%S");
            if let Ok(mut s) = self.surveys.lock() {
                s.push(format!(
                    "{}-{id:07},{answered},{csat},{nps},{rq},\"{}\"",
                    self.profile.code,
                    comment.replace('"', "\"\"")
                ));
            }
        }
    }

    fn transcript(&mut self, at: NaiveDateTime) -> String {
        let turns: Vec<serde_json::Value> = lines(self.profile.lang)
            .iter()
            .enumerate()
            .map(|(i, (speaker, text))| {
                let t = at + chrono::Duration::seconds(20 * i as i64);
                serde_json::json!({"speaker": speaker, "at": format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()), "text": text})
            })
            .collect();
        let json = serde_json::Value::Array(turns).to_string();
        format!("\"{}\"", json.replace('"', "\"\""))
    }
}

impl Read for Traffic {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buffer.len() {
            self.buffer.clear();
            self.pos = 0;
            if !self.fill() {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.buffer.len() - self.pos);
        buf[..n].copy_from_slice(&self.buffer[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
