#!/bin/bash
# Bad COW inputs through `umlkit cow merge`, `umlkit cow merge --in-place`, `umlkit cow check`
# and our `uml_moo` (to a new file and -d): each must give a message naming the file and the
# problem, a non-zero exit below 126 (check: its documented code), no output file, and no
# change to any input (content and mtime of the COW and the backing).
#
# One case is a setup block (its directory, backing and bad COW; prerequisite CASEn) and, for
# each of the five commands, one block per promise of the contract.
. "$(dirname "$0")/lib.sh"

COWGEN="$UK_BUILD/tests/helpers/cowgen"
OUR_MOO="$UK_BUILD/uml_moo"
[ -x "$UMLKIT" ] || test_skip_all "$UMLKIT not built (make)"
[ -x "$COWGEN" ] || test_skip_all "$COWGEN not built (make test-build)"
[ -x "$OUR_MOO" ] || test_skip_all "$OUR_MOO not built (make)"

SIZE=1048576
# state FILE: content hash and full-precision mtime ("-" when absent)
state() {
	if [ -f "$1" ]; then
		printf '%s %s' "$(sum_of "$1")" "$(stat -c %y "$1")"
	elif [ -e "$1" ]; then
		stat -c '%F %y' "$1"
	else
		printf -- -
	fi
}

# newcase NAME: a fresh directory $d with a backing ($d/back.img, non-zero data, fixed mtime)
newcase() {
	d="$T/$1"
	cow="$d/bad.cow"
	mkdir -p "$d" &&
		"$COWGEN" --variant 3 --backing "$T/.none" --size "$SIZE" --mtime 0 \
			--write "0:$SIZE:77" --expect "$d/back.img" "$d/.junk" >/dev/null &&
		rm -f "$d/.junk" &&
		touch -d @1700000000 "$d/back.img"
}
# gen ARGS...: a v3 COW over the case's backing holding a few sectors, plus ARGS
gen() {
	"$COWGEN" --variant 3 --backing "$d/back.img" --write 4096:8192:5 "$@" "$cow" >/dev/null
}

# plain_failure RC: RC is an ordinary failure, 1..125 (not success, not "cannot run", no signal)
plain_failure() {
	[ "$1" -ge 1 ] && [ "$1" -lt 126 ] && return 0
	echo "exit $1, want 1..125" >&2
	return 1
}

# run_cmd: run the command $cmd names on $cow ($rc, $out, $err)
run_cmd() {
	case $cmd in
	merge) run "$UMLKIT" cow merge "$cow" "$d/out.img" ;;
	inplace) run "$UMLKIT" cow merge --in-place "$cow" ;;
	check) run "$UMLKIT" cow check "$cow" ;;
	moo) run "$OUR_MOO" "$cow" "$d/out.img" ;;
	moo-d) run "$OUR_MOO" -d "$cow" ;;
	esac
}

# try NAME REGEX CHECK_EXIT SETUP: the case's setup block (SETUP makes $d and $cow, then the
# state of the COW, the backing and the directory is recorded; prerequisite $P), then every
# command on $cow against the contract. CHECK_EXIT: a regex of the codes `cow check` may give.
# The names are globals: the blocks' bodies read them when they run, inside this function.
ncase=0
try() {
	name=$1 re=$2 want_check=$3
	ncase=$((ncase + 1))
	P=CASE$ncase
	test_expect_success "$name: setup" "
		$4 &&
		base=\$(basename \"\$cow\") &&
		before_c=\$(state \"\$cow\") &&
		before_b=\$(state \"\$d/back.img\") &&
		listing=\$(ls -A \"\$d\") &&
		test_set_prereq $P
	"
	for cmd in merge inplace check moo moo-d; do
		case $cmd in
		merge) label="umlkit cow merge" ;;
		inplace) label="umlkit cow merge --in-place" ;;
		check) label="umlkit cow check" ;;
		moo) label="uml_moo" ;;
		moo-d) label="uml_moo -d" ;;
		esac
		if [ "$cmd" = check ]; then
			test_expect_success $P "$name: $label exits $want_check" '
				run_cmd &&
				test_like "$rc" "^($want_check)\$"
			'
			test_expect_success $P "$name: $label names the problem" '
				test_like "$out$err" "$re"
			'
		else
			test_expect_success $P "$name: $label fails with a plain exit code (1..125)" '
				run_cmd &&
				plain_failure "$rc"
			'
			[ "$cmd" = merge ] && test_expect_success $P "$name: $label exits 1 (documented)" '
				test_is "$rc" 1
			'
			test_expect_success $P "$name: $label names the problem" '
				test_like "$err" "$re"
			'
			test_expect_success $P "$name: $label names the file" '
				test_like "$err" "$base|back\.img"
			'
		fi
		test_expect_success $P "$name: $label creates no file (output, temp or journal)" '
			test_is "$(ls -A "$d")" "$listing"
		'
		test_expect_success $P "$name: $label leaves the COW as it was" '
			test_is "$(state "$cow")" "$before_c"
		'
		test_expect_success $P "$name: $label leaves the backing as it was" '
			test_is "$(state "$d/back.img")" "$before_b"
		'
	done
}

