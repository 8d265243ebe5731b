//! Service and customer KPIs of a program over a period, grouped by time bucket, queue, channel
//! or agent. Computed here from the stored contacts.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

use super::backlog;
use super::calendar::{date_of, day_number, month_of, next_month, week_of};
use super::interner::Interner;
use super::mapping::local_to_utc;
use super::rollup::{self, Grain, Side, Totals};
use super::store::{self, FactRow};
use crate::kpi::{
    Bucket, ContactFacts, Csat, FcrContact, Nps, bucket_label, first_contact_resolution,
};
use crate::programs::Program;
use crate::store::Db;

/// What the figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Time(Bucket),
    Queue,
    Channel,
    Agent,
}

impl Dimension {
    /// One dimension, or two separated by a comma (`day,queue`): the groups of the second
    /// within each group of the first.
    pub fn parse_pair(s: &str) -> Result<(Self, Option<Self>), String> {
        let parts: Vec<&str> = s.split(',').collect();
        match parts.as_slice() {
            [one] => Ok((Self::parse(one)?, None)),
            [a, b] => {
                let (a, b) = (Self::parse(a)?, Self::parse(b)?);
                let time = |d: Dimension| matches!(d, Dimension::Time(_));
                if a == b || (time(a) && time(b)) {
                    return Err(format!(
                        "--by {s}: two different dimensions, at most one of them a time"
                    ));
                }
                Ok((a, Some(b)))
            }
            _ => Err(format!("--by {s}: at most two dimensions, e.g. day,queue")),
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "interval" | "15min" | "15" => Dimension::Time(Bucket::Min15),
            "30min" | "30" => Dimension::Time(Bucket::Min30),
            "60min" | "60" | "hour" => Dimension::Time(Bucket::Min60),
            "day" => Dimension::Time(Bucket::Day),
            "week" => Dimension::Time(Bucket::Week),
            "month" => Dimension::Time(Bucket::Month),
            "queue" => Dimension::Queue,
            "channel" => Dimension::Channel,
            "agent" => Dimension::Agent,
            other => {
                return Err(format!(
                    "--by {other}: use interval (or 15min, 30min, 60min), day, week, month, queue, channel or agent"
                ));
            }
        })
    }
}

/// Which contacts a report covers and how it groups them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiQuery {
    /// First and last local day, both included.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: Dimension,
    /// A second grouping within the first, when given.
    pub then: Option<Dimension>,
    /// Only this channel, queue or agent, when given.
    pub channel: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// Only these agents (an agent's or team lead's own scope, and the team filter), when given.
    pub agents: Option<std::collections::BTreeSet<String>>,
    /// The team filter `agents` includes, for links that keep it.
    pub team: Option<crate::domain::TeamId>,
}

impl KpiQuery {
    pub fn new(from: NaiveDate, to: NaiveDate, by: Dimension) -> Self {
        Self {
            from,
            to,
            by,
            then: None,
            channel: None,
            queue: None,
            agent: None,
            agents: None,
            team: None,
        }
    }

    /// The dimensions grouped by, in order.
    pub fn dims(&self) -> Vec<Dimension> {
        std::iter::once(self.by).chain(self.then).collect()
    }

    fn admits(&self, channel: &str, queue: &str, agent: &str) -> bool {
        let ok = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        ok(&self.channel, channel)
            && ok(&self.queue, queue)
            && ok(&self.agent, agent)
            && self.agents.as_ref().is_none_or(|a| a.contains(agent))
    }
}

pub use crate::kpi::KpiSettings;

/// One line of figures. Rates are fractions 0–1; NPS −1..1; `None` when there is nothing to divide by.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KpiLine {
    /// The group's label (in the first dimension).
    pub group: String,
    /// Its label in the second dimension, when grouped by two.
    pub subgroup: Option<String>,
    pub offered: u64,
    pub handled: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub service_level: Option<f64>,
    pub asa_s: Option<f64>,
    pub aht_s: Option<f64>,
    pub abandon_rate: Option<f64>,
    /// Longest wait of an answered or abandoned contact, seconds.
    pub longest_wait_s: Option<u32>,
    pub transfers: u64,
    /// E-mail, social, chat: mean time to the first response, and the share within the SLA.
    pub first_response_s: Option<f64>,
    pub response_sla: Option<f64>,
    pub fcr: Option<f64>,
    /// E-mail and social contacts still without a first response at the end of the group's
    /// period (or of the report); `None` per agent, within a day, and for other channels.
    pub backlog: Option<u64>,
    /// Survey answers about the group's contacts.
    pub surveys: u64,
    /// Survey answers / answered contacts.
    pub response_rate: Option<f64>,
    pub csat: Option<f64>,
    pub nps: Option<f64>,
    pub rq: Option<f64>,
}

