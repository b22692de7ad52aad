#!/bin/bash
# guest_jail.t: the jail of a guest's kernel (lib/guest/jail.c), read from the host through
# /proc/PID (uid, gid and groups, capabilities, no_new_privs, namespaces, mounts, environment,
# descriptors, rlimits) and from inside the guest (hostfs sees only the jail, not /etc);
# --no-jail keeps the kernel in the host's namespaces. An unprivileged caller (nobody) gets
# what user namespaces allow, and where a user namespace is refused (max_user_namespaces 0
# in a user namespace of the test's) what is left; each says once what was not applied.
. "$(dirname "$0")/lib.sh"

case "$T" in *,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
PATH=$PATH:/usr/sbin:/sbin

guest_exec() { timeout 60 "$UMLKIT" exec "$@"; }
# field NAME PID: a line's value of /proc/PID/status
field() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$2/status"; }

test_expect_success ROOT,UML,AGENT_BUILT,BUSYBOX,DEBUGFS 'setup: a guest started by root is jailed by default' '
	"$UMLKIT" image build --size 128M "$T/agent.img" &&
	run "$UMLKIT" start --name jw --mem 128M --disk "$T/jw.cow,$T/agent.img" \
		--ready=agent --wait --timeout 120 &&
	track jw &&
	test_is "$rc" 0 &&
	run "$UMLKIT" status jw --output=json &&
	test_is "$(json .jail)" true &&
	test_is "$(json .jail_not_applied)" null &&
	K=$(json .pid) &&
	test -n "$K" && test -d "/proc/$K" &&
	test_set_prereq JAILED
'

test_expect_success JAILED 'the kernel runs as an unprivileged id of its own, no groups' '
	uid=$(field Uid "$K" | awk "{print \$1}") &&
	test "$uid" -ge 1879048192 && test "$uid" -lt 1879113728 &&
	test_is "$(field Uid "$K")" "$uid	$uid	$uid	$uid" &&
	test_is "$(field Gid "$K")" "$uid	$uid	$uid	$uid" &&
	test_is "$(field Groups "$K")" "" &&
	run "$UMLKIT" status jw --output=json &&
	test_is "$(json .uid)" "$uid"
'

test_expect_success JAILED 'no capabilities in any set, no_new_privs' '
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		test_is "$(field $c "$K")" 0000000000000000 || return 1
	done &&
	test_is "$(field NoNewPrivs "$K")" 1
'

test_expect_success JAILED 'its own mount, pid, ipc, uts and cgroup namespaces' '
	for n in mnt pid ipc uts cgroup; do
		test_isnt "$(readlink "/proc/$K/ns/$n")" "$(readlink "/proc/self/ns/$n")" || return 1
	done
'

test_expect_success JAILED 'its root holds only the listed files, read-only' '
	awk "{print \$5}" "/proc/$K/mountinfo" | sort >"$T/points" &&
	{
		echo /
		echo /tmp
		echo /dev/shm
		echo /dev/null
		echo /dev/zero
		echo /dev/random
		echo /dev/urandom
		echo /proc/cpuinfo
		echo "$T/jw.cow"
		echo "$T/agent.img"
		echo "$XDG_RUNTIME_DIR/umlkit/guests/jw/uml"
		echo "$XDG_RUNTIME_DIR/umlkit/guests/jw/notify"
		echo "$XDG_RUNTIME_DIR/umlkit/guests/jw/agent.ring"
	} >"$T/want" &&
	while read -r p; do grep -qxF "$p" "$T/points" || { echo "missing $p"; return 1; }; done <"$T/want" &&
	grep -vxF -f "$T/want" "$T/points" >"$T/others" &&
	cat "$T/others" &&
	! grep -vE "^(/usr/bin/linux(\.uml)?|/lib64/.*|/lib/.*|/usr/lib/.*|.*/modules/.*\.img|.*umlkit-xstate\.so)$" "$T/others" &&
	awk "\$5 == \"/\" {print \$6}" "/proc/$K/mountinfo" | grep -q "^ro" &&
	awk "\$5 == \"$T/agent.img\" {print \$6}" "/proc/$K/mountinfo" | grep -q "^ro"
'
# glibc opens libgcc_s.so.1 at run time (pthread_cancel: sid's kernel when it halts), where its
# loader looks by default; no ELF header names it
test_expect_success JAILED 'its root holds libgcc_s.so.1, which glibc opens at run time' '
	lib=$(ls /lib/x86_64-linux-gnu/libgcc_s.so.1 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 2>/dev/null | head -n 1) &&
	test -n "$lib" &&
	grep -qxF "$lib" "$T/points"
'

