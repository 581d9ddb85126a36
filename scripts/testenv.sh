#!/usr/bin/env bash
# The real test environment: a Docker engine, a local registry on 127.0.0.1:5055 and the
# stand-in base images the tests and the demo build on (docs/ARCHITECTURE.md, "Test environment").
#
#   scripts/testenv.sh up      idempotent; installs what is missing, starts what is not running
#   scripts/testenv.sh down    stops only what `up` started (PIDs recorded in .testenv/)
#   scripts/testenv.sh status  prints what runs and which stand-ins exist; exit 1 if incomplete
#
# Runs as root, without stdin, on a Debian 12 machine where nothing was set up. A Docker daemon
# that already answers belongs to the user: it is used as it is and never started or stopped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="$ROOT/.testenv"
STANDINS_DIR="$ROOT/scripts/standins"
CACHE_DIR="${LAUNCHBUILD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/launchbuild}/rootfs"
# The tests expect 127.0.0.1:5055; the override is for a second, throw-away set-up beside it.
REGISTRY_ADDR="${LAUNCHBUILD_TESTENV_REGISTRY:-127.0.0.1:5055}"
REGISTRY_NAMESPACE="launchbuild-test"
DEBIAN_MIRROR="${LAUNCHBUILD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DAEMON_READY_TIMEOUT=60
REGISTRY_READY_TIMEOUT=20

# /usr/local/bin/docker may be a newer client without the buildx plugin, which makes
# DOCKER_BUILDKIT=1 builds fail; the docker.io client matches the daemon and has BuildKit built in.
DOCKER="${LAUNCHBUILD_DOCKER:-/usr/bin/docker}"

# Stand-in images: "key local-ref". Registry copies live at $REGISTRY_ADDR/<local-ref>.
STANDINS=(
    "debian ${REGISTRY_NAMESPACE}/debian:12"
    "python ${REGISTRY_NAMESPACE}/python:3.11-slim"
    "cuda121 ${REGISTRY_NAMESPACE}/cuda:12.1.1-runtime-ubuntu22.04"
    "cuda118 ${REGISTRY_NAMESPACE}/cuda:11.8.0-runtime-ubuntu22.04"
    "busybox ${REGISTRY_NAMESPACE}/busybox:latest"
)

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: ERROR: %s\n' "$*" >&2; exit 1; }

now() { date +%s; }

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

read_pid() { [[ -f "$1" ]] && cat "$1" || true; }

daemon_answers() { [[ -x "$DOCKER" ]] && "$DOCKER" info >/dev/null 2>&1; }

