#!/bin/bash
# debian_guest.t: a Debian guest as a first-class guest, end to end, on an image made by
# `umlkit image build --distro debian` (the recipe and cache of image_debian.t, so a machine
# that ran it bootstraps nothing here) and the real kernel:
#
#  1. One guest on a NAT switch (DHCP, a forward by guest name) and a plain switch (a static
#     address): `start --wait` returns with the default readiness; the console shows a login
#     prompt; hostname, the DHCP and the static address are applied.
#  2. `umlkit exec`: exit status 0, non-zero, a signal as 128+N; stdout and stderr apart.
#  3. `umlkit cp` of a few MiB of random bytes in and out: the same checksum and mode.
#  4. The kernel's modules, from the modules image umlkit attaches (the image has none):
#     `modprobe bridge` and `modprobe 8021q` load them.
#  5. A web server in the guest (systemd-socket-activate, which the base image has, started
#     through exec) reached from the host through forward=tcp:PORT:80.
#  6. `reboot` inside the guest (via exec): it comes back running, counted, with its
#     addresses; exec and modprobe work again, and so does the forward (the web server
#     started again).
#  7. A clean stop; exec to the stopped guest refused at once, naming it (125); `umlkit rm`.
#  8. `image adapt` of a plain mmdebstrap + mke2fs -d image: it boots, is ready, exec works.
#  9. The same Debian image on today's kernel (sid's 7.2, `umlkit kernel fetch`, the test
#     cache) with --seccomp on: ready, eth0 by that name (the vector driver's vec0
#     renamed), DHCP, a module of that kernel loaded, exec, a clean stop.
#
# Run: UK_BUILD=$PWD/build tests/sh/debian_guest.t [-v]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
. "$(dirname "$0")/debian-lib.sh"

[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
case "$T" in *,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR" "$T/tmp"
export TMPDIR=$T/tmp
IMG=$T/deb.img # the recipe of image_debian.t: its cached image, no second bootstrap

# guest_exec ARGS...: umlkit exec bounded in time (a hang fails instead of blocking the run)
guest_exec() { timeout 60 "$UMLKIT" exec "$@"; }
# reboots_state NAME "N STATE": status says N reboots and STATE
reboots_state() {
	[ "$("$UMLKIT" status "$1" --output=json 2>/dev/null | jq -r '"\(.reboots) \(.state)"')" = "$2" ]
}
# exec_ok NAME: the guest's agent answers
exec_ok() { timeout 10 "$UMLKIT" exec --timeout 5 "$1" true >/dev/null 2>&1; }
stop_all() {
	local g
	for g in deb adp d72; do "$UMLKIT" stop "$g" --timeout 30 >/dev/null 2>&1; done
	"$UMLKIT" switch stop dgnat >/dev/null 2>&1
	"$UMLKIT" switch stop dglan >/dev/null 2>&1
	_uk_cleanup
}
trap stop_all EXIT

# A one-page web server for systemd-socket-activate --inetd: reads the request, answers.
cat >"$T/web.sh" <<'EOS'
#!/bin/sh
cr=$(printf '\r')
while read -r line; do
	case "$line" in "$cr" | "") break ;; esac
done
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nDebian guest %s is serving this page\n' "$(hostname)"
EOS

# ---------------------------------------------------------------------------- setup
test_expect_success MIRROR,MMDEBSTRAP,AGENT_BUILT 'setup: the Debian image (image_debian.t recipe)' '
	"$UMLKIT" image build --distro debian --include netbase -q "$IMG" &&
	test_path_is_file "$IMG" &&
	# no modules of its own: a version directory would be /usr/lib/modules/6.../
	test_unlike "$(e2ls "$IMG" /usr/lib/modules)" "^/[0-9]+/[0-9]+/[0-9]+/[0-9]+/[0-9]+/[0-9]" &&
	test_set_prereq IMAGE
'

test_expect_success UML 'setup: a NAT switch and a plain one' '
	sw_start dgnat --nat && test_is "$rc" 0 &&
	sw_start dglan && test_is "$rc" 0 &&
	test_set_prereq SWITCHES
'

free_port FWD
test_expect_success IMAGE,SWITCHES,JQ 'start --wait returns with the default readiness' '
	run "$UMLKIT" start --name deb --mem 256M --disk "$T/deb.cow,$IMG" \
		--net "switch:dgnat,forward=tcp:$FWD:80" --net switch:dglan \
		--append "umlkit.hostname=deb1 umlkit.ip=eth0,dhcp umlkit.ip=eth1,10.9.8.7/24" \
		--wait --timeout 180 &&
	track deb &&
	test_is "$rc" 0 &&
	test_like "$out" "^deb: running" &&
	test_like "$(console deb)" "umlkit: ready" &&
	test_set_prereq DEB
'

test_expect_success DEB 'the console shows a login prompt' '
	until_console deb 30 "^deb1 login: " ||
		{ console deb | tail -n 20; return 1; }
'