impl KpiLine {
    /// The line as a JSON object, byte for byte as `serde_json` writes it, but with the keys
    /// copied as they are instead of checked for characters to escape: a year by agent and
    /// week is a quarter of a million keys.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        // A field missing here makes the output differ from serde_json's, which a test checks.
        let mut sep = b'{';
        macro_rules! field {
            ($($name:ident),*) => {$(
                out.push(sep);
                sep = b',';
                out.extend_from_slice(concat!("\"", stringify!($name), "\":").as_bytes());
                serde_json::to_writer(&mut *out, &self.$name)?;
            )*};
        }
        field!(
            group,
            subgroup,
            offered,
            handled,
            abandoned,
            short_abandoned,
            service_level,
            asa_s,
            aht_s,
            abandon_rate,
            longest_wait_s,
            transfers,
            first_response_s,
            response_sla,
            fcr,
            backlog,
            surveys,
            response_rate,
            csat,
            nps,
            rq
        );
        out.push(b'}');
        Ok(())
    }

    /// The group's labels, joined by " / " when grouped by two dimensions.
    pub fn label(&self) -> String {
        match &self.subgroup {
            Some(s) => format!("{} / {s}", self.group),
            None => self.group.clone(),
        }
    }

    fn new(mut labels: Vec<String>, g: &Totals, s: &KpiSettings) -> KpiLine {
        let t = &g.service;
        let subgroup = (labels.len() > 1).then(|| labels.swap_remove(1));
        KpiLine {
            group: labels.into_iter().next().unwrap_or_default(),
            subgroup,
            offered: t.offered(),
            handled: t.handled,
            abandoned: t.abandoned,
            short_abandoned: t.short_abandoned,
            service_level: t.service_level(s.service.variant),
            asa_s: t.asa_s(),
            aht_s: t.aht_s(),
            abandon_rate: t.abandon_rate(),
            longest_wait_s: (t.offered() > 0).then_some(t.longest_wait_s),
            transfers: t.transferred,
            first_response_s: t.avg_first_response_s(),
            response_sla: t.sla_response_rate(),
            fcr: g.fcr.fcr(),
            backlog: None,
            surveys: g.surveys,
            response_rate: (t.handled > 0).then(|| g.surveys as f64 / t.handled as f64),
            csat: g.survey.csat_top2_share(),
            nps: g.survey.nps(),
            rq: g.survey.rq_share(),
        }
    }
}

/// UTC bounds of the local days `from` to `to`, both included.
pub fn period(tz: Tz, from: NaiveDate, to: NaiveDate) -> Result<(i64, i64), String> {
    let start = local_to_utc(tz, from.and_time(NaiveTime::MIN))?;
    let next = to.succ_opt().ok_or("--to is too far in the future")?;
    let end = local_to_utc(tz, next.and_time(NaiveTime::MIN))?;
    if end <= start {
        return Err("--to is before --from".into());
    }
    Ok((start, end))
}

fn facts_of(r: &FactRow) -> Option<ContactFacts> {
    let times = [r.wait_s, r.talk_s, r.hold_s, r.acw_s];
    store::stored_facts(&r.channel, &r.outcome, times, r.first_response_s)
}

/// The group a contact belongs to.
fn label(
    dims: &[Dimension],
    tz: Tz,
    arrived_at: i64,
    channel: &str,
    queue: &str,
    agent: &str,
) -> Vec<String> {
    dims.iter()
        .map(|d| match d {
            Dimension::Time(b) => bucket_label(arrived_at, tz, *b),
            Dimension::Queue => queue.to_owned(),
            Dimension::Channel => channel.to_owned(),
            Dimension::Agent => agent.to_owned(),
        })
        .collect()
}

fn program_tz(program: &Program) -> Result<Tz, String> {
    program
        .timezone
        .parse()
        .map_err(|_| format!("program time zone {}", program.timezone))
}

/// The labels of a report's groups, each kept once and numbered.
#[derive(Default)]
struct Labels(Interner);

impl Labels {
    fn id(&mut self, text: &str) -> u32 {
        self.0.id(text)
    }

