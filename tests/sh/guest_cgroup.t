#!/bin/bash
# guest_cgroup.t: a guest's cgroup (lib/guest/cgroup.c), read from the host:
#  - every process of the kernel's group is in the guest's cgroup, below the cgroup this test
#    (and so umlkit) runs in, on each controller's hierarchy (v1) or the unified one (v2);
#  - the limit files hold what status reports: --mem plus the kernel's overhead, --pids-max,
#    --cpus as a CFS quota;
#  - a fork bomb inside the guest hits pids.max: the host processes stay within it, the guest
#    runs on and stops; the cgroup is gone once the guest has stopped;
#  - a guest whose --mem-limit is hit (a tmpfs file inside it larger than the limit: its
#    memory file's pages are charged to the cgroup) is reported as killed by the host's OOM
#    killer, with its limit;
#  - an ordinary user (no write access to its cgroup) gets no cgroup, said once at start and
#    by status, and the guest runs.
# Run: make && tests/sh/guest_cgroup.t [-v]  (as root; guests boot: use the nettests lock)
. "$(dirname "$0")/lib.sh"

test_need_guests
test_lazy_prereq CGROUP_WRITABLE '[ -n "$(cg_mount memory)" ] && [ -w "$(cg_mount memory)$(cg_path $$ memory)" ]'

export XDG_RUNTIME_DIR="$T/run" UMLKIT_CACHE_DIR="$T/cache"
mkdir -p "$XDG_RUNTIME_DIR"
PATH=$PATH:/usr/sbin:/sbin

guest_exec() { timeout 60 "$UMLKIT" exec "$@"; }
kpid() { "$UMLKIT" status "$1" --output=json | jq -r .pid; }
# cg_path PID CTRL: PID's cgroup on CTRL's v1 hierarchy, else on the unified one
cg_path() {
	local l
	l=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup") ||
		l=$(grep "^0::" "/proc/$1/cgroup") || return 1
	printf '%s\n' "${l#*:*:}"
}
# cg_mount CTRL: where CTRL's v1 hierarchy is mounted, else the unified one (their roots
# are taken to be the hierarchies' own, as on the hosts umlkit is tested on)
cg_mount() {
	local m
	m=$(awk -v c="$1" '$3 == "cgroup" && ("," $4 ",") ~ ("," c ",") {print $2; exit}' /proc/mounts)
	[ -n "$m" ] || m=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
	printf '%s\n' "$m"
}
# cg_dir PID CTRL: the directory of PID's cgroup of CTRL
cg_dir() { printf '%s%s\n' "$(cg_mount "$2")" "$(cg_path "$1" "$2")"; }
is_v2() { [ -e "$(cg_mount "$1")/cgroup.controllers" ]; }
# below OWN CG: CG is a cgroup made directly below OWN, named umlkit-NAME.PID
below() {
	local own=${1%/}
	case $2 in "$own/umlkit-$3."[0-9]*) ;; *) echo "$2 is not below $own" >&2; return 1 ;; esac
	case ${2#"$own/"} in */*) return 1 ;; esac
}
# bb NAME OPTIONS...: a guest of the agent image, ready when its agent says hello
bb() {
	local n=$1
	shift
	"$UMLKIT" start --name "$n" --disk "$T/$n.cow,$T/agent.img" --ready=agent --wait \
		--timeout 120 "$@"
}

test_expect_success AGENT_BUILT,BUSYBOX,DEBUGFS 'setup: an image with the agent' '
	"$UMLKIT" image build --size 128M "$T/agent.img" >/dev/null &&
	test_set_prereq IMAGE
'

test_expect_success IMAGE,ROOT,CGROUP_WRITABLE 'setup: a guest with --pids-max 64 and --cpus 0.5' '
	run bb cg --mem 128M --pids-max 64 --cpus 0.5 &&
	track cg &&
	test_is "$rc" 0 &&
	test_is "$err" "" &&
	K=$(kpid cg) &&
	S=$("$UMLKIT" status cg --output=json | jq -r .supervisor_pid) &&
	test -d "/proc/$K" &&
	test_set_prereq CG
'

test_expect_success CG 'each of its processes is in its cgroup, below umlkit'"'"'s own' '
	pgrep -g "$K" >"$T/procs" &&
	test "$(wc -l <"$T/procs")" -ge 2 &&
	for c in memory pids cpu; do
		own=$(cg_path $$ $c) &&
		test_is "$(cg_path "$S" $c)" "$own" &&
		while read -r p; do
			below "$own" "$(cg_path "$p" $c)" cg || return 1
		done <"$T/procs" || return 1
	done &&
	run "$UMLKIT" status cg --output=json &&
	test_is "$(json .cgroup.path)" "$(cg_dir "$K" memory)" &&
	test_is "$(json .cgroup.note)" ""
'

