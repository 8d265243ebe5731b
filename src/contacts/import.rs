//! Streaming import of contact records: a reader thread parses and checks rows into batches, the
//! writer stores each batch in one transaction. Memory stays flat whatever the file size; a crash
//! leaves only whole batches, and importing the same file again completes the job. A file out
//! of time order is read to its end first and stored in order of arrival (see `arrival_order`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use super::arrival_order::Sorting;
use super::arrival_order::{Disorder, Runs};
use super::mapping::{FieldError, Format, Mapping, Parsed};
use super::record::{CsvRecord, Header, JsonRecord, Record};
use super::store::{self, Counts, Prepared};
use super::{NewContact, Pseudonymiser};
use crate::domain::ProgramId;
use crate::store::Db;

/// How many rows go into one transaction.
pub const BATCH_ROWS: usize = 30_000;
/// How many rejects per job are kept in the database for the UI (the file has them all).
const REJECTS_KEPT: usize = 1_000;

/// One refused row: where, which field, why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reject {
    pub row: u64,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub job_id: i64,
    pub rows_read: u64,
    pub accepted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub rejects_file: Option<String>,
    /// The first rejects, for a quick look.
    pub first_rejects: Vec<Reject>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Source(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A file format, from `--format`, the mapping, or the file name.
pub fn detect_format(
    explicit: Option<Format>,
    mapping: &Mapping,
    path: &Path,
) -> Result<Format, ImportError> {
    if let Some(f) = explicit.or(mapping.source.format) {
        return Ok(f);
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    match name.rsplit('.').next() {
        Some("csv" | "tsv" | "txt") => Ok(Format::Csv),
        Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
        _ => Err(ImportError::Source(format!(
            "{}: cannot tell the format from the name; use --format csv or --format jsonl",
            path.display()
        ))),
    }
}

/// Counts the bytes read, for progress and ETA.
pub struct CountingReader<R> {
    inner: R,
    pub count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Open a file, un-gzipping when it starts with the gzip magic bytes.
pub fn open(path: &Path, bytes: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>, ImportError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ImportError::Source(format!("{}: {e}", path.display())))?;
    let mut buf = BufReader::with_capacity(
        1 << 20,
        CountingReader {
            inner: file,
            count: bytes,
        },
    );
    let gz = buf.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(buf),
        ))
    } else {
        Box::new(buf)
    })
}

/// A row ready to store: its key within the program, and a fingerprint of its content.
pub trait ImportRow: Send + serde::Serialize + serde::de::DeserializeOwned + 'static {
    /// What the import job and its messages call these rows.
    const KIND: &'static str;
    fn key(&self) -> &str;
    fn fingerprint(&self) -> &str;
    /// When the row's contact arrived, for rows best stored in time order; `None` keeps the
    /// file's order whatever it is.
    fn arrival(&self) -> Option<i64> {
        None
    }
    /// What the import keeps from one batch to the next.
    type Carried: Send;
    fn carried(req: &ImportRequest) -> Self::Carried;
    /// Store a batch whose keys are distinct; returns (accepted, updated, unchanged).
    fn upsert(
        tx: &mut crate::store::Tx,
        program: ProgramId,
        job: i64,
        rows: &[Self],
        carried: &mut Self::Carried,
    ) -> impl std::future::Future<Output = Result<(u64, u64, u64), sqlx::Error>> + Send
    where
        Self: Sized;
}

impl ImportRow for Prepared {
    const KIND: &'static str = "contacts";
    fn key(&self) -> &str {
        &self.contact.external_id
    }
    fn fingerprint(&self) -> &str {
        &self.hash
    }
    fn arrival(&self) -> Option<i64> {
        Some(self.contact.arrived_ms)
    }
    type Carried = super::recent::RecentContacts;
    fn carried(req: &ImportRequest) -> Self::Carried {
        super::recent::RecentContacts::holding(req.held_contacts)
    }
    async fn upsert(
        tx: &mut crate::store::Tx,
        program: ProgramId,
        job: i64,
        rows: &[Self],
        recent: &mut Self::Carried,
    ) -> Result<(u64, u64, u64), sqlx::Error> {
        let s = super::bulk::store_batch(tx, program, job, rows, recent).await?;
        Ok((s.accepted, s.updated, s.unchanged))
    }
}

