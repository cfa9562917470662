#!/usr/bin/env bash
# Local services for Nimbo: Debian packages, Redis, PostgreSQL, LXD and the local busybox image.
#
# Usage: .ci/services.sh COMMAND...
#   deps-run   install (apt) what `make run` needs if missing: redis-server lxd busybox-static curl
#   deps-test  install (apt) what `make test` and `make bench` need if missing: the above + postgresql gcc libc6-dev wrk chromium
#   node       check that Node.js (>= $NODE_MIN_MAJOR, default 20) and npm are in PATH (the web portal)
#              and poppler-utils (pdfinfo, pdftotext for the invoice PDF tests)
#   redis      start Redis on 127.0.0.1:$REDIS_PORT unless something already answers there
#   postgres   start PostgreSQL cluster $PG_VERSION/main, make it listen on 127.0.0.1 and set the
#              postgres user's password to 'postgres' (only if it does not already work)
#   lxd        start LXD unless it answers, then ensure storage pool `default` (dir) and the root
#              disk of the default profile; never creates a network and never runs `lxd init`
#   image      build and import the busybox image (alias $IMAGE_ALIAS) unless the alias exists
#   run        deps-run redis lxd image
#   test       deps-test node redis postgres lxd image
#
# Every step checks before it changes anything, so running it again (or on a machine where the
# services were started by hand) does nothing harmful: nothing is ever stopped or deleted.
# Daemons are started directly (no systemd): their logs go to /var/log/{redis,lxd}/.
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6379}"
PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_PASSWORD="${PG_PASSWORD:-postgres}"
IMAGE_ALIAS="${NIMBO_TEST_IMAGE:-busybox}"
LXD_LOG="${LXD_LOG:-/var/log/lxd/lxd.log}"

RUN_PKGS=(redis-server lxd busybox-static curl)
TEST_PKGS=(redis-server postgresql lxd busybox-static curl gcc libc6-dev wrk)
# Headless browser of the web portal's end-to-end tests (driven by playwright-core).
TEST_PKGS+=(chromium)
# The web portal (frontend/) is built and tested with Node.js from the machine (not apt).
NODE_MIN_MAJOR="${NODE_MIN_MAJOR:-20}"
# poppler-utils: pdfinfo and pdftotext read back the invoice PDFs in the tests.
TEST_PKGS+=(poppler-utils)

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
	printf 'ERROR: %s\n' "$*" >&2
	exit 1
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "$1 needs root (run as root or with sudo)"
}

# start_detached LOG CMD... starts CMD in its own session with stdin from /dev/null, stdout and
# stderr appended to LOG and every other descriptor closed, so that it outlives this script and
# holds no pipe of the caller open. Prints the pid (the same process: setsid execs in place).
start_detached() {
	local log=$1
	shift
	(
		exec </dev/null >>"$log" 2>&1
		close_fds
		exec setsid "$@"
	) &
	echo $!
}

# close_fds closes every descriptor above 2 of the current (sub)shell, so that a daemon started
# from it keeps no pipe of whoever runs this script (a CI runner waits for those to close).
close_fds() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
	done
}

# --- packages ---------------------------------------------------------------------------------

install_pkgs() {
	local missing=() p
	for p in "$@"; do
		if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "packages: all present (${*})"
		return 0
	fi
	need_root "installing packages"
	say "packages: installing ${missing[*]} (apt-get update first)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}"
}

cmd_deps_run() { install_pkgs "${RUN_PKGS[@]}"; }
cmd_deps_test() { install_pkgs "${TEST_PKGS[@]}"; }

# cmd_node checks that node and npm are there and node is new enough for the web portal.
cmd_node() {
	command -v node >/dev/null || die "Node.js $NODE_MIN_MAJOR or newer is needed in PATH for the web portal (frontend/)"
	command -v npm >/dev/null || die "npm is needed in PATH for the web portal (frontend/)"
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge "$NODE_MIN_MAJOR" ] || die "Node.js $(node --version) is too old for the web portal: $NODE_MIN_MAJOR or newer is needed"
	say "node: $(node --version), npm $(npm --version 2>/dev/null)"
}

# --- Redis ------------------------------------------------------------------------------------

redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