    /// The groups with their labels (the first `dims` of each key), in the order of the labels.
    fn in_order(
        &self,
        groups: FastMap<[u32; 2], Totals>,
        dims: usize,
    ) -> Vec<(Vec<String>, Totals)> {
        let texts = self.0.texts();
        let mut by_text: Vec<u32> = (0..texts.len() as u32).collect();
        by_text.sort_by(|&a, &b| texts[a as usize].cmp(&texts[b as usize]));
        let mut rank = vec![0_u32; texts.len()];
        for (r, &id) in by_text.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        let keyed: Vec<([u32; 2], Totals)> = groups.into_iter().collect();
        // Sort small keys, not the totals.
        let second = |k: &[u32; 2]| if dims > 1 { rank[k[1] as usize] } else { 0 };
        let mut order: Vec<(u32, u32, usize)> = keyed
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (rank[k[0] as usize], second(k), i))
            .collect();
        order.sort_unstable();
        order
            .into_iter()
            .map(|(_, _, i)| {
                let (k, t) = &keyed[i];
                let labels = k[..dims].iter().map(|&l| texts[l as usize].clone());
                (labels.collect(), *t)
            })
            .collect()
    }
}

fn lines(
    groups: impl IntoIterator<Item = (Vec<String>, Totals)>,
    total: &Totals,
    settings: &KpiSettings,
) -> (Vec<KpiLine>, KpiLine) {
    let lines = groups
        .into_iter()
        .map(|(k, g)| KpiLine::new(k, &g, settings))
        .collect();
    (lines, KpiLine::new(vec!["total".into()], total, settings))
}

/// Where a line's open backlog is counted: at the end of which local day, in which channel
/// and queue (all when `None`). No backlog per agent, within a day, or for channels without one.
fn backlog_scope(
    q: &KpiQuery,
    dims: &[Dimension],
    line: &KpiLine,
    is_total: bool,
) -> Option<(i64, Option<String>, Option<String>)> {
    if !wants_backlog(q) {
        return None;
    }
    let (mut day, mut channel, mut queue) = (day_number(q.to), q.channel.clone(), q.queue.clone());
    let labels = [Some(&line.group), line.subgroup.as_ref()];
    if !is_total {
        for (d, label) in dims.iter().zip(labels) {
            let label = label?;
            match d {
                Dimension::Time(b) => day = day.min(backlog::last_day_of(*b, label)?),
                Dimension::Channel => channel = Some(label.clone()),
                Dimension::Queue => queue = Some(label.clone()),
                Dimension::Agent => return None,
            }
        }
    }
    if channel
        .as_deref()
        .is_some_and(|c| !backlog::CHANNELS.contains(&c))
    {
        return None;
    }
    Some((day, channel, queue))
}

/// Whether any line of `q` can have a backlog: not per agent, not for a channel without one.
fn wants_backlog(q: &KpiQuery) -> bool {
    q.agent.is_none()
        && q.agents.is_none()
        && q.channel
            .as_deref()
            .is_none_or(|c| backlog::CHANNELS.contains(&c))
}

/// Fill in the open backlog of each line and the total, counted by `open`.
fn with_backlog(
    q: &KpiQuery,
    (mut lines, mut total): (Vec<KpiLine>, KpiLine),
    open: impl Fn(i64, Option<&str>, Option<&str>) -> u64,
) -> (Vec<KpiLine>, KpiLine) {
    let dims = q.dims();
    let fill = |l: &mut KpiLine, is_total: bool| {
        l.backlog = backlog_scope(q, &dims, l, is_total)
            .map(|(day, c, qu)| open(day, c.as_deref(), qu.as_deref()));
    };
    lines.iter_mut().for_each(|l| fill(l, false));
    fill(&mut total, true);
    (lines, total)
}

