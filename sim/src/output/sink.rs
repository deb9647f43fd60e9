//! Where records leave a run: a [`Sink`] takes record batches table by
//! table. [`ArrowFileSink`] streams each table into its Arrow IPC file as
//! batches arrive (so a year of blocks never sits in memory), writing
//! through a hidden temporary file renamed into place when the table is
//! complete; [`MemorySink`] keeps the batches, for tests and sweeps.
//! A [`TableSet`] chooses which tables a run writes.

use arrow_array::RecordBatch;
use arrow_ipc::writer::FileWriter;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Every table a run can write, in the order they are documented.
pub const TABLES: [&str; 15] = [
    "rounds",
    "nodes",
    "transfers",
    "ledger",
    "blocks",
    "epochs",
    "operators",
    "operator_epochs",
    "offences",
    "behaviours",
    "proposals",
    "votes",
    "concentration",
    "jobs",
    "datasets",
];

/// Receives a run's records, a batch of rows of one table at a time. A
/// table's first batch fixes its schema; later batches must match it.
pub trait Sink {
    /// Whether the run should produce `table` at all (skipping a table
    /// skips the work and memory of building it).
    fn wants(&self, table: &str) -> bool;

    /// Appends a batch of rows to `table`.
    fn write(&mut self, table: &'static str, batch: &RecordBatch) -> std::io::Result<()>;
}

/// Which tables a run writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSet(Option<Vec<String>>);

impl Default for TableSet {
    fn default() -> Self {
        TableSet::all()
    }
}

impl TableSet {
    /// Every table the run produces.
    pub fn all() -> TableSet {
        TableSet(None)
    }

    /// A comma-separated list such as `rounds,epochs`; unknown names are
    /// an error that lists the known ones.
    pub fn parse(list: &str) -> Result<TableSet, String> {
        let mut names = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.strip_suffix(".arrow").unwrap_or(name);
            if !TABLES.contains(&name) {
                return Err(format!(
                    "unknown table `{name}`, expected some of {}",
                    TABLES.join(", ")
                ));
            }
            names.push(name.to_string());
        }
        if names.is_empty() {
            return Err(format!(
                "expected a comma-separated list of tables: {}",
                TABLES.join(", ")
            ));
        }
        Ok(TableSet(Some(names)))
    }

    /// Whether `table` is chosen.
    pub fn contains(&self, table: &str) -> bool {
        self.0.as_ref().is_none_or(|t| t.iter().any(|n| n == table))
    }
}

