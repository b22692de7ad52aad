#!/bin/bash
# The xstate shim (include/umlkit/xstate.h): Debian's 6.1 kernel saves a guest process's FPU
# state in 832 bytes, and a host with a larger XSAVE area (AVX-512, AMX) refuses to set it
# back, so the guest's init dies. xstate_probe does to a stopped child what the kernel does;
# the shim must complete the short set, keep the state the kernel never saw, and umlkit must
# preload it exactly where the host needs it. A real guest then boots through umlkit, with
# all of its mem= (no address randomization, so no gap before the kernel's heap eats it).
. "$(dirname "$0")/lib.sh"
PROBE="$UK_BUILD/tests/helpers/xstate_probe"
SHIM="$UK_BUILD/umlkit-xstate.so"
[ -f "$SHIM" ] || test_skip_all "the shim was not built (make)"
# an ASan-built probe accepts a preload placed before its runtime only when told to
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

# ---------------------------------------------------------------- the probe
test_expect_success 'the probe runs without the shim' '
	run "$PROBE" &&
	probe_out=$out &&
	test_is "$rc" 0 &&
	test_set_prereq PROBED
'
test_expect_success PROBED "the host's full XSAVE size is known ($(sed -n 's/^full //p' <<<"${probe_out:-}") bytes)" '
	full=$(sed -n "s/^full //p" <<<"$probe_out") &&
	echo "full XSAVE: $full bytes" &&
	test_like "$full" "^[0-9]+$" &&
	if [ "$full" -gt 832 ]; then needed=1; else needed=0; fi &&
	test_set_prereq FULL
'
# which of the two facts is asserted depends on the host: one point either way
test_expect_success FULL "without the shim this host $([ "${needed:-}" = 1 ] && echo "refuses the 6.1 kernel's set (EFAULT)" || echo "takes the 6.1 kernel's set")" '
	if [ "$needed" = 1 ]; then
		test_like "$probe_out" "short-set errno 14"
	else
		test_like "$probe_out" "short-set ok"
	fi
'

test_expect_success 'the probe runs with the shim' '
	LD_PRELOAD=$SHIM run "$PROBE" &&
	shim_out=$out &&
	test_is "$rc" 0 &&
	test_set_prereq SHIMMED
'
test_expect_success SHIMMED 'with the shim the short set works' '
	test_like "$shim_out" "short-set ok"
'
test_expect_success SHIMMED 'the value the short buffer held is what the process now has' '
	test_like "$shim_out" "xmm0 ok"
'
test_expect_success SHIMMED 'the state beyond the short buffer is kept as it was' '
	test_like "$shim_out" "upper kept"
'

# ---------------------------------------------------------------- umlkit preloads it where needed
# (run --dry-run says so on stderr)
test_expect_success 'setup: a guest image' '
	guest_image "$T/base.img" 32M &&
	test_set_prereq IMAGE
'
test_expect_success IMAGE 'dry run' '
	run "$UMLKIT" run --name xs --dry-run --disk "$T/g.cow,$T/base.img" &&
	dry_err=$err &&
	test_is "$rc" 0 &&
	test_set_prereq DRY
'
test_expect_success DRY,FULL "umlkit preloads $([ "${needed:-}" = 1 ] && echo "the shim" || echo nothing) on this host" '
	if [ "$needed" = 1 ]; then
		test_like "$dry_err" "LD_PRELOAD=.*umlkit-xstate.so"
	else
		test_unlike "$dry_err" "LD_PRELOAD"
	fi
'
test_expect_success IMAGE 'UMLKIT_XSTATE_SHIM=off preloads nothing' '
	UMLKIT_XSTATE_SHIM=off run "$UMLKIT" run --name xs --dry-run --disk "$T/g.cow,$T/base.img" &&
	test_unlike "$err" "LD_PRELOAD"
'
test_expect_success IMAGE 'a missing shim given in UMLKIT_XSTATE_SHIM is an error' '
	UMLKIT_XSTATE_SHIM=$T/none.so run "$UMLKIT" run --name xs --dry-run --disk "$T/g.cow,$T/base.img" &&
	missing_err=$err &&
	echo "exit $rc" &&
	test "$rc" -ne 0 && test "$rc" -lt 126
'
test_expect_success IMAGE 'the error names the file and where it came from' '
	test_like "$missing_err" "none.so.*UMLKIT_XSTATE_SHIM"
'
test_expect_success IMAGE 'dry runs create no COW' '
	test_path_is_missing "$T/g.cow"
'

# ---------------------------------------------------------------- a real guest
# started by umlkit, it runs its init and scripts (they die at once without the shim)
test_expect_success UML,IMAGE 'the guest ran and powered off' '
	export XDG_RUNTIME_DIR="$T/run" &&
	mkdir -p "$XDG_RUNTIME_DIR" &&
	printf "#!/bin/sh\necho \"xstate: \$((6 * 7))\"\nexit 0\n" >"$T/s.sh" &&
	truncate -s 4096 "$T/s.sh" &&
	run timeout -k 5 "${UK_BOOT_TIMEOUT:-120}" "$UMLKIT" run --name xs --mem 64M \
		--disk "$T/g2.cow,$T/base.img" --disk "ubdb=$T/s.sh" --kernel "$UML" --append init=/init &&
	guest_out=$out &&
	{ test_is "$rc" 0 || { echo "umlkit run said: $err"; tail -n 20 <<<"$out"; false; }; } &&
	test_set_prereq RAN
'
test_expect_success RAN 'its shell computed and printed' '
	test_like "$guest_out" "xstate: 42"
'
test_expect_success RAN 'no FPU state was refused' '
	test_unlike "$guest_out" "ptrace set fp regs failed"
'
test_expect_success RAN "no gap before the kernel's heap was counted as memory" '
	test_unlike "$guest_out" "exec-shield gap"
'
test_expect_success RAN "the guest's memory is the 64 MiB asked for" '
	test_like "$guest_out" "Memory: [0-9]+K/65536K available"
'
test_done
