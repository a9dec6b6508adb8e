#!/usr/bin/env bash
# bench/buildkit.sh: `todo-dev build` on BuildKit against `docker build` on
# the legacy builder, side by side in one run, on the same daemon and the same
# FastAPI project built from todo-dev's own template; prints the ratios.
#
#   BENCH_PRUNE=1 bench/buildkit.sh   (BENCH_RUNS=3, TODO_DEV=path to skip cargo)
#
# Each round, on a fresh copy of the project (fastapi, uvicorn, sqlmodel from
# PyPI, through the pip of the local python base image):
#   cold        empty build cache: `todo-dev build --force` / `docker build --no-cache`
#   warm no-op  nothing changed: `todo-dev build` / `docker build` (fully cached)
#   source      one source file edited: both rebuild from the COPY of the sources
#   dependency  one requirement added (httpx): todo-dev's pip finds the others
#               in its BuildKit cache mount, the legacy builder downloads all again
# ratio = docker median / todo-dev median: above 1 means todo-dev is faster.
# It also counts the packages each tool's pip downloaded on the dependency step.
# pip keeps a download in its cache only when the index's answer allows it
# (PyPI's CDN sends Cache-Control: max-age=365000000); behind a proxy that
# strips those headers pip caches nothing, the counts are equal, and the
# script says so: the cache mount then saves no download, only BuildKit's
# own speed is measured.
#
# The docker CLI side uses the same template with the cache mounts taken off
# (the legacy builder cannot parse them: what todo-dev itself does on a daemon
# without BuildKit). `docker buildx build` would be the BuildKit anchor; no
# buildx plugin is packaged here, and the script says so when it is missing.
#
# Cold needs an empty BuildKit cache, so each round runs `docker builder prune
# -af` on the daemon: set BENCH_PRUNE=1 to allow it. With no daemon answering
# the script runs under scripts/test.sh --setup-only (its own dockerd, pruned
# freely, stopped afterwards).
set -euo pipefail
export LC_ALL=C

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
repo_root=$(cd "$(dirname "$self")/.." && pwd)
RUNS=${BENCH_RUNS:-3}
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

bench_daemon "$self" "$@"
# the daemon test.sh started is this run's own, pruned freely
[[ ${1:-} != --inner ]] || export BENCH_PRUNE=1
daemon_answers || die "the Docker daemon does not answer (docker version)"
[[ ${BENCH_PRUNE:-} == 1 ]] ||
    die "cold builds need an empty build cache: set BENCH_PRUNE=1 to let this script run 'docker builder prune -af' on this daemon, or unset DOCKER_HOST so it starts its own"
PYTHON_IMAGE=${TODO_DEV_TEST_PYTHON_IMAGE:-todo-dev-test/python:3.11}
docker image inspect "$PYTHON_IMAGE" >/dev/null 2>&1 ||
    die "no base image $PYTHON_IMAGE in the daemon (scripts/base-images.sh makes it)"
if docker buildx version >/dev/null 2>&1; then
    log "note: docker buildx is installed, but this script compares against the legacy builder only"
else
    log "no docker buildx plugin here: the docker side is 'docker build' on the legacy builder"
fi
unset DOCKER_BUILDKIT

