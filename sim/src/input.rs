//! Reading input files — scenarios, data tables, price series — with size
//! limits applied while reading, not taken from file metadata: `/dev/zero`
//! or a pipe reports a size of 0 and would otherwise be read until memory
//! runs out.

use std::io::Read;
use std::path::Path;

/// Environment variable that raises (or lowers) [`data_limit`].
pub const DATA_LIMIT_VAR: &str = "DMLSIM_MAX_DATA_BYTES";

/// Default limit on a data file (dataset table or price series): 2 GiB.
pub const DEFAULT_DATA_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

/// The limit on a data file: `DMLSIM_MAX_DATA_BYTES` when set to a number
/// of bytes, else [`DEFAULT_DATA_LIMIT`].
pub fn data_limit() -> u64 {
    std::env::var(DATA_LIMIT_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_DATA_LIMIT)
}

/// Reads at most `limit` bytes of `path`; a file with more is refused
/// (whatever its metadata says) with a message naming the limit.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// Opens a data file for reading: it must be a regular file (not a pipe
/// or a device) of at most `limit` bytes.
pub fn open_data_file(path: &Path, limit: u64) -> Result<std::fs::File, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(
            "not a regular file (data files are read from disk, not from pipes or devices)".into(),
        );
    }
    if meta.len() > limit {
        return Err(format!("{} bytes; {}", meta.len(), too_large(limit)));
    }
    Ok(file)
}

fn too_large(limit: u64) -> String {
    format!("larger than the limit of {limit} bytes (raise it with {DATA_LIMIT_VAR}=BYTES)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn endless_inputs_are_refused_at_the_limit() {
        let e = read_limited(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(e.contains("larger than the limit of 1024 bytes"), "{e}");
        let e = open_data_file(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
