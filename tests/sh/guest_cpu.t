#!/bin/bash
# guest_cpu.t: where a guest's host processes run (--cpu-affinity), read from
# /proc/PID/status Cpus_allowed_list of its kernel and of every process in its group (the
# helpers the kernel makes inherit the kernel's set):
#  - auto (the default) pins each guest to one CPU: the first guest to the lowest allowed
#    CPU, the next one to another, the one the fewest running guests are pinned to (a
#    stopped guest counts for none);
#  - auto with guests started at once (2 a CPU, each its own `umlkit start`, three rounds):
#    each CPU gets 2 of them (the choice and its record are made under one lock);
#  - auto only picks CPUs umlkit may use (started under taskset);
#  - none leaves the kernel on every CPU umlkit may use; a LIST pins it to those CPUs;
#  - auto for a --user guest (its supervisor runs as the user) still sees the others;
#  - a LIST of CPUs umlkit may not use is refused, naming them; a bad value is a usage error.
# Run: UK_BUILD=$PWD/build tests/sh/guest_cpu.t [-v]
. "$(dirname "$0")/lib.sh"

[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
case "$T" in *,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac
test_lazy_prereq CPUS2 '[ "$(allowed_count)" -ge 2 ]'
test_lazy_prereq TASKSET 'command -v taskset'

export XDG_RUNTIME_DIR="$T/run" UMLKIT_CACHE_DIR="$T/cache"
mkdir -p "$XDG_RUNTIME_DIR"

# cpus_of PID: its Cpus_allowed_list
cpus_of() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status"; }
MINE=$(cpus_of $$)
# the CPUs this test may use, one a line
allowed() {
	local r lo hi
	for r in ${MINE//,/ }; do
		lo=${r%-*} hi=${r#*-}
		seq "$lo" "$hi"
	done
}
allowed_count() { allowed | wc -l; }
FIRST=$(allowed | head -n1)
SECOND=$(allowed | sed -n 2p)
kpid() { "$UMLKIT" status "$1" --output=json | jq -r .pid; }
# group_cpus NAME: the distinct CPU lists of every process in the guest kernel's group
group_cpus() {
	local p
	for p in $(pgrep -g "$(kpid "$1")"); do cpus_of "$p"; done | sort -u | tr '\n' ' '
}
# bb NAME [OPTIONS]: start a guest of the default image on its own COW, --wait
bb() {
	local n=$1
	shift
	"$UMLKIT" start --name "$n" --mem 64M --disk "$T/$n.cow,$T/bb.img" --wait --timeout 90 "$@"
}
# stop_rm NAME: stop a guest the test started and forget it
stop_rm() { "$UMLKIT" stop "$1" >/dev/null && untrack "$1" && "$UMLKIT" rm "$1" >/dev/null; }

test_expect_success UML 'setup: the default image' '
	"$UMLKIT" image build --size 48M "$T/bb.img" >/dev/null &&
	test_set_prereq IMAGE
'

test_expect_success IMAGE,CPUS2 'auto: the first guest is pinned to the lowest CPU, with its helpers' '
	run bb one &&
	test_is "$rc" 0 &&
	track one &&
	test_is "$(cpus_of "$(kpid one)")" "$FIRST" &&
	test_is "$(group_cpus one)" "$FIRST " &&
	test "$(pgrep -g "$(kpid one)" | wc -l)" -ge 2 &&
	test_set_prereq ONE
'

test_expect_success ONE 'auto: the next guest goes to the CPU no guest is pinned to' '
	run bb two &&
	test_is "$rc" 0 &&
	track two &&
	test_is "$(cpus_of "$(kpid two)")" "$SECOND" &&
	test_is "$(group_cpus two)" "$SECOND "
'

test_expect_success ONE 'auto: a stopped guest no longer counts' '
	stop_rm one &&
	run bb three &&
	test_is "$rc" 0 &&
	track three &&
	test_is "$(cpus_of "$(kpid three)")" "$FIRST" &&
	stop_rm three &&
	stop_rm two
'

# together NAME...: start these guests at once (each its own `umlkit start`), wait for all;
# each one's exit status in $T/NAME.rc
together() {
	local n
	for n in "$@"; do
		(bb "$n" >/dev/null 2>"$T/$n.err"; echo $? >"$T/$n.rc") &
	done
	wait
}
# cpu_counts NAME...: how many of these guests each allowed CPU has, "CPU:COUNT" blank-separated
cpu_counts() {
	local c n k
	for c in $(allowed); do
		k=0
		for n in "$@"; do [ "$(cpus_of "$(kpid "$n")")" = "$c" ] && k=$((k + 1)); done
		printf "%s:%s " "$c" "$k"
	done
}
# want_counts K: every allowed CPU with K guests
want_counts() {
	local c
	for c in $(allowed); do printf "%s:%s " "$c" "$1"; done
}

# round K: start 2 guests a CPU at once; each CPU must get 2 of them; stop and forget them
round() {
	local names n
	names=$(for c in $(allowed); do echo "r$1c$c-a r$1c$c-b"; done)
	together $names
	for n in $names; do
		track "$n"
		test_is "$(cat "$T/$n.rc")" 0 || { cat "$T/$n.err"; return 1; }
	done
	test_is "$(cpu_counts $names)" "$(want_counts 2)" || return 1
	for n in $names; do stop_rm "$n" || return 1; done
}

# Three rounds: on a placement that is not atomic, each lost the race more often than not.
test_expect_success IMAGE,CPUS2 'auto: guests started at once spread over the CPUs, 2 each' '
	round 1 && round 2 && round 3
'

test_expect_success IMAGE,CPUS2,TASKSET 'auto: only CPUs umlkit may use' '
	run taskset -c "$SECOND" "$UMLKIT" start --name four --mem 64M \
		--disk "$T/four.cow,$T/bb.img" --wait --timeout 90 &&
	test_is "$rc" 0 &&
	track four &&
	test_is "$(cpus_of "$(kpid four)")" "$SECOND" &&
	stop_rm four
'

test_expect_success IMAGE 'none: the kernel may run on every CPU umlkit may use' '
	run bb free --cpu-affinity none &&
	test_is "$rc" 0 &&
	track free &&
	test_is "$(cpus_of "$(kpid free)")" "$MINE" &&
	test_is "$(group_cpus free)" "$MINE " &&
	stop_rm free
'

test_expect_success IMAGE,CPUS2 'LIST: the kernel runs on those CPUs' '
	run bb listed --cpu-affinity "$SECOND" &&
	test_is "$rc" 0 &&
	track listed &&
	test_is "$(group_cpus listed)" "$SECOND " &&
	stop_rm listed
'

test_expect_success IMAGE,CPUS2,TASKSET 'LIST: CPUs umlkit may not use are refused' '
	run taskset -c "$FIRST" "$UMLKIT" start --name nope --mem 64M \
		--disk "$T/nope.cow,$T/bb.img" --wait --timeout 90 --cpu-affinity "$SECOND" &&
	test_is "$rc" 1 &&
	track nope &&
	test_like "$err" "--cpu-affinity $SECOND: none of these CPUs" &&
	test_unlike "$("$UMLKIT" list)" "nope"
'

# a --user guest's supervisor runs as the user (privilege separation): it chooses as root,
# before it drops, so it sees the other guests' records in root's state directory
test_expect_success IMAGE,CPUS2,NOBODY 'auto: a --user guest goes to the CPU no guest is pinned to' '
	stage_for_others &&
	chmod 0711 "$T" && mkdir -m 0777 "$T/u" &&
	run bb first &&
	test_is "$rc" 0 &&
	track first &&
	run "$UMLKIT" start --name usr --user 4711 --mem 64M --disk "$T/u/usr.cow,$T/bb.img" \
		--wait --timeout 90 &&
	test_is "$rc" 0 &&
	track usr &&
	test_is "$(cpus_of "$(kpid first)")" "$FIRST" &&
	test_is "$(cpus_of "$(kpid usr)")" "$SECOND" &&
	stop_rm usr &&
	stop_rm first
'

test_expect_success 'a bad --cpu-affinity is a usage error' '
	run "$UMLKIT" start --name bad --disk "$T/bad.img" --cpu-affinity 3-1 &&
	test_is "$rc" 2 &&
	test_like "$err" "--cpu-affinity 3-1: range 3-1 goes down" &&
	run "$UMLKIT" run --name bad --disk "$T/bad.img" --cpu-affinity some &&
	test_is "$rc" 2 &&
	test_like "$err" "--cpu-affinity some"
'

test_done