registry_answers() {
    curl -fsS --max-time 3 -o /dev/null "http://$REGISTRY_ADDR/v2/" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# packages

package_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

ensure_packages() {
    local wanted=(debootstrap docker-registry busybox-static curl ca-certificates)
    # docker.io would conflict with a user's docker-ce; only install it when no engine is there.
    if ! daemon_answers && ! command -v dockerd >/dev/null 2>&1; then
        wanted+=(docker.io)
    fi
    if [[ ! -x "$DOCKER" ]] && ! package_installed docker.io; then
        wanted+=(docker.io)
    fi
    local missing=() pkg
    for pkg in "${wanted[@]}"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    [[ "$(id -u)" == 0 ]] || die "packages missing (${missing[*]}); run as root or install them with apt-get"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Docker daemon

ensure_daemon() {
    if daemon_answers; then
        if pid_alive "$(read_pid "$STATE_DIR/dockerd.pid")"; then
            log "dockerd (started by testenv, pid $(read_pid "$STATE_DIR/dockerd.pid")) answers"
        else
            log "a Docker daemon already answers; using it and leaving it alone"
            rm -f "$STATE_DIR/dockerd.pid"
        fi
        return 0
    fi
    local pid
    pid="$(read_pid "$STATE_DIR/dockerd.pid")"
    if ! pid_alive "$pid"; then
        [[ "$(id -u)" == 0 ]] || die "no Docker daemon answers and starting one needs root"
        command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io"
        log "starting dockerd (log: $STATE_DIR/dockerd.log)"
        # No bridge and no iptables: this machine must not create networks on private ranges;
        # builds and containers use the host network (or none).
        # 9>&-: the daemon must not inherit the lock, or every later `up`/`down` would wait on it.
        setsid dockerd --bridge=none --iptables=false \
            >"$STATE_DIR/dockerd.log" 2>&1 </dev/null 9>&- &
        pid=$!
        echo "$pid" >"$STATE_DIR/dockerd.pid"
    fi
    local deadline=$(($(now) + DAEMON_READY_TIMEOUT))
    until daemon_answers; do
        pid_alive "$pid" || { tail -n 20 "$STATE_DIR/dockerd.log" >&2 || true; die "dockerd (pid $pid) exited; see $STATE_DIR/dockerd.log"; }
        (($(now) < deadline)) || { tail -n 20 "$STATE_DIR/dockerd.log" >&2 || true; die "dockerd (pid $pid) not ready after ${DAEMON_READY_TIMEOUT}s; see $STATE_DIR/dockerd.log"; }
        sleep 0.5
    done
    log "dockerd ready (pid $pid)"
}

# ---------------------------------------------------------------------------------------------
# registry

ensure_registry() {
    if registry_answers; then
        log "registry answers on $REGISTRY_ADDR"
        return 0
    fi
    local pid
    pid="$(read_pid "$STATE_DIR/registry.pid")"
    if ! pid_alive "$pid"; then
        command -v docker-registry >/dev/null 2>&1 || die "docker-registry not found after installing it"
        mkdir -p "$STATE_DIR/registry-data"
        cat >"$STATE_DIR/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry-data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
        log "starting docker-registry on $REGISTRY_ADDR (log: $STATE_DIR/registry.log)"
        setsid docker-registry serve "$STATE_DIR/registry.yml" \
            >"$STATE_DIR/registry.log" 2>&1 </dev/null 9>&- &
        pid=$!
        echo "$pid" >"$STATE_DIR/registry.pid"
    fi
    local deadline=$(($(now) + REGISTRY_READY_TIMEOUT))
    until registry_answers; do
        pid_alive "$pid" || { tail -n 20 "$STATE_DIR/registry.log" >&2 || true; die "docker-registry (pid $pid) exited; see $STATE_DIR/registry.log"; }
        (($(now) < deadline)) || die "registry on $REGISTRY_ADDR not ready after ${REGISTRY_READY_TIMEOUT}s"
        sleep 0.3
    done
    log "registry ready (pid $pid)"
}

# ---------------------------------------------------------------------------------------------
# stand-in images

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# The debootstrap rootfs is the slow part (~45 s, network); cache its tarball across runs.
minbase_tarball() {
    local tarball="$CACHE_DIR/bookworm-minbase-$(dpkg --print-architecture).tar"
    if [[ -s "$tarball" ]]; then
        echo "$tarball"
        return 0
    fi
    mkdir -p "$CACHE_DIR"
    local work
    work="$(mktemp -d "$CACHE_DIR/.debootstrap.XXXXXX")"
    log "debootstrap --variant=minbase bookworm (cached at $tarball)"
    if ! debootstrap --variant=minbase bookworm "$work/rootfs" "$DEBIAN_MIRROR" \
        >"$STATE_DIR/debootstrap.log" 2>&1; then
        tail -n 20 "$STATE_DIR/debootstrap.log" >&2 || true
        rm -rf "$work"
        die "debootstrap failed; see $STATE_DIR/debootstrap.log"
    fi
    # Same trimming as the official debian images: no package cache, no apt lists.
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* \
        "$work/rootfs/debootstrap"
    tar --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
    mv "$work/rootfs.tar" "$tarball"
    rm -rf "$work"
    echo "$tarball"
}

build_debian() {
    local ref=$1 tarball
    tarball="$(minbase_tarball)"
    log "importing $ref"
    # Imported images carry no config; give it the PATH and CMD of the official debian image
    # so `ENV PATH=...:${PATH}` in derived Dockerfiles expands as it does on the real one.
    "$DOCKER" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        "$tarball" "$ref" >/dev/null
}

build_busybox() {
    local ref=$1 busybox_bin
    busybox_bin="$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n 1)"
    [[ -n "$busybox_bin" ]] || die "busybox-static installs no /bin/busybox"
    local work
    work="$(mktemp -d)"
    mkdir -p "$work/bin" "$work/etc" "$work/tmp" "$work/root" "$work/var" "$work/dev" "$work/proc" "$work/sys"
    chmod 1777 "$work/tmp"
    cp "$busybox_bin" "$work/bin/busybox"
    local applet
    for applet in $("$work/bin/busybox" --list); do
        [[ "$applet" == busybox ]] || ln -s busybox "$work/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$work/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/etc/group"
    log "importing $ref"
    tar --numeric-owner --owner=0 --group=0 -C "$work" -c . |
        "$DOCKER" import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$ref" >/dev/null
    rm -rf "$work"
}

build_from_dockerfile() {
    local ref=$1 dockerfile=$2 context=$3
    log "building $ref from ${dockerfile#"$ROOT/"}"
    local logfile="$STATE_DIR/build-$(echo "$ref" | tr '/:' '__').log"
    if ! DOCKER_BUILDKIT=1 "$DOCKER" build --network host --progress plain \
        --build-arg "BASE=${REGISTRY_NAMESPACE}/debian:12" \
        -f "$dockerfile" -t "$ref" "$context" >"$logfile" 2>&1; then
        tail -n 30 "$logfile" >&2 || true
        die "building $ref failed; see $logfile"
    fi
}

build_standin() {
    local key=$1 ref=$2
    case "$key" in
        debian) build_debian "$ref" ;;
        busybox) build_busybox "$ref" ;;
        python) build_from_dockerfile "$ref" "$STANDINS_DIR/python-3.11-slim.Dockerfile" "$STANDINS_DIR" ;;
        cuda121) build_from_dockerfile "$ref" "$STANDINS_DIR/cuda-12.1.1-runtime-ubuntu22.04.Dockerfile" "$STANDINS_DIR/cuda-12.1.1" ;;
        cuda118) build_from_dockerfile "$ref" "$STANDINS_DIR/cuda-11.8.0-runtime-ubuntu22.04.Dockerfile" "$STANDINS_DIR/cuda-11.8.0" ;;
        *) die "unknown stand-in $key" ;;
    esac
}

