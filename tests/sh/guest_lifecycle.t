#!/bin/bash
# guest_lifecycle.t: a guest's life beyond start and stop, with the real kernel.
#  - rm forgets a stopped guest (its state, not its disk); refuses a running one and an unknown
#    name, and then removes nothing;
#  - a refused start (missing disk, locked COW, missing kernel, running name, missing switch)
#    leaves no entry in list;
#  - a refused console attach (no such guest, a stopped one, someone else attached) exits 1;
#  - reboot inside the guest boots it again, counted in status; --on-reboot=stop stops it; a
#    reboot loop is bounded; a stop whose ctrl-alt-del the guest turns into a reboot stops;
#  - --ready=console:REGEX; a guest whose image never sends the notice reads "booted, no
#    ready notice", and --wait says what it waits for and how to choose another signal;
#  - the kernel's modules: modprobe bridge and 8021q in a busybox guest whose image has none,
#    the modules image made once into the cache and reused; a new one after the package's
#    modules.dep changes; a --user nobody guest loads them too (root's cache is out of its
#    reach: the image is opened for its kernel).
# Run: UK_BUILD=$PWD/build tests/sh/guest_lifecycle.t [-v]
. "$(dirname "$0")/lib.sh"

[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
case "$T" in *,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac
# the kernel's modules: Debian's, or beside a fetched kernel (umlkit kernel fetch)
test_lazy_prereq MODULES '[ -n "$UML" ] && v=$("$UML" --version) &&
	{ [ -f "/usr/lib/uml/modules/$v/modules.dep" ] ||
		[ -f "$(dirname "$UML")/../lib/uml/modules/$v/modules.dep" ]; }'

export XDG_RUNTIME_DIR="$T/run" UMLKIT_CACHE_DIR="$T/cache"
mkdir -p "$XDG_RUNTIME_DIR"
STATE=$XDG_RUNTIME_DIR/umlkit/guests

# script NAME LINES...: a disk image holding a shell script (for the second disk)
script() {
	local f="$T/$1.sh"
	shift
	printf '#!/bin/sh\n' >"$f" && printf '%s\n' "$@" >>"$f" && truncate -s 4096 "$f"
}
# bb NAME [OPTIONS]: start a guest of the default image on its own COW, --wait
bb() {
	local n=$1
	shift
	"$UMLKIT" start --name "$n" --mem 64M --disk "$T/$n.cow,$T/bb.img" --wait --timeout 90 "$@"
}
# mk NAME SCRIPT [OPTIONS]: start a guest of scripts/mkimage's image (it sends no ready
# notice), which runs SCRIPT as init's last step
mk() {
	local n=$1 s=$2
	shift 2
	"$UMLKIT" start --name "$n" --mem 64M --disk "$T/$n.cow,$T/mk.img" --disk "ubdb=$T/$s.sh" \
		--append init=/init "$@"
}
state_of() { "$UMLKIT" status "$1" --output=json 2>/dev/null | jq -r .state; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
names() { "$UMLKIT" list --output=json | jq -r '.[].name' | tr '\n' ' '; }
log_of() { cat "$STATE/$1/console.log"; }
log_has() { grep -q -- "$2" "$STATE/$1/console.log"; }
# reboots_state NAME "N STATE": status says N reboots and STATE
reboots_state() {
	[ "$("$UMLKIT" status "$1" --output=json 2>/dev/null | jq -r '"\(.reboots) \(.state)"')" = "$2" ]
}

# A reboot only after rcS, which runs the script, has sent the ready notice and exited (a
# fixed sleep raced with it on a loaded host).
AFTER_READY='(p=$PPID; while kill -0 "$p" 2>/dev/null; do sleep 0.2; done; sleep 1;'
test_expect_success UML 'setup: the default image and a test image without the ready hook' '
	"$UMLKIT" image build --size 48M "$T/bb.img" >/dev/null &&
	guest_image "$T/mk.img" 32M &&
	script sleeper "echo uk-test: serving" "sleep 600" &&
	script once "[ -e /root/rebooted ] && exit 0" "touch /root/rebooted; sync" \
		"$AFTER_READY reboot) &" &&
	script loop "$AFTER_READY reboot) &" &&
	test_set_prereq IMAGES
'

# ---------------------------------------------------------------- rm
test_expect_success IMAGES 'rm forgets a stopped guest: its state goes, its disk stays' '
	run bb gone &&
	test_is "$rc" 0 &&
	track gone &&
	"$UMLKIT" stop gone &&
	test_is "$(state_of gone)" stopped &&
	sum=$(sum_of "$T/gone.cow") &&
	run "$UMLKIT" rm gone &&
	test_is "$rc" 0 &&
	test_path_is_missing "$STATE/gone" &&
	test_unlike "$(names)" "gone" &&
	test_is "$(sum_of "$T/gone.cow")" "$sum" &&
	run "$UMLKIT" cow check "$T/gone.cow" &&
	test_is "$rc" 0
'

test_expect_success IMAGES 'setup: a running guest' '
	run bb busy &&
	test_is "$rc" 0 &&
	track busy &&
	test_set_prereq BUSY
'

test_expect_success BUSY 'rm of a running guest is refused, and removes nothing else' '
	run bb idle && track idle && "$UMLKIT" stop idle &&
	run "$UMLKIT" rm idle busy &&
	test_is "$rc" 1 &&
	test_like "$err" "guest .busy. is running .*stop it first" &&
	test_like "$err" "nothing removed" &&
	test_is "$(state_of busy)" running &&
	test_path_is_dir "$STATE/busy" &&
	test_path_is_dir "$STATE/idle" &&
	"$UMLKIT" rm idle
'

test_expect_success 'rm of an unknown name: exit 1, named; no name: exit 2' '
	run "$UMLKIT" rm ghost &&
	test_is "$rc" 1 &&
	test_like "$err" "no guest named .ghost." &&
	run "$UMLKIT" rm &&
	test_is "$rc" 2
'

test_expect_success 'rm follows no symlink in the state directory' '
	mkdir -p "$STATE" "$T/victim" &&
	echo keep >"$T/victim/file" &&
	ln -s "$T/victim" "$STATE/link" &&
	run "$UMLKIT" rm link &&
	test_is "$rc" 0 &&
	test_path_is_missing "$STATE/link" &&
	test_is "$(cat "$T/victim/file")" keep
'

# ---------------------------------------------------------------- refused starts
test_expect_success BUSY 'a refused start leaves no entry in list' '
	before=$(names) &&
	test_must_fail "$UMLKIT" start --name r1 --disk "$T/none.img" &&
	test_must_fail bb r2 --kernel /nonexistent &&
	test_must_fail "$UMLKIT" start --name r3 --mem 64M --disk "$T/busy.cow,$T/bb.img" &&
	test_must_fail "$UMLKIT" start --name r4 --mem 64M --disk "$T/r4.cow,$T/bb.img" \
		--net switch:nosuchswitch &&
	run "$UMLKIT" start --name busy --mem 64M --disk "$T/other.cow,$T/bb.img" &&
	test_is "$rc" 1 &&
	test_like "$err" "already running" &&
	test_is "$(names)" "$before" &&
	for n in r1 r2 r3 r4; do test_path_is_missing "$STATE/$n" || return 1; done &&
	test_is "$(state_of busy)" running
'

# hold_console NAME: a client that stays attached to NAME's console (its stdin a FIFO it
# holds open both ways, so it never ends and no writer process is left behind), checked by a second attach being refused. A probe may win the race and take
# the console first, and the holder is then refused and ends: start it again. $holder: its pid.
hold_console() {
	local i
	holder=
	for ((i = 0; i < 60; i++)); do
		if [ -z "$holder" ] || ! pid_alive "$holder"; then
			[ -n "$holder" ] && forget_pid "$holder"
			[ -p "$T/hold.fifo" ] || mkfifo "$T/hold.fifo"
			(exec "$UMLKIT" console "$1" <>"$T/hold.fifo" >/dev/null 2>&1) &
			holder=$!
			UK_PIDS+=("$holder")
			sleep 0.5
		fi
		pid_alive "$holder" && test_must_fail "$UMLKIT" console "$1" </dev/null \
			>/dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "hold_console $1: no client stayed attached in 60 s"
	return 1
}

# ---------------------------------------------------------------- console
test_expect_success BUSY 'a refused console attach exits 1 with the reason' '
	run "$UMLKIT" console ghost </dev/null &&
	test_is "$rc" 1 &&
	test_like "$err" "no guest named .ghost." &&
	run bb halted && track halted && "$UMLKIT" stop halted &&
	run "$UMLKIT" console halted </dev/null &&
	test_is "$rc" 1 &&
	test_like "$err" "guest .halted. is stopped" &&
	hold_console busy &&
	run "$UMLKIT" console busy </dev/null &&
	test_is "$rc" 1 &&
	test_like "$err" "console refused: another client is attached"
'

# ---------------------------------------------------------------- reboot
test_expect_success IMAGES 'reboot inside the guest boots it again, counted in status' '
	run bb rb --disk "ubdb=$T/once.sh" &&
	test_is "$rc" 0 &&
	track rb &&
	until_true 90 reboots_state rb "1 running" &&
	track rb &&
	run "$UMLKIT" status rb --output=json &&
	test_is "$(json .reboots)" 1 &&
	test_is "$(json .restarts)" 1 &&
	test_is "$(log_of rb | grep -c "reboot: Restarting system")" 1 &&
	test_is "$(log_of rb | grep -c "^umlkit: ready")" 2 &&
	run "$UMLKIT" status rb &&
	test_like "$out" "^rb: running .*rebooted 1 time" &&
	"$UMLKIT" stop rb
'

test_expect_success IMAGES '--on-reboot=stop: a reboot stops the guest' '
	run bb rbstop --disk "ubdb=$T/once.sh" --on-reboot=stop &&
	test_is "$rc" 0 &&
	track rbstop &&
	until_true 60 state_is rbstop stopped &&
	run "$UMLKIT" status rbstop --output=json &&
	test_is "$(json .reboots)" 0 &&
	test_is "$(json .exit_status)" 0 &&
	log_of rbstop | grep -q "reboot: Restarting system"
'

test_expect_success IMAGES 'a reboot loop is not restarted forever' '
	run bb loop --disk "ubdb=$T/loop.sh" &&
	test_is "$rc" 0 &&
	track loop &&
	until_true 180 state_is loop stopped &&
	{ log_of loop | grep -aE "reboot|ready|Failed|panic" >&2; true; } &&
	run "$UMLKIT" status loop --output=json &&
	test_like "$(json .message)" "reboot loop: not started again after 6 reboots in a row" &&
	test_is "$(json .reboots)" 5
'

test_expect_success IMAGES 'stop is no reboot, also when the guest makes ctrl-alt-del reboot' '
	script cad "sed -i \"s|::ctrlaltdel:/sbin/poweroff|::ctrlaltdel:/sbin/reboot|\" /etc/inittab" \
		"kill -HUP 1 && echo uk-test: cad reboots" &&
	run bb cad --disk "ubdb=$T/cad.sh" &&
	test_is "$rc" 0 &&
	track cad &&
	until_true 30 log_has cad "uk-test: cad reboots" &&
	"$UMLKIT" stop cad &&
	log_of cad | grep -q "reboot: Restarting system" &&
	test_is "$(state_of cad)" stopped &&
	test_is "$("$UMLKIT" status cad --output=json | jq -r .reboots)" 0
'

test_expect_success IMAGES 'stop of a guest booted quiet sees its emergency sync complete' '
	run bb hush --append quiet &&
	test_is "$rc" 0 &&
	track hush &&
	"$UMLKIT" stop hush &&
	log_of hush | grep -q "Emergency Sync complete" &&
	test_is "$(state_of hush)" stopped
'

# ---------------------------------------------------------------- readiness
test_expect_success IMAGES '--ready=console:REGEX returns when the line appears' '
	run mk con sleeper --ready="console:^uk-test: serv(ing|ed)$" --wait --timeout 90 &&
	test_is "$rc" 0 &&
	track con &&
	test_like "$out" "^con: running" &&
	log_of con | grep -q "^uk-test: serving" &&
	"$UMLKIT" stop con
'

test_expect_success IMAGES 'an image without the ready hook: booted, no ready notice; --wait says so' '
	run mk quiet sleeper --wait --timeout 20 &&
	track quiet &&
	test_is "$rc" 1 &&
	test_like "$err" "quiet: booted, waiting for its ready notice \(umlkit-ready on /proc/mconsole\); an image without umlkit.s hook never sends it: use --ready=console:REGEX or --ready=agent" &&
	test_like "$err" "guest .quiet. did not report ready within 20 s: booted, waiting for its ready notice" &&
	run "$UMLKIT" status quiet &&
	test_like "$out" "^quiet: booted, no ready notice .*waiting for umlkit-ready on /proc/mconsole" &&
	test_is "$(state_of quiet)" booted &&
	"$UMLKIT" list | grep -Eq "^quiet +booted +[0-9]+ +no ready notice" &&
	"$UMLKIT" stop quiet
'

test_expect_success 'bad --ready and --on-reboot values: exit 2, named' '
	for a in --ready=bogus --ready=console: --ready=console:a\( --ready=notify:x --on-reboot=later; do
		run "$UMLKIT" start --name x --disk "$T/x.img" "$a" &&
		test_is "$rc" 2 &&
		test_like "$err" "${a%%=*}" || return 1
	done
'

# ---------------------------------------------------------------- modules
test_expect_success DEBUGFS,IMAGES 'the default image holds no modules' '
	debugfs -R "ls -p /lib/modules" "$T/bb.img" 2>/dev/null | grep "^/" >"$T/lib-modules" &&
	test_is "$(wc -l <"$T/lib-modules")" 2 &&
	test_is "$(grep -c "/0/0/\.\{1,2\}//\$" "$T/lib-modules")" 2
'

test_expect_success MODULES,IMAGES 'modprobe bridge and 8021q in a busybox guest' '
	script mods "modprobe bridge && modprobe 8021q && test -d /sys/module/bridge &&" \
		"test -d /sys/module/8021q && echo uk-test: modules loaded" &&
	run bb mod1 --disk "ubdb=$T/mods.sh" &&
	test_is "$rc" 0 &&
	track mod1 &&
	log_of mod1 | grep -q "^uk-test: modules loaded" &&
	log_of mod1 | grep -q "umlkit.modules=/dev/ubdp" &&
	ls "$T/cache/modules"/*.img >"$T/images" &&
	test_is "$(wc -l <"$T/images")" 1 &&
	stat -c "%i %Y" "$(cat "$T/images")" >"$T/first" &&
	"$UMLKIT" stop mod1 &&
	test_set_prereq MODS
'

test_expect_success MODS 'a second guest reuses the cached modules image' '
	run bb mod2 --disk "ubdb=$T/mods.sh" &&
	test_is "$rc" 0 &&
	track mod2 &&
	log_of mod2 | grep -q "^uk-test: modules loaded" &&
	test_is "$(ls "$T/cache/modules"/*.img)" "$(cat "$T/images")" &&
	test_is "$(stat -c "%i %Y" "$(cat "$T/images")")" "$(cat "$T/first")" &&
	"$UMLKIT" stop mod2
'

# The modules image is in root's cache ($T/cache, 0700): out of nobody's reach by path.
# So may the kernel be (one fetched into root's cache, as `make check-kernel` uses): the
# guest is jailed, its kernel bind mounted into its root, so only the binary's own mode
# must let nobody run it.
test_lazy_prereq KERNEL_FOR_NOBODY '[ "$(($(stat -L -c 0%a "$UML") & 01))" = 1 ]'
test_expect_success MODS,NOBODY,KERNEL_FOR_NOBODY 'a --user nobody guest gets the modules too: modprobe works' '
	stage_for_others &&
	chmod 0644 "$T/bb.img" &&
	cp "$T/mods.sh" "$T/modsu.sh" && chown nobody "$T/modsu.sh" &&
	run bb modu --user nobody --disk "ubdb=$T/modsu.sh" &&
	test_is "$rc" 0 || {
		log_of modu | grep -iE "ubd|fail|error|denied|mount" | head -n 20
		return 1
	}
	track modu &&
	test_is "$("$UMLKIT" status modu --output=json | jq -r .uid)" "$(id -u nobody)" &&
	log_of modu | grep -q "umlkit.modules=/dev/ubdp" &&
	log_of modu | grep -q "^uk-test: modules loaded" &&
	"$UMLKIT" stop modu
'

test_expect_success UML 'the modules unit: the highest free one, none with --no-modules' '
	mkdir -p "$T/fake/$("$UML" --version)" &&
	echo "kernel/x.ko:" >"$T/fake/$("$UML" --version)/modules.dep" &&
	export UMLKIT_MODULES_DIR="$T/fake" &&
	test_when_finished "unset UMLKIT_MODULES_DIR" &&
	run "$UMLKIT" run --dry-run --name d --disk "$T/d.img" &&
	test_like "$out" " ubd15r=$T/cache/modules/[^ ]*\.img root=.* umlkit\.modules=/dev/ubdp" &&
	run "$UMLKIT" run --dry-run --name d --disk "$T/d.img" --disk "ubdp=$T/e.img" &&
	test_like "$out" " ubd14r=[^ ]* .*umlkit\.modules=/dev/ubdo" &&
	run "$UMLKIT" run --dry-run --name d --disk "$T/d.img" --no-modules &&
	test_unlike "$out" "umlkit\.modules|ubd15" &&
	rm -rf "$T/fake" &&
	run "$UMLKIT" run --dry-run --name d --disk "$T/d.img" &&
	test_unlike "$out" "umlkit\.modules"
'

test_expect_success IMAGES 'an upgraded modules.dep gets a new image; the old one goes' '
	v=$("$UML" --version) &&
	mkdir -p "$T/fake2/$v/kernel" &&
	echo "kernel/x.ko:" >"$T/fake2/$v/modules.dep" &&
	export UMLKIT_MODULES_DIR="$T/fake2" &&
	test_when_finished "unset UMLKIT_MODULES_DIR" &&
	"$UMLKIT" run --name up1 --mem 64M --disk "$T/up1.cow,$T/mk.img" --append init=/init >/dev/null &&
	old=$(ls "$T/cache/modules/$v-"*.img) &&
	test_is "$(echo "$old" | wc -l)" 1 &&
	echo "kernel/y.ko:" >>"$T/fake2/$v/modules.dep" &&
	"$UMLKIT" run --name up2 --mem 64M --disk "$T/up2.cow,$T/mk.img" --append init=/init >/dev/null &&
	test_path_is_missing "$old" &&
	test_is "$(ls "$T/cache/modules/$v-"*.img | wc -l)" 1
'

test_expect_success BUSY 'cleanup: stop the running guest' '
	"$UMLKIT" stop busy
'
test_done
