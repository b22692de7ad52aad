#!/bin/bash
# Merges of ours (`umlkit cow merge`, the `uml_moo` name) against the old /usr/bin/uml_moo
# and against the ground truth cowgen computes, on every header variant and on sizes that
# end mid-sector; in-place merges on copies; the old tool's bugs we must not copy.
#
# Every case is a setup block (backing, COW and its ground truth; a prerequisite named after
# the case) and one block per check. What needs the old tool names the OLD_MOO prerequisite.
. "$(dirname "$0")/lib.sh"

COWGEN="$UK_BUILD/tests/helpers/cowgen"
OUR_MOO="$UK_BUILD/uml_moo"
[ -x "$UMLKIT" ] || test_skip_all "$UMLKIT not built (make)"
[ -x "$COWGEN" ] || test_skip_all "$COWGEN not built (make test-build)"
[ -x "$OUR_MOO" ] || test_skip_all "$OUR_MOO not built (make)"
test_lazy_prereq OLD_MOO '[ -x "$OLD_UML_MOO" ]' # uml-utilities

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

# alloc FILE: bytes allocated on disk
alloc() { echo $(($(stat -c %b "$1") * $(stat -c %B "$1"))); }

# less_than N LIMIT: N < LIMIT, with the numbers in the log when not
less_than() {
	[ "$1" -lt "$2" ] && return 0
	echo "$1 is not below $2" >&2
	return 1
}

variants="1le 2 3 3-512 3broken"
# v1 written on a big-endian host: the old tool (and the kernel) on this little-endian host
# cannot read it; ours must
all_variants="$variants 1be"
sizes="1000 4097 65836 65536 1048576"

# ------------------------------------------------------------------ merges to a new file
# The branch a case takes (which old-tool checks apply) depends on the bitmap's reach ($bs),
# which its setup block reads; a case whose setup failed has $bs empty and skips all.
for size in $sizes; do
	d="$T/s$size"
	test_expect_success "size $size: setup: the backing" '
		mkdir -p "$d" &&
		mkback "$d/back.img" "$size" &&
		test_set_prereq "B.$size"
	'
	for v in $all_variants; do
		name="v$v size $size"
		P="C.$size.$v"
		bs=
		test_expect_success "B.$size" "$name: cowgen" '
			bs=$(bitmap_sectors "$v" "$d/back.img") &&
			test -n "$bs" &&
			"$COWGEN" --variant "$v" --backing "$d/back.img" $(writes "$size" "$bs") \
				--expect "$d/exp.$v" "$d/c.$v" >/dev/null &&
			sum_cow=$(sum_of "$d/c.$v") &&
			sum_back=$(sum_of "$d/back.img") &&
			test_set_prereq "$P"
		'
		test_expect_success "$P" "$name: umlkit cow merge exits 0" '
			run "$UMLKIT" cow merge -q "$d/c.$v" "$d/ours.$v" &&
			echo "$err" &&
			test_is "$rc" 0
		'
		test_expect_success "$P" "$name: umlkit cow merge == ground truth" '
			cmp "$d/ours.$v" "$d/exp.$v"
		'
		test_expect_success "$P" "$name: our uml_moo exits 0" '
			run "$OUR_MOO" "$d/c.$v" "$d/moo.$v" &&
			echo "$err" &&
			test_is "$rc" 0
		'
		test_expect_success "$P" "$name: our uml_moo == ground truth" '
			cmp "$d/moo.$v" "$d/exp.$v"
		'
		# The old tool runs in every case (and the two checks after it see that it left the
		# COW and the backing alone); where its output is not compared it runs in the first of
		# those two blocks.
		old_unchecked=
		if [ "$v" = 1be ]; then
			old_unchecked=1
		elif [ $((size / 512)) -gt "${bs:-0}" ]; then
			# the old tool reads bits past its malloc'd bitmap here: undefined, not compared
			old_unchecked=1
			[ -n "$bs" ] && diag "$name: old uml_moo reads past its bitmap; its output is not compared"
		elif [ $((size % 512)) = 0 ]; then
			test_expect_success "$P,OLD_MOO" "$name: old uml_moo exits 0" '
				run "$OLD_UML_MOO" "$d/c.$v" "$d/old.$v" &&
				test_is "$rc" 0
			'
			test_expect_success "$P,OLD_MOO" "$name: old uml_moo == ours (whole sectors)" '
				cmp "$d/old.$v" "$d/ours.$v"
			'
		else
			# old bug #2: the trailing partial sector is dropped
			test_expect_success "$P,OLD_MOO" "$name: old uml_moo drops the trailing partial sector" '
				run "$OLD_UML_MOO" "$d/c.$v" "$d/old.$v" &&
				test_is "$(size_of "$d/old.$v")" $((size / 512 * 512))
			'
			test_expect_success "$P" "$name: ours keeps all $size bytes" '
				test_is "$(size_of "$d/ours.$v")" "$size"
			'
			test_expect_success "$P,OLD_MOO" "$name: old uml_moo == ours up to the partial sector" '
				cmp -n $((size / 512 * 512)) "$d/old.$v" "$d/ours.$v"
			'
		fi
		test_expect_success "$P" "$name: merge leaves the COW alone" '
			if [ -n "$old_unchecked" ] && test_have_prereq OLD_MOO; then
				run "$OLD_UML_MOO" "$d/c.$v" "$d/old.$v"
			fi
			test_is "$(sum_of "$d/c.$v")" "$sum_cow"
		'
		test_expect_success "$P" "$name: merge leaves the backing alone" '
			test_is "$(sum_of "$d/back.img")" "$sum_back"
		'
	done
	rm -f "$d"/ours.* "$d"/moo.* "$d"/old.*
