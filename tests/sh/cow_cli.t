#!/bin/bash
# The `umlkit cow` command line: create (against the old uml_mkcow's bytes), info, check,
# map, compare, diff, rebase, restamp, merge refusals and JSON progress.
#
# The files a section works on are made by setup blocks that set a prerequisite; its checks
# are one block each and name it. The old uml_mkcow (OLD_MKCOW) and python3 (PYTHON3, which
# holds fcntl locks as a running guest does) are environment prerequisites.
. "$(dirname "$0")/lib.sh"

COWGEN="$UK_BUILD/tests/helpers/cowgen"
[ -x "$UMLKIT" ] || test_skip_all "$UMLKIT not built (make)"
[ -x "$COWGEN" ] || test_skip_all "$COWGEN not built (make test-build)"
command -v jq >/dev/null || test_skip_all "jq is needed to read JSON output"
test_lazy_prereq OLD_MKCOW '[ -x "$OLD_UML_MKCOW" ]' # uml-utilities
test_lazy_prereq PYTHON3 'command -v python3'

SIZE=1048576
MT=1700000000
size_of() { stat -c %s "$1"; }
# header_path COW: the v3 header's backing path field up to its NUL
header_path() { head -c 4128 "$1" | tail -c 4096 | tr -d '\0'; }
# header_tail_zero COW: 0 when every byte of the v3 path field after the path is zero
header_tail_zero() {
	local n
	n=$(header_path "$1" | wc -c)
	head -c 4128 "$1" | tail -c $((4096 - n)) | cmp -s - <(head -c $((4096 - n)) /dev/zero)
}
# mkfile FILE SIZE SEED: deterministic content, fixed mtime
mkfile() {
	"$COWGEN" --variant 3 --backing "$T/.none" --size "$2" --mtime 0 --write "0:$2:$3" \
		--expect "$1" "$T/.junk" >/dev/null && rm -f "$T/.junk" && touch -d @$MT "$1"
}
# cow_sectors MAP_JSON: the sectors the COW holds, one a line
cow_sectors() {
	json '.[] | select(.source == "cow") | "\(.offset) \(.length)"' "$1" |
		while read -r o l; do seq $((o / 512)) $(((o + l + 511) / 512 - 1)); done
}
# diff_sectors A B: the 512-byte sectors where two equal-sized files differ
diff_sectors() { cmp -l "$1" "$2" | awk '{ print int(($1 - 1) / 512) }' | sort -un; }
# at_least N MIN: N >= MIN, with the numbers in the log when not
at_least() {
	[ "$1" -ge "$2" ] && return 0
	echo "$1 is below $2" >&2
	return 1
}

cd "$T" || exit 1
B="$T/img/back.img"

test_expect_success 'setup: a 1 MiB backing, a symlink to its directory' '
	mkdir -p img sub &&
	mkfile "$B" $SIZE 1 &&
	ln -s "$T/img" "$T/link" &&
	real_b="$(realpath "$T/img")/back.img" &&
	test_set_prereq BACK
'

# ============================================================ create
test_expect_success BACK 'create: exits 0' '
	run "$UMLKIT" cow create "$T/a.cow" "$B" &&
	echo "$err" &&
	test_is "$rc" 0 &&
	test_set_prereq ACOW
'
test_expect_success BACK,OLD_MKCOW "setup: old uml_mkcow's COW over the same backing" '
	"$OLD_UML_MKCOW" "$T/old.cow" "$B" &&
	test_set_prereq OLDCOW
'
test_expect_success ACOW,OLDCOW "create: first 4128 bytes == old uml_mkcow's" '
	cmp -n 4128 "$T/a.cow" "$T/old.cow"
'
test_expect_success ACOW,OLDCOW "create: same length as old uml_mkcow's" '
	test_is "$(size_of "$T/a.cow")" "$(size_of "$T/old.cow")"
'
test_expect_success ACOW 'create: length data_offset + size' '
	test_is "$(size_of "$T/a.cow")" $((12288 + SIZE))
'
test_expect_success ACOW,OLDCOW "create: whole file == old uml_mkcow's" '
	cmp "$T/a.cow" "$T/old.cow"
'
test_expect_success ACOW 'create: the new COW is sparse' '
	alloc=$(($(stat -c %b "$T/a.cow") * 512)) &&
	echo "$alloc bytes allocated" &&
	test "$alloc" -lt $SIZE
'

# relative and symlinked paths are stored absolute, the directory canonicalised
test_expect_success BACK 'create: relative backing path' '
	(cd "$T/sub" && "$UMLKIT" cow create rel.cow ../img/back.img) &&
	test_set_prereq REL
'
test_expect_success REL "create: ../img/back.img stored as the canonical absolute path" '
	test_is "$(header_path "$T/sub/rel.cow")" "$real_b"
'
test_expect_success REL,OLD_MKCOW "create: relative path: header == old uml_mkcow's" '
	(cd "$T/sub" && "$OLD_UML_MKCOW" oldrel.cow ../img/back.img) &&
	cmp -n 4128 "$T/sub/rel.cow" "$T/sub/oldrel.cow"
'
test_expect_success BACK 'create: bare name stored as cwd/name' '
	(cd "$T/img" && "$UMLKIT" cow create ../sub/bare.cow back.img) &&
	test_is "$(header_path "$T/sub/bare.cow")" "$real_b"
'
test_expect_success BACK 'create: symlinked directory, .. and . resolved' '
	run "$UMLKIT" cow create "$T/sub/link.cow" "$T/link/../img/./back.img" &&
	test_is "$(header_path "$T/sub/link.cow")" "$real_b"
'
test_expect_success BACK 'create: a symlink in the last component is kept (like the kernel)' '
	ln -s back.img "$T/img/last-link.img" &&
	run "$UMLKIT" cow create "$T/sub/ll.cow" "$T/link/last-link.img" &&
	test_is "$(header_path "$T/sub/ll.cow")" "$(realpath "$T/img")/last-link.img"
'
test_expect_success BACK,OLD_MKCOW "create: last-component symlink: header == old uml_mkcow's" '
	"$OLD_UML_MKCOW" "$T/sub/oldll.cow" "$T/link/last-link.img" &&
	cmp -n 4128 "$T/sub/ll.cow" "$T/sub/oldll.cow"
'
test_expect_success BACK 'create: path field zero past the NUL' '
	header_tail_zero "$T/sub/link.cow"
'

# existing COW without -f
test_expect_success ACOW 'create: existing COW without -f exits 1' '
	sum=$(sum_of "$T/a.cow") &&
	run "$UMLKIT" cow create "$T/a.cow" "$B" &&
	test_is "$rc" 1
'
test_expect_success ACOW 'create: says the COW already exists' '
	test_like "$err" "a\.cow.*already exists|already exists.*a\.cow"
'
test_expect_success ACOW 'create: existing COW untouched' '
	test_is "$(sum_of "$T/a.cow")" "$sum"
'

