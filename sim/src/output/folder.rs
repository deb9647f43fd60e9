//! The output folder as one unit: a run writes into a fresh hidden staging
//! folder beside `--out` and swaps it into place only when every table and
//! `run.json` are complete, so `--out` always holds exactly one whole run
//! (or the previous one, or nothing) — never a mix of two runs, never a
//! table without its `run.json`. A lock file beside the folder refuses a
//! second run into the same folder while one is writing.
//!
//! For `--out results/x` the run uses, in `results/`:
//! - `.x.lock`: held (`flock`) while the run lives, removed at the end;
//! - `.x.dmlsim-new`: the staging folder the tables are written into;
//! - `.x.dmlsim-old`: the previous run, briefly, while it is being removed.
//!
//! Leftovers of a killed run (a staging folder, an old folder) are removed
//! by the next run into the same folder, under the lock.

use super::sink::TABLES;
use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Paths to remove if the process must abort (a second Ctrl-C): staging
/// folders and lock files of the live runs. Guarded so an abort waits
/// for a swap in progress to finish.
static ABORT_CLEANUP: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every live run's staging folder and lock file, waiting for a
/// swap in progress to finish first; for an abort that leaves no partial
/// files behind. `--out` keeps whatever it held before.
pub fn remove_partial_outputs() {
    let paths = ABORT_CLEANUP.lock().unwrap_or_else(|p| p.into_inner());
    for p in paths.iter() {
        remove_any(p);
    }
}

fn register(path: &Path) {
    let mut paths = ABORT_CLEANUP.lock().unwrap_or_else(|p| p.into_inner());
    paths.push(path.to_path_buf());
}

fn deregister(path: &Path) {
    let mut paths = ABORT_CLEANUP.lock().unwrap_or_else(|p| p.into_inner());
    paths.retain(|p| p != path);
}

/// Why an output folder cannot be used.
#[derive(Debug)]
pub enum ClaimError {
    /// An I/O error on the named path.
    Io(PathBuf, std::io::Error),
    /// Another run holds the folder's lock.
    Busy {
        /// The output folder.
        folder: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The other run's process id, when the lock file names it.
        pid: Option<u32>,
    },
    /// The folder holds files dmlsim did not write; replacing it would
    /// delete them.
    Foreign {
        /// The output folder.
        folder: PathBuf,
        /// One of the files in the way.
        file: OsString,
    },
}

impl std::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimError::Io(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            ClaimError::Busy { folder, lock, pid } => {
                write!(
                    f,
                    "{} is being written by another dmlsim run",
                    folder.display()
                )?;
                if let Some(pid) = pid {
                    write!(f, " (pid {pid})")?;
                }
                write!(
                    f,
                    "; wait for it to finish or choose another --out (its lock: {})",
                    lock.display()
                )
            }
            ClaimError::Foreign { folder, file } => write!(
                f,
                "refusing to replace {}: it holds `{}`, which dmlsim did not write, and a run replaces the whole folder; choose a new or empty folder for --out",
                folder.display(),
                file.to_string_lossy()
            ),
        }
    }
}

impl std::error::Error for ClaimError {}

/// An output folder claimed by this run: locked, with an empty staging
/// folder to write into. Dropped without [`OutputFolder::commit`], it
/// removes the staging folder and leaves `--out` as it was.
#[derive(Debug)]
pub struct OutputFolder {
    target: PathBuf,
    staging: PathBuf,
    old: PathBuf,
    lock_path: PathBuf,
    lock: Option<File>,
}