done

# ------------------------------------------------------------------ output is sparse
# an 8 MiB backing with data only in its first 64 KiB, once with a hole after it (sparse) and
# once with the zeros written out (full); the COW holds 4 KiB in the middle
d="$T/sparse"
test_expect_success 'sparse: setup: 8 MiB backings, one with a hole, one written out' '
	mkdir -p "$d" &&
	"$COWGEN" --variant 3 --backing "$T/.none" --size 65536 --mtime 0 --write 0:65536:5 \
		--expect "$d/head" "$T/.junk.cow" >/dev/null &&
	cp "$d/head" "$d/sparse.img" && truncate -s 8388608 "$d/sparse.img" &&
	cp "$d/sparse.img" "$d/full.img" && head -c $((8388608 - 65536)) /dev/zero >>"$d/head" &&
	cp "$d/head" "$d/full.img" &&
	touch -d @1700000000 "$d/sparse.img" "$d/full.img" &&
	test_set_prereq SPARSE
'
for kind in sparse full; do
	test_expect_success SPARSE "sparse ($kind backing): merge of an 8 MiB disk with 68 KiB of data" '
		"$COWGEN" --variant 3 --backing "$d/$kind.img" --write 4194304:4096:6 \
			--expect "$d/exp" "$d/c.cow" >/dev/null &&
		run "$UMLKIT" cow merge -q "$d/c.cow" "$d/out" &&
		test_is "$rc" 0
	'
	test_expect_success SPARSE "sparse ($kind backing): output == ground truth" '
		cmp "$d/out" "$d/exp"
	'
	test_expect_success SPARSE "sparse ($kind backing): umlkit cow merge output allocates well under 8388608 bytes" '
		a=$(alloc "$d/out") &&
		less_than "$a" $((8388608 / 2))
	'
	test_expect_success SPARSE "sparse ($kind backing): our uml_moo output allocates well under 8388608 bytes" '
		run "$OUR_MOO" "$d/c.cow" "$d/out.moo" &&
		a=$(alloc "$d/out.moo") &&
		less_than "$a" $((8388608 / 2))
	'
	# for comparison only: no check
	if test_have_prereq SPARSE,OLD_MOO; then
		run "$OLD_UML_MOO" "$d/c.cow" "$d/out.old"
		diag "sparse ($kind backing): old uml_moo output allocates $(alloc "$d/out.old") bytes"
	fi
	rm -f "$d/out" "$d/out.moo" "$d/out.old"
done