/// The figures of `program` for the local days `from`..=`to`, one line per group (in order),
/// and the line for the whole period, from the rollups (or, for the few groupings the rollups
/// do not keep, from the raw contacts).
pub async fn kpis(
    db: &Db,
    program: &Program,
    q: &KpiQuery,
    settings: &KpiSettings,
) -> Result<(Vec<KpiLine>, KpiLine), String> {
    let tz = program_tz(program)?;
    let (start, end) = period(tz, q.from, q.to)?;
    let open = if wants_backlog(q) {
        backlog::Open::read(db, program.id, day_number(q.to))
            .await
            .map_err(|e| e.to_string())?
    } else {
        backlog::Open::default()
    };
    let open = |day, c: Option<&str>, qu: Option<&str>| open.at(day, c, qu);
    let Some(side) = side_for(q) else {
        return Ok(with_backlog(
            q,
            direct(db, program, q, settings).await?,
            open,
        ));
    };
    let dims = q.dims();
    let time = dims.iter().find_map(|d| match d {
        Dimension::Time(b) => Some(*b),
        _ => None,
    });
    let (first, last) = (day_number(q.from), day_number(q.to));
    let reads: Vec<(Grain, i64, i64)> = match time {
        Some(Bucket::Min15 | Bucket::Min30 | Bucket::Min60) => {
            vec![(Grain::Interval, start, end - 1)]
        }
        Some(Bucket::Day) => vec![(Grain::Day, first, last)],
        Some(Bucket::Week) => cover(first, last, Grain::Week),
        Some(Bucket::Month) | None => cover(first, last, Grain::Month),
    };
    // Two halves of the periods are read and added up side by side, on two connections.
    let [mine, theirs] = halves(reads);
    let grouper = || Grouper::new(q, side, tz);
    let other = tokio::spawn(group_reads(db.clone(), program.id, grouper(), theirs));
    let mut groups = group_reads(db.clone(), program.id, grouper(), mine)
        .await
        .map_err(|e| e.to_string())?;
    let other = other.await.map_err(|e| e.to_string())?;
    groups.merge(other.map_err(|e| e.to_string())?);
    let (groups, total) = groups.finish();
    Ok(with_backlog(q, lines(groups, &total, settings), open))
}

/// Add up the rollup rows of `reads` (grain and period range) into `g`.
async fn group_reads(
    db: Db,
    program: crate::domain::ProgramId,
    mut g: Grouper,
    reads: Vec<(Grain, i64, i64)>,
) -> Result<Grouper, sqlx::Error> {
    for (grain, lo, hi) in reads {
        let side = g.side;
        rollup::read(&db, program, side, grain, (lo, hi), &mut |r| {
            g.add(grain, r)
        })
        .await?;
    }
    Ok(g)
}

/// `reads` in two parts of about the same number of periods: the longest range cut in the
/// middle, the others with its first half.
fn halves(mut reads: Vec<(Grain, i64, i64)>) -> [Vec<(Grain, i64, i64)>; 2] {
    let longest = (0..reads.len()).max_by_key(|&i| reads[i].2 - reads[i].1);
    let Some(i) = longest.filter(|&i| reads[i].2 > reads[i].1) else {
        return [reads, Vec::new()];
    };
    let (grain, lo, hi) = reads[i];
    let mid = lo + (hi - lo) / 2;
    reads[i] = (grain, lo, mid);
    [reads, vec![(grain, mid + 1, hi)]]
}

/// Rollup rows added up into the groups of a query. A group is a pair of label numbers, so a
/// row costs a lookup per dimension, not new strings.
struct Grouper {
    q: KpiQuery,
    dims: Vec<Dimension>,
    side: Side,
    tz: Tz,
    labels: Labels,
    periods: FastMap<(Grain, i64), u32>,
    groups: FastMap<[u32; 2], Totals>,
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

impl Grouper {
    fn new(q: &KpiQuery, side: Side, tz: Tz) -> Self {
        Self {
            q: q.clone(),
            dims: q.dims(),
            side,
            tz,
            labels: Labels::default(),
            periods: FastMap::default(),
            groups: FastMap::default(),
        }
    }

    fn add(&mut self, grain: Grain, r: &rollup::RollupRow) {
        let admitted = match self.side {
            Side::Queue => self.q.admits(&r.channel, &r.name, ""),
            Side::Agent => self.q.admits(&r.channel, "", &r.name),
        };
        if !admitted {
            return;
        }
        let mut key = [0_u32; 2];
        for (slot, d) in key.iter_mut().zip(&self.dims) {
            *slot = match d {
                Dimension::Time(b) => match self.periods.get(&(grain, r.period)) {
                    Some(&id) => id,
                    None => {
                        let label = period_label(self.tz, grain, r.period, *b);
                        let id = self.labels.id(&label);
                        self.periods.insert((grain, r.period), id);
                        id
                    }
                },
                Dimension::Channel => self.labels.id(&r.channel),
                Dimension::Queue | Dimension::Agent => self.labels.id(&r.name),
            };
        }
        self.groups.entry(key).or_default().merge(&r.totals());
    }