impl OutputFolder {
    /// Claims `out` for a run: takes its lock, removes a killed run's
    /// leftovers, checks that the folder (if it exists) holds only files a
    /// run wrote, and creates the staging folder and a probe file in it —
    /// so an unwritable `--out` fails before anything is simulated.
    pub fn claim(out: &Path) -> Result<OutputFolder, ClaimError> {
        let (parent, name) = resolve(out)?;
        let sibling = |suffix: &str| {
            let mut n = OsString::from(".");
            n.push(&name);
            n.push(suffix);
            parent.join(n)
        };
        let target = parent.join(&name);
        let lock_path = sibling(".lock");
        let lock = acquire_lock(&target, &lock_path)?;
        let folder = OutputFolder {
            staging: sibling(".dmlsim-new"),
            old: sibling(".dmlsim-old"),
            target,
            lock_path,
            lock: Some(lock),
        };
        register(&folder.lock_path);
        for leftover in [&folder.staging, &folder.old] {
            remove_any(leftover);
        }
        folder.check_replaceable()?;
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e| ClaimError::Io(p, e)
        };
        std::fs::create_dir(&folder.staging).map_err(io(&folder.staging))?;
        register(&folder.staging);
        let probe = folder.staging.join(".probe");
        File::create_new(&probe)
            .and_then(|mut f| f.write_all(b"dmlsim"))
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(io(&probe))?;
        Ok(folder)
    }

    /// Where the run writes its files until [`OutputFolder::commit`].
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The output folder the run will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Puts the staging folder in place of `--out` (atomically where the
    /// file system can exchange two names, else by two renames with no
    /// moment where a mixed folder exists), then removes the previous run.
    pub fn commit(mut self) -> std::io::Result<()> {
        let named = |p: &Path| {
            let p = p.display().to_string();
            move |e: std::io::Error| std::io::Error::new(e.kind(), format!("{p}: {e}"))
        };
        // Best effort: not every platform opens a folder as a file.
        let _ = File::open(&self.staging).and_then(|d| d.sync_all());
        let leftover = {
            // An abort (second Ctrl-C) waits for the swap to finish.
            let mut cleanup = ABORT_CLEANUP.lock().unwrap_or_else(|p| p.into_inner());
            let leftover = if std::fs::symlink_metadata(&self.target).is_ok() {
                swap(&self.staging, &self.target, &self.old).map_err(named(&self.target))?
            } else {
                std::fs::rename(&self.staging, &self.target).map_err(named(&self.target))?;
                None
            };
            cleanup.retain(|p| p != &self.staging);
            cleanup.extend(leftover.clone());
            leftover
        };
        if let Some(parent) = self.target.parent() {
            let _ = File::open(parent).and_then(|d| d.sync_all());
        }
        if let Some(previous) = leftover {
            remove_any(&previous);
            deregister(&previous);
        }
        self.release();
        Ok(())
    }

    /// Refuses a folder holding anything but what a run writes: tables,
    /// `run.json`, the files its manifest lists, hidden temporary files.
    fn check_replaceable(&self) -> Result<(), ClaimError> {
        let Ok(entries) = std::fs::read_dir(&self.target) else {
            return match std::fs::symlink_metadata(&self.target) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(ClaimError::Io(self.target.clone(), e)),
                Ok(_) => Err(ClaimError::Io(
                    self.target.clone(),
                    std::io::Error::other("it exists and is not a folder"),
                )),
            };
        };
        let listed = manifest_names(&self.target.join("run.json"));
        for entry in entries {
            let entry = entry.map_err(|e| ClaimError::Io(self.target.clone(), e))?;
            let name = entry.file_name();
            let is_file = entry.file_type().is_ok_and(|t| !t.is_dir());
            let s = name.to_string_lossy();
            let ours = s == "run.json"
                || s.strip_suffix(".arrow")
                    .is_some_and(|t| TABLES.contains(&t))
                || (s.starts_with('.') && s.ends_with(".partial"))
                || listed.iter().any(|l| *l == s);
            if !(ours && is_file) {
                return Err(ClaimError::Foreign {
                    folder: self.target.clone(),
                    file: name,
                });
            }
        }
        Ok(())
    }

    fn release(&mut self) {
        if let Some(lock) = self.lock.take() {
            // Removed while still held, so no one locks the old file after us.
            let _ = std::fs::remove_file(&self.lock_path);
            drop(lock);
            deregister(&self.lock_path);
        }
    }
}

impl Drop for OutputFolder {
    /// An uncommitted run (failed, or refused) leaves `--out` untouched and
    /// no staging folder behind.
    fn drop(&mut self) {
        if self.lock.is_some() {
            remove_any(&self.staging);
            deregister(&self.staging);
            self.release();
        }
    }
}

/// The folder's parent (made absolute, symlinks resolved, created if
/// missing) and the folder's name. An existing `--out` that is a symlink
/// to a folder is replaced at the folder it points to.
fn resolve(out: &Path) -> Result<(PathBuf, OsString), ClaimError> {
    let io = |e| ClaimError::Io(out.to_path_buf(), e);
    let target = if std::fs::symlink_metadata(out).is_ok() {
        std::fs::canonicalize(out).map_err(io)?
    } else {
        let name = out.file_name().ok_or_else(|| {
            io(std::io::Error::other(
                "not a folder name (it ends in `..` or is a root)",
            ))
        })?;
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io)?;
        std::fs::canonicalize(parent).map_err(io)?.join(name)
    };
    match (target.parent(), target.file_name()) {
        (Some(parent), Some(name)) => Ok((parent.to_path_buf(), name.to_os_string())),
        _ => Err(io(std::io::Error::other(
            "a root folder cannot be replaced by a run",
        ))),
    }
}

