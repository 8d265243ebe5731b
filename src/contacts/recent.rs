//! The recent contacts of a program, held in memory by an import from one batch to the next.
//!
//! First-contact resolution needs, for every new contact, the stored contacts of the same
//! customer within the window around it. Looked up per customer and week that is one index
//! probe each, a fifth of a batch's work. A file in time order moves forward a day or so per
//! batch, so the import instead holds every stored contact of the program that arrived in a
//! span of time, reads only what the next batch's span adds (one range scan on the arrival
//! index), and adds the rows it writes itself.
//!
//! What is held is only right while no one else changes the program's contacts. Every batch
//! counts itself in `programs.contacts_version`, and so does every other change to contacts'
//! first-contact flags ([`count_change`]); when the version moved by more than the import's own
//! batch, what is held is dropped and read again. A batch whose span is too wide to hold (a
//! file out of time order) looks its customers up one by one instead.

use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use super::interner::Interner;
use super::repeats::{Neighbour, Window};
use super::store::Prepared;
use crate::domain::ProgramId;
use crate::on_tx;
use crate::store::Tx;

/// The most contacts held at once (about 60 bytes each, plus the customers' keys).
pub const MAX_HELD: usize = 1_000_000;

/// The most distinct reasons, queues, agents, channels and outcomes remembered before what is
/// held is dropped and started again (reasons can be free text).
const MAX_NAMES: usize = 200_000;

/// One held contact; text fields are numbers in [`Names`].
#[derive(Debug, Clone, Copy)]
struct Held {
    id: i64,
    arrived_at: i64,
    reason: Option<u32>,
    fcr_repeat: Option<bool>,
    outcome: u32,
    channel: u32,
    queue: u32,
    agent: u32,
}

/// The program's contacts with a customer that arrived within a span, by customer.
pub struct RecentContacts {
    /// The most contacts held.
    limit: usize,
    /// Every stored contact of the program with a customer and `from <= arrived_at <= to` is
    /// held; `None` holds nothing.
    span: Option<(i64, i64)>,
    /// The program's `contacts_version` after this import's last batch.
    version: Option<i64>,
    customers: FastMap<Box<str>, Vec<Held>>,
    held: usize,
    names: Interner,
    /// The narrowest span that held too many contacts; spans as wide are looked up one by one.
    too_wide: Option<i64>,
}

/// Count a change to `program`'s contacts (new rows, or changed first-contact flags) in its
/// `contacts_version`; returns the new version. Whatever writes contacts outside an import's
/// batches calls this in the same transaction, so that running imports read them again.
pub async fn count_change(tx: &mut Tx, program: ProgramId) -> Result<i64, sqlx::Error> {
    const SQL: &str = "UPDATE programs SET contacts_version = contacts_version + 1 \
                       WHERE id = $1 RETURNING contacts_version";
    on_tx!(tx, t => sqlx::query_scalar(SQL).bind(program).fetch_one(t).await)
}

impl RecentContacts {
    /// Hold up to `limit` contacts ([`MAX_HELD`] outside tests).
    pub fn holding(limit: usize) -> Self {
        RecentContacts {
            limit,
            span: None,
            version: None,
            customers: FastMap::default(),
            held: 0,
            names: Interner::default(),
            too_wide: None,
        }
    }

    /// Count the batch in the program's version, and drop what is held when someone else
    /// changed the program's contacts since this import's last batch.
    pub async fn begin_batch(
        &mut self,
        tx: &mut Tx,
        program: ProgramId,
    ) -> Result<(), sqlx::Error> {
        let version = count_change(tx, program).await?;
        if self.version != Some(version - 1) {
            self.forget();
        }
        self.version = Some(version);
        Ok(())
    }

    /// Drop everything held (after the batch changed stored contacts in ways not followed here).
    pub fn forget(&mut self) {
        self.span = None;
        self.customers = FastMap::default();
        self.held = 0;
        if self.names.count() > MAX_NAMES {
            self.names = Interner::default();
        }
    }

    /// Hold every stored contact with a customer that arrived within `[from, to]`, reading what
    /// is not held yet and dropping what lies outside. `false` (and nothing held) when that is
    /// more than the limit: the caller then looks the batch's customers up.
    pub async fn cover(
        &mut self,
        tx: &mut Tx,
        program: ProgramId,
        (from, to): (i64, i64),
    ) -> Result<bool, sqlx::Error> {
        let width = to.saturating_sub(from);
        if self.too_wide.is_some_and(|w| width >= w) {
            self.forget();
            return Ok(false);
        }
        if self.names.count() > MAX_NAMES {
            self.forget();
        }
        let missing: Vec<(i64, i64)> = match self.span {
            Some((lo, hi)) if lo <= to && from <= hi => {
                self.keep_within(from, to);
                let mut parts = Vec::new();
                if from < lo {
                    parts.push((from, lo - 1));
                }
                if to > hi {
                    parts.push((hi + 1, to));
                }
                parts
            }
            _ => {
                self.forget();
                vec![(from, to)]
            }
        };
        for (a, b) in missing {
            let room = self.limit.saturating_sub(self.held);
            if !self.read(tx, program, (a, b), room).await? {
                self.forget();
                self.too_wide = Some(self.too_wide.map_or(width, |w| w.min(width)));
                return Ok(false);
            }
        }
        self.span = Some((from, to));
        Ok(true)
    }

