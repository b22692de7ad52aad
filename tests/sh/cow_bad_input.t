#!/bin/bash
# Bad COW inputs through `umlkit cow merge`, `umlkit cow merge --in-place`, `umlkit cow check`
# and our `uml_moo` (to a new file and -d): each must give a message naming the file and the
# problem, a non-zero exit below 126 (check: its documented code), no output file, and no
# change to any input (content and mtime of the COW and the backing).
. "$(dirname "$0")/lib.sh"

COWGEN="$UK_BUILD/tests/helpers/cowgen"
[ -x "$UMLKIT" ] || skip_all "$UMLKIT not built (make)"
[ -x "$COWGEN" ] || skip_all "$COWGEN not built (make test-build)"
OUR_MOO="$UK_BUILD/uml_moo"
[ -x "$OUR_MOO" ] || skip_all "$OUR_MOO not built (make)"

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
	mkdir -p "$d"
	"$COWGEN" --variant 3 --backing "$T/.none" --size "$SIZE" --mtime 0 --write "0:$SIZE:77" \
		--expect "$d/back.img" "$d/.junk" >/dev/null
	rm -f "$d/.junk"
	touch -d @1700000000 "$d/back.img"
	cow="$d/bad.cow"
}
# gen ARGS...: a v3 COW over the case's backing holding a few sectors, plus ARGS
gen() {
	"$COWGEN" --variant 3 --backing "$d/back.img" --write 4096:8192:5 "$@" "$cow" >/dev/null
}

# try CASE REGEX CHECK_EXIT: (CHECK_EXIT a regex of allowed codes) run every command on $cow and assert the contract
try() {
	local name=$1 re=$2 want_check=$3 cmd label before_c before_b listing base
	base=$(basename "$cow")
	before_c=$(state "$cow")
	before_b=$(state "$d/back.img")
	listing=$(ls -A "$d")
	for cmd in merge inplace check moo moo-d; do
		case $cmd in
		merge) label="umlkit cow merge" && run "$UMLKIT" cow merge "$cow" "$d/out.img" ;;
		inplace) label="umlkit cow merge --in-place" && run "$UMLKIT" cow merge --in-place "$cow" ;;
		check) label="umlkit cow check" && run "$UMLKIT" cow check "$cow" ;;
		moo) label="uml_moo" && run "$OUR_MOO" "$cow" "$d/out.img" ;;
		moo-d) label="uml_moo -d" && run "$OUR_MOO" -d "$cow" ;;
		esac
		if [ "$cmd" = check ]; then
			like "$rc" "^($want_check)\$" "$name: $label exits $want_check (got $rc)"
			like "$out$err" "$re" "$name: $label names the problem"
		else
			ok "$([ "$rc" -ge 1 ] && [ "$rc" -lt 126 ]; echo $?)" \
				"$name: $label fails with a plain exit code (got $rc)"
			[ "$cmd" = merge ] && is "$rc" 1 "$name: $label exits 1 (documented)"
			like "$err" "$re" "$name: $label names the problem"
			like "$err" "$base|back\.img" "$name: $label names the file"
		fi
		is "$(ls -A "$d")" "$listing" "$name: $label creates no file (output, temp or journal)"
		is "$(state "$cow")" "$before_c" "$name: $label leaves the COW as it was"
		is "$(state "$d/back.img")" "$before_b" "$name: $label leaves the backing as it was"
	done
}

newcase empty
: >"$cow"
try "empty file" "empty|not a COW|magic" 2

newcase nomagic
head -c 16384 "$d/back.img" >"$cow"
try "no magic" "not a COW|magic" 2

newcase short
gen
head -c 100 "$cow" >"$d/x" && mv "$d/x" "$cow"
try "short header" "short|truncated header|header.*(bytes|length)" 2

newcase version
gen --raw-header version=7
try "unknown version" "version" 2

newcase align0
gen --raw-header alignment=0
try "alignment 0" "alignment" 2

newcase align3000
gen --raw-header alignment=3000
try "alignment not a power of two" "alignment" 2

newcase sector0
gen --raw-header sectorsize=0
try "sector size 0" "[Ss]ector ?size" 2

newcase sector1000
gen --raw-header sectorsize=1000
try "sector size not a power of two" "[Ss]ector ?size" 2

newcase absurd
gen --raw-header size=$((1 << 60))
try "absurd size" "[Ss]ize.*(absurd|too (large|big)|limit)" 2

newcase nonul
gen --raw-header path-nonul=1
try "path without NUL" "NUL|not terminated|unterminated" 2

newcase v1version
"$COWGEN" --variant 1le --backing "$d/back.img" --raw-header version=3 "$cow" >/dev/null
try "little-endian header with version 3" "version" 2

newcase missing
"$COWGEN" --variant 3 --backing "$d/gone.img" --size "$SIZE" --mtime 1700000000 \
	--write 0:512:4 "$cow" >/dev/null
try "missing backing" "gone\.img" 1
like "$err" "[Nn]o such file|missing|does not exist|not found" "missing backing: says it does not exist"

newcase mtime
gen --mtime 1600000000
try "mtime mismatch" "mtime" 1

newcase size
gen --size $((SIZE + 512))
try "size mismatch" "[Ss]ize" 1
like "$err" "$((SIZE + 512))" "size mismatch: message gives the recorded size"

newcase bitmap
# a 64 MiB sparse backing: a 16 KiB bitmap at 8192; the file ends inside it
truncate -s 64M "$d/back.img"
touch -d @1700000000 "$d/back.img"
gen --length 12000
try "truncated bitmap" "bitmap" 2

newcase data
gen --length $((12288 + SIZE - 4096))
try "truncated data" "data|truncated|length|short" 2

newcase nocow
cow="$d/nonexistent.cow"
try "nonexistent COW" "nonexistent\.cow" 3

newcase dir
cow="$d/dir.cow"
mkdir "$cow"
# "cannot open" (3) or "not a COW" (2): the contract does not say which
try "COW is a directory" "dir\.cow" "2|3"

done_testing
