#!/bin/bash
# The `umlkit cow` command line: create (against the old uml_mkcow's bytes), info, check,
# map, compare, diff, rebase, restamp, merge refusals and JSON progress.
. "$(dirname "$0")/lib.sh"

COWGEN="$UK_BUILD/tests/helpers/cowgen"
[ -x "$UMLKIT" ] || skip_all "$UMLKIT not built (make)"
[ -x "$COWGEN" ] || skip_all "$COWGEN not built (make test-build)"
need_cmd jq "jq is needed to read JSON output"

SIZE=1048576
MT=1700000000
size_of() { stat -c %s "$1"; }
# jf JSON FILTER: one value out of a JSON text
jf() { printf '%s' "$1" | jq -r "$2" 2>/dev/null; }
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
	jf "$1" '.[] | select(.source == "cow") | "\(.offset) \(.length)"' |
		while read -r o l; do seq $((o / 512)) $(((o + l + 511) / 512 - 1)); done
}
# diff_sectors A B: the 512-byte sectors where two equal-sized files differ
diff_sectors() { cmp -l "$1" "$2" | awk '{ print int(($1 - 1) / 512) }' | sort -un; }

cd "$T" || exit 1
mkdir -p img sub
mkfile "$T/img/back.img" $SIZE 1
B="$T/img/back.img"

# ============================================================ create
run "$UMLKIT" cow create "$T/a.cow" "$B"
is "$rc" 0 "create: exits 0 ($err)"
"$OLD_UML_MKCOW" "$T/old.cow" "$B" >/dev/null 2>&1
check "create: first 4128 bytes == old uml_mkcow's" -- cmp -n 4128 "$T/a.cow" "$T/old.cow"
is "$(size_of "$T/a.cow")" "$(size_of "$T/old.cow")" "create: same length as old uml_mkcow's"
is "$(size_of "$T/a.cow")" $((12288 + SIZE)) "create: length data_offset + size"
check "create: whole file == old uml_mkcow's" -- cmp "$T/a.cow" "$T/old.cow"
alloc=$(($(stat -c %b "$T/a.cow") * 512))
ok "$([ "$alloc" -lt $SIZE ]; echo $?)" "create: the new COW is sparse ($alloc bytes allocated)"

# relative and symlinked paths are stored absolute, the directory canonicalised
ln -s "$T/img" "$T/link"
(cd "$T/sub" && "$UMLKIT" cow create rel.cow ../img/back.img) 2>"$T/e"
is "$?" 0 "create: relative backing path ($(cat "$T/e"))"
(cd "$T/sub" && "$OLD_UML_MKCOW" oldrel.cow ../img/back.img) >/dev/null 2>&1
real_b="$(realpath "$T/img")/back.img"
is "$(header_path "$T/sub/rel.cow")" "$real_b" "create: ../img/back.img stored as $real_b"
check "create: relative path: header == old uml_mkcow's" -- \
	cmp -n 4128 "$T/sub/rel.cow" "$T/sub/oldrel.cow"
(cd "$T/img" && "$UMLKIT" cow create ../sub/bare.cow back.img) 2>"$T/e"
is "$(header_path "$T/sub/bare.cow")" "$real_b" "create: bare name stored as cwd/name"
run "$UMLKIT" cow create "$T/sub/link.cow" "$T/link/../img/./back.img"
is "$(header_path "$T/sub/link.cow")" "$real_b" "create: symlinked directory, .. and . resolved"
ln -s back.img "$T/img/last-link.img"
run "$UMLKIT" cow create "$T/sub/ll.cow" "$T/link/last-link.img"
is "$(header_path "$T/sub/ll.cow")" "$(realpath "$T/img")/last-link.img" \
	"create: a symlink in the last component is kept (like the kernel)"
"$OLD_UML_MKCOW" "$T/sub/oldll.cow" "$T/link/last-link.img" >/dev/null 2>&1
check "create: last-component symlink: header == old uml_mkcow's" -- \
	cmp -n 4128 "$T/sub/ll.cow" "$T/sub/oldll.cow"
check "create: path field zero past the NUL" -- header_tail_zero "$T/sub/link.cow"

# existing COW without -f
sum=$(sum_of "$T/a.cow")
run "$UMLKIT" cow create "$T/a.cow" "$B"
is "$rc" 1 "create: existing COW without -f exits 1"
like "$err" "a\.cow.*already exists|already exists.*a\.cow" "create: says the COW already exists"
is "$(sum_of "$T/a.cow")" "$sum" "create: existing COW untouched"

# -f over a COW that held data: ours starts fresh, old uml_mkcow -f keeps the old bitmap
"$COWGEN" --variant 3 --backing "$B" --write 0:65536:3 --write 900000:1000:4 "$T/full.cow" \
	>/dev/null