cmd_redis() {
	if redis_up; then
		say "redis: already answering on 127.0.0.1:$REDIS_PORT"
		return 0
	fi
	need_root "starting Redis"
	mkdir -p /var/lib/redis /var/log/redis
	say "redis: starting redis-server on 127.0.0.1:$REDIS_PORT (log /var/log/redis/nimbo-redis.log)"
	(
		close_fds
		exec redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
			--dir /var/lib/redis --logfile /var/log/redis/nimbo-redis.log \
			--pidfile /var/lib/redis/nimbo-redis.pid </dev/null
	)
	for _ in $(seq 1 60); do
		redis_up && {
			say "redis: ready"
			return 0
		}
		sleep 0.5
	done
	tail -n 20 /var/log/redis/nimbo-redis.log >&2 || true
	die "redis did not answer PING within 30 s"
}

# --- PostgreSQL -------------------------------------------------------------------------------

pg_port() {
	pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $3}'
}

pg_psql() { runuser -u postgres -- psql -p "$(pg_port)" -X -q -tA "$@"; }

pg_tcp_login() {
	PGPASSWORD="$PG_PASSWORD" psql -X -q -tA -h 127.0.0.1 -p "$(pg_port)" -U postgres -d postgres \
		-c 'select 1' >/dev/null 2>&1
}

# pg_ctl_detached start|restart runs pg_ctlcluster directly (not through systemctl) with no
# descriptor above 2 and stdin from /dev/null, so the server holds no pipe of the caller.
pg_ctl_detached() {
	(
		close_fds
		exec pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" "$1" </dev/null
	)
}

pg_running() { pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; }

cmd_postgres() {
	if pg_running && pg_tcp_login; then
		say "postgres: cluster $PG_VERSION/$PG_CLUSTER already running, login postgres@127.0.0.1:$(pg_port) works"
		return 0
	fi
	need_root "setting up PostgreSQL"
	if [ -z "$(pg_port)" ]; then
		say "postgres: creating cluster $PG_VERSION/$PG_CLUSTER"
		pg_createcluster "$PG_VERSION" "$PG_CLUSTER"
	fi
	if ! pg_running; then
		say "postgres: starting cluster $PG_VERSION/$PG_CLUSTER (pg_ctlcluster)"
		pg_ctl_detached start
	else
		say "postgres: cluster $PG_VERSION/$PG_CLUSTER already running"
	fi
	local listen
	listen=$(pg_psql -c 'show listen_addresses')
	case ",${listen// /}," in
	*,localhost,* | *,127.0.0.1,* | *,\*,* | *,0.0.0.0,*)
		note "listen_addresses = '$listen' (covers 127.0.0.1)"
		;;
	*)
		say "postgres: listen_addresses is '$listen'; setting '127.0.0.1' in conf.d/nimbo.conf and restarting"
		printf "listen_addresses = '127.0.0.1'\n" >"/etc/postgresql/$PG_VERSION/$PG_CLUSTER/conf.d/nimbo.conf"
		pg_ctl_detached restart
		;;
	esac
	pg_isready -q -h 127.0.0.1 -p "$(pg_port)" -t 30 || die "PostgreSQL not accepting connections on 127.0.0.1:$(pg_port)"
	if ! pg_tcp_login; then
		say "postgres: setting the postgres user's password"
		pg_psql -c "ALTER USER postgres PASSWORD '$PG_PASSWORD'"
		pg_tcp_login || die "cannot log in as postgres@127.0.0.1:$(pg_port) (check pg_hba.conf)"
	fi
	say "postgres: ready on 127.0.0.1:$(pg_port)"
	case "${NIMBO_TEST_POSTGRES_DSN:-@127.0.0.1:5432/}" in
	*"@127.0.0.1:$(pg_port)/"*) ;;
	*) note "WARNING: the cluster listens on port $(pg_port): set NIMBO_TEST_POSTGRES_DSN to match" ;;
	esac
}

# --- LXD --------------------------------------------------------------------------------------

lxd_ready() { lxd waitready --timeout "${1:-2}" >/dev/null 2>&1; }

