# Stand-in for OpenWrt's /lib/functions.sh (the UCI part only), for running an OpenWrt init
# script on a system without OpenWrt's C tools (uci, ubus, procd). NOT OpenWrt's code: a
# minimal shell reading of /etc/config/NAME with the same calling conventions.
#   config_load NAME                          parse /etc/config/NAME ($UCI_CONFIG_DIR)
#   config_get VAR SECTION OPTION [DEFAULT]   an option; a list comes back space-joined
#   config_get_bool VAR SECTION OPTION [DEFAULT]
#   config_foreach FUNC [TYPE] [ARGS...]      FUNC SECTION ARGS... per section, in file order
#   config_list_foreach SECTION OPTION FUNC [ARGS...]   FUNC ITEM ARGS... per list item
# Differences from OpenWrt: values may not contain newlines; quoting is '...', "..." or a
# bare word (no backslash escapes); anonymous sections are named cfg1, cfg2, ...; no
# validation (OpenWrt's validate_data) and no uci state or changes.

CONFIG_STANDIN_DB=""

config_load() {
	local file="${UCI_CONFIG_DIR:-/etc/config}/$1"
	[ -n "$CONFIG_STANDIN_DB" ] || CONFIG_STANDIN_DB="$(mktemp "${TMPDIR:-/tmp}/uci-standin.XXXXXX")"
	[ -f "$file" ] || { : >"$CONFIG_STANDIN_DB"; return 1; }
	# One record per line, fields separated by a TAB: "S name type", "O name key value",
	# "L name key value".
	awk '
	function value(s,   q) {
		sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s)
		q = substr(s, 1, 1)
		if (q == "\047" || q == "\"") {
			s = substr(s, 2)
			if (substr(s, length(s), 1) == q) s = substr(s, 1, length(s) - 1)
			return s
		}
		sub(/[ \t].*/, "", s)
		return s
	}
	function word(s) { return value(s) }
	/^[ \t]*(#|$)/ { next }
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		kw = line; sub(/[ \t].*/, "", kw)
		rest = substr(line, length(kw) + 1); sub(/^[ \t]+/, "", rest)
		if (kw == "config") {
			type = word(rest)
			r = rest; sub(/^[^ \t]+[ \t]*/, "", r)
			anon++
			name = (r == "") ? "cfg" anon : value(r)
			printf "S\t%s\t%s\n", name, type
		} else if (kw == "option" || kw == "list") {
			key = word(rest)
			r = rest; sub(/^[^ \t]+[ \t]*/, "", r)
			printf "%s\t%s\t%s\t%s\n", (kw == "option") ? "O" : "L", name, key, value(r)
		}
	}' "$file" >"$CONFIG_STANDIN_DB"
}

# config_get VAR SECTION OPTION [DEFAULT]
config_get() {
	local _cg_v
	_cg_v="$(awk -F '\t' -v s="$2" -v k="$3" '
		($1 == "O" || $1 == "L") && $2 == s && $3 == k { v = (n++ ? v " " : "") $4 }
		END { if (n) print v; else exit 1 }' "$CONFIG_STANDIN_DB")" || _cg_v="$4"
	eval "$1=\$_cg_v"
}

config_get_bool() {
	local _cb_v
	config_get _cb_v "$2" "$3" "$4"
	case "$_cb_v" in
	1 | on | true | yes | enabled) _cb_v=1 ;;
	0 | off | false | no | disabled) _cb_v=0 ;;
	*) _cb_v="$4" ;;
	esac
	eval "$1=\$_cb_v"
}

config_foreach() {
	local _cf_fn="$1" _cf_type="$2" _cf_s
	shift
	[ $# -gt 0 ] && shift
	# Section names have no white space (uci's rule).
	# shellcheck disable=SC2013
	for _cf_s in $(awk -F '\t' -v t="$_cf_type" '$1 == "S" && (t == "" || $3 == t) { print $2 }' "$CONFIG_STANDIN_DB"); do
		"$_cf_fn" "$_cf_s" "$@"
	done
}

config_list_foreach() {
	local _cl_s="$1" _cl_k="$2" _cl_fn="$3" _cl_n _cl_i _cl_v
	shift 3
	_cl_n="$(awk -F '\t' -v s="$_cl_s" -v k="$_cl_k" '$1 == "L" && $2 == s && $3 == k { n++ } END { print n + 0 }' "$CONFIG_STANDIN_DB")"
	_cl_i=1
	while [ "$_cl_i" -le "$_cl_n" ]; do
		_cl_v="$(awk -F '\t' -v s="$_cl_s" -v k="$_cl_k" -v i="$_cl_i" '$1 == "L" && $2 == s && $3 == k && ++n == i { print $4 }' "$CONFIG_STANDIN_DB")"
		"$_cl_fn" "$_cl_v" "$@"
		_cl_i=$((_cl_i + 1))
	done
}

append() { # VAR VALUE [SEPARATOR]
	local _a_v
	eval "_a_v=\${$1}"
	eval "$1=\"\${_a_v:+\$_a_v\${3:- }}\$2\""
}
