//! Rows of a file out of time order, stored in order of arrival.
//!
//! An import stores a file batch by batch in the order it reads it. A file in time order moves
//! forward a day or so per batch: each batch adds to the newest pages of the contacts' indexes,
//! and first-contact resolution holds the few days around it (see `recent`). A file sorted
//! otherwise, by agent or by queue, makes every batch span the whole period: its rows land on
//! index pages all over it, and each customer is looked up one by one. Such a file imports
//! several times slower and holds more in memory.
//!
//! So an import watches the arrival times of its batches ([`Disorder`]). Once a batch has
//! [`Sorting::overlap_rows`] rows that arrived in the same ten minutes as rows of earlier
//! batches, it reads the rest of the file first, that batch included, into runs of rows sorted
//! by arrival in temporary files ([`Runs`]), and then stores them merged, in order of arrival.
//! Rows of the same arrival keep their file order, so of two rows with one external id and one
//! arrival the later still wins, and of two contacts of one customer at one instant the later
//! is the repeat, as in a file stored as it came.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The stretches of time a file's rows are counted in, to tell whether batches come back over
/// a period that earlier batches covered: ten minutes.
const STRETCH_MS: i64 = 600_000;

/// When an import sorts the rest of a file by arrival, and in runs of how many rows.
#[derive(Debug, Clone, Copy)]
pub struct Sorting {
    /// Rows of one batch that arrived in the same ten minutes as rows of earlier batches, from
    /// which on the file is sorted; `0` sorts every file, `u64::MAX` none.
    pub overlap_rows: u64,
    /// Rows sorted in memory at a time, each run a temporary file (a phone contact takes about
    /// 140 bytes there; a run also ends at 32 MiB); at least one.
    pub run_rows: usize,
}

impl Default for Sorting {
    fn default() -> Self {
        Sorting {
            // A quarter of a batch of 30,000: far above the seam between batches in time order
            // (ten minutes of rows), far below a batch sorted by agent (nearly all of it).
            overlap_rows: 7_500,
            run_rows: 100_000,
        }
    }
}

/// The ten-minute stretches the batches sent so far arrived in. A file in time order, newest or
/// oldest first, gives each batch stretches of its own but at the seam with the one before; a
/// file sorted by agent or queue gives every batch the whole period again.
#[derive(Debug)]
pub struct Disorder {
    seen: std::collections::HashSet<i64, foldhash::fast::RandomState>,
    limit: u64,
}

impl Disorder {
    pub fn new(limit: u64) -> Self {
        Disorder {
            seen: Default::default(),
            limit,
        }
    }

    /// Note a batch's arrivals; `true` when enough of them fall in stretches of earlier batches
    /// (and then the batch is not noted).
    pub fn out_of_order(&mut self, arrivals: impl Iterator<Item = i64> + Clone) -> bool {
        let stretch = |at: i64| at.div_euclid(STRETCH_MS);
        let overlap = arrivals
            .clone()
            .filter(|at| self.seen.contains(&stretch(*at)))
            .count() as u64;
        if overlap >= self.limit {
            return true;
        }
        self.seen.extend(arrivals.map(stretch));
        false
    }
}

/// Most bytes of encoded rows held in memory at a time: a run also ends here, so that rows
/// with long transcripts or threads cannot fill the memory.
const RUN_BYTES: usize = 32 << 20;

/// A row held for the next run: its arrival and its encoding in the arena. Held rows are in
/// file order, and so are the runs: sorted stably, rows of one arrival keep it.
struct Held {
    at: i64,
    start: usize,
    end: usize,
}

/// Rows gathered in sorted runs on disk; [`Runs::merged`] gives them back in order of arrival.
pub struct Runs<T> {
    dir: tempfile::TempDir,
    /// The encoded rows of the next run, one after the other.
    arena: Vec<u8>,
    pending: Vec<Held>,
    files: Vec<File>,
    next: u64,
    run_rows: usize,
    run_bytes: usize,
    rows: PhantomData<fn(T) -> T>,
}

/// What temporary space errors say, so the user knows where it ran out.
fn in_dir(dir: &std::path::Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "sorting the file by arrival time in the temporary folder {}: {e}",
            dir.display()
        ),
    )
}

fn damaged(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("a sorted run holds a damaged row: {e}"),
    )
}

