#!/bin/bash
# kernel.t: today's UML kernel from Debian's archive beside the host's 6.1.
#
#  - `umlkit kernel fetch sid` (into the test cache, $UMLKIT_TEST_CACHE, kept between runs):
#    the kernel runs here, a second fetch reuses it, `kernel list` shows it and the host's
#    with their releases and seccomp modes; trixie's is fetched the same way.
#  - A guest on the fetched kernel on a NAT switch, reached from the host through a forward
#    by name, and one on a bess port of a NAT switch, reached through a forward to its lease; `--seccomp on` reported by the guest's kernel (its boot line, its processes
#    under a seccomp filter on the host) and `--seccomp off` not; `--seccomp on` refused for
#    6.1 with a clear message, leaving no guest behind.
#  - A COW written by the new kernel, merged by umlkit: the guest's file in the output, the
#    same bytes as the old uml_moo's merge.
#  - Bad input: an unknown suite, a package apt cannot fetch (its error shown, nothing left
#    in the cache), a damaged entry (found, refused, not booted), rm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests
test_lazy_prereq OLD_MOO '[ -x "$OLD_UML_MOO" ]'

CACHE=${UMLKIT_TEST_CACHE:-/var/tmp/umlkit-test-cache}
mkdir -p "$CACHE"
export UMLKIT_CACHE_DIR=$CACHE
unset UMLKIT_KERNEL UMLKIT_SECCOMP

# leftovers: temporary entries in the store and apt work directories of this run's fetches
leftovers() {
	find "$CACHE/kernels" -maxdepth 1 -name '.new-*' -o -maxdepth 1 -name '.old-*' \
		-o -maxdepth 1 -name '.rm-*' 2>/dev/null
	find "${TMPDIR:-/var/tmp}" -maxdepth 1 -name 'umlkit-kernel-*' -newer "$T" 2>/dev/null
}

# ---------------------------------------------------------------- fetch, reuse, list
test_expect_success 'setup: kernel fetch sid (fetched, or reused from an earlier run)' '
	run "$UMLKIT" kernel fetch sid &&
	test_is "$rc" 0 &&
	sid=$(printf "%s\n" "$out" | cut -f3) &&
	test_like "$out" "^sid	7\.[0-9]+\.[0-9]+	$CACHE/kernels/sid/root/usr/bin/linux\.uml$" &&
	test_like "$err" "kernel sid: reading http[^ ]* sid \(signed by /usr/share/keyrings/debian-archive-keyring.gpg\)" &&
	test_like "$err" "seccomp mode available" &&
	test_set_prereq SID
'
test_expect_success SID 'the fetched kernel runs on this host (--version)' '
	test_like "$("$sid" --version)" "^7\.[0-9]+\.[0-9]+$"
'
test_expect_success SID 'a second fetch reuses the entry: the same file, untouched' '
	before=$(stat -c "%i %Y" "$sid") &&
	run "$UMLKIT" kernel fetch sid &&
	test_is "$rc" 0 &&
	test_like "$err" "kernel sid: user-mode-linux [^ ]+ is here already" &&
	test_like "$err" "reused" &&
	test_is "$(stat -c "%i %Y" "$sid")" "$before"
'
test_expect_success SID 'kernel list: the host'"'"'s 6.1 and sid'"'"'s, with their seccomp modes' '
	run "$UMLKIT" kernel list &&
	test_like "$out" "^NAME +RELEASE +SECCOMP +ORIGIN +PATH$" &&
	test_like "$out" "^system +6\.1\.[0-9]+ +no +host +/" &&
	test_like "$out" "^sid +7\.[0-9.]+ +yes +sid [^ ]+ +$sid$"
'
test_expect_success SID 'kernel list --output=json: the same, with where sid came from' '
	run "$UMLKIT" kernel list --output=json &&
	test_is "$(json ".[] | select(.name == \"sid\") | [.seccomp, .whole, .origin.suite, (.origin.package | startswith(\"user-mode-linux \")), (.origin.libc | startswith(\"libc6 \"))] | map(tostring) | join(\" \")")" \
		"true true sid true true" &&
	test_is "$(json ".[] | select(.name == \"sid\") | .path")" "$sid" &&
	test_like "$(json ".[] | select(.name == \"sid\") | .modules")" "/kernels/sid/root/usr/lib/uml/modules$" &&
	test_is "$(json ".[] | select(.name == \"system\") | [.origin, .seccomp] | map(tostring) | join(\" \")")" "host false"
