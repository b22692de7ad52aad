#!/bin/bash
# Guests with the real kernel: start, wait, status, mconsole, stop; a panic reported as a
# panic; a stale COW refused before boot; a running name refused; a supervisor killed with
# SIGKILL reported truthfully and recovered; stop ends everything; run in the foreground;
# bad input.
. "$(dirname "$0")/lib.sh"
test_need_guests

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
token="token-$$-$RANDOM"

# guest_procs NAME: how many host processes run with umid=NAME and a uml_dir of this test's
# (another test may run a guest of the same name at the same time)
guest_procs() {
	local n
	n=$(pgrep -f -c -- "umid=$1 uml_dir=$T/" 2>/dev/null)
	echo "${n:-0}"
}
start_web() { # start_web NAME COW [OPTIONS]: a guest that reports ready and stays up
	local name=$1 cow=$2
	shift 2
	"$UMLKIT" start --name "$name" --mem 64M --disk "$cow,$T/base.img" \
		--disk "ubdb=$T/ready.sh" --append init=/init --wait --timeout 90 "$@"
}
restarted() {
	[ "$(json .restarts "$("$UMLKIT" status "$1" --output=json)")" = 1 ] &&
		"$UMLKIT" status "$1" | grep -q "^$1: running"
}

test_expect_success 'setup: a guest image and its scripts' '
	guest_image "$T/base.img" 32M &&
	cat >"$T/ready.sh" <<-EOF &&
	echo $token > /etc/token
	echo umlkit-ready > /proc/mconsole
	echo "guest: ready"
	sleep 600
	EOF
	printf "echo \"guest: hello from run\"\nexit 0\n" >"$T/write.sh" &&
	test_set_prereq IMAGE
'

# ---------------------------------------------------------------- start, status, stop
test_expect_success IMAGE 'start --wait returns 0 once the guest is ready' '
	run start_web web "$T/web.cow" &&
	start_out=$out &&
	track web &&
	test_is "$rc" 0 &&
	test_set_prereq WEB
'
test_expect_success WEB 'start reports the state and kernel pid' '
	test_like "$start_out" "^web: running \(kernel pid [0-9]+\)"
'
test_expect_success WEB 'a missing COW was created' '
	test -s "$T/web.cow"
'
test_expect_success WEB 'status: running' '
	run "$UMLKIT" status web &&
	test_like "$out" "^web: running"
'
test_expect_success WEB 'status --output=json: state' '
	run "$UMLKIT" status web --output=json &&
	test_is "$(json .state)" running
'
test_expect_success WEB 'status --output=json: ready time' '
	test_like "$(json .ready)" "^[0-9]+$"
'
test_expect_success WEB 'list --output=json names the guest' '
	run "$UMLKIT" list --output=json &&
	test_like "$(json ".[].name")" "^web$"
'
test_expect_success WEB 'mconsole NAME version: exit 0' '
	run "$UMLKIT" mconsole web version &&
	test_is "$rc" 0
'
test_expect_success WEB "mconsole NAME version: the kernel's version (its --version)" '
	rel=$("$UML" --version) &&
	test_like "$rel" "^[0-9]+\.[0-9]+\.[0-9]+" &&
	test_like "$out" "^Linux [^ ]+ ${rel//./\\.} "
'
test_expect_success WEB 'logs: the console log holds what the guest printed' '
	run "$UMLKIT" logs web &&
	test_like "$out" "guest: ready"
'

test_expect_success WEB 'starting a running name is refused (exit 1)' '
	run "$UMLKIT" start --name web --mem 64M --disk "$T/web2.cow,$T/base.img" --append init=/init &&
	test_is "$rc" 1
'
test_expect_success WEB '... with a message saying so' '
	test_like "$err" "already running"
'
test_expect_success WEB '... and the refused start created no COW' '
	test_path_is_missing "$T/web2.cow"
'
test_expect_success WEB "the running guest's COW cannot be merged" '
	test_must_fail "$UMLKIT" cow merge "$T/web.cow" "$T/out.img"
'
test_expect_success WEB 'the guest has host processes' '
	n0=$(guest_procs web) &&
	echo "$n0 processes" &&
	test "$n0" -gt 0