test_expect_success JAILED 'a clean environment, core files off, bounded descriptors' '
	tr "\0" "\n" <"/proc/$K/environ" | sed "s/=.*//" | grep -vxE "PATH|TMPDIR|HOME|LD_PRELOAD" >"$T/env";
	test_is "$(cat "$T/env")" "" &&
	grep -q "^TMPDIR=/tmp$" <(tr "\0" "\n" <"/proc/$K/environ") &&
	test_like "$(grep "^Max core file size" "/proc/$K/limits")" " 0 +0 " &&
	test_like "$(grep "^Max open files" "/proc/$K/limits")" " 4096 +4096 "
'

test_expect_success JAILED 'no descriptor of the supervisor but the console and the agent' '
	for fd in /proc/$K/fd/*; do
		l=$(readlink "$fd") &&
		case $l in
		socket:* | anon_inode:* | /dev/random | /dev/urandom | "$T"/* | /tmp/* | *.img) ;;
		*) echo "unexpected fd $fd -> $l"; return 1 ;;
		esac
	done &&
	! readlink "/proc/$K/fd/"* | grep -F "$XDG_RUNTIME_DIR/umlkit/guests/jw/console.log" &&
	! readlink "/proc/$K/fd/"* | grep -F "$XDG_RUNTIME_DIR/umlkit/guests/jw/lock"
'

test_expect_success JAILED 'inside: hostfs shows the jail, not the host'"'"'s /etc' '
	run guest_exec jw sh -c "mkdir -p /mnt/h && mount -t hostfs none /mnt/h && ls /mnt/h; test -e /mnt/h/etc/passwd && echo HOST-ETC; test -e /mnt/h$T/jw.cow && echo OWN-DISK" &&
	test_is "$rc" 0 &&
	test_unlike "$out" HOST-ETC &&
	test_like "$out" OWN-DISK &&
	test_unlike "$out" "^(etc|home|var|boot)$" &&
	guest_exec jw umount /mnt/h
'

test_expect_success JAILED 'stop: the jailed guest stops cleanly' '
	run "$UMLKIT" stop jw --timeout 60 &&
	test_is "$rc" 0 &&
	untrack jw &&
	run "$UMLKIT" status jw --output=json &&
	test_is "$(json .state)" stopped
'

test_expect_success ROOT,UML,AGENT_BUILT,BUSYBOX,DEBUGFS 'start --no-jail keeps the kernel in the host'"'"'s namespaces' '
	run "$UMLKIT" start --no-jail --name nj --mem 128M --disk "$T/nj.cow,$T/agent.img" \
		--ready=agent --wait --timeout 120 &&
	track nj &&
	test_is "$rc" 0 &&
	run "$UMLKIT" status nj --output=json &&
	test_is "$(json .jail)" false &&
	N=$(json .pid) &&
	test_is "$(readlink "/proc/$N/ns/mnt")" "$(readlink /proc/self/ns/mnt)" &&
	test_is "$(readlink "/proc/$N/ns/pid")" "$(readlink /proc/self/ns/pid)" &&
	test_is "$(field Uid "$N" | awk "{print \$1}")" 0 &&
	run "$UMLKIT" stop nj --timeout 60 &&
	test_is "$rc" 0 &&
	untrack nj
'

# ------------------------------------------------------------------ an unprivileged caller
# as_nobody CMD...: CMD as nobody (no supplementary groups), its state directory under
# $NB_RUN
NB_RUN=$T/nb/run
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env XDG_RUNTIME_DIR="$NB_RUN" UMLKIT_XSTATE_SHIM="${UMLKIT_XSTATE_SHIM:-}" "$@"
}
test_expect_success NOBODY,UML,JAILED 'setup: nobody starts a guest of its own' '
	stage_for_others &&
	mkdir -p "$T/nb/run" && chown -R nobody:nogroup "$T/nb" && chmod 0644 "$T/agent.img" &&
	run as_nobody "$UMLKIT" start --name nbj --mem 128M --disk "$T/nb/nbj.cow,$T/agent.img" \
		--no-modules --ready=agent --wait --timeout 120 &&
	NB=$(as_nobody "$UMLKIT" status nbj --output=json | jq -r ".supervisor_pid // empty") &&
	if [ -n "$NB" ]; then UK_PIDS+=("$NB"); fi &&
	test_is "$rc" 0 &&
	NK=$(as_nobody "$UMLKIT" status nbj --output=json | jq -r .pid) &&
	test -d "/proc/$NK" &&
	UK_GROUPS+=("$NK") &&
	test_set_prereq NB_JAILED
'
test_expect_success NB_JAILED "nobody's kernel: its uid, no capabilities, no_new_privs" '
	test_is "$(field Uid "$NK")" "65534	65534	65534	65534" &&
	test_is "$(field Groups "$NK")" "" &&
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		test_is "$(field $c "$NK")" 0000000000000000 || return 1
	done &&
	test_is "$(field NoNewPrivs "$NK")" 1
'
test_expect_success NB_JAILED "nobody's kernel: a user namespace and the jail's own namespaces" '
	for n in user mnt pid ipc uts cgroup; do
		test_isnt "$(readlink "/proc/$NK/ns/$n")" "$(readlink "/proc/self/ns/$n")" || return 1
	done &&
	awk "\$5 == \"/\" {print \$6}" "/proc/$NK/mountinfo" | grep -q "^ro" &&
	! awk "{print \$5}" "/proc/$NK/mountinfo" | grep -qx /etc
'
test_expect_success NB_JAILED 'start said once what was not applied; status shows it' '
	test_is "$(printf "%s\n" "$err" | grep -c "jail: not applied")" 1 &&
	test_like "$err" "guest .nbj.: jail: not applied: a uid of its own \(it runs as its caller, uid 65534" &&
	run as_nobody "$UMLKIT" status nbj &&
	test_like "$out" "^  jail: not applied: a uid of its own" &&
	run as_nobody "$UMLKIT" status nbj --output=json &&
	test_is "$(json .jail)" true &&
	test_like "$(json .jail_not_applied)" "^a uid of its own"
'
test_expect_success NB_JAILED 'nobody stops its guest' '
	run as_nobody "$UMLKIT" stop nbj --timeout 60 &&
	test_is "$rc" 0 &&
	wait_gone "$NK" 10
'

# A host that refuses user namespaces, made for nobody alone: a user namespace of the test's
# (root's ids mapped as they are) with max_user_namespaces 0 in it.
nb_running() { [ "$(as_nobody "$UMLKIT" status "$1" --output=json | jq -r .state)" = running ]; }
test_lazy_prereq FAKE_BUILT '[ -x "$UK_BUILD/tests/helpers/fakeuml" ]'
# no_userns CMD...: CMD as nobody where a user namespace is refused; its status (1 when it
# could not be set up; CMD is ended after 60 s)
own_userns() { [ "$(readlink "/proc/$1/ns/user")" != "$(readlink /proc/self/ns/user)" ]; }
no_userns() {
	local go="$T/nb/go.$RANDOM" up rc=1
	mkfifo "$go" || return 1
	# once mapped, sh runs again: its capabilities in the namespace come with that exec
	unshare -U sh -c 'read x <"$1" && shift && exec sh -c "echo 0 \
		>/proc/sys/user/max_user_namespaces && exec \"\$@\"" sh "$@"' sh "$go" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env XDG_RUNTIME_DIR="$T/nb/run0" UMLKIT_XSTATE_SHIM=off "$@" &
	up=$!
	if until_true 10 own_userns "$up" &&
		echo "0 0 65536" >"/proc/$up/uid_map" && echo "0 0 65536" >"/proc/$up/gid_map" &&
		timeout 10 sh -c 'echo go >"$1"' sh "$go" && wait_gone "$up" 60; then
		wait "$up"
		rc=$?
	else
		kill -KILL "$up" 2>/dev/null
		wait "$up"
	fi
	rm -f "$go"
	return $rc
}
test_expect_success NOBODY,FAKE_BUILT 'no user namespace: the rest applied, and said' '
	stage_for_others &&
	mkdir -p "$T/nb/run0" && cp "$UK_BUILD/tests/helpers/fakeuml" "$T/nb/fakeuml" &&
	truncate -s 1M "$T/nb/f.img" && chown -R nobody:nogroup "$T/nb" &&
	no_userns "$UMLKIT" start --name f0 --kernel "$T/nb/fakeuml" --no-modules \
		--disk "$T/nb/f.img" --cpu-affinity none --ready=mconsole \
		--append fakeuml.term=ignore 2>"$T/nb/f0.err" &&
	cat "$T/nb/f0.err" &&
	test_is "$(grep -c "jail: not applied" "$T/nb/f0.err")" 1 &&
	grep -q "not applied: namespaces and a root of its own, so hostfs sees the host.s files (this host refuses a user namespace" "$T/nb/f0.err" &&
	NB_RUN=$T/nb/run0 &&
	until_true 30 nb_running f0 &&
	F=$(as_nobody "$UMLKIT" status f0 --output=json | jq -r .pid) &&
	UK_GROUPS+=("$F") &&
	test_is "$(field NoNewPrivs "$F")" 1 &&
	test_is "$(field CapEff "$F")" 0000000000000000 &&
	test_like "$(grep "^Max core file size" "/proc/$F/limits")" " 0 +0 " &&
	test_is "$(tr "\0" "\n" <"/proc/$F/environ" | sed "s/=.*//" | sort | tr "\n" " ")" "HOME PATH TMPDIR " &&
	test_is "$(readlink "/proc/$F/ns/mnt")" "$(readlink /proc/self/ns/mnt)" &&
	run as_nobody "$UMLKIT" kill f0 &&
	test_is "$rc" 0 &&
	wait_gone "$F" 10
'

test_done