    /// Add `other`'s groups to these, its labels numbered as ours.
    fn merge(&mut self, other: Grouper) {
        let ours: Vec<u32> = other
            .labels
            .0
            .texts()
            .iter()
            .map(|t| self.labels.id(t))
            .collect();
        let two = self.dims.len() > 1;
        for (k, t) in other.groups {
            let key = [
                ours[k[0] as usize],
                if two { ours[k[1] as usize] } else { 0 },
            ];
            self.groups.entry(key).or_default().merge(&t);
        }
    }

    /// The groups with their labels, in order, and their sum.
    fn finish(self) -> (Vec<(Vec<String>, Totals)>, Totals) {
        let mut total = Totals::default();
        self.groups.values().for_each(|t| total.merge(t));
        (self.labels.in_order(self.groups, self.dims.len()), total)
    }
}

/// Which rollup side answers `q`: per agent when it is about agents, per queue otherwise;
/// `None` when it needs both, or agents by time of day.
fn side_for(q: &KpiQuery) -> Option<Side> {
    let dims = q.dims();
    let agents = dims.contains(&Dimension::Agent) || q.agent.is_some() || q.agents.is_some();
    let queues = dims.contains(&Dimension::Queue) || q.queue.is_some();
    let intraday = dims.iter().any(|d| {
        matches!(
            d,
            Dimension::Time(Bucket::Min15 | Bucket::Min30 | Bucket::Min60)
        )
    });
    match (agents, queues || intraday) {
        (true, true) => None,
        (true, false) => Some(Side::Agent),
        (false, _) => Some(Side::Queue),
    }
}

/// The rollup reads that cover the local days `first..=last`: whole weeks or months of
/// `grain` where they fit, days at the edges.
pub(crate) fn cover(first: i64, last: i64, grain: Grain) -> Vec<(Grain, i64, i64)> {
    let start_of = |d: i64| match grain {
        Grain::Week => week_of(d),
        _ => month_of(d),
    };
    let next = |p: i64| match grain {
        Grain::Week => p + 7,
        _ => next_month(p),
    };
    // The first whole period starts on or after `first`; whole periods end by `last`.
    let mut p = start_of(first);
    if p < first {
        p = next(p);
    }
    let (whole_first, mut whole_last) = (p, None);
    while next(p) - 1 <= last {
        whole_last = Some(p);
        p = next(p);
    }
    match whole_last {
        None => vec![(Grain::Day, first, last)],
        Some(wl) => {
            let mut reads = vec![(grain, whole_first, wl)];
            if first < whole_first {
                reads.push((Grain::Day, first, whole_first - 1));
            }
            let after = next(wl);
            if after <= last {
                reads.push((Grain::Day, after, last));
            }
            reads
        }
    }
}

/// The label, in bucket `b`, of the rollup period `period` of `grain`.
fn period_label(tz: Tz, grain: Grain, period: i64, b: Bucket) -> String {
    match grain {
        Grain::Interval => bucket_label(period, tz, b),
        _ => {
            let first = match b {
                Bucket::Week => week_of(period),
                Bucket::Month => month_of(period),
                _ => period,
            };
            b.label(date_of(first).and_time(NaiveTime::MIN))
        }
    }
}

/// The same figures computed directly from the raw contacts and survey answers, the open
/// backlog too: the reference the rollups are tested against.
pub async fn kpis_direct(
    db: &Db,
    program: &Program,
    q: &KpiQuery,
    settings: &KpiSettings,
) -> Result<(Vec<KpiLine>, KpiLine), String> {
    let tz = program_tz(program)?;
    let stays: Vec<backlog::Stay> = backlog::facts(db, program.id)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(backlog::BacklogFacts::stay)
        .collect();
    Ok(with_backlog(
        q,
        direct(db, program, q, settings).await?,
        |day, c, qu| backlog::open_at(&stays, tz, day, c, qu),
    ))
}

/// The figures other than the backlog, from the raw contacts and survey answers (for the
/// groupings the rollups do not keep, and as the reference).
async fn direct(
    db: &Db,
    program: &Program,
    q: &KpiQuery,
    settings: &KpiSettings,
) -> Result<(Vec<KpiLine>, KpiLine), String> {
    let tz = program_tz(program)?;
    let (start, end) = period(tz, q.from, q.to)?;
    let dims = q.dims();
    // Contacts after the period tell whether a contact in it was a first-time resolution.
    let horizon = end + i64::from(settings.fcr_days) * 86_400_000;
    let rows = store::facts(db, program.id, start, horizon)
        .await
        .map_err(|e| e.to_string())?;
    let fcr_input: Vec<FcrContact> = rows
        .iter()
        .map(|r| FcrContact {
            customer: r.customer_ref.clone(),
            arrived_ms: r.arrived_at,
            reason: r.reason.clone(),
        })
        .collect();
    let resolved = first_contact_resolution(&fcr_input, settings.fcr_days);
    let mut groups: BTreeMap<Vec<String>, Totals> = BTreeMap::new();
    let mut total = Totals::default();
    for (r, first_time) in rows.iter().zip(resolved) {
        if r.arrived_at >= end {
            break;
        }
        let Some(f) = facts_of(r) else { continue };
        if !q.admits(&r.channel, &r.queue, &r.agent) {
            continue;
        }
        let key = label(&dims, tz, r.arrived_at, &r.channel, &r.queue, &r.agent);
        let g = groups.entry(key).or_default();
        for acc in [&mut *g, &mut total] {
            acc.service.add(&f, &settings.service);
            if f.outcome.is_answered() && !r.customer_ref.is_empty() {
                acc.fcr.contacts += 1;
                acc.fcr.resolved += u64::from(first_time);
            }
        }
    }
    for a in super::surveys::answers(db, program.id, start, end)
        .await
        .map_err(|e| e.to_string())?
    {
        if !q.admits(&a.channel, &a.queue, &a.agent) {
            continue;
        }
        let csat = a.csat.and_then(|v| Csat::parse(i64::from(v)).ok());
        let nps = a.nps.and_then(|v| Nps::parse(i64::from(v)).ok());
        let key = label(&dims, tz, a.arrived_at, &a.channel, &a.queue, &a.agent);
        let g = groups.entry(key).or_default();
        for acc in [&mut *g, &mut total] {
            acc.survey.add(csat, nps, a.rq);
            acc.surveys += 1;
        }
    }
    Ok(lines(groups, &total, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_dimensions_at_most_one_of_them_a_time() {
        assert_eq!(
            Dimension::parse_pair("day,queue"),
            Ok((Dimension::Time(Bucket::Day), Some(Dimension::Queue)))
        );
        assert_eq!(
            Dimension::parse_pair(" agent , week"),
            Ok((Dimension::Agent, Some(Dimension::Time(Bucket::Week))))
        );
        assert!(Dimension::parse_pair("day,week").is_err());
        assert!(Dimension::parse_pair("queue,queue").is_err());
        assert!(Dimension::parse_pair("day,queue,agent").is_err());
        assert!(Dimension::parse_pair("day,team").is_err());
    }

    /// The reads split in two cover every period once: the longest range cut in the middle.
    #[test]
    fn reads_are_halved_at_the_middle_of_the_longest_range() {
        let (w, d) = (Grain::Week, Grain::Day);
        assert_eq!(
            halves(vec![(d, 1, 3), (w, 10, 24), (d, 25, 26)]),
            [vec![(d, 1, 3), (w, 10, 17), (d, 25, 26)], vec![(w, 18, 24)]]
        );
        assert_eq!(halves(vec![(d, 7, 8)]), [vec![(d, 7, 7)], vec![(d, 8, 8)]]);
        assert_eq!(halves(vec![(d, 7, 7)]), [vec![(d, 7, 7)], vec![]]);
        assert_eq!(halves(vec![]), [vec![], vec![]]);
    }

    /// 2025: January 1 is a Wednesday. Weeks from Monday 6 January to Sunday 23 February fit
    /// whole into 1 January – 25 February; the edges are read as days.
    #[test]
    fn periods_are_covered_by_whole_weeks_or_months_and_edge_days() {
        let d = |m, dd| day_number(NaiveDate::from_ymd_opt(2025, m, dd).unwrap());
        assert_eq!(
            cover(d(1, 1), d(2, 25), Grain::Week),
            vec![
                (Grain::Week, d(1, 6), d(2, 17)),
                (Grain::Day, d(1, 1), d(1, 5)),
                (Grain::Day, d(2, 24), d(2, 25)),
            ]
        );
        assert_eq!(
            cover(d(1, 15), d(3, 31), Grain::Month),
            vec![
                (Grain::Month, d(2, 1), d(3, 1)),
                (Grain::Day, d(1, 15), d(1, 31))
            ]
        );
        // No whole month inside: days only.
        assert_eq!(
            cover(d(1, 15), d(2, 10), Grain::Month),
            vec![(Grain::Day, d(1, 15), d(2, 10))]
        );
    }
}
