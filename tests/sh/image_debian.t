#!/bin/bash
# image_debian.t: Debian guests. `umlkit image build --distro debian` from the host's mirror
# (mmdebstrap), its cache, `umlkit image adapt`, and real guests booted from both.
#
#  1. A build with a small package set: an ext4 image labelled umlkit, umlkit's layer in it
#     (listed in /etc/umlkit/manifest, owned by root), nothing left beside it. A second build
#     of the same recipe comes from the cache, with the same content; another --size resizes.
#  2. The cache: a damaged entry (one byte changed) is never used: the build says so and
#     bootstraps again (a stand-in mmdebstrap here, which fails: nothing is left).
#  3. A guest on a COW over the image: `umlkit start --wait` returns once it is ready; the
#     console shows a login prompt; vec0 is eth0; hostname, static address, route and DNS from
#     the umlkit.* parameters; `umlkit stop` shuts systemd down cleanly.
#  4. A second guest on a NAT switch gets its address and DNS server by DHCP.
#  5. `image adapt` of a plain mmdebstrap + mke2fs -d image (nothing of umlkit's in it), to a
#     new file: the original is unchanged; the new one boots and is ready. Adapt of an image
#     that kept a bootstrapper's policy-rc.d (exit 101) and fake start-stop-daemon: both gone,
#     the real start-stop-daemon back, the filesystem clean (e2fsck).
#  6. Bad input: an unknown suite or package (mmdebstrap's error shown, nothing left); adapt
#     of a file that is not ext4, of a COW, and of an image a running guest holds (refused,
#     unchanged); bad names and options.
#
# The built images are cached between runs (tests/sh/debian-lib.sh says where).
# Run: UK_BUILD=$PWD/build tests/sh/image_debian.t [-v]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian-lib.sh"

debian_setup
IMG=$T/deb.img

# stop_all: every guest and switch this test started (by name: umlkit knows their pids)
stop_all() {
	local g
	for g in deb1 deb2 deb3; do "$UMLKIT" stop "$g" --timeout 30 >/dev/null 2>&1; done
	"$UMLKIT" switch stop dlan >/dev/null 2>&1
	"$UMLKIT" switch stop dnat >/dev/null 2>&1
	_uk_cleanup
}
trap stop_all EXIT

# ---------------------------------------------------------------------------- the build
test_expect_success MIRROR,MMDEBSTRAP 'build --distro debian: an ext4 image with the layer' '
	run "$UMLKIT" image build --distro debian --include netbase -q "$IMG" &&
	printf "%s\n" "$err" &&
	test_is "$rc" 0 && test_is "$err" "" &&
	test_path_is_file "$IMG" &&
	test_is "$(stat -c %s "$IMG")" $((2 << 30)) &&
	test_like "$(debugfs -R stats "$IMG" 2>/dev/null)" "Filesystem volume name: +umlkit" &&
	test_like "$(e2cat "$IMG" /usr/lib/os-release)" "Debian GNU/Linux 12" &&
	test_like "$(e2ls "$IMG" /etc)" "/protocols/" &&
	test_unlike "$(e2ls "$IMG" /var/cache/apt/archives)" "\.deb/" &&
	test_is "$(e2ls "$IMG" /var/lib/apt/lists | grep "^/" | grep -vc "/\.\{1,2\}//$")" 0 &&
	test_like "$(e2cat "$IMG" /etc/fstab)" "^/dev/ubda	/	ext4" &&
	test_like "$(e2cat "$IMG" /etc/umlkit/manifest)" "/etc/systemd/system/umlkit-ready.service" &&
	test_like "$(debugfs -R "stat /etc/umlkit/setup" "$IMG" 2>/dev/null)" "User: +0 +Group: +0 " &&
	test_like "$(debugfs -R "stat /etc/systemd/system/systemd-networkd-wait-online.service" \
		"$IMG" 2>/dev/null)" "Fast link dest: \"/dev/null\"" &&
	for f in udev/rules.d/80-ifupdown.rules systemd/system-generators/systemd-gpt-auto-generator; do
		test_like "$(debugfs -R "stat /etc/$f" "$IMG" 2>/dev/null)" \
			"Fast link dest: \"/dev/null\"" || return 1
	done &&
	test_like "$(e2cat "$IMG" /etc/umlkit/manifest)" "/etc/udev/rules.d/80-ifupdown.rules	disabled" &&
	test_like "$(e2cat "$IMG" /etc/systemd/system/systemd-remount-fs.service.d/umlkit.conf)" \
		"ExecStart=/bin/mount -o remount /" &&
	test_like "$(e2cat "$IMG" /etc/shadow)" "^root::" &&
	test_unlike "$(e2ls "$IMG" /usr/sbin)" "/policy-rc\.d/|/start-stop-daemon\.REAL/" &&
	test_unlike "$(e2cat "$IMG" /usr/sbin/start-stop-daemon | head -c 4096 | tr -c "[:print:]" .)" \
		"Fake start-stop-daemon" &&
	test_is "$(entries "$T/tmp")" "" &&
	test_is "$(ls "$T" | grep -v "^tmp$\|^run$\|^deb.img$")" "" &&
	test_set_prereq BUILT
