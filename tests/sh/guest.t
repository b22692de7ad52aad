#!/bin/bash
# Guests with the real kernel: start, wait, status, mconsole, stop; a panic reported as a
# panic; a stale COW refused before boot; a running name refused; a supervisor killed with
# SIGKILL reported truthfully and recovered; stop ends everything; run in the foreground;
# bad input.
. "$(dirname "$0")/lib.sh"
[ -n "$UML" ] || skip_all "no UML kernel (install user-mode-linux)"

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
guest_image "$T/base.img" 32M
token="token-$$-$RANDOM"
cat >"$T/ready.sh" <<EOF
echo $token > /etc/token
echo umlkit-ready > /proc/mconsole
echo "guest: ready"
sleep 600
EOF
cat >"$T/write.sh" <<'EOF'
echo "guest: hello from run"
exit 0
EOF

# guest_procs NAME: how many host processes run with umid=NAME
guest_procs() { local n; n=$(pgrep -f -c -- "umid=$1( |$)" 2>/dev/null); echo "${n:-0}"; }
start_web() { # start_web NAME COW [OPTIONS]: a guest that reports ready and stays up
	local name=$1 cow=$2
	shift 2
	"$UMLKIT" start --name "$name" --mem 64M --disk "$cow,$T/base.img" \
		--disk "ubdb=$T/ready.sh" --append init=/init --wait --timeout 90 "$@"
}

# ---------------------------------------------------------------- start, status, stop
run start_web web "$T/web.cow"
is "$rc" 0 "start --wait returns 0 once the guest is ready"
like "$out" "^web: running \(kernel pid [0-9]+\)" "start reports the state and kernel pid"
track web
check "a missing COW was created" -- test -s "$T/web.cow"
run "$UMLKIT" status web
like "$out" "^web: running" "status: running"
run "$UMLKIT" status web --output=json
like "$out" '"state": "running"' "status --output=json: state"
like "$out" '"ready": [0-9]+' "status --output=json: ready time"
run "$UMLKIT" list --output=json
like "$out" '"name": "web"' "list --output=json names the guest"
run "$UMLKIT" mconsole web version
is "$rc" 0 "mconsole NAME version: exit 0"
like "$out" "6\.1\." "mconsole NAME version: the kernel's version"
run "$UMLKIT" logs web
like "$out" "guest: ready" "logs: the console log holds what the guest printed"

run "$UMLKIT" start --name web --mem 64M --disk "$T/web2.cow,$T/base.img" --append init=/init
is "$rc" 1 "starting a running name is refused (exit 1)"
like "$err" "already running" "... with a message saying so"
check "... and the refused start created no COW" -- test ! -e "$T/web2.cow"

run "$UMLKIT" cow merge "$T/web.cow" "$T/out.img"
isnt_zero=$rc
ok "$([ "$isnt_zero" != 0 ]; echo $?)" "the running guest's COW cannot be merged"

n0=$(guest_procs web)
ok "$([ "$n0" -gt 0 ]; echo $?)" "the guest has host processes ($n0)"
t0=$(date +%s)
run "$UMLKIT" stop web --timeout 20
t1=$(date +%s)
is "$rc" 0 "stop: exit 0"
ok "$([ $((t1 - t0)) -le 25 ]; echo $?)" "stop returned within its timeout"
run "$UMLKIT" status web
like "$out" "^web: stopped" "status after stop: stopped"
is "$(guest_procs web)" 0 "stop left no process behind"
run "$UMLKIT" cow check "$T/web.cow"
is "$rc" 0 "the COW is sound after the stop"
run "$UMLKIT" cow merge "$T/web.cow" "$T/web.img"
e2fsck -fy "$T/web.img" >/dev/null 2>&1 # replay the journal, as the next mount would
is "$(debugfs -R 'cat /etc/token' "$T/web.img" 2>/dev/null)" "$token" \
	"what the guest wrote before the stop is in its COW (stop syncs before it halts)"

# ---------------------------------------------------------------- panic
head -c 8M /dev/zero >"$T/junk.img"
run "$UMLKIT" start --name bad --mem 64M --disk "$T/junk.img" --wait --timeout 90
is "$rc" 1 "a guest whose root disk is wrong fails --wait"
like "$err" "panic.*Unable to mount root fs" "... naming the kernel's panic message"
run "$UMLKIT" status bad
like "$out" "^bad: panicked: VFS: Unable to mount root fs" "status: panicked, with the message"
is "$(guest_procs bad)" 0 "a panicked guest leaves no process"
check "... nor its kernel's uml_dir" -- test ! -e "$XDG_RUNTIME_DIR/umlkit/guests/bad/uml/bad"

