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