test_expect_success CG 'the limit files hold its limits' '
	run "$UMLKIT" status cg --output=json &&
	test_is "$(json .cgroup.memory_limit)" $(((128 + 16) * 1048576 + 64 * 131072)) &&
	test_is "$(json .cgroup.pids_max)" 64 &&
	test_is "$(json .cgroup.cpus)" 0.5 &&
	M=$(cg_dir "$K" memory) P=$(cg_dir "$K" pids) C=$(cg_dir "$K" cpu) &&
	if is_v2 memory; then
		test_is "$(cat "$M/memory.max")" "$(json .cgroup.memory_limit)"
	else
		test_is "$(cat "$M/memory.limit_in_bytes")" "$(json .cgroup.memory_limit)"
	fi &&
	test_is "$(cat "$P/pids.max")" 64 &&
	if is_v2 cpu; then
		test_is "$(cat "$C/cpu.max")" "50000 100000"
	else
		test_is "$(cat "$C/cpu.cfs_quota_us") $(cat "$C/cpu.cfs_period_us")" "50000 100000"
	fi &&
	run "$UMLKIT" status cg &&
	test_like "$out" "^  cgroup $M: memory limit 152 MiB, pids max 64, cpus 0.50$"
'

test_expect_success CG 'a fork bomb inside hits pids.max; the host processes stay within it' '
	guest_exec cg sh -c "(f() { f | f & }; f) >/dev/null 2>&1 </dev/null &" &&
	{ until_true 60 grep -Eq "^max [1-9]" "$P/pids.events" 2>/dev/null ||
		until_true 60 sh -c "test \$(cat \"$P/pids.current\") -ge 60"; } &&
	for i in 1 2 3 4 5; do
		test "$(cat "$P/pids.current")" -le 64 &&
		test "$(pgrep -g "$K" | wc -l)" -le 64 || return 1
		sleep 1
	done &&
	run "$UMLKIT" status cg --output=json &&
	test_is "$(json .state)" running &&
	test -n "$(json .pid)"
'

test_expect_success CG 'stop: the guest stops; its cgroup is gone' '
	run "$UMLKIT" stop cg --timeout 60 &&
	test_is "$rc" 0 &&
	untrack cg &&
	test_path_is_missing "$M" &&
	test_path_is_missing "$P" &&
	test_path_is_missing "$C" &&
	test_path_is_missing "$XDG_RUNTIME_DIR/umlkit/guests/cg/cgroup"
'

test_expect_success IMAGE,ROOT,CGROUP_WRITABLE 'a guest over its --mem-limit: killed by the host'"'"'s OOM killer, said by status' '
	run bb oom --mem 128M --mem-limit 64M &&
	track oom &&
	test_is "$rc" 0 &&
	M=$(cg_dir "$(kpid oom)" memory) &&
	test -d "$M" &&
	{ guest_exec oom sh -c "mount -t tmpfs -o size=120M none /mnt &&
		dd if=/dev/zero of=/mnt/fill bs=1M count=110" || :; } &&
	until_true 60 sh -c "\"$UMLKIT\" status oom | grep -q ^oom:\ exited" &&
	untrack_if_gone oom &&
	run "$UMLKIT" status oom &&
	test_like "$out" "^oom: exited: killed by the host.s OOM killer \(memory limit 64 MiB\)$" &&
	run "$UMLKIT" status oom --output=json &&
	test_is "$(json .cgroup.oom_killed)" true &&
	test "$(json .cgroup.oom_kills)" -ge 1 &&
	test_is "$(json .exit_signal)" 9 &&
	run "$UMLKIT" list --output=json &&
	test_is "$(json ".[] | select(.name == \"oom\") | .cgroup.oom_killed")" true &&
	until_true 10 test ! -d "$M"
'

test_expect_success IMAGE,NOBODY 'nobody: no cgroup, said once at start and by status; the guest runs' '
	stage_for_others &&
	mkdir -p "$T/nb/run" && chown -R nobody "$T/nb" && chmod 0700 "$T/nb/run" &&
	cp "$T/agent.img" "$T/nb/agent.img" && chown nobody "$T/nb/agent.img" &&
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env \
		XDG_RUNTIME_DIR="$T/nb/run" HOME="$T/nb" UMLKIT_CACHE_DIR="$T/nb/cache" "$@"; } &&
	test_when_finished "as_nobody \"$UMLKIT\" kill nb >/dev/null 2>&1" &&
	run as_nobody "$UMLKIT" start --name nb --mem 64M --disk "$T/nb/nb.cow,$T/nb/agent.img" \
		--ready=agent --wait --timeout 120 &&
	test_is "$rc" 0 &&
	test_is "$(printf "%s\n" "$err" | grep -c "cgroup: not applied")" 1 &&
	test_like "$err" "^umlkit: guest .nb.: cgroup: not applied: memory \(no write access\)" &&
	run as_nobody "$UMLKIT" status nb &&
	test_like "$out" "^nb: running" &&
	test_like "$out" "^  cgroup: not applied: memory \(no write access\)" &&
	run as_nobody "$UMLKIT" status nb --output=json &&
	test_is "$(json .cgroup.path)" null &&
	N=$(json .pid) &&
	test_is "$(cg_path "$N" memory)" "$(cg_path $$ memory)" &&
	run as_nobody "$UMLKIT" stop nb --timeout 60 &&
	test_is "$rc" 0
'

test_done
