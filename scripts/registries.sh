# shellcheck shell=bash
# scripts/registries.sh: the two real registries the tests push to (sourced by
# scripts/test.sh, which stops them on exit). Debian's docker-registry is the
# reference Distribution registry:
#   TODO_DEV_TEST_REGISTRY       127.0.0.1:15000, plain HTTP, no auth (the
#                                Docker daemon allows plain HTTP on loopback)
#   TODO_DEV_TEST_TLS_REGISTRY   127.0.0.1:15443, TLS with the test CA
#                                ($STATE/server cert) and htpasswd auth:
#                                TODO_DEV_TEST_REGISTRY_USER / _PASSWORD
# The daemon trusts the TLS one through /etc/docker/certs.d/127.0.0.1:15443/ca.crt,
# written here (the place the daemon, and todo-dev, read a registry's CA).
# Needs: log, die, STATE (scripts/test.sh's).

PLAIN_REGISTRY_PORT=15000
TLS_REGISTRY_PORT=15443
registry_pids=()

registry_answers() { curl -s -o /dev/null --max-time 3 "$@"; }

# start_registry NAME PORT CONFIG_LINES...: one registry under $STATE/NAME
start_registry() {
    local name=$1 port=$2
    shift 2
    local dir=$STATE/$name
    mkdir -p "$dir/data"
    {
        printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$dir/data"
        printf 'http:\n  addr: 127.0.0.1:%s\n' "$port"
        printf '%s\n' "$@"
    } >"$dir/config.yml"
    setsid docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null 9>&- &
    registry_pids+=($!)
}

start_registries() {
    if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null ||
        ! command -v curl >/dev/null; then
        [[ $EUID -eq 0 ]] || die "the tests need docker-registry, apache2-utils and curl: apt-get install -y docker-registry apache2-utils curl"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry apache2-utils curl
    fi
    export TODO_DEV_TEST_REGISTRY=127.0.0.1:$PLAIN_REGISTRY_PORT
    export TODO_DEV_TEST_TLS_REGISTRY=127.0.0.1:$TLS_REGISTRY_PORT
    export TODO_DEV_TEST_REGISTRY_USER=todo
    # test-only, like the test certificates: it guards an empty loopback registry
    export TODO_DEV_TEST_REGISTRY_PASSWORD=test-only-registry-password
    if registry_answers "http://$TODO_DEV_TEST_REGISTRY/v2/"; then
        log "reusing the registry on $TODO_DEV_TEST_REGISTRY"
    else
        start_registry registry-plain "$PLAIN_REGISTRY_PORT"
    fi
    local certs_d=/etc/docker/certs.d/$TODO_DEV_TEST_TLS_REGISTRY
    mkdir -p "$certs_d"
    cp "$STATE/ca/ca.pem" "$certs_d/ca.crt"
    if registry_answers --cacert "$STATE/ca/ca.pem" "https://$TODO_DEV_TEST_TLS_REGISTRY/v2/"; then
        log "reusing the registry on $TODO_DEV_TEST_TLS_REGISTRY"
    else
        mkdir -p "$STATE/registry-tls"
        htpasswd -Bbn "$TODO_DEV_TEST_REGISTRY_USER" "$TODO_DEV_TEST_REGISTRY_PASSWORD" \
            >"$STATE/registry-tls/htpasswd" 2>/dev/null
        start_registry registry-tls "$TLS_REGISTRY_PORT" \
            "  tls:" "    certificate: $STATE/server/cert.pem" "    key: $STATE/server/key.pem" \
            "auth:" "  htpasswd:" "    realm: todo-dev-test" "    path: $STATE/registry-tls/htpasswd"
    fi
    local i
    for ((i = 0; i < 40; i++)); do
        if registry_answers "http://$TODO_DEV_TEST_REGISTRY/v2/" &&
            registry_answers --cacert "$STATE/ca/ca.pem" "https://$TODO_DEV_TEST_TLS_REGISTRY/v2/"; then
            log "registries ready: $TODO_DEV_TEST_REGISTRY (http), $TODO_DEV_TEST_TLS_REGISTRY (TLS, htpasswd)"
            return 0
        fi
        sleep 0.25
    done
    tail -n 20 "$STATE"/registry-*/registry.log >&2 || true
    die "the test registries did not answer within 10s (logs: $STATE/registry-*/registry.log)"
}

stop_registries() {
    local pid
    for pid in "${registry_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