# ------------------------------------------------------------------ in-place merges (-d) on copies
for size in 65536 4097 65836; do
	for v in $variants; do
		name="-d v$v size $size"
		P="IP.$size.$v"
		A="$T/ip/$v.$size/ours" B="$T/ip/$v.$size/old"
		bs=
		test_expect_success "$name: setup: a backing and two identical COWs, ours and old" '
			mkdir -p "$A" "$B" &&
			mkback "$A/back.img" "$size" &&
			cp -p "$A/back.img" "$B/back.img" &&
			bs=$(bitmap_sectors "$v" "$A/back.img") &&
			test -n "$bs" &&
			"$COWGEN" --variant "$v" --backing "$A/back.img" $(writes "$size" "$bs") \
				--expect "$A/exp" "$A/c.cow" >/dev/null &&
			"$COWGEN" --variant "$v" --backing "$B/back.img" $(writes "$size" "$bs") \
				"$B/c.cow" >/dev/null &&
			test_set_prereq "$P"
		'
		test_expect_success "$P" "$name: our uml_moo -d exits 0" '
			run "$OUR_MOO" -d "$A/c.cow" &&
			test_is "$rc" 0
		'
		test_expect_success "$P" "$name: our uml_moo -d warns that other COWs on the backing are stale" '
			test_like "$err" "stale"
		'
		test_expect_success "$P" "$name: our backing == ground truth" '
			cmp "$A/back.img" "$A/exp"
		'
		test_expect_success "$P" "$name: our COW is re-stamped and sound afterwards" '
			run "$UMLKIT" cow check "$A/c.cow" &&
			echo "$out $err" &&
			test_is "$rc" 0
		'
		test_expect_success "$P" "$name: our COW holds no sectors afterwards" '
			run "$UMLKIT" cow info --output=json "$A/c.cow" &&
			test_is "$(json .sectors_held)" 0
		'
		test_expect_success "$P" "$name: no journal left" '
			test_path_is_missing "$A/c.cow.ukmerge"
		'

		[ $((size / 512)) -gt "${bs:-0}" ] && continue
		test_expect_success "$P,OLD_MOO" "$name: old uml_moo -d exits 0" '
			run "$OLD_UML_MOO" -d "$B/c.cow" &&
			test_is "$rc" 0
		'
		if [ $((size % 512)) = 0 ]; then
			test_expect_success "$P,OLD_MOO" "$name: old backing == ours" '
				cmp "$B/back.img" "$A/back.img"
			'
		else
			test_expect_success "$P,OLD_MOO" "$name: old backing == ours up to the partial sector" '
				cmp -n $((size / 512 * 512)) "$B/back.img" "$A/back.img"
			'
			if [ $(((size - 1) / 512)) -lt "$bs" ]; then
				# old bug #2 in -d: the COW's copy of the last partial sector is ignored
				test_expect_success "$P,OLD_MOO" "$name: old -d misses the partial sector's COW data" '
					test_must_fail cmp "$B/back.img" "$A/exp"
				'
			fi
		fi
		# old bug #4: the old tool leaves its COW stale
		test_expect_success "$P,OLD_MOO" "$name: old -d leaves a stale COW (check exits 1)" '
			run "$UMLKIT" cow check "$B/c.cow" &&
			test_is "$rc" 1
		'
	done
done

# ------------------------------------------------------------------ last partial sector, exact length
# the COW holds the partial last sector but the file ends at data_offset + size (what
# uml_mkcow sizes; the kernel's whole-sector write would extend it)
d="$T/exact"
test_expect_success 'exact-length COW holding the partial last sector: setup' '
	mkdir -p "$d" &&
	mkback "$d/back.img" 4097 &&
	lay=$("$COWGEN" --variant 3 --backing "$d/back.img" --layout "$T/.junk.cow") &&
	dofs=$(sed "s/.*data_offset=\([0-9]*\).*/\1/" <<<"$lay") &&
	"$COWGEN" --variant 3 --backing "$d/back.img" --write 4096:1:7 --length $((dofs + 4097)) \
		--expect "$d/exp" "$d/c.cow" >/dev/null &&
	test_set_prereq EXACT
'
test_expect_success EXACT 'exact-length COW holding the partial last sector: merge exits 0' '
	run "$UMLKIT" cow merge -q "$d/c.cow" "$d/out" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success EXACT 'exact-length COW holding the partial last sector: merge == ground truth' '
	cmp "$d/out" "$d/exp"
'