test_expect_success DEB 'hostname, the DHCP address and the static address applied' '
	run guest_exec deb hostname &&
	test_is "$out" deb1 &&
	run guest_exec deb ip -4 -o addr show dev eth0 &&
	test_like "$out" "inet 10\.0\.2\.15/24 " &&
	run guest_exec deb ip -4 -o addr show dev eth1 &&
	test_like "$out" "inet 10\.9\.8\.7/24 " &&
	test_like "$(console deb)" "umlkit: eth0: dhcp" &&
	# the DNS server of the lease, written by umlkit-dns.service
	run guest_exec deb cat /etc/resolv.conf &&
	test_like "$out" "^nameserver 10\.0\.2\.3$"
'

test_expect_success DEB 'the root is read-write with its fstab options, logins allowed, no unit failed' '
	run guest_exec deb findmnt -no OPTIONS / &&
	test_like "$out" "^rw,.*errors=remount-ro" &&
	run guest_exec deb systemctl show -p Result --value systemd-remount-fs systemd-user-sessions &&
	test_is "$(echo $out)" "success success" &&
	run guest_exec deb test -e /run/nologin &&
	test_is "$rc" 1 &&
	run guest_exec deb systemctl list-units --failed --plain --no-legend &&
	test_is "$out" ""
'

# ---------------------------------------------------------------------------- exec, cp
test_expect_success DEB 'exec: exit status 0, 3, a signal as 128+N; streams apart' '
	run guest_exec deb true &&
	test_is "$rc" 0 &&
	run guest_exec deb sh -c "echo to-out; echo to-err >&2; exit 3" &&
	test_is "$rc" 3 &&
	test_is "$out" to-out &&
	test_is "$err" to-err &&
	run guest_exec deb sh -c "kill -TERM \$\$" &&
	test_is "$rc" 143 &&
	run guest_exec deb sh -c "kill -KILL \$\$" &&
	test_is "$rc" 137
'

test_expect_success DEB 'cp: 5 MiB of random bytes in and out, the same checksum and mode' '
	head -c 5242880 /dev/urandom >"$T/data.bin" &&
	chmod 0741 "$T/data.bin" &&
	run timeout 60 "$UMLKIT" cp "$T/data.bin" deb:/root/ &&
	test_is "$rc" 0 &&
	run guest_exec deb sha256sum /root/data.bin &&
	test_is "${out%% *}" "$(sum_of "$T/data.bin")" &&
	run guest_exec deb stat -c %a /root/data.bin &&
	test_is "$out" 741 &&
	run guest_exec deb sh -c "cp /root/data.bin /root/back.bin && chmod 0604 /root/back.bin && echo x >>/root/back.bin" &&
	test_is "$rc" 0 &&
	mkdir "$T/back" &&
	run timeout 60 "$UMLKIT" cp deb:/root/back.bin "$T/back/" &&
	test_is "$rc" 0 &&
	test_is "$(sum_of "$T/back/back.bin")" "$( (cat "$T/data.bin"; echo x) | sha256sum | cut -d" " -f1)" &&
	test_is "$(stat -c %a "$T/back/back.bin")" 604
'

# ---------------------------------------------------------------------------- modules
test_expect_success DEB 'modprobe bridge and 8021q, from the modules image umlkit attached' '
	run guest_exec deb cat /proc/cmdline &&
	test_like "$out" "umlkit\.modules=/dev/ubd[b-z]" &&
	run guest_exec deb test -e /sys/module/bridge &&
	test_is "$rc" 1 &&
	run guest_exec deb modprobe bridge &&
	test_is "$rc" 0 &&
	run guest_exec deb modprobe 8021q &&
	test_is "$rc" 0 &&
	run guest_exec deb sh -c "test -d /sys/module/bridge && test -d /sys/module/8021q && echo both" &&
	test_is "$out" both
'

# ---------------------------------------------------------------------------- a forward
test_expect_success DEB 'a web server in the guest reached through forward=tcp:PORT:80' '
	run timeout 60 "$UMLKIT" cp "$T/web.sh" deb:/root/web.sh &&
	test_is "$rc" 0 &&
	run guest_exec deb systemd-run --unit=ukweb /usr/bin/systemd-socket-activate -l 80 -a \
		--inetd /bin/sh /root/web.sh &&
	test_is "$rc" 0 &&
	until_true 30 fetch 127.0.0.1 "$FWD" / >/dev/null 2>&1 &&
	page=$(fetch 127.0.0.1 "$FWD" /) &&
	test_like "$page" "^Debian guest deb1 is serving this page$"
'

# ---------------------------------------------------------------------------- reboot
test_expect_success DEB 'reboot inside the guest (exec): it comes back, counted' '
	timeout 60 "$UMLKIT" exec deb systemctl reboot >/dev/null 2>&1
	until_true 180 reboots_state deb "1 running" &&
	track deb &&
	until_true 120 exec_ok deb &&
	run guest_exec deb sh -c "hostname; ip -4 -o addr show dev eth1" &&
	test_like "$out" "^deb1$" &&
	test_like "$out" "inet 10\.9\.8\.7/24 " &&
	test_is "$(console deb | grep -c "reboot: Restarting system")" 1 &&
	test_is "$(console deb | grep -c "umlkit: ready")" 2 &&
	run "$UMLKIT" status deb &&
	test_like "$out" "^deb: running .*rebooted 1 time"
