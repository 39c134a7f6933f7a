# A throwaway PostgreSQL 15 cluster on a temporary folder and port; sourced by scripts/test and
# the bench/ scripts. `pg_start` exports PG_URL (and installs the server with apt-get if missing);
# `pg_stop` (set as an EXIT trap by pg_start) stops it and removes the folder.
# `pg_start_replica` (after pg_start) adds a streaming replica of it on another port, made with
# `pg_basebackup -R`, and exports PG_REPLICA_URL; pg_stop stops it too.
pg_bin=/usr/lib/postgresql/15/bin
pg_dir=""
pg_run=""

pg_stop() {
  if [ -n "$pg_dir" ] && [ -d "$pg_dir" ]; then
    if [ -d "$pg_dir/replica" ]; then
      $pg_run "$pg_bin/pg_ctl" -D "$pg_dir/replica" -m immediate stop >/dev/null 2>&1 || true
    fi
    $pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}

pg_start() {
  if [ ! -x "$pg_bin/initdb" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "PostgreSQL 15 is missing: apt-get install postgresql-15" >&2
      return 1
    fi
    echo "installing PostgreSQL 15 (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  fi
  pg_dir=$(mktemp -d /tmp/eid-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: the cluster runs as the postgres system user.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$pg_dir"
    pg_run="runuser -u postgres --"
  fi
  local port=$(( 20000 + RANDOM % 20000 ))
  trap pg_stop EXIT
  $pg_run "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
  $pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=800 ${PG_EXTRA_OPTS:-}" \
    start >/dev/null
  export PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL 15 on 127.0.0.1:$port ($pg_dir)" >&2
}

pg_start_replica() {
  local port=${PG_URL##*:}
  port=${port%%/*}
  local rport=$(( port + 1 ))
  $pg_run "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$pg_dir/replica" \
    -R -X stream -c fast >/dev/null
  chmod 700 "$pg_dir/replica"
  $pg_run "$pg_bin/pg_ctl" -D "$pg_dir/replica" -l "$pg_dir/replica.log" -w \
    -o "-p $rport -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=800 -c hot_standby=on ${PG_EXTRA_OPTS:-}" \
    start >/dev/null
  export PG_REPLICA_URL="postgres://postgres@127.0.0.1:$rport/postgres"
  echo "PostgreSQL 15 replica on 127.0.0.1:$rport" >&2
}