impl<T: Serialize + DeserializeOwned> Runs<T> {
    /// Runs of `run_rows` rows in a new folder of the system's temporary folder (`TMPDIR`),
    /// removed with them.
    pub fn new(run_rows: usize) -> io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("kalibra-import-")
            .tempdir()
            .map_err(|e| in_dir(&std::env::temp_dir(), e))?;
        Ok(Runs {
            dir,
            arena: Vec::new(),
            pending: Vec::new(),
            files: Vec::new(),
            next: 0,
            run_rows: run_rows.max(1),
            run_bytes: RUN_BYTES,
            rows: PhantomData,
        })
    }

    /// Take a row that arrived at `arrived_ms`.
    pub fn push(&mut self, arrived_ms: i64, row: &T) -> io::Result<()> {
        let start = self.arena.len();
        postcard::to_io(row, &mut self.arena).map_err(io::Error::other)?;
        self.pending.push(Held {
            at: arrived_ms,
            start,
            end: self.arena.len(),
        });
        self.next += 1;
        if self.pending.len() >= self.run_rows || self.arena.len() >= self.run_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Rows to a run, at most.
    pub fn run_rows(&self) -> usize {
        self.run_rows
    }

    /// Rows taken so far.
    pub fn len(&self) -> u64 {
        self.next
    }

    pub fn is_empty(&self) -> bool {
        self.next == 0
    }

    /// Write the rows held in memory to a run of their own, sorted.
    fn spill(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending.sort_by_key(|h| h.at);
        let path = self.dir.path().join(format!("run-{}", self.files.len()));
        let write = || -> io::Result<File> {
            let mut out = BufWriter::with_capacity(1 << 16, File::create_new(&path)?);
            for h in &self.pending {
                let row = &self.arena[h.start..h.end];
                out.write_all(&(8 + row.len() as u64).to_le_bytes())?;
                out.write_all(&h.at.to_le_bytes())?;
                out.write_all(row)?;
            }
            out.into_inner().map_err(|e| e.into_error())?;
            File::open(&path)
        };
        let file = write().map_err(|e| in_dir(self.dir.path(), e))?;
        self.files.push(file);
        self.pending.clear();
        self.arena.clear();
        Ok(())
    }

    /// Every row taken, in order of arrival (and of taking, at one arrival).
    pub fn merged(mut self) -> io::Result<Merged<T>> {
        if self.files.is_empty() {
            // Everything fits in memory: no file to write.
            self.pending.sort_by_key(|h| h.at);
            return Ok(Merged {
                from: Source::Memory {
                    arena: std::mem::take(&mut self.arena),
                    rows: std::mem::take(&mut self.pending).into_iter(),
                },
                dir: self.dir,
            });
        }
        self.spill()?;
        let mut runs: Vec<Run> = std::mem::take(&mut self.files)
            .into_iter()
            .map(|f| Run {
                // A hundred runs for ten million rows: small buffers keep the merge small.
                reader: BufReader::with_capacity(1 << 14, f),
                buf: Vec::new(),
            })
            .collect();
        let mut heads = BinaryHeap::with_capacity(runs.len());
        let mut slots = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter_mut().enumerate() {
            let head = run.next::<T>().map_err(|e| in_dir(self.dir.path(), e))?;
            if let Some((at, row)) = head {
                heads.push(Reverse((at, i)));
                slots.push(Some(row));
            } else {
                slots.push(None);
            }
        }
        Ok(Merged {
            from: Source::Runs { runs, heads, slots },
            dir: self.dir,
        })
    }
}

/// One sorted run being read back.
struct Run {
    reader: BufReader<File>,
    buf: Vec<u8>,
}

impl Run {
    /// The run's next row, `None` at its end.
    fn next<T: DeserializeOwned>(&mut self) -> io::Result<Option<(i64, T)>> {
        let mut len = [0u8; 8];
        match self.reader.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = u64::from_le_bytes(len) as usize;
        if len < 8 {
            return Err(damaged(format!("{len} bytes")));
        }
        self.buf.resize(len, 0);
        self.reader.read_exact(&mut self.buf)?;
        let at = i64::from_le_bytes(self.buf[..8].try_into().expect("eight bytes"));
        let row = postcard::from_bytes(&self.buf[8..]).map_err(damaged)?;
        Ok(Some((at, row)))
    }
}

/// The rows of [`Runs`] in order of arrival; the temporary files go with it.
pub struct Merged<T> {
    from: Source<T>,
    /// Removed, with the runs, when the merge ends.
    dir: tempfile::TempDir,
}

enum Source<T> {
    /// The rows of a single run, never written.
    Memory {
        arena: Vec<u8>,
        rows: std::vec::IntoIter<Held>,
    },
    /// Runs on disk, and the next row of each (`slots`), smallest first in `heads`: by arrival,
    /// then by run, as the runs follow the file.
    Runs {
        runs: Vec<Run>,
        heads: BinaryHeap<Reverse<(i64, usize)>>,
        slots: Vec<Option<T>>,
    },
}

