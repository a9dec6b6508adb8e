#!/usr/bin/env bash
# bench/watch.sh: `todo-dev watch --dry-run --json` against watchexec, side
# by side in one run on the same trees, with the same debounce and ignores;
# prints the figures and the ratios.
#
#   bench/watch.sh     (BENCH_EDITS=100, BENCH_IDLE=60 seconds, TODO_DEV=path
#                       to skip cargo, WATCHEXEC=path to skip cargo install)
#
# Trees (copied or generated in a temp dir):
#   todo-app   examples/todo-app (frontend/, backend/, ~10 files)
#   50k        frontend/ with node_modules/ (1,000 packages x 50 files), src/
#              (60 files), backend/ (a small FastAPI app): 50,000+ files
#
# Both tools watch frontend/ and backend/ at once. Per tree:
#   latency    BENCH_EDITS edits, alternating frontend/src and backend/app
#              files, each a real content change, 400 ms apart. Save-to-decision
#              is the time from just before the write to todo-dev's `decidedAt`,
#              and to the moment watchexec's command ran (it appends
#              $EPOCHREALTIME to a file). p50 and p95.
#   idle       CPU % (utime+stime from /proc/PID/stat) and RSS (VmRSS) of each
#              process over BENCH_IDLE seconds with nothing changing.
#   watches    inotify watches held: `inotify wd:` lines in /proc/PID/fdinfo/*.
# ratio = todo-dev / watchexec: below 1 means todo-dev uses less / is faster.
#
# watchexec: $WATCHEXEC, else `watchexec` on PATH, else `cargo install
# watchexec-cli` (into ~/.cargo/bin). Flags: --debounce 100ms --postpone
# --no-vcs-ignore --no-project-ignore --no-global-ignore, and an --ignore per
# name todo-dev never watches (node_modules, .git, ...) and per editor temp
# pattern, so both skip the same paths.
#
# todo-dev: $TODO_DEV if set, else the release binary in $CARGO_TARGET_DIR
# (default ~/.cache/todo-dev-target), rebuilt first when missing or older than
# the sources.
set -euo pipefail
# EPOCHREALTIME must print a '.' and sort must be numeric-plain
export LC_ALL=C

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
repo_root=$(cd "$(dirname "$self")/.." && pwd)
EDITS=${BENCH_EDITS:-100}
IDLE=${BENCH_IDLE:-60}
for v in EDITS IDLE; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || {
        echo "BENCH_$v must be a positive integer" >&2
        exit 2
    }
done
DEBOUNCE_MS=100

# shellcheck source=SCRIPTDIR/lib.sh
source "$repo_root/bench/lib.sh"

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/p' "$self" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
        ;;
esac

# ---------------------------------------------------------------------------
# The two binaries
# ---------------------------------------------------------------------------

ensure_watchexec() {
    if [[ -n ${WATCHEXEC:-} ]]; then
        [[ -x $WATCHEXEC ]] || die "WATCHEXEC=$WATCHEXEC is not an executable"
        return 0
    fi
    if ! WATCHEXEC=$(command -v watchexec); then
        log "installing watchexec (cargo install watchexec-cli)"
        cargo install --locked watchexec-cli >&2 || die "cargo install watchexec-cli failed"
        WATCHEXEC=$HOME/.cargo/bin/watchexec
    fi
}

ensure_binary
ensure_watchexec
[[ -d /proc/self/fdinfo ]] || die "needs Linux /proc (CPU, RSS and inotify figures come from it)"
CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/todo-dev-watch-bench.XXXXXX")
PIDS=()

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Trees
# ---------------------------------------------------------------------------
tree_todo_app() {
    cp -a "$repo_root/examples/todo-app/." "$1/"
    mkdir -p "$1/frontend/src"
    printf 'export const app = 0;\n' >"$1/frontend/src/app.js"
}

