#!/bin/bash
# devstack-plugin.sh: run devstack/plugin.sh through every phase against a
# fake DevStack made in a temp dir: our own small versions of the functions
# the plugin contract provides (iniset, is_service_enabled, run_process, ...),
# real config files, the real meson install and the real harness binary.
# Usage: devstack-plugin.sh HARNESS_EXE
set -u
harness_exe=$1
src=${HARNESS_SOURCE_ROOT:?}
build=${HARNESS_BUILD_ROOT:?}
tmp=$(mktemp -d)
trap '[ -f "$tmp/harness-collector.pid" ] && kill "$(cat "$tmp/harness-collector.pid")"; rm -rf "$tmp"' EXIT
fail=0
ok()   { echo "ok   $*"; }
bad()  { echo "FAIL $*"; fail=1; }

# --- the fake DevStack ---------------------------------------------------
export DEST=$tmp/opt/stack DATA_DIR=$tmp/opt/stack/data
export NOVA_CONF_DIR=$tmp/etc/nova
mkdir -p "$DEST" "$DATA_DIR" "$NOVA_CONF_DIR" "$tmp/etc/keystone" \
	"$tmp/etc/glance" "$tmp/etc/neutron" "$tmp/etc/cinder"
NOVA_CONF=$NOVA_CONF_DIR/nova.conf
NOVA_CPU_CONF=$NOVA_CONF_DIR/nova-cpu.conf
KEYSTONE_CONF=$tmp/etc/keystone/keystone.conf
GLANCE_API_CONF=$tmp/etc/glance/glance-api.conf
NEUTRON_CONF=$tmp/etc/neutron/neutron.conf
CINDER_CONF=$tmp/etc/cinder/cinder.conf     # exists, but c-api is disabled
for f in "$NOVA_CONF" "$NOVA_CPU_CONF" "$KEYSTONE_CONF" "$GLANCE_API_CONF" \
	"$NEUTRON_CONF" "$CINDER_CONF" "$NOVA_CONF_DIR/nova_cell1.conf"; do
	printf '[DEFAULT]\ndebug = True\n' > "$f"
done
SERVICE_HOST=127.0.0.1 SERVICE_PROTOCOL=http ADMIN_PASSWORD='s3cr"et'
KEYSTONE_SERVICE_URI=http://127.0.0.1/identity
ENABLED_SERVICES=key,n-api,n-cpu,n-cond,n-sch,g-api,q-svc,keystone,placement-api
# Two project checkouts under $DEST, as DevStack clones them.
for p in nova keystone; do
	git init -q "$DEST/$p" && git -C "$DEST/$p" -c user.email=t@t -c user.name=t \
		commit -q --allow-empty -m "initial $p"
done
HARNESS_DIR=$src
HARNESS_BUILD_DIR=$build
HARNESS_DESTDIR=$tmp/root
HARNESS_PREFIX=/usr/local
SYSTEMCTL=fake_systemctl
calls=$tmp/calls.log
: > "$calls"