'
test_expect_success WEB 'stop: exit 0' '
	t0=$(date +%s) &&
	run "$UMLKIT" stop web --timeout 20 &&
	t1=$(date +%s) &&
	test_is "$rc" 0
'
test_expect_success WEB 'stop returned within its timeout' '
	echo "stop took $((t1 - t0)) s" &&
	test $((t1 - t0)) -le 25
'
test_expect_success WEB 'status after stop: stopped' '
	run "$UMLKIT" status web &&
	test_like "$out" "^web: stopped"
'
test_expect_success WEB 'stop left no process behind' '
	test_is "$(guest_procs web)" 0 &&
	untrack web
'
test_expect_success WEB 'the COW is sound after the stop' '
	run "$UMLKIT" cow check "$T/web.cow" &&
	test_is "$rc" 0
'
test_expect_success WEB 'what the guest wrote before the stop is in its COW (stop syncs before it halts)' '
	"$UMLKIT" cow merge "$T/web.cow" "$T/web.img" &&
	{ e2fsck -fy "$T/web.img" >/dev/null 2>&1; true; } && # replay the journal, as the next mount would
	test_is "$(debugfs -R "cat /etc/token" "$T/web.img" 2>/dev/null)" "$token"
'

# ---------------------------------------------------------------- panic
test_expect_success 'a guest whose root disk is wrong fails --wait' '
	head -c 8M /dev/zero >"$T/junk.img" &&
	run "$UMLKIT" start --name bad --mem 64M --disk "$T/junk.img" --wait --timeout 90 &&
	track bad &&
	test_is "$rc" 1
'
test_expect_success "... naming the kernel's panic message" '
	test_like "$err" "panic.*Unable to mount root fs"
'
test_expect_success 'status: panicked, with the message' '
	run "$UMLKIT" status bad &&
	test_like "$out" "^bad: panicked: VFS: Unable to mount root fs"
'
test_expect_success 'a panicked guest leaves no process' '
	test_is "$(guest_procs bad)" 0 &&
	untrack bad
'
test_expect_success "... nor its kernel's uml_dir" '
	test_path_is_missing "$XDG_RUNTIME_DIR/umlkit/guests/bad/uml/bad"
'

# ---------------------------------------------------------------- stale COW
test_expect_success IMAGE 'a stale COW is refused' '
	"$UMLKIT" cow create "$T/stale.cow" "$T/base.img" &&
	touch -d 2001-01-01 "$T/base.img" &&
	run "$UMLKIT" start --name stale --mem 64M --disk "$T/stale.cow,$T/base.img" --wait &&
	track stale &&
	test_is "$rc" 1
'
test_expect_success IMAGE '... with the message cow check gives' '
	test_like "$err" "mtime mismatch"
'
test_expect_success IMAGE '... before any kernel started' '
	test_is "$(guest_procs stale)" 0 &&
	untrack stale &&
	{ "$UMLKIT" cow restamp -f "$T/web.cow" >/dev/null 2>&1; true; }
'

# ---------------------------------------------------------------- a killed supervisor
test_expect_success IMAGE 'start a second guest' '
	run start_web crash "$T/crash.cow" &&
	track crash &&
	test_is "$rc" 0 &&
	test_set_prereq CRASH
'
test_expect_success CRASH 'setup: SIGKILL its supervisor' '
	kill_supervisor crash &&
	test_set_prereq LOST
'
test_expect_success LOST 'list: lost, naming the dead supervisor' '
	run "$UMLKIT" list &&
	test_like "$out" "crash +lost .*supervisor \(pid $sup\) died"
'
test_expect_success LOST 'status --output=json: lost' '
	run "$UMLKIT" status crash --output=json &&
	test_is "$(json .state)" lost
'
test_expect_success LOST 'start recovers the state a killed supervisor left' '
	run start_web crash "$T/crash.cow" &&
	track crash &&
	test_is "$rc" 0
'
test_expect_success LOST '... and the guest runs again' '
	run "$UMLKIT" status crash &&
	test_like "$out" "^crash: running"
'
test_expect_success CRASH 'kill: exit 0' '
	run "$UMLKIT" kill crash &&
	test_is "$rc" 0
'
test_expect_success CRASH 'kill left no process behind' '
	test_is "$(guest_procs crash)" 0 &&
	untrack crash
'

