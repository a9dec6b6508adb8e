#!/usr/bin/env bash
# bench/push.sh: `todo-dev build --registry` (the push) against `docker push`,
# side by side in one run, same daemon, same image, each into a registry of
# its own (Debian's docker-registry on loopback, fresh every round, so no
# layer is shared between the two); prints the ratios.
#
#   bench/push.sh            (BENCH_RUNS=3, TODO_DEV=path to skip cargo)
#
# The image: the local python base image plus 32 MB of incompressible data,
# built once before the rounds. Each round:
#   cold     the registry is empty: every layer is uploaded
#   again    the registry has the tag: todo-dev asks for the manifest and sends
#            nothing; docker push asks for each layer ("Layer already exists")
# ratio = docker median / todo-dev median: above 1 means todo-dev is faster.
# Needs docker-registry (apt-get install docker-registry); with no daemon
# answering it runs under scripts/test.sh --setup-only.
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
daemon_answers || die "the Docker daemon does not answer (docker version)"
command -v docker-registry >/dev/null || die "docker-registry is not installed (apt-get install docker-registry)"
command -v curl >/dev/null || die "curl is not installed"
PYTHON_IMAGE=${TODO_DEV_TEST_PYTHON_IMAGE:-todo-dev-test/python:3.11}
docker image inspect "$PYTHON_IMAGE" >/dev/null 2>&1 ||
    die "no base image $PYTHON_IMAGE in the daemon (scripts/base-images.sh makes it)"

PREFIX=tdpush-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/todo-dev-bench-push.XXXXXX")
pids=()
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    local -a ours=()
    mapfile -t ours < <(docker image ls --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -- "$PREFIX" || true)
    ((${#ours[@]} == 0)) || docker image rm "${ours[@]}" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# registry NAME -> REGISTRY (127.0.0.1:PORT), a fresh one answering
registry() {
    local name=$1 port dir
    port=$(free_port)
    dir=$WORK/$name
    mkdir -p "$dir/data"
    printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
        "$dir/data" "$port" >"$dir/config.yml"
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    pids+=($!)
    local i
    for ((i = 0; i < 40; i++)); do
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" && {
            REGISTRY=127.0.0.1:$port
            return 0
        }
        sleep 0.25
    done
    die "registry $name did not start: $(tail -n 5 "$dir/log")"
}

# the image, built once by todo-dev (tag = content hash), the same for both
dir=$WORK/project
mkdir -p "$dir/backend"
head -c $((32 << 20)) /dev/urandom >"$dir/backend/blob.bin"
printf 'FROM %s\nCOPY blob.bin /blob.bin\n' "$PYTHON_IMAGE" >"$dir/backend/Dockerfile"
printf 'profile: lite\nservices:\n  frontend: {enabled: false}\n  backend:\n    image: %s-app\n' "$PREFIX" >"$dir/todo-dev.yaml"
"$TODO_DEV" --no-color --project "$dir" build >"$WORK/build.out" 2>&1 ||
    die "the image did not build: $(tail -n 20 "$WORK/build.out")"
image=$(docker image ls --format '{{.Repository}}:{{.Tag}}' "$PREFIX-app" | head -n 1)
[[ -n $image ]] || die "no image $PREFIX-app after the build"
size=$(docker image inspect --format '{{.Size}}' "$image")
log "image $image, $((size >> 20)) MB"

# shellcheck disable=SC2034 # read through namerefs (timed, median)
declare -a td_cold=() dk_cold=() td_again=() dk_again=()
for ((r = 1; r <= RUNS; r++)); do
    log "round $r/$RUNS"
    registry "td-$r"
    td_reg=$REGISTRY
    registry "dk-$r"
    dk_reg=$REGISTRY
    remote=$dk_reg/$PREFIX-app:${image##*:}
    docker tag "$image" "$remote"
    td=("$TODO_DEV" --no-color --project "$dir" build --registry "$td_reg")
    if ((r % 2)); then
        timed td_cold "td-cold-$r" "${td[@]}"
        timed dk_cold "dk-cold-$r" docker push "$remote"
    else
        timed dk_cold "dk-cold-$r" docker push "$remote"
        timed td_cold "td-cold-$r" "${td[@]}"
    fi
    expect "td-cold-$r" " pushed "
    timed td_again "td-again-$r" "${td[@]}"
    expect "td-again-$r" "already there"
    timed dk_again "dk-again-$r" docker push "$remote"
    expect "dk-again-$r" "Layer already exists"
    docker image rm "$remote" >/dev/null
done

printf '\n%-8s %12s %12s %8s\n' "push" "todo-dev ms" "docker ms" "ratio"
for step in cold again; do
    median_ms "td_$step"
    t=$MED
    median_ms "dk_$step"
    d=$MED
    printf '%-8s %12s %12s %8s\n' "$step" "$t" "$d" "$(awk -v a="$d" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
done
printf 'medians of %d rounds; image of %d MB; %s; daemon %s; registry: Debian docker-registry on loopback\n' \
    "$RUNS" "$((size >> 20))" "$("$TODO_DEV" --version)" "$(docker version --format '{{.Server.Version}}')"
