#!/usr/bin/env bash
# scripts/base-images.sh: make the local stand-ins for the upstream base images
# the embedded Dockerfile templates build on, in the daemon the docker CLI
# reaches (DOCKER_HOST etc. are honoured). No registry is reachable in tests.
#
#   todo-dev-test/debian:bookworm  debootstrap --variant=minbase + docker import
#   todo-dev-test/python:3.11      Debian's python3 (+ venv, pip), `python`
#   todo-dev-test/node:18          Debian's nodejs + npm
#   todo-dev-test/nginx:bookworm   Debian's nginx, user nginx uid/gid 101
#   todo-dev-test/postgres:16      Debian's postgresql-15 behind an entrypoint that
#                                  reads POSTGRES_PASSWORD/USER/DB like upstream's
#   todo-dev-test/redis:7          Debian's redis-server, upstream's entrypoint rules
#
# postgres and redis run as uid 999 (as upstream's images and the manifests do)
# and listen on every address; they stand in for postgres:16 and redis:7 in
# `todo-dev smoke --postgres-image ... --redis-image ...`.
#
# python and node carry the host's CA bundle and point pip/requests/openssl/node
# at it, because HTTPS from build containers goes through an intercepting
# proxy. That belongs in these test images only, never in the templates.
#
# Idempotent: an image whose recipe (and parent) did not change is skipped.
# The debootstrap tarball is cached in ${TODO_DEV_TEST_STATE:-/tmp/todo-dev-test}.
# Prints each image name and how long it took. Needs root for debootstrap
# (only when the debian image and its cached tarball are both missing).
set -euo pipefail

STATE=${TODO_DEV_TEST_STATE:-/tmp/todo-dev-test}
HOST_CA=${TODO_DEV_TEST_HOST_CA:-/etc/ssl/certs/ca-certificates.crt}
MIRROR=${TODO_DEV_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}

DEBIAN_IMAGE=todo-dev-test/debian:bookworm
PYTHON_IMAGE=todo-dev-test/python:3.11
NODE_IMAGE=todo-dev-test/node:18
NGINX_IMAGE=todo-dev-test/nginx:bookworm
POSTGRES_IMAGE=todo-dev-test/postgres:16
REDIS_IMAGE=todo-dev-test/redis:7
RECIPE_LABEL=dev.todo-dev.test.recipe
# bump when the rootfs preparation below changes
ROOTFS_VERSION=1

log() { printf '[base-images] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
report() { printf '%-32s %s (%d ms)\n' "$1" "$2" "$3"; }

image_label() {
    docker image inspect -f "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$1" 2>/dev/null || true
}
image_id() { docker image inspect -f '{{.Id}}' "$1"; }

# ---------------------------------------------------------------------------
# debian: debootstrap (cached tarball) + docker import
# ---------------------------------------------------------------------------
ensure_debootstrap() {
    command -v debootstrap >/dev/null && return 0
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
        die "debootstrap is missing: apt-get install -y debootstrap (as root)"
    fi
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
    }
}