# -f over a COW that held data: ours starts fresh, old uml_mkcow -f keeps the old bitmap
test_expect_success BACK 'create -f: setup: two COWs holding data, longer than needed' '
	"$COWGEN" --variant 3 --backing "$B" --write 0:65536:3 --write 900000:1000:4 \
		"$T/full.cow" >/dev/null &&
	cp "$T/full.cow" "$T/full-old.cow" &&
	truncate -s $((12288 + SIZE + 1000000)) "$T/full.cow" "$T/full-old.cow" &&
	test_set_prereq FULL
'
test_expect_success FULL 'create -f: the COW held 131 sectors before' '
	run "$UMLKIT" cow info --output=json "$T/full.cow" &&
	test_is "$(json .sectors_held)" 131
'
test_expect_success FULL 'create -f: exits 0' '
	ino=$(stat -c %i "$T/full.cow") &&
	run "$UMLKIT" cow create -f "$T/full.cow" "$B" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success FULL 'create -f: info shows 0 sectors held afterwards' '
	run "$UMLKIT" cow info --output=json "$T/full.cow" &&
	test_is "$(json .sectors_held)" 0
'
test_expect_success FULL 'create -f: length data_offset + size again' '
	test_is "$(size_of "$T/full.cow")" $((12288 + SIZE))
'
test_expect_success FULL,ACOW 'create -f: same bytes as a fresh create' '
	cmp "$T/full.cow" "$T/a.cow"
'
test_expect_success FULL 'create -f: replaced the file whole (new inode)' '
	test_isnt "$(stat -c %i "$T/full.cow")" "$ino"
'
test_expect_success FULL,OLD_MKCOW 'old uml_mkcow -f keeps the old bitmap (bug #8)' '
	"$OLD_UML_MKCOW" -f "$T/full-old.cow" "$B" &&
	run "$UMLKIT" cow info -U --output=json "$T/full-old.cow" &&
	test_is "$(json .sectors_held)" 131
'
test_expect_success FULL,OLD_MKCOW 'old uml_mkcow -f keeps the old length' '
	test_is "$(size_of "$T/full-old.cow")" $((12288 + SIZE + 1000000))
'

# failures leave no file
test_expect_success BACK 'create: missing backing exits 1' '
	run "$UMLKIT" cow create "$T/nob.cow" "$T/img/missing.img" &&
	test_is "$rc" 1
'
test_expect_success BACK 'create: missing backing: message names it' '
	test_like "$err" "missing\.img"
'
test_expect_success BACK 'create: missing backing leaves no COW' '
	test_path_is_missing "$T/nob.cow"
'
test_expect_success ACOW 'create: a backing that is itself a COW is refused' '
	run "$UMLKIT" cow create "$T/onacow.cow" "$T/a.cow" &&
	test_is "$rc" 1
'
test_expect_success ACOW 'create: refused COW backing leaves no file' '
	test_path_is_missing "$T/onacow.cow"
'

# the uml_mkcow name
test_expect_success BACK 'uml_mkcow COW BACKING exits 0' '
	run "$UK_BUILD/uml_mkcow" "$T/mk.cow" "$B" &&
	test_is "$rc" 0 &&
	test_set_prereq MK
'
test_expect_success MK,OLDCOW 'uml_mkcow: same bytes as old uml_mkcow' '
	cmp "$T/mk.cow" "$T/old.cow"
'
test_expect_success 'uml_mkcow without arguments exits 2 (usage)' '
	run "$UK_BUILD/uml_mkcow" &&
	test_is "$rc" 2
'
test_expect_success MK 'uml_mkcow over an existing COW exits 1' '
	run "$UK_BUILD/uml_mkcow" "$T/mk.cow" "$B" &&
	test_is "$rc" 1
'
test_expect_success MK 'uml_mkcow -f exits 0' '
	run "$UK_BUILD/uml_mkcow" -f "$T/mk.cow" "$B" &&
	test_is "$rc" 0
'

# ============================================================ info
test_expect_success BACK 'info: setup: a COW holding 17 sectors and its ground truth' '
	"$COWGEN" --variant 3 --backing "$B" --write 4096:8192:5 --write $((SIZE - 1)):1:6 \
		--expect "$T/c.exp" "$T/c.cow" >/dev/null &&
	test_set_prereq CCOW
'
test_expect_success CCOW 'info: exits 0' '
	run "$UMLKIT" cow info "$T/c.cow" &&
	test_is "$rc" 0
'
test_expect_success CCOW 'info: human output names the backing' '
	test_like "$out" "back\.img"
'
test_expect_success CCOW 'info: human output gives the size' '
	test_like "$out" "$SIZE"
'
test_expect_success CCOW 'info --output=json: exits 0' '
	run "$UMLKIT" cow info --output=json "$T/c.cow" &&
	cj=$out &&
	test_is "$rc" 0
'
test_expect_success CCOW 'info --output=json: one JSON object' '
	test_is "$(json type "$cj")" object
'
test_expect_success CCOW 'info json: path' 'test_is "$(json .path "$cj")" "$T/c.cow"'
test_expect_success CCOW 'info json: version' 'test_is "$(json .version "$cj")" 3'
test_expect_success CCOW 'info json: broken_layout' 'test_is "$(json .broken_layout "$cj")" false'
test_expect_success CCOW 'info json: backing' 'test_is "$(json .backing "$cj")" "$B"'
test_expect_success CCOW 'info json: size' 'test_is "$(json .size "$cj")" $SIZE'
test_expect_success CCOW 'info json: mtime' 'test_is "$(json .mtime "$cj")" $MT'
test_expect_success CCOW 'info json: backing_exists' 'test_is "$(json .backing_exists "$cj")" true'
test_expect_success CCOW 'info json: backing_size' 'test_is "$(json .backing_size "$cj")" $SIZE'
test_expect_success CCOW 'info json: backing_mtime' 'test_is "$(json .backing_mtime "$cj")" $MT'
test_expect_success CCOW 'info json: backing_matches' '
	test_is "$(json .backing_matches "$cj")" true
'
test_expect_success CCOW 'info json: sector_size' 'test_is "$(json .sector_size "$cj")" 512'
test_expect_success CCOW 'info json: alignment' 'test_is "$(json .alignment "$cj")" 4096'
test_expect_success CCOW 'info json: header_length' 'test_is "$(json .header_length "$cj")" 4128'
test_expect_success CCOW 'info json: bitmap_offset' 'test_is "$(json .bitmap_offset "$cj")" 8192'
test_expect_success CCOW 'info json: bitmap_length' 'test_is "$(json .bitmap_length "$cj")" 256'
test_expect_success CCOW 'info json: data_offset' 'test_is "$(json .data_offset "$cj")" 12288'
test_expect_success CCOW 'info json: sectors' 'test_is "$(json .sectors "$cj")" 2048'
test_expect_success CCOW 'info json: sectors_held' 'test_is "$(json .sectors_held "$cj")" 17'
test_expect_success CCOW 'info json: bytes_held' 'test_is "$(json .bytes_held "$cj")" $((17 * 512))'
test_expect_success CCOW 'info json: file_size' '
	test_is "$(json .file_size "$cj")" "$(size_of "$T/c.cow")"