tree_50k() {
    local d=$1 f
    mkdir -p "$d/frontend/src/components" "$d/frontend/src/lib" "$d/backend/app/api"
    make_node_modules "$d/frontend"
    for ((f = 0; f < 30; f++)); do
        printf 'export const C%d = () => "c%d";\n' "$f" "$f" >"$d/frontend/src/components/c$f.tsx"
        printf 'export const l%d = %d;\n' "$f" "$f" >"$d/frontend/src/lib/l$f.ts"
    done
    printf 'export const app = 0;\n' >"$d/frontend/src/app.js"
    printf '{"name": "bench", "private": true}\n' >"$d/frontend/package.json"
    printf 'node_modules\n' >"$d/frontend/.dockerignore"
    printf 'fastapi\n' >"$d/backend/requirements.txt"
    printf '' >"$d/backend/app/__init__.py"
    printf 'print(0)\n' >"$d/backend/app/main.py"
    for ((f = 0; f < 10; f++)); do printf 'R%d = %d\n' "$f" "$f" >"$d/backend/app/api/r$f.py"; done
}

# ---------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------
# cpu_ticks PID: utime + stime
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
watches() { cat "/proc/$1/fdinfo/"* 2>/dev/null | grep -c '^inotify wd:' || true; }

# lines FILE: how many lines it has now
lines() { wc -l <"$1"; }

# wait_lines FILE N: until FILE has at least N lines (10 s at most)
wait_lines() {
    local deadline=$((SECONDS + 10))
    while (($(lines "$1") < $2)); do
        ((SECONDS < deadline)) || die "no new line in $1 after 10 s"
        sleep 0.02
    done
}

# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE
pct() { sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END { i = int((p * NR + 99) / 100); if (i < 1) i = 1; printf "%.1f", a[i] }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

ROWS=()

bench_tree() {
    local name=$1 gen=$2 dir=$WORK/$1
    mkdir -p "$dir"
    log "$name: preparing the tree"
    "$gen" "$dir"
    local files
    files=$(find "$dir" -type f | wc -l)
    local td_out=$WORK/$name.td.jsonl wx_out=$WORK/$name.wx.txt
    : >"$wx_out"

    "$TODO_DEV" --project "$dir" --set "watch.debounce=${DEBOUNCE_MS}ms" watch --dry-run --json \
        >"$td_out" 2>"$WORK/$name.td.err" &
    local td_pid=$!
    PIDS+=("$td_pid")
    local -a ignores=()
    local n
    for n in .git node_modules .venv venv __pycache__ .next dist build target \
        .pytest_cache .mypy_cache .todo-dev; do
        ignores+=(--ignore "**/$n" --ignore "**/$n/**")
    done
    for n in '**/4913' '**/*~' '**/.*.swp' '**/.*.swx' '**/*___jb_tmp___' \
        '**/*___jb_old___' '**/.#*' '**/*-go-tmp-umask'; do
        ignores+=(--ignore "$n")
    done
    (cd "$dir" && exec "$WATCHEXEC" --debounce "${DEBOUNCE_MS}ms" --postpone --quiet \
        --no-vcs-ignore --no-project-ignore --no-global-ignore \
        --watch frontend --watch backend "${ignores[@]}" \
        --shell bash -- "echo \$EPOCHREALTIME >>'$wx_out'") \
        >/dev/null 2>"$WORK/$name.wx.err" &
    local wx_pid=$!
    PIDS+=("$wx_pid")

    wait_lines "$td_out" 1
    grep -q '"watch.ready"' "$td_out" || die "todo-dev did not get ready: $(cat "$WORK/$name.td.err")"
    # watchexec prints nothing when ready: give it the time its walk takes
    sleep 3

    log "$name: $EDITS edits"
    local i f t0 td_n wx_n
    : >"$WORK/$name.td.lat"
    : >"$WORK/$name.wx.lat"
    for ((i = 1; i <= EDITS; i++)); do
        if ((i % 2)); then f=$dir/frontend/src/app.js; else f=$dir/backend/app/main.py; fi
        # the first line each tool prints after the write is its answer to it
        td_n=$(($(lines "$td_out") + 1))
        wx_n=$(($(lines "$wx_out") + 1))
        t0=$EPOCHREALTIME
        printf '# edit %d\nexport const v = %d;\n' "$i" "$i" >"$f"
        wait_lines "$td_out" "$td_n"
        wait_lines "$wx_out" "$wx_n"
        sed -n "${td_n}p" "$td_out" |
            sed -n 's/.*"decidedAt":\([0-9.]*\).*/\1/p' |
            awk -v t0="$t0" '{ printf "%.3f\n", ($1 - t0) * 1000 }' >>"$WORK/$name.td.lat"
        sed -n "${wx_n}p" "$wx_out" |
            awk -v t0="$t0" '{ printf "%.3f\n", ($1 - t0) * 1000 }' >>"$WORK/$name.wx.lat"
        sleep 0.4
    done
    td_n=$(lines "$td_out")
    local td_extra=$((td_n - 1 - EDITS)) wx_extra=$(($(lines "$wx_out") - EDITS))
    ((td_extra == 0 && wx_extra == 0)) ||
        log "$name: answers beyond one per edit: todo-dev $td_extra, watchexec $wx_extra"
    (($(lines "$WORK/$name.td.lat") == EDITS)) || die "todo-dev: $(lines "$WORK/$name.td.lat") of $EDITS decisions parsed"

    log "$name: idle for ${IDLE}s"
    local td_c0 wx_c0 td_c1 wx_c1
    td_c0=$(cpu_ticks "$td_pid")
    wx_c0=$(cpu_ticks "$wx_pid")
    sleep "$IDLE"
    td_c1=$(cpu_ticks "$td_pid")
    wx_c1=$(cpu_ticks "$wx_pid")
    local td_cpu wx_cpu td_rss wx_rss td_w wx_w
    td_cpu=$(awk -v d=$((td_c1 - td_c0)) -v hz="$CLK_TCK" -v s="$IDLE" 'BEGIN { printf "%.2f", d / hz / s * 100 }')
    wx_cpu=$(awk -v d=$((wx_c1 - wx_c0)) -v hz="$CLK_TCK" -v s="$IDLE" 'BEGIN { printf "%.2f", d / hz / s * 100 }')
    td_rss=$(awk -v k="$(rss_kb "$td_pid")" 'BEGIN { printf "%.1f", k / 1024 }')
    wx_rss=$(awk -v k="$(rss_kb "$wx_pid")" 'BEGIN { printf "%.1f", k / 1024 }')
    td_w=$(watches "$td_pid")
    wx_w=$(watches "$wx_pid")
    # no change set besides the edits: the idle minute decided nothing
    (($(lines "$td_out") == td_n)) || die "todo-dev reported changes while idle"

    local td50 td95 wx50 wx95
    td50=$(pct "$WORK/$name.td.lat" 50)
    td95=$(pct "$WORK/$name.td.lat" 95)
    wx50=$(pct "$WORK/$name.wx.lat" 50)
    wx95=$(pct "$WORK/$name.wx.lat" 95)
    ROWS+=("$name ($files files)|latency p50 (ms)|$td50|$wx50|$(ratio "$td50" "$wx50")")
    ROWS+=("|latency p95 (ms)|$td95|$wx95|$(ratio "$td95" "$wx95")")
    ROWS+=("|idle CPU % over ${IDLE}s|$td_cpu|$wx_cpu|$(ratio "$td_cpu" "$wx_cpu")")
    ROWS+=("|RSS (MB)|$td_rss|$wx_rss|$(ratio "$td_rss" "$wx_rss")")
    ROWS+=("|inotify watches|$td_w|$wx_w|$(ratio "$td_w" "$wx_w")")

    kill "$td_pid" "$wx_pid" 2>/dev/null || true
    wait "$td_pid" "$wx_pid" 2>/dev/null || true
    PIDS=()
    rm -rf "$dir"
}

# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
log "todo-dev: $TODO_DEV; watchexec: $WATCHEXEC ($("$WATCHEXEC" --version 2>/dev/null | head -n 1))"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bench_tree todo-app tree_todo_app
bench_tree 50k tree_50k
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

printf '\n%s\n' "todo-dev watch --dry-run vs watchexec (debounce ${DEBOUNCE_MS} ms, $EDITS edits, ${IDLE} s idle; $(nproc) CPUs, load $load_start -> $load_end)"
printf '%s\n' "goals: p95 <= $((DEBOUNCE_MS + 20)) ms; idle CPU < 0.5 %; RSS < 30 MB; ratio <= 1.10"
printf '| %s | %s | %s | %s | %s |\n' tree measure todo-dev watchexec 'ratio (td/wx)'
printf '|---|---|---|---|---|\n'
for row in "${ROWS[@]}"; do
    IFS='|' read -r a b c d e <<<"$row"
    printf '| %s | %s | %s | %s | %s |\n' "$a" "$b" "$c" "$d" "$e"
done