/// Where an import stands, for its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Rows are stored in the order of the file.
    InFileOrder,
    /// The file is out of time order: the rest of it is read and sorted by arrival first.
    Sorting,
    /// The sorted rows are stored: `stored` of `of` so far.
    InArrivalOrder { stored: u64, of: u64 },
}

/// How far an import has come, after each stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub rows_read: u64,
    pub stage: Stage,
}

/// What the reader thread hands to the writer.
struct Batch<T> {
    rows: Vec<T>,
    rejects: Vec<Reject>,
    counts: Counts,
    stage: Stage,
}

/// The order the batcher's rows go out in.
enum Order<T> {
    /// The file's, while it keeps to time order.
    File(Disorder),
    /// The file is out of time order: its rows are gathered in sorted runs.
    Gathering(Runs<T>),
    /// The gathered rows, merged in order of arrival: `stored` taken of `of`.
    Arrival { stored: u64, of: u64 },
}

/// Collects rows into batches, folding repeated keys within a batch (the last row wins).
struct Batcher<T> {
    batch_rows: usize,
    rows: Vec<T>,
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    rejects: Vec<Reject>,
    counts: Counts,
    tx: tokio::sync::mpsc::Sender<Batch<T>>,
    order: Order<T>,
    sorting: Sorting,
}

impl<T: ImportRow> Batcher<T> {
    fn new(batch_rows: usize, sorting: Sorting, tx: tokio::sync::mpsc::Sender<Batch<T>>) -> Self {
        Batcher {
            batch_rows,
            rows: Vec::with_capacity(batch_rows),
            index: HashMap::default(),
            rejects: Vec::new(),
            counts: Counts::default(),
            tx,
            order: Order::File(Disorder::new(sorting.overlap_rows)),
            sorting,
        }
    }

    /// Take one row (`None`: skipped by the mapping); `Ok(false)` when the writer has stopped,
    /// `Err` when the rows cannot be sorted.
    fn row(&mut self, parsed: Result<Option<T>, Reject>) -> Result<bool, String> {
        self.counts.rows_read += 1;
        match parsed {
            Err(r) => {
                self.counts.rejected += 1;
                self.rejects.push(r);
            }
            Ok(None) => self.counts.skipped += 1,
            Ok(Some(p)) => match (&mut self.order, p.arrival()) {
                (Order::Gathering(runs), Some(at)) => {
                    runs.push(at, &p).map_err(|e| e.to_string())?;
                    if runs.len() % runs.run_rows() as u64 == 0 {
                        // The rows read so far, for the job and its progress.
                        return Ok(self.flush());
                    }
                }
                _ => self.add(p),
            },
        }
        if self.rows.len() >= self.batch_rows || self.rejects.len() >= self.batch_rows {
            let arrivals = self.rows.iter().filter_map(|r| r.arrival());
            if let Order::File(disorder) = &mut self.order
                && arrivals.clone().next().is_some()
                && disorder.out_of_order(arrivals)
            {
                self.gather()?;
            }
            return Ok(self.flush());
        }
        Ok(true)
    }

    /// From here on gather the rows to sort them, starting with those of the batch that came
    /// back over earlier ones.
    fn gather(&mut self) -> Result<(), String> {
        let mut runs = Runs::new(self.sorting.run_rows).map_err(|e| e.to_string())?;
        self.index.clear();
        for row in self.rows.drain(..) {
            let at = row.arrival().unwrap_or(i64::MIN);
            runs.push(at, &row).map_err(|e| e.to_string())?;
        }
        self.order = Order::Gathering(runs);
        Ok(())
    }