'
test_expect_success 'kernel fetch trixie: Debian 13'"'"'s kernel beside it' '
	run "$UMLKIT" kernel fetch trixie &&
	test_is "$rc" 0 &&
	trixie=$(printf "%s\n" "$out" | cut -f3) &&
	test_like "$("$trixie" --version)" "^6\.12\." &&
	run "$UMLKIT" kernel list &&
	test_like "$out" "^trixie +6\.12\.[0-9]+ +no +trixie "
'

# ---------------------------------------------------------------- a guest on it
test_expect_success BUSYBOX 'setup: the guest image (umlkit image build)' '
	"$UMLKIT" image build --size 64M "$T/base.img" >/dev/null &&
	test_set_prereq IMAGE
'
test_expect_success 'setup: a NAT switch' '
	sw_start knat --nat && test_is "$rc" 0 &&
	test_set_prereq NAT
'
free_port FP
test_expect_success SID,IMAGE,NAT 'a guest on sid'"'"'s kernel with --seccomp on starts on the NAT switch' '
	run "$UMLKIT" start --name k1 --kernel sid --seccomp on --mem 64M \
		--disk "$T/k1.cow,$T/base.img" --net "switch:knat,forward=tcp:$FP:80" \
		--append "umlkit.hostname=k1 umlkit.ip=vec0,dhcp umlkit.services=httpd" \
		--wait --timeout 60 &&
	track k1 &&
	test_is "$rc" 0 &&
	test_set_prereq K1
'
test_expect_success K1 'its kernel is 7.x (mconsole version)' '
	run "$UMLKIT" mconsole k1 version &&
	test_like "$out" "Linux k1 7\.[0-9]+\.[0-9]+ "
'
test_expect_success K1 'the host reaches its httpd through the forward by name' '
	until_true 30 fetch 127.0.0.1 "$FP" / >/dev/null &&
	test_like "$(fetch 127.0.0.1 "$FP" /)" "umlkit guest k1 is serving this page"
'
test_expect_success K1 'its kernel says it runs guest processes under seccomp' '
	logs k1 >"$T/k1.log" &&
	grep -a -q "Checking that seccomp filters can be installed\.\.\.OK" "$T/k1.log" &&
	! grep -a -q "Checking that ptrace can change system call numbers" "$T/k1.log"
'
# seccomp_procs NAME: "N M": processes of the guest's process group, and those under a
# seccomp filter (Seccomp: 2 in /proc/PID/status)
seccomp_procs() {
	local k n=0 s=0 p
	k=$("$UMLKIT" status "$1" --output=json | jq -r .pid)
	for p in $(pgrep -g "$k"); do
		n=$((n + 1))
		[ "$(awk "/^Seccomp:/ { print \$2 }" "/proc/$p/status" 2>/dev/null)" = 2 ] && s=$((s + 1))
	done
	echo "$n $s"
}
test_expect_success K1 '... and on the host its guest processes run under a seccomp filter' '
	read -r n s < <(seccomp_procs k1) &&
	test "$n" -ge 2 && test "$s" -ge 1 && test "$s" -lt "$n"
'
test_expect_success K1 'it stops cleanly' '
	run "$UMLKIT" stop k1 --timeout 30 &&
	test_is "$rc" 0 &&
	untrack k1 &&
	test_like "$("$UMLKIT" status k1)" "stopped"
'
# the switch's other port kind, bess, with the NAT: the guest's lease, a forward to it
one_lease() { "$UMLKIT" switch nat "$1" --output=json | jq -e ".leases | length == 1" >/dev/null; }
free_port FB
test_expect_success SID,IMAGE 'a sid guest on a bess port of a NAT switch: DHCP, a forward to its lease' '
	sw_start kbess --nat --bess "$T/kb.sock" && test_is "$rc" 0 &&
	run "$UMLKIT" start --name kb --kernel sid --seccomp on --mem 64M \
		--disk "$T/kb.cow,$T/base.img" --net "bess:$T/kb.sock" \
		--append "umlkit.hostname=kb umlkit.ip=vec0,dhcp umlkit.services=httpd" \
		--wait --timeout 60 &&
	track kb &&
	test_is "$rc" 0 &&
	until_true 30 one_lease kbess &&
	ip=$("$UMLKIT" switch nat kbess --output=json | jq -r ".leases[0].ipv4") &&
	test_like "$ip" "^10\.0\.2\.[0-9]+$" &&
	run "$UMLKIT" switch forward kbess add "tcp:$FB:$ip:80" &&
	test_is "$rc" 0 &&
	until_true 30 fetch 127.0.0.1 "$FB" / >/dev/null &&
	test_like "$(fetch 127.0.0.1 "$FB" /)" "umlkit guest kb is serving this page" &&
	"$UMLKIT" stop kb --timeout 30 && untrack kb
