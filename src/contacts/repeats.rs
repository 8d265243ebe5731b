//! First-contact resolution for a batch of new contacts, settled before they are stored: the
//! stored contacts of the same customers around the batch's times are read once, and
//! [`first_contact_resolution`] (the definition the reports are tested against) runs over them
//! and the batch together.

use std::collections::BTreeSet;

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

/// What a batch settles.
pub struct Settled {
    /// For each new contact, in order: did the customer come back (`None`: no customer).
    pub repeats: Vec<Option<bool>>,
    /// Stored contacts that counted as resolved first time and now have a repeat.
    pub lost: Vec<Neighbour>,
}

/// Settle first-contact resolution for `fresh` (contacts about to be inserted, in order).
pub async fn settle(
    tx: &mut Tx,
    program: ProgramId,
    fresh: &[&Prepared],
    window_days: u32,
) -> Result<Settled, sqlx::Error> {
    let window = i64::from(window_days) * 86_400_000;
    let customers: BTreeSet<&str> = fresh
        .iter()
        .map(|p| p.customer_ref.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    let (Some(first), Some(last)) = (
        fresh.iter().map(|p| p.contact.arrived_ms).min(),
        fresh.iter().map(|p| p.contact.arrived_ms).max(),
    ) else {
        return Ok(Settled {
            repeats: Vec::new(),
            lost: Vec::new(),
        });
    };
    let (from, to) = (first.saturating_sub(window), last.saturating_add(window));
    let mut stored = match tx {
        Tx::Sqlite(t) => super::sqlite_bulk::neighbours(t, program, &customers, from, to).await?,
        Tx::Pg(t) => {
            // Driven by the list, one index lookup per customer. (`= ANY` would filter a range of
            // the program's rows against the whole list; `+ 0` keeps the planner, whose statistics
            // lag while the table grows, off the index on arrival times.)
            const SQL: &str = "SELECT c.id, c.customer_ref, c.arrived_at, c.reason, c.fcr_repeat, c.outcome, c.channel, \
                c.queue, c.agent FROM UNNEST($2::text[]) AS k (customer) JOIN contacts c ON c.program_id = $1 \
                AND c.customer_ref = k.customer AND c.arrived_at + 0 >= $3 AND c.arrived_at + 0 <= $4";
            let list: Vec<&str> = customers.iter().copied().collect();
            sqlx::query_as(SQL)
                .bind(program)
                .bind(list)
                .bind(from)
                .bind(to)
                .fetch_all(&mut **t)
                .await?
        }
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

/// Flag stored contacts as repeats.
pub async fn mark_repeats(tx: &mut Tx, ids: &[i64]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    match tx {
        Tx::Sqlite(t) => super::sqlite_bulk::mark_repeats(t, ids).await,
        Tx::Pg(t) => sqlx::query("UPDATE contacts SET fcr_repeat = TRUE WHERE id = ANY($1)")
            .bind(ids)
            .execute(&mut **t)
            .await
            .map(|_| ()),
    }
}
