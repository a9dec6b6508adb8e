#!/usr/bin/env bash
# bench/page.sh: the status page under a long `todo-dev watch --logs` with
# chatty logs, against the terminal it runs beside, in one run.
#
#   bench/page.sh      (BENCH_SECONDS=120, BENCH_LINES_PER_SECOND=200)
#
# What runs: the ignored test `bench_page` in tests/page.rs (cargo test
# --release -- --ignored --nocapture), which
#   - starts two `todo-dev watch --logs --json` loops on the quick app against
#     the fake API server and the fake minikube (whose docker-env is this
#     machine's real dockerd over TCP+TLS): one with the page (`--ui-port 0`)
#     and an SSE client reading its /events as the page's EventSource does,
#     one with `--no-ui`, the anchor;
#   - has each fake's backend pod print BENCH_LINES_PER_SECOND log lines a
#     second for BENCH_SECONDS (~170 bytes each, a sequence number and the
#     time it was written), and saves frontend/ every 10 s (row events among
#     the lines);
#   - prints, p50/p95/max: event -> page (the page reporter's time of the
#     event to the SSE client's read); log line -> page and -> the terminal
#     (`--json` stdout) of the same process, and -> the terminal of the run
#     without a page; the ratios; each process's RSS at the start, its max
#     and at the end; the size of the page's state at the end (200 log
#     lines a row are kept).
# A log line's figure includes the fake kubelet's follow (it polls every
# 25 ms), the same for every reader. The issue's goal: the page within
# 100 ms of the event. It fails, non-zero, when either reader lost over 1%
# of the lines (the figures would not be of the whole load).
#
# Docker: with TODO_DEV_TEST_TLS_DOCKER_HOST and TODO_DEV_TEST_TLS_CERT_PATH
# set it uses that daemon; otherwise it runs itself under
# `scripts/test.sh --setup-only`, which starts one and stops it afterwards.
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

for n in "${BENCH_SECONDS:=120}" "${BENCH_LINES_PER_SECOND:=200}"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS and BENCH_LINES_PER_SECOND must be positive integers"
done
export BENCH_SECONDS BENCH_LINES_PER_SECOND

tls_bench_daemon "$self" "$@"
# a missing daemon is a failure here, never a skipped (passing) test
export TODO_DEV_REQUIRE_DOCKER=1

log "cargo test --release --test page bench_page (the first time compiles the release build)"
cd "$repo_root"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# --locked: never rewrite Cargo.lock from a benchmark; the figures go to stdout
if ! cargo test --release --locked --test page -- --ignored --nocapture --test-threads 1 \
    bench_page >"$out" 2>&1; then
    grep -E 'panicked|lost|no event' "$out" | head -n 3 >&2 || true
    die "the page bench did not finish (above: why)"
fi
# with --nocapture the figures start on the line of "test bench_page ... "
sed -e 's/^test bench_page \.\.\. //' "$out" |
    grep -v -E '^(running [0-9]+ tests?|test result:.*|ok|)$' |
    grep -v -E '^\s+(Compiling|Finished|Running) '