'

test_expect_success BUILT 'the same recipe again: from the cache, the same content' '
	run "$UMLKIT" image build --distro debian --include netbase -p "$T/again.img" &&
	test_is "$rc" 0 &&
	test_like "$err" "using the cached image of this recipe" &&
	test_unlike "$err" "bootstrapping" &&
	test_like "$out" "/etc/fstab: the root on /dev/ubda" &&
	for d in / /etc /usr/bin /usr/sbin /etc/systemd/system /var/lib/dpkg; do
		test_is "$(e2ls "$T/again.img" $d | cut -d/ -f2-6)" "$(e2ls "$IMG" $d | cut -d/ -f2-6)" ||
			return 1
	done &&
	test_is "$(e2cat "$T/again.img" /var/lib/dpkg/status | sha256sum)" \
		"$(e2cat "$IMG" /var/lib/dpkg/status | sha256sum)" &&
	rm -f "$T/again.img"
'

test_expect_success BUILT 'another --size: the cached image resized' '
	run "$UMLKIT" image build --distro debian --include netbase -q --size 1G "$T/small.img" &&
	test_is "$rc" 0 &&
	test_is "$(stat -c %s "$T/small.img")" $((1 << 30)) &&
	bs=$(dumpe2fs -h "$T/small.img" 2>/dev/null | sed -n "s/^Block size: *//p") &&
	n=$(dumpe2fs -h "$T/small.img" 2>/dev/null | sed -n "s/^Block count: *//p") &&
	test_is $((bs * n)) $((1 << 30)) &&
	e2fsck -fn "$T/small.img" >/dev/null 2>&1 &&
	rm -f "$T/small.img"
'