# ---------------------------------------------------------------- stale COW
"$UMLKIT" cow create "$T/stale.cow" "$T/base.img"
touch -d '2001-01-01' "$T/base.img"
run "$UMLKIT" start --name stale --mem 64M --disk "$T/stale.cow,$T/base.img" --wait
is "$rc" 1 "a stale COW is refused"
like "$err" "mtime mismatch" "... with the message cow check gives"
is "$(guest_procs stale)" 0 "... before any kernel started"
"$UMLKIT" cow restamp -f "$T/web.cow" >/dev/null 2>&1

# ---------------------------------------------------------------- a killed supervisor
run start_web crash "$T/crash.cow"
is "$rc" 0 "start a second guest"
track crash
sup=$("$UMLKIT" status crash --output=json | sed -n 's/.*"supervisor_pid": \([0-9]*\).*/\1/p')
kill -KILL "$sup"
for _ in $(seq 50); do "$UMLKIT" status crash | grep -q lost && break; sleep 0.1; done
run "$UMLKIT" list
like "$out" "crash +lost .*supervisor \(pid $sup\) died" "list: lost, naming the dead supervisor"
run "$UMLKIT" status crash --output=json
like "$out" '"state": "lost"' "status --output=json: lost"
run start_web crash "$T/crash.cow"
is "$rc" 0 "start recovers the state a killed supervisor left"
track crash
run "$UMLKIT" status crash
like "$out" "^crash: running" "... and the guest runs again"
run "$UMLKIT" kill crash
is "$rc" 0 "kill: exit 0"
is "$(guest_procs crash)" 0 "kill left no process behind"

# ---------------------------------------------------------------- restart, console, logs -f
run start_web again "$T/again.cow" --restart=on-failure
is "$rc" 0 "start --restart=on-failure"
track again
run "$UMLKIT" mconsole --timeout 2 again "sysrq c" # crash the kernel (no reply comes)
for _ in $(seq 300); do
	"$UMLKIT" status again --output=json | grep -q '"restarts": 1' &&
		"$UMLKIT" status again | grep -q '^again: running' && break
	sleep 0.2
done
run "$UMLKIT" status again --output=json
like "$out" '"restarts": 1' "a crashed guest with --restart=on-failure was restarted"
like "$out" '"state": "running"' "... and runs again"
track again
"$UMLKIT" logs -f again >"$T/follow.log" 2>&1 &
follow=$!
UK_PIDS+=("$follow")
run "$UMLKIT" stop again
is "$rc" 0 "stop the restarted guest"
for _ in $(seq 100); do kill -0 "$follow" 2>/dev/null || break; sleep 0.1; done
ok "$(! kill -0 "$follow" 2>/dev/null; echo $?)" "logs -f ends when the guest ends"
wait "$follow"
is "$?" 0 "logs -f: exit 0"
like "$(cat "$T/follow.log")" "guest: ready" "logs -f printed the console"

"$UMLKIT" image build --size 48M "$T/default.img" >/dev/null
run "$UMLKIT" start --name con --mem 64M --disk "$T/con.cow,$T/default.img" \
	--append "umlkit.shell=1" --wait --timeout 90
is "$rc" 0 "a guest of the default image with a console shell"
track con
out=$( (sleep 1; printf 'echo CONSOLE-$((6*7))\n'; sleep 3) |
	timeout 20 "$UMLKIT" console con 2>&1)
like "$out" "CONSOLE-42" "console: what we type reaches the guest's shell, its answer comes back"
run "$UMLKIT" console nosuch
is "$rc" 1 "console of no guest: exit 1"
run "$UMLKIT" stop con
is "$rc" 0 "stop it"

# ---------------------------------------------------------------- run (foreground)
run "$UMLKIT" run --name fg --mem 64M --disk "$T/fg.cow,$T/base.img" --disk "ubdb=$T/write.sh" \
	--append init=/init