is_service_enabled() {
	local s
	for s in "$@"; do
		[[ ,$ENABLED_SERVICES, == *,$s,* ]] && return 0
	done
	return 1
}
enable_service() { ENABLED_SERVICES+=",$1"; }
echo_summary() { echo "summary: $*" >> "$calls"; }
install_package() { echo "install_package $*" >> "$calls"; }
sudo() { "$@"; }
# run_process starts the command for real, as DevStack's systemd unit would.
run_process() {
	echo "run_process $1 $2" >> "$calls"
	bash -c "exec $2" > "$tmp/$1.log" 2>&1 &
	echo $! > "$tmp/$1.pid"
}
stop_process() {
	echo "stop_process $1" >> "$calls"
	[[ -f $tmp/$1.pid ]] && kill "$(cat "$tmp/$1.pid")" 2>/dev/null
	rm -f "$tmp/$1.pid"
}
restart_service() { echo "restart_service $1" >> "$calls"; }
fake_systemctl() { # n-api runs already; nothing else does
	[[ $* == *devstack@n-api.service* ]]
}
trueorfalse() { # trueorfalse DEFAULT VARNAME
	local v=${!2:-$1}
	case $v in [Tt]rue|1|[Yy]es) echo True ;; *) echo False ;; esac
}
# iniset FILE SECTION KEY VALUE: set KEY in [SECTION], adding either.
iniset() {
	local file=$1 section=$2 key=$3 value=$4
	awk -v s="[$section]" -v k="$key" -v v="$value" '
		function emit() { print k " = " v; done = 1 }
		$0 == s { insec = 1; print; next }
		/^\[/ { if (insec && !done) emit(); insec = 0 }
		insec && $1 == k && $2 == "=" { if (!done) emit(); next }
		{ print }
		END { if (!done) { if (!insec) print s; emit() } }
	' "$file" > "$file.new" && mv "$file.new" "$file"
}
iniget() {
	awk -v s="[$2]" -v k="$3" '
		/^\[/ { insec = ($0 == s); next }
		insec && $1 == k && $2 == "=" { sub(/^[^=]*= */, ""); print; exit }
	' "$1"
}

# A free loopback port for the collector.
HARNESS_OTLP_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# --- the phases, as stack.sh, unstack.sh and clean.sh call them ----------
# shellcheck source=/dev/null
source "$src/devstack/settings"
phase() {
	# shellcheck source=/dev/null
	source "$src/devstack/plugin.sh" "$@" >> "$tmp/phase.log" 2>&1 ||
		{ bad "phase $* returned non-zero"; cat "$tmp/phase.log"; }
}
is_service_enabled harness-collector && ok "settings enables harness-collector" ||
	bad "settings does not enable harness-collector"

phase stack install
grep -q '^install_package .*libyaml-dev' "$calls" && ok "install: build dependencies" ||
	bad "install: no install_package of the build dependencies"
[[ -x $HARNESS_DESTDIR/usr/local/bin/harness ]] && ok "install: harness installed" ||
	bad "install: $HARNESS_DESTDIR/usr/local/bin/harness missing"

phase stack post-config
for f in "$NOVA_CONF" "$NOVA_CPU_CONF" "$KEYSTONE_CONF" "$GLANCE_API_CONF" \
	"$NEUTRON_CONF" "$NOVA_CONF_DIR/nova_cell1.conf"; do
	n=${f#"$tmp"/}
	[[ $(iniget "$f" profiler enabled) == True ]] || bad "$n: profiler not enabled"
	[[ $(iniget "$f" profiler hmac_keys) == SECRET_KEY ]] || bad "$n: hmac_keys"
	[[ $(iniget "$f" profiler connection_string) == "otlp://127.0.0.1:$HARNESS_OTLP_PORT" ]] ||
		bad "$n: connection_string is '$(iniget "$f" profiler connection_string)'"
	[[ $(iniget "$f" profiler trace_sqlalchemy) == True ]] || bad "$n: trace_sqlalchemy"
	[[ $(iniget "$f" profiler trace_requests) == True ]] || bad "$n: trace_requests"
	[[ $(iniget "$f" DEFAULT debug) == True ]] || bad "$n: lost its [DEFAULT]"
	[[ $(grep -c '^\[profiler\]' "$f") == 1 ]] || bad "$n: [profiler] written twice"
done
ok "post-config: [profiler] in every enabled service's config"
grep -q profiler "$CINDER_CONF" && bad "cinder is disabled but was configured" ||
	ok "post-config: disabled service left alone"
grep -q '^restart_service devstack@n-api$' "$calls" && ok "post-config: running n-api restarted" ||
	bad "post-config: running n-api was not restarted"
grep -q 'restart_service devstack@n-cpu' "$calls" && bad "n-cpu is not running but was restarted"

cfg=$HARNESS_CONFIG_FILE
[[ -f $cfg ]] && ok "post-config: wrote $(basename "$cfg")" || bad "no harness.yaml written"
grep -q 'manage: false' "$cfg" || bad "harness.yaml: manage is not false"
grep -q "path: \"$DEST/nova\"" "$cfg" || bad "harness.yaml: nova repository missing"
grep -q 'password: "s3cr\\"et"' "$cfg" || bad "harness.yaml: password not quoted right"
if out=$("$harness_exe" config check -c "$cfg" 2>&1); then
	ok "harness config check accepts the written harness.yaml"
else
	bad "harness config check rejects the written harness.yaml: $out"
fi

# With tls-proxy, the endpoints are https:// and signed by DevStack's CA:
# harness trusts the bundle DevStack's clients use.
( SERVICE_PROTOCOL=https SSL_BUNDLE_FILE=/etc/ssl/certs/ca-certificates.crt
  KEYSTONE_SERVICE_URI=https://127.0.0.1/identity
  HARNESS_CONFIG_FILE=$tmp/tls/harness.yaml
  write_harness_config )
if grep -q '^  ca_file: "/etc/ssl/certs/ca-certificates.crt"$' "$tmp/tls/harness.yaml" &&
	grep -q 'url: "https://127.0.0.1/identity"' "$tmp/tls/harness.yaml" &&
	out=$("$harness_exe" config check -c "$tmp/tls/harness.yaml" 2>&1) &&
	grep -q 'ca_file: "\?/etc/ssl/certs/ca-certificates.crt' <<< "$out"; then
	ok "tls-proxy: harness.yaml trusts DevStack's CA bundle"
else
	bad "tls-proxy: $(cat "$tmp/tls/harness.yaml") ${out:-}"
fi
grep -q '^tls:' "$cfg" && bad "plain http DevStack got a tls: section"

phase stack extra
grep -q "^run_process harness-collector .*harness collect -c $cfg --listen 127.0.0.1:$HARNESS_OTLP_PORT" "$calls" &&
	ok "extra: collector started as a DevStack service" || bad "extra: collector not started"
answered=""
for _ in $(seq 1 50); do
	if curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{}' \
		"http://127.0.0.1:$HARNESS_OTLP_PORT/v1/traces"; then
		answered=yes
		break
	fi
	sleep 0.1
done
[[ -n $answered ]] && ok "extra: the collector answers OTLP/HTTP" ||
	{ bad "extra: the collector does not answer"; cat "$tmp/harness-collector.log"; }
pid=$(cat "$tmp/harness-collector.pid")
phase unstack
grep -q '^stop_process harness-collector$' "$calls" && ok "unstack: collector stopped" ||
	bad "unstack: collector not stopped"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && bad "unstack: collector process $pid still running"

HARNESS_KEEP_DATA=True
touch "$HARNESS_STORE"; mkdir -p "$HARNESS_DATA_DIR/spool"
phase clean
[[ -f $HARNESS_STORE && ! -d $HARNESS_DATA_DIR/spool ]] && ok "clean: keeps the store when told" ||
	bad "clean with HARNESS_KEEP_DATA=True"
HARNESS_KEEP_DATA=False
phase clean
[[ ! -e $HARNESS_DATA_DIR ]] && ok "clean: removes its data" || bad "clean: data left"

if command -v shellcheck >/dev/null; then
	if shellcheck -s bash "$src/devstack/plugin.sh" "$src/devstack/settings"; then
		ok "shellcheck clean"
	else
		bad "shellcheck"
	fi
fi
exit $fail
