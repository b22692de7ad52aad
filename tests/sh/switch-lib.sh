# shellcheck shell=bash
# Helpers of the switch tests with real guests; sourced after lib.sh. Sets XDG_RUNTIME_DIR
# to the test's own runtime directory ($T/run), so every switch the test starts is its own.
# None of them asserts: each returns a status (or prints what it read) for a block to check.
#
#   test_switch_start NAME [OPTIONS]  two blocks: `switch start NAME OPTIONS` exits 0 (its
#                                     pid tracked; sets the prerequisite SW_NAME), and says
#                                     it runs, with its pid
#   sw_start NAME [OPTIONS]           `switch start` through run; the pid tracked on success
#   sw_stop NAME                      `switch stop` through run; the pid forgotten once gone
#   forget_gone PID                   once PID has ended (10 s at most), drop it from UK_PIDS
#   swdir NAME / swpid NAME           the switch's runtime directory / its daemon's pid
#   sw_info NAME FILTER               jq FILTER on the switch's object in `switch list`
#   ports_json NAME                   `switch ports NAME --output=json`
#   port_json NAME PEER               the object (one line) of the port whose peer is PEER
#   nports NAME                       the number of its ports
#   start_guest NAME NET IP BODY [DISK...]   a guest on the test image (see below)
#   logs NAME / log_has NAME ERE      a guest's console / whether it matches
#   server_body NAME KIB              a guest body that serves KIB KiB over HTTP
#   free_port VAR                     a TCP port nothing listens on at 127.0.0.1, not picked
#                                     before, into VAR
#   fetch ADDR PORT PATH              an HTTP GET's body (curl, else bash's /dev/tcp); fails
#                                     when refused
#   is_num TEXT                       TEXT is a decimal number (check it before $((...)): a
#                                     bad operand there ends the whole script under set -u)
#   SQ                                a single quote, for the bodies (which are in single quotes)
export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
SQ="'"

is_num() { [[ $1 =~ ^[0-9]+$ ]]; }
swdir() { echo "$XDG_RUNTIME_DIR/umlkit/switches/$1"; }
swpid() { cat "$(swdir "$1")/pid" 2>/dev/null; }
sw_start() { # sw_start NAME [OPTIONS]: run `switch start`; on exit 0 the daemon is tracked
	local p
	run "$UMLKIT" switch start "$@"
	[ "$rc" = 0 ] || return 0
	p=$(swpid "$1")
	[ -n "$p" ] && UK_PIDS+=("$p")
	return 0
}
forget_gone() { # so that the exit trap never signals whoever is given that pid next
	[ -n "$1" ] && wait_gone "$1" 10 && forget_pid "$1"
	return 0
}
sw_stop() { # sw_stop NAME
	local p
	p=$(swpid "$1")
	run "$UMLKIT" switch stop "$1"
	[ "$rc" = 0 ] && forget_gone "$p"
	return 0
}
test_switch_start() { # test_switch_start NAME [OPTIONS]
	sws_name=$1
	sws_args=("$@")
	test_expect_success "switch start $*: exit 0" '
		sw_start "${sws_args[@]}" &&
		test_is "$rc" 0 &&
		test_set_prereq "SW_$sws_name"
	'
	test_expect_success "SW_$1" "... $1 says it runs, with its pid" '
		test_like "$out" "^$sws_name: running \(pid $(swpid "$sws_name")\)"
	'
}
sw_info() { # sw_info NAME FILTER
	"$UMLKIT" switch list --output=json | jq -r --arg n "$1" ".[] | select(.name == \$n) | $2"
}
ports_json() { "$UMLKIT" switch ports "$1" --output=json; }
port_json() { # port_json SW PEER
	ports_json "$1" | jq -c --arg p "$2" '.[] | select(.peer == $p)'
}
nports() { ports_json "$1" | jq length; }

logs() { "$UMLKIT" logs "$1" 2>/dev/null | tr -d '\r'; }
log_has() { logs "$1" | grep -Eq -- "$2"; }
# start_guest NAME NET IP SCRIPT-BODY [DISK...]: start a guest (the test image $T/base.img,
# its script on ubdb, DISKs as more --disk) with vec0 on NET (switch:SW[,...]) at IP/24 (none
# when IP is empty); it reports ready once its address is up, then runs the body, then idles.
# Tracked; 0 when `umlkit start --wait` said it is ready, else its error on stderr.
start_guest() {
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
	track "$1"
	[ "$rc" = 0 ] && return 0
	echo "umlkit start $1: exit $rc: $err" >&2
	return 1
}
# server_body NAME KIB: a guest script body that serves KIB KiB of random bytes as /data over
# HTTP, printing "NAME: sum MD5" and then "NAME: serving"
server_body() {
	printf '%s\n' "mkdir -p /tmp/www" \
		"dd if=/dev/urandom of=/tmp/www/data bs=1024 count=$2 2>/dev/null" \
		"echo \"$1: sum \$(md5sum /tmp/www/data | cut -d\" \" -f1)\"" \
		"httpd -p 80 -h /tmp/www" \
		"echo \"$1: serving\""
}
PICKED=" "
free_port() { # free_port VAR: a TCP port nothing listens on at 127.0.0.1, not picked before
	local _fp
	while :; do
		_fp=$((20000 + RANDOM % 40000))
		case "$PICKED" in *" $_fp "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$_fp") 2>/dev/null; then
			PICKED="$PICKED$_fp "
			printf -v "$1" %s "$_fp"
			return
		fi
	done
}
fetch() { # fetch ADDR PORT PATH: the body; fails if refused
	if command -v curl >/dev/null; then
		curl -sf -m 15 "http://$1:$2$3"
	else
		(
			exec 3<>"/dev/tcp/$1/$2" || exit 1
			printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3
			timeout 15 cat <&3 | sed '1,/^\r$/d'
		)
	fi
}