is "$rc" 0 "run: a guest that powers off exits 0"
like "$out" "guest: hello from run" "run: the console is on stdout"
run "$UMLKIT" status fg
like "$out" "^fg: stopped" "status after run: stopped"
run "$UMLKIT" run --name fg2 --mem 64M --disk "$T/junk.img"
is "$rc" 1 "run: a panicking guest exits 1"
like "$err" "panicked: VFS: Unable to mount root fs" "run: ... and says why"

# ---------------------------------------------------------------- the command line
# (the modules disk and umlkit.modules=: guest_lifecycle.t)
run "$UMLKIT" run --dry-run --name d --mem 128M --disk "$T/a.cow,$T/base.img" \
	--disk "ubdc=$T/x.img" --net tap:uml-conn0 --net fd:5,mac=02:00:00:00:00:01 \
	--net bess:/tmp/sw.sock --net legacy-tuntap:tap0 --no-modules
is "$rc" 0 "run --dry-run: exit 0"
like "$out" "mem=128M umid=d uml_dir=" "dry run: mem, umid, uml_dir"
like "$out" "ubd0=$T/a.cow,$T/base.img ubd2=$T/x.img root=/dev/ubda" "dry run: disks and root"
like "$out" "vec0:transport=tap,ifname=uml-conn0 vec1:transport=fd,fd=5,mac=02:00:00:00:00:01 vec2:transport=bess,dst=/tmp/sw.sock eth3=tuntap,tap0" \
	"dry run: vecN: for tap, fd and bess; ethN=tuntap only when asked"
check "dry run created nothing" -- test ! -e "$T/a.cow"

# ---------------------------------------------------------------- bad input
bad() { # bad NAME REGEX ARGS...: exit 1 or 2 and a message matching REGEX
	local name=$1 re=$2
	shift 2
	run "$UMLKIT" "$@"
	ok "$([ "$rc" -ge 1 ] && [ "$rc" -le 2 ]; echo $?)" "$name: exit 1 or 2 (got $rc)"
	like "$err" "$re" "$name: message"
}
D=(--disk "$T/b.cow,$T/base.img")
bad "unknown option" "unknown option" start --name x --bogus "${D[@]}"
bad "--mem without its value" "option '--mem' needs a value" start --name x "${D[@]}" --mem
# each command takes only its own options (exit 2, the option named)
for c in "status x --mem 64M|--mem|status" "kill x --output=json|--output|kill" \
	"run --name x ${D[*]} --wait|--wait|run" "stop x --disk a.img|--disk|stop" \
	"list --timeout 5|--timeout|list"; do
	IFS='|' read -r args opt cmd <<<"$c"
	# shellcheck disable=SC2086 # the arguments are words
	run "$UMLKIT" $args
	is "$rc" 2 "umlkit $cmd $opt: exit 2"
	like "$err" "option '$opt' does not apply to 'umlkit $cmd'" "umlkit $cmd $opt: named"
done
check "run --wait: no COW made" -- test ! -e "$T/b.cow"
bad "missing kernel" "kernel /nonexistent" start --name x --kernel /nonexistent "${D[@]}"
UMLKIT_KERNEL=/no/such/linux bad "missing kernel from \$UMLKIT_KERNEL" "UMLKIT_KERNEL" \
	run --name x "${D[@]}"
bad "missing image" "No such file" start --name x --disk "$T/none.img"
bad "missing backing" "backing image .*none.img" start --name x --disk "$T/n.cow,$T/none.img"
bad "bad size" "--mem 1K: must be from 16M" start --name x --mem 1K "${D[@]}"
bad "not a size" "--mem lots: not a size" start --name x --mem lots "${D[@]}"
bad "name with /" "character '/' is not allowed" start --name a/b "${D[@]}"
bad "name over 63" "longer than 63" start --name "$(printf 'n%.0s' $(seq 64))" "${D[@]}"
bad "disk name with ," "contains ','" start --name x --disk "$T/a,b.cow,$T/base.img"
bad "disk name with :" "contains ',' or ':'" start --name x --disk "$T/a:b.img"
bad "bad net" "unknown kind" start --name x --net vde:sw "${D[@]}"
bad "no name" "--name NAME is required" start "${D[@]}"
bad "status of nothing" "no guest named 'ghost'" status ghost
check "bad input created no COW" -- test ! -e "$T/b.cow"
done_testing
