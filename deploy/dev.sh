#!/usr/bin/env bash
# ChatStats developer entry point. Works on a fresh Debian machine with the .NET SDK, as root (CI) or as a user.
#
#   deploy/dev.sh run       install what is missing, start a local PostgreSQL under .data/, migrate, run the bot + web
#   deploy/dev.sh test      the same set-up with a throw-away PostgreSQL, then the whole test suite
#   deploy/dev.sh migrate   apply migrations to DATABASE_URL, or to the local cluster
#   deploy/dev.sh bench     load runs (ingest, webhook, stats, import, jobs, flood, steady, scale) and micro-benchmarks (docs/benchmarks.md); --against REV compares with another commit;
#                           BENCH_CLUSTER=DIR keeps the benchmark PostgreSQL there between runs
#   deploy/dev.sh doctor    chatstats doctor against the local cluster
#   deploy/dev.sh publish DIR   a self-contained-framework build in DIR (what deploy/systemd and supervisor run)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# Debian packages the project needs; tests use PostgreSQL, and Redis for the limits several processes share.
PACKAGES=(postgresql redis-server libfontconfig1 fonts-dejavu-core fonts-droid-fallback fonts-noto-color-emoji weasyprint poppler-utils
          chromium prometheus supervisor)
CONFIGURATION=${CONFIGURATION:-Release}
BIN="$ROOT/src/ChatStats.Bot/bin/$CONFIGURATION/net10.0"
PG_USER=chatstats
PG_DB=chatstats

say() { printf '\033[1mdev.sh:\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@";
  else return 1; fi
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

ensure_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    case "$p" in
      postgresql) [ -n "$(pg_bin)" ] || missing+=("$p") ;;
      *) dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p") ;;
    esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]}: run 'sudo apt-get install ${missing[*]}' and try again"
  # The Debian packages start a system PostgreSQL on 5432 and a system Redis on 6379; ours are separate, so leave them be.
}

# start_redis DIR: a throw-away redis-server on a free loopback port, without persistence; sets REDIS_PORT.
start_redis() {
  local dir=$1 attempt port
  for attempt in 1 2 3; do
    port=$(free_port 6390)
    if redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --protected-mode yes \
        --loglevel warning --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" --dir "$dir" >/dev/null 2>&1; then
      for _ in $(seq 1 100); do
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then REDIS_PORT=$port; return 0; fi
        sleep 0.1
      done
    fi
    stop_redis "$dir"
  done
  cat "$dir/redis.log" >&2 2>/dev/null || true
  die "redis-server did not start (log above)"
}

stop_redis() {
  local dir=$1
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  rm -f "$dir/redis.pid"
}

ensure_dotnet() {
  command -v dotnet >/dev/null || die "the .NET SDK is not on PATH: install dotnet-sdk-10.0 (https://learn.microsoft.com/dotnet/core/install/linux-debian)"
  dotnet tool restore >/dev/null
}

build() {
  say "building ($CONFIGURATION)"
  dotnet build ChatStats.sln -c "$CONFIGURATION" -nologo -v quiet -clp:ErrorsOnly
}

free_port() {
  local port
  for port in $(seq "${1:-54320}" 54999); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  die "no free loopback port between ${1:-54320} and 54999"
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the 'postgres' user the Debian package creates.
pg_run() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# init_cluster DIR PORT [fast]: create a cluster listening on 127.0.0.1:PORT with a trusted 'chatstats' superuser.
init_cluster() {
  local dir=$1 port=$2 fast=${3:-}
  local bin; bin=$(pg_bin) || die "PostgreSQL binaries not found under /usr/lib/postgresql"
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir" && chmod 700 "$dir"
  pg_run "$bin/initdb" -D "$dir/data" -U "$PG_USER" --auth=trust -E UTF8 --no-locale ${fast:+--no-sync} >/dev/null
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "max_connections = 200"
    echo "shared_buffers = 256MB"
    echo "log_min_messages = warning"
    # A throw-away test cluster need not survive a power cut; a dev cluster keeps full durability.
    if [ -n "$fast" ]; then echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"; fi
  } | pg_run tee -a "$dir/data/postgresql.conf" >/dev/null
}