'
test_expect_success SID,IMAGE 'with --seccomp off the same kernel traces its guest with ptrace' '
	run "$UMLKIT" start --name k2 --kernel sid --seccomp off --mem 64M \
		--disk "$T/k2.cow,$T/base.img" --wait --timeout 60 &&
	track k2 &&
	test_is "$rc" 0 &&
	read -r n s < <(seccomp_procs k2) &&
	test "$n" -ge 2 && test_is "$s" 0 &&
	logs k2 >"$T/k2.log" &&
	grep -a -q "Checking that ptrace can change system call numbers" "$T/k2.log" &&
	"$UMLKIT" stop k2 --timeout 30 && untrack k2
'
test_expect_success IMAGE '--seccomp on is refused for the host'"'"'s 6.1, no guest left' '
	run "$UMLKIT" start --name k3 --kernel system --seccomp on --mem 64M \
		--disk "$T/k3.cow,$T/base.img" --wait --timeout 60 &&
	test_is "$rc" 1 &&
	test_like "$err" "--seccomp on: kernel system \(Linux 6\.1\.[0-9]+\) has no seccomp mode, only ptrace" &&
	test_path_is_missing "$T/k3.cow" &&
	test_must_fail "$UMLKIT" status k3
'
test_expect_success IMAGE '... and so is $UMLKIT_SECCOMP=on; off and auto boot it with ptrace' '
	UMLKIT_SECCOMP=on run "$UMLKIT" run --name k3 --kernel system --dry-run \
		--disk "$T/k3.cow,$T/base.img" &&
	test_is "$rc" 1 &&
	test_like "$err" "has no seccomp mode" &&
	UMLKIT_SECCOMP=auto run "$UMLKIT" run --name k3 --kernel system --dry-run \
		--disk "$T/k3.cow,$T/base.img" &&
	test_is "$rc" 0 &&
	test_unlike "$out" "seccomp="
'
test_expect_success SID,IMAGE '--seccomp auto on sid passes seccomp=auto; a bad mode is a usage error' '
	run "$UMLKIT" run --name k3 --kernel sid --seccomp auto --dry-run \
		--disk "$T/k3.cow,$T/base.img" &&
	test_is "$rc" 0 &&
	test_like "$out" "(^| )seccomp=auto( |$)" &&
	run "$UMLKIT" run --name k3 --kernel sid --seccomp yes --dry-run \
		--disk "$T/k3.cow,$T/base.img" &&
	test_is "$rc" 2 &&
	test_like "$err" "--seccomp yes: use on, off or auto"
'

# ---------------------------------------------------------------- a COW the new kernel wrote
test_expect_success 'setup: the test image with its script hook' '
	guest_image "$T/plain.img" 32M &&
	token=uk-$(od -An -tx1 -N12 /dev/urandom | tr -d " \n") &&
	printf "echo %s >/root/hello\nsync\necho uk-test: wrote\nexit 0\n" "$token" >"$T/w.sh" &&
	truncate -s 4096 "$T/w.sh" &&
	test_set_prereq PLAIN
'
test_expect_success SID,PLAIN 'sid'"'"'s kernel writes a file into a COW made by umlkit' '
	"$UMLKIT" cow create "$T/w.cow" "$T/plain.img" >/dev/null &&
	UK_BOOT_TIMEOUT=90 UML=$sid boot_guest "$T/w.log" umid=kw "ubd0=$T/w.cow,$T/plain.img" \
		"ubd1=$T/w.sh" root=/dev/ubda init=/init seccomp=on &&
	{ grep -a -q "uk-test: wrote" "$T/w.log" || { tail -20 "$T/w.log"; false; }; } &&
	test_set_prereq WROTE
'
test_expect_success WROTE,DEBUGFS 'cow merge: the file in the output, the backing untouched' '
	sum=$(sha256sum <"$T/plain.img") &&
	run "$UMLKIT" cow merge "$T/w.cow" "$T/merged.img" &&
	test_is "$rc" 0 &&
	test_is "$(debugfs -R "cat /root/hello" "$T/merged.img" 2>/dev/null)" "$token" &&
	test_is "$(sha256sum <"$T/plain.img")" "$sum" &&
	run "$UMLKIT" cow check "$T/w.cow" &&
	test_is "$rc" 0
