#!/bin/sh
# bootstrap.sh: install every Debian package harness needs to build, test
# and run. Idempotent: quiet and quick when nothing is missing.
set -eu

# What building and running harness needs (the DevStack plugin installs
# these), then what only the tests and benchmarks need.
run_packages="
	build-essential pkg-config meson ninja-build git curl
	libyaml-dev libsqlite3-dev sqlite3 libgit2-dev
	libssl-dev zlib1g-dev libjansson-dev
	libcurl4-openssl-dev libmicrohttpd-dev
	libdw-dev libhiredis-dev
	gnuplot-nox python3
"
test_packages="
	libcmocka-dev protobuf-compiler
	graphviz chromium librsvg2-bin
	python3-osprofiler python3-scipy python3-yaml
	redis-server python3-redis
	liblttng-ust-dev lttng-tools wrk rally
	shellcheck ca-certificates
"
packages="$run_packages $test_packages"

# --list prints the packages to build and run harness (the DevStack plugin
# installs them with DevStack's own install_package).
if [ "${1:-}" = "--list" ]; then
	# shellcheck disable=SC2086
	echo $run_packages
	exit 0
fi

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "bootstrap: missing packages:$missing" >&2
	echo "bootstrap: run as root (or install them with apt-get) and retry" >&2
	exit 1
fi

echo "bootstrap: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Packages with a daemon (redis-server) would start it from their
# maintainer scripts; the tests start their own on a free port, so none is
# started here: a policy-rc.d that refuses, for the install only.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	own_policy=1
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
[ -n "$own_policy" ] && rm -f "$policy"
trap - EXIT
