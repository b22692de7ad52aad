# shellcheck shell=bash
# Helpers of the Debian guest tests (image_debian.t, debian_guest.t); sourced after lib.sh.
#
# The built images are cached between runs in $UMLKIT_TEST_CACHE (default
# /var/tmp/umlkit-test-cache), which is also umlkit's cache here: a fresh machine bootstraps
# them from the mirror (a few minutes), later runs copy them. Both tests build the same
# recipe (--include netbase) so that only one bootstrap is ever needed.
PATH=$PATH:/usr/sbin:/sbin
test_lazy_prereq MMDEBSTRAP 'command -v mmdebstrap && command -v debugfs'
test_lazy_prereq MIRROR '[ "$(id -u)" = 0 ] && command -v mmdebstrap'

CACHE=${UMLKIT_TEST_CACHE:-/var/tmp/umlkit-test-cache}
mkdir -p "$CACHE"
export UMLKIT_CACHE_DIR=$CACHE

# debian_setup: the common start of a test that builds images: umlkit built, a $T that ubd=
# can take, a private runtime directory, and TMPDIR, the layer's work directory, in $T/tmp
# (`entries "$T/tmp"` must be empty after each command)
debian_setup() {
	[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
	case "$T" in
	*,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;;
	esac
	export XDG_RUNTIME_DIR="$T/run"
	mkdir -p "$XDG_RUNTIME_DIR" "$T/tmp"
	export TMPDIR=$T/tmp
}
# entries DIR: what is in DIR, sorted, one line
entries() { ls -A "$1" 2>/dev/null | sort | tr '\n' ' '; }

# e2cat IMAGE PATH / e2ls IMAGE DIR: a file or a directory listing of an image, unmounted
e2cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }
e2ls() { debugfs -R "ls -p $2" "$1" 2>/dev/null; }
# console NAME: the guest's console log, without carriage returns and colours
console() { "$UMLKIT" logs --raw "$1" 2>/dev/null | tr -d '\r' | sed 's/\x1b\[[0-9;]*m//g'; }
# until_console NAME SECONDS ERE: wait (bounded) for a console line
console_has() { console "$1" | grep -Eq -- "$2"; }
until_console() { until_true "$2" console_has "$1" "$3"; }

# make_plain: $PLAIN, a plain mmdebstrap tree made into ext4 by mke2fs -d, nothing of
# umlkit's in it: made once and kept in the cache directory beside the images.
PLAIN=$CACHE/test-plain-bookworm.img
make_plain() {
	[ -f "$PLAIN" ] && return 0
	local tree=$T/plain-tree
	mmdebstrap --mode=root --variant=apt --include=systemd-sysv,udev,iproute2 -q bookworm \
		"$tree" >/dev/null 2>&1 &&
		mke2fs -q -t ext4 -d "$tree" -F "$PLAIN.tmp" 1G &&
		mv -f "$PLAIN.tmp" "$PLAIN"
	local st=$?
	rm -rf "$tree" "$PLAIN.tmp"
	return $st
}
