import { shellQuote } from '@dysnomia/engine';

/**
 * The bin/wrapper script of a MariaDB server component: a bash script whose
 * settings (quoted) are written at its top by the builder. Operations:
 * activate (initialise the data folder if empty, start mariadbd, wait until
 * it answers, create the admin user) and deactivate (stop it, wait until it
 * is gone); both idempotent. Other operations have nothing to do.
 */
export function wrapperScript(settings) {
  const assignments = Object.entries(settings)
    .map(([key, value]) => (Array.isArray(value) ? `${key}=(${value.map(shellQuote).join(' ')})` : `${key}=${shellQuote(String(value))}`))
    .join('\n');
  return `#!/usr/bin/env bash
# MariaDB server instance as a Dysnomia wrapper component (examples/mariadb-server).
# Usage: bin/wrapper OPERATION CONTAINER
set -euo pipefail
PATH="\${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"

${assignments}

component=$(cd "$(dirname "$0")/.." && pwd)
init_sql="$component/share/mariadb-server/init.sql"
os_user=$(id -un)
# mariadbd refuses to run as root unless told to.
run_as=()
if [ "$(id -u)" = 0 ]; then run_as=(--user=root); fi

log() { echo "mariadb-server $name: $*" >&2; }

# The pid of this instance's mariadbd when it runs (a zombie counts as gone).
server_pid() {
  local pid state
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # A recycled pid is not ours: check the program and its data folder.
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\\0' '\\n' < "/proc/$pid/cmdline" | grep -qxF -- "--datadir=$data_dir" || return 1
  fi
  echo "$pid"
}

alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed -E 's/^[0-9]+ \\(.*\\) ([A-Za-z]).*/\\1/' "/proc/$1/stat" 2>/dev/null || echo R)
  [ "$state" != Z ] && [ "$state" != X ]
}

answers() {
  "$mariadb_admin" --no-defaults --socket="$socket" --user="$os_user" --connect-timeout=2 ping >/dev/null 2>&1
}

initialise() {
  if [ -n "$(ls -A "$data_dir" 2>/dev/null)" ]; then return 0; fi
  log "initialising $data_dir"
  mkdir -p "$(dirname "$data_dir")"
  # Built beside the data folder and moved into place, so a failed run leaves no half-made data folder.
  local staging="$data_dir.init-$$"
  rm -rf "$staging"
  mkdir -p "$tmp_dir"
  if ! TMPDIR="$tmp_dir" "$install_db" --no-defaults --datadir="$staging" --tmpdir="$tmp_dir" "\${run_as[@]}" --auth-root-authentication-method=socket --skip-test-db \\
      "\${server_options[@]}" > "$staging.log" 2>&1; then
    cat "$staging.log" >&2
    rm -rf "$staging" "$staging.log"
    log "mariadb-install-db failed"
    exit 1
  fi
  rm -f "$staging.log"
  rmdir "$data_dir" 2>/dev/null || true
  mv "$staging" "$data_dir"
}

start() {
  if server_pid >/dev/null; then
    log "already running (pid $(server_pid))"
    return 0
  fi
  initialise
  mkdir -p "$(dirname "$socket")" "$(dirname "$pid_file")" "$(dirname "$log_file")" "$tmp_dir"
  if [ -S "$socket" ]; then
    if answers; then log "another server already answers on $socket"; exit 1; fi
    rm -f "$socket"
  fi
  log "starting mariadbd on $socket and $bind_address:$port"
  # A session of its own: the server outlives this script and whatever ran it.
  TMPDIR="$tmp_dir" setsid "$mariadbd" --no-defaults --datadir="$data_dir" --tmpdir="$tmp_dir" --socket="$socket" --port="$port" --bind-address="$bind_address" \\
    --pid-file="$pid_file" --log-error="$log_file" "\${run_as[@]}" "\${server_options[@]}" </dev/null >/dev/null 2>&1 &
  local pid=$! waited=0
  until answers; do
    if ! alive "$pid"; then
      log "mariadbd exited during start-up; the end of $log_file:"
      tail -n 20 "$log_file" >&2 || true
      exit 1
    fi
    if [ "$waited" -ge $((start_timeout * 10)) ]; then
      log "mariadbd did not answer on $socket within $start_timeout s; stopping it"
      kill -KILL "$pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  # The admin user (its password is in this file, mode 0600): created or updated, never on a command line.
  "$mariadb" --no-defaults --socket="$socket" --user="$os_user" --batch < "$init_sql"
  log "running (pid $pid)"
}

stop() {
  local pid waited=0
  if ! pid=$(server_pid); then
    log "not running"
    return 0
  fi
  log "stopping mariadbd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid"; do
    if [ "$waited" -ge $((stop_timeout * 10)) ]; then
      log "mariadbd did not stop within $stop_timeout s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$pid_file"
  log "stopped"
}

case "\${1:-}" in
  activate) start ;;
  deactivate) stop ;;
  lock|unlock|snapshot|restore|collect-garbage|capture) ;;
  *) echo "usage: $0 {activate|deactivate|lock|unlock|snapshot|restore|collect-garbage} CONTAINER" >&2; exit 2 ;;
esac
`;
}