cp "$T/full.cow" "$T/full-old.cow"
truncate -s $((12288 + SIZE + 1000000)) "$T/full.cow" "$T/full-old.cow" # longer than needed
run "$UMLKIT" cow info --output=json "$T/full.cow"
held_before=$(jf "$out" .sectors_held)
is "$held_before" 131 "create -f: the COW held 131 sectors before"
ino=$(stat -c %i "$T/full.cow")
run "$UMLKIT" cow create -f "$T/full.cow" "$B"
is "$rc" 0 "create -f: exits 0 ($err)"
run "$UMLKIT" cow info --output=json "$T/full.cow"
is "$(jf "$out" .sectors_held)" 0 "create -f: info shows 0 sectors held afterwards"
is "$(size_of "$T/full.cow")" $((12288 + SIZE)) "create -f: length data_offset + size again"
check "create -f: same bytes as a fresh create" -- cmp "$T/full.cow" "$T/a.cow"
isnt_ino=$([ "$(stat -c %i "$T/full.cow")" != "$ino" ]; echo $?)
ok "$isnt_ino" "create -f: replaced the file whole (new inode)"
"$OLD_UML_MKCOW" -f "$T/full-old.cow" "$B" >/dev/null 2>&1
run "$UMLKIT" cow info -U --output=json "$T/full-old.cow"
is "$(jf "$out" .sectors_held)" 131 "old uml_mkcow -f keeps the old bitmap (bug #8)"
is "$(size_of "$T/full-old.cow")" $((12288 + SIZE + 1000000)) "old uml_mkcow -f keeps the old length"

# failures leave no file
run "$UMLKIT" cow create "$T/nob.cow" "$T/img/missing.img"
is "$rc" 1 "create: missing backing exits 1"
like "$err" "missing\.img" "create: missing backing: message names it"
check "create: missing backing leaves no COW" -- test ! -e "$T/nob.cow"
run "$UMLKIT" cow create "$T/onacow.cow" "$T/a.cow"
is "$rc" 1 "create: a backing that is itself a COW is refused"
check "create: refused COW backing leaves no file" -- test ! -e "$T/onacow.cow"

# the uml_mkcow name
run "$UK_BUILD/uml_mkcow" "$T/mk.cow" "$B"
is "$rc" 0 "uml_mkcow COW BACKING exits 0"
check "uml_mkcow: same bytes as old uml_mkcow" -- cmp "$T/mk.cow" "$T/old.cow"
run "$UK_BUILD/uml_mkcow"
is "$rc" 2 "uml_mkcow without arguments exits 2 (usage)"
run "$UK_BUILD/uml_mkcow" "$T/mk.cow" "$B"
is "$rc" 1 "uml_mkcow over an existing COW exits 1"
run "$UK_BUILD/uml_mkcow" -f "$T/mk.cow" "$B"
is "$rc" 0 "uml_mkcow -f exits 0"

# ============================================================ info
"$COWGEN" --variant 3 --backing "$B" --write 4096:8192:5 --write $((SIZE - 1)):1:6 \
	--expect "$T/c.exp" "$T/c.cow" >/dev/null
run "$UMLKIT" cow info "$T/c.cow"
is "$rc" 0 "info: exits 0"
like "$out" "back\.img" "info: human output names the backing"
like "$out" "$SIZE" "info: human output gives the size"
run "$UMLKIT" cow info --output=json "$T/c.cow"
is "$rc" 0 "info --output=json: exits 0"
is "$(jf "$out" 'type')" object "info --output=json: one JSON object"
is "$(jf "$out" .path)" "$T/c.cow" "info json: path"
is "$(jf "$out" .version)" 3 "info json: version"
is "$(jf "$out" .broken_layout)" false "info json: broken_layout"
is "$(jf "$out" .backing)" "$B" "info json: backing"
is "$(jf "$out" .size)" $SIZE "info json: size"
is "$(jf "$out" .mtime)" $MT "info json: mtime"
is "$(jf "$out" .backing_exists)" true "info json: backing_exists"
is "$(jf "$out" .backing_size)" $SIZE "info json: backing_size"
is "$(jf "$out" .backing_mtime)" $MT "info json: backing_mtime"
is "$(jf "$out" .backing_matches)" true "info json: backing_matches"
is "$(jf "$out" .sector_size)" 512 "info json: sector_size"
is "$(jf "$out" .alignment)" 4096 "info json: alignment"
is "$(jf "$out" .header_length)" 4128 "info json: header_length"
is "$(jf "$out" .bitmap_offset)" 8192 "info json: bitmap_offset"
is "$(jf "$out" .bitmap_length)" 256 "info json: bitmap_length"
is "$(jf "$out" .data_offset)" 12288 "info json: data_offset"
is "$(jf "$out" .sectors)" 2048 "info json: sectors"
is "$(jf "$out" .sectors_held)" 17 "info json: sectors_held"
is "$(jf "$out" .bytes_held)" $((17 * 512)) "info json: bytes_held"
is "$(jf "$out" .file_size)" "$(size_of "$T/c.cow")" "info json: file_size"
is "$(jf "$out" .file_allocated)" $(($(stat -c %b "$T/c.cow") * 512)) "info json: file_allocated"
is "$(jf "$out" .merge_pending)" false "info json: merge_pending"

