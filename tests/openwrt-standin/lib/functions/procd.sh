# Stand-in for OpenWrt's /lib/functions/procd.sh and procd itself, for running a procd init
# script without OpenWrt. NOT OpenWrt's code. The real functions send the service's
# instances to procd over ubus; these write each instance to a directory and run it:
#   $PROCD_STANDIN_DIR/SERVICE/INSTANCE/command   the argv, one argument per line
#   .../respawn                                   present when respawn was set
#   .../pid, .../supervisor, .../log              the running process, its supervisor, output
# A supervisor shell restarts an instance that exits when it has `respawn` (after 1 s, no
# limit). procd_close_service stops every running instance of the service and starts the
# new set (procd restarts only the instances that changed). Triggers, validation and mdns
# are recorded in $PROCD_STANDIN_DIR/SERVICE.triggers and do nothing. Arguments may not
# contain newlines.

PROCD_STANDIN_DIR="${PROCD_STANDIN_DIR:-/var/run/procd-standin}"

procd_open_service() {
	PROCD_SERVICE="$1"
	PROCD_STAGE="$PROCD_STANDIN_DIR/$1.new"
	rm -rf "$PROCD_STAGE"
	mkdir -p "$PROCD_STAGE"
	: >"$PROCD_STANDIN_DIR/$1.triggers"
	PROCD_INSTANCE_N=0
}

procd_open_instance() {
	PROCD_INSTANCE_N=$((PROCD_INSTANCE_N + 1))
	PROCD_INSTANCE="${1:-instance$PROCD_INSTANCE_N}"
	mkdir -p "$PROCD_STAGE/$PROCD_INSTANCE"
}

procd_set_param() {
	local p="$1" d="$PROCD_STAGE/$PROCD_INSTANCE"
	shift
	case "$p" in
	command) printf '%s\n' "$@" >"$d/command" ;;
	respawn) : >"$d/respawn" ;;
	*) printf '%s\n' "$*" >"$d/param.$p" ;;
	esac
}

procd_append_param() {
	local p="$1" d="$PROCD_STAGE/$PROCD_INSTANCE"
	shift
	case "$p" in
	command) printf '%s\n' "$@" >>"$d/command" ;;
	*) printf '%s\n' "$*" >>"$d/param.$p" ;;
	esac
}

procd_close_instance() {
	[ -s "$PROCD_STAGE/$PROCD_INSTANCE/command" ] || rm -rf "${PROCD_STAGE:?}/$PROCD_INSTANCE"
	PROCD_INSTANCE=""
}

procd_standin_note() { echo "$*" >>"$PROCD_STANDIN_DIR/$PROCD_SERVICE.triggers"; }
procd_add_mdns() { procd_standin_note "mdns $*"; }
procd_add_reload_trigger() { procd_standin_note "reload-trigger $*"; }
procd_add_config_trigger() { procd_standin_note "config-trigger $*"; }
procd_add_interface_trigger() { procd_standin_note "interface-trigger $*"; }
procd_add_validation() { procd_standin_note "validation $*"; }
procd_open_trigger() { :; }
procd_close_trigger() { :; }

# procd_standin_stop SERVICE: ends every running instance (supervisor first, then the
# process, SIGTERM, then SIGKILL after 5 s).
procd_standin_stop() {
	local d pid i
	for d in "$PROCD_STANDIN_DIR/$1"/*/; do
		[ -f "$d/supervisor" ] || continue
		kill "$(cat "$d/supervisor")" 2>/dev/null
		pid="$(cat "$d/pid" 2>/dev/null)"
		if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	rm -rf "${PROCD_STANDIN_DIR:?}/$1"
}

procd_standin_run() { # INSTANCE-DIR
	local dir="$1"
	(
		while :; do
			set --
			while IFS= read -r a; do set -- "$@" "$a"; done <"$dir/command"
			"$@" </dev/null >>"$dir/log" 2>&1 &
			echo $! >"$dir/pid"
			wait $!
			echo "exited with status $?" >>"$dir/log"
			[ -f "$dir/respawn" ] || break
			sleep 1
		done
	) </dev/null >/dev/null 2>&1 &
	echo $! >"$dir/supervisor"
}

procd_close_service() {
	local d
	procd_standin_stop "$PROCD_SERVICE"
	mv "$PROCD_STAGE" "$PROCD_STANDIN_DIR/$PROCD_SERVICE"
	for d in "$PROCD_STANDIN_DIR/$PROCD_SERVICE"/*/; do
		[ -f "$d/command" ] && procd_standin_run "${d%/}"
	done
}

procd_kill() { procd_standin_stop "$1"; }
