//! First-contact resolution for a batch of new contacts, settled before they are stored: the
//! stored contacts of the same customers around the batch's times are read once, and
//! [`first_contact_resolution`] (the definition the reports are tested against) runs over them
//! and the batch together.

use std::collections::BTreeMap;

use super::recent::RecentContacts;
use super::store::Prepared;
use crate::domain::ProgramId;
use crate::kpi::{FcrContact, first_contact_resolution};
use crate::store::Tx;

/// A stored contact of a customer in the batch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Neighbour {
    pub id: i64,
    pub customer_ref: String,
    pub arrived_at: i64,
    pub reason: Option<String>,
    pub fcr_repeat: Option<bool>,
    pub outcome: String,
    pub channel: String,
    pub queue: String,
    pub agent: String,
}

/// The width of the weeks the customer index is kept by (`arrived_at / WEEK_MS` in the index of
/// migration 0009; the same truncating division here and there).
pub const WEEK_MS: i64 = 604_800_000;

/// One customer's contacts wanted between two instants (both included).
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub customer: &'a str,
    pub from: i64,
    pub to: i64,
}

impl Window<'_> {
    /// The weeks to look in, one index probe each.
    pub fn weeks(&self) -> std::ops::RangeInclusive<i64> {
        (self.from / WEEK_MS)..=(self.to / WEEK_MS)
    }
}

/// The stored contacts of each window's customer that arrived within the window.
pub async fn contacts_of(
    tx: &mut Tx,
    program: ProgramId,
    windows: &[Window<'_>],
) -> Result<Vec<Neighbour>, sqlx::Error> {
    match tx {
        Tx::Sqlite(t) => super::sqlite_bulk::neighbours(t, program, windows).await,
        Tx::Pg(t) => {
            // Driven by the list, one index probe per customer and week. (`+ 0` keeps the
            // planner, whose statistics lag while the table grows, off the arrival index.)
            const SQL: &str = "SELECT c.id, c.customer_ref, c.arrived_at, c.reason, c.fcr_repeat, c.outcome, \
                c.channel, c.queue, c.agent FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) \
                AS k (customer, week, lo, hi) JOIN contacts c ON c.program_id = $1 \
                AND (c.arrived_at / 604800000) = k.week AND c.customer_ref = k.customer \
                AND c.arrived_at + 0 >= k.lo AND c.arrived_at + 0 <= k.hi";
            let (mut customers, mut weeks, mut los, mut his) = (vec![], vec![], vec![], vec![]);
            for w in windows {
                for week in w.weeks() {
                    customers.push(w.customer);
                    weeks.push(week);
                    los.push(w.from);
                    his.push(w.to);
                }
            }
            sqlx::query_as(SQL)
                .bind(program)
                .bind(customers)
                .bind(weeks)
                .bind(los)
                .bind(his)
                .fetch_all(&mut **t)
                .await
        }
    }
}

/// What a batch settles.
pub struct Settled {
    /// For each new contact, in order: did the customer come back (`None`: no customer).
    pub repeats: Vec<Option<bool>>,
    /// Stored contacts that counted as resolved first time and now have a repeat.
    pub lost: Vec<Neighbour>,
}

/// Settle first-contact resolution for `fresh` (contacts about to be inserted, in order), with
/// the stored contacts around them taken from `recent` where it can hold them.
pub async fn settle(
    tx: &mut Tx,
    program: ProgramId,
    fresh: &[&Prepared],
    window_days: u32,
    recent: &mut RecentContacts,
) -> Result<Settled, sqlx::Error> {
    let window = i64::from(window_days) * 86_400_000;
    if fresh.is_empty() {
        return Ok(Settled {
            repeats: Vec::new(),
            lost: Vec::new(),
        });
    }
    // Each customer's window: from W before their first new contact to W after their last.
    let mut spans: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for p in fresh.iter().filter(|p| !p.customer_ref.is_empty()) {
        let t = p.contact.arrived_ms;
        let e = spans.entry(p.customer_ref.as_str()).or_insert((t, t));
        *e = (e.0.min(t), e.1.max(t));
    }
    let windows: Vec<Window> = spans
        .into_iter()
        .map(|(customer, (first, last))| Window {
            customer,
            from: first.saturating_sub(window),
            to: last.saturating_add(window),
        })
        .collect();
    let span = windows.iter().fold(None, |span: Option<(i64, i64)>, w| {
        Some(span.map_or((w.from, w.to), |(a, b)| (a.min(w.from), b.max(w.to))))
    });
    let mut stored = match span {
        None => Vec::new(),
        Some(span) if recent.cover(tx, program, span).await? => recent.neighbours(&windows),
        Some(_) => contacts_of(tx, program, &windows).await?,
    };
    // In id order, then the new rows in the order they get their ids: ties in time go by id.
    stored.sort_by_key(|n| n.id);
    let input: Vec<FcrContact> = stored
        .iter()
        .map(|n| FcrContact {
            customer: n.customer_ref.clone(),
            arrived_ms: n.arrived_at,
            reason: n.reason.clone(),
        })
        .chain(fresh.iter().map(|p| FcrContact {
            customer: p.customer_ref.clone(),
            arrived_ms: p.contact.arrived_ms,
            reason: p.contact.reason.clone(),
        }))
        .collect();
    let resolved = first_contact_resolution(&input, window_days);
    let (old, new) = resolved.split_at(stored.len());
    let repeats = fresh
        .iter()
        .zip(new)
        .map(|(p, first_time)| (!p.customer_ref.is_empty()).then_some(!first_time))
        .collect();
    // A new contact can only make an earlier one a repeat. Stored contacts after the batch
    // were read without all their later contacts, so only a repeat found counts.
    let lost = stored
        .into_iter()
        .zip(old)
        .filter(|(n, first_time)| !**first_time && n.fcr_repeat == Some(false))
        .map(|(n, _)| n)
        .collect();
    Ok(Settled { repeats, lost })
}

/// Flag stored contacts as repeats (`repeat`) or as resolved first time.
pub async fn set_repeats(tx: &mut Tx, ids: &[i64], repeat: bool) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    match tx {
        Tx::Sqlite(t) => super::sqlite_bulk::set_repeats(t, ids, repeat).await,
        Tx::Pg(t) => sqlx::query("UPDATE contacts SET fcr_repeat = $1 WHERE id = ANY($2)")
            .bind(repeat)
            .bind(ids)
            .execute(&mut **t)
            .await
            .map(|_| ()),
    }
}