PREFIX=tdbk-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/todo-dev-bench-bk.XXXXXX")
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local -a ours=()
    mapfile -t ours < <(docker image ls --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
        grep "^$PREFIX-" || true)
    ((${#ours[@]} == 0)) || docker image rm "${ours[@]}" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TEMPLATE=$repo_root/embedded/dockerfiles/fastapi/Dockerfile

# project DIR REPO: the same FastAPI service for both tools
project() {
    local dir=$1 repo=$2
    mkdir -p "$dir/backend/app"
    printf 'fastapi==0.115.0\nuvicorn==0.30.0\nsqlmodel==0.0.22\n' >"$dir/backend/requirements.txt"
    printf 'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get("/health")\ndef health():\n    return {"ok": True}\n' >"$dir/backend/app/main.py"
    printf '%s\n' .todo-dev __pycache__ >"$dir/backend/.dockerignore"
    printf 'profile: lite\nservices:\n  frontend: {enabled: false}\n  backend:\n    image: %s\n    buildArgs: {PYTHON_IMAGE: "%s"}\n' \
        "$repo" "$PYTHON_IMAGE" >"$dir/todo-dev.yaml"
    # the docker CLI's copy: the template beside the sources, its cache mounts off
    mkdir -p "$dir/docker/.todo-dev/template"
    sed -e 's/^RUN --mount=[^ ]* /RUN /' "$TEMPLATE" >"$dir/docker/.todo-dev/template/Dockerfile"
    grep -q -- '--mount' "$dir/docker/.todo-dev/template/Dockerfile" &&
        die "could not take the cache mounts off $TEMPLATE"
    cp -r "$dir/backend/." "$dir/docker/"
    printf '__pycache__\n' >"$dir/docker/.dockerignore"
}

# shellcheck disable=SC2034 # read through namerefs (timed, median)
declare -a td_cold=() dk_cold=() td_warm=() dk_warm=() td_src=() dk_src=() td_dep=() dk_dep=()
td_downloads=() dk_downloads=()
for ((r = 1; r <= RUNS; r++)); do
    dir=$WORK/round-$r
    repo=$PREFIX-$r
    project "$dir" "$repo"
    td=("$TODO_DEV" --no-color --project "$dir" build)
    dk=(docker build --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" -f "$dir/docker/.todo-dev/template/Dockerfile" -t "$repo:docker" "$dir/docker")
    log "round $r/$RUNS: cold"
    docker builder prune -af >/dev/null 2>&1
    timed td_cold "td-cold-$r" "${td[@]}" --force
    expect "td-cold-$r" "built in"
    export DOCKER_BUILDKIT=0
    timed dk_cold "dk-cold-$r" "${dk[@]}" --no-cache
    log "round $r/$RUNS: warm no-op"
    timed dk_warm "dk-warm-$r" "${dk[@]}"
    unset DOCKER_BUILDKIT
    timed td_warm "td-warm-$r" "${td[@]}"
    expect "td-warm-$r" "unchanged"
    log "round $r/$RUNS: one source file"
    printf '\n\n@app.get("/round")\ndef round_():\n    return {"round": %d}\n' "$r" |
        tee -a "$dir/backend/app/main.py" >>"$dir/docker/app/main.py"
    timed td_src "td-src-$r" "${td[@]}"
    expect "td-src-$r" "built in"
    export DOCKER_BUILDKIT=0
    timed dk_src "dk-src-$r" "${dk[@]}"
    log "round $r/$RUNS: one dependency"
    printf 'httpx==0.27.2\n' | tee -a "$dir/backend/requirements.txt" >>"$dir/docker/requirements.txt"
    timed dk_dep "dk-dep-$r" "${dk[@]}"
    unset DOCKER_BUILDKIT
    timed td_dep "td-dep-$r" "${td[@]}"
    expect "td-dep-$r" "built in"
    td_downloads+=("$(grep -c 'Downloading ' "$dir/.todo-dev/logs/build-backend.log" || true)")
    dk_downloads+=("$(grep -c 'Downloading ' "$WORK/dk-dep-$r.out" || true)")
done

printf '\n%-12s %12s %12s %8s\n' "step" "todo-dev ms" "docker ms" "ratio"
for step in cold warm src dep; do
    median_ms "td_$step"
    t=$MED
    median_ms "dk_$step"
    d=$MED
    ratio=$(awk -v a="$d" -v b="$t" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
    case $step in
        cold) label=cold ;; warm) label="warm no-op" ;; src) label="source" ;; dep) label="dependency" ;;
    esac
    printf '%-12s %12s %12s %8s\n' "$label" "$t" "$d" "$ratio"
done
printf '\npackages downloaded on the dependency step, per round: todo-dev %s; docker %s\n' \
    "${td_downloads[*]}" "${dk_downloads[*]}"
if [[ "${td_downloads[*]}" == "${dk_downloads[*]}" ]]; then
    printf 'note: pip downloaded as much with the cache mount as without: this network serves the index without cache headers, so pip stores nothing in its cache\n'
fi
printf 'medians of %d rounds; todo-dev on BuildKit (%s), docker build on the legacy builder; daemon %s\n' \
    "$RUNS" "$("$TODO_DEV" --version)" "$(docker version --format '{{.Server.Version}}')"