'
test_expect_success CCOW 'info json: file_allocated' '
	test_is "$(json .file_allocated "$cj")" $(($(stat -c %b "$T/c.cow") * 512))
'
test_expect_success CCOW 'info json: merge_pending' '
	test_is "$(json .merge_pending "$cj")" false
'

for v in 1le 2 3-512 3broken; do
	P="V.$v"
	test_expect_success BACK "info json v$v: setup: a v$v COW holding 2 sectors" '
		"$COWGEN" --variant "$v" --backing "$B" --write 0:1024:2 "$T/v$v.cow" >/dev/null &&
		test_set_prereq "$P"
	'
	test_expect_success "$P" "info json v$v: version ${v:0:1}" '
		run "$UMLKIT" cow info --output=json "$T/v$v.cow" &&
		vj=$out &&
		test_is "$(json .version "$vj")" "${v:0:1}"
	'
	test_expect_success "$P" "info json v$v: sectors_held" '
		test_is "$(json .sectors_held "$vj")" 2
	'
	test_expect_success "$P" "info json v$v: broken_layout" '
		test_is "$(json .broken_layout "$vj")" "$([ "$v" = 3broken ] && echo true || echo false)"
	'
	test_expect_success "$P" "info json v$v: data_offset" '
		lay=$("$COWGEN" --variant "$v" --backing "$B" --layout "$T/.junk") &&
		test_is "$(json .data_offset "$vj")" "$(sed "s/.*data_offset=\([0-9]*\).*/\1/" <<<"$lay")"
	'
done
test_expect_success V.3-512 'info json v3-512: alignment 512' '
	test_is "$(json .alignment "$("$UMLKIT" cow info --output=json "$T/v3-512.cow")")" 512
'

# stale backing seen by info
test_expect_success BACK 'info: setup: a COW whose backing was touched since' '
	cp -p "$B" "$T/img/st.img" &&
	"$COWGEN" --variant 3 --backing "$T/img/st.img" "$T/st.cow" >/dev/null &&
	touch -d @$((MT + 10)) "$T/img/st.img" &&
	test_set_prereq STALE
'
test_expect_success STALE 'info: a stale COW is still described (exit 0)' '
	run "$UMLKIT" cow info --output=json "$T/st.cow" &&
	sj=$out &&
	test_is "$rc" 0
'
test_expect_success STALE 'info json: stale: backing_matches false' '
	test_is "$(json .backing_matches "$sj")" false
'
test_expect_success STALE 'info json: stale: actual backing_mtime' '
	test_is "$(json .backing_mtime "$sj")" $((MT + 10))
'
test_expect_success STALE 'info json: stale: recorded mtime' '
	test_is "$(json .mtime "$sj")" $MT
'
test_expect_success 'info: setup: a COW whose backing does not exist' '
	"$COWGEN" --variant 3 --backing "$T/img/none.img" --size 4096 --mtime $MT "$T/gone.cow" \
		>/dev/null &&
	test_set_prereq GONE
'
test_expect_success GONE 'info json: missing backing: backing_exists false' '
	run "$UMLKIT" cow info --output=json "$T/gone.cow" &&
	gj=$out &&
	test_is "$(json .backing_exists "$gj")" false
'
test_expect_success GONE 'info json: missing backing: backing_size null' '
	test_is "$(json .backing_size "$gj")" null
'

# ============================================================ check
test_expect_success CCOW 'check: sound COW exits 0' '
	run "$UMLKIT" cow check "$T/c.cow" &&
	test_is "$rc" 0
'
test_expect_success CCOW 'check json: sound: status ok, exit 0, no problems' '
	run "$UMLKIT" cow check --output=json "$T/c.cow" &&
	test_is "$(json .status)/$(json .exit)/$(json ".problems | length")" "ok/0/0"
'
test_expect_success STALE 'check: stale mtime exits 1' '
	run "$UMLKIT" cow check "$T/st.cow" &&
	test_is "$rc" 1
'
test_expect_success STALE 'check: stale mtime: names the mtime' '
	test_like "$out$err" "mtime"
'
test_expect_success STALE 'check json: stale exits 1' '
	run "$UMLKIT" cow check --output=json "$T/st.cow" &&
	scj=$out &&
	test_is "$rc" 1
'
test_expect_success STALE 'check json: stale' '
	test_is "$(json .status "$scj")/$(json .exit "$scj")" "stale/1"
'
test_expect_success STALE 'check json: stale: problem names the mtime' '
	test_like "$(json ".problems[]" "$scj")" "mtime"
'
test_expect_success GONE 'check: missing backing exits 1' '
	run "$UMLKIT" cow check "$T/gone.cow" &&
	test_is "$rc" 1
'
test_expect_success BACK 'check: setup: a COW with alignment 0 in its header' '
	"$COWGEN" --variant 3 --backing "$B" --raw-header alignment=0 "$T/bad.cow" >/dev/null &&
	test_set_prereq CORRUPT
'
test_expect_success CORRUPT 'check: corrupt header exits 2' '
	run "$UMLKIT" cow check "$T/bad.cow" &&
	test_is "$rc" 2
'
test_expect_success CORRUPT 'check json: corrupt' '
	run "$UMLKIT" cow check --output=json "$T/bad.cow" &&
	bj=$out &&
	test_is "$(json .status "$bj")/$(json .exit "$bj")" "corrupt/2"
'
test_expect_success CORRUPT 'check json: corrupt: problem names the field' '
	test_like "$(json ".problems[]" "$bj")" "alignment"
'
test_expect_success BACK 'check: file too short exits 2' '
	"$COWGEN" --variant 3 --backing "$B" --length 12000 "$T/short.cow" >/dev/null &&
	run "$UMLKIT" cow check "$T/short.cow" &&
	test_is "$rc" 2
'
test_expect_success BACK 'check: a raw image (not a COW) exits 2' '
	run "$UMLKIT" cow check "$B" &&
	test_is "$rc" 2
'
test_expect_success 'check: nonexistent file exits 3' '
	run "$UMLKIT" cow check "$T/nonexistent.cow" &&
	test_is "$rc" 3
'
test_expect_success 'check json: unopenable' '
	run "$UMLKIT" cow check --output=json "$T/nonexistent.cow" &&
	test_is "$(json .status)/$(json .exit)" "unopenable/3"
'

