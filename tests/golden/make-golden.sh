#!/bin/sh
# make-golden.sh: regenerates tests/golden/ with a built circa. Valid frames
# pin the format (every future decoder must read them); invalid ones are
# hand-made corruptions that must be rejected. Run once, review, commit:
#   sh tests/golden/make-golden.sh build/cli/circa
set -eu
CIRCA=$1
G=$(cd "$(dirname "$0")" && pwd)
V=$G/valid I=$G/invalid
mkdir -p "$V" "$I"
: > "$V/empty.raw"
printf 'x' > "$V/one-byte.raw"
head -c 4000 "$G/../../corpora/files/alice29.txt" > "$V/text.raw"
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "%d,%d\n", i, i * i % 977 }' > "$V/table.raw"
for f in empty one-byte text table; do
    for l in 1 3 9; do
        cp "$V/$f.raw" "$V/$f-l$l.raw"
        "$CIRCA" -$l -c "$V/$f.raw" > "$V/$f-l$l.circa"
    done
    rm "$V/$f.raw"
done
# A table with hidden classes (2000 records of 20 bytes): level 9 codes it
# with the circuit over record columns (block type 4, "pc").
awk 'function rnd(n) { seed = (seed * 16807) % 2147483647; return int(seed / 2147483647 * n) }
BEGIN { seed = 42
    for (c = 0; c < 12; c++) for (j = 0; j < 20; j++) centre[c, j] = rnd(40)
    for (r = 0; r < 2000; r++) { c = rnd(12)
        for (j = 0; j < 20; j++) { v = (centre[c, j] + 7 * rnd(3)) % 40; if (rnd(8) == 0) v = rnd(40); printf "%c", 48 + v } } }' \
    > "$V/records-l9.raw"
"$CIRCA" -9 -c "$V/records-l9.raw" > "$V/records-l9.circa"
"$CIRCA" list "$V/records-l9.circa" | grep -q ' pc$' || { echo "records-l9 is not a pc block" >&2; exit 1; }
# A piped frame has no content size in its header.
"$CIRCA" -3 < "$V/text-l3.raw" > "$V/text-piped.circa"; cp "$V/text-l3.raw" "$V/text-piped.raw"
cat "$V/text-l1.circa" "$V/one-byte-l9.circa" > "$V/concatenated.circa"
cat "$V/text-l1.raw" "$V/one-byte-l9.raw" > "$V/concatenated.raw"

# poke FILE OFFSET BYTE: overwrite one byte.
poke() { printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }
src=$V/text-l9.circa
head -c 60 "$src" > "$I/truncated-in-block.circa"
head -c 10 "$src" > "$I/truncated-header.circa"
n=$(wc -c < "$src"); head -c $((n - 1)) "$src" > "$I/truncated-end-mark.circa"
cp "$src" "$I/bad-magic.circa"; poke "$I/bad-magic.circa" 0 0x44
cp "$src" "$I/bad-version.circa"; poke "$I/bad-version.circa" 4 2
cp "$src" "$I/unknown-flag.circa"; poke "$I/unknown-flag.circa" 5 0x81
cp "$src" "$I/body-flip.circa"; poke "$I/body-flip.circa" 50 0x00
cp "$src" "$I/trailing-garbage.circa"; printf 'garbage' >> "$I/trailing-garbage.circa"
cp "$V/text-l1.circa" "$I/bad-block-type.circa"; poke "$I/bad-block-type.circa" 20 7
echo "golden files written to $G"
