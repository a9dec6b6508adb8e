#!/usr/bin/env bash
# bench/build.sh: `todo-dev build` against the docker CLI, side by side, on
# the same daemon and the same generated contexts; prints the ratios.
#
#   bench/build.sh            (BENCH_RUNS=5, TODO_DEV=path to skip cargo)
#
# Cases (generated in a temp dir, same bytes every run):
#   small-app   a FastAPI-like tree, ~200 files / ~2 MB sent, a .dockerignore
#               dropping .venv, .git, __pycache__ and friends
#   50k-ignored 50,000 files under node_modules/ (ignored) plus a small src/
#   200mb       4 x 50 MB files plus a few small ones
# Dockerfile in every case: `FROM scratch` + `COPY . /ctx`, so after the first
# build both tools hit the daemon's cache and the time is the context work.
#
# Measures, each run BENCH_RUNS times, the two tools alternating (and
# swapping who goes first every round), median and min reported:
#   send        `todo-dev build --force` vs `docker build -q -t X .`:
#               both pack and send the whole context, the COPY is cached
#   unchanged   a second `todo-dev build` (content hash + one inspect, nothing
#               sent) vs a fully cached `docker build` (the CLI has no way to
#               skip sending, so this is the same command as for `send`)
# ratio = docker median / todo-dev median: above 1 means todo-dev is faster.
#
# Docker: whatever daemon the docker CLI reaches (DOCKER_HOST etc. honoured,
# todo-dev reads the same variables). When none answers, the script re-runs
# itself under `scripts/test.sh --setup-only`, which starts dockerd and stops
# it afterwards. The docker CLI uses the classic builder (DOCKER_BUILDKIT=0),
# the same /build API todo-dev speaks.
#
# todo-dev: $TODO_DEV if set, else the release binary in $CARGO_TARGET_DIR
# (default ~/.cache/todo-dev-target), rebuilt first when missing or older than
# the sources. Images it makes are tagged tdbench-<pid>-<case> and removed at
# the end, with the temp dir.
set -euo pipefail
# EPOCHREALTIME must print a '.' and sort must be numeric-plain
export LC_ALL=C

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
repo_root=$(cd "$(dirname "$self")/.." && pwd)
RUNS=${BENCH_RUNS:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || {
    echo "BENCH_RUNS must be a positive integer" >&2
    exit 2
}

# shellcheck source=SCRIPTDIR/lib.sh
source "$repo_root/bench/lib.sh"

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/p' "$self" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
        ;;
esac

# ---------------------------------------------------------------------------
# The binary and the daemon
# ---------------------------------------------------------------------------
# the clock starts before cargo and any daemon start (reported at the end)
[[ ${1:-} == --inner ]] || export TODO_DEV_BENCH_T0=$EPOCHREALTIME
bench_daemon "$self" "$@"
: "${TODO_DEV_BENCH_T0:=$EPOCHREALTIME}"
daemon_answers || die "the Docker daemon does not answer (docker version)"
command -v openssl >/dev/null || die "openssl is needed to generate the contexts"

# the classic builder for both (todo-dev honours DOCKER_BUILDKIT too): this
# measures context work; bench/buildkit.sh compares the builders
export DOCKER_BUILDKIT=0
PREFIX=tdbench-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/todo-dev-bench.XXXXXX")

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local -a ours=()
    # only the tags this run made; rmi also drops their untagged parent layers
    mapfile -t ours < <(docker image ls --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
        grep "^$PREFIX-" || true)
    if ((${#ours[@]})); then
        docker image rm "${ours[@]}" >/dev/null 2>&1 || log "warning: could not remove ${ours[*]}"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Deterministic content
# ---------------------------------------------------------------------------
# prng BYTES SEED: AES-128-CTR over zeros with a fixed key; the same bytes on
# every machine and openssl version, and incompressible like real assets.
prng() {
    local iv
    printf -v iv '%032x' "$2"
    head -c "$1" /dev/zero |
        openssl enc -aes-128-ctr -nosalt -K 746f646f2d6465762d62656e63682121 -iv "$iv"
}

# a small LCG in shell arithmetic for sizes and counts (no fork per file)
RNG=1
rnd() { # rnd MAX -> R in [0, MAX)
    RNG=$(((RNG * 1103515245 + 12345) % 2147483648))
    R=$(((RNG >> 8) % $1))
}

# slice POOL OFFSET LEN: LEN bytes of POOL from OFFSET
slice() { dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none; }

DOCKERFILE=$'FROM scratch\nCOPY . /ctx\n'

# project DIR REPO: the todo-dev.yaml building DIR/app as REPO
project() {
    cat >"$1/todo-dev.yaml" <<EOF
profile: lite
services:
  frontend: {enabled: false}
  backend: {context: app, image: $2, dockerfile: Dockerfile}
EOF
    printf '%s' "$DOCKERFILE" >"$1/app/Dockerfile"
}

gen_small_app() {
    local c=$1/app pool=$WORK/pool.txt off=0 pkg n i f
    mkdir -p "$c"
    prng 1600000 1 | base64 -w 76 >"$pool" # ~2.1 MB of text to cut source files from
    local pool_size
    pool_size=$(stat -c %s "$pool")
    RNG=1
    # package -> module count: ~150 Python files
    local -a pkgs=(app:3 app/api:2 app/api/routes:9 app/core:5 app/db:4 app/models:18
        app/schemas:18 app/services:16 app/crud:14 app/utils:8 app/workers:5
        tests:26 tests/api:12 alembic:2 alembic/versions:12)
    for pkg in "${pkgs[@]}"; do
        n=${pkg#*:}
        pkg=${pkg%%:*}
        mkdir -p "$c/$pkg/__pycache__"
        printf '"""%s package."""\n' "$pkg" >"$c/$pkg/__init__.py"
        for ((i = 0; i < n; i++)); do
            rnd 14000
            local size=$((1500 + R))
            ((off + size > pool_size)) && off=0
            f=$c/$pkg/module_$i.py
            {
                printf '"""%s/module_%d: generated for the todo-dev benchmark."""\n' "$pkg" "$i"
                printf 'from fastapi import APIRouter\n\nrouter = APIRouter()\nBLOB = """\n'
                slice "$pool" "$off" "$size"
                printf '"""\n'
            } >"$f"
            off=$((off + size))
            # bytecode next to every module: ignored by **/__pycache__
            printf 'pyc %s %d\n' "$pkg" "$i" >"$c/$pkg/__pycache__/module_$i.cpython-312.pyc"
        done
    done
    printf 'from app.api.routes import module_0\n' >"$c/app/main.py"
    mkdir -p "$c/static/img"
    for ((i = 0; i < 8; i++)); do
        rnd 80000
        prng $((40000 + R)) $((100 + i)) >"$c/static/img/asset_$i.png"
    done
    printf 'fastapi==0.115.0\nuvicorn==0.30.0\nsqlmodel==0.0.22\n' >"$c/requirements.txt"
    printf '[project]\nname = "todo-backend"\nversion = "0.1.0"\n' >"$c/pyproject.toml"
    printf '# todo backend\n' >"$c/README.md"
    printf '[alembic]\nscript_location = alembic\n' >"$c/alembic.ini"
    # ignored: a virtualenv, VCS data, caches, secrets, logs
    for ((i = 0; i < 40; i++)); do
        mkdir -p "$c/.venv/lib/python3.12/site-packages/pkg_$i"
        for ((f = 0; f < 10; f++)); do
            printf 'x = %d\n' "$f" >"$c/.venv/lib/python3.12/site-packages/pkg_$i/m_$f.py"
        done
    done
    for ((i = 0; i < 16; i++)); do
        mkdir -p "$c/.git/objects/$i"
        for ((f = 0; f < 12; f++)); do printf 'blob %d %d\n' "$i" "$f" >"$c/.git/objects/$i/o_$f"; done
    done
    printf 'ref: refs/heads/main\n' >"$c/.git/HEAD"
    mkdir -p "$c/.pytest_cache/v"
    printf '{}\n' >"$c/.pytest_cache/v/lastfailed"
    printf 'DATABASE_URL=postgresql://bench\n' >"$c/.env"
    printf 'log line\n' >"$c/app.log"
    printf '%s\n' .git .venv '**/__pycache__' '**/*.pyc' .pytest_cache .env '*.log' >"$c/.dockerignore"
}

gen_50k() {
    local c=$1/app f
    mkdir -p "$c/src/components" "$c/src/lib"
    # 50,000 files, all under the ignored node_modules
    make_node_modules "$c"
    for ((f = 0; f < 30; f++)); do
        printf 'export const C%d = () => "component %d";\n' "$f" "$f" >"$c/src/components/c$f.tsx"
        printf 'export const l%d = %d;\n' "$f" "$f" >"$c/src/lib/l$f.ts"
    done
    printf '{"name": "bench-frontend", "private": true}\n' >"$c/package.json"
    printf '{"compilerOptions": {"strict": true}}\n' >"$c/tsconfig.json"
    printf '%s\n' node_modules .git '*.log' >"$c/.dockerignore"
}

gen_200mb() {
    local c=$1/app i
    mkdir -p "$c/data" "$c/src"
    for ((i = 0; i < 4; i++)); do
        prng $((50 * 1024 * 1024)) $((200 + i)) >"$c/data/blob_$i.bin"
    done
    for ((i = 0; i < 20; i++)); do
        printf 'print("part %d")\n' "$i" >"$c/src/part_$i.py"
    done
    printf '%s\n' '*.tmp' .git >"$c/.dockerignore"
}

# the docker image id must not move: proof every docker run was fully cached
DOCKER_ID=
expect_cached_docker() {
    local id
    id=$(tail -n 1 "$WORK/$1.out")
    [[ -n $DOCKER_ID ]] || DOCKER_ID=$id
    [[ $id == "$DOCKER_ID" ]] || die "docker build was not fully cached: image $id, before $DOCKER_ID"
}

# stats ARRAY -> MED MIN (milliseconds, 1 decimal)
stats() {
    local -n xs=$1
    local -a s
    mapfile -t s < <(printf '%s\n' "${xs[@]}" | sort -n)
    local n=${#s[@]} med
    if ((n % 2)); then med=${s[n / 2]}; else med=$(((s[n / 2 - 1] + s[n / 2]) / 2)); fi
    MED=$(awk -v u="$med" 'BEGIN { printf "%.1f", u / 1000 }')
    MIN=$(awk -v u="${s[0]}" 'BEGIN { printf "%.1f", u / 1000 }')
}

ROWS=()
NOTES=()

bench_case() {
    local name=$1 gen=$2 dir=$WORK/$1 repo=$PREFIX-$1
    mkdir -p "$dir/app"
    local g0=$SECONDS
    log "$name: generating"
    "$gen" "$dir"
    project "$dir" "$repo"
    log "$name: generated in $((SECONDS - g0))s"
    local ctx=$dir/app
    local -a td=("$TODO_DEV" --no-color --project "$dir" build)
    local -a dk=(docker build -q -t "$repo:docker" "$ctx")

    # what is sent, per todo-dev (the docker CLI's rules are the same, by its conformance tests)
    local files bytes
    files=$("$TODO_DEV" context "$ctx" --list | wc -l)
    bytes=$("$TODO_DEV" --json context "$ctx" --size | sed -n 's/^  "bytes": \([0-9]*\).*/\1/p')
    local on_disk
    on_disk=$(find "$ctx" -type f | wc -l)

    # warm-up: the first real build fills the daemon's cache, page cache too
    # shellcheck disable=SC2034 # warm-up times are thrown away
    local -a warm=()
    timed warm td-first "${td[@]}" --force
    timed warm dk-first "${dk[@]}"
    DOCKER_ID=
    expect_cached_docker dk-first
    timed warm td-second "${td[@]}"
    expect td-second unchanged

    # shellcheck disable=SC2034 # filled by timed, read by stats (namerefs)
    local -a td_send=() dk_send=() td_same=() dk_same=() scan=()
    local i
    for ((i = 1; i <= RUNS; i++)); do
        log "$name: round $i/$RUNS"
        # who goes first flips every round, so drift and ordering cancel out
        if ((i % 2)); then
            timed td_send td-send "${td[@]}" --force
            expect td-send built
            timed dk_send dk-send "${dk[@]}"
            expect_cached_docker dk-send
            timed dk_same dk-same "${dk[@]}"
            expect_cached_docker dk-same
            timed td_same td-same "${td[@]}"
            expect td-same unchanged
        else
            timed dk_send dk-send "${dk[@]}"
            expect_cached_docker dk-send
            timed td_send td-send "${td[@]}" --force
            expect td-send built
            timed td_same td-same "${td[@]}"
            expect td-same unchanged
            timed dk_same dk-same "${dk[@]}"
            expect_cached_docker dk-same
        fi
        # todo-dev's walk + .dockerignore alone (no hash, no daemon): where the time goes
        timed scan scan "$TODO_DEV" context "$ctx" --list
    done

    local what
    what="$files of $on_disk files, $(awk -v b="$bytes" 'BEGIN { if (b < 1e6) printf "%.0f kB", b / 1e3; else printf "%.1f MB", b / 1e6 }')"
    local tm tn dm dn
    stats td_send
    tm=$MED tn=$MIN
    stats dk_send
    dm=$MED dn=$MIN
    ROWS+=("$name|$what|context packing + transfer|$tm|$tn|$dm|$dn")
    stats td_same
    tm=$MED tn=$MIN
    stats dk_same
    dm=$MED dn=$MIN
    ROWS+=("$name|$what|nothing changed|$tm|$tn|$dm|$dn")
    stats scan
    NOTES+=("$name: todo-dev context --list (walk + .dockerignore only) median $MED ms, min $MIN ms")
    rm -rf "$dir" # 200 MB per case is enough on disk at once
}

# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
log "todo-dev: $TODO_DEV; work dir: $WORK; $RUNS runs per measure"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bench_case small-app gen_small_app
bench_case 50k-ignored gen_50k
bench_case 200mb gen_200mb
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

server=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')
client=$(docker version --format '{{.Client.Version}}')
driver=$(docker info --format '{{.Driver}}' 2>/dev/null || echo '?')
echo
echo "todo-dev build vs docker build (classic builder), same daemon, same contexts"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "docker: daemon $server, storage $driver, CLI $client; DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}"
echo "todo-dev: $("$TODO_DEV" --version) ($TODO_DEV)"
echo "runs: $RUNS per measure, alternating; load average $load_start at start, $load_end at end"
echo
fmt='%-12s %-26s %-26s %20s %20s %9s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" case "sent (of on disk)" measure "todo-dev med (min)" "docker med (min)" docker/td
slower=()
for row in "${ROWS[@]}"; do
    IFS='|' read -r c w m tm tn dm dn <<<"$row"
    ratio=$(awk -v d="$dm" -v t="$tm" 'BEGIN { printf "%.2fx", d / t }')
    awk -v d="$dm" -v t="$tm" 'BEGIN { exit !(d < t) }' && slower+=("$c / $m ($ratio)")
    # shellcheck disable=SC2059
    printf "$fmt" "$c" "$w" "$m" "$tm ms ($tn)" "$dm ms ($dn)" "$ratio"
done
echo
echo "ratio = docker median / todo-dev median; above 1 means todo-dev is faster."
if ((${#slower[@]})); then
    echo "goal (todo-dev no slower than the docker CLI) missed on:"
    printf '  %s\n' "${slower[@]}"
else
    echo "goal met: todo-dev no slower than the docker CLI on any case"
fi
for n in "${NOTES[@]}"; do echo "$n"; done
wall=$(awk -v a="$TODO_DEV_BENCH_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
echo "wall time since bench/build.sh started: ${wall}s (binary check, daemon start, generation, all runs)"