# ============================================================ map
# map_walk TEXT: walks `cow map`'s text; $map_bad 1 when an extent does not start where the
# last ended or its source is not cow|backing|hole, $map_sum the lengths' sum
map_walk() {
	local o l s next=0
	map_bad=0 map_sum=0
	while read -r o l s; do
		[ "$o" = OFFSET ] && continue # a column header line
		[ "$o" = "$next" ] || map_bad=1
		case $s in cow | backing | hole) ;; *) map_bad=1 ;; esac
		map_sum=$((map_sum + l))
		next=$((o + l))
	done <<<"$1"
}
# a sparse backing: data in its first 64 KiB only, a hole after
test_expect_success 'map: setup: a backing with a hole and a COW over it' '
	truncate -s $SIZE "$T/img/sp.img" &&
	"$COWGEN" --variant 3 --backing "$T/.none" --size 65536 --mtime 0 --write 0:65536:8 \
		--expect "$T/sp.head" "$T/.junk" >/dev/null &&
	dd if="$T/sp.head" of="$T/img/sp.img" conv=notrunc status=none &&
	touch -d @$MT "$T/img/sp.img" &&
	"$COWGEN" --variant 3 --backing "$T/img/sp.img" --write 1024:1024:1 --write 500000:100:2 \
		--write $((SIZE - 512)):512:3 --expect "$T/sp.exp" "$T/sp.cow" >/dev/null &&
	test_set_prereq MAP
'
test_expect_success MAP 'map: exits 0' '
	run "$UMLKIT" cow map "$T/sp.cow" &&
	mt=$out &&
	test_is "$rc" 0
'
test_expect_success MAP 'map: extents are contiguous, sources are cow|backing|hole' '
	map_walk "$mt" &&
	test_is "$map_bad" 0
'
test_expect_success MAP 'map: extents add up to the size' '
	map_walk "$mt" &&
	test_is "$map_sum" $SIZE
'
test_expect_success MAP "map: the backing's hole is reported as a hole" '
	test_like "$mt" "hole"
'
test_expect_success MAP 'map json: lengths add up to the size' '
	run "$UMLKIT" cow map --output=json "$T/sp.cow" &&
	mj=$out &&
	test_is "$(json "[.[].length] | add" "$mj")" $SIZE
'
test_expect_success MAP 'map json: cow extents are exactly the held sectors' '
	test_is "$(json "[.[] | select(.source == \"cow\") | \"\(.offset)+\(.length)\"] | join(\",\")" "$mj")" \
		"1024+1024,499712+512,$((SIZE - 512))+512"
'
test_expect_success MAP 'map json: no hole where the backing has data' '
	first_hole=$(json "[.[] | select(.source == \"hole\") | .offset] | min" "$mj") &&
	echo "first hole: $first_hole" &&
	test "${first_hole:-0}" -ge 65536
'
# a size that ends mid-sector
test_expect_success 'map: setup: a 1000-byte disk, the COW holding its last byte' '
	mkfile "$T/img/odd.img" 1000 4 &&
	"$COWGEN" --variant 3 --backing "$T/img/odd.img" --write 999:1:5 "$T/odd.cow" >/dev/null &&
	test_set_prereq ODD
'
test_expect_success ODD 'map json: 1000-byte disk: lengths add up to 1000' '
	run "$UMLKIT" cow map --output=json "$T/odd.cow" &&
	oj=$out &&
	test_is "$(json "[.[].length] | add" "$oj")" 1000
'
test_expect_success ODD 'map json: 1000-byte disk: the partial last sector is 488 bytes from the COW' '
	test_is "$(json ".[-1] | \"\(.offset) \(.length) \(.source)\"" "$oj")" "512 488 cow"
'

# ============================================================ compare
test_expect_success CCOW 'merge == ground truth' '
	run "$UMLKIT" cow merge -q "$T/c.cow" "$T/c.merged" &&
	cmp "$T/c.merged" "$T/c.exp"
'
test_expect_success CCOW 'compare: COW vs its ground truth (raw): same, exit 0' '
	run "$UMLKIT" cow compare "$T/c.cow" "$T/c.exp" &&
	test_is "$rc" 0
'
test_expect_success CCOW 'compare: v3 COW vs v2 COW with the same content: exit 0' '
	"$COWGEN" --variant 2 --backing "$B" --write 4096:8192:5 --write $((SIZE - 1)):1:6 \
		"$T/c2.cow" >/dev/null &&
	run "$UMLKIT" cow compare "$T/c.cow" "$T/c2.cow" &&
	test_is "$rc" 0
'
test_expect_success CCOW 'compare: setup: the ground truth with byte 300001 flipped, and its head' '
	cp "$T/c.exp" "$T/c.mod" &&
	orig=$(od -An -tx1 -j 300001 -N1 "$T/c.mod" | tr -d " ") &&
	printf "\\x$(printf %02x $((0x$orig ^ 0xff)))" |
		dd of="$T/c.mod" bs=1 seek=300001 conv=notrunc status=none &&
	test_must_fail cmp -s "$T/c.mod" "$T/c.exp" &&
	head -c 4096 "$T/c.exp" >"$T/c.head" &&
	test_set_prereq CMOD
'
test_expect_success CMOD 'compare: one byte differs: exit 1' '
	run "$UMLKIT" cow compare "$T/c.cow" "$T/c.mod" &&
	test_is "$rc" 1
'
test_expect_success CMOD 'compare: names the first differing offset' '
	test_like "$out$err" "300001"
'
test_expect_success CMOD 'compare: raw vs raw, different: exit 1' '
	run "$UMLKIT" cow compare "$T/c.mod" "$T/c.exp" &&
	test_is "$rc" 1
'
test_expect_success CMOD 'compare: different sizes: exit 1' '
	run "$UMLKIT" cow compare "$T/c.exp" "$T/c.head" &&
	test_is "$rc" 1
'
test_expect_success CCOW 'compare: missing image: exit 2' '
	run "$UMLKIT" cow compare "$T/c.exp" "$T/nonexistent.img" &&
	test_is "$rc" 2
'

# ============================================================ diff
# overwrite FILE OFF:LEN...: LEN bytes of 0xaa at each OFF
overwrite() {
	local f=$1 w
	shift
	for w in "$@"; do
		head -c "${w#*:}" /dev/zero | tr '\0' '\252' |
			dd of="$f" bs=1 seek="${w%:*}" conv=notrunc status=none || return 1
	done
}
test_expect_success BACK 'diff: setup: BASE and NEW differing in four places' '
	cp "$B" "$T/base.img" &&
	cp "$B" "$T/new.img" &&
	overwrite "$T/new.img" 0:1 51200:2000 700001:1 $((SIZE - 1)):1 &&
	test_must_fail cmp -s "$T/base.img" "$T/new.img" &&
	touch -d @$MT "$T/base.img" &&
	test_set_prereq DIFF
'
test_expect_success DIFF 'diff: exits 0' '
	run "$UMLKIT" cow diff -q "$T/base.img" "$T/new.img" "$T/d.cow" &&
	echo "$err" &&
	test_is "$rc" 0 &&
	test_set_prereq DCOW
'
test_expect_success DCOW 'diff: merge of the diff COW == NEW' '
	run "$UMLKIT" cow merge -q "$T/d.cow" "$T/d.merged" &&
	cmp "$T/d.merged" "$T/new.img"
