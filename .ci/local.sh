#!/usr/bin/env bash
# Runs a local Nimbo (panel + one node daemon on this machine) from the binaries in ./bin.
#
# Usage: .ci/local.sh run|stop|status
#   run     migrate, create the admin (once), (re)start the panel, wait for /readyz, join this
#           machine as node "local" (once), (re)start the daemon, print URL and admin credentials
#   stop    stop the daemon and the panel started by `run` (Redis, PostgreSQL and LXD keep running)
#   status  say whether panel and daemon are running
#
# Environment: NIMBO_DATA_DIR (default /var/lib/nimbo) holds the SQLite database, logs, pid files,
# daemon.yaml and admin-credentials. NIMBO_LISTEN / NIMBO_PUBLIC_URL are passed to the panel
# unchanged; the URL used here is NIMBO_PUBLIC_URL, else http://$NIMBO_LISTEN, else
# http://127.0.0.1:8080. NIMBO_ADMIN_EMAIL (default admin@nimbo.local).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/services.sh
. .ci/services.sh

ROOT=$PWD
DATA=${NIMBO_DATA_DIR:-/var/lib/nimbo}
export NIMBO_DATA_DIR=$DATA
URL=${NIMBO_PUBLIC_URL:-http://${NIMBO_LISTEN:-127.0.0.1:8080}}
URL=${URL%/}
ADMIN_EMAIL=${NIMBO_ADMIN_EMAIL:-admin@nimbo.local}
PANEL=$ROOT/bin/nimbo-panel
DAEMON=$ROOT/bin/nimbo-daemon
DAEMON_CONFIG=$DATA/daemon.yaml
CREDENTIALS=$DATA/admin-credentials

# running_pid PIDFILE BINARY prints the pid from PIDFILE if that process runs BINARY (also when
# BINARY was rebuilt since, which the kernel shows as "BINARY (deleted)").
running_pid() {
	local pid exe
	[ -f "$1" ] || return 1
	pid=$(cat "$1")
	[ -n "$pid" ] && exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	case "$exe" in
	"$2" | "$2 (deleted)") echo "$pid" ;;
	*) return 1 ;;
	esac
}

# stop_proc NAME PIDFILE BINARY TIMEOUT_S: SIGTERM, wait, SIGKILL after TIMEOUT_S.
stop_proc() {
	local name=$1 pidfile=$2 bin=$3 timeout=$4 pid i
	if ! pid=$(running_pid "$pidfile" "$bin"); then
		note "$name: not running"
		rm -f "$pidfile"
		return 0
	fi
	say "$name: stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "$name: still running after ${timeout}s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

# start_proc NAME LOG PIDFILE CMD...: start CMD detached, record its pid.
start_proc() {
	local name=$1 log=$2 pidfile=$3 pid
	shift 3
	pid=$(start_detached "$log" "$@")
	echo "$pid" >"$pidfile"
	say "$name: started (pid $pid, log $log)"
}

fail_with_log() {
	printf -- '--- last lines of %s ---\n' "$2" >&2
	tail -n 30 "$2" >&2 || true
	die "$1"
}

wait_ready() {
	local pid=$1 i
	for ((i = 0; i < 120; i++)); do
		kill -0 "$pid" 2>/dev/null || fail_with_log "panel exited during start" "$DATA/panel.log"
		if curl -fsS -o /dev/null --max-time 2 "$URL/readyz" 2>/dev/null; then
			say "panel: ready at $URL"
			return 0
		fi
		sleep 0.5
	done
	fail_with_log "panel not ready at $URL/readyz after 60 s" "$DATA/panel.log"
}

cmd_run() {
	local out pid token
	if [ ! -x "$PANEL" ] || [ ! -x "$DAEMON" ]; then
		die "bin/nimbo-panel or bin/nimbo-daemon missing: run 'make build'"
	fi
	mkdir -p "$DATA"
	chmod 0700 "$DATA"
	say "data dir: $DATA"
	# Stop what an earlier `run` started: the daemon first (it talks to the panel), and the panel
	# before migrating (SQLite is a single file).
	stop_proc daemon "$DATA/daemon.pid" "$DAEMON" 40
	stop_proc panel "$DATA/panel.pid" "$PANEL" 20

	say "panel: migrate"
	"$PANEL" migrate

	say "panel: admin $ADMIN_EMAIL"
	out=$("$PANEL" admin create --email "$ADMIN_EMAIL" --if-missing --credentials-file "$CREDENTIALS" 2>&1) ||
		{
			printf '%s\n' "$out" >&2
			die "admin create failed"
		}
	if grep -q 'already exists' <<<"$out"; then note "exists"; else note "created (credentials in $CREDENTIALS)"; fi

	if curl -s -o /dev/null --max-time 2 "$URL/healthz"; then
		die "something not started by 'make run' already answers at $URL: stop it, or set NIMBO_LISTEN/NIMBO_PUBLIC_URL"
	fi
	start_proc panel "$DATA/panel.log" "$DATA/panel.pid" "$PANEL" serve
	wait_ready "$(cat "$DATA/panel.pid")"

	if [ -f "$DAEMON_CONFIG" ]; then
		note "node: $DAEMON_CONFIG exists, already joined"
	else
		say "node: creating node 'local' and joining this machine"
		out=$("$PANEL" node create --name local --if-missing)
		token=$(awk '$1 == "join_token:" {print $2}' <<<"$out")
		[ -n "$token" ] || die "no join_token in 'nimbo-panel node create' output: $out"
		"$DAEMON" join --panel "$URL" --token "$token" --config "$DAEMON_CONFIG"
	fi

	start_proc daemon "$DATA/daemon.log" "$DATA/daemon.pid" "$DAEMON" run --config "$DAEMON_CONFIG"
	pid=$(cat "$DATA/daemon.pid")
	sleep 2
	kill -0 "$pid" 2>/dev/null || fail_with_log "daemon exited during start" "$DATA/daemon.log"

	cat <<EOF

Nimbo is running.
  URL:       $URL
  Admin:     (from $CREDENTIALS)
EOF
	if [ -f "$CREDENTIALS" ]; then
		sed 's/^/             /' "$CREDENTIALS"
	else
		echo "             $ADMIN_EMAIL (password unknown: $CREDENTIALS is missing)"
	fi
	cat <<EOF
  Logs:      $DATA/panel.log, $DATA/daemon.log
  Stop:      make stop
EOF
}

cmd_stop() {
	stop_proc daemon "$DATA/daemon.pid" "$DAEMON" 40
	stop_proc panel "$DATA/panel.pid" "$PANEL" 20
	note "Redis, PostgreSQL and LXD are left running"
}

cmd_status() {
	local name pid
	for name in panel daemon; do
		local bin=$PANEL
		[ "$name" = daemon ] && bin=$DAEMON
		if pid=$(running_pid "$DATA/$name.pid" "$bin"); then
			say "$name: running (pid $pid)"
		else
			say "$name: not running"
		fi
	done
}

case "${1:-}" in
run) cmd_run ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) die "usage: $0 run|stop|status" ;;
esac
