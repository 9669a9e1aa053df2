#!/usr/bin/env bash
# Build and install the devenv binary from this checkout.
#
#   ./install.sh                  # installs into cargo's default root (~/.cargo/bin)
#   ./install.sh --root /usr/local    (or --prefix DIR, or PREFIX=DIR ./install.sh)
#
# Needs a Rust toolchain (cargo >= 1.85, for edition 2024). Docker is needed to
# *use* devenv, not to install it: a missing engine only gives a warning.
set -euo pipefail

MIN_RUST="1.85"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${PREFIX:-}"

usage() { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
say()  { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --root|--prefix) [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a directory"; ROOT="$2"; shift 2 ;;
    --root=*|--prefix=*) ROOT="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

# --- cargo ---------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"   # rustup installed, but not on PATH yet
fi
if ! command -v cargo >/dev/null 2>&1; then
  die "cargo was not found, so devenv cannot be built.
       Install a Rust toolchain (>= $MIN_RUST), e.g. with rustup:
         curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
       then open a new shell (or run: . \"\$HOME/.cargo/env\") and rerun ./install.sh"
fi
cargo_version="$(cargo --version | awk '{print $2}')"
if [[ "$(printf '%s\n%s\n' "$MIN_RUST" "${cargo_version%%-*}" | sort -V | head -n1)" != "$MIN_RUST" ]]; then
  die "cargo $cargo_version is too old: devenv needs Rust >= $MIN_RUST (edition 2024).
       With rustup: rustup update stable"
fi

# --- build and install ---------------------------------------------------
args=(install --path "$REPO" --locked)
if [[ -n "$ROOT" ]]; then
  mkdir -p "$ROOT"
  ROOT="$(cd "$ROOT" && pwd)"
  args+=(--root "$ROOT")
fi
say "cargo ${args[*]}   (cargo $cargo_version; the first build takes a few minutes)"
cargo "${args[@]}"

bin_dir="${ROOT:-${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}}/bin"
bin="$bin_dir/devenv"
[[ -x "$bin" ]] || die "cargo install finished but $bin is missing"
say "installed $bin"
"$bin" --version 2>/dev/null || true

on_path=1
if [[ "$(command -v devenv 2>/dev/null || true)" != "$bin" ]]; then
  on_path=0
  warn "$bin_dir is not first on your PATH for 'devenv'; add it, e.g.:
         export PATH=\"$bin_dir:\$PATH\""
fi

# --- docker engine (needed at run time, not for the install) -------------
if ! command -v docker >/dev/null 2>&1; then
  warn "the docker CLI was not found. devenv needs a Docker engine to run services.
         On Debian/Ubuntu: sudo apt-get install docker.io"
elif ! docker info >/dev/null 2>&1; then
  warn "'docker info' does not answer, so devenv cannot start services yet. Hints:
         - start the engine: sudo systemctl start docker   (or: sudo dockerd >/tmp/dockerd.log 2>&1 &)
         - permission denied on /var/run/docker.sock? add yourself to the docker group:
             sudo usermod -aG docker \"\$USER\"   (then log in again)
         - using a remote engine? check DOCKER_HOST (currently: ${DOCKER_HOST:-unset})
         'devenv doctor' checks all of this once the engine is up."
else
  say "docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
fi

# --- next step -----------------------------------------------------------
devenv_cmd="devenv"
[[ $on_path == 1 ]] || devenv_cmd="$bin"
printf '\nNext, start the example environment:\n\n    cd %s/envs/hello && %s up -d\n\n' "$REPO" "$devenv_cmd"