'
test_expect_success DCOW 'diff: the COW holds exactly the differing sectors' '
	want=$(diff_sectors "$T/base.img" "$T/new.img" | tr "\n" " ") &&
	echo "differing sectors: $want" &&
	run "$UMLKIT" cow map --output=json "$T/d.cow" &&
	test_is "$(cow_sectors "$out" | tr "\n" " ")" "$want"
'
test_expect_success DCOW 'diff: sectors_held == differing sectors' '
	want=$(diff_sectors "$T/base.img" "$T/new.img" | tr "\n" " ") &&
	run "$UMLKIT" cow info --output=json "$T/d.cow" &&
	test_is "$(json .sectors_held)" "$(wc -w <<<"$want")"
'
test_expect_success DCOW 'diff: existing COW without -f exits 1' '
	run "$UMLKIT" cow diff -q "$T/base.img" "$T/new.img" "$T/d.cow" &&
	test_is "$rc" 1
'
test_expect_success DCOW 'diff -f: replaces the COW' '
	run "$UMLKIT" cow diff -f -q "$T/base.img" "$T/new.img" "$T/d.cow" &&
	test_is "$rc" 0
'
test_expect_success DIFF,CMOD 'diff: sizes differ: exits 1' '
	run "$UMLKIT" cow diff -q "$T/base.img" "$T/c.head" "$T/d2.cow" &&
	test_is "$rc" 1
'
test_expect_success DIFF,CMOD 'diff: a failed diff leaves no COW' '
	test_path_is_missing "$T/d2.cow"
'
# a size that ends mid-sector, differing in the last byte
test_expect_success 'diff: 4097-byte disk, last byte differs: merge == NEW' '
	mkfile "$T/o-base.img" 4097 9 &&
	cp "$T/o-base.img" "$T/o-new.img" &&
	printf Z | dd of="$T/o-new.img" bs=1 seek=4096 conv=notrunc status=none &&
	run "$UMLKIT" cow diff -q "$T/o-base.img" "$T/o-new.img" "$T/o.cow" &&
	run "$UMLKIT" cow merge -q "$T/o.cow" "$T/o.merged" &&
	cmp "$T/o.merged" "$T/o-new.img"
'

# ============================================================ rebase
# -u: same content under another name, only the header changes
test_expect_success BACK 'rebase -u: setup: a COW over r1.img, r1b.img a copy of it' '
	cp "$B" "$T/img/r1.img" && touch -d @$MT "$T/img/r1.img" &&
	cp "$B" "$T/img/r1b.img" && touch -d @$((MT + 99)) "$T/img/r1b.img" &&
	"$COWGEN" --variant 3 --backing "$T/img/r1.img" --write 4096:8192:5 \
		--write 800000:3000:6 "$T/r1.cow" >/dev/null &&
	"$UMLKIT" cow merge -q "$T/r1.cow" "$T/r1.before" &&
	test_set_prereq R1
'
test_expect_success R1 'rebase -u: exits 0' '
	run "$UMLKIT" cow rebase -u "$T/r1.cow" "$T/img/r1b.img" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success R1 'rebase -u: header names the new backing' '
	run "$UMLKIT" cow info --output=json "$T/r1.cow" &&
	rj=$out &&
	test_is "$(json .backing "$rj")" "$T/img/r1b.img"
'
test_expect_success R1 "rebase -u: header takes the new backing's mtime" '
	test_is "$(json .mtime "$rj")" $((MT + 99))
'
test_expect_success R1 'rebase -u: check is clean afterwards' '
	run "$UMLKIT" cow check "$T/r1.cow" &&
	test_is "$rc" 0
'
test_expect_success R1 'rebase -u: guest view unchanged' '
	run "$UMLKIT" cow compare "$T/r1.cow" "$T/r1.before" &&
	test_is "$rc" 0
'
test_expect_success R1 'rebase -u: a backing of another size is refused' '
	"$COWGEN" --variant 3 --backing "$T/.none" --size 4096 --mtime 0 \
		--expect "$T/img/tiny.img" "$T/.junk" >/dev/null &&
	sum=$(sum_of "$T/r1.cow") &&
	run "$UMLKIT" cow rebase -u "$T/r1.cow" "$T/img/tiny.img" &&
	test_is "$rc" 1
'
test_expect_success R1 'rebase -u: refused rebase leaves the COW as it was' '
	test_is "$(sum_of "$T/r1.cow")" "$sum"
'

# safe rebase onto different content: sectors that differ are copied into the COW
test_expect_success BACK,DIFF 'rebase: setup: a COW over r2.img, its view and its sectors' '
	cp "$B" "$T/img/r2.img" && touch -d @$MT "$T/img/r2.img" &&
	"$COWGEN" --variant 3 --backing "$T/img/r2.img" --write 4096:8192:5 --write 51200:512:6 \
		"$T/r2.cow" >/dev/null &&
	"$UMLKIT" cow merge -q "$T/r2.cow" "$T/r2.before" &&
	run "$UMLKIT" cow map --output=json "$T/r2.cow" &&
	held_before=$(cow_sectors "$out") &&
	test -n "$held_before" &&
	test_set_prereq R2
'
test_expect_success R2 'rebase: exits 0' '
	run "$UMLKIT" cow rebase -q "$T/r2.cow" "$T/new.img" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success R2 'rebase: guest view unchanged' '
	run "$UMLKIT" cow compare "$T/r2.cow" "$T/r2.before" &&
	echo "$out $err" &&
	test_is "$rc" 0
'
test_expect_success R2 'rebase: merge after == merge before' '
	run "$UMLKIT" cow merge -q "$T/r2.cow" "$T/r2.after" &&
	cmp "$T/r2.after" "$T/r2.before"
'
test_expect_success R2 'rebase: check is clean afterwards' '
	run "$UMLKIT" cow check "$T/r2.cow" &&
	test_is "$rc" 0
'
test_expect_success R2 'rebase: the COW holds its old sectors plus exactly those where the backings differ' '
	run "$UMLKIT" cow map --output=json "$T/r2.cow" &&
	want=$(printf "%s\n%s\n" "$held_before" "$(diff_sectors "$T/img/r2.img" "$T/new.img")" |
		sort -un | tr "\n" " ") &&
	test_is "$(cow_sectors "$out" | sort -n | tr "\n" " ")" "$want"
'

# ============================================================ restamp
test_expect_success BACK 'restamp: setup: a COW whose backing was touched since' '
	cp "$B" "$T/img/rs.img" && touch -d @$MT "$T/img/rs.img" &&
	"$COWGEN" --variant 3 --backing "$T/img/rs.img" --write 0:512:1 "$T/rs.cow" >/dev/null &&
	touch -d @$((MT + 500)) "$T/img/rs.img" &&
	test_set_prereq RS
'
test_expect_success RS 'restamp without -f: exits 1' '
	sum=$(sum_of "$T/rs.cow") &&
	run "$UMLKIT" cow restamp "$T/rs.cow" &&
	test_is "$rc" 1
