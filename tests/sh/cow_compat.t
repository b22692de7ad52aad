#!/bin/bash
# Merges of ours (`umlkit cow merge`, the `uml_moo` name) against the old /usr/bin/uml_moo
# and against the ground truth cowgen computes, on every header variant and on sizes that
# end mid-sector; in-place merges on copies; the old tool's bugs we must not copy.
. "$(dirname "$0")/lib.sh"

COWGEN="$UK_BUILD/tests/helpers/cowgen"
[ -x "$UMLKIT" ] || skip_all "$UMLKIT not built (make)"
[ -x "$COWGEN" ] || skip_all "$COWGEN not built (make test-build)"
[ -x "$OLD_UML_MOO" ] || skip_all "old uml_moo not installed (uml-utilities)"
OUR_MOO="$UK_BUILD/uml_moo"
[ -x "$OUR_MOO" ] || skip_all "$OUR_MOO not built (make)"

size_of() { stat -c %s "$1"; }

# mkback FILE SIZE: deterministic non-zero content with a zero stretch in the middle
mkback() {
	"$COWGEN" --variant 3 --backing "$T/.none" --size "$2" --mtime 0 \
		--write "0:$2:$RANDOM_SEED" --write "$(($2 / 3)):$(($2 / 5)):zero" \
		--expect "$1" "$T/.junk.cow" >/dev/null || return 1
	rm -f "$T/.junk.cow"
	# a fixed old mtime, so nothing depends on the clock's second boundary
	touch -d @1700000000 "$1"
}
RANDOM_SEED=424242

# bitmap_sectors VARIANT BACKING: how many sectors the variant's bitmap can describe
bitmap_sectors() {
	"$COWGEN" --variant "$1" --backing "$2" --layout "$T/.junk.cow" |
		sed -n 's/.*bitmap_sectors=\([0-9]*\).*/\1/p'
	rm -f "$T/.junk.cow"
}