/// A file writer that hashes (SHA-256) and counts what passes through, so
/// `run.json` can list every table's size and digest without reading the
/// tables back.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, bytes written and their hex SHA-256.
    pub fn finish(self) -> (W, u64, String) {
        let digest = self.hasher.finalize();
        (self.inner, self.bytes, hex(&digest))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Lower-case hex of bytes (one implementation, shared with the ledger).
pub use dmlsim_models::econ::ledger::hex;

/// A table written to its file: name, rows, size and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenTable {
    /// Table name, e.g. `rounds`.
    pub name: &'static str,
    /// Rows written.
    pub rows: u64,
    /// File size, bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

struct OpenTable {
    tmp: PathBuf,
    path: PathBuf,
    writer: FileWriter<BufWriter<HashingWriter<std::fs::File>>>,
    rows: u64,
}

/// Batches queued for the writer thread at most: enough to keep it busy,
/// few enough that a slow disk holds back the run instead of filling memory.
const QUEUED_BATCHES: usize = 16;

/// Streams tables into `DIR/NAME.arrow` files. Encoding, hashing and file
/// writes happen on a writer thread of the sink's own, so the run goes on
/// while its last batches are written; batches keep their order, so the
/// files are the same bytes as if the run wrote them itself.
pub struct ArrowFileSink {
    tables: TableSet,
    queue: Option<std::sync::mpsc::SyncSender<(&'static str, RecordBatch)>>,
    writer: Option<std::thread::JoinHandle<TableFiles>>,
}

/// The open table files, owned by the writer thread while the run goes on.
struct TableFiles {
    dir: PathBuf,
    open: BTreeMap<&'static str, OpenTable>,
    /// The first write that failed; the thread stops at it.
    error: Option<std::io::Error>,
}

impl ArrowFileSink {
    /// A sink writing the chosen `tables` into `dir` (which must exist).
    pub fn new(dir: &Path, tables: TableSet) -> ArrowFileSink {
        let (queue, batches) = std::sync::mpsc::sync_channel(QUEUED_BATCHES);
        let mut files = TableFiles {
            dir: dir.to_path_buf(),
            open: BTreeMap::new(),
            error: None,
        };
        let writer = std::thread::Builder::new()
            .name("dmlsim-tables".into())
            .spawn(move || {
                for (table, batch) in batches {
                    if let Err(e) = files.write(table, &batch) {
                        files.error = Some(e);
                        break; // dropping the receiver fails the next send
                    }
                }
                files
            })
            .expect("cannot start the table writer thread");
        ArrowFileSink {
            tables,
            queue: Some(queue),
            writer: Some(writer),
        }
    }

    /// Waits for the writer thread to write everything queued and takes
    /// the files back from it.
    fn join(&mut self) -> std::io::Result<TableFiles> {
        self.queue = None;
        let Some(writer) = self.writer.take() else {
            return Err(std::io::Error::other(
                "the table writer stopped at an earlier error",
            ));
        };
        let mut files = writer
            .join()
            .map_err(|_| std::io::Error::other("the table writer thread panicked"))?;
        match files.error.take() {
            Some(e) => Err(e), // dropping `files` removes the partial files
            None => Ok(files),
        }
    }

    /// Finishes every table and moves it into place; returns each table's
    /// name, rows, size and digest, in table order.
    pub fn finish(mut self) -> std::io::Result<Vec<WrittenTable>> {
        self.join()?.finish()
    }
}

impl TableFiles {
    fn write(&mut self, table: &'static str, batch: &RecordBatch) -> std::io::Result<()> {
        if !self.open.contains_key(table) {
            let path = self.dir.join(format!("{table}.arrow"));
            let tmp = self.dir.join(format!(".{table}.arrow.partial"));
            let file = BufWriter::new(HashingWriter::new(super::table::create_exclusive(&tmp)?));
            let writer =
                FileWriter::try_new(file, &batch.schema()).map_err(std::io::Error::other)?;
            self.open.insert(
                table,
                OpenTable {
                    tmp,
                    path,
                    writer,
                    rows: 0,
                },
            );
        }
        let t = self.open.get_mut(table).expect("just opened");
        t.writer
            .write(batch)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", t.tmp.display())))?;
        t.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<Vec<WrittenTable>> {
        let mut done = Vec::new();
        let mut order: Vec<(&'static str, OpenTable)> =
            std::mem::take(&mut self.open).into_iter().collect();
        order.sort_by_key(|(name, _)| TABLES.iter().position(|t| t == name));
        // On an error the tables not yet renamed are removed, none is left half-written.
        let mut result = Ok(());
        for (name, mut t) in order {
            if result.is_ok() {
                let tmp = t.tmp.clone();
                let written = (|| {
                    t.writer.finish().map_err(std::io::Error::other)?;
                    let mut w = t.writer.into_inner().map_err(std::io::Error::other)?;
                    w.flush()?;
                    let (file, bytes, sha256) =
                        w.into_inner().map_err(|e| e.into_error())?.finish();
                    file.sync_all()?;
                    std::fs::rename(&t.tmp, &t.path)?;
                    Ok(WrittenTable {
                        name,
                        rows: t.rows,
                        bytes,
                        sha256,
                    })
                })()
                .map_err(|e: std::io::Error| {
                    std::io::Error::new(e.kind(), format!("{}: {e}", tmp.display()))
                });
                match written {
                    Ok(w) => {
                        done.push(w);
                        continue;
                    }
                    Err(e) => result = Err(e),
                }
            }
            let _ = std::fs::remove_file(&t.tmp);
        }
        result.map(|()| done)
    }
}

impl Sink for ArrowFileSink {
    fn wants(&self, table: &str) -> bool {
        self.tables.contains(table)
    }

    fn write(&mut self, table: &'static str, batch: &RecordBatch) -> std::io::Result<()> {
        if !self.wants(table) {
            return Ok(());
        }
        let Some(queue) = &self.queue else {
            return Err(std::io::Error::other(
                "the table writer stopped at an earlier error",
            ));
        };
        if queue.send((table, batch.clone())).is_err() {
            // The writer stopped at an error: report it now, not at the end
            // (and never drop the batch silently).
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| std::io::Error::other("the table writer stopped")));
        }
        Ok(())
    }
}

impl Drop for ArrowFileSink {
    /// A sink dropped before [`ArrowFileSink::finish`] (a failed run)
    /// leaves no partial files behind.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.join();
        }
    }
}