'
test_expect_success RS 'restamp without -f: says what it would change' '
	test_like "$out$err" "$MT|$((MT + 500))|mtime"
'
test_expect_success RS 'restamp without -f: COW unchanged' '
	test_is "$(sum_of "$T/rs.cow")" "$sum"
'
test_expect_success RS 'restamp without -f: check still exits 1' '
	run "$UMLKIT" cow check "$T/rs.cow" &&
	test_is "$rc" 1
'
test_expect_success RS 'restamp -f: exits 0' '
	run "$UMLKIT" cow restamp -f "$T/rs.cow" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success RS 'restamp -f: check exits 0 afterwards' '
	run "$UMLKIT" cow check "$T/rs.cow" &&
	test_is "$rc" 0
'
test_expect_success RS "restamp -f: header mtime is the backing's" '
	run "$UMLKIT" cow info --output=json "$T/rs.cow" &&
	rsj=$out &&
	test_is "$(json .mtime "$rsj")" $((MT + 500))
'
test_expect_success RS 'restamp -f: the COW still holds its sector' '
	test_is "$(json .sectors_held "$rsj")" 1
'
test_expect_success RS 'restamp -f: a size mismatch is refused' '
	truncate -s $((SIZE + 512)) "$T/img/rs.img" &&
	sum=$(sum_of "$T/rs.cow") &&
	run "$UMLKIT" cow restamp -f "$T/rs.cow" &&
	test_is "$rc" 1
'
test_expect_success RS 'restamp -f: size mismatch named' '
	test_like "$err" "[Ss]ize"
'
test_expect_success RS 'restamp -f: refused restamp leaves the COW' '
	test_is "$(sum_of "$T/rs.cow")" "$sum"
'

# ============================================================ merge refusals
test_expect_success BACK 'merge: setup: a COW, its ground truth, an OUT that exists' '
	cp "$B" "$T/img/m.img" && touch -d @$MT "$T/img/m.img" &&
	"$COWGEN" --variant 3 --backing "$T/img/m.img" --write 0:4096:3 --expect "$T/m.exp" \
		"$T/m.cow" >/dev/null &&
	sum_b=$(sum_of "$T/img/m.img") &&
	sum_c=$(sum_of "$T/m.cow") &&
	echo precious >"$T/m.out" &&
	test_set_prereq M
'
test_expect_success M 'merge: existing OUT without -f exits 1' '
	run "$UMLKIT" cow merge "$T/m.cow" "$T/m.out" &&
	test_is "$rc" 1
'
test_expect_success M 'merge: existing OUT: message names it' '
	test_like "$err" "m\.out"
'
test_expect_success M 'merge: existing OUT untouched' '
	test_is "$(cat "$T/m.out")" precious
'
test_expect_success M 'merge -f: replaces OUT' '
	run "$UMLKIT" cow merge -f -q "$T/m.cow" "$T/m.out" &&
	test_is "$rc" 0
'
test_expect_success M 'merge -f: OUT == ground truth' '
	cmp "$T/m.out" "$T/m.exp"
'
test_expect_success M 'merge -f COW COW: refused' '
	run "$UMLKIT" cow merge -f "$T/m.cow" "$T/m.cow" &&
	test_is "$rc" 1
'
test_expect_success M 'merge -f COW COW: COW untouched' '
	test_is "$(sum_of "$T/m.cow")" "$sum_c"
'
test_expect_success M 'merge -f COW BACKING: refused' '
	run "$UMLKIT" cow merge -f "$T/m.cow" "$T/img/m.img" &&
	test_is "$rc" 1
'
test_expect_success M 'merge -f COW BACKING: message names the backing' '
	test_like "$err" "m\.img"
'
test_expect_success M 'merge -f COW BACKING: backing untouched' '
	test_is "$(sum_of "$T/img/m.img")" "$sum_b"
'
test_expect_success M 'merge -f: the backing through a symlinked directory: refused' '
	run "$UMLKIT" cow merge -f "$T/m.cow" "$T/link/../link/m.img" &&
	test_is "$rc" 1
'
test_expect_success M 'merge -f: a hard link to the backing: refused' '
	ln "$T/img/m.img" "$T/hard.img" &&
	run "$UMLKIT" cow merge -f "$T/m.cow" "$T/hard.img" &&
	test_is "$rc" 1
'
test_expect_success M 'merge -f: the hard link is still a link' '
	test_is "$(stat -c %h "$T/img/m.img")" 2
'
test_expect_success M 'merge -f: a symlink to the backing: refused' '
	ln -s "$T/img/m.img" "$T/sym.img" &&
	run "$UMLKIT" cow merge -f "$T/m.cow" "$T/sym.img" &&
	test_is "$rc" 1
'
test_expect_success M 'merge refusals: backing sha256 unchanged' '
	test_is "$(sum_of "$T/img/m.img")" "$sum_b"
'
test_expect_success M 'merge refusals: backing mtime unchanged' '
	test_is "$(stat -c %Y "$T/img/m.img")" $MT
'
test_expect_success M 'merge: OUT in a missing directory exits 1' '
	run "$UMLKIT" cow merge "$T/m.cow" "$T/nodir/out.img" &&
	test_is "$rc" 1
'
test_expect_success M 'merge: OUT in a missing directory: nothing created' '
	test_path_is_missing "$T/nodir"
'
test_expect_success M 'merge -f: OUT that is a directory exits 1' '
	mkdir "$T/outdir" &&
	run "$UMLKIT" cow merge -f "$T/m.cow" "$T/outdir" &&
	test_is "$rc" 1
'
test_expect_success M 'merge -f: OUT that is a directory is still an empty directory' '
	test_path_is_dir "$T/outdir" &&
	test_is "$(ls -A "$T/outdir")" ""
'
test_expect_success M 'merge -b: a backing with another mtime is refused' '
	cp -p "$T/img/m.img" "$T/img/m-other.img" &&
	touch -d @$((MT + 1)) "$T/img/m-other.img" &&
	run "$UMLKIT" cow merge -b "$T/img/m-other.img" "$T/m.cow" "$T/mb.out" &&
	test_is "$rc" 1
'
test_expect_success M 'merge -b: stale -b backing: names the mtime' '
	test_like "$err" "mtime"
'
test_expect_success M 'merge -b: stale: no output' '
	test_path_is_missing "$T/mb.out"
'
test_expect_success M 'merge without OUT: usage error, exit 2' '
	run "$UMLKIT" cow merge "$T/m.cow" &&
	test_is "$rc" 2
'
test_expect_success M 'merge --bogus: usage error, exit 2' '
	run "$UMLKIT" cow merge --bogus "$T/m.cow" "$T/x.out" &&
	test_is "$rc" 2
'
test_expect_success M 'merge --bogus: the message names the option' '
	test_like "$err" "unknown option '"'"'--bogus'"'"'"