/// Takes the lock file without blocking. The file is opened (created if
/// missing, a symlink at its name removed first) and locked; if a run
/// releasing it removed the file meanwhile, the lock is on an orphan and
/// the step is repeated.
pub(crate) fn acquire_lock(target: &Path, path: &Path) -> Result<File, ClaimError> {
    let io = |e| ClaimError::Io(path.to_path_buf(), e);
    loop {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(path).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Err(ClaimError::Busy {
                    folder: target.to_path_buf(),
                    lock: path.to_path_buf(),
                    pid,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        if same_file(&file, path) {
            file.set_len(0)
                .and_then(|()| writeln!(file, "{}", std::process::id()))
                .map_err(io)?;
            return Ok(file);
        }
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Puts `new` at `target`; returns where the previous content now is.
fn swap(new: &Path, target: &Path, old: &Path) -> std::io::Result<Option<PathBuf>> {
    if exchange(new, target)? {
        return Ok(Some(new.to_path_buf()));
    }
    std::fs::rename(target, old)?;
    if let Err(e) = std::fs::rename(new, target) {
        // Put the previous run back rather than leave no run at all.
        let _ = std::fs::rename(old, target);
        return Err(e);
    }
    Ok(Some(old.to_path_buf()))
}

/// Exchanges two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`);
/// `Ok(false)` where the file system or platform cannot.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both pointers are valid NUL-terminated strings for the call's duration.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// The file names a previous run's `run.json` lists in `files`.
fn manifest_names(run_json: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read(run_json) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    value["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect()
}

/// Removes a file, symlink or folder tree at `path` (never following a
/// symlink); a missing path is fine.
fn remove_any(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dmlsim-folder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_commit_replaces_the_whole_folder_and_leaves_nothing_beside_it() {
        let dir = scratch("commit");
        let out = dir.join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("ledger.arrow"), "stale").unwrap();
        std::fs::write(out.join("run.json"), "{}").unwrap();
        let f = OutputFolder::claim(&out).unwrap();
        assert!(names(f.staging()).is_empty(), "the probe is gone");
        std::fs::write(f.staging().join("rounds.arrow"), "new").unwrap();
        std::fs::write(f.staging().join("run.json"), "{}").unwrap();
        // Untouched until the commit.
        assert_eq!(names(&out), ["ledger.arrow", "run.json"]);
        f.commit().unwrap();
        assert_eq!(names(&out), ["rounds.arrow", "run.json"]);
        assert_eq!(names(&dir), ["out"], "no lock, staging or old folder");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dropped_claim_leaves_the_folder_as_it_was() {
        let dir = scratch("drop");
        let out = dir.join("nested/out");
        let f = OutputFolder::claim(&out).unwrap();
        std::fs::write(f.staging().join("rounds.arrow"), "half").unwrap();
        drop(f);
        assert!(!out.exists());
        assert!(names(&dir.join("nested")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_second_claim_is_refused_while_the_first_holds_the_lock() {
        let dir = scratch("busy");
        let out = dir.join("out");
        let first = OutputFolder::claim(&out).unwrap();
        let err = OutputFolder::claim(&out).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ClaimError::Busy { .. }), "{msg}");
        assert!(msg.contains("another dmlsim run"), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        // Released: the next run may claim it.
        OutputFolder::claim(&out).unwrap().commit().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folders_with_foreign_files_and_killed_runs_leftovers() {
        let dir = scratch("foreign");
        let out = dir.join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        let err = OutputFolder::claim(&out).unwrap_err().to_string();
        assert!(
            err.contains("`notes.txt`, which dmlsim did not write"),
            "{err}"
        );
        assert_eq!(names(&out), ["notes.txt"]);
        // A file a previous run's manifest lists is its own.
        std::fs::write(
            out.join("run.json"),
            r#"{"files": [{"name": "notes.txt"}]}"#,
        )
        .unwrap();
        // A killed run's staging folder is swept away by the next claim.
        std::fs::create_dir(dir.join(".out.dmlsim-new")).unwrap();
        std::fs::write(dir.join(".out.dmlsim-new/rounds.arrow"), "x").unwrap();
        let f = OutputFolder::claim(&out).unwrap();
        assert!(names(f.staging()).is_empty());
        drop(f);
        let file = dir.join("file");
        std::fs::write(&file, "").unwrap();
        let err = OutputFolder::claim(&file).unwrap_err().to_string();
        assert!(err.contains("not a folder"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
