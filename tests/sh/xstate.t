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
[ -f "$SHIM" ] || skip_all "the shim was not built (make)"
# an ASan-built probe accepts a preload placed before its runtime only when told to
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

run "$PROBE"
is "$rc" 0 "the probe runs without the shim"
full=$(sed -n 's/^full //p' <<<"$out")
like "$full" '^[0-9]+$' "the host's full XSAVE size is known ($full bytes)"
if [ "${full:-0}" -gt 832 ]; then
	like "$out" 'short-set errno 14' "without the shim this host refuses the 6.1 kernel's set (EFAULT)"
	needed=1
else
	like "$out" 'short-set ok' "without the shim this host takes the 6.1 kernel's set"
	needed=0
fi

LD_PRELOAD=$SHIM run "$PROBE"
is "$rc" 0 "the probe runs with the shim"
like "$out" 'short-set ok' "with the shim the short set works"
like "$out" 'xmm0 ok' "the value the short buffer held is what the process now has"
like "$out" 'upper kept' "the state beyond the short buffer is kept as it was"

# umlkit preloads it exactly where the host needs it (run --dry-run says so on stderr)
guest_image "$T/base.img" 32M
run "$UMLKIT" run --name xs --dry-run --disk "$T/g.cow,$T/base.img"
is "$rc" 0 "dry run"
if [ "$needed" = 1 ]; then
	like "$err" "LD_PRELOAD=.*umlkit-xstate.so" "umlkit preloads the shim on this host"
else
	unlike "$err" "LD_PRELOAD" "umlkit preloads nothing on this host"
fi
UMLKIT_XSTATE_SHIM=off run "$UMLKIT" run --name xs --dry-run --disk "$T/g.cow,$T/base.img"
unlike "$err" "LD_PRELOAD" "UMLKIT_XSTATE_SHIM=off preloads nothing"
UMLKIT_XSTATE_SHIM=$T/none.so run "$UMLKIT" run --name xs --dry-run --disk "$T/g.cow,$T/base.img"
ok "$([ "$rc" -ne 0 ] && [ "$rc" -lt 126 ]; echo $?)" "a missing shim given in UMLKIT_XSTATE_SHIM is an error ($rc)"
like "$err" "none.so.*UMLKIT_XSTATE_SHIM" "the error names the file and where it came from"
check "dry runs create no COW" -- test ! -e "$T/g.cow"

# a real guest, started by umlkit, runs its init and scripts (they die at once without it)
[ -n "$UML" ] || skip "no UML kernel" 5
if [ -n "$UML" ]; then
	export XDG_RUNTIME_DIR="$T/run"
	mkdir -p "$XDG_RUNTIME_DIR"
	printf '#!/bin/sh\necho "xstate: $((6 * 7))"\nexit 0\n' >"$T/s.sh"
	truncate -s 4096 "$T/s.sh"
	run "$UMLKIT" run --name xs --mem 64M --disk "$T/g2.cow,$T/base.img" --disk "ubdb=$T/s.sh" \
		--kernel "$UML" --append init=/init </dev/null
	is "$rc" 0 "the guest ran and powered off"
	[ "$rc" = 0 ] || diag "umlkit run said: $err" "the guest said: $(tail -n 20 <<<"$out")"
	like "$out" "xstate: 42" "its shell computed and printed"
	unlike "$out" "ptrace set fp regs failed" "no FPU state was refused"
	unlike "$out" "exec-shield gap" "no gap before the kernel's heap was counted as memory"
	like "$out" "Memory: [0-9]+K/65536K available" "the guest's memory is the 64 MiB asked for"
fi
done_testing