impl<T: DeserializeOwned> Iterator for Merged<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.from {
            Source::Memory { arena, rows } => {
                let h = rows.next()?;
                Some(postcard::from_bytes(&arena[h.start..h.end]).map_err(damaged))
            }
            Source::Runs { runs, heads, slots } => {
                let Reverse((_, i)) = heads.pop()?;
                let row = slots[i].take()?;
                match runs[i].next::<T>() {
                    Ok(Some((at, next))) => {
                        heads.push(Reverse((at, i)));
                        slots[i] = Some(next);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        heads.clear();
                        return Some(Err(in_dir(self.dir.path(), e)));
                    }
                }
                Some(Ok(row))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_out_of_order_when_batches_come_back_over_earlier_ones() {
        let min = 60_000;
        let day = 24 * 60 * min;
        // Newest first: each batch ten hours, in minutes going back; only their seams share a
        // stretch of ten minutes.
        let mut d = Disorder::new(5);
        for batch in 0..20 {
            let end = 1_000 * day - batch * 600 * min;
            assert!(
                !d.out_of_order((0..600).map(|m| end - m * min)),
                "batch {batch}"
            );
        }
        // Sorted by agent: the second agent's day comes back over the first one's.
        let mut d = Disorder::new(5);
        let agent = |offset: i64| (0..100).map(move |i| 3 * day + i * 13 * min + offset);
        assert!(!d.out_of_order(agent(0)));
        assert!(d.out_of_order(agent(7 * min)));
        // A few rows with a wrong year do not make a file out of order, nor a file of months
        // in any order.
        let mut d = Disorder::new(5);
        assert!(!d.out_of_order((0..100).map(|i| 40 * day + i * min)));
        assert!(!d.out_of_order((0..100).map(|i| 10 * day + i * min).chain([40 * day; 4])));
        assert!(!d.out_of_order((0..100).map(|i| 20 * day + i * min)));
        // Every file, and none.
        assert!(Disorder::new(0).out_of_order([1].into_iter()));
        let mut never = Disorder::new(u64::MAX);
        assert!((0..10).all(|_| !never.out_of_order([5 * day].into_iter())));
    }

    fn sorted_back(rows: &[(i64, String)], run_rows: usize) -> Vec<String> {
        let mut runs = Runs::new(run_rows).unwrap();
        for (at, text) in rows {
            runs.push(*at, text).unwrap();
        }
        assert_eq!(runs.len(), rows.len() as u64);
        runs.merged().unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn rows_come_back_by_arrival_and_in_file_order_at_one_arrival() {
        let rows: Vec<(i64, String)> = [(5, "e"), (1, "a"), (3, "c1"), (3, "c2"), (2, "b")]
            .into_iter()
            .map(|(at, s)| (at, s.to_owned()))
            .collect();
        let want = ["a", "b", "c1", "c2", "e"];
        // In memory, in runs of two (three files) and in runs of one row each.
        for run_rows in [100, 2, 1] {
            assert_eq!(sorted_back(&rows, run_rows), want, "runs of {run_rows}");
        }
        assert!(sorted_back(&[], 3).is_empty());
    }

    #[test]
    fn many_runs_merge_into_one_order_and_their_files_go() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let rows: Vec<(i64, String)> = (0..5_000)
            .map(|i| (rng.random_range(0..400), format!("row {i}")))
            .collect();
        let mut want = rows.clone();
        want.sort_by_key(|(at, _)| *at); // stable: file order at one arrival
        let mut runs = Runs::new(97).unwrap();
        let dir = runs.dir.path().to_owned();
        for (at, text) in &rows {
            runs.push(*at, text).unwrap();
        }
        let merged = runs.merged().unwrap();
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            52,
            "5,000 rows in runs of 97"
        );
        let got: Vec<String> = merged.map(Result::unwrap).collect();
        let want: Vec<String> = want.into_iter().map(|(_, s)| s).collect();
        assert_eq!(got, want);
        assert!(!dir.exists(), "the temporary files are removed");
    }

    #[test]
    fn long_rows_end_a_run_early() {
        let mut runs = Runs::new(100).unwrap();
        runs.run_bytes = 1_000;
        let dir = runs.dir.path().to_owned();
        for at in (0..10).rev() {
            runs.push(at, &format!("{at}{}", "x".repeat(300))).unwrap();
        }
        // Four rows of 300 bytes pass 1,000: runs of four, four and two.
        let merged = runs.merged().unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
        let firsts: Vec<String> = merged.map(|r| r.unwrap()[..1].to_owned()).collect();
        assert_eq!(firsts, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let mut runs = Runs::new(2).unwrap();
        for at in [3, 1, 2, 0] {
            runs.push(at, &format!("{at}")).unwrap();
        }
        // Cut the first run short in the middle of its second row.
        let path = runs.dir.path().join("run-0");
        let text = std::fs::read(&path).unwrap();
        std::fs::write(&path, &text[..text.len() - 3]).unwrap();
        let err = runs
            .merged()
            .unwrap()
            .find_map(Result::err)
            .expect("the cut run fails");
        assert!(err.to_string().contains("temporary folder"), "{err}");
    }
}