    /// Add a row to the open batch.
    fn add(&mut self, p: T) {
        match self.index.get(p.key()) {
            Some(&i) if self.rows[i].fingerprint() == p.fingerprint() => self.counts.unchanged += 1,
            Some(&i) => {
                self.counts.updated += 1;
                self.rows[i] = p;
            }
            None => {
                self.index.insert(p.key().to_owned(), self.rows.len());
                self.rows.push(p);
            }
        }
    }

    /// Send the batch; `false` when the writer has stopped.
    fn flush(&mut self) -> bool {
        let stage = match &self.order {
            Order::File(_) => Stage::InFileOrder,
            Order::Gathering(_) => Stage::Sorting,
            Order::Arrival { stored, of } => Stage::InArrivalOrder {
                stored: *stored,
                of: *of,
            },
        };
        self.send(stage)
    }

    /// Send the batch as of `stage`; `false` when the writer has stopped.
    fn send(&mut self, stage: Stage) -> bool {
        self.index.clear();
        let batch = Batch {
            rows: std::mem::take(&mut self.rows),
            rejects: std::mem::take(&mut self.rejects),
            counts: std::mem::take(&mut self.counts),
            stage,
        };
        self.tx.blocking_send(batch).is_ok()
    }

    /// The file has been read: send what is open and, if the rows were gathered, send them
    /// merged in order of arrival.
    fn finish(&mut self) -> Result<(), String> {
        let runs = match std::mem::replace(&mut self.order, Order::Arrival { stored: 0, of: 0 }) {
            Order::Gathering(runs) => runs,
            other => {
                self.order = other;
                self.flush();
                return Ok(());
            }
        };
        let of = runs.len();
        // Everything read, counted before the first sorted batch is stored.
        if !self.send(Stage::Sorting) {
            return Ok(());
        }
        self.order = Order::Arrival { stored: 0, of };
        for row in runs.merged().map_err(|e| e.to_string())? {
            self.add(row.map_err(|e| e.to_string())?);
            if let Order::Arrival { stored, .. } = &mut self.order {
                *stored += 1;
            }
            if self.rows.len() >= self.batch_rows && !self.flush() {
                return Ok(());
            }
        }
        self.flush();
        Ok(())
    }
}

/// Turns one source row into a row to store, `None` to skip it.
pub type RowParser<T> = Box<dyn Fn(&dyn Record) -> Result<Option<T>, FieldError> + Send>;

fn reject(row: u64, field: &str, reason: impl Into<String>) -> Reject {
    Reject {
        row,
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Read every row of `input` on this (blocking) thread.
fn read_rows<T: ImportRow>(
    input: Box<dyn Read + Send>,
    format: Format,
    mapping: &Mapping,
    parse: &RowParser<T>,
    b: &mut Batcher<T>,
) -> Result<(), String> {
    match format {
        Format::Csv => {
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(mapping.delimiter())
                .flexible(true)
                .from_reader(input);
            let mut names: Vec<String> = rdr
                .headers()
                .map_err(|e| format!("the header line cannot be read: {e}"))?
                .iter()
                .map(|h| h.trim().to_owned())
                .collect();
            if let Some(first) = names.first_mut() {
                *first = first.trim_start_matches('\u{feff}').to_owned();
            }
            for col in mapping.columns_needed() {
                if !names.iter().any(|n| n == col) {
                    return Err(format!(
                        "the mapping reads column {col:?}, which the file's header does not have (it has: {})",
                        names.join(", ")
                    ));
                }
            }
            let header: Arc<Header> = Arc::new(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), i))
                    .collect(),
            );
            let width = names.len();
            let names = Arc::new(names);
            let mut record = csv::StringRecord::new();
            loop {
                let line = rdr.position().line() + 1;
                let row_no = line;
                match rdr.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        let row_no = record.position().map(|p| p.line()).unwrap_or(row_no);
                        let parsed = if record.len() != width {
                            Err(reject(
                                row_no,
                                "",
                                format!("the row has {} fields, the header {width}", record.len()),
                            ))
                        } else {
                            let rec = CsvRecord {
                                header: header.clone(),
                                names: names.clone(),
                                row: std::mem::take(&mut record),
                            };
                            let r = parse(&rec).map_err(|e| reject(row_no, &e.field, e.reason));
                            record = rec.row;
                            r
                        };
                        if !b.row(parsed)? {
                            return Ok(());
                        }
                    }
                    Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                        return Err(format!("reading the file stopped near row {row_no}: {e}"));
                    }
                    Err(e) => {
                        let row_no = e.position().map(|p| p.line()).unwrap_or(row_no);
                        if !b.row(Err(reject(row_no, "", format!("unreadable row: {e}"))))? {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Format::Jsonl => {
            let reader = BufReader::new(input);
            for (i, line) in reader.lines().enumerate() {
                let row_no = i as u64 + 1;
                let line = match line {
                    Ok(l) => l,
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        if !b.row(Err(reject(row_no, "", "the line is not UTF-8 text")))? {
                            return Ok(());
                        }
                        continue;
                    }
                    Err(e) => {
                        return Err(format!("reading the file stopped at line {row_no}: {e}"));
                    }
                };
                if line.trim().is_empty() {
                    continue;
                }
                let parsed = match JsonRecord::parse(&line) {
                    Ok(rec) => parse(&rec).map_err(|e| reject(row_no, &e.field, e.reason)),
                    Err(e) => Err(reject(row_no, "", e)),
                };
                if !b.row(parsed)? {
                    return Ok(());
                }
            }
        }
    }
    b.finish()
}

