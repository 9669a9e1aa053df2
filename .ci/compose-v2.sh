#!/usr/bin/env bash
# Docker Compose v2 — the oracle of tests/compose_oracle.rs (and the comparator
# of benches/): called by .ci/run; idempotent, cached, loud when it fails.
#
# When `docker compose version` fails, Debian trixie's `docker-compose` package
# (2.26.1-4, the version the oracle fixtures were checked against) is downloaded
# with a private apt state directory (the system's apt sources are not touched),
# kept in $DEVENV_CI_CACHE/compose-v2/ and reused on later runs, unpacked with
# `dpkg-deb -x` into $DEVENV_CI_COMPOSE_DIR and linked into the docker CLI's
# plugin directory (${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins).
#
# Knobs (for testing this script without touching the machine):
#   DEVENV_CI_CACHE        where the .deb and apt lists are kept (default /var/cache/devenv-ci)
#   DEVENV_CI_COMPOSE_DIR  where the package is unpacked (default /opt/compose-v2)
#   HOME / DOCKER_CONFIG   whose cli-plugins directory gets the link
set -euo pipefail

CACHE="${DEVENV_CI_CACHE:-/var/cache/devenv-ci}"
DEST="${DEVENV_CI_COMPOSE_DIR:-/opt/compose-v2}"
PLUGINS="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
WANT_VERSION="2.26.1-4"
STATE="$CACHE/compose-v2"
LOG="$STATE/install.log"

fail() { [[ -f "$LOG" ]] && tail -n 30 "$LOG" >&2; echo "ERROR: docker compose v2: $*" >&2; exit 1; }

command -v docker >/dev/null || fail "the docker CLI is not installed (the 'packages' phase installs docker.io)"

if version="$(docker compose version --short 2>/dev/null)"; then
  echo "docker compose $version: present"
  exit 0
fi

mkdir -p "$STATE/apt/lists/partial" "$STATE/apt/cache/archives/partial" "$DEST" "$PLUGINS"
: >"$LOG"

deb="$(ls -1 "$STATE"/docker-compose_*.deb 2>/dev/null | sort -V | tail -n 1 || true)"
if [[ -n "$deb" ]]; then
  echo "using the cached package $deb"
else
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -f "$keyring" ]] || fail "$keyring is missing (install debian-archive-keyring)"
  echo "deb [signed-by=$keyring] http://deb.debian.org/debian trixie main" >"$STATE/apt/sources.list"
  O=(-o "Dir::Etc::sourcelist=$STATE/apt/sources.list" -o "Dir::Etc::sourceparts=-"
     -o "Dir::State::Lists=$STATE/apt/lists" -o "Dir::Cache=$STATE/apt/cache")
  echo "downloading docker-compose from Debian trixie (log: $LOG)"
  apt-get "${O[@]}" update >>"$LOG" 2>&1 || fail "apt-get update of the trixie lists failed (log: $LOG)"
  if ! (cd "$STATE" && apt-get "${O[@]}" download "docker-compose=$WANT_VERSION") >>"$LOG" 2>&1; then
    echo "warning: docker-compose $WANT_VERSION is no longer in trixie; taking trixie's current version (the oracle fixtures were checked against $WANT_VERSION)" >&2
    (cd "$STATE" && apt-get "${O[@]}" download docker-compose) >>"$LOG" 2>&1 || fail "apt-get download docker-compose failed (log: $LOG)"
  fi
  deb="$(ls -1 "$STATE"/docker-compose_*.deb 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$deb" ]] || fail "the download left no docker-compose_*.deb in $STATE (log: $LOG)"
fi

if ! dpkg-deb -x "$deb" "$DEST" >>"$LOG" 2>&1; then
  rm -f "$deb"
  fail "dpkg-deb -x $deb $DEST failed; the package was removed from the cache, a rerun downloads it again (log: $LOG)"
fi
plugin="$DEST/usr/libexec/docker/cli-plugins/docker-compose"
[[ -x "$plugin" ]] || fail "$deb has no $plugin"
ln -sf "$plugin" "$PLUGINS/docker-compose"
version="$(docker compose version --short 2>>"$LOG")" || fail "installed $plugin and linked it into $PLUGINS, but \`docker compose version\` still fails (log: $LOG)"
echo "docker compose $version: installed ($plugin, linked from $PLUGINS)"
