#!/bin/bash
# plugin.sh: DevStack plugin for harness. `enable_plugin harness <git-url>`
# in local.conf builds harness, turns OSprofiler on in every OpenStack
# service present (exporting OTLP to harness's collector), writes a
# harness.yaml describing this DevStack and runs the collector.

# Save xtrace and turn it off: the functions below are noisy.
_XTRACE_HARNESS=$(set +o | grep xtrace)
set +o xtrace

# Build with meson and install into $HARNESS_PREFIX. An existing build
# directory is reused, so a re-stack only rebuilds what changed.
function install_harness {
	# shellcheck disable=SC2046
	install_package $(sh "$HARNESS_DIR/ci/bootstrap.sh" --list)
	if [[ ! -f $HARNESS_BUILD_DIR/build.ninja ]]; then
		meson setup "$HARNESS_BUILD_DIR" "$HARNESS_DIR" \
			--prefix "$HARNESS_PREFIX" -Dtests=false -Dbenchmarks=false
	fi
	meson compile -C "$HARNESS_BUILD_DIR"
	sudo meson install -C "$HARNESS_BUILD_DIR" --no-rebuild --quiet \
		${HARNESS_DESTDIR:+--destdir "$HARNESS_DESTDIR"}
}

# The config files that get a [profiler] section: one per file, even when
# several services share it (nova-api and nova-conductor share nova.conf),
# plus nova's per-cell conductor configs.
function _harness_profiled_files {
	local pair service var file
	for pair in $HARNESS_PROFILED_SERVICES; do
		service=${pair%%:*}
		var=${pair#*:}
		file=${!var:-}
		is_service_enabled "$service" || continue
		[[ -n $file && -f $file ]] || continue
		echo "$file"
	done
	if is_service_enabled n-cond && [[ -n ${NOVA_CONF_DIR:-} ]]; then
		for file in "$NOVA_CONF_DIR"/nova_cell*.conf; do
			[[ -f $file ]] && echo "$file"
		done
	fi
	return 0
}

# Services whose config changed while they run are restarted, as DevStack
# does after a config change (systemd units devstack@NAME).
function _harness_restart_running {
	local pair service
	for pair in $HARNESS_PROFILED_SERVICES; do
		service=${pair%%:*}
		is_service_enabled "$service" || continue
		if $SYSTEMCTL is-active --quiet "devstack@$service.service" 2>/dev/null; then
			restart_service "devstack@$service"
		fi
	done
}

function configure_profiler {
	local file
	while read -r file; do
		iniset "$file" profiler enabled True
		iniset "$file" profiler hmac_keys "$HARNESS_HMAC_KEYS"
		iniset "$file" profiler connection_string \
			"otlp://$HARNESS_OTLP_HOST:$HARNESS_OTLP_PORT"
		iniset "$file" profiler trace_sqlalchemy "$HARNESS_TRACE_SQLALCHEMY"
		iniset "$file" profiler trace_requests "$HARNESS_TRACE_REQUESTS"
	done < <(_harness_profiled_files | sort -u)
	_harness_restart_running
}

# YAML double-quoted scalar for a shell value.
function _harness_yaml_str {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# harness.yaml for this DevStack: its endpoints, its admin credentials, the
# git repositories under $DEST as the projects whose commits tag a run, and
# manage: false since DevStack runs the services.
function write_harness_config {
	local dir keys key sep="" host=${SERVICE_HOST:-127.0.0.1}
	local proto=${SERVICE_PROTOCOL:-http}
	mkdir -p "$(dirname "$HARNESS_CONFIG_FILE")"
	IFS=, read -r -a keys <<< "$HARNESS_HMAC_KEYS"
	{
		echo "# Written by the harness DevStack plugin; rewritten on every stack.sh."
		echo "version: 1"
		echo "store: $(_harness_yaml_str "$HARNESS_STORE")"
		echo "spool: $(_harness_yaml_str "$HARNESS_DATA_DIR/spool")"
		echo "manage: false"
		# tls-proxy: DevStack's own CA signs the endpoints' certificates.
		if [[ $proto == https && -r ${SSL_BUNDLE_FILE:-} ]]; then
			echo "tls:"
			echo "  ca_file: $(_harness_yaml_str "$SSL_BUNDLE_FILE")"
		fi
		echo "projects:"
		for dir in "$DEST"/*/; do
			dir=${dir%/}
			[[ -e $dir/.git ]] || continue
			echo "  - name: $(_harness_yaml_str "$(basename "$dir")")"
			echo "    path: $(_harness_yaml_str "$dir")"
		done
		printf 'tracing:\n  hmac_keys: ['
		for key in "${keys[@]}"; do
			printf '%s%s' "$sep" "$(_harness_yaml_str "$key")"
			sep=", "
		done
		echo "]"
		echo "  osprofiler_headers: true"
		echo "variables:"
		echo "  username: $(_harness_yaml_str "${ADMIN_USERNAME:-admin}")"
		echo "  password: $(_harness_yaml_str "${ADMIN_PASSWORD:-secret}")"
		echo "  project: $(_harness_yaml_str "admin")"
		echo "  domain: $(_harness_yaml_str "default")"
		echo "  image: $(_harness_yaml_str "${DEFAULT_IMAGE_NAME:-cirros}")"
		echo "  flavor: $(_harness_yaml_str "${DEFAULT_INSTANCE_TYPE:-m1.tiny}")"
		echo "services:"
		echo "  - name: identity"
		echo "    url: $(_harness_yaml_str "${KEYSTONE_SERVICE_URI:-$proto://$host/identity}")"
		echo "    health: /v3"
		echo "    trace: osprofiler"
		if is_service_enabled g-api; then
			echo "  - name: image"
			echo "    url: $(_harness_yaml_str "${GLANCE_URL:-$proto://$host/image}")"
			echo "    health: /versions"
			echo "    trace: osprofiler"
		fi
		if is_service_enabled q-svc || is_service_enabled neutron-api; then
			echo "  - name: network"
			echo "    url: $(_harness_yaml_str "${NEUTRON_SERVICE_PROTOCOL:-$proto}://${NEUTRON_SERVICE_HOST:-$host}:${NEUTRON_SERVICE_PORT:-9696}")"
			echo "    health: /"
			echo "    trace: osprofiler"
		fi
		if is_service_enabled n-api; then
			echo "  - name: api"
			echo "    url: $(_harness_yaml_str "$proto://$host/compute/v2.1")"
			echo "    health: /"
			echo "    trace: osprofiler"
		fi
	} > "$HARNESS_CONFIG_FILE"
}

function start_harness_collector {
	mkdir -p "$HARNESS_DATA_DIR/spool"
	run_process harness-collector "$HARNESS_BIN collect -c $HARNESS_CONFIG_FILE --listen $HARNESS_OTLP_HOST:$HARNESS_OTLP_PORT"
}

function stop_harness_collector {
	stop_process harness-collector
}

function cleanup_harness {
	if [[ $(trueorfalse False HARNESS_KEEP_DATA) == True ]]; then
		rm -rf "$HARNESS_DATA_DIR/spool"
	else
		rm -rf "$HARNESS_DATA_DIR"
	fi
}

if is_service_enabled harness-collector; then
	if [[ $1 == stack && $2 == install ]]; then
		echo_summary "Installing harness"
		install_harness
	elif [[ $1 == stack && $2 == post-config ]]; then
		echo_summary "Configuring OSprofiler for harness"
		mkdir -p "$HARNESS_DATA_DIR"
		configure_profiler
		write_harness_config
	elif [[ $1 == stack && $2 == extra ]]; then
		echo_summary "Starting the harness collector"
		start_harness_collector
	fi
	if [[ $1 == unstack ]]; then
		stop_harness_collector
	fi
	if [[ $1 == clean ]]; then
		cleanup_harness
	fi
fi

$_XTRACE_HARNESS