pub struct ImportRequest {
    pub program: ProgramId,
    pub source_name: String,
    pub format: Format,
    pub mapping: Mapping,
    pub created_by: String,
    /// Where to write every rejected row; `None` keeps only the first ones in the summary.
    pub rejects_path: Option<PathBuf>,
    /// Rows per transaction ([`BATCH_ROWS`] unless a test wants small batches).
    pub batch_rows: usize,
    /// The most stored contacts held in memory between batches for first-contact resolution
    /// ([`HELD_CONTACTS`] unless a test wants them looked up one by one).
    pub held_contacts: usize,
    /// When a file out of time order is sorted, and in runs of how many rows.
    pub sorting: Sorting,
}

impl ImportRequest {
    /// An import with every rejected row kept only in the summary, and the usual batches.
    pub fn new(
        program: ProgramId,
        source_name: impl Into<String>,
        format: Format,
        mapping: Mapping,
        created_by: impl Into<String>,
    ) -> Self {
        ImportRequest {
            program,
            source_name: source_name.into(),
            format,
            mapping,
            created_by: created_by.into(),
            rejects_path: None,
            batch_rows: BATCH_ROWS,
            held_contacts: HELD_CONTACTS,
            sorting: Sorting::default(),
        }
    }
}

pub use super::recent::MAX_HELD as HELD_CONTACTS;

/// Import contacts from `input`; `progress` is called after every stored batch.
pub async fn import_contacts(
    db: &Db,
    req: ImportRequest,
    input: Box<dyn Read + Send>,
    progress: impl FnMut(Progress),
) -> Result<Summary, ImportError> {
    let pseudonyms = Pseudonymiser::new(&store::pseudonym_key(db).await?);
    let mapping = req.mapping.clone();
    let parse: RowParser<Prepared> = Box::new(move |rec| match mapping.apply(rec)? {
        Parsed::Skip => Ok(None),
        Parsed::Contact(c) => Ok(Some(prepare(*c, &pseudonyms))),
    });
    import(db, req, input, parse, progress).await
}

/// Pseudonymise and fingerprint a contact.
fn prepare(mut contact: NewContact, pseudonyms: &Pseudonymiser) -> Prepared {
    let customer_ref = pseudonyms.pseudonym(&contact.customer);
    contact.customer = String::new();
    // Stored trimmed, blank as none: the reason first-contact resolution compares.
    contact.reason = contact
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let hash = format!(
        "{}{}",
        contact.fingerprint(),
        &customer_ref[..customer_ref.len().min(8)]
    );
    Prepared {
        contact,
        customer_ref,
        hash,
    }
}

