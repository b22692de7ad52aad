#!/bin/bash
# guest_trim.t: `umlkit trim` with the real kernel, on an image made by `umlkit image build`.
#  - a guest touches 48 MiB (dd's buffer) and frees it: its kernel's host RSS keeps the pages;
#    trim gives at least 32 MiB of them back (the kernel's RSS drops), the guest keeps its MemTotal and can use the
#    same 48 MiB again;
#  - a file the guest wrote stays in its page cache through a plain trim; --drop-caches drops
#    it and gives more back;
#  - a second trim right after gives back little and breaks nothing;
#  - refusals: a stopped guest and an unknown name exit 1 naming the guest, no name exits 2.
# Run: UK_BUILD=$PWD/build prove -v tests/sh/guest_trim.t
. "$(dirname "$0")/lib.sh"

test_need_guests
export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"

guest_exec() { timeout 60 "$UMLKIT" exec "$@"; }
# rss NAME: the host RSS of the guest's kernel process in KiB
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$("$UMLKIT" status "$1" --output=json | jq -r .pid)/status"; }
# meminfo NAME FIELD: the guest's /proc/meminfo FIELD in KiB
meminfo() { guest_exec "$1" cat /proc/meminfo | awk -v f="$2:" '$1 == f { print $2 }'; }
# host OUTPUT: the drop of the kernel's host RSS trim's line reports, in whole MiB
host() {
	sed -n 's/.*host RSS \([0-9]*\)\.[0-9] -> \([0-9]*\)\.[0-9] MiB$/\1 \2/p' <<<"$1" |
		awk '{ print $1 - $2 }'
}

test_expect_success UML,AGENT_BUILT,BUSYBOX 'setup: a guest with 128M, ready at its agent' '
	"$UMLKIT" image build --size 64M "$T/bb.img" >/dev/null &&
	run "$UMLKIT" start --name tg --mem 128M --disk "$T/tg.cow,$T/bb.img" --ready=agent \
		--wait --timeout 120 &&
	track tg &&
	test_is "$rc" 0 &&
	test_set_prereq TG
'

test_expect_success TG 'trim: 48 MiB touched and freed in the guest go back to the host' '
	total0=$(meminfo tg MemTotal) &&
	guest_exec tg dd if=/dev/zero of=/dev/null bs=48M count=1 2>/dev/null &&
	before=$(rss tg) &&
	run "$UMLKIT" trim tg &&
	test_is "$rc" 0 &&
	test_like "$out" "^tg: [0-9.]* MiB free, [0-9.]* MiB of it released; kernel.s host RSS [0-9.]* -> [0-9.]* MiB$" &&
	after=$(rss tg) &&
	echo "# kernel RSS $before -> $after KiB" &&
	test "$((before - after))" -ge $((32 * 1024)) &&
	test "$(host "$out")" -ge 32 &&
	test_is "$(meminfo tg MemTotal)" "$total0"
'

test_expect_success TG 'trim: the guest uses the memory again, and a second trim is harmless' '
	guest_exec tg dd if=/dev/zero of=/dev/null bs=48M count=1 2>/dev/null &&
	again=$(rss tg) &&
	echo "# kernel RSS after the guest used it again: $again KiB" &&
	test "$((again - after))" -ge $((32 * 1024)) &&
	run "$UMLKIT" trim tg &&
	test_is "$rc" 0 &&
	run "$UMLKIT" trim tg &&
	test_is "$rc" 0 &&
	echo "# second trim: $out" &&
	test "$(host "$out")" -le 8 &&
	run guest_exec tg echo alive &&
	test_is "$out" alive
'

test_expect_success TG 'trim --drop-caches: a file in the page cache is dropped too' '
	guest_exec tg sh -c "dd if=/dev/zero of=/root/f bs=1M count=24 2>/dev/null && sync" &&
	cached0=$(meminfo tg Cached) &&
	run "$UMLKIT" trim tg &&
	test_is "$rc" 0 &&
	cached1=$(meminfo tg Cached) &&
	test "$((cached0 - cached1))" -lt $((8 * 1024)) &&
	run "$UMLKIT" trim --drop-caches tg &&
	test_is "$rc" 0 &&
	test "$(host "$out")" -ge 20 &&
	test "$((cached1 - $(meminfo tg Cached)))" -ge $((20 * 1024)) &&
	run guest_exec tg cmp /root/f /dev/zero &&
	test_like "$err" "EOF on /root/f"
'

test_expect_success TG 'refusals: a stopped guest and an unknown name exit 1, no name 2' '
	"$UMLKIT" stop tg --timeout 30 &&
	run "$UMLKIT" trim tg &&
	test_is "$rc" 1 &&
	test_like "$err" "tg: not running \(stopped\)" &&
	run "$UMLKIT" trim nosuch$$ &&
	test_is "$rc" 1 &&
	test_like "$err" "nosuch$$" &&
	test_expect_code 2 "$UMLKIT" trim &&
	test_expect_code 2 "$UMLKIT" trim --bogus tg
'

test_done