impl Drop for TableFiles {
    /// Files not finished and renamed into place are removed.
    fn drop(&mut self) {
        for t in self.open.values() {
            let _ = std::fs::remove_file(&t.tmp);
        }
    }
}

/// Keeps every batch in memory, table by table.
#[derive(Default)]
pub struct MemorySink {
    /// Batches per table, in arrival order.
    pub tables: BTreeMap<&'static str, Vec<RecordBatch>>,
}

impl Sink for MemorySink {
    fn wants(&self, _table: &str) -> bool {
        true
    }

    fn write(&mut self, table: &'static str, batch: &RecordBatch) -> std::io::Result<()> {
        self.tables.entry(table).or_default().push(batch.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, UInt64Array};
    use std::sync::Arc;

    fn batch(values: &[u64]) -> RecordBatch {
        RecordBatch::try_from_iter([(
            "x",
            Arc::new(UInt64Array::from(values.to_vec())) as ArrayRef,
        )])
        .unwrap()
    }

    #[test]
    fn a_file_sink_streams_batches_into_one_table_and_leaves_no_partials() {
        let dir = std::env::temp_dir().join(format!("dmlsim-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut sink = ArrowFileSink::new(&dir, TableSet::parse("blocks").unwrap());
        sink.write("blocks", &batch(&[1, 2])).unwrap();
        sink.write("blocks", &batch(&[3])).unwrap();
        sink.write("rounds", &batch(&[9])).unwrap(); // not chosen
        let written = sink.finish().unwrap();
        assert_eq!(
            (written.len(), written[0].name, written[0].rows),
            (1, "blocks", 3)
        );
        let bytes = std::fs::read(dir.join("blocks.arrow")).unwrap();
        assert_eq!(written[0].bytes, bytes.len() as u64);
        assert_eq!(written[0].sha256, hex(&Sha256::digest(&bytes)));
        let file = std::fs::File::open(dir.join("blocks.arrow")).unwrap();
        let rows: usize = arrow_ipc::reader::FileReader::try_new(file, None)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 3);
        assert!(!dir.join("rounds.arrow").exists());
        assert!(!dir.join(".blocks.arrow.partial").exists());
        // A sink dropped unfinished removes its temporary files.
        let mut failed = ArrowFileSink::new(&dir, TableSet::all());
        failed.write("ledger", &batch(&[1])).unwrap();
        drop(failed);
        assert!(!dir.join(".ledger.arrow.partial").exists());
        assert!(!dir.join("ledger.arrow").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_write_error_on_the_writer_thread_reaches_the_run_and_leaves_no_files() {
        let dir = std::env::temp_dir().join(format!("dmlsim-sink-gone-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The folder does not exist: the writer thread fails to create the file.
        let mut sink = ArrowFileSink::new(&dir, TableSet::all());
        let mut failure = None;
        for _ in 0..1_000 {
            if let Err(e) = sink.write("rounds", &batch(&[1])) {
                failure = Some(e);
                break;
            }
        }
        // The error arrives at a later write (the queue filled or the writer
        // had stopped) or, at the latest, at finish.
        let error = match failure {
            Some(e) => {
                let again = sink.write("rounds", &batch(&[2])).unwrap_err();
                assert!(again.to_string().contains("earlier error"), "{again}");
                assert!(sink.finish().is_err());
                e
            }
            None => sink.finish().unwrap_err(),
        };
        assert!(
            error.to_string().contains(".rounds.arrow.partial"),
            "the error names the file: {error}"
        );
        assert!(!dir.exists());
    }

    #[test]
    fn table_sets_name_known_tables_only() {
        let t = TableSet::parse("rounds, epochs.arrow").unwrap();
        assert!(t.contains("rounds") && t.contains("epochs") && !t.contains("ledger"));
        assert!(TableSet::all().contains("ledger"));
        assert_eq!(
            TableSet::parse("rounds,ledgr").unwrap_err(),
            "unknown table `ledgr`, expected some of rounds, nodes, transfers, ledger, blocks, epochs, operators, operator_epochs, offences, behaviours, proposals, votes, concentration, jobs, datasets"
        );
        assert!(TableSet::parse(" , ").is_err());
    }
}