for v in 1le 2 3-512 3broken; do
	"$COWGEN" --variant "$v" --backing "$B" --write 0:1024:2 "$T/v$v.cow" >/dev/null
	run "$UMLKIT" cow info --output=json "$T/v$v.cow"
	want_v=${v:0:1}
	is "$(jf "$out" .version)" "$want_v" "info json v$v: version $want_v"
	is "$(jf "$out" .sectors_held)" 2 "info json v$v: sectors_held"
	is "$(jf "$out" .broken_layout)" "$([ "$v" = 3broken ] && echo true || echo false)" \
		"info json v$v: broken_layout"
	lay=$("$COWGEN" --variant "$v" --backing "$B" --layout "$T/.junk")
	is "$(jf "$out" .data_offset)" "$(sed 's/.*data_offset=\([0-9]*\).*/\1/' <<<"$lay")" \
		"info json v$v: data_offset"
done
is "$(jf "$(
	"$UMLKIT" cow info --output=json "$T/v3-512.cow"
)" .alignment)" 512 "info json v3-512: alignment 512"

# stale backing seen by info
cp -p "$B" "$T/img/st.img"
"$COWGEN" --variant 3 --backing "$T/img/st.img" "$T/st.cow" >/dev/null
touch -d @$((MT + 10)) "$T/img/st.img"
run "$UMLKIT" cow info --output=json "$T/st.cow"
is "$rc" 0 "info: a stale COW is still described (exit 0)"
is "$(jf "$out" .backing_matches)" false "info json: stale: backing_matches false"
is "$(jf "$out" .backing_mtime)" $((MT + 10)) "info json: stale: actual backing_mtime"
is "$(jf "$out" .mtime)" $MT "info json: stale: recorded mtime"
"$COWGEN" --variant 3 --backing "$T/img/none.img" --size 4096 --mtime $MT "$T/gone.cow" >/dev/null
run "$UMLKIT" cow info --output=json "$T/gone.cow"
is "$(jf "$out" .backing_exists)" false "info json: missing backing: backing_exists false"
is "$(jf "$out" .backing_size)" null "info json: missing backing: backing_size null"

# ============================================================ check
run "$UMLKIT" cow check "$T/c.cow"
is "$rc" 0 "check: sound COW exits 0"
run "$UMLKIT" cow check --output=json "$T/c.cow"
is "$(jf "$out" .status)/$(jf "$out" .exit)/$(jf "$out" '.problems | length')" "ok/0/0" \
	"check json: sound: status ok, exit 0, no problems"
run "$UMLKIT" cow check "$T/st.cow"
is "$rc" 1 "check: stale mtime exits 1"
like "$out$err" "mtime" "check: stale mtime: names the mtime"
run "$UMLKIT" cow check --output=json "$T/st.cow"
is "$rc" 1 "check json: stale exits 1"
is "$(jf "$out" .status)/$(jf "$out" .exit)" "stale/1" "check json: stale"
like "$(jf "$out" '.problems[]')" "mtime" "check json: stale: problem names the mtime"
run "$UMLKIT" cow check "$T/gone.cow"
is "$rc" 1 "check: missing backing exits 1"
"$COWGEN" --variant 3 --backing "$B" --raw-header alignment=0 "$T/bad.cow" >/dev/null
run "$UMLKIT" cow check "$T/bad.cow"
is "$rc" 2 "check: corrupt header exits 2"
run "$UMLKIT" cow check --output=json "$T/bad.cow"
is "$(jf "$out" .status)/$(jf "$out" .exit)" "corrupt/2" "check json: corrupt"
like "$(jf "$out" '.problems[]')" "alignment" "check json: corrupt: problem names the field"
"$COWGEN" --variant 3 --backing "$B" --length 12000 "$T/short.cow" >/dev/null
run "$UMLKIT" cow check "$T/short.cow"
is "$rc" 2 "check: file too short exits 2"
run "$UMLKIT" cow check "$B"
is "$rc" 2 "check: a raw image (not a COW) exits 2"
run "$UMLKIT" cow check "$T/nonexistent.cow"
is "$rc" 3 "check: nonexistent file exits 3"
run "$UMLKIT" cow check --output=json "$T/nonexistent.cow"
is "$(jf "$out" .status)/$(jf "$out" .exit)" "unopenable/3" "check json: unopenable"

