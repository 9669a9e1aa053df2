//! The sync channel: one long-lived `sh` in the container (an exec started
//! once per container, as root) that extracts small batches sent over its
//! standard input — so an edit costs neither a new exec nor the engine's own
//! extraction process, which is most of a sync's time on a busy machine.
//!
//! Owns: the script the container runs, the request encoding and the meaning
//! of the answers (pure). Must not: decide what is synced (`sync`), talk to
//! Docker (the watch loop does, falling back to the archive API whenever
//! this channel cannot carry a batch).
//!
//! The script refuses what the archive API with `noOverwriteDirNonDir`
//! refuses: a directory entry where the container has a symlink or a file,
//! and a non-directory where it has a directory — checked for every entry
//! before anything is extracted, so nothing is written through a link the
//! container holds. It needs `dd` and `tar` (any image with a shell and
//! coreutils or busybox); without them the watch uses the archive API.

/// The largest tar (bytes) sent this way: `dd bs=1` reads it byte by byte
/// (the only exact read every `dd` can do from a pipe), cheap for an edit,
/// not for a tree.
pub const MAX_BATCH: usize = 64 * 1024;

/// What every answer line starts with.
const TAG: &str = "devenv-sync";

/// The script (POSIX `sh`: dash, bash, busybox). One request is a line with
/// the tar's size, a line with the number of checks, that many check lines
/// (`d PATH`: must not be a symlink or a non-directory; `f PATH`: must not be
/// a directory), then exactly that many bytes of tar. After a failed
/// extraction the script exits (the rest of the request may be unread).
pub const SCRIPT: &str = r#"for t in dd tar; do command -v "$t" >/dev/null 2>&1 || { echo "devenv-sync missing $t"; exit 0; }; done
echo "devenv-sync ready"
while IFS= read -r n && IFS= read -r k; do
  bad=
  while [ "$k" -gt 0 ]; do
    IFS= read -r c || exit 0
    p=${c#? }
    case $c in
      d*) if [ -L "$p" ] || { [ -e "$p" ] && [ ! -d "$p" ]; }; then bad=${bad:-$c}; fi ;;
      f*) if [ -d "$p" ] && [ ! -L "$p" ]; then bad=${bad:-$c}; fi ;;
    esac
    k=$((k-1))
  done
  if [ -n "$bad" ]; then
    dd bs=1 count="$n" of=/dev/null 2>/dev/null
    echo "devenv-sync refused $bad"
  elif dd bs=1 count="$n" 2>/dev/null | tar -xf - -C /; then
    echo "devenv-sync ok"
  else
    echo "devenv-sync failed"
    exit 1
  fi
done
"#;

/// The command that starts the channel.
pub fn command() -> Vec<String> {
    vec!["sh".into(), "-c".into(), SCRIPT.into()]
}

/// One check of the container before extracting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A directory entry: the container must not hold a symlink or a file there.
    Dir(String),
    /// A file or symlink entry: the container must not hold a directory there.
    NotDir(String),
}

/// The bytes of one request, or `None` when this channel cannot carry it
/// (too large, or a path with a newline: the archive API takes it then).
pub fn request(tar: &[u8], checks: &[Check]) -> Option<Vec<u8>> {
    if tar.len() > MAX_BATCH {
        return None;
    }
    let mut out = format!("{}\n{}\n", tar.len(), checks.len());
    for c in checks {
        let (kind, path) = match c {
            Check::Dir(p) => ('d', p),
            Check::NotDir(p) => ('f', p),
        };
        if path.contains('\n') || path.is_empty() {
            return None;
        }
        out.push_str(&format!("{kind} {path}\n"));
    }
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(tar);
    Some(bytes)
}

/// An answer line of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The channel is up.
    Ready,
    /// The container lacks a tool the channel needs.
    Missing(String),
    /// The batch was extracted.
    Done,
    /// Nothing was extracted: the container holds the wrong kind of thing
    /// where this check looked (the first check that failed).
    Refused(Check),
    /// `tar` failed (the channel has ended).
    Failed,
    /// Anything else (the image's shell printed something of its own).
    Other(String),
}

pub fn answer(line: &str) -> Answer {
    let Some(rest) = line.strip_prefix(TAG).and_then(|r| r.strip_prefix(' ')) else {
        return Answer::Other(line.to_string());
    };
    match rest.split_once(' ') {
        None if rest == "ready" => Answer::Ready,
        None if rest == "ok" => Answer::Done,
        None if rest == "failed" => Answer::Failed,
        Some(("missing", tool)) => Answer::Missing(tool.to_string()),
        Some(("refused", check)) => match check.split_once(' ') {
            Some(("d", path)) => Answer::Refused(Check::Dir(path.to_string())),
            Some(("f", path)) => Answer::Refused(Check::NotDir(path.to_string())),
            _ => Answer::Other(line.to_string()),
        },
        _ => Answer::Other(line.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_size_checks_then_the_tar() {
        let tar = vec![7u8; 1024];
        let r = request(&tar, &[Check::Dir("/app/src".into()), Check::NotDir("/app/src/a b.py".into())]).expect("fits");
        let head = b"1024\n2\nd /app/src\nf /app/src/a b.py\n";
        assert_eq!(&r[..head.len()], head);
        assert_eq!(&r[head.len()..], &tar[..]);
    }

    #[test]
    fn what_the_channel_cannot_carry_goes_elsewhere() {
        assert!(request(&vec![0; MAX_BATCH + 1], &[]).is_none(), "too large");
        assert!(request(&[0; 512], &[Check::NotDir("/app/a\nb".into())]).is_none(), "a newline in a path");
        assert!(request(&[0; 512], &[Check::NotDir(String::new())]).is_none());
    }

    #[test]
    fn answers() {
        assert_eq!(answer("devenv-sync ready"), Answer::Ready);
        assert_eq!(answer("devenv-sync ok"), Answer::Done);
        assert_eq!(answer("devenv-sync failed"), Answer::Failed);
        assert_eq!(answer("devenv-sync missing dd"), Answer::Missing("dd".into()));
        assert_eq!(answer("devenv-sync refused d /app/src/lib dir"), Answer::Refused(Check::Dir("/app/src/lib dir".into())));
        assert_eq!(answer("devenv-sync refused f /app/x"), Answer::Refused(Check::NotDir("/app/x".into())));
        assert_eq!(answer("devenv-sync refused /app/x"), Answer::Other("devenv-sync refused /app/x".into()));
        assert_eq!(answer("motd: hello"), Answer::Other("motd: hello".into()));
        assert_eq!(answer("devenv-syncok"), Answer::Other("devenv-syncok".into()));
    }
}