'
test_expect_success WROTE,OLD_MOO '... the same bytes as the old uml_moo'"'"'s merge' '
	"$OLD_UML_MOO" "$T/w.cow" "$T/moo.img" >/dev/null &&
	cmp "$T/merged.img" "$T/moo.img"
'

# ---------------------------------------------------------------- bad input
test_expect_success 'an unknown suite: apt'"'"'s error, nothing left' '
	run "$UMLKIT" kernel fetch nosuchsuite &&
	test_is "$rc" 1 &&
	test_like "$err" "suite nosuchsuite at http[^ ]*: apt-get failed \(exit [0-9]+\): E: .*nosuchsuite" &&
	test_path_is_missing "$CACHE/kernels/nosuchsuite" &&
	test_is "$(leftovers)" ""
'
test_expect_success 'a package apt cannot fetch: its error, nothing left' '
	run "$UMLKIT" kernel fetch sid --name nopkg --package no-such-package-uk &&
	test_is "$rc" 1 &&
	test_like "$err" "package no-such-package-uk in http[^ ]* sid: apt-cache failed \(exit [0-9]+\): E: No packages found" &&
	test_path_is_missing "$CACHE/kernels/nopkg" &&
	test_is "$(leftovers)" ""
'
test_expect_success 'names that are not names are refused before apt runs' '
	run "$UMLKIT" kernel fetch "../x" &&
	test_is "$rc" 1 &&
	test_like "$err" "suite .\.\./x.: not a Debian suite name" &&
	run "$UMLKIT" kernel fetch sid --name system &&
	test_is "$rc" 1 &&
	test_like "$err" "kernel name .system. is the host" &&
	run "$UMLKIT" kernel fetch sid --mirror "ftp://x" &&
	test_is "$rc" 1 &&
	test_like "$err" "mirror .ftp://x.: not an http"
'
# a copy of the sid entry in a private cache, damaged
test_expect_success SID,IMAGE 'a damaged entry is found and refused; no guest boots on it' '
	mkdir -p "$T/c2/kernels" &&
	cp -a "$CACHE/kernels/sid" "$T/c2/kernels/sid" &&
	bin=$T/c2/kernels/sid/root/usr/bin/linux.uml &&
	printf "\\x00" | dd of="$bin" bs=1 seek=4096 conv=notrunc status=none &&
	UMLKIT_CACHE_DIR=$T/c2 run "$UMLKIT" start --name k4 --kernel sid \
		--disk "$T/k4.cow,$T/base.img" --wait --timeout 60 &&
	test_is "$rc" 1 &&
	test_like "$err" "kernel sid: damaged \(root/usr/bin/linux\.uml: its checksum changed\); fetch it again with .umlkit kernel fetch -f sid." &&
	test_path_is_missing "$T/k4.cow" &&
	test_must_fail "$UMLKIT" status k4 &&
	UMLKIT_CACHE_DIR=$T/c2 run "$UMLKIT" kernel list &&
	test_like "$out" "damaged: root/usr/bin/linux\.uml: its checksum changed"
'
test_expect_success SID 'a truncated entry too; kernel rm removes it, not the host'"'"'s' '
	truncate -s 100 "$T/c2/kernels/sid/root/usr/bin/linux.uml" &&
	UMLKIT_CACHE_DIR=$T/c2 run "$UMLKIT" run --name k4 --kernel sid --dry-run \
		--disk "$T/k4.cow,$T/base.img" &&
	test_is "$rc" 1 &&
	test_like "$err" "root/usr/bin/linux\.uml: 100 bytes, [0-9]+ expected" &&
	UMLKIT_CACHE_DIR=$T/c2 run "$UMLKIT" kernel rm sid &&
	test_is "$rc" 0 &&
	test_path_is_missing "$T/c2/kernels/sid" &&
	UMLKIT_CACHE_DIR=$T/c2 run "$UMLKIT" kernel rm sid &&
	test_is "$rc" 1 &&
	test_like "$err" "kernel sid: no such kernel" &&
	run "$UMLKIT" kernel rm system &&
	test_is "$rc" 1 &&
	test_like "$err" "the host.s kernel is the package.s"
'
test_expect_success 'an unknown kernel name: a clear error, nothing started' '
	run "$UMLKIT" run --name k5 --kernel forky-nope --dry-run --disk "$T/k5.cow,$T/base.img" &&
	test_is "$rc" 1 &&
	test_like "$err" "kernel forky-nope: no kernel of that name \(umlkit kernel list\)"
'
test_done