'

test_expect_success DEB 'after the reboot the modules image is there again: modprobe bridge' '
	run guest_exec deb test -e /sys/module/bridge &&
	test_is "$rc" 1 &&
	run guest_exec deb sh -c "modprobe bridge && test -d /sys/module/bridge && echo loaded" &&
	test_is "$out" loaded
'

test_expect_success DEB 'after the reboot the forward by name reaches the guest again' '
	run guest_exec deb systemd-run --unit=ukweb /usr/bin/systemd-socket-activate -l 80 -a \
		--inetd /bin/sh /root/web.sh &&
	test_is "$rc" 0 &&
	until_true 30 fetch 127.0.0.1 "$FWD" / >/dev/null 2>&1 &&
	test_like "$(fetch 127.0.0.1 "$FWD" /)" "^Debian guest deb1 is serving this page$"
'

# ---------------------------------------------------------------------------- stop, rm
test_expect_success DEB 'a clean stop' '
	run "$UMLKIT" stop deb --timeout 60 &&
	test_is "$rc" 0 &&
	test_like "$(console deb)" "Reached target poweroff.target" &&
	test_like "$(console deb)" "systemd-shutdown\[1\]: Powering off" &&
	test_unlike "$("$UMLKIT" status deb)" "running" &&
	test_set_prereq STOPPED
'

test_expect_success STOPPED 'exec to the stopped guest: refused at once, naming it, 125' '
	run timeout 30 "$UMLKIT" exec deb true &&
	test_is "$rc" 125 &&
	test_like "$err" "guest .deb. is not running"
'

test_expect_success STOPPED 'rm forgets the guest, never its disk' '
	run "$UMLKIT" rm deb &&
	test_is "$rc" 0 &&
	run "$UMLKIT" status deb &&
	test_isnt "$rc" 0 &&
	test_unlike "$("$UMLKIT" list)" "^deb " &&
	test_path_is_file "$T/deb.cow" &&
	test_path_is_file "$IMG"
'

# ---------------------------------------------------------------------------- adapt
# The plain image of image_debian.t (debian-lib.sh makes it once).
test_expect_success MIRROR,MMDEBSTRAP,AGENT_BUILT,SWITCHES 'adapt a plain mmdebstrap image: it boots, is ready, exec works' '
	make_plain &&
	test_unlike "$(e2ls "$PLAIN" /usr/sbin)" "/umlkit-agent/" &&
	run "$UMLKIT" image adapt -q "$PLAIN" -o "$T/adapted.img" &&
	test_is "$rc" 0 &&
	run "$UMLKIT" start --name adp --mem 256M --disk "$T/adp.cow,$T/adapted.img" \
		--net switch:dglan --append "umlkit.hostname=plain1 umlkit.ip=eth0,10.9.8.9/24" \
		--wait --timeout 180 &&
	track adp &&
	test_is "$rc" 0 &&
	test_like "$out" "^adp: running" &&
	run guest_exec adp sh -c "hostname; . /etc/os-release; echo \$VERSION_CODENAME; exit 5" &&
	test_is "$rc" 5 &&
	test_is "$out" "$(printf "plain1\nbookworm")" &&
	run guest_exec adp ip -4 -o addr show dev eth0 &&
	test_like "$out" "inet 10\.9\.8\.9/24 " &&
	"$UMLKIT" stop adp --timeout 60 >/dev/null
'

# ---------------------------------------------------------------------------- today's kernel
test_expect_success MIRROR 'setup: sid'"'"'s kernel (kernel fetch, reused from the test cache)' '
	"$UMLKIT" kernel fetch -q sid >/dev/null &&
	test_set_prereq SID
'
test_expect_success SID,IMAGE,SWITCHES,JQ 'the Debian image on sid'"'"'s kernel with --seccomp on' '
	run "$UMLKIT" start --name d72 --kernel sid --seccomp on --mem 256M \
		--disk "$T/d72.cow,$IMG" --net switch:dgnat \
		--append "umlkit.hostname=deb72 umlkit.ip=eth0,dhcp" --wait --timeout 180 &&
	track d72 &&
	test_is "$rc" 0 &&
	test_like "$(console d72)" "Checking that seccomp filters can be installed\.\.\.OK" &&
	run guest_exec d72 uname -r &&
	test_like "$out" "^7\." &&
	run guest_exec d72 ip -4 -o addr show dev eth0 &&
	test_like "$out" "inet 10\.0\.2\.[0-9]+/24 " &&
	run guest_exec d72 sh -c "modprobe bridge && grep -c ^bridge /proc/modules" &&
	test_is "$rc" 0 && test_is "$out" 1 &&
	run "$UMLKIT" stop d72 --timeout 60 &&
	test_is "$rc" 0 &&
	test_like "$(console d72)" "systemd-shutdown\[1\]: Powering off"
'

test_done