    /// Read the stored contacts of `[from, to]` into what is held; `false` when there are more
    /// than `room`.
    async fn read(
        &mut self,
        tx: &mut Tx,
        program: ProgramId,
        span: (i64, i64),
        room: usize,
    ) -> Result<bool, sqlx::Error> {
        let limit = i64::try_from(room).unwrap_or(i64::MAX).saturating_add(1);
        let mut count = 0usize;
        let mut add = |n: Neighbour| {
            count += 1;
            if count <= room {
                self.hold(n);
            }
        };
        match tx {
            Tx::Sqlite(t) => {
                super::sqlite_bulk::contacts_between(t, program, span, limit, &mut add).await?;
            }
            Tx::Pg(t) => {
                use futures_util::TryStreamExt;
                const SQL: &str = "SELECT id, customer_ref, arrived_at, reason, fcr_repeat, outcome, \
                    channel, queue, agent FROM contacts WHERE program_id = $1 AND arrived_at >= $2 \
                    AND arrived_at <= $3 AND customer_ref <> '' LIMIT $4";
                let mut rows = sqlx::query_as::<_, Neighbour>(SQL)
                    .bind(program)
                    .bind(span.0)
                    .bind(span.1)
                    .bind(limit)
                    .fetch(&mut **t);
                while let Some(n) = rows.try_next().await? {
                    add(n);
                }
            }
        }
        Ok(count <= room)
    }

    fn hold(&mut self, n: Neighbour) {
        let held = Held {
            id: n.id,
            arrived_at: n.arrived_at,
            reason: n.reason.as_deref().map(|r| self.names.id(r)),
            fcr_repeat: n.fcr_repeat,
            outcome: self.names.id(&n.outcome),
            channel: self.names.id(&n.channel),
            queue: self.names.id(&n.queue),
            agent: self.names.id(&n.agent),
        };
        self.add_held(&n.customer_ref, held);
    }

    fn add_held(&mut self, customer: &str, held: Held) {
        match self.customers.get_mut(customer) {
            Some(list) => list.push(held),
            None => {
                self.customers.insert(customer.into(), vec![held]);
            }
        }
        self.held += 1;
    }

    /// Drop what arrived outside `[from, to]`.
    fn keep_within(&mut self, from: i64, to: i64) {
        if self.span.is_some_and(|(lo, hi)| from <= lo && hi <= to) {
            return;
        }
        let mut held = 0;
        self.customers.retain(|_, list| {
            list.retain(|h| from <= h.arrived_at && h.arrived_at <= to);
            held += list.len();
            !list.is_empty()
        });
        self.held = held;
    }

    /// The held contacts of each window's customer that arrived within it: what
    /// [`super::repeats::contacts_of`] reads from the database, when [`Self::cover`] covered
    /// every window.
    pub fn neighbours(&self, windows: &[Window<'_>]) -> Vec<Neighbour> {
        let mut out = Vec::new();
        for w in windows {
            let Some(list) = self.customers.get(w.customer) else {
                continue;
            };
            for h in list
                .iter()
                .filter(|h| w.from <= h.arrived_at && h.arrived_at <= w.to)
            {
                out.push(Neighbour {
                    id: h.id,
                    customer_ref: w.customer.to_owned(),
                    arrived_at: h.arrived_at,
                    reason: h.reason.map(|r| self.names.text(r).to_owned()),
                    fcr_repeat: h.fcr_repeat,
                    outcome: self.names.text(h.outcome).to_owned(),
                    channel: self.names.text(h.channel).to_owned(),
                    queue: self.names.text(h.queue).to_owned(),
                    agent: self.names.text(h.agent).to_owned(),
                });
            }
        }
        out
    }

    /// Hold the batch's new rows (`ids` in the order of `fresh`), as stored with `repeats`.
    pub fn add_new(&mut self, fresh: &[&Prepared], ids: &[i64], repeats: &[Option<bool>]) {
        let Some((lo, hi)) = self.span else {
            return;
        };
        for ((p, &id), &repeat) in fresh.iter().zip(ids).zip(repeats) {
            let c = &p.contact;
            if p.customer_ref.is_empty() || c.arrived_ms < lo || c.arrived_ms > hi {
                continue;
            }
            let held = Held {
                id,
                arrived_at: c.arrived_ms,
                reason: c.reason.as_deref().map(|r| self.names.id(r)),
                fcr_repeat: repeat,
                outcome: self.names.id(c.outcome.as_str()),
                channel: self.names.id(c.channel.as_str()),
                queue: self.names.id(&c.queue),
                agent: self.names.id(&c.agent),
            };
            self.add_held(&p.customer_ref, held);
        }
        if self.held > self.limit {
            self.forget();
        }
    }

    /// Follow stored contacts that the batch flagged as repeats.
    pub fn mark_repeats(&mut self, lost: &[Neighbour]) {
        for n in lost {
            if let Some(list) = self.customers.get_mut(n.customer_ref.as_str())
                && let Some(h) = list.iter_mut().find(|h| h.id == n.id)
            {
                h.fcr_repeat = Some(true);
            }
        }
    }
}
