#!/bin/bash
# mconsole.t: our uml_mconsole and `umlkit mconsole` against the real UML kernel, side by side
# with the old /usr/bin/uml_mconsole.
#
#  1. One guest boots with uml_dir=$T/.uml and HOME=$T, so both tools find its socket by the
#     old HOME-based lookup ($HOME/.uml/UMID/mconsole).
#  2. For version, help, config con0, config mem, config ubd0=x (-EBUSY: exit 240), a bad
#     command (ver), go (not stopped), mconsole-version, a piped interactive session and an
#     unknown umid, both tools give the same stdout and exit status (and the same lookup
#     warnings). sysrq m streams memory counters: the first line is compared. The old tool
#     hangs now and then on streamed replies (the kernel drops packets to an unconnected
#     client whose queue is full), so it is run, bounded, until it completes.
#  3. `umlkit mconsole` by socket path, by --uml-dir and by umid.
#  4. `halt` through ours ends the guest, which exits 0.
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/mconsole.t
# The old tool binds an unconnected socket, and the kernel drops reply packets to it once
# its queue holds net.unix.max_dgram_qlen (10) datagrams: streamed replies (sysrq m) then
# hang it about half the time. As root, run this test in a private network namespace
# whose queue limit is large enough, so the old tool can be compared at all.
if [ -z "${UK_MC_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	export UK_MC_NETNS=1
	exec unshare -n bash -c 'echo 1000 >/proc/sys/net/unix/max_dgram_qlen && exec "$0" "$@"' \
		"$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

OLD=/usr/bin/uml_mconsole
NEW=$UK_BUILD/uml_mconsole
[ -x "$UMLKIT" ] || skip_all "umlkit not built: $UMLKIT"
[ -x "$NEW" ] || skip_all "compatibility link not built: $NEW"
[ -n "$UML" ] && [ -x "$UML" ] || skip_all "no UML kernel (linux.uml)"
[ -x "$OLD" ] || skip_all "uml-utilities not installed ($OLD)"
case "$T" in *,* | *:*) skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac

U=mc$$ # umid: short, so the old tool's 11-byte prompt name holds it whole
SOCK=$T/.uml/$U/mconsole
[ ${#SOCK} -lt 108 ] || skip_all "socket path too long for AF_UNIX: $SOCK"

wait_for() { # wait_for SECONDS CMD... -> 0 once CMD succeeds
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
not_alive() { ! pid_alive "$1"; }

GPID=
_cleanup_guest() { # halt over mconsole first (SIGKILL alone orphans the kernel's helpers)
	if [ -n "$GPID" ] && pid_alive "$GPID"; then
		HOME=$T timeout 10 "$NEW" "$SOCK" halt >/dev/null 2>&1
		wait_for 20 not_alive "$GPID"
	fi
	_uk_cleanup
}
trap _cleanup_guest EXIT

# ------------------------------------------------------------------------- the guest
guest_image "$T/base.img" 32M || skip_all "scripts/mkimage failed (busybox-static and e2fsprogs needed)"
printf 'sleep 600\nexit 0\n' >"$T/script.sh"
truncate -s 4096 "$T/script.sh"
mkdir -p "$T/.uml"
LD_PRELOAD=$UML_PRELOAD setarch -R "$UML" mem=64M umid="$U" uml_dir="$T/.uml" ubd0="$T/g.cow,$T/base.img" ubdb="$T/script.sh" \
	root=/dev/ubda init=/init con=null con0=fd:0,fd:1 </dev/null >"$T/boot.log" 2>&1 &
GPID=$!
UK_PIDS+=("$GPID")

sock_up() { [ -S "$SOCK" ] || ! pid_alive "$GPID"; }
guest_up() { grep -q 'uk-guest: up' "$T/boot.log" || ! pid_alive "$GPID"; }
if ! wait_for 120 sock_up || ! [ -S "$SOCK" ] || ! wait_for 120 guest_up ||
	! pid_alive "$GPID"; then
	echo "1..1"
	echo "not ok 1 - guest $U came up with its mconsole socket at $SOCK"
	diag "$(tail -20 "$T/boot.log")"
	exit 1
fi
ok 0 "guest $U is up, mconsole at \$HOME/.uml/$U/mconsole"

# ------------------------------------------------------------- old and new, compared
# both TOOL ARGS... : run the old tool and ours with HOME=$T; $o_out $o_rc $n_out $n_rc
both() {
	o_out=$(HOME=$T timeout 30 "$OLD" "$@" 2>"$T/old.err")
	o_rc=$?
	n_out=$(HOME=$T timeout 30 "$NEW" "$@" 2>"$T/new.err")
	n_rc=$?
}
same() { # same NAME : stdout and exit status of the last `both` are equal
	is "$n_out" "$o_out" "$1: same output"
	is "$n_rc" "$o_rc" "$1: same exit status ($o_rc)"
}

both "$U" version
same "version"
like "$n_out" '^OK Linux uk-guest ' "version: OK Linux ..."
version_text=${n_out#OK }

both "$U" help
same "help"
like "$n_out" 'Additional local mconsole commands:' "help: local commands appended"

both "$U" config con0
same "config con0"
both "$U" config mem
same "config mem"

both "$U" ver
same "ver (unknown command)"
is "$n_out" "ERR Unknown command" "ver: ERR Unknown command"
is "$n_rc" 1 "ver: exit status 1"

both "$U" go
same "go when not stopped"
is "$n_out" "ERR Not stopped" "go: ERR Not stopped"

both "$U" config ubd0=x
same "config ubd0=x (device busy)"
is "$n_rc" 240 "config ubd0=x: exit status 240 (-EBUSY & 0xFF)"

both "$U" mconsole-version
same "mconsole-version"
is "$n_out" "uml_mconsole client version 2" "mconsole-version text"

# sysrq m: counters change between runs; the first line is stable
n_out=$(HOME=$T timeout 30 "$NEW" "$U" sysrq m 2>/dev/null)
n_rc=$?
for try in 1 2 3 4 5 6 7 8; do
	o_out=$(HOME=$T timeout 10 "$OLD" "$U" sysrq m 2>/dev/null)
	o_rc=$?
	[ "$o_rc" != 124 ] && break
	diag "old uml_mconsole hung on sysrq m (try $try), again"
done
is "$(head -1 <<<"$n_out")" "$(head -1 <<<"$o_out")" "sysrq m: same first line"
is "$n_rc" "$o_rc" "sysrq m: same exit status"
like "$(head -1 <<<"$n_out")" '^OK sysrq: Show Memory' "sysrq m: OK sysrq: Show Memory"

# interactive, commands piped in: the old readline echoed prompt and line
o_out=$(printf 'version\nmconsole-version\nver\n' | HOME=$T timeout 30 "$OLD" "$U" 2>/dev/null)
o_rc=$?
n_out=$(printf 'version\nmconsole-version\nver\n' | HOME=$T timeout 30 "$NEW" "$U" 2>/dev/null)
n_rc=$?
same "interactive session from a pipe"

both "no-such-umid-$U" version
same "unknown umid"
is "$n_rc" 1 "unknown umid: exit status 1"
is "$(grep '^Warning' "$T/new.err")" "$(grep '^Warning' "$T/old.err")" "unknown umid: same warnings"
is "$(grep -c '^Warning' "$T/new.err")" 3 "unknown umid: three lookup warnings"

# ------------------------------------------------------------------- umlkit mconsole
run "$UMLKIT" mconsole "$SOCK" version
is "$out" "$version_text" "umlkit mconsole SOCKET version: the kernel's text"
is "$rc" 0 "umlkit mconsole SOCKET version: exit 0"
run "$UMLKIT" mconsole --uml-dir "$T/.uml" "$U" version
is "$out" "$version_text" "umlkit mconsole --uml-dir DIR UMID version"
HOME=$T run "$UMLKIT" mconsole "$U" version
is "$out" "$version_text" "umlkit mconsole UMID version (\$HOME/.uml)"
run "$UMLKIT" mconsole "$SOCK" ver
is "$rc" 1 "umlkit mconsole ver: exit 1"
like "$err" 'Unknown command' "umlkit mconsole ver: the kernel's error on stderr"
is "$out" "" "umlkit mconsole ver: nothing on stdout"
run "$UMLKIT" mconsole "$T/nothing-here" version
is "$rc" 1 "umlkit mconsole on a missing socket: exit 1"
run "$UMLKIT" mconsole
is "$rc" 2 "umlkit mconsole without a name: usage error 2"

# ---------------------------------------------------------------------------- halt
HOME=$T run timeout 30 "$NEW" "$U" halt
is "$out" "OK " "halt: OK"
is "$rc" 0 "halt: exit 0"
if wait_for 60 not_alive "$GPID"; then
	wait "$GPID"
	is "$?" 0 "the guest exited 0 after halt"
else
	ok 1 "the guest exited within 60 s of halt"
fi
GPID=
done_testing