'
test_expect_success M 'merge --bogus: no output' '
	test_path_is_missing "$T/x.out"
'

# ============================================================ options after operands
test_expect_success M 'info COW --output=json: an option after the operand is taken' '
	run "$UMLKIT" cow info "$T/m.cow" --output=json &&
	test_is "$rc" 0
'
test_expect_success M 'info COW --output=json: JSON output' '
	test_is "$(json .version)" 3
'
test_expect_success M 'create COW BACKING -f: -f after the operands replaces the COW' '
	cp -p "$T/m.cow" "$T/late.cow" &&
	run "$UMLKIT" cow create "$T/late.cow" "$B" -f &&
	test_is "$rc" 0
'
test_expect_success M 'create COW BACKING -f: the new COW holds nothing' '
	test_is "$(json .sectors_held "$("$UMLKIT" cow info --output=json "$T/late.cow")")" 0
'
test_expect_success M 'info -- FILE: -- ends the options' '
	cp -p "$T/m.cow" "$T/-dash.cow" &&
	run "$UMLKIT" cow info --output=json -- "$T/-dash.cow" &&
	test_is "$rc" 0
'
test_expect_success M 'info -d: an option of another command is a usage error' '
	run "$UMLKIT" cow info -d "$T/m.cow" &&
	test_is "$rc" 2
'
test_expect_success M 'info -d: the message names it' '
	test_like "$err" "option '"'"'-d'"'"' does not apply to '"'"'cow info'"'"'"
'
test_expect_success BACK 'create --progress: does not apply, exit 2' '
	run "$UMLKIT" cow create --progress=json "$T/never.cow" "$B" &&
	test_is "$rc" 2
'
test_expect_success BACK 'create --progress: the message names it' '
	test_like "$err" "option '"'"'--progress'"'"' does not apply to '"'"'cow create'"'"'"
'
test_expect_success BACK 'create --progress: no COW made' '
	test_path_is_missing "$T/never.cow"
'
test_expect_success M 'merge ... --backing without its value: usage error, exit 2' '
	run "$UMLKIT" cow merge "$T/m.cow" "$T/y.out" --backing &&
	test_is "$rc" 2
'
test_expect_success M 'merge --backing: the message says so' '
	test_like "$err" "option '"'"'--backing'"'"' needs a value"
'
test_expect_success M 'merge --backing without a value: no output' '
	test_path_is_missing "$T/y.out"
'
test_expect_success M 'map COW --output without its value: exit 2' '
	run "$UMLKIT" cow map "$T/m.cow" --output &&
	test_is "$rc" 2
'
test_expect_success M 'map --output: the message says so' '
	test_like "$err" "option '"'"'--output'"'"' needs a value"
'

# ============================================================ locks
# hold_lock FILE w|r: a process holding an fcntl lock on FILE, as a running guest does; sets
# $holder to its pid once the lock is taken. It reports through a fifo; the wait for that is
# bounded (30 s), so a holder that dies before taking the lock fails the block, not the run.
holder=
hold_lock() {
	local got
	rm -f "$T/ready"
	mkfifo "$T/ready" || return 1
	python3 -c '
import fcntl, os, signal, sys
f = open(sys.argv[1], "r+" if sys.argv[2] == "w" else "r")
fcntl.lockf(f, fcntl.LOCK_EX if sys.argv[2] == "w" else fcntl.LOCK_SH)
with open(sys.argv[3], "w") as r:
    r.write("%d\n" % os.getpid())
signal.pause()' "$1" "$2" "$T/ready" &
	holder=$!
	UK_PIDS+=("$holder")
	got=$(timeout 30 cat "$T/ready") || {
		echo "the lock holder did not report within 30 s" >&2
		return 1
	}
	test_is "$got" "$holder"
}
# release_lock: end the holder this test started, and forget its pid once reaped
release_lock() {
	[ -n "$holder" ] || return 0
	kill "$holder" && wait "$holder" 2>/dev/null
	forget_pid "$holder"
	holder=
	return 0
}
test_expect_success BACK 'lock: setup: a COW over l.img and its ground truth' '
	cp "$B" "$T/img/l.img" && touch -d @$MT "$T/img/l.img" &&
	"$COWGEN" --variant 3 --backing "$T/img/l.img" --write 0:4096:3 --expect "$T/l.exp" \
		"$T/l.cow" >/dev/null &&
	sum_c=$(sum_of "$T/l.cow") &&
	sum_b=$(sum_of "$T/img/l.img") &&
	test_set_prereq LFILES
'
test_expect_success LFILES,PYTHON3 'lock: setup: a process holds a write lock on the COW' '
	hold_lock "$T/l.cow" w &&
	test_set_prereq WLOCK
'
test_expect_success WLOCK 'lock: merge --in-place of a COW a guest holds exits 1' '
	run "$UMLKIT" cow merge --in-place "$T/l.cow" &&
	test_is "$rc" 1
'
test_expect_success WLOCK "lock: merge --in-place names the holder's pid" '
	test_like "$err" "l\.cow.*locked by pid $holder"
'
test_expect_success WLOCK 'lock: merge of a COW a guest holds exits 1' '
	run "$UMLKIT" cow merge "$T/l.cow" "$T/l.out" &&
	test_is "$rc" 1
'
test_expect_success WLOCK "lock: merge names the holder's pid" '
	test_like "$err" "locked by pid $holder"
'
test_expect_success WLOCK 'lock: merge made no output' '
	test_path_is_missing "$T/l.out"
'
test_expect_success WLOCK 'lock: uml_moo -d of a COW a guest holds exits 1 (the old one ignores locks)' '
	run "$UK_BUILD/uml_moo" -d "$T/l.cow" &&
	test_is "$rc" 1
'
test_expect_success WLOCK 'lock: create -f over a COW a guest holds exits 1' '
	run "$UMLKIT" cow create -f "$T/l.cow" "$T/img/l.img" &&
	test_is "$rc" 1
'
test_expect_success WLOCK 'lock: restamp -f of a COW a guest holds exits 1' '
	run "$UMLKIT" cow restamp -f "$T/l.cow" &&
	test_is "$rc" 1
'
test_expect_success WLOCK 'lock: info without -U exits 1' '
	run "$UMLKIT" cow info "$T/l.cow" &&
	test_is "$rc" 1
'
test_expect_success WLOCK "lock: info's error is one line" '
	test_is "$(printf "%s\n" "$err" | grep -c .)" 1
'
test_expect_success WLOCK 'lock: info -U reads it anyway' '
	run "$UMLKIT" cow info -U --output=json "$T/l.cow" &&
	test_is "$rc/$(json .sectors_held)" 0/8
'
test_expect_success WLOCK 'lock: map -U reads it anyway' '
	run "$UMLKIT" cow map -U "$T/l.cow" &&
	test_is "$rc" 0
'
test_expect_success WLOCK 'lock: COW and backing untouched while locked' '
	test_is "$(sum_of "$T/l.cow")/$(sum_of "$T/img/l.img")" "$sum_c/$sum_b"