ensure_standins() {
    local entry key ref
    for entry in "${STANDINS[@]}"; do
        read -r key ref <<<"$entry"
        if image_exists "$ref"; then
            log "$ref exists"
        else
            build_standin "$key" "$ref"
        fi
    done
}

push_standins() {
    local entry key ref remote
    for entry in "${STANDINS[@]}"; do
        read -r key ref <<<"$entry"
        remote="$REGISTRY_ADDR/$ref"
        "$DOCKER" tag "$ref" "$remote"
        # A push of layers the registry already holds costs only a few HEAD requests.
        "$DOCKER" push "$remote" >"$STATE_DIR/push.log" 2>&1 ||
            { cat "$STATE_DIR/push.log" >&2; die "pushing $remote failed"; }
    done
    log "stand-ins pushed to $REGISTRY_ADDR/$REGISTRY_NAMESPACE/"
}

write_state() {
    local started_daemon=0
    pid_alive "$(read_pid "$STATE_DIR/dockerd.pid")" && started_daemon=1
    local started_registry=0
    pid_alive "$(read_pid "$STATE_DIR/registry.pid")" && started_registry=1
    cat >"$STATE_DIR/state.env.tmp" <<EOF
LAUNCHBUILD_TESTENV_DOCKER=$DOCKER
LAUNCHBUILD_TESTENV_REGISTRY=$REGISTRY_ADDR
LAUNCHBUILD_TESTENV_NAMESPACE=$REGISTRY_NAMESPACE
LAUNCHBUILD_TESTENV_STARTED_DAEMON=$started_daemon
LAUNCHBUILD_TESTENV_STARTED_REGISTRY=$started_registry
EOF
    mv "$STATE_DIR/state.env.tmp" "$STATE_DIR/state.env"
}

# ---------------------------------------------------------------------------------------------
# commands

stop_recorded() {
    local name=$1 pidfile="$STATE_DIR/$1.pid" pid
    pid="$(read_pid "$pidfile")"
    if ! pid_alive "$pid"; then
        rm -f "$pidfile"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid"
    local i
    for i in $(seq 1 60); do
        pid_alive "$pid" || break
        sleep 0.5
    done
    if pid_alive "$pid"; then
        log "$name (pid $pid) still running after 30s; sending SIGKILL"
        kill -KILL "$pid" || true
    fi
    rm -f "$pidfile"
}

cmd_up() {
    local t0
    t0=$(now)
    ensure_packages
    [[ -x "$DOCKER" ]] || DOCKER="$(command -v docker)"
    ensure_daemon
    ensure_registry
    ensure_standins
    push_standins
    write_state
    log "up in $(($(now) - t0))s"
}

cmd_down() {
    # Only what we recorded: a user's daemon or registry has no PID file here.
    stop_recorded registry
    stop_recorded dockerd
    rm -f "$STATE_DIR/state.env"
}

cmd_status() {
    local ok=0 entry key ref
    if daemon_answers; then
        if pid_alive "$(read_pid "$STATE_DIR/dockerd.pid")"; then
            echo "docker: up (started by testenv, pid $(read_pid "$STATE_DIR/dockerd.pid"))"
        else
            echo "docker: up (not started by testenv)"
        fi
    else
        echo "docker: down"; ok=1
    fi
    if registry_answers; then echo "registry: up on $REGISTRY_ADDR"; else echo "registry: down"; ok=1; fi
    for entry in "${STANDINS[@]}"; do
        read -r key ref <<<"$entry"
        if daemon_answers && image_exists "$ref"; then echo "image $key: $ref"; else echo "image $key: missing ($ref)"; ok=1; fi
    done
    return $ok
}

main() {
    local cmd=${1:-}
    case "$cmd" in
        up | down) ;;
        status) cmd_status; return ;;
        *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
    esac
    mkdir -p "$STATE_DIR"
    # Two concurrent `up`s (parallel make, two terminals) must not start two daemons.
    exec 9>"$STATE_DIR/lock"
    flock -w 900 9 || die "another testenv.sh holds $STATE_DIR/lock"
    "cmd_$cmd"
}

main "$@"