test_expect_success BUILT 'a damaged cache entry is never used' '
	mkdir -p "$T/cache2/images" "$T/fake" &&
	rec=$(grep -l "^recipe debian/4 .*packages=iproute2,kmod,netbase,systemd-sysv,udev " \
		"$CACHE"/images/*.recipe | head -n 1) &&
	cp --sparse=always "${rec%.recipe}.img" "$rec" "$T/cache2/images/" &&
	test_when_finished "rm -rf \"$T/cache2\" \"$T/fake\"" &&
	e=$T/cache2/images/$(basename "${rec%.recipe}.img") &&
	off=$(( $(debugfs -R "bmap /usr/lib/os-release 0" "$e" 2>/dev/null) * 4096 )) &&
	printf X | dd of="$e" bs=1 seek=$off conv=notrunc status=none &&
	printf "#!/bin/sh\necho \"E: the stand-in mmdebstrap ran\" >&2\nexit 1\n" >"$T/fake/mmdebstrap" &&
	chmod +x "$T/fake/mmdebstrap" &&
	UMLKIT_CACHE_DIR=$T/cache2 PATH=$T/fake:$PATH run "$UMLKIT" image build --distro debian \
		--include netbase -p "$T/dmg.img" &&
	test_is "$rc" 1 &&
	test_like "$err" "damaged \(checksum\)" &&
	test_like "$err" "E: the stand-in mmdebstrap ran" &&
	test_path_is_missing "$T/dmg.img" &&
	test_path_is_missing "$e" &&
	test_is "$(ls -A "$T/cache2/images" | grep -v "\.recipe$")" ""
'

# ------------------------------------------------------------------------------ guests
test_expect_success UML 'a switch for the guests' '
	"$UMLKIT" switch start dlan >/dev/null &&
	test_set_prereq LAN
'

test_expect_success BUILT,LAN 'a guest: start --wait returns once it is ready' '
	run "$UMLKIT" start --name deb1 --mem 256M --disk "$T/deb1.cow,$IMG" --net switch:dlan \
		--append "umlkit.hostname=web1 umlkit.ip=eth0,10.9.8.7/24,10.9.8.1 umlkit.dns=10.9.8.53 umlkit.route=192.168.77.0/24,10.9.8.254" \
		--wait --timeout 180 &&
	track deb1 &&
	test_is "$rc" 0 &&
	test_like "$("$UMLKIT" status deb1)" "running" &&
	test_set_prereq DEB1
'

test_expect_success DEB1 'the console shows a login prompt' '
	until_console deb1 30 "^web1 login: " ||
		{ console deb1 | tail -n 20; return 1; }
'

test_expect_success DEB1 'vec0 is eth0; hostname, address, route and DNS applied' '
	c=$(console deb1) &&
	test_like "$c" "eth0: renamed from vec0" &&
	test_like "$c" "umlkit: hostname web1" &&
	test_like "$c" "umlkit: eth0: address 10.9.8.7/24" &&
	test_like "$c" "umlkit: eth0: inet 10.9.8.7/24" &&
	test_like "$c" "umlkit: route 192.168.77.0/24 via 10.9.8.254" &&
	test_like "$c" "umlkit: dns 10.9.8.53" &&
	test_like "$c" "umlkit: ready" &&
	test_is "$("$UMLKIT" mconsole deb1 proc sys/kernel/hostname | tr -d "\r" | grep -v "^$")" web1
'

test_expect_success DEB1 'adapt refuses the image a running guest holds, unchanged' '
	before=$(sum_of "$IMG") &&
	run "$UMLKIT" image adapt "$IMG" &&
	test_is "$rc" 1 &&
	test_like "$err" "deb.img: in use: locked by pid [0-9]+" &&
	test_is "$(sum_of "$IMG")" "$before" &&
	test_is "$(entries "$T/tmp")" ""
'

test_expect_success DEB1 'umlkit stop: a clean systemd shutdown' '
	run "$UMLKIT" stop deb1 --timeout 60 &&
	test_is "$rc" 0 &&
	test_like "$(console deb1)" "Reached target poweroff.target" &&
	test_like "$(console deb1)" "systemd-shutdown\[1\]: Powering off" &&
	test_unlike "$("$UMLKIT" status deb1)" "running"
'

test_expect_success BUILT,UML 'DHCP through a NAT switch: address and DNS' '
	"$UMLKIT" switch start dnat --nat >/dev/null &&
	run "$UMLKIT" start --name deb2 --mem 256M --disk "$T/deb2.cow,$IMG" --net switch:dnat \
		--append "umlkit.ip=vec0,dhcp" --wait --timeout 180 &&
	track deb2 &&
	test_is "$rc" 0 &&
	c=$(console deb2) &&
	test_like "$c" "umlkit: eth0: dhcp" &&
	test_like "$c" "umlkit: eth0: inet 10\.0\.2\.15/24" &&
	test_like "$c" "umlkit: dhcp dns 10\.0\.2\.3" &&
	test_like "$c" "umlkit: hostname debian" &&
	"$UMLKIT" stop deb2 --timeout 60 >/dev/null
'

# ---------------------------------------------------------------------------- adapt
test_expect_success MIRROR,MMDEBSTRAP 'adapt a plain mmdebstrap image into a new file' '
	make_plain &&
	cp --sparse=always "$PLAIN" "$T/plain.img" &&
	before=$(sum_of "$T/plain.img") &&
	test_unlike "$(e2ls "$T/plain.img" /etc)" "/umlkit/" &&
	run "$UMLKIT" image adapt "$T/plain.img" -o "$T/adapted.img" &&
	test_is "$rc" 0 &&
	test_like "$out" "adapted.img: umlkit.s layer:" &&
	test_like "$out" "/etc/fstab: the root on /dev/ubda" &&
	test_like "$out" "masked .*systemd-networkd-wait-online.service" &&
	test_like "$out" "/etc/shadow: root had no password" &&
	test_is "$(sum_of "$T/plain.img")" "$before" &&
	test_like "$(e2cat "$T/adapted.img" /etc/umlkit/manifest)" "umlkit-setup.service" &&
	test_is "$(entries "$T/tmp")" "" &&
	test_set_prereq ADAPTED
'

# An image made from a tree before the bootstrapper's cleanup (as umlkit's own build did up to
# debian/2) keeps what stopped daemons from starting while it installed.
test_expect_success ADAPTED 'adapt takes away a policy-rc.d and a fake start-stop-daemon' '
	cp --sparse=always "$T/plain.img" "$T/blocked.img" &&
	printf "#!/bin/sh\nexit 101\n" >"$T/policy-rc.d" &&
	printf "#!/bin/sh\necho \"Warning: Fake start-stop-daemon called, doing nothing\"\n" \
		>"$T/fake-ssd" &&
	real=$(e2cat "$T/blocked.img" /usr/sbin/start-stop-daemon | sha256sum) &&
	test_like "$real" "^[0-9a-f]{64} " &&
	printf "%s\n" "write $T/policy-rc.d /usr/sbin/policy-rc.d" \
		"ln /usr/sbin/start-stop-daemon /usr/sbin/start-stop-daemon.REAL" \
		"unlink /usr/sbin/start-stop-daemon" \
		"write $T/fake-ssd /usr/sbin/start-stop-daemon" >"$T/block.cmds" &&
	debugfs -w -f "$T/block.cmds" "$T/blocked.img" >/dev/null 2>&1 &&
	test_like "$(e2ls "$T/blocked.img" /usr/sbin)" "/policy-rc\.d/" &&
	test_like "$(e2ls "$T/blocked.img" /usr/sbin)" "/start-stop-daemon\.REAL/" &&
	run "$UMLKIT" image adapt "$T/blocked.img" -o "$T/unblocked.img" &&
	test_is "$rc" 0 &&
	test_like "$out" "/usr/sbin/policy-rc\.d: removed" &&
	test_like "$out" "/usr/sbin/start-stop-daemon: the real one again" &&
	test_unlike "$(e2ls "$T/unblocked.img" /usr/sbin)" "/policy-rc\.d/|/start-stop-daemon\.REAL/" &&
	test_is "$(e2cat "$T/unblocked.img" /usr/sbin/start-stop-daemon | sha256sum)" "$real" &&
	run e2fsck -fn "$T/unblocked.img" &&
	test_is "$rc" 0 &&
	rm -f "$T/blocked.img" "$T/unblocked.img"
'

test_expect_success ADAPTED,LAN 'the adapted image boots and is ready' '
	run "$UMLKIT" start --name deb3 --mem 256M --disk "$T/deb3.cow,$T/adapted.img" \
		--net switch:dlan --append "umlkit.hostname=plain1 umlkit.ip=eth0,10.9.8.9/24" \
		--wait --timeout 180 &&
	track deb3 &&
	test_is "$rc" 0 &&
	until_console deb3 30 "^plain1 login: " &&
	test_like "$(console deb3)" "umlkit: eth0: inet 10\.9\.8\.9/24" &&
	"$UMLKIT" stop deb3 --timeout 60 >/dev/null
'

test_expect_success ADAPTED 'adapt in place, twice: the same layer, the image replaced' '
	cp --sparse=always "$T/adapted.img" "$T/again.img" &&
	run "$UMLKIT" image adapt -q "$T/again.img" &&
	test_is "$rc" 0 && test_is "$out" "" &&
	# the same layer; /etc/hosts and the root password are umlkit ones already, and kept
	test_is "$(e2cat "$T/again.img" /etc/umlkit/manifest | grep -v "^/etc/hosts\|^/etc/shadow")" \
		"$(e2cat "$T/adapted.img" /etc/umlkit/manifest | grep -v "^/etc/hosts\|^/etc/shadow")" &&
	test_is "$(e2cat "$T/again.img" /etc/shadow)" "$(e2cat "$T/adapted.img" /etc/shadow)" &&
	test_is "$(e2cat "$T/again.img" /etc/fstab)" "$(e2cat "$T/adapted.img" /etc/fstab)" &&
	test_is "$(ls "$T" | grep -c "again")" 1 &&
	rm -f "$T/again.img"
'

# -------------------------------------------------------------------------- bad input
test_expect_success MMDEBSTRAP 'adapt: not ext4, refused, unchanged' '
	head -c 4M /dev/urandom >"$T/junk.img" &&
	before=$(sum_of "$T/junk.img") &&
	run "$UMLKIT" image adapt "$T/junk.img" &&
	test_is "$rc" 1 &&
	test_like "$err" "junk.img: not an ext4 filesystem \(no ext2/3/4 superblock\)" &&
	test_is "$(sum_of "$T/junk.img")" "$before" &&
	test_is "$(ls "$T" | grep -c junk)" 1
'

test_expect_success MMDEBSTRAP 'adapt: a COW file, refused with a hint' '
	truncate -s 64M "$T/back.img" && mke2fs -q -t ext4 -F "$T/back.img" &&
	"$UMLKIT" cow create "$T/x.cow" "$T/back.img" >/dev/null &&
	run "$UMLKIT" image adapt "$T/x.cow" &&
	test_is "$rc" 1 &&
	test_like "$err" "x.cow: not an ext4 filesystem but a UML COW file" &&
	run "$UMLKIT" image adapt "$T/back.img" &&
	test_is "$rc" 1 &&
	test_like "$err" "back.img: no systemd in it" &&
	rm -f "$T/x.cow" "$T/back.img"
'

test_expect_success ADAPTED 'adapt -o an existing file without -f: refused' '
	: >"$T/exists.img" &&
	run "$UMLKIT" image adapt "$T/adapted.img" -o "$T/exists.img" &&
	test_is "$rc" 1 &&
	test_like "$err" "exists.img: already exists \(use -f" &&
	test_is "$(stat -c %s "$T/exists.img")" 0
'

# bad_build NAME RC ERE ARGS...: the build fails with RC, says ERE, leaves no output, no
# temporary file beside it, nothing in the work directory and nothing in the cache (a cache
# of its own: the shared one may hold another run's entry in the making)
bad_build() {
	local name=$1 want=$2 re=$3
	shift 3
	rm -rf "$T/cache-b" &&
		UMLKIT_CACHE_DIR=$T/cache-b run "$UMLKIT" image build "$@" "$T/bad.img" &&
		test_is "$rc" "$want" &&
		test_like "$err" "$re" &&
		test_path_is_missing "$T/bad.img" &&
		test_is "$(ls -A "$T" | grep -c "bad")" 0 &&
		test_is "$(entries "$T/tmp")" "" &&
		test_is "$(ls -A "$T/cache-b/images" 2>/dev/null)" ""
}

test_expect_success MIRROR,MMDEBSTRAP 'an unknown suite: the bootstrapper says so, nothing left' '
	bad_build suite 1 "debian nosuchsuite: mmdebstrap failed \(exit [0-9]+\): E: .*nosuchsuite.*Release" \
		--distro debian:nosuchsuite
'

test_expect_success MIRROR,MMDEBSTRAP 'an unknown package: the bootstrapper says so, nothing left' '
	bad_build package 1 "mmdebstrap failed \(exit [0-9]+\): E: .*umlkit-no-such-package" \
		--distro debian --include umlkit-no-such-package
'

test_expect_success 'bad names and options: refused before any work' '
	bad_build "suite name" 1 "suite .bad/suite.: only letters, digits" --distro "debian:bad/suite" &&
	bad_build "package name" 1 "package .Bad_Pkg.: not a Debian package name" \
		--distro debian --include Bad_Pkg &&
	bad_build distro 2 "--distro .fedora.: want debian or debian:SUITE" --distro fedora &&
	bad_build "size" 2 "a Debian image needs at least 256M" --distro debian --size 64M &&
	bad_build "include without distro" 2 "option .--include. does not apply" --include netbase &&
	run "$UMLKIT" image adapt &&
	test_is "$rc" 2 && test_like "$err" "want one image, IMG"
'

test_expect_success NOBODY 'as a user without subordinate ids: a clear error, nothing left' '
	stage_for_others &&
	if grep -q "^nobody:" /etc/subuid 2>/dev/null; then
		echo "nobody has subordinate ids here: the refusal is not tried"
		return 0
	fi &&
	mkdir -p "$T/nb" && chown nobody:nogroup "$T/nb" &&
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$T/nb" \
		UMLKIT_CACHE_DIR="$T/nb/cache" TMPDIR="$T/nb" \
		"$UMLKIT" image build --distro debian -q "$T/nb/n.img" 2>&1)
	test_is "$?" 1 &&
	test_like "$out" "subordinate ids|subuid" &&
	test_path_is_missing "$T/nb/n.img" &&
	test_is "$(ls -A "$T/nb/cache/images" 2>/dev/null | grep -vc "^$")" 0
'

test_done
