//! Reading an env file (`.env`, `env_file:`) safely: only a regular file, at
//! most `MAX_ENV_FILE` bytes (so `/dev/zero` or a runaway file is an error,
//! not an endless read), decoded line by line (one bad byte spoils one line,
//! not the file).
//! Must not: parse the lines (`interpolate::parse_dotenv` does).

use std::io::Read;
use std::path::Path;

/// The largest env file devenv reads.
pub const MAX_ENV_FILE: u64 = 4 * 1024 * 1024;

/// Why an env file could not be read.
#[derive(Debug)]
pub enum EnvFileError {
    NotFound,
    /// Not a regular file (a device, a FIFO, a directory).
    NotAFile,
    TooLarge { size: u64 },
    Io(std::io::Error),
}

impl std::fmt::Display for EnvFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvFileError::NotFound => write!(f, "not found"),
            EnvFileError::NotAFile => write!(f, "not a regular file"),
            EnvFileError::TooLarge { size } => write!(f, "{size} bytes or more; env files are read up to {MAX_ENV_FILE} bytes"),
            EnvFileError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The file's text and a warning per line that was not valid UTF-8 (such a
/// line is kept with U+FFFD in place of the bad bytes).
pub fn read(path: &Path) -> Result<(String, Vec<String>), EnvFileError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EnvFileError::NotFound,
        _ => EnvFileError::Io(e),
    })?;
    if !meta.is_file() {
        return Err(EnvFileError::NotAFile);
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(MAX_ENV_FILE + 1).read_to_end(&mut bytes)).map_err(EnvFileError::Io)?;
    if bytes.len() as u64 > MAX_ENV_FILE {
        return Err(EnvFileError::TooLarge { size: bytes.len() as u64 });
    }
    Ok(decode_lines(&bytes))
}

fn decode_lines(bytes: &[u8]) -> (String, Vec<String>) {
    let mut text = String::with_capacity(bytes.len());
    let mut warnings = Vec::new();
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        match std::str::from_utf8(line) {
            Ok(s) => text.push_str(s),
            Err(_) => {
                warnings.push(format!("line {}: not valid UTF-8; the bad bytes are read as U+FFFD", i + 1));
                text.push_str(&String::from_utf8_lossy(line));
            }
        }
    }
    (text, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bad_byte_spoils_one_line_not_the_file() {
        let (text, warnings) = decode_lines(b"A=1\nB=\xff2\nC=3\n");
        assert_eq!(text, "A=1\nB=\u{fffd}2\nC=3\n");
        assert_eq!(warnings, vec!["line 2: not valid UTF-8; the bad bytes are read as U+FFFD".to_string()]);
    }

    #[test]
    fn devices_directories_and_huge_files_are_refused() {
        assert!(matches!(read(Path::new("/dev/zero")), Err(EnvFileError::NotAFile)));
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(read(dir.path()), Err(EnvFileError::NotAFile)));
        assert!(matches!(read(&dir.path().join("missing")), Err(EnvFileError::NotFound)));
        let big = dir.path().join("big.env");
        std::fs::write(&big, vec![b'#'; (MAX_ENV_FILE + 10) as usize]).expect("write");
        assert!(matches!(read(&big), Err(EnvFileError::TooLarge { .. })));
        let ok = dir.path().join("ok.env");
        std::fs::write(&ok, "A=1\n").expect("write");
        assert_eq!(read(&ok).expect("read").0, "A=1\n");
    }
}