# ---------------------------------------------------------------- restart, console, logs -f
test_expect_success IMAGE 'start --restart=on-failure' '
	run start_web again "$T/again.cow" --restart=on-failure &&
	track again &&
	test_is "$rc" 0 &&
	test_set_prereq AGAIN
'
test_expect_success AGAIN 'a crashed guest with --restart=on-failure was restarted' '
	run "$UMLKIT" mconsole --timeout 2 again "sysrq c" && # crash the kernel (no reply comes)
	until_true 60 restarted again
	run "$UMLKIT" status again --output=json &&
	track again &&
	test_is "$(json .restarts)" 1
'
test_expect_success AGAIN '... and runs again' '
	test_is "$(json .state)" running
'
test_expect_success AGAIN 'stop the restarted guest' '
	"$UMLKIT" logs -f again >"$T/follow.log" 2>&1 &
	follow=$!
	UK_PIDS+=("$follow")
	run "$UMLKIT" stop again &&
	test_is "$rc" 0 &&
	test_set_prereq FOLLOW
'
test_expect_success FOLLOW 'logs -f ends when the guest ends' '
	wait_gone "$follow" 10
'
test_expect_success FOLLOW 'logs -f: exit 0' '
	{ wait "$follow"; test_is "$?" 0; } &&
	forget_pid "$follow" &&
	{ [ "$(guest_procs again)" != 0 ] || untrack again; }
'
test_expect_success FOLLOW 'logs -f printed the console' '
	test_like "$(cat "$T/follow.log")" "guest: ready"
'

test_expect_success 'a guest of the default image with a console shell' '
	"$UMLKIT" image build --size 48M "$T/default.img" >/dev/null &&
	run "$UMLKIT" start --name con --mem 64M --disk "$T/con.cow,$T/default.img" \
		--append "umlkit.shell=1" --wait --timeout 90 &&
	track con &&
	test_is "$rc" 0 &&
	test_set_prereq CON
'
# the line is typed once; the console is read until the answer shows (at most 15 s), then
# its input ends
test_expect_success CON "console: what we type reaches the guest's shell, its answer comes back" '
	: >"$T/con.out" &&
	{
		printf "echo CONSOLE-\$((6*7))\n"
		until_true 15 grep -q CONSOLE-42 "$T/con.out"
	} | timeout 20 "$UMLKIT" console con >"$T/con.out" 2>&1
	test_like "$(cat "$T/con.out")" "CONSOLE-42"
'
test_expect_success 'console of no guest: exit 1' '
	run "$UMLKIT" console nosuch &&
	test_is "$rc" 1
'
test_expect_success CON 'stop it' '
	run "$UMLKIT" stop con &&
	test_is "$rc" 0 &&
	{ [ "$(guest_procs con)" != 0 ] || untrack con; }
'

# ---------------------------------------------------------------- run (foreground)
# bounded as boot_guest bounds a kernel (UK_BOOT_TIMEOUT, default 120 s)
fg_run() { timeout -k 5 "${UK_BOOT_TIMEOUT:-120}" "$UMLKIT" run "$@"; }
test_expect_success IMAGE 'run: a guest that powers off exits 0' '
	run fg_run --name fg --mem 64M --disk "$T/fg.cow,$T/base.img" --disk "ubdb=$T/write.sh" \
		--append init=/init &&
	test_is "$rc" 0 &&
	test_set_prereq FG
'
test_expect_success FG 'run: the console is on stdout' '
	test_like "$out" "guest: hello from run"
'
test_expect_success FG 'status after run: stopped' '
	run "$UMLKIT" status fg &&
	test_like "$out" "^fg: stopped"
'
test_expect_success 'run: a panicking guest exits 1' '
	run fg_run --name fg2 --mem 64M --disk "$T/junk.img" &&
	test_is "$rc" 1
'
test_expect_success 'run: ... and says why' '
	test_like "$err" "panicked: VFS: Unable to mount root fs"
'

# ---------------------------------------------------------------- the command line
# (the modules disk and umlkit.modules=: guest_lifecycle.t)
test_expect_success 'run --dry-run: exit 0' '
	run "$UMLKIT" run --dry-run --name d --mem 128M --disk "$T/a.cow,$T/base.img" \
		--disk "ubdc=$T/x.img" --net tap:uml-conn0 --net fd:5,mac=02:00:00:00:00:01 \
		--net bess:/tmp/sw.sock --net legacy-tuntap:tap0 --no-modules &&
	test_is "$rc" 0
