#!/bin/bash
# lab_examples.t: the example labs of examples/ (static-routing, dns, ospf) run on the lab
# image (umlkit image build --profile lab, cached in the test cache) and the real kernel:
# each starts (every startup script done), passes its own lab.check (retried, bounded, while
# routing converges and the servers come up), stops, and `lab clean` leaves its directory as
# it was. Run it under the network tests' lock:
#   flock /tmp/umlkit-nettests.lock tests/sh/lab_examples.t [-v]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian-lib.sh"

test_need_guests
debian_setup
EXAMPLES=$(cd "$(dirname "$0")/../../examples" && pwd)
LABS="static-routing dns ospf"

# listing DIR: every path with its type, size and checksum
listing() {
	(cd "$1" && find . -printf '%y %s %p\n' | sort && find . -type f -exec sha256sum {} + | sort)
}
stop_all() {
	local l
	for l in $LABS; do
		[ -d "$T/$l" ] && timeout 120 "$UMLKIT" lab crash "$T/$l" >/dev/null 2>&1
	done
	_uk_cleanup
}
trap stop_all EXIT
# checks_pass DIR SECONDS: its lab.check passes within SECONDS of wall time, tried again
# every 2 s (each run takes seconds: a failed ping waits 2 s); the last output in $T/check.out
checks_pass() {
	local end=$((SECONDS + $2))
	while [ "$SECONDS" -lt "$end" ]; do
		timeout 120 "$UMLKIT" lab check "$1" >"$T/check.out" 2>&1 && return 0
		sleep 2
	done
	cat "$T/check.out"
	return 1
}

test_expect_success MIRROR,MMDEBSTRAP,AGENT_BUILT 'setup: the lab image (cached)' '
	run "$UMLKIT" image build --profile lab -q &&
	test_is "$rc" 0 &&
	export UMLKIT_LAB_IMAGE="$out" &&
	test_path_is_file "$UMLKIT_LAB_IMAGE" &&
	test_set_prereq LABIMG
'

for lab in $LABS; do
	test_expect_success LABIMG "$lab: starts, passes its checks, stops, cleans to as it was" '
		cp -a "$EXAMPLES/$lab" "$T/$lab" &&
		listing "$T/$lab" >"$T/$lab.before" &&
		run timeout 900 "$UMLKIT" lab start "$T/$lab" &&
		test_is "$rc" 0 &&
		test_unlike "$out" "failed" &&
		checks_pass "$T/$lab" 180 &&
		test_like "$(tail -n 1 "$T/check.out")" "^[1-9][0-9]* passed, 0 failed$" &&
		test_unlike "$(cat "$T/check.out")" "^FAIL" &&
		run timeout 300 "$UMLKIT" lab stop "$T/$lab" &&
		test_is "$rc" 0 &&
		run "$UMLKIT" lab list &&
		test_unlike "$out" "$T/$lab" &&
		run timeout 300 "$UMLKIT" lab clean "$T/$lab" &&
		test_is "$rc" 0 &&
		listing "$T/$lab" >"$T/$lab.after" &&
		test_cmp "$T/$lab.before" "$T/$lab.after"
	'
done

test_done