# ============================================================ map
# a sparse backing: data in its first 64 KiB only, a hole after
truncate -s $SIZE "$T/img/sp.img"
"$COWGEN" --variant 3 --backing "$T/.none" --size 65536 --mtime 0 --write 0:65536:8 \
	--expect "$T/sp.head" "$T/.junk" >/dev/null
dd if="$T/sp.head" of="$T/img/sp.img" conv=notrunc status=none
touch -d @$MT "$T/img/sp.img"
"$COWGEN" --variant 3 --backing "$T/img/sp.img" --write 1024:1024:1 --write 500000:100:2 \
	--write $((SIZE - 512)):512:3 --expect "$T/sp.exp" "$T/sp.cow" >/dev/null
run "$UMLKIT" cow map "$T/sp.cow"
is "$rc" 0 "map: exits 0"
sum=0 next=0 bad=0
while read -r o l s; do
	[ "$o" = OFFSET ] && continue # a column header line
	[ "$o" = "$next" ] || bad=1
	case $s in cow | backing | hole) ;; *) bad=1 ;; esac
	sum=$((sum + l))
	next=$((o + l))
done <<<"$out"
is "$bad" 0 "map: extents are contiguous, sources are cow|backing|hole"
is "$sum" $SIZE "map: extents add up to the size"
like "$out" "hole" "map: the backing's hole is reported as a hole"
run "$UMLKIT" cow map --output=json "$T/sp.cow"
is "$(jf "$out" '[.[].length] | add')" $SIZE "map json: lengths add up to the size"
is "$(jf "$out" '[.[] | select(.source == "cow") | "\(.offset)+\(.length)"] | join(",")')" \
	"1024+1024,499712+512,$((SIZE - 512))+512" "map json: cow extents are exactly the held sectors"
first_hole=$(jf "$out" '[.[] | select(.source == "hole") | .offset] | min')
ok "$([ "${first_hole:-0}" -ge 65536 ]; echo $?)" "map json: no hole where the backing has data"
# a size that ends mid-sector
mkfile "$T/img/odd.img" 1000 4
"$COWGEN" --variant 3 --backing "$T/img/odd.img" --write 999:1:5 "$T/odd.cow" >/dev/null
run "$UMLKIT" cow map --output=json "$T/odd.cow"
is "$(jf "$out" '[.[].length] | add')" 1000 "map json: 1000-byte disk: lengths add up to 1000"
is "$(jf "$out" '.[-1] | "\(.offset) \(.length) \(.source)"')" "512 488 cow" \
	"map json: 1000-byte disk: the partial last sector is 488 bytes from the COW"

# ============================================================ compare
run "$UMLKIT" cow merge -q "$T/c.cow" "$T/c.merged"
check "merge == ground truth" -- cmp "$T/c.merged" "$T/c.exp"
run "$UMLKIT" cow compare "$T/c.cow" "$T/c.exp"
is "$rc" 0 "compare: COW vs its ground truth (raw): same, exit 0"
"$COWGEN" --variant 2 --backing "$B" --write 4096:8192:5 --write $((SIZE - 1)):1:6 "$T/c2.cow" \
	>/dev/null
run "$UMLKIT" cow compare "$T/c.cow" "$T/c2.cow"
is "$rc" 0 "compare: v3 COW vs v2 COW with the same content: exit 0"
cp "$T/c.exp" "$T/c.mod"
orig=$(od -An -tx1 -j 300001 -N1 "$T/c.mod" | tr -d ' ')
printf "\\x$(printf %02x $((0x$orig ^ 0xff)))" | dd of="$T/c.mod" bs=1 seek=300001 conv=notrunc status=none
run "$UMLKIT" cow compare "$T/c.cow" "$T/c.mod"
is "$rc" 1 "compare: one byte differs: exit 1"
like "$out$err" "300001" "compare: names the first differing offset"
run "$UMLKIT" cow compare "$T/c.mod" "$T/c.exp"
is "$rc" 1 "compare: raw vs raw, different: exit 1"
head -c 4096 "$T/c.exp" >"$T/c.head"
run "$UMLKIT" cow compare "$T/c.exp" "$T/c.head"
is "$rc" 1 "compare: different sizes: exit 1"
run "$UMLKIT" cow compare "$T/c.exp" "$T/nonexistent.img"
is "$rc" 2 "compare: missing image: exit 2"