'
test_expect_success 'dry run: mem, umid, uml_dir' '
	test_like "$out" "mem=128M umid=d uml_dir="
'
test_expect_success 'dry run: disks and root' '
	test_like "$out" "ubd0=$T/a.cow,$T/base.img ubd2=$T/x.img root=/dev/ubda"
'
test_expect_success 'dry run: vecN: for tap, fd and bess; ethN=tuntap only when asked' '
	test_like "$out" "vec0:transport=tap,ifname=uml-conn0 vec1:transport=fd,fd=5,mac=02:00:00:00:00:01 vec2:transport=bess,dst=/tmp/sw.sock eth3=tuntap,tap0"
'
test_expect_success 'dry run created nothing' '
	test_path_is_missing "$T/a.cow"
'

# ---------------------------------------------------------------- bad input
# bad NAME REGEX CMD...: two points: CMD exits 1 or 2, and says REGEX on stderr
bad() {
	bad_re=$2
	bad_cmd=("${@:3}")
	test_expect_success "$1: exit 1 or 2" '
		run "${bad_cmd[@]}" &&
		echo "exit $rc" &&
		test "$rc" -ge 1 && test "$rc" -le 2
	'
	test_expect_success "$1: message" '
		test_like "$err" "$bad_re"
	'
}
D=(--disk "$T/b.cow,$T/base.img")
bad "unknown option" "unknown option" "$UMLKIT" start --name x --bogus "${D[@]}"
bad "--mem without its value" "option '--mem' needs a value" "$UMLKIT" start --name x "${D[@]}" --mem
# each command takes only its own options (exit 2, the option named)
for c in "status x --mem 64M|--mem|status" "kill x --output=json|--output|kill" \
	"run --name x ${D[*]} --wait|--wait|run" "stop x --disk a.img|--disk|stop" \
	"list --timeout 5|--timeout|list"; do
	IFS='|' read -r opt_args opt opt_cmd <<<"$c"
	test_expect_success "umlkit $opt_cmd $opt: exit 2" '
		run "$UMLKIT" $opt_args &&
		test_is "$rc" 2
	'
	test_expect_success "umlkit $opt_cmd $opt: named" '
		test_like "$err" "option '"'"'$opt'"'"' does not apply to '"'"'umlkit $opt_cmd'"'"'"
	'
done
test_expect_success 'run --wait: no COW made' '
	test_path_is_missing "$T/b.cow"
'
bad "missing kernel" "kernel /nonexistent" "$UMLKIT" start --name x --kernel /nonexistent "${D[@]}"
bad "missing kernel from \$UMLKIT_KERNEL" "UMLKIT_KERNEL" \
	env UMLKIT_KERNEL=/no/such/linux "$UMLKIT" run --name x "${D[@]}"
bad "missing image" "No such file" "$UMLKIT" start --name x --disk "$T/none.img"
bad "missing backing" "backing image .*none.img" "$UMLKIT" start --name x --disk "$T/n.cow,$T/none.img"
bad "bad size" "--mem 1K: must be from 16M" "$UMLKIT" start --name x --mem 1K "${D[@]}"
bad "not a size" "--mem lots: not a size" "$UMLKIT" start --name x --mem lots "${D[@]}"
bad "name with /" "character '/' is not allowed" "$UMLKIT" start --name a/b "${D[@]}"
bad "name over 63" "longer than 63" "$UMLKIT" start --name "$(printf 'n%.0s' $(seq 64))" "${D[@]}"
bad "disk name with ," "contains ','" "$UMLKIT" start --name x --disk "$T/a,b.cow,$T/base.img"
bad "disk name with :" "contains ',' or ':'" "$UMLKIT" start --name x --disk "$T/a:b.img"
bad "bad net" "unknown kind" "$UMLKIT" start --name x --net vde:sw "${D[@]}"
bad "no name" "--name NAME is required" "$UMLKIT" start "${D[@]}"
bad "status of nothing" "no guest named 'ghost'" "$UMLKIT" status ghost
test_expect_success 'bad input created no COW' '
	test_path_is_missing "$T/b.cow"
'
test_done
