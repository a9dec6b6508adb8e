# shellcheck shell=bash
# bench/lib.sh: what the benchmark scripts share (sourced, not run):
# logging and the todo-dev binary to measure.

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# ensure_binary: $TODO_DEV if set, else the release binary in
# $CARGO_TARGET_DIR (default ~/.cache/todo-dev-target), rebuilt first when
# missing or older than the sources.
ensure_binary() {
    if [[ -n ${TODO_DEV:-} ]]; then
        [[ -x $TODO_DEV ]] || die "TODO_DEV=$TODO_DEV is not an executable"
        return 0
    fi
    local repo target=${CARGO_TARGET_DIR:-$HOME/.cache/todo-dev-target}
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    local bin=$target/release/todo-dev newer=
    if [[ -x $bin ]]; then
        # everything compiled into the binary, not just src/
        newer=$(cd "$repo" && find src embedded profiles Cargo.toml Cargo.lock \
            -newer "$bin" -print -quit 2>/dev/null)
    fi
    if [[ ! -x $bin || -n $newer ]]; then
        log "building the release binary (${newer:+$newer changed; }CARGO_TARGET_DIR=$target)"
        # --locked: never rewrite Cargo.lock from a benchmark
        (cd "$repo" && CARGO_TARGET_DIR=$target cargo build --release --locked >&2) ||
            die "cargo build --release failed; fix it, or point TODO_DEV at a binary"
    fi
    TODO_DEV=$bin
}

# make_node_modules DIR: DIR/node_modules with 1000 packages of 50 small
# files each (50,000 files): the tree a watcher or a context must not crawl.
make_node_modules() {
    local base=$1 p f pkg
    local -a dirs=()
    for ((p = 0; p < 1000; p++)); do
        printf -v pkg '%s/node_modules/pkg-%04d' "$base" "$p"
        dirs+=("$pkg/lib")
    done
    mkdir -p "${dirs[@]}"
    for pkg in "${dirs[@]}"; do
        pkg=${pkg%/lib}
        printf '{"name": "%s", "version": "1.0.0"}\n' "${pkg##*/}" >"$pkg/package.json"
        printf 'module.exports = require("./lib/f0.js");\n' >"$pkg/index.js"
        printf '# %s\n' "${pkg##*/}" >"$pkg/README.md"
        for ((f = 0; f < 47; f++)); do
            printf 'module.exports = function f%d(x) { return x + %d; };\n' "$f" "$f" >"$pkg/lib/f$f.js"
        done
    done
}

daemon_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# bench_daemon SELF ARGS...: the binary built, then a Docker daemon that
# answers: the caller's, or (when none does) scripts/test.sh --setup-only
# re-running SELF --inner ARGS with its own dockerd, stopped afterwards.
# The caller drops a leading --inner from its own arguments.
bench_daemon() {
    local self=$1 repo
    shift
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if [[ ${1:-} == --inner ]]; then
        # test.sh unsets DOCKER_HOST; aim at the daemon it readied, over its socket
        [[ -z ${TODO_DEV_TEST_TLS_DOCKER_SOCKET:-} ]] || export DOCKER_HOST=$TODO_DEV_TEST_TLS_DOCKER_SOCKET
        ensure_binary
        return 0
    fi
    # build before any daemon starts, so a slow cargo is not in the daemon's window
    ensure_binary
    export TODO_DEV
    if ! daemon_answers; then
        [[ -z ${DOCKER_HOST:-} ]] ||
            die "DOCKER_HOST=$DOCKER_HOST does not answer; unset it to let the script start a daemon"
        log "no Docker daemon answers: running under scripts/test.sh --setup-only"
        exec "$repo/scripts/test.sh" --setup-only -- "$self" --inner "$@"
    fi
}

# tls_bench_daemon SELF ARGS...: the TLS dockerd the test setup names
# (TODO_DEV_TEST_TLS_DOCKER_HOST and TODO_DEV_TEST_TLS_CERT_PATH), checked to
# answer; with none named, SELF --inner ARGS re-run under
# scripts/test.sh --setup-only, which starts one and stops it afterwards.
tls_bench_daemon() {
    local self=$1 repo
    shift
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if [[ -z ${TODO_DEV_TEST_TLS_DOCKER_HOST:-} || -z ${TODO_DEV_TEST_TLS_CERT_PATH:-} ]]; then
        [[ ${1:-} != --inner ]] || die "scripts/test.sh --setup-only did not export the TLS daemon"
        log "no TLS Docker daemon given: running under scripts/test.sh --setup-only"
        exec "$repo/scripts/test.sh" --setup-only -- "$self" --inner "$@"
    fi
    tls_docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
        die "the TLS Docker daemon $TODO_DEV_TEST_TLS_DOCKER_HOST does not answer"
}

# tls_docker ARGS...: the docker CLI against that TLS daemon.
tls_docker() {
    DOCKER_HOST=$TODO_DEV_TEST_TLS_DOCKER_HOST DOCKER_TLS_VERIFY=1 \
        DOCKER_CERT_PATH=$TODO_DEV_TEST_TLS_CERT_PATH docker "$@"
}

# timed ARRAY NAME CMD...: run CMD once (output to $WORK/NAME.out/.err),
# append its wall time in microseconds to ARRAY; a failing CMD ends the run.
timed() {
    local -n acc=$1
    local name=$2 rc=0 t0 t1
    shift 2
    t0=$EPOCHREALTIME
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    t1=$EPOCHREALTIME
    if ((rc != 0)); then
        log "failed ($rc): $*"
        tail -n 30 "$WORK/$name.out" "$WORK/$name.err" >&2
        exit 1
    fi
    acc+=($((${t1/./} - ${t0/./})))
}

# expect NAME WORD: NAME's output must say WORD
expect() {
    grep -q -- "$2" "$WORK/$1.out" "$WORK/$1.err" ||
        die "$1: expected '$2' in its output: $(tail -n 20 "$WORK/$1.out" "$WORK/$1.err")"
}

# median_ms ARRAY (microseconds) -> MED (whole milliseconds)
median_ms() {
    local -n xs=$1
    local -a s
    mapfile -t s < <(printf '%s\n' "${xs[@]}" | sort -n)
    local n=${#s[@]} med
    if ((n % 2)); then med=${s[n / 2]}; else med=$(((s[n / 2 - 1] + s[n / 2]) / 2)); fi
    # shellcheck disable=SC2034 # the result, read by the caller
    MED=$(awk -v u="$med" 'BEGIN { printf "%.0f", u / 1000 }')
}