# ============================================================ diff
cp "$B" "$T/base.img"
cp "$B" "$T/new.img"
for w in 0:1 51200:2000 700001:1 $((SIZE - 1)):1; do
	off=${w%:*} len=${w#*:}
	head -c "$len" /dev/zero | tr '\0' '\252' |
		dd of="$T/new.img" bs=1 seek="$off" conv=notrunc status=none
done
touch -d @$MT "$T/base.img"
run "$UMLKIT" cow diff -q "$T/base.img" "$T/new.img" "$T/d.cow"
is "$rc" 0 "diff: exits 0 ($err)"
run "$UMLKIT" cow merge -q "$T/d.cow" "$T/d.merged"
check "diff: merge of the diff COW == NEW" -- cmp "$T/d.merged" "$T/new.img"
want=$(diff_sectors "$T/base.img" "$T/new.img" | tr '\n' ' ')
run "$UMLKIT" cow map --output=json "$T/d.cow"
is "$(cow_sectors "$out" | tr '\n' ' ')" "$want" "diff: the COW holds exactly the differing sectors"
run "$UMLKIT" cow info --output=json "$T/d.cow"
is "$(jf "$out" .sectors_held)" "$(wc -w <<<"$want")" "diff: sectors_held == differing sectors"
run "$UMLKIT" cow diff -q "$T/base.img" "$T/new.img" "$T/d.cow"
is "$rc" 1 "diff: existing COW without -f exits 1"
run "$UMLKIT" cow diff -f -q "$T/base.img" "$T/new.img" "$T/d.cow"
is "$rc" 0 "diff -f: replaces the COW"
run "$UMLKIT" cow diff -q "$T/base.img" "$T/c.head" "$T/d2.cow"
is "$rc" 1 "diff: sizes differ: exits 1"
check "diff: a failed diff leaves no COW" -- test ! -e "$T/d2.cow"
# a size that ends mid-sector, differing in the last byte
mkfile "$T/o-base.img" 4097 9
cp "$T/o-base.img" "$T/o-new.img"
printf 'Z' | dd of="$T/o-new.img" bs=1 seek=4096 conv=notrunc status=none
run "$UMLKIT" cow diff -q "$T/o-base.img" "$T/o-new.img" "$T/o.cow"
run "$UMLKIT" cow merge -q "$T/o.cow" "$T/o.merged"
check "diff: 4097-byte disk, last byte differs: merge == NEW" -- cmp "$T/o.merged" "$T/o-new.img"

# ============================================================ rebase
# -u: same content under another name, only the header changes
cp "$B" "$T/img/r1.img" && touch -d @$MT "$T/img/r1.img"
cp "$B" "$T/img/r1b.img" && touch -d @$((MT + 99)) "$T/img/r1b.img"
"$COWGEN" --variant 3 --backing "$T/img/r1.img" --write 4096:8192:5 --write 800000:3000:6 \
	"$T/r1.cow" >/dev/null
"$UMLKIT" cow merge -q "$T/r1.cow" "$T/r1.before"
run "$UMLKIT" cow rebase -u "$T/r1.cow" "$T/img/r1b.img"
is "$rc" 0 "rebase -u: exits 0 ($err)"
run "$UMLKIT" cow info --output=json "$T/r1.cow"
is "$(jf "$out" .backing)" "$T/img/r1b.img" "rebase -u: header names the new backing"
is "$(jf "$out" .mtime)" $((MT + 99)) "rebase -u: header takes the new backing's mtime"
run "$UMLKIT" cow check "$T/r1.cow"
is "$rc" 0 "rebase -u: check is clean afterwards"
run "$UMLKIT" cow compare "$T/r1.cow" "$T/r1.before"
is "$rc" 0 "rebase -u: guest view unchanged"
"$COWGEN" --variant 3 --backing "$T/.none" --size 4096 --mtime 0 --expect "$T/img/tiny.img" \
	"$T/.junk" >/dev/null
sum=$(sum_of "$T/r1.cow")
run "$UMLKIT" cow rebase -u "$T/r1.cow" "$T/img/tiny.img"
is "$rc" 1 "rebase -u: a backing of another size is refused"
is "$(sum_of "$T/r1.cow")" "$sum" "rebase -u: refused rebase leaves the COW as it was"

# safe rebase onto different content: sectors that differ are copied into the COW
cp "$B" "$T/img/r2.img" && touch -d @$MT "$T/img/r2.img"
"$COWGEN" --variant 3 --backing "$T/img/r2.img" --write 4096:8192:5 --write 51200:512:6 \
	"$T/r2.cow" >/dev/null
"$UMLKIT" cow merge -q "$T/r2.cow" "$T/r2.before"
run "$UMLKIT" cow map --output=json "$T/r2.cow"
held_before=$(cow_sectors "$out")
run "$UMLKIT" cow rebase -q "$T/r2.cow" "$T/new.img"
is "$rc" 0 "rebase: exits 0 ($err)"
run "$UMLKIT" cow compare "$T/r2.cow" "$T/r2.before"
is "$rc" 0 "rebase: guest view unchanged ($out $err)"
run "$UMLKIT" cow merge -q "$T/r2.cow" "$T/r2.after"
check "rebase: merge after == merge before" -- cmp "$T/r2.after" "$T/r2.before"
run "$UMLKIT" cow check "$T/r2.cow"
is "$rc" 0 "rebase: check is clean afterwards"
run "$UMLKIT" cow map --output=json "$T/r2.cow"
want=$(printf '%s\n%s\n' "$held_before" "$(diff_sectors "$T/img/r2.img" "$T/new.img")" |
	sort -un | tr '\n' ' ')
is "$(cow_sectors "$out" | sort -n | tr '\n' ' ')" "$want" \
	"rebase: the COW holds its old sectors plus exactly those where the backings differ"

# ============================================================ restamp
cp "$B" "$T/img/rs.img" && touch -d @$MT "$T/img/rs.img"
"$COWGEN" --variant 3 --backing "$T/img/rs.img" --write 0:512:1 "$T/rs.cow" >/dev/null
touch -d @$((MT + 500)) "$T/img/rs.img"
sum=$(sum_of "$T/rs.cow")
run "$UMLKIT" cow restamp "$T/rs.cow"
is "$rc" 1 "restamp without -f: exits 1"
like "$out$err" "$MT|$((MT + 500))|mtime" "restamp without -f: says what it would change"
is "$(sum_of "$T/rs.cow")" "$sum" "restamp without -f: COW unchanged"
run "$UMLKIT" cow check "$T/rs.cow"
is "$rc" 1 "restamp without -f: check still exits 1"
run "$UMLKIT" cow restamp -f "$T/rs.cow"
is "$rc" 0 "restamp -f: exits 0 ($err)"
run "$UMLKIT" cow check "$T/rs.cow"
is "$rc" 0 "restamp -f: check exits 0 afterwards"
run "$UMLKIT" cow info --output=json "$T/rs.cow"
is "$(jf "$out" .mtime)" $((MT + 500)) "restamp -f: header mtime is the backing's"
is "$(jf "$out" .sectors_held)" 1 "restamp -f: the COW still holds its sector"
truncate -s $((SIZE + 512)) "$T/img/rs.img"
sum=$(sum_of "$T/rs.cow")
run "$UMLKIT" cow restamp -f "$T/rs.cow"
is "$rc" 1 "restamp -f: a size mismatch is refused"
like "$err" "[Ss]ize" "restamp -f: size mismatch named"
is "$(sum_of "$T/rs.cow")" "$sum" "restamp -f: refused restamp leaves the COW"

# ============================================================ merge refusals
cp "$B" "$T/img/m.img" && touch -d @$MT "$T/img/m.img"
"$COWGEN" --variant 3 --backing "$T/img/m.img" --write 0:4096:3 --expect "$T/m.exp" "$T/m.cow" \
	>/dev/null
sum_b=$(sum_of "$T/img/m.img")
sum_c=$(sum_of "$T/m.cow")
echo "precious" >"$T/m.out"
run "$UMLKIT" cow merge "$T/m.cow" "$T/m.out"
is "$rc" 1 "merge: existing OUT without -f exits 1"
like "$err" "m\.out" "merge: existing OUT: message names it"
is "$(cat "$T/m.out")" precious "merge: existing OUT untouched"
run "$UMLKIT" cow merge -f -q "$T/m.cow" "$T/m.out"
is "$rc" 0 "merge -f: replaces OUT"
check "merge -f: OUT == ground truth" -- cmp "$T/m.out" "$T/m.exp"
run "$UMLKIT" cow merge -f "$T/m.cow" "$T/m.cow"
is "$rc" 1 "merge -f COW COW: refused"
is "$(sum_of "$T/m.cow")" "$sum_c" "merge -f COW COW: COW untouched"
run "$UMLKIT" cow merge -f "$T/m.cow" "$T/img/m.img"
is "$rc" 1 "merge -f COW BACKING: refused"
like "$err" "m\.img" "merge -f COW BACKING: message names the backing"
is "$(sum_of "$T/img/m.img")" "$sum_b" "merge -f COW BACKING: backing untouched"
run "$UMLKIT" cow merge -f "$T/m.cow" "$T/link/../link/m.img"
is "$rc" 1 "merge -f: the backing through a symlinked directory: refused"
ln "$T/img/m.img" "$T/hard.img"
run "$UMLKIT" cow merge -f "$T/m.cow" "$T/hard.img"
is "$rc" 1 "merge -f: a hard link to the backing: refused"
is "$(stat -c %h "$T/img/m.img")" 2 "merge -f: the hard link is still a link"
ln -s "$T/img/m.img" "$T/sym.img"
run "$UMLKIT" cow merge -f "$T/m.cow" "$T/sym.img"
is "$rc" 1 "merge -f: a symlink to the backing: refused"
is "$(sum_of "$T/img/m.img")" "$sum_b" "merge refusals: backing sha256 unchanged"
is "$(stat -c %Y "$T/img/m.img")" $MT "merge refusals: backing mtime unchanged"
run "$UMLKIT" cow merge "$T/m.cow" "$T/nodir/out.img"
is "$rc" 1 "merge: OUT in a missing directory exits 1"
check "merge: OUT in a missing directory: nothing created" -- test ! -e "$T/nodir"
mkdir "$T/outdir"
run "$UMLKIT" cow merge -f "$T/m.cow" "$T/outdir"
is "$rc" 1 "merge -f: OUT that is a directory exits 1"
check "merge -f: OUT that is a directory is still an empty directory" -- \
	test -d "$T/outdir" -a -z "$(ls -A "$T/outdir")"
cp -p "$T/img/m.img" "$T/img/m-other.img"
touch -d @$((MT + 1)) "$T/img/m-other.img"
run "$UMLKIT" cow merge -b "$T/img/m-other.img" "$T/m.cow" "$T/mb.out"
is "$rc" 1 "merge -b: a backing with another mtime is refused"
like "$err" "mtime" "merge -b: stale -b backing: names the mtime"
check "merge -b: stale: no output" -- test ! -e "$T/mb.out"
run "$UMLKIT" cow merge "$T/m.cow"
is "$rc" 2 "merge without OUT: usage error, exit 2"
run "$UMLKIT" cow merge --bogus "$T/m.cow" "$T/x.out"
is "$rc" 2 "merge --bogus: usage error, exit 2"
like "$err" "unknown option '--bogus'" "merge --bogus: the message names the option"
check "merge --bogus: no output" -- test ! -e "$T/x.out"

# ============================================================ options after operands
run "$UMLKIT" cow info "$T/m.cow" --output=json
is "$rc" 0 "info COW --output=json: an option after the operand is taken"
is "$(jf "$out" .version)" 3 "info COW --output=json: JSON output"
cp -p "$T/m.cow" "$T/late.cow"
run "$UMLKIT" cow create "$T/late.cow" "$B" -f
is "$rc" 0 "create COW BACKING -f: -f after the operands replaces the COW"
is "$(jf "$("$UMLKIT" cow info --output=json "$T/late.cow")" .sectors_held)" 0 \
	"create COW BACKING -f: the new COW holds nothing"
cp -p "$T/m.cow" "$T/-dash.cow"
run "$UMLKIT" cow info --output=json -- "$T/-dash.cow"
is "$rc" 0 "info -- FILE: -- ends the options"
run "$UMLKIT" cow info -d "$T/m.cow"
is "$rc" 2 "info -d: an option of another command is a usage error"
like "$err" "option '-d' does not apply to 'cow info'" "info -d: the message names it"
run "$UMLKIT" cow create --progress=json "$T/never.cow" "$B"
is "$rc" 2 "create --progress: does not apply, exit 2"
like "$err" "option '--progress' does not apply to 'cow create'" \
	"create --progress: the message names it"
check "create --progress: no COW made" -- test ! -e "$T/never.cow"
run "$UMLKIT" cow merge "$T/m.cow" "$T/y.out" --backing
is "$rc" 2 "merge ... --backing without its value: usage error, exit 2"
like "$err" "option '--backing' needs a value" "merge --backing: the message says so"
check "merge --backing without a value: no output" -- test ! -e "$T/y.out"
run "$UMLKIT" cow map "$T/m.cow" --output
is "$rc" 2 "map COW --output without its value: exit 2"
like "$err" "option '--output' needs a value" "map --output: the message says so"

# ============================================================ locks
# hold_lock FILE w|r: a process holding an fcntl lock on FILE, as a running guest does; sets
# $holder to its pid once the lock is taken (no sleeps: it reports through a fifo)
hold_lock() {
	rm -f "$T/ready"
	mkfifo "$T/ready"
	python3 -c '
import fcntl, os, signal, sys
f = open(sys.argv[1], "r+" if sys.argv[2] == "w" else "r")
fcntl.lockf(f, fcntl.LOCK_EX if sys.argv[2] == "w" else fcntl.LOCK_SH)
with open(sys.argv[3], "w") as r:
    r.write("%d\n" % os.getpid())
signal.pause()' "$1" "$2" "$T/ready" &
	UK_PIDS+=("$!")
	holder=$!
	read -r _ <"$T/ready"
}
release_lock() { kill "$holder" && wait "$holder" 2>/dev/null; }
if command -v python3 >/dev/null; then
	cp "$B" "$T/img/l.img" && touch -d @$MT "$T/img/l.img"
	"$COWGEN" --variant 3 --backing "$T/img/l.img" --write 0:4096:3 --expect "$T/l.exp" \
		"$T/l.cow" >/dev/null
	sum_c=$(sum_of "$T/l.cow")
	sum_b=$(sum_of "$T/img/l.img")
	hold_lock "$T/l.cow" w
	run "$UMLKIT" cow merge --in-place "$T/l.cow"
	is "$rc" 1 "lock: merge --in-place of a COW a guest holds exits 1"
	like "$err" "l\.cow.*locked by pid $holder" "lock: merge --in-place names the holder's pid"
	run "$UMLKIT" cow merge "$T/l.cow" "$T/l.out"
	is "$rc" 1 "lock: merge of a COW a guest holds exits 1"
	like "$err" "locked by pid $holder" "lock: merge names the holder's pid"
	check "lock: merge made no output" -- test ! -e "$T/l.out"
	run "$UK_BUILD/uml_moo" -d "$T/l.cow"
	is "$rc" 1 "lock: uml_moo -d of a COW a guest holds exits 1 (the old one ignores locks)"
	run "$UMLKIT" cow create -f "$T/l.cow" "$T/img/l.img"
	is "$rc" 1 "lock: create -f over a COW a guest holds exits 1"
	run "$UMLKIT" cow restamp -f "$T/l.cow"
	is "$rc" 1 "lock: restamp -f of a COW a guest holds exits 1"
	run "$UMLKIT" cow info "$T/l.cow"
	is "$rc" 1 "lock: info without -U exits 1"
	is "$(printf '%s\n' "$err" | grep -c .)" 1 "lock: info's error is one line"
	run "$UMLKIT" cow info -U --output=json "$T/l.cow"
	is "$rc/$(jf "$out" .sectors_held)" 0/8 "lock: info -U reads it anyway"
	run "$UMLKIT" cow map -U "$T/l.cow"
	is "$rc" 0 "lock: map -U reads it anyway"
	is "$(sum_of "$T/l.cow")/$(sum_of "$T/img/l.img")" "$sum_c/$sum_b" \
		"lock: COW and backing untouched while locked"
	release_lock
	# another guest reads the backing (read lock): a merge to a new file is fine, an
	# in-place merge (which writes the backing) is not
	hold_lock "$T/img/l.img" r
	run "$UMLKIT" cow merge -q "$T/l.cow" "$T/l.out"
	is "$rc" 0 "lock: merge while another guest reads the backing works ($err)"
	check "lock: that merge == ground truth" -- cmp "$T/l.out" "$T/l.exp"
	run "$UMLKIT" cow merge --in-place "$T/l.cow"
	is "$rc" 1 "lock: merge --in-place while another guest reads the backing exits 1"
	like "$err" "l\.img.*locked by pid $holder" "lock: names the backing and the holder's pid"
	is "$(sum_of "$T/l.cow")/$(sum_of "$T/img/l.img")" "$sum_c/$sum_b" \
		"lock: COW and backing untouched"
	check "lock: no journal left" -- test ! -e "$T/l.cow.ukmerge"
	release_lock
	run "$UMLKIT" cow merge --in-place -q "$T/l.cow"
	is "$rc" 0 "lock: merge --in-place works once the lock is gone ($err)"
	check "lock: backing == ground truth" -- cmp "$T/img/l.img" "$T/l.exp"
else
	skip "python3 is needed to hold fcntl locks"
fi

# ============================================================ progress
run "$UMLKIT" cow merge --progress=json "$T/m.cow" "$T/p.out"
is "$rc" 0 "merge --progress=json: exits 0"
check "merge --progress=json: output == ground truth" -- cmp "$T/p.out" "$T/m.exp"
nl=$(printf '%s\n' "$err" | grep -c .)
ok "$([ "$nl" -ge 1 ]; echo $?)" "progress: at least one line ($nl)"
is "$(printf '%s\n' "$err" | jq -c 'select((.done|type) == "number" and (.total|type) == "number")' 2>/dev/null | grep -c .)" \
	"$nl" "progress: every line is a JSON object with numeric done and total"
is "$(printf '%s\n' "$err" | jq -s '[.[] | .done <= .total] | all' 2>/dev/null)" true \
	"progress: done never exceeds total"
is "$(printf '%s\n' "$err" | jq -s '[.[].done] as $d | $d == ($d | sort)' 2>/dev/null)" true \
	"progress: done never goes backwards"
is "$(printf '%s\n' "$err" | jq -s '.[-1] | .done == .total' 2>/dev/null)" true \
	"progress: the last line is complete"
run "$UMLKIT" cow merge -q -f "$T/m.cow" "$T/p.out"
is "$err" "" "merge -q: nothing on stderr"
run "$UMLKIT" cow diff -f --progress=json "$T/base.img" "$T/new.img" "$T/d.cow"
is "$(printf '%s\n' "$err" | jq -s '.[-1] | .done == .total' 2>/dev/null)" true \
	"diff --progress=json: the last line is complete"

done_testing