# ------------------------------------------------------------------ offsets past 4 GiB
# a 6 GiB sparse backing; sectors held at 4 GiB + 512 (past 32-bit offsets) and at the end;
# checked against the COW's own data area, without reading 6 GiB
d="$T/big"
big=$((6 << 30))
# sect FILE BYTE_OFFSET: one 512-byte sector as hex
sect() { od -An -tx1 -v -j "$2" -N 512 "$1" | tr -d ' \n'; }
test_expect_success '6 GiB disk: setup: a sparse backing and a COW holding two far sectors' '
	mkdir -p "$d" &&
	mkback "$d/head" 4096 &&
	cp "$d/head" "$d/back.img" && truncate -s $big "$d/back.img" &&
	touch -d @1700000000 "$d/back.img" &&
	"$COWGEN" --variant 3 --backing "$d/back.img" --write $(((4 << 30) + 512)):512:21 \
		--write $((big - 512)):512:22 "$d/c.cow" >/dev/null &&
	dofs=$("$COWGEN" --variant 3 --backing "$d/back.img" --layout "$T/.junk.cow" |
		sed "s/.*data_offset=\([0-9]*\).*/\1/") &&
	rm -f "$T/.junk.cow" &&
	test -n "$dofs" &&
	test_set_prereq BIG
'
test_expect_success BIG '6 GiB disk: merge exits 0' '
	run "$UMLKIT" cow merge -q "$d/c.cow" "$d/out" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success BIG '6 GiB disk: output is 6 GiB' '
	test_is "$(size_of "$d/out")" $big
'
test_expect_success BIG '6 GiB disk: the sector at 4 GiB + 512 comes from the COW' '
	test_is "$(sect "$d/out" $(((4 << 30) + 512)))" \
		"$(sect "$d/c.cow" $((dofs + (4 << 30) + 512)))"
'
test_expect_success BIG '6 GiB disk: the last sector comes from the COW' '
	test_is "$(sect "$d/out" $((big - 512)))" "$(sect "$d/c.cow" $((dofs + big - 512)))"
'
test_expect_success BIG '6 GiB disk: the sector before is zero' '
	test_is "$(sect "$d/out" $((4 << 30)))" "$(sect /dev/zero 0)"
'
test_expect_success BIG '6 GiB disk: the backing'"'"'s data at the start' '
	cmp -n 4096 "$d/out" "$d/head"
'
test_expect_success BIG '6 GiB disk: output is sparse (under 64 MiB allocated)' '
	test_when_finished "rm -f \"\$d/out\"" &&
	a=$(alloc "$d/out") &&
	less_than "$a" $((64 << 20))
'

# ------------------------------------------------------------------ umlkit cow merge --in-place
size=65836
for v in $all_variants; do
	name="merge --in-place v$v size $size"
	P="IPK.$v"
	A="$T/ipk/$v"
	test_expect_success "$name: setup" '
		mkdir -p "$A" &&
		mkback "$A/back.img" "$size" &&
		bs=$(bitmap_sectors "$v" "$A/back.img") &&
		test -n "$bs" &&
		"$COWGEN" --variant "$v" --backing "$A/back.img" $(writes "$size" "$bs") \
			--expect "$A/exp" "$A/c.cow" >/dev/null &&
		test_set_prereq "$P"
	'
	test_expect_success "$P" "$name: exits 0" '
		run "$UMLKIT" cow merge --in-place -q "$A/c.cow" &&
		echo "$err" &&
		test_is "$rc" 0
	'
	test_expect_success "$P" "$name: backing == ground truth" '
		cmp "$A/back.img" "$A/exp"
	'
	test_expect_success "$P" "$name: the emptied COW still shows the same disk" '
		run "$UMLKIT" cow compare "$A/c.cow" "$A/exp" &&
		test_is "$rc" 0
	'
done

# ------------------------------------------------------------------ -b and option order
d="$T/opt"
test_expect_success 'options: setup: a backing, a copy of it and a COW' '
	mkdir -p "$d" &&
	mkback "$d/back.img" 65536 &&
	"$COWGEN" --variant 3 --backing "$d/back.img" --write 1024:2048:9 --expect "$d/exp" \
		"$d/c.cow" >/dev/null &&
	cp -p "$d/back.img" "$d/other.img" &&
	test_set_prereq OPT
'
test_expect_success OPT 'uml_moo -b OTHER COW NEW works' '
	run "$OUR_MOO" -b "$d/other.img" "$d/c.cow" "$d/o1" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success OPT 'uml_moo -b: output == ground truth' '
	cmp "$d/o1" "$d/exp"
