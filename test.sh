#!/usr/bin/env bash
# The project's one test command (README.md#tests): provisions what the tests
# need and is missing, then runs the whole suite. `.ci/run` (CI) calls this
# same script as root on a fresh machine; a developer runs it as themselves.
#
#   1. packages: the docker CLI/engine (docker.io), debootstrap, and the registry
#      (docker-registry, apache2-utils' htpasswd) from Debian
#   2. a Docker engine that answers (started if this script may start it)
#   3. fixtures/images/build.sh: base image + devenv-test/* stand-in images,
#      then fixtures/images/smoke.sh checks that each one starts and answers
#   3b. .ci/k8s-tools.sh: kubernetes-validate, kind and kubectl for `devenv k8s` tests
#   3c. .ci/compose-v2.sh: Docker Compose v2 (the oracle of tests/compose_oracle.rs)
#   3d. .ci/browser-tools.sh: chromium + playwright-core for tests/it/web_ui.rs (`devenv ui`)
#   4. DEVENV_REQUIRE_DOCKER=1 cargo test --locked [ARGS...]
#      (extra args are passed on, e.g. `./test.sh --test it -- lifecycle`)
#
# Every phase is idempotent and cached: a rerun with everything present spends
# a few seconds before the tests. What needs root (installing packages,
# starting dockerd, debootstrap) is done when running as root; otherwise the
# script lists exactly what is missing and the command that provides it, and
# exits 3 before running any test.
#
# Env knobs:
#   DEVENV_CI_SKIP_TESTS=1   provision only (phases 1-3)
#   DEVENV_CI_CACHE          slow things cached outside the checkout
#                            (default /var/cache/devenv-ci as root, else ~/.cache/devenv-ci)
#   DEVENV_CI_DOCKERD_LOG    where a dockerd started by this script logs (default /tmp/dockerd.log)
#   DEVENV_CI_DOCKER_WAIT    seconds to wait for a freshly started dockerd (default 60)
set -euo pipefail

# The test command itself.
TEST_CMD='DEVENV_REQUIRE_DOCKER=1 cargo test --locked'

APT_PACKAGES=(docker.io debootstrap ca-certificates)
# The registry tests (tests/it/k8s_cluster.rs) start their own instances of
# Debian's CNCF distribution registry on 127.0.0.1 (own config, storage and
# port each); htpasswd (apache2-utils) makes the bcrypt file of the
# authenticated one. Nothing is started here.
APT_PACKAGES+=(docker-registry apache2-utils)

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IS_ROOT=0; [[ "$(id -u)" == 0 ]] && IS_ROOT=1
if (( IS_ROOT )); then
  export DEVENV_CI_CACHE="${DEVENV_CI_CACHE:-/var/cache/devenv-ci}"
else
  export DEVENV_CI_CACHE="${DEVENV_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/devenv-ci}"
  export DEVENV_CI_COMPOSE_DIR="${DEVENV_CI_COMPOSE_DIR:-$DEVENV_CI_CACHE/compose-v2/root}"
fi
DOCKERD_LOG="${DEVENV_CI_DOCKERD_LOG:-/tmp/dockerd.log}"
DOCKER_WAIT_SECONDS=${DEVENV_CI_DOCKER_WAIT:-60}

# ---- timing helpers --------------------------------------------------------
TIMINGS=()
PHASE=""
PHASE_T0=0
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
phase() {  # phase NAME: end the current phase (if any) and start NAME
  end_phase
  PHASE="$1"; PHASE_T0="$(now)"
  printf '\n==> [%s] %s\n' "$(date +%T)" "$PHASE"
}
end_phase() {
  if [[ -n "$PHASE" ]]; then
    TIMINGS+=("$(printf '%-28s %7ss' "$PHASE" "$(elapsed "$PHASE_T0")")")
    PHASE=""
  fi
}
RUN_T0="$(now)"
summary() {
  local rc=$?
  [[ -n "$PHASE" && $rc -ne 0 ]] && PHASE="$PHASE (FAILED)"
  end_phase
  printf '\n==> timings\n'
  printf '  %s\n' "${TIMINGS[@]}"
  printf '  %-28s %7ss\n' "total" "$(elapsed "$RUN_T0")"
  if [[ $rc -eq 0 ]]; then echo "==> test.sh: OK"; else echo "==> test.sh: FAILED (exit $rc)" >&2; fi
}
trap summary EXIT
die() { echo "ERROR: $*" >&2; exit 1; }

