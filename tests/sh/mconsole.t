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
#     client whose queue is full), so it is run, bounded, until it completes. What our tool
#     alone must print is checked without the old one too (OLD_MCONSOLE is only for the
#     comparisons).
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
test_need_guests
[ -x "$NEW" ] || test_skip_all "compatibility link not built: $NEW"
test_lazy_prereq OLD_MCONSOLE '[ -x "$OLD" ]' # uml-utilities

U=mc$$ # umid: short, so the old tool's 11-byte prompt name holds it whole
SOCK=$T/.uml/$U/mconsole
[ ${#SOCK} -lt 108 ] || test_skip_all "socket path too long for AF_UNIX: $SOCK"

not_alive() { ! pid_alive "$1"; }

GPID=
_cleanup_guest() { # halt over mconsole first (SIGKILL alone orphans the kernel's helpers)
	if [ -n "$GPID" ] && pid_alive "$GPID"; then
		HOME=$T timeout 10 "$NEW" "$SOCK" halt >/dev/null 2>&1
		until_true 20 not_alive "$GPID"
	fi
	_uk_cleanup
}
trap _cleanup_guest EXIT

# ------------------------------------------------------------------------- the guest
sock_up() { [ -S "$SOCK" ] || ! pid_alive "$GPID"; }
guest_up() { grep -q 'uk-guest: up' "$T/boot.log" || ! pid_alive "$GPID"; }
test_expect_success "guest $U is up, mconsole at \$HOME/.uml/$U/mconsole" '
	guest_image "$T/base.img" 32M &&
	printf "sleep 600\nexit 0\n" >"$T/script.sh" &&
	truncate -s 4096 "$T/script.sh" &&
	mkdir -p "$T/.uml" &&
	{
		LD_PRELOAD=$UML_PRELOAD setarch -R "$UML" mem=64M umid="$U" uml_dir="$T/.uml" \
			ubd0="$T/g.cow,$T/base.img" ubdb="$T/script.sh" root=/dev/ubda init=/init \
			con=null con0=fd:0,fd:1 </dev/null >"$T/boot.log" 2>&1 &
		GPID=$!
		UK_PIDS+=("$GPID")
	} &&
	{
		until_true 120 sock_up && test -S "$SOCK" && until_true 120 guest_up &&
			pid_alive "$GPID" || { tail -20 "$T/boot.log"; false; }
	} &&
	test_set_prereq GUEST
'

# ------------------------------------------------------------- old and new, compared
# ours ARGS... : our tool with HOME=$T; $n_out $n_rc, its stderr in $T/new.err
ours() {
	n_out=$(HOME=$T timeout 30 "$NEW" "$@" 2>"$T/new.err")
	n_rc=$?
}
# both ARGS... : the old tool and ours with HOME=$T; $o_out $o_rc $n_out $n_rc
both() {
	o_out=$(HOME=$T timeout 30 "$OLD" "$@" 2>"$T/old.err")
	o_rc=$?
	ours "$@"
}
# compare NAME ARGS... : two points: the old tool and ours give the same stdout, and the same
# exit status
compare() {
	cmp_name=$1
	shift
	cmp_args=("$@")
	o_rc=
	test_expect_success GUEST,OLD_MCONSOLE "$cmp_name: same output" '
		both "${cmp_args[@]}" &&
		test_is "$n_out" "$o_out"
	'
	test_expect_success GUEST,OLD_MCONSOLE "$cmp_name: same exit status (${o_rc:-?})" '
		test_is "$n_rc" "$o_rc"
	'
}

compare "version" "$U" version
test_expect_success GUEST 'version: OK Linux ...' '
	ours "$U" version &&
	test_like "$n_out" "^OK Linux uk-guest " &&
	version_text=${n_out#OK } &&
	test_set_prereq VERSION
'

compare "help" "$U" help
test_expect_success GUEST 'help: local commands appended' '
	ours "$U" help &&
	test_like "$n_out" "Additional local mconsole commands:"
'

compare "config con0" "$U" config con0
compare "config mem" "$U" config mem

compare "ver (unknown command)" "$U" ver
test_expect_success GUEST 'ver: ERR Unknown command' '
	ours "$U" ver &&
	test_is "$n_out" "ERR Unknown command"
'
test_expect_success GUEST 'ver: exit status 1' '
	test_is "$n_rc" 1
'

compare "go when not stopped" "$U" go
test_expect_success GUEST 'go: ERR Not stopped' '
	ours "$U" go &&
	test_is "$n_out" "ERR Not stopped"
'

compare "config ubd0=x (device busy)" "$U" config ubd0=x
test_expect_success GUEST 'config ubd0=x: exit status 240 (-EBUSY & 0xFF)' '
	ours "$U" config ubd0=x &&
	test_is "$n_rc" 240
'

compare "mconsole-version" "$U" mconsole-version
test_expect_success GUEST 'mconsole-version text' '
	ours "$U" mconsole-version &&
	test_is "$n_out" "uml_mconsole client version 2"
'

# sysrq m: counters change between runs; the first line is stable. The old tool hangs now
# and then on it: up to 8 tries of 10 s.
old_sysrq_m() {
	local try
	for try in 1 2 3 4 5 6 7 8; do
		o_out=$(HOME=$T timeout 10 "$OLD" "$U" sysrq m 2>/dev/null)
		o_rc=$?
		[ "$o_rc" != 124 ] && return 0
		echo "old uml_mconsole hung on sysrq m (try $try), again"
	done
}
test_expect_success GUEST,OLD_MCONSOLE 'sysrq m: same first line' '
	ours "$U" sysrq m &&
	old_sysrq_m &&
	test_is "$(head -1 <<<"$n_out")" "$(head -1 <<<"$o_out")"
'
test_expect_success GUEST,OLD_MCONSOLE 'sysrq m: same exit status' '
	test_is "$n_rc" "$o_rc"
'
test_expect_success GUEST 'sysrq m: OK sysrq: Show Memory' '
	ours "$U" sysrq m &&
	test_like "$(head -1 <<<"$n_out")" "^OK sysrq: Show Memory"
'

# interactive, commands piped in: the old readline echoed prompt and line
test_expect_success GUEST,OLD_MCONSOLE 'interactive session from a pipe: same output' '
	o_out=$(printf "version\nmconsole-version\nver\n" | HOME=$T timeout 30 "$OLD" "$U" 2>/dev/null)
	o_rc=$?
	n_out=$(printf "version\nmconsole-version\nver\n" | HOME=$T timeout 30 "$NEW" "$U" 2>/dev/null)
	n_rc=$?
	test_is "$n_out" "$o_out"
'
test_expect_success GUEST,OLD_MCONSOLE "interactive session from a pipe: same exit status (${o_rc:-?})" '
	test_is "$n_rc" "$o_rc"
'

compare "unknown umid" "no-such-umid-$U" version
test_expect_success GUEST 'unknown umid: exit status 1' '
	ours "no-such-umid-$U" version
	test_is "$n_rc" 1
'
test_expect_success GUEST,OLD_MCONSOLE 'unknown umid: same warnings' '
	both "no-such-umid-$U" version
	test_is "$(grep "^Warning" "$T/new.err")" "$(grep "^Warning" "$T/old.err")"
'
test_expect_success GUEST 'unknown umid: three lookup warnings' '
	ours "no-such-umid-$U" version
	test_is "$(grep -c "^Warning" "$T/new.err")" 3
'

# ------------------------------------------------------------------- umlkit mconsole
test_expect_success GUEST,VERSION "umlkit mconsole SOCKET version: the kernel's text" '
	run "$UMLKIT" mconsole "$SOCK" version &&
	test_is "$out" "$version_text"
'
test_expect_success GUEST,VERSION 'umlkit mconsole SOCKET version: exit 0' '
	test_is "$rc" 0
'
test_expect_success GUEST,VERSION 'umlkit mconsole --uml-dir DIR UMID version' '
	run "$UMLKIT" mconsole --uml-dir "$T/.uml" "$U" version &&
	test_is "$out" "$version_text"
'
test_expect_success GUEST,VERSION 'umlkit mconsole UMID version ($HOME/.uml)' '
	HOME=$T run "$UMLKIT" mconsole "$U" version &&
	test_is "$out" "$version_text"
'
test_expect_success GUEST 'umlkit mconsole ver: exit 1' '
	run "$UMLKIT" mconsole "$SOCK" ver &&
	test_is "$rc" 1
'
test_expect_success GUEST "umlkit mconsole ver: the kernel's error on stderr" '
	test_like "$err" "Unknown command"
'
test_expect_success GUEST 'umlkit mconsole ver: nothing on stdout' '
	test_is "$out" ""
'
test_expect_success 'umlkit mconsole on a missing socket: exit 1' '
	run "$UMLKIT" mconsole "$T/nothing-here" version &&
	test_is "$rc" 1
'
test_expect_success 'umlkit mconsole without a name: usage error 2' '
	run "$UMLKIT" mconsole &&
	test_is "$rc" 2
'

# ---------------------------------------------------------------------------- halt
test_expect_success GUEST 'halt: OK' '
	HOME=$T run timeout 30 "$NEW" "$U" halt &&
	test_is "$out" "OK "
'
test_expect_success GUEST 'halt: exit 0' '
	test_is "$rc" 0
'
test_expect_success GUEST 'the guest exited 0 after halt' '
	until_true 60 not_alive "$GPID" &&
	{ wait "$GPID"; test_is "$?" 0; } &&
	forget_pid "$GPID" &&
	GPID=
'
test_done
