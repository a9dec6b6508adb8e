#!/usr/bin/env bash
# bench/app.sh: the reference app's chat round trip and sign-in throughput against the plans'
# targets (a chat answer within 5 s, API p95 under 500 ms), on this machine, loopback only.
#
# Starts from nothing each run: a fresh Postgres (initdb, 127.0.0.1), the backend from
# embedded/app/backend under uvicorn in a memory cgroup of 512 MiB (its manifest's limit),
# with the offline agent and the stdio MCP subprocess (profiles standard and lite). Then:
#   chat      BENCH_CHATS chat turns (add / list / complete), one user at a time, then
#             BENCH_USERS users at once: round-trip p50/p95
#   api       BENCH_CHATS GET /api/tasks: p50/p95
#   sign-in   BENCH_SIGNINS sign-ins, BENCH_USERS at a time (rate limits raised: this measures
#             the hashing), throughput and p95; the cgroup's peak memory
# Prints one table; exits non-zero, with the reason in one line, if it cannot finish.
#
#   bench/app.sh                          # ~1 min
#   BENCH_CHATS=500 BENCH_USERS=20 bench/app.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$repo/bench/lib.sh"
APP=$repo/embedded/app/backend
STATE=${BENCH_STATE:-/tmp/todo-dev-bench}
VENV=$STATE/app-venv
CHATS=${BENCH_CHATS:-200}
USERS=${BENCH_USERS:-10}
SIGNINS=${BENCH_SIGNINS:-200}
MEMORY_LIMIT=$((512 * 1024 * 1024))

WORK=$(mktemp -d /tmp/todo-bench-app.XXXXXX)
chmod 755 "$WORK"
backend_pid="" pg_data="" cgroup="" PG_USER=""
as_pg() { if [[ -n $PG_USER ]]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi; }
pg_bin() {
    local found
    found=$(command -v "$1" || find /usr/lib/postgresql -path "*/bin/$1" 2>/dev/null | sort -V | tail -n 1)
    [[ -n $found ]] || die "no $1: install PostgreSQL server binaries (Debian: postgresql)"
    printf '%s\n' "$found"
}
# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
    local status=$?
    set +e
    [[ -n $backend_pid ]] && kill "$backend_pid" 2>/dev/null && wait "$backend_pid" 2>/dev/null
    [[ -n $pg_data ]] && as_pg "$(pg_bin pg_ctl)" -D "$pg_data" -m fast -w stop >/dev/null 2>&1
    if [[ -n $cgroup ]]; then
        for _ in $(seq 50); do rmdir "$cgroup" 2>/dev/null && break; sleep 0.1; done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# the app's pinned requirements, once per change of requirements.txt
mkdir -p "$STATE"
if [[ ! -x $VENV/bin/python || $(cat "$VENV/.requirements" 2>/dev/null) != $(cat "$APP/requirements.txt") ]]; then
    log "installing the app's requirements into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$APP/requirements.txt" ||
        die "pip install -r requirements.txt failed"
    cp "$APP/requirements.txt" "$VENV/.requirements"
fi

# a memory cgroup (v1 or v2) with the backend's manifest limit
name=todo-bench-app-$$
if [[ -d /sys/fs/cgroup/memory ]]; then
    cgroup=/sys/fs/cgroup/memory/$name limit_file=memory.limit_in_bytes peak_file=memory.max_usage_in_bytes
else
    cgroup=/sys/fs/cgroup/$name limit_file=memory.max peak_file=memory.peak
fi
if ! mkdir "$cgroup" 2>/dev/null || ! echo "$MEMORY_LIMIT" >"$cgroup/$limit_file"; then
    cgroup=""
    die "cannot make a memory cgroup under /sys/fs/cgroup (run as root on a host with cgroups): the sign-in load must run memory-capped"
fi

# a fresh Postgres
[[ $EUID -eq 0 ]] && PG_USER=nobody && chown nobody "$WORK"
PG_PORT=$(free_port)
as_pg "$(pg_bin initdb)" -D "$WORK/pg" -U todo --auth=trust -E UTF8 >"$WORK/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -n 1 "$WORK/initdb.log")"
pg_data=$WORK/pg
as_pg "$(pg_bin pg_ctl)" -D "$pg_data" -l "$WORK/pg.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='' -c fsync=off" start >/dev/null ||
    die "postgres did not start: $(tail -n 1 "$WORK/pg.log")"

# the backend, inside the cgroup from its first byte
PORT=$(free_port)
# shellcheck disable=SC2016 # $$ and $@ are the inner sh's: its own pid goes into the cgroup
(cd "$APP" && exec env DATABASE_URL="postgresql://todo@127.0.0.1:$PG_PORT/postgres" \
    BETTER_AUTH_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
    OPENAI_API_KEY="" GROQ_API_KEY="" GEMINI_API_KEY="" OPENROUTER_API_KEY="" LLM_PROVIDER="" \
    MCP_SERVER_URL="" AGENT_URL="" REDIS_URL="" \
    AUTH_RATE_PER_CLIENT=1000000/60 AUTH_RATE_PER_ACCOUNT=1000000/60 \
    /bin/sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cgroup" \
    "$VENV/bin/uvicorn" app.main:app --host 127.0.0.1 --port "$PORT" --log-level warning \
    >"$WORK/backend.log" 2>&1) &
backend_pid=$!
for _ in $(seq 240); do
    curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
    kill -0 "$backend_pid" 2>/dev/null || die "the backend exited: $(tail -n 1 "$WORK/backend.log")"
    sleep 0.25
done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || die "the backend did not get ready in 60 s"
log "backend on 127.0.0.1:$PORT (512 MiB cgroup, offline agent, stdio MCP), postgres on 127.0.0.1:$PG_PORT"
log "load: $CHATS chats, $USERS users at once, $SIGNINS sign-ins; $(uptime | sed 's/.*load/load/')"

"$VENV/bin/python" - "http://127.0.0.1:$PORT" "$CHATS" "$USERS" "$SIGNINS" "$cgroup/$peak_file" "$MEMORY_LIMIT" <<'PY' ||
import asyncio, statistics, sys, time, uuid
import httpx

base, chats, users, signins, peak_file, limit = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5], int(sys.argv[6])
CHAT_TARGET, API_TARGET = 5.0, 0.5  # the plans: a chat answer within 5 s, API p95 under 500 ms

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

