# Shared by scripts/dev and scripts/test: tool checks and throwaway clusters.
# Sourced, not run. Everything here is idempotent.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_MAJOR=15
# STRATA_PG_ROOT=/some/dir gives this checkout a private, relocated copy of
# the PostgreSQL installation to install the extension into, so that two
# checkouts (or a benchmark and a test run) never overwrite each other's
# strata.so. Unset, the system installation is used.
if [ -n "${STRATA_PG_ROOT:-}" ]; then
    PG_BIN="$STRATA_PG_ROOT/usr/lib/postgresql/$PG_MAJOR/bin"
else
    PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
fi
PG_CONFIG="$PG_BIN/pg_config"
SYSTEM_PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
PGRX_VERSION="0.18.0"
# Cargo profile the extension is built with (dev is fast to build; use
# STRATA_PROFILE=release for a benchmark-grade build).
STRATA_PROFILE="${STRATA_PROFILE:-dev}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_system_packages() {
    local wanted=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libclang-dev clang)
    local missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]})); then
        [ "$(id -u)" = 0 ] || die "need root to apt-get install ${missing[*]}"
        log "installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    command -v cargo >/dev/null || die "cargo (Rust toolchain) not found on PATH"
}

# python3 with its venv module (Debian ships it separately), for scripts/test's client tier.
ensure_python_venv() {
    command -v python3 >/dev/null || die "python3 not found on PATH"
    python3 -c 'import venv, ensurepip' 2>/dev/null && return 0
    [ "$(id -u)" = 0 ] || die "need root to apt-get install python3-venv"
    log "installing system package: python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
}

ensure_cargo_pgrx() {
    if ! cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VERSION\$"; then
        log "installing cargo-pgrx $PGRX_VERSION (takes 15-20 minutes on 2 cores)"
        cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
    fi
    local cfg="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
    if ! grep -qs "pg$PG_MAJOR = \"$SYSTEM_PG_CONFIG\"" "$cfg"; then
        log "cargo pgrx init --pg$PG_MAJOR $SYSTEM_PG_CONFIG"
        cargo pgrx init --pg$PG_MAJOR "$SYSTEM_PG_CONFIG"
    fi
}

# PostgreSQL finds its lib and share directories relative to its binaries,
# so a copy of both trees (headers linked) is a complete private installation.
ensure_private_postgres() {
    [ -n "${STRATA_PG_ROOT:-}" ] || return 0
    [ -x "$PG_CONFIG" ] && return 0
    log "creating a private PostgreSQL $PG_MAJOR installation under $STRATA_PG_ROOT"
    mkdir -p "$STRATA_PG_ROOT/usr/lib/postgresql" "$STRATA_PG_ROOT/usr/share/postgresql" "$STRATA_PG_ROOT/usr/include"
    cp -a "/usr/lib/postgresql/$PG_MAJOR" "$STRATA_PG_ROOT/usr/lib/postgresql/"
    cp -a "/usr/share/postgresql/$PG_MAJOR" "$STRATA_PG_ROOT/usr/share/postgresql/"
    ln -sfn /usr/include/postgresql "$STRATA_PG_ROOT/usr/include/postgresql"
    chmod -R a+rX "$STRATA_PG_ROOT"
}

install_extension() {
    ensure_private_postgres
    log "building and installing the extension (profile $STRATA_PROFILE)"
    local args=(--pg-config "$PG_CONFIG")
    case "$STRATA_PROFILE" in
        dev) ;;
        release) args+=(--release) ;;
        *) args+=(--profile "$STRATA_PROFILE") ;;
    esac
    (cd "$ROOT" && cargo pgrx install "${args[@]}")
    # cargo pgrx install generates the current version's install script and copies the
    # upgrade scripts sql/strata--A--B.sql, but not the full install scripts of earlier
    # versions (sql/strata--0.1.0.sql), which CREATE EXTENSION strata VERSION '0.1.0' and
    # upgrade tests need. The current version's script is always pgrx's.
    local extdir current f
    extdir="$("$PG_CONFIG" --sharedir)/extension"
    current="$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)"
    for f in "$ROOT"/sql/strata--*.sql; do
        [ -e "$f" ] || continue
        case "$(basename "$f")" in
            strata--*--*.sql | "strata--$current.sql") ;;
            *) install -m 644 "$f" "$extdir/" ;;
        esac
    done
}

# Directory for cluster files. It must be reachable by the postgres OS user:
# inside the repo when every parent directory is traversable, else a private
# directory under /tmp named after the repo path (linked from .strata/).
cluster_base() {
    local name="$1"
    local local_dir="$ROOT/.strata/$name"
    mkdir -p "$ROOT/.strata"
    if runuser -u postgres -- test -x "$ROOT/.strata" 2>/dev/null && runuser -u postgres -- test -w "$ROOT/.strata" 2>/dev/null \
        || { chown postgres "$ROOT/.strata" 2>/dev/null && runuser -u postgres -- test -x "$ROOT/.strata"; }; then
        echo "$local_dir"
    else
        local tmp="/tmp/strata-$(printf '%s' "$ROOT" | md5sum | cut -c1-12)/$name"
        mkdir -p "$(dirname "$tmp")"
        chmod 755 "$(dirname "$tmp")"
        ln -sfn "$tmp" "$local_dir"
        echo "$tmp"
    fi
}

# start_cluster DIR PORT: initdb DIR/data if needed and start it with its own
# port and socket directory DIR/sock. Never touches the system cluster.
start_cluster() {
    local dir="$1" port="$2"
    mkdir -p "$dir/sock"
    chown -R postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust \
            --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
lc_messages = 'C'
timezone = 'UTC'
datestyle = 'ISO, MDY'
fsync = on
max_connections = 50
CONF
    fi
    if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        return 0
    fi
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is already in use (set STRATA_PORT / STRATA_TEST_PORT to another)"
    fi
    # A server inheriting RUST_BACKTRACE would append backtraces to error details.
    env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE \
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { tail -n 30 "$dir/server.log" >&2; die "server failed to start"; }
}

stop_cluster() {
    local dir="$1"
    [ -f "$dir/data/PG_VERSION" ] || return 0
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
