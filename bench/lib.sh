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