'
# another guest reads the backing (read lock): a merge to a new file is fine, an in-place
# merge (which writes the backing) is not
test_expect_success WLOCK 'lock: setup: the write lock released, a read lock on the backing' '
	release_lock &&
	hold_lock "$T/img/l.img" r &&
	test_set_prereq RLOCK
'
test_expect_success RLOCK 'lock: merge while another guest reads the backing works' '
	run "$UMLKIT" cow merge -q "$T/l.cow" "$T/l.out" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success RLOCK 'lock: that merge == ground truth' '
	cmp "$T/l.out" "$T/l.exp"
'
test_expect_success RLOCK 'lock: merge --in-place while another guest reads the backing exits 1' '
	run "$UMLKIT" cow merge --in-place "$T/l.cow" &&
	test_is "$rc" 1
'
test_expect_success RLOCK "lock: names the backing and the holder's pid" '
	test_like "$err" "l\.img.*locked by pid $holder"
'
test_expect_success RLOCK 'lock: COW and backing untouched' '
	test_is "$(sum_of "$T/l.cow")/$(sum_of "$T/img/l.img")" "$sum_c/$sum_b"
'
test_expect_success RLOCK 'lock: no journal left' '
	test_path_is_missing "$T/l.cow.ukmerge"
'
test_expect_success RLOCK 'lock: setup: the read lock released' '
	release_lock &&
	test_set_prereq UNLOCKED
'
test_expect_success UNLOCKED 'lock: merge --in-place works once the lock is gone' '
	run "$UMLKIT" cow merge --in-place -q "$T/l.cow" &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success UNLOCKED 'lock: backing == ground truth' '
	cmp "$T/img/l.img" "$T/l.exp"
'

# ============================================================ progress
# JSON lines on stderr: `json` reads them all with [., inputs]
test_expect_success M 'merge --progress=json: exits 0' '
	run "$UMLKIT" cow merge --progress=json "$T/m.cow" "$T/p.out" &&
	perr=$err &&
	test_is "$rc" 0
'
test_expect_success M 'merge --progress=json: output == ground truth' '
	cmp "$T/p.out" "$T/m.exp"
'
test_expect_success M 'progress: at least one line' '
	nl=$(printf "%s\n" "$perr" | grep -c .) &&
	at_least "$nl" 1
'
test_expect_success M 'progress: every line is a JSON object with numeric done and total' '
	nl=$(printf "%s\n" "$perr" | grep -c .) &&
	test_is "$(json "[., inputs] | map(select((.done|type) == \"number\" and (.total|type) == \"number\")) | length" "$perr")" "$nl"
'
test_expect_success M 'progress: done never exceeds total' '
	test_is "$(json "[., inputs] | map(.done <= .total) | all" "$perr")" true
'
test_expect_success M 'progress: done never goes backwards' '
	test_is "$(json "[., inputs] | map(.done) as \$d | \$d == (\$d | sort)" "$perr")" true
'
test_expect_success M 'progress: the last line is complete' '
	test_is "$(json "[., inputs] | .[-1] | .done == .total" "$perr")" true
'
test_expect_success M 'merge -q: nothing on stderr' '
	run "$UMLKIT" cow merge -q -f "$T/m.cow" "$T/p.out" &&
	test_is "$err" ""
'
test_expect_success DIFF 'diff --progress=json: the last line is complete' '
	run "$UMLKIT" cow diff -f --progress=json "$T/base.img" "$T/new.img" "$T/d.cow" &&
	test_is "$(json "[., inputs] | .[-1] | .done == .total" "$err")" true
'

# ============================================================ compare reads extents
# A 2 GiB sparse backing holding 64 KiB at 1 GiB, a COW over it holding 4 KiB at 1 GiB + 512
# more, their merge: compare reads only where either side holds data (the COW's bitmap runs,
# SEEK_DATA extents), not every byte (issue 22: a 3 TiB COW took over 10 minutes where map
# and merge take a second). The bytes a command read are its rchar in /proc/PID/io, which the
# kernel adds to its parent's when the parent reaps it: a shell runs the command, then reads
# its own.
BIG=$((2 << 30))
RB_LIMIT=$((16 << 20)) # the bitmap (512 KiB), the headers, the data: well under this
# read_by CMD...: run CMD (stdout and stderr in out), its status in rc, its bytes read in RCHAR
read_by() {
	local io
	io=$(sh -c '"$@" >"$0" 2>&1; echo "rc $?"; grep "^rchar:" /proc/$$/io' "$T/rb.out" "$@")
	rc=$(sed -n "s/^rc //p" <<<"$io")
	RCHAR=$(sed -n "s/^rchar: //p" <<<"$io")
	out=$(cat "$T/rb.out")
	case "$RCHAR" in '' | *[!0-9]*) echo "no rchar in: $io" >&2 && return 1 ;; esac
}
# read_little: RCHAR under RB_LIMIT, with the number in the log when not
read_little() {
	[ "$RCHAR" -lt "$RB_LIMIT" ] && return 0
	echo "the command read $RCHAR bytes, want fewer than $RB_LIMIT" >&2
	return 1
}
test_expect_success 'compare: setup: a 2 GiB sparse backing, a COW over it, their merge' '
	truncate -s $BIG "$T/sp.img" &&
	head -c 65536 /dev/zero | tr "\0" "u" |
		dd of="$T/sp.img" bs=65536 seek=16384 conv=notrunc status=none &&
	"$COWGEN" --variant 3 --backing "$T/sp.img" --write $((BIG / 2 + 65536 + 512)):4096:7 \
		"$T/sp.cow" >/dev/null &&
	"$UMLKIT" cow merge "$T/sp.cow" "$T/sp.merged" &&
	test_set_prereq SPARSE
'
test_expect_success SPARSE 'compare: a sparse COW and its merge: identical, exit 0' '
	read_by "$UMLKIT" cow compare "$T/sp.cow" "$T/sp.merged" &&
	test_is "$rc" 0 &&
	test_like "$out" "^Images are identical"
'
test_expect_success SPARSE '... reading their data only, not 4 GiB' '
	read_little
'
test_expect_success SPARSE 'compare: the sparse COW and its backing: exit 1 at its sector' '
	read_by "$UMLKIT" cow compare "$T/sp.cow" "$T/sp.img" &&
	test_is "$rc" 1 &&
	test_like "$out" "mismatch at offset $((BIG / 2 + 65536 + 512)) "
'
test_expect_success SPARSE '... reading their data only' '
	read_little
'
test_expect_success SPARSE 'compare: backing and merge, both raw: exit 1 at the same offset' '
	read_by "$UMLKIT" cow compare "$T/sp.img" "$T/sp.merged" &&
	test_is "$rc" 1 &&
	test_like "$out" "mismatch at offset $((BIG / 2 + 65536 + 512)) "
'
test_expect_success SPARSE '... reading their data only' '
	read_little
'

test_done