try "empty file" "empty|not a COW|magic" 2 'newcase empty && : >"$cow"'

try "no magic" "not a COW|magic" 2 'newcase nomagic && head -c 16384 "$d/back.img" >"$cow"'

try "short header" "short|truncated header|header.*(bytes|length)" 2 '
	newcase short && gen && head -c 100 "$cow" >"$d/x" && mv "$d/x" "$cow"'

try "unknown version" "version" 2 'newcase version && gen --raw-header version=7'

try "alignment 0" "alignment" 2 'newcase align0 && gen --raw-header alignment=0'

try "alignment not a power of two" "alignment" 2 \
	'newcase align3000 && gen --raw-header alignment=3000'

try "sector size 0" "[Ss]ector ?size" 2 'newcase sector0 && gen --raw-header sectorsize=0'

try "sector size not a power of two" "[Ss]ector ?size" 2 \
	'newcase sector1000 && gen --raw-header sectorsize=1000'

try "absurd size" "[Ss]ize.*(absurd|too (large|big)|limit)" 2 \
	'newcase absurd && gen --raw-header size=$((1 << 60))'

try "path without NUL" "NUL|not terminated|unterminated" 2 \
	'newcase nonul && gen --raw-header path-nonul=1'

try "little-endian header with version 3" "version" 2 '
	newcase v1version &&
	"$COWGEN" --variant 1le --backing "$d/back.img" --raw-header version=3 "$cow" >/dev/null'

try "missing backing" "gone\.img" 1 '
	newcase missing &&
	"$COWGEN" --variant 3 --backing "$d/gone.img" --size "$SIZE" --mtime 1700000000 \
		--write 0:512:4 "$cow" >/dev/null'
# $err is uml_moo -d's, the case's last command
test_expect_success $P "missing backing: uml_moo -d says it does not exist" '
	test_like "$err" "[Nn]o such file|missing|does not exist|not found"
'

try "mtime mismatch" "mtime" 1 'newcase mtime && gen --mtime 1600000000'

try "size mismatch" "[Ss]ize" 1 'newcase size && gen --size $((SIZE + 512))'
test_expect_success $P "size mismatch: uml_moo -d's message gives the recorded size" '
	test_like "$err" "$((SIZE + 512))"
'

# a 64 MiB sparse backing: a 16 KiB bitmap at 8192; the file ends inside it
try "truncated bitmap" "bitmap" 2 '
	newcase bitmap &&
	truncate -s 64M "$d/back.img" &&
	touch -d @1700000000 "$d/back.img" &&
	gen --length 12000'

try "truncated data" "data|truncated|length|short" 2 \
	'newcase data && gen --length $((12288 + SIZE - 4096))'

try "nonexistent COW" "nonexistent\.cow" 3 'newcase nocow && cow="$d/nonexistent.cow"'

# "cannot open" (3) or "not a COW" (2): the contract does not say which
try "COW is a directory" "dir\.cow" "2|3" 'newcase dir && cow="$d/dir.cow" && mkdir "$cow"'

test_done
