#!/usr/bin/env bash
# PostgreSQL for the search service's tests and for local shared storage.
#
#   scripts/postgres.sh install              install the Debian server packages if the binaries are missing
#   scripts/postgres.sh start DIR [PORT]     throwaway server with its data in DIR; prints the SQLAlchemy URL
#   scripts/postgres.sh stop DIR             stop it (then rm -rf DIR)
#   scripts/postgres.sh url DIR              print the URL of a server started in DIR
#   scripts/postgres.sh bindir               print the directory of initdb/pg_ctl (exit 1 if absent)
#
# The server listens on 127.0.0.1 only, trusts local connections (it is a throwaway), and has
# a database "sra_search" owned by the superuser "postgres". PostgreSQL refuses to run as root,
# so as root the server runs as the "postgres" system user (created by the Debian package, or
# here if missing) through runuser.
set -euo pipefail

bindir() {
    local d
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

as_owner() {
    # Run a command as the server's owner: the "postgres" user when we are root, else ourselves.
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd=${1:-}
case "$cmd" in
install)
    if bindir >/dev/null; then
        echo "postgres: server binaries present in $(bindir)"
        exit 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "postgres: binaries missing; run as root (or: sudo apt-get install -y postgresql)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Only the packages: the packaged cluster is not needed (tests start their own server).
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    echo "postgres: installed $(bindir)"
    ;;
start)
    dir=${2:?usage: $0 start DIR [PORT]}
    port=${3:-}
    bin=$(bindir) || { echo "postgres: server binaries not found (run: $0 install)" >&2; exit 3; }
    if [ -z "$port" ]; then
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        chown postgres "$dir"
        # The owner must be able to reach DIR: open the path's parents for traversal if needed.
        p=$dir
        while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=100" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres sra_search
    echo "postgresql+psycopg2://postgres@127.0.0.1:$port/sra_search" >"$dir/url"
    cat "$dir/url"
    ;;
stop)
    dir=${2:?usage: $0 stop DIR}
    bin=$(bindir) || exit 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    fi
    ;;
url)
    cat "${2:?usage: $0 url DIR}/url"
    ;;
bindir)
    bindir
    ;;
*)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