cmd_lxd() {
	if lxd_ready 2; then
		say "lxd: already running"
	elif pgrep -x lxd >/dev/null; then
		say "lxd: process found, waiting for it to be ready"
		lxd_ready 120 || die "lxd is running but not ready after 120 s (log: $LXD_LOG)"
	else
		need_root "starting LXD"
		mkdir -p "$(dirname "$LXD_LOG")"
		say "lxd: starting 'lxd --group root' (log $LXD_LOG)"
		start_detached "$LXD_LOG" lxd --group root --logfile "$LXD_LOG" >/dev/null
		if ! lxd_ready 120; then
			tail -n 30 "$LXD_LOG" >&2 || true
			die "lxd did not become ready within 120 s"
		fi
		say "lxd: ready"
	fi
	if lxc storage show default >/dev/null 2>&1; then
		note "storage pool 'default' exists ($(lxc storage get default source 2>/dev/null || true))"
	else
		say "lxd: creating storage pool 'default' (dir)"
		lxc storage create default dir
	fi
	if lxc profile device get default root pool >/dev/null 2>&1; then
		note "default profile has a root disk (pool $(lxc profile device get default root pool))"
	else
		say "lxd: adding root disk (pool default) to the default profile"
		lxc profile device add default root disk path=/ pool=default
	fi
}

# --- busybox image ----------------------------------------------------------------------------

# build_image DIR writes DIR/busybox.tar.gz: a unified LXD image whose rootfs is /bin/busybox
# (busybox-static) with one symlink per applet, busybox init and an httpd on port 8080.
build_image() {
	local dir=$1 root=$1/rootfs bb
	bb=/bin/busybox
	[ -x "$bb" ] || die "$bb not found (install busybox-static)"
	# The rootfs has no libc: the binary must be the static one from busybox-static.
	if ldd "$bb" >/dev/null 2>&1; then die "$bb is dynamically linked (install busybox-static)"; fi
	mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,var/www} "$dir/templates"
	chmod 1777 "$root/tmp"
	cp "$bb" "$root/bin/busybox"
	local applet
	for applet in $("$root/bin/busybox" --list); do
		# --list includes "busybox" itself: never link it over the binary.
		[ "$applet" = busybox ] && continue
		ln -sf busybox "$root/bin/$applet"
	done
	ln -sf ../bin/busybox "$root/sbin/init"
	cat >"$root/etc/inittab" <<'EOF'
::sysinit:/bin/ip link set lo up
::sysinit:/bin/hostname -F /etc/hostname
::respawn:/bin/httpd -f -p 8080 -h /var/www
::shutdown:/bin/sync
EOF
	echo nimbo >"$root/etc/hostname"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	printf '<html><body>nimbo busybox</body></html>\n' >"$root/var/www/index.html"
	printf '{{ container.name }}\n' >"$dir/templates/hostname.tpl"
	cat >"$dir/metadata.yaml" <<EOF
architecture: x86_64
creation_date: $(date +%s)
properties:
  os: busybox
  description: Nimbo busybox test image
templates:
  /etc/hostname:
    when:
      - create
      - copy
    template: hostname.tpl
EOF
	tar -C "$dir" --numeric-owner -czf "$dir/busybox.tar.gz" metadata.yaml templates rootfs
}

cmd_image() {
	if lxc image info "$IMAGE_ALIAS" >/dev/null 2>&1; then
		say "image: '$IMAGE_ALIAS' already present ($(lxc image info "$IMAGE_ALIAS" | awk '/^Fingerprint:/ {print substr($2,1,12)}'))"
		return 0
	fi
	need_root "building the image"
	local dir
	dir=$(mktemp -d /tmp/nimbo-image.XXXXXX)
	# shellcheck disable=SC2064 # expand $dir now
	trap "rm -rf '$dir'" EXIT
	say "image: building busybox rootfs in $dir"
	build_image "$dir"
	say "image: importing $(du -h "$dir/busybox.tar.gz" | cut -f1) as '$IMAGE_ALIAS'"
	lxc image import "$dir/busybox.tar.gz" --alias "$IMAGE_ALIAS"
	rm -rf "$dir"
	trap - EXIT
}

# ----------------------------------------------------------------------------------------------

run_cmd() {
	case "$1" in
	deps-run) cmd_deps_run ;;
	deps-test) cmd_deps_test ;;
	node) cmd_node ;;
	redis) cmd_redis ;;
	postgres) cmd_postgres ;;
	lxd) cmd_lxd ;;
	image) cmd_image ;;
	run) for c in deps-run redis lxd image; do run_cmd "$c"; done ;;
	test) for c in deps-test node redis postgres lxd image; do run_cmd "$c"; done ;;
	*) die "unknown command '$1' (deps-run deps-test node redis postgres lxd image run test)" ;;
	esac
}

# When sourced (by .ci/local.sh) only the functions are defined.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	[ $# -gt 0 ] || die "usage: $0 {deps-run|deps-test|redis|postgres|lxd|image|run|test}..."
	for c in "$@"; do run_cmd "$c"; done
fi