async def new_user(c):
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    r = await c.post("/api/auth/sign-up", json={"email": email, "password": "correct horse battery"})
    if r.status_code != 201:
        sys.exit(f"sign-up answered {r.status_code}: {r.text[:200]}")
    return email, {"Authorization": f"Bearer {r.json()['token']}"}

async def chat_loop(c, h, n, times):
    for i in range(n):
        message = ("add bench task %d" % i, "what's on my list", "complete the first one")[i % 3]
        start = time.perf_counter()
        r = await c.post("/api/chat", json={"message": message}, headers=h)
        times.append(time.perf_counter() - start)
        if r.status_code != 200:
            sys.exit(f"chat {message!r} answered {r.status_code}: {r.text[:200]}")

async def main():
    limits = httpx.Limits(max_connections=max(users, 1) + 5)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
        _, h = await new_user(c)
        await chat_loop(c, h, 3, [])  # warm-up: the MCP subprocess starts on the first turn
        one = []
        await chat_loop(c, h, chats, one)
        many = []
        hs = [(await new_user(c))[1] for _ in range(users)]
        started = time.perf_counter()
        await asyncio.gather(*(chat_loop(c, uh, max(1, chats // users), many) for uh in hs))
        many_rate = len(many) / (time.perf_counter() - started)
        api = []
        for _ in range(chats):
            start = time.perf_counter()
            r = await c.get("/api/tasks", headers=h)
            api.append(time.perf_counter() - start)
            if r.status_code != 200:
                sys.exit(f"GET /api/tasks answered {r.status_code}")
        email, _ = await new_user(c)
        alone = []
        for _ in range(20):
            start = time.perf_counter()
            r = await c.post("/api/auth/sign-in", json={"email": email, "password": "correct horse battery"})
            alone.append(time.perf_counter() - start)
            if r.status_code != 200:
                sys.exit(f"sign-in answered {r.status_code}")
        sign, statuses = [], []
        queue = asyncio.Queue()
        for _ in range(signins):
            queue.put_nowait(None)

        async def signer():
            while not queue.empty():
                queue.get_nowait()
                start = time.perf_counter()
                r = await c.post("/api/auth/sign-in", json={"email": email, "password": "correct horse battery"})
                sign.append(time.perf_counter() - start)
                statuses.append(r.status_code)

        started = time.perf_counter()
        await asyncio.gather(*(signer() for _ in range(users)))
        took = time.perf_counter() - started
        if set(statuses) - {200}:
            sys.exit(f"sign-ins answered {sorted(set(statuses))}, wanted 200 only")
    peak = int(open(peak_file).read())
    ok = lambda v, t: "meets" if v <= t else "MISSES"
    print(f"\n{'measure':<44} {'p50':>9} {'p95':>9}  {'target':<14} verdict")
    print(f"{'chat round trip, 1 user (%d turns)' % len(one):<44} {pct(one, 50)*1000:>7.0f}ms {pct(one, 95)*1000:>7.0f}ms  "
          f"{'< 5 s':<14} {ok(pct(one, 95), CHAT_TARGET)}")
    print(f"{'chat round trip, %d users at once (%d turns)' % (users, len(many)):<44} {pct(many, 50)*1000:>7.0f}ms "
          f"{pct(many, 95)*1000:>7.0f}ms  {'< 5 s':<14} {ok(pct(many, 95), CHAT_TARGET)}")
    print(f"{'GET /api/tasks (%d requests)' % len(api):<44} {pct(api, 50)*1000:>7.0f}ms {pct(api, 95)*1000:>7.0f}ms  "
          f"{'p95 < 500 ms':<14} {ok(pct(api, 95), API_TARGET)}")
    print(f"{'sign-in, 1 at a time (%d sign-ins)' % len(alone):<44} {pct(alone, 50)*1000:>7.0f}ms "
          f"{pct(alone, 95)*1000:>7.0f}ms  {'p95 < 500 ms':<14} {ok(pct(alone, 95), API_TARGET)}")
    print(f"{'sign-in, %d at a time (%d sign-ins)' % (users, len(sign)):<44} {pct(sign, 50)*1000:>7.0f}ms "
          f"{pct(sign, 95)*1000:>7.0f}ms  {'p95 < 500 ms':<14} {ok(pct(sign, 95), API_TARGET)}")
    print(f"sign-in throughput: {len(sign) / took:.1f}/s; chats with {users} users: {many_rate:.1f} turns/s; "
          f"backend peak memory {peak / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB")

asyncio.run(main())
PY
    die "the load did not finish (see the line above; backend log: $(tail -n 1 "$WORK/backend.log"))"
kill -0 "$backend_pid" 2>/dev/null || die "the backend died during the load: $(tail -n 1 "$WORK/backend.log")"
log "done; $(uptime | sed 's/.*load/load/')"