# writes SIZE BITMAP_SECTORS: --write options: first byte, a run across sectors, zeros over
# non-zero backing data, and the last (possibly partial) sector, each only where the
# variant's bitmap has bits for it (v1/v2 round their bitmap down)
writes() {
	local size=$1 bs=$2 w
	for w in "0:1:1" "$((size / 2 - 700)):1500:2" "$((size / 8)):600:zero" "$((size - 1)):1:3"; do
		local off=${w%%:*} rest=${w#*:}
		local len=${rest%%:*}
		[ "$off" -ge 0 ] || continue
		[ $(((off + len - 1) / 512)) -lt "$bs" ] && printf -- '--write %s ' "$w"
	done
}

variants="1le 2 3 3-512 3broken"
# v1 written on a big-endian host: the old tool (and the kernel) on this little-endian host
# cannot read it; ours must
all_variants="$variants 1be"
sizes="1000 4097 65836 65536 1048576"

# ------------------------------------------------------------------ merges to a new file
for size in $sizes; do
	d="$T/s$size"
	mkdir -p "$d"
	mkback "$d/back.img" "$size"
	for v in $all_variants; do
		name="v$v size $size"
		bs=$(bitmap_sectors "$v" "$d/back.img")
		# shellcheck disable=SC2046
		"$COWGEN" --variant "$v" --backing "$d/back.img" $(writes "$size" "$bs") \
			--expect "$d/exp.$v" "$d/c.$v" >/dev/null
		ok $? "$name: cowgen"
		sum_cow=$(sum_of "$d/c.$v")
		sum_back=$(sum_of "$d/back.img")

		run "$UMLKIT" cow merge -q "$d/c.$v" "$d/ours.$v"
		is "$rc" 0 "$name: umlkit cow merge exits 0 ($err)"
		check "$name: umlkit cow merge == ground truth" -- cmp "$d/ours.$v" "$d/exp.$v"

		run "$OUR_MOO" "$d/c.$v" "$d/moo.$v"
		is "$rc" 0 "$name: our uml_moo exits 0 ($err)"
		check "$name: our uml_moo == ground truth" -- cmp "$d/moo.$v" "$d/exp.$v"

		run "$OLD_UML_MOO" "$d/c.$v" "$d/old.$v"
		if [ "$v" = 1be ]; then
			:
		elif [ $((size / 512)) -gt "$bs" ]; then
			# the old tool reads bits past its malloc'd bitmap here: undefined, not compared
			diag "$name: old uml_moo reads past its bitmap; its output is not compared"
		elif [ $((size % 512)) = 0 ]; then
			is "$rc" 0 "$name: old uml_moo exits 0"
			check "$name: old uml_moo == ours (whole sectors)" -- cmp "$d/old.$v" "$d/ours.$v"
		else
			# old bug #2: the trailing partial sector is dropped
			is "$(size_of "$d/old.$v")" $((size / 512 * 512)) \
				"$name: old uml_moo drops the trailing partial sector"
			is "$(size_of "$d/ours.$v")" "$size" "$name: ours keeps all $size bytes"
			check "$name: old uml_moo == ours up to the partial sector" -- \
				cmp -n $((size / 512 * 512)) "$d/old.$v" "$d/ours.$v"
		fi
		is "$(sum_of "$d/c.$v")" "$sum_cow" "$name: merge leaves the COW alone"
		is "$(sum_of "$d/back.img")" "$sum_back" "$name: merge leaves the backing alone"
	done
	rm -f "$d"/ours.* "$d"/moo.* "$d"/old.*
done

# ------------------------------------------------------------------ output is sparse
# alloc FILE: bytes allocated on disk
alloc() { echo $(($(stat -c %b "$1") * $(stat -c %B "$1"))); }
d="$T/sparse"
mkdir -p "$d"
# an 8 MiB backing with data only in its first 64 KiB, once with a hole after it (sparse) and
# once with the zeros written out (full); the COW holds 4 KiB in the middle
"$COWGEN" --variant 3 --backing "$T/.none" --size 65536 --mtime 0 --write 0:65536:5 \
	--expect "$d/head" "$T/.junk.cow" >/dev/null
cp "$d/head" "$d/sparse.img" && truncate -s 8388608 "$d/sparse.img"
cp "$d/sparse.img" "$d/full.img" && head -c $((8388608 - 65536)) /dev/zero >>"$d/head" &&
	cp "$d/head" "$d/full.img"
touch -d @1700000000 "$d/sparse.img" "$d/full.img"
for kind in sparse full; do
	"$COWGEN" --variant 3 --backing "$d/$kind.img" --write 4194304:4096:6 --expect "$d/exp" \
		"$d/c.cow" >/dev/null
	run "$UMLKIT" cow merge -q "$d/c.cow" "$d/out"
	is "$rc" 0 "sparse ($kind backing): merge of an 8 MiB disk with 68 KiB of data"
	check "sparse ($kind backing): output == ground truth" -- cmp "$d/out" "$d/exp"
	a=$(alloc "$d/out")
	ok "$([ "$a" -lt $((8388608 / 2)) ]; echo $?)" \
		"sparse ($kind backing): umlkit cow merge output allocates $a bytes, well under 8388608"
	run "$OUR_MOO" "$d/c.cow" "$d/out.moo"
	a=$(alloc "$d/out.moo")
	ok "$([ "$a" -lt $((8388608 / 2)) ]; echo $?)" \
		"sparse ($kind backing): our uml_moo output allocates $a bytes"
	run "$OLD_UML_MOO" "$d/c.cow" "$d/out.old"
	diag "sparse ($kind backing): old uml_moo output allocates $(alloc "$d/out.old") bytes"
	rm -f "$d/out" "$d/out.moo" "$d/out.old"
done

# ------------------------------------------------------------------ in-place merges (-d) on copies
for size in 65536 4097 65836; do
	for v in $variants; do
		name="-d v$v size $size"
		A="$T/ip/$v.$size/ours" B="$T/ip/$v.$size/old"
		mkdir -p "$A" "$B"
		mkback "$A/back.img" "$size"
		cp -p "$A/back.img" "$B/back.img"
		bs=$(bitmap_sectors "$v" "$A/back.img")
		# shellcheck disable=SC2046
		"$COWGEN" --variant "$v" --backing "$A/back.img" $(writes "$size" "$bs") \
			--expect "$A/exp" "$A/c.cow" >/dev/null
		# shellcheck disable=SC2046
		"$COWGEN" --variant "$v" --backing "$B/back.img" $(writes "$size" "$bs") "$B/c.cow" \
			>/dev/null
		run "$OUR_MOO" -d "$A/c.cow"
		is "$rc" 0 "$name: our uml_moo -d exits 0"
		like "$err" "stale" "$name: our uml_moo -d warns that other COWs on the backing are stale"
		check "$name: our backing == ground truth" -- cmp "$A/back.img" "$A/exp"
		run "$UMLKIT" cow check "$A/c.cow"
		is "$rc" 0 "$name: our COW is re-stamped and sound afterwards ($out $err)"
		run "$UMLKIT" cow info --output=json "$A/c.cow"
		is "$(printf '%s' "$out" | jq -r .sectors_held 2>/dev/null)" 0 \
			"$name: our COW holds no sectors afterwards"
		check "$name: no journal left" -- test ! -e "$A/c.cow.ukmerge"

		[ $((size / 512)) -gt "$bs" ] && continue
		run "$OLD_UML_MOO" -d "$B/c.cow"
		is "$rc" 0 "$name: old uml_moo -d exits 0"
		if [ $((size % 512)) = 0 ]; then
			check "$name: old backing == ours" -- cmp "$B/back.img" "$A/back.img"
		else
			check "$name: old backing == ours up to the partial sector" -- \
				cmp -n $((size / 512 * 512)) "$B/back.img" "$A/back.img"
			if [ $(((size - 1) / 512)) -lt "$bs" ]; then
				# old bug #2 in -d: the COW's copy of the last partial sector is ignored
				run cmp "$B/back.img" "$A/exp"
				ok "$([ "$rc" != 0 ]; echo $?)" "$name: old -d misses the partial sector's COW data"
			fi
		fi
		# old bug #4: the old tool leaves its COW stale
		run "$UMLKIT" cow check "$B/c.cow"
		is "$rc" 1 "$name: old -d leaves a stale COW (check exits 1)"
	done
done

# ------------------------------------------------------------------ last partial sector, exact length
# the COW holds the partial last sector but the file ends at data_offset + size (what
# uml_mkcow sizes; the kernel's whole-sector write would extend it)
d="$T/exact"
mkdir -p "$d"
mkback "$d/back.img" 4097
lay=$("$COWGEN" --variant 3 --backing "$d/back.img" --layout "$T/.junk.cow")
dofs=$(sed 's/.*data_offset=\([0-9]*\).*/\1/' <<<"$lay")
"$COWGEN" --variant 3 --backing "$d/back.img" --write 4096:1:7 --length $((dofs + 4097)) \
	--expect "$d/exp" "$d/c.cow" >/dev/null
run "$UMLKIT" cow merge -q "$d/c.cow" "$d/out"
is "$rc" 0 "exact-length COW holding the partial last sector: merge exits 0 ($err)"
check "exact-length COW holding the partial last sector: merge == ground truth" -- \
	cmp "$d/out" "$d/exp"

# ------------------------------------------------------------------ offsets past 4 GiB
# a 6 GiB sparse backing; sectors held at 4 GiB + 512 (past 32-bit offsets) and at the end;
# checked against the COW's own data area, without reading 6 GiB
d="$T/big"
mkdir -p "$d"
big=$((6 << 30))
mkback "$d/head" 4096
cp "$d/head" "$d/back.img" && truncate -s $big "$d/back.img" && touch -d @1700000000 "$d/back.img"
"$COWGEN" --variant 3 --backing "$d/back.img" --write $(((4 << 30) + 512)):512:21 \
	--write $((big - 512)):512:22 "$d/c.cow" >/dev/null
dofs=$("$COWGEN" --variant 3 --backing "$d/back.img" --layout "$T/.junk.cow" |
	sed 's/.*data_offset=\([0-9]*\).*/\1/')
rm -f "$T/.junk.cow"
run "$UMLKIT" cow merge -q "$d/c.cow" "$d/out"
is "$rc" 0 "6 GiB disk: merge exits 0 ($err)"
is "$(size_of "$d/out")" $big "6 GiB disk: output is 6 GiB"
# sect FILE BYTE_OFFSET: one 512-byte sector as hex
sect() { od -An -tx1 -v -j "$2" -N 512 "$1" | tr -d ' \n'; }
is "$(sect "$d/out" $(((4 << 30) + 512)))" "$(sect "$d/c.cow" $((dofs + (4 << 30) + 512)))" \
	"6 GiB disk: the sector at 4 GiB + 512 comes from the COW"
is "$(sect "$d/out" $((big - 512)))" "$(sect "$d/c.cow" $((dofs + big - 512)))" \
	"6 GiB disk: the last sector comes from the COW"
is "$(sect "$d/out" $((4 << 30)))" "$(sect /dev/zero 0)" "6 GiB disk: the sector before is zero"
check "6 GiB disk: the backing's data at the start" -- cmp -n 4096 "$d/out" "$d/head"
a=$(alloc "$d/out")
ok "$([ "$a" -lt $((64 << 20)) ]; echo $?)" "6 GiB disk: output is sparse ($a bytes allocated)"
rm -f "$d/out"

# ------------------------------------------------------------------ umlkit cow merge --in-place
for v in $all_variants; do
	size=65836
	A="$T/ipk/$v"
	mkdir -p "$A"
	mkback "$A/back.img" "$size"
	bs=$(bitmap_sectors "$v" "$A/back.img")
	# shellcheck disable=SC2046
	"$COWGEN" --variant "$v" --backing "$A/back.img" $(writes "$size" "$bs") --expect "$A/exp" \
		"$A/c.cow" >/dev/null
	run "$UMLKIT" cow merge --in-place -q "$A/c.cow"
	is "$rc" 0 "merge --in-place v$v size $size: exits 0 ($err)"
	check "merge --in-place v$v size $size: backing == ground truth" -- cmp "$A/back.img" "$A/exp"
	run "$UMLKIT" cow compare "$A/c.cow" "$A/exp"
	is "$rc" 0 "merge --in-place v$v size $size: the emptied COW still shows the same disk"
done

# ------------------------------------------------------------------ -b and option order
d="$T/opt"
mkdir -p "$d"
mkback "$d/back.img" 65536
"$COWGEN" --variant 3 --backing "$d/back.img" --write 1024:2048:9 --expect "$d/exp" \
	"$d/c.cow" >/dev/null
cp -p "$d/back.img" "$d/other.img"
run "$OUR_MOO" -b "$d/other.img" "$d/c.cow" "$d/o1"
is "$rc" 0 "uml_moo -b OTHER COW NEW works ($err)"
check "uml_moo -b: output == ground truth" -- cmp "$d/o1" "$d/exp"
run "$OLD_UML_MOO" -b "$d/other.img" "$d/c.cow" "$d/o2"
check "old uml_moo -b gives the same output" -- cmp "$d/o2" "$d/o1"

run "$OLD_UML_MOO" -b "$d/other.img" -d "$d/c.cow"
is "$rc" 1 "old uml_moo -b X -d cow fails (option-order bug)"
like "$err$out" "COW file open" "old uml_moo -b X -d: takes -d for the COW file"
cp -p "$d/back.img" "$d/keep.img"
run "$OUR_MOO" -b "$d/other.img" -d "$d/c.cow"
is "$rc" 0 "our uml_moo -b X -d cow works ($err)"
check "our uml_moo -b X -d wrote into X" -- cmp "$d/other.img" "$d/exp"
check "our uml_moo -b X -d left the header's backing alone" -- cmp "$d/back.img" "$d/keep.img"

"$COWGEN" --variant 3 --backing "$d/back.img" --write 0:512:10 --expect "$d/exp2" \
	"$d/c2.cow" >/dev/null
cp -p "$d/back.img" "$d/other2.img"
run "$OUR_MOO" -d -b "$d/other2.img" "$d/c2.cow"
is "$rc" 0 "our uml_moo -d -b X cow works too ($err)"
check "our uml_moo -d -b X wrote into X" -- cmp "$d/other2.img" "$d/exp2"

run "$OUR_MOO"
is "$rc" 1 "uml_moo with no arguments exits 1"
like "$err$out" "[Uu]sage" "uml_moo with no arguments prints usage"
run "$OUR_MOO" -d
is "$rc" 1 "uml_moo -d alone exits 1 (the old one segfaults)"
run "$OUR_MOO" "$d/c2.cow"
is "$rc" 1 "uml_moo with a COW and no output exits 1"

# ------------------------------------------------------------------ NEW == backing
d="$T/same"
mkdir -p "$d/ours" "$d/old"
mkback "$d/ours/back.img" 65536
cp -p "$d/ours/back.img" "$d/old/back.img"
"$COWGEN" --variant 3 --backing "$d/ours/back.img" --write 8192:4096:12 "$d/ours/c.cow" >/dev/null
"$COWGEN" --variant 3 --backing "$d/old/back.img" --write 8192:4096:12 "$d/old/c.cow" >/dev/null
sum=$(sum_of "$d/ours/back.img")
run "$OLD_UML_MOO" "$d/old/c.cow" "$d/old/back.img"
is "$rc" 1 "old uml_moo COW BACKING fails"
is "$(size_of "$d/old/back.img")" 0 "old uml_moo COW BACKING has truncated the backing to 0 bytes (bug #3)"
run "$OUR_MOO" "$d/ours/c.cow" "$d/ours/back.img"
is "$rc" 1 "our uml_moo COW BACKING refuses (exit 1)"
like "$err" "back\.img" "our uml_moo COW BACKING: message names the backing"
is "$(sum_of "$d/ours/back.img")" "$sum" "our uml_moo COW BACKING: backing untouched"
run "$UMLKIT" cow merge -f "$d/ours/c.cow" "$d/ours/back.img"
is "$rc" 1 "umlkit cow merge -f COW BACKING refuses (exit 1)"
is "$(sum_of "$d/ours/back.img")" "$sum" "umlkit cow merge -f COW BACKING: backing untouched"

done_testing