# make_rootfs_tar TAR: a minbase bookworm root filesystem, written atomically
make_rootfs_tar() {
    local tar=$1 dir t0
    [[ $EUID -eq 0 ]] || die "debootstrap needs root (or put a rootfs tarball at $tar)"
    ensure_debootstrap
    dir=$(mktemp -d "$STATE/rootfs.XXXXXX")
    # shellcheck disable=SC2064 # expand now: the trap must remove this dir
    trap "rm -rf '$dir'" EXIT
    t0=$(now_ms)
    log "debootstrap --variant=minbase bookworm ($MIRROR)"
    if ! debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$STATE/debootstrap.log" 2>&1; then
        tail -n 20 "$STATE/debootstrap.log" >&2
        die "debootstrap failed (log: $STATE/debootstrap.log)"
    fi
    # what Docker's own Debian images do: no daemons started by package
    # scripts, no recommends, no apt caches in the layers
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 755 "$dir/usr/sbin/policy-rc.d"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        >"$dir/etc/apt/apt.conf.d/90todo-dev-test"
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin \
        "$dir"/var/cache/apt/archives/*.deb "$dir"/var/log/*.log
    tar --numeric-owner -C "$dir" -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    rm -rf "$dir"
    trap - EXIT
    report "debootstrap (rootfs tarball)" "$tar" "$(($(now_ms) - t0))"
}

ensure_debian() {
    local tar=$STATE/debian-bookworm-minbase.v$ROOTFS_VERSION.tar
    local recipe=rootfs-v$ROOTFS_VERSION t0
    t0=$(now_ms)
    if [[ $(image_label "$DEBIAN_IMAGE") == "$recipe" ]]; then
        report "$DEBIAN_IMAGE" "exists, skipped" "$(($(now_ms) - t0))"
        return 0
    fi
    [[ -s $tar ]] || make_rootfs_tar "$tar"
    t0=$(now_ms)
    docker import \
        --change "LABEL $RECIPE_LABEL=$recipe" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        "$tar" "$DEBIAN_IMAGE" >/dev/null
    report "$DEBIAN_IMAGE" "imported" "$(($(now_ms) - t0))"
}

# ---------------------------------------------------------------------------
# images built on debian: recipe = Dockerfile text + parent image id
# ---------------------------------------------------------------------------
# build_on_debian NAME DOCKERFILE [ENTRYPOINT]: the context holds the host CA
# bundle as ca.crt and, when given, the ENTRYPOINT script as entrypoint.sh
build_on_debian() {
    local name=$1 dockerfile=$2 entrypoint=${3:-} recipe ctx t0
    t0=$(now_ms)
    recipe=$({
        printf '%s\n' "$dockerfile"
        [[ -z $entrypoint ]] || printf '%s\n' "$entrypoint"
        image_id "$DEBIAN_IMAGE"
        sha256sum <"$HOST_CA"
    } | sha256sum | cut -c1-16)
    if [[ $(image_label "$name") == "$recipe" ]]; then
        report "$name" "exists, skipped" "$(($(now_ms) - t0))"
        return 0
    fi
    ctx=$(mktemp -d "$STATE/base-ctx.XXXXXX")
    cp "$HOST_CA" "$ctx/ca.crt"
    printf '%s\n' "$dockerfile" >"$ctx/Dockerfile"
    [[ -z $entrypoint ]] || printf '%s\n' "$entrypoint" >"$ctx/entrypoint.sh"
    if ! DOCKER_BUILDKIT=0 docker build -q --label "$RECIPE_LABEL=$recipe" \
        --build-arg "BASE=$DEBIAN_IMAGE" -t "$name" "$ctx" >"$ctx.log" 2>&1; then
        tail -n 30 "$ctx.log" >&2
        rm -rf "$ctx" "$ctx.log"
        die "building $name failed"
    fi
    rm -rf "$ctx" "$ctx.log"
    report "$name" "built" "$(($(now_ms) - t0))"
}

# The CA bundle lives apart from /etc/ssl/certs so that a later
# update-ca-certificates (any apt install pulling ca-certificates) keeps it.
readonly CA=/usr/local/share/todo-dev-test/ca-certificates.crt

PYTHON_DOCKERFILE=$(
    cat <<EOF
ARG BASE
FROM \${BASE}
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \\
 && ln -s python3 /usr/bin/python \\
 && rm -rf /var/lib/apt/lists/*
COPY ca.crt $CA
ENV PIP_CERT=$CA SSL_CERT_FILE=$CA REQUESTS_CA_BUNDLE=$CA \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 LANG=C.UTF-8
CMD ["python3"]
EOF
)

NODE_DOCKERFILE=$(
    cat <<EOF
ARG BASE
FROM \${BASE}
RUN apt-get update \\
 && apt-get install -y --no-install-recommends nodejs npm \\
 && rm -rf /var/lib/apt/lists/*
COPY ca.crt $CA
ENV NODE_EXTRA_CA_CERTS=$CA SSL_CERT_FILE=$CA \\
    NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false
RUN npm config set --location=global cafile $CA
CMD ["node"]
EOF
)

# uid/gid 101 first, before any package can take them; upstream
# nginx-unprivileged runs as that user
NGINX_DOCKERFILE=$(
    cat <<'EOF'
ARG BASE
FROM ${BASE}
RUN groupadd --system --gid 101 nginx \
 && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent \
      --shell /bin/false nginx \
 && apt-get update \
 && apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
STOPSIGNAL SIGQUIT
EXPOSE 8080
CMD ["nginx", "-g", "daemon off;"]
EOF
)

# the postgres user (999) first, so the package adopts it; no cluster made at
# install time: the entrypoint makes one in PGDATA at first start
POSTGRES_DOCKERFILE=$(
    cat <<'EOF'
ARG BASE
FROM ${BASE}
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql \
      --shell /bin/sh postgres \
 && mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 700 /var/lib/postgresql/data
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
VOLUME /var/lib/postgresql/data
USER 999:999
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
EOF
)

# What upstream's docker-entrypoint.sh does for the variables todo-dev uses:
# a first start makes the cluster with POSTGRES_USER as superuser (password
# POSTGRES_PASSWORD, scram over TCP) and POSTGRES_DB, then postgres listens
# on every address.
POSTGRES_ENTRYPOINT=$(
    cat <<'EOF'
#!/bin/sh
set -eu
case ${1:-} in -*) set -- postgres "$@" ;; esac
[ "${1:-}" = postgres ] || exec "$@"
shift
: "${POSTGRES_PASSWORD:?is required, as in the upstream postgres image}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
data=${PGDATA:-/var/lib/postgresql/data}
if [ ! -s "$data/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb -D "$data" --username="$user" --pwfile="$pwfile" --encoding=UTF8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    printf 'host all all all scram-sha-256\n' >>"$data/pg_hba.conf"
    if [ "$db" != postgres ]; then
        printf 'CREATE DATABASE "%s"\n' "$db" | postgres --single -D "$data" postgres >/dev/null
    fi
    echo "docker-entrypoint: initialised $data (user $user, database $db)" >&2
fi
exec postgres -D "$data" -c listen_addresses='*' "$@"
EOF
)

REDIS_DOCKERFILE=$(
    cat <<'EOF'
ARG BASE
FROM ${BASE}
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid redis --home-dir /data --shell /usr/sbin/nologin redis \
 && apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown redis:redis /data
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
USER 999:999
EXPOSE 6379
ENTRYPOINT ["/bin/sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]
EOF
)

# upstream's rules: flags alone go to redis-server; without a config file it
# listens on every address with protected mode off
REDIS_ENTRYPOINT=$(
    cat <<'EOF'
#!/bin/sh
set -eu
case ${1:-} in -*) set -- redis-server "$@" ;; esac
if [ "${1:-}" = redis-server ]; then
    shift
    exec redis-server --bind 0.0.0.0 --protected-mode no --dir /data "$@"
fi
exec "$@"
EOF
)

main() {
    mkdir -p "$STATE"
    [[ -r $HOST_CA ]] || die "no CA bundle at $HOST_CA (set TODO_DEV_TEST_HOST_CA)"
    docker version >/dev/null 2>&1 || die "no Docker daemon answers (DOCKER_HOST=${DOCKER_HOST:-unset})"
    local t0
    t0=$(now_ms)
    ensure_debian
    build_on_debian "$PYTHON_IMAGE" "$PYTHON_DOCKERFILE"
    build_on_debian "$NODE_IMAGE" "$NODE_DOCKERFILE"
    build_on_debian "$NGINX_IMAGE" "$NGINX_DOCKERFILE"
    build_on_debian "$POSTGRES_IMAGE" "$POSTGRES_DOCKERFILE" "$POSTGRES_ENTRYPOINT"
    build_on_debian "$REDIS_IMAGE" "$REDIS_DOCKERFILE" "$REDIS_ENTRYPOINT"
    report "base images total" "" "$(($(now_ms) - t0))"
}

main "$@"