# start_cluster DIR: starts it and sets CLUSTER_PORT. A port free_port found free can still be taken by the time
# PostgreSQL binds it (another process's outgoing connection may hold it as its local port): then the cluster moves to
# the next free port, up to five times.
start_cluster() {
  local dir=$1 attempt port
  local bin; bin=$(pg_bin)
  for attempt in 1 2 3 4 5; do
    port=$(sed -n "s/^port = //p" "$dir/data/postgresql.conf" | tail -1)
    rm -f "$dir/postgres.log"
    if pg_run "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
      CLUSTER_PORT=$port
      return 0
    fi
    grep -q "Address already in use" "$dir/postgres.log" || break
    port=$(free_port $((port + 1)))
    say "port taken meanwhile; trying 127.0.0.1:$port"
    pg_run sed -i "s/^port = .*/port = $port/" "$dir/data/postgresql.conf"
  done
  cat "$dir/postgres.log" >&2 || true
  die "PostgreSQL did not start (log above)"
}

stop_cluster() {
  local dir=$1
  local bin; bin=$(pg_bin)
  [ -f "$dir/data/postmaster.pid" ] && pg_run "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

create_db() {
  local port=$1 db=$2
  local bin; bin=$(pg_bin)
  "$bin/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
    || "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$db"
}

# The persistent local cluster under .data/pg, started if it is not running.
local_cluster() {
  local dir="$ROOT/.data/pg" port
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    port=$(free_port 54329)
    say "creating a local PostgreSQL cluster in .data/pg on port $port"
    init_cluster "$dir" "$port"
    echo "$port" > "$ROOT/.data/pg.port"
  fi
  port=$(cat "$ROOT/.data/pg.port")
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    say "starting the local PostgreSQL on port $port"
    start_cluster "$dir"
    port=$CLUSTER_PORT
    echo "$port" > "$ROOT/.data/pg.port"
  fi
  create_db "$port" "$PG_DB"
  echo "postgres://$PG_USER@127.0.0.1:$port/$PG_DB"
}

chatstats() { dotnet "$BIN/chatstats.dll" "$@"; }

cmd_test() {
  ensure_packages
  ensure_dotnet
  local tmp=""
  if [ -z "${DATABASE_URL:-}" ]; then
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatstats-test.XXXXXX")
    chmod 755 "$tmp"
    local port; port=$(free_port 54320)
    # shellcheck disable=SC2064
    trap "stop_redis '$tmp'; stop_cluster '$tmp'; rm -rf '$tmp'" EXIT
    say "starting a throw-away PostgreSQL on 127.0.0.1:$port"
    init_cluster "$tmp" "$port" fast
    start_cluster "$tmp"
    port=$CLUSTER_PORT
    export CHATSTATS_TEST_DATABASE_URL="postgres://$PG_USER@127.0.0.1:$port/postgres"
  else
    export CHATSTATS_TEST_DATABASE_URL="$DATABASE_URL"
  fi
  if [ -z "${REDIS_URL:-}" ]; then
    # shellcheck disable=SC2064
    [ -n "$tmp" ] || { tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatstats-test.XXXXXX"); trap "stop_redis '$tmp'; rm -rf '$tmp'" EXIT; }
    start_redis "$tmp"
    say "started a throw-away Redis on 127.0.0.1:$REDIS_PORT"
    export CHATSTATS_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  else
    export CHATSTATS_TEST_REDIS_URL="$REDIS_URL"
  fi
  build
  local results="$ROOT/tests/TestResults"
  rm -rf "$results"
  say "running the test suite"
  local status=0
  dotnet test ChatStats.sln -c "$CONFIGURATION" --no-build -nologo --logger "trx" --results-directory "$results" \
    --logger "console;verbosity=minimal" "$@" || status=$?
  summarize "$results"
  return $status
}

# One closing line over all test assemblies: "N passed, N failed, N skipped".
summarize() {
  local passed=0 failed=0 skipped=0 total=0 f counters
  for f in "$1"/*.trx; do
    [ -f "$f" ] || continue
    counters=$(grep -o '<Counters [^>]*>' "$f" | head -n 1)
    total=$((total + $(sed -E 's/.* total="([0-9]+)".*/\1/' <<<"$counters")))
    passed=$((passed + $(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")))
    failed=$((failed + $(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")))
  done
  skipped=$((total - passed - failed))
  echo "$passed passed, $failed failed, $skipped skipped"
}

cmd_run() {
  if [ -z "${TELEGRAM_BOT_TOKEN:-}" ] && [ -z "${Telegram__BotToken:-}" ]; then
    die "TELEGRAM_BOT_TOKEN is not set. Talk to @BotFather on Telegram (/newbot), then: TELEGRAM_BOT_TOKEN=123456:ABC... deploy/dev.sh run (or put it in appsettings.json under Telegram:BotToken)."
  fi
  ensure_packages
  ensure_dotnet
  [ -n "${DATABASE_URL:-}" ] || DATABASE_URL=$(local_cluster)
  export DATABASE_URL
  build
  chatstats migrate
  say "starting chatstats (bot + web on ${Web__Urls:-http://127.0.0.1:8080}); Ctrl-C stops it"
  exec dotnet "$BIN/chatstats.dll" run
}

cmd_migrate() {
  ensure_dotnet
  if [ -z "${DATABASE_URL:-}" ]; then ensure_packages; DATABASE_URL=$(local_cluster); fi
  export DATABASE_URL
  build
  chatstats migrate
}

cmd_doctor() {
  ensure_dotnet
  if [ -z "${DATABASE_URL:-}" ]; then ensure_packages; DATABASE_URL=$(local_cluster); fi
  export DATABASE_URL
  build
  chatstats doctor
}

cmd_bench() {
  # wrk plays Telegram's side of the webhook load run.
  PACKAGES+=(wrk)
  ensure_packages
  ensure_dotnet
  local tmp; tmp=$(mktemp -d "${TMPDIR:-/tmp}/chatstats-bench.XXXXXX")
  chmod 755 "$tmp"
  local port; port=$(free_port 54320)
  # BENCH_CLUSTER=DIR keeps the benchmark cluster there between runs (with what it holds: 'bench steady --keep-seed'
  # seeds its big chat once); otherwise it is thrown away with the run.
  local cluster=${BENCH_CLUSTER:-$tmp}
  # shellcheck disable=SC2064
  trap "stop_cluster '$cluster'; rm -rf '$tmp'" EXIT
  # The benchmark cluster keeps default durability (fsync on), like production.
  if [ ! -f "$cluster/data/PG_VERSION" ]; then init_cluster "$cluster" "$port"; fi
  start_cluster "$cluster"
  port=$CLUSTER_PORT
  CONFIGURATION=Release build
  # --against REV: build that commit beside this one, for an interleaved A/B in the same run.
  local args=() against=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --against) against=${2:?--against needs a commit}; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  if [ -n "$against" ]; then
    local rev; rev=$(git rev-parse --short "$against") || die "--against $against: not a commit of this repository"
    say "building $against ($rev) for comparison"
    mkdir -p "$tmp/against"
    git archive "$rev" | tar -x -C "$tmp/against"
    # ingest runs the other commit's chatstats; jobs runs its own benchmark (the job queue it had).
    local project=migrations/ChatStats.Migrations
    [ "${args[0]:-}" = jobs ] && project=tests/ChatStats.Benchmarks
    (cd "$tmp/against" && dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly) \
      || die "could not build $against"
    args+=(--against-bot "$tmp/against/src/ChatStats.Bot/bin/Release/net10.0" --against-bench "$tmp/against/tests/ChatStats.Benchmarks/bin/Release/net10.0" \
      --against-label "$against ($rev)")
  fi
  export CHATSTATS_BENCH_SERVER_URL="postgres://$PG_USER@127.0.0.1:$port/postgres"
  dotnet tests/ChatStats.Benchmarks/bin/Release/net10.0/ChatStats.Benchmarks.dll "${args[@]}"
}

cmd_publish() {
  local out=${1:-}
  [ -n "$out" ] || die "usage: deploy/dev.sh publish DIR   (for example /opt/chatstats/app)"
  ensure_dotnet
  dotnet publish src/ChatStats.Bot -c Release -o "$out" -nologo -v quiet
  # chatstats loads its migrations at run time from the same folder.
  dotnet build migrations/ChatStats.Migrations -c Release -nologo -v quiet -clp:ErrorsOnly
  cp migrations/ChatStats.Migrations/bin/Release/net10.0/ChatStats.Migrations.dll "$out/"
  # What deploy/supervisor runs: the role under its CPU and memory limits.
  install -m 755 deploy/chatstats-run "$out/chatstats-run"
  say "published to $out; run 'dotnet $out/chatstats.dll doctor' to check the settings there"
}

case "${1:-}" in
  test) shift; cmd_test "$@" ;;
  run) shift; cmd_run "$@" ;;
  migrate) shift; cmd_migrate "$@" ;;
  doctor) shift; cmd_doctor "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  publish) shift; cmd_publish "$@" ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