# Things this user cannot provide: collected, printed together, exit 3.
CANNOT=()
cannot() { CANNOT+=("$1"); }
stop_if_cannot() {
  (( ${#CANNOT[@]} == 0 )) && return 0
  echo >&2
  echo "ERROR: the tests need these, and this script cannot provide them without root:" >&2
  printf '  - %s\n' "${CANNOT[@]}" >&2
  echo "Do the above (or run: sudo ./test.sh), then run ./test.sh again." >&2
  exit 3
}

# ---- 1. packages -----------------------------------------------------------
phase "packages"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  case "$pkg" in
    # an engine that already answers (any packaging, or DOCKER_HOST) is fine
    docker.io) docker info >/dev/null 2>&1 || command -v dockerd >/dev/null || missing+=("$pkg") ;;
    # only needed to make the base image when it is absent and cannot be pulled
    debootstrap) command -v debootstrap >/dev/null || (( ! IS_ROOT )) || missing+=("$pkg") ;;
    *) [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == 'install ok installed' ]] || missing+=("$pkg") ;;
  esac
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "all present"
elif (( IS_ROOT )); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$DEVENV_CI_CACHE"
  apt_log="$DEVENV_CI_CACHE/apt.log"
  if ! { apt-get update && apt-get install -y "${missing[@]}"; } >"$apt_log" 2>&1; then
    tail -n 40 "$apt_log" >&2
    die "apt-get failed to install ${missing[*]} (full log: $apt_log)"
  fi
  echo "installed (log: $apt_log)"
else
  cannot "Debian packages ${missing[*]}: sudo apt-get install -y ${missing[*]} (or Docker's own packages)"
fi
stop_if_cannot

# ---- 2. docker engine ------------------------------------------------------
phase "docker engine"
start_dockerd() {
  if [[ -n "${DOCKER_HOST:-}" ]]; then
    echo "warning: DOCKER_HOST=$DOCKER_HOST is set but does not answer; starting a local dockerd anyway" >&2
  fi
  echo "starting dockerd (log: $DOCKERD_LOG)"
  # setsid + nohup: the daemon must outlive this script (reruns reuse it)
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  local dockerd_pid=$! deadline=$((SECONDS + DOCKER_WAIT_SECONDS))
  until docker info >/dev/null 2>&1; do
    if ! kill -0 "$dockerd_pid" 2>/dev/null || (( SECONDS >= deadline )); then
      echo "---- last lines of $DOCKERD_LOG ----" >&2
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "the docker engine did not come up (see $DOCKERD_LOG). The integration tests need a working engine and are never skipped here; fix dockerd and rerun."
    fi
    sleep 0.5
  done
  echo "docker engine answers after $(( DOCKER_WAIT_SECONDS - (deadline - SECONDS) ))s"
}
if docker info >/dev/null 2>&1; then
  echo "docker engine answers: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}')"
elif (( IS_ROOT )); then
  command -v dockerd >/dev/null || die "docker info fails and there is no dockerd to start"
  start_dockerd
elif [[ "$(docker info 2>&1 || true)" == *"permission denied"* ]]; then
  cannot "access to the Docker socket: sudo usermod -aG docker $USER, then log in again"
else
  cannot "a running Docker engine: sudo systemctl start docker (or sudo dockerd &)"
fi
stop_if_cannot

# ---- 3. images -------------------------------------------------------------
phase "images (build.sh)"
"$REPO/fixtures/images/build.sh"

# A broken fixture image should fail here, with a clear message, rather than
# as a confusing devenv test failure (takes ~10 s).
phase "images smoke test"
"$REPO/fixtures/images/smoke.sh"

# ---- 3b. Kubernetes tooling -------------------------------------------------
# kubernetes-validate (PyPI, pinned, in a venv) and trixie's kind + kubectl,
# unpacked, all cached under $DEVENV_CI_CACHE; the `devenv k8s` tests find
# them through these variables. No cluster is created (no registry here).
phase "k8s tools"
"$REPO/.ci/k8s-tools.sh"
export DEVENV_KUBERNETES_VALIDATE="$DEVENV_CI_CACHE/kubernetes-validate/bin/kubernetes-validate"
export DEVENV_K8S_TOOLS="$DEVENV_CI_CACHE/k8s-tools/usr/bin"

# ---- 3c. Docker Compose v2 --------------------------------------------------
# The oracle `docker compose config` of tests/compose_oracle.rs (required there
# under DEVENV_REQUIRE_DOCKER=1). Installed only when `docker compose version`
# fails: trixie's docker-compose .deb, kept in $DEVENV_CI_CACHE/compose-v2/.
phase "docker compose v2"
"$REPO/.ci/compose-v2.sh"

# ---- 3d. headless browser ---------------------------------------------------
# `devenv ui` is tested in a real browser (tests/it/web_ui.rs): Debian's
# chromium (apt, root) and playwright-core from npm (pinned, cached in
# $DEVENV_CI_CACHE/playwright). A missing one fails here, never skips.
phase "browser tools"
"$REPO/.ci/browser-tools.sh"
export DEVENV_CHROMIUM="${DEVENV_CHROMIUM:-$(command -v chromium)}"
export DEVENV_PLAYWRIGHT_DIR="$DEVENV_CI_CACHE/playwright"

# ---- 4. tests --------------------------------------------------------------
if [[ "${DEVENV_CI_SKIP_TESTS:-0}" == 1 ]]; then
  echo "DEVENV_CI_SKIP_TESTS=1: not running '$TEST_CMD'"
  exit 0
fi
phase "tests"
if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || die "cargo not found (install a Rust toolchain, e.g. rustup, so that 'cargo' is on PATH)"
echo "$(cargo --version); CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}"
echo "+ $TEST_CMD $*"
cd "$REPO"
eval "$TEST_CMD" '"$@"'
