# Helpers of the switch tests with real guests (switch.t, switch_trunk.t); sourced after
# lib.sh, with XDG_RUNTIME_DIR set to the test's own runtime directory.
swdir() { echo "$XDG_RUNTIME_DIR/umlkit/switches/$1"; }
swpid() { cat "$(swdir "$1")/pid" 2>/dev/null; }
start_switch() { # start_switch NAME [OPTIONS]: started, its pid tracked
	run "$UMLKIT" switch start "$@"
	is "$rc" 0 "switch start $*: exit 0"
	like "$out" "^$1: running \(pid [0-9]+\)" "... says it runs, with its pid"
	local p
	p=$(swpid "$1")
	[ -n "$p" ] && UK_PIDS+=("$p")
}
until_true() { # until_true SECONDS CMD...: poll CMD every 0.1 s, at most SECONDS
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}
logs() { "$UMLKIT" logs "$1" 2>/dev/null | tr -d '\r'; }
log_has() { logs "$1" | grep -Eq -- "$2"; }
# guest NAME NET IP SCRIPT-BODY [DISK...]: start a guest (the test image, its script on ubdb,
# DISKs as more --disk) with vec0 on NET (switch:SW[,...]) at IP/24 (none when IP is empty);
# it reports ready once its address is up, then runs the body, then idles.
guest() {
	local d=() x
	cat >"$T/$1.sh" <<SCRIPT
ip link set vec0 up
${3:+ip addr add $3/24 dev vec0}
echo umlkit-ready > /proc/mconsole
$4
sleep 600
exit 0
SCRIPT
	truncate -s 4096 "$T/$1.sh"
	for x in "${@:5}"; do d+=(--disk "$x"); done
	run "$UMLKIT" start --name "$1" --mem 64M --disk "$T/$1.cow,$T/base.img" \
		--disk "ubdb=$T/$1.sh" "${d[@]}" --net "$2" --append init=/init --wait --timeout 60
	is "$rc" 0 "guest $1 on $2 starts"
	[ "$rc" = 0 ] || diag "$err"
	track "$1"
}
# ports_lines SW: `switch ports SW --output=json`, one line per port
ports_lines() {
	"$UMLKIT" switch ports "$1" --output=json |
		awk '/^    "port":/ { if (l != "") print l; l = "" } /^    / { sub(/^ +/, ""); l = l $0 " " } END { if (l != "") print l }'
}
# port_of SW PEER: the line of the port whose peer is PEER
port_of() { ports_lines "$1" | grep -F "\"peer\": \"$2\","; }
# field LINE NAME: a number field of a port line
field() { printf '%s' "$1" | sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p"; }
# server_body NAME KIB: a guest script body that serves KIB KiB of random bytes as /data over
# HTTP, printing "NAME: sum MD5" and then "NAME: serving"
server_body() {
	printf '%s\n' "mkdir -p /tmp/www" \
		"dd if=/dev/urandom of=/tmp/www/data bs=1024 count=$2 2>/dev/null" \
		"echo \"$1: sum \$(md5sum /tmp/www/data | cut -d\" \" -f1)\"" \
		"httpd -p 80 -h /tmp/www" \
		"echo \"$1: serving\""
}