'
test_expect_success OPT,OLD_MOO 'old uml_moo -b gives the same output' '
	run "$OLD_UML_MOO" -b "$d/other.img" "$d/c.cow" "$d/o2" &&
	cmp "$d/o2" "$d/o1"
'

test_expect_success OPT,OLD_MOO 'old uml_moo -b X -d cow fails (option-order bug)' '
	run "$OLD_UML_MOO" -b "$d/other.img" -d "$d/c.cow" &&
	test_is "$rc" 1
'
test_expect_success OPT,OLD_MOO 'old uml_moo -b X -d: takes -d for the COW file' '
	test_like "$err$out" "COW file open"
'
test_expect_success OPT 'our uml_moo -b X -d cow works' '
	cp -p "$d/back.img" "$d/keep.img" &&
	run "$OUR_MOO" -b "$d/other.img" -d "$d/c.cow" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success OPT 'our uml_moo -b X -d wrote into X' '
	cmp "$d/other.img" "$d/exp"
'
test_expect_success OPT 'our uml_moo -b X -d left the header'"'"'s backing alone' '
	cmp "$d/back.img" "$d/keep.img"
'

test_expect_success OPT 'our uml_moo -d -b X cow works too' '
	"$COWGEN" --variant 3 --backing "$d/back.img" --write 0:512:10 --expect "$d/exp2" \
		"$d/c2.cow" >/dev/null &&
	cp -p "$d/back.img" "$d/other2.img" &&
	run "$OUR_MOO" -d -b "$d/other2.img" "$d/c2.cow" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success OPT 'our uml_moo -d -b X wrote into X' '
	cmp "$d/other2.img" "$d/exp2"
'

test_expect_success 'uml_moo with no arguments exits 1' '
	run "$OUR_MOO" &&
	test_is "$rc" 1
'
test_expect_success 'uml_moo with no arguments prints usage' '
	test_like "$err$out" "[Uu]sage"
'
test_expect_success 'uml_moo -d alone exits 1 (the old one segfaults)' '
	run "$OUR_MOO" -d &&
	test_is "$rc" 1
'
test_expect_success OPT 'uml_moo with a COW and no output exits 1' '
	run "$OUR_MOO" "$d/c2.cow" &&
	test_is "$rc" 1
'

# ------------------------------------------------------------------ NEW == backing
d="$T/same"
test_expect_success 'NEW == backing: setup: two identical backings and COWs, ours and old' '
	mkdir -p "$d/ours" "$d/old" &&
	mkback "$d/ours/back.img" 65536 &&
	cp -p "$d/ours/back.img" "$d/old/back.img" &&
	"$COWGEN" --variant 3 --backing "$d/ours/back.img" --write 8192:4096:12 "$d/ours/c.cow" \
		>/dev/null &&
	"$COWGEN" --variant 3 --backing "$d/old/back.img" --write 8192:4096:12 "$d/old/c.cow" \
		>/dev/null &&
	sum=$(sum_of "$d/ours/back.img") &&
	test_set_prereq SAME
'
test_expect_success SAME,OLD_MOO 'old uml_moo COW BACKING fails' '
	run "$OLD_UML_MOO" "$d/old/c.cow" "$d/old/back.img" &&
	test_is "$rc" 1
'
test_expect_success SAME,OLD_MOO 'old uml_moo COW BACKING has truncated the backing to 0 bytes (bug #3)' '
	test_is "$(size_of "$d/old/back.img")" 0
'
test_expect_success SAME 'our uml_moo COW BACKING refuses (exit 1)' '
	run "$OUR_MOO" "$d/ours/c.cow" "$d/ours/back.img" &&
	test_is "$rc" 1
'
test_expect_success SAME 'our uml_moo COW BACKING: message names the backing' '
	test_like "$err" "back\.img"
'
test_expect_success SAME 'our uml_moo COW BACKING: backing untouched' '
	test_is "$(sum_of "$d/ours/back.img")" "$sum"
'
test_expect_success SAME 'umlkit cow merge -f COW BACKING refuses (exit 1)' '
	run "$UMLKIT" cow merge -f "$d/ours/c.cow" "$d/ours/back.img" &&
	test_is "$rc" 1
'
test_expect_success SAME 'umlkit cow merge -f COW BACKING: backing untouched' '
	test_is "$(sum_of "$d/ours/back.img")" "$sum"
'

test_done
