#!/usr/bin/env bash
# bench/sync.sh: save -> running code with `todo-dev watch`, synced into the
# running container against rebuilt, on a machine with only Docker.
#
#   bench/sync.sh            (BENCH_EDITS=20 BENCH_REBUILDS=5)
#
# What runs: the ignored test `bench_sync_against_rebuild` in
# tests/sync_bench.rs (cargo test --release -- --ignored --nocapture), which
#   - writes a project whose backend is a minimal FastAPI app built like the
#     reference backend (embedded/app/backend: code owned by root, uid 10001,
#     `sh -c "exec uvicorn ..."`), with the sync rule app/**/*.py -> /app/app/;
#   - runs `todo-dev watch --json` against the fake API server (a Rust test
#     fixture: tests/support/apiserver.rs) and the fake minikube, whose
#     docker-env is this machine's real dockerd over TCP+TLS, so `up` builds
#     the images into it and applies the dev variant;
#   - starts the backend image in the real dockerd the way the dev variant's
#     Deployment says (writable root filesystem, its `uvicorn --reload`
#     command, uid 10001) and has the fake API server report the backend's
#     pods with that container's ID (`docker://...`), as Minikube's docker
#     runtime does;
#   - BENCH_EDITS times: writes a new version of a handler (GET /edit answers
#     the edit's number), and times save -> `watch.done` of the sync (the
#     files are in the container) and save -> the new answer served;
#   - BENCH_REBUILDS times: the same edit with `--set services.backend.sync=[]`:
#     save -> image built and rolled, and save -> served by a container
#     started from the new image (what a new pod does, minus scheduling and
#     readiness probes: a real cluster is slower).
# The last lines are the p50/p95 figures, ending with
# `served p50 N ms p95 N ms` (save -> new response through sync). Goals
# (docs: issue 10): save -> file p95 within debounce (100 ms) + 100 ms;
# save -> served p95 under 1 s.
#
# Docker: with TODO_DEV_TEST_TLS_DOCKER_HOST and TODO_DEV_TEST_TLS_CERT_PATH
# set (a dockerd speaking TLS with those client certs, and the local base
# image todo-dev-test/python:3.11 in it), it uses that daemon; otherwise it
# runs itself under `scripts/test.sh --setup-only`, which starts dockerd with
# test certificates, makes the base images, and stops what it started. The
# images the run builds are named tdbench-sync-<pid>-* and removed at the end.
set -euo pipefail
export LC_ALL=C

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
repo_root=$(cd "$(dirname "$self")/.." && pwd)

# shellcheck source=SCRIPTDIR/lib.sh
source "$repo_root/bench/lib.sh"

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/p' "$self" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
        ;;
esac

for n in "${BENCH_EDITS:=20}" "${BENCH_REBUILDS:=5}"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_EDITS and BENCH_REBUILDS must be positive integers"
done
export BENCH_EDITS BENCH_REBUILDS

tls_bench_daemon "$self" "$@"

python_image=${TODO_DEV_TEST_PYTHON_IMAGE:-todo-dev-test/python:3.11}
tls_docker image inspect "$python_image" >/dev/null 2>&1 ||
    die "base image $python_image is not in the daemon (scripts/base-images.sh makes it)"
export TODO_DEV_TEST_PYTHON_IMAGE=$python_image

export BENCH_IMAGE_PREFIX=tdbench-sync-$$
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local -a ours=()
    # only the repositories this run made
    mapfile -t ours < <(tls_docker image ls --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
        grep "^$BENCH_IMAGE_PREFIX-" || true)
    if ((${#ours[@]})); then
        tls_docker image rm "${ours[@]}" >/dev/null 2>&1 || log "warning: could not remove ${ours[*]}"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "cargo test --release --test sync_bench (the first time compiles the release build)"
cd "$repo_root"
# --locked: never rewrite Cargo.lock from a benchmark; the figures go to stdout
cargo test --release --locked --test sync_bench -- --ignored --nocapture --test-threads 1 \
    bench_sync_against_rebuild |
    grep -v -E '^(running [0-9]+ tests?|test result:.*|test bench_sync_against_rebuild.*|ok|)$'