/// Import rows of any kind: read and check on a blocking thread, store batch by batch here.
pub async fn import<T: ImportRow>(
    db: &Db,
    req: ImportRequest,
    input: Box<dyn Read + Send>,
    parse: RowParser<T>,
    mut progress: impl FnMut(Progress),
) -> Result<Summary, ImportError> {
    let job = store::start_job(db, req.program, T::KIND, &req.source_name, &req.created_by).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch<T>>(1);
    let mapping = req.mapping.clone();
    let format = req.format;
    let batch_rows = req.batch_rows.max(1);
    let sorting = req.sorting;
    let reader = tokio::task::spawn_blocking(move || {
        let mut b = Batcher::new(batch_rows, sorting, tx);
        read_rows(input, format, &mapping, &parse, &mut b)
    });

    let mut total = Counts::default();
    let mut first_rejects: Vec<Reject> = Vec::new();
    let mut rejects_file: Option<csv::Writer<std::fs::File>> = None;
    let mut write_error: Option<String> = None;
    let mut carried = T::carried(&req);
    while let Some(batch) = rx.recv().await {
        let result: Result<(), ImportError> = async {
            if !batch.rejects.is_empty() {
                if let (None, Some(path)) = (&rejects_file, &req.rejects_path) {
                    let mut w = csv::Writer::from_path(path).map_err(|e| {
                        ImportError::Source(format!("rejects file {}: {e}", path.display()))
                    })?;
                    w.write_record(["row", "field", "reason"])
                        .map_err(|e| ImportError::Source(e.to_string()))?;
                    rejects_file = Some(w);
                }
                if let Some(w) = rejects_file.as_mut() {
                    for r in &batch.rejects {
                        w.write_record([r.row.to_string(), r.field.clone(), r.reason.clone()])
                            .map_err(|e| ImportError::Source(e.to_string()))?;
                    }
                    w.flush()?;
                }
            }
            let mut dbtx = db.begin().await?;
            let (accepted, updated, unchanged) = if batch.rows.is_empty() {
                (0, 0, 0)
            } else {
                T::upsert(&mut dbtx, req.program, job, &batch.rows, &mut carried).await?
            };
            let mut next = total;
            next.rows_read += batch.counts.rows_read;
            next.accepted += accepted;
            next.updated += updated + batch.counts.updated;
            next.unchanged += unchanged + batch.counts.unchanged;
            next.skipped += batch.counts.skipped;
            next.rejected += batch.counts.rejected;
            store::update_job(&mut dbtx, job, &next).await?;
            let room = REJECTS_KEPT.saturating_sub(first_rejects.len());
            let keep: Vec<(u64, String, String)> = batch
                .rejects
                .iter()
                .take(room)
                .map(|r| (r.row, r.field.clone(), r.reason.clone()))
                .collect();
            store::store_rejects(&mut dbtx, job, &keep).await?;
            dbtx.commit().await?;
            first_rejects.extend(batch.rejects.into_iter().take(room));
            total = next;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            write_error = Some(e.to_string());
            break;
        }
        progress(Progress {
            rows_read: total.rows_read,
            stage: batch.stage,
        });
    }
    drop(rx);
    let read_result = reader
        .await
        .map_err(|e| ImportError::Source(format!("reader stopped: {e}")))?;
    let error = write_error.or(read_result.err());
    let rejects_path = rejects_file.is_some().then(|| {
        req.rejects_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    });
    store::finish_job(db, job, &total, rejects_path.as_deref(), error.as_deref()).await?;
    if let Some(e) = error {
        return Err(ImportError::Source(format!(
            "{e} (import job {job}; {} rows stored before the stop are kept; running the import again completes it)",
            total.accepted + total.updated
        )));
    }
    first_rejects.truncate(20);
    Ok(Summary {
        job_id: job,
        rows_read: total.rows_read,
        accepted: total.accepted,
        updated: total.updated,
        unchanged: total.unchanged,
        skipped: total.skipped,
        rejected: total.rejected,
        rejects_file: rejects_path,
        first_rejects,
    })
}
