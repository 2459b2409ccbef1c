# Stand-in for OpenWrt's /lib/functions/network.sh, which asks netifd over ubus. NOT
# OpenWrt's code: here a logical interface is a network device of the same name (lan = a
# device called lan), read from /sys/class/net and `ip addr`.

network_is_up() {
	[ -d "/sys/class/net/$1" ] && [ "$(cat "/sys/class/net/$1/operstate" 2>/dev/null)" != down ]
}

network_get_device() {
	local _nd=""
	[ -d "/sys/class/net/$2" ] && _nd="$2"
	eval "$1=\$_nd"
}

# network_get_ipaddrs_all VAR IFACE: its IPv4 and global IPv6 addresses, space-separated.
network_get_ipaddrs_all() {
	local _na
	_na="$(ip addr show dev "$2" 2>/dev/null | awk '
		$1 == "inet" || ($1 == "inet6" && / scope global/) { sub(/\/.*/, "", $2); a = a (a ? " " : "") $2 }
		END { print a }')"
	eval "$1=\$_na"
	[ -n "$_na" ]
}
