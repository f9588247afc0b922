#!/bin/sh
# models/separate-pack.sh: packs a speech folder for training on a machine with
# an upload limit (the workplace's GPU machine takes 64 MiB in all): every file
# of SRC/MANIFEST.tsv downmixed, resampled to 8 kHz (the models' rate) and
# encoded as Ogg Opus at 24 kbit/s (about 10 MB for the 55.6 min of
# ../shared/corpora/speech), with MANIFEST.tsv's file column rewritten and the
# other columns (speaker, licence, source) kept. Opus at 24 kbit/s is
# near-transparent for narrow-band speech; what it changes is recorded in
# docs/separate.md next to the models trained on it.
#
#   sh models/separate-pack.sh SRC OUT      (needs ffmpeg with libopus)
set -eu
src=$1 out=$2
[ -f "$src/MANIFEST.tsv" ] || { echo "separate-pack: $src/MANIFEST.tsv not found" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "separate-pack: ffmpeg not found" >&2; exit 2; }
mkdir -p "$out"
head -1 "$src/MANIFEST.tsv" > "$out/MANIFEST.tsv"
tail -n +2 "$src/MANIFEST.tsv" | while IFS="$(printf '\t')" read -r file rest; do
    dst=$(echo "$file" | sed 's/\.[^./]*$//').ogg
    mkdir -p "$out/$(dirname "$dst")"
    # Through WAV: Ogg Vorbis inputs encoded directly gave Opus streams
    # (granule positions carried over) that libsndfile refuses.
    ffmpeg -nostdin -hide_banner -loglevel error -i "$src/$file" -ar 8000 -ac 1 -f wav - |
        ffmpeg -nostdin -hide_banner -loglevel error -y -f wav -i - -c:a libopus -b:a 24k "$out/$dst"
    printf '%s\t%s\n' "$dst" "$rest" >> "$out/MANIFEST.tsv"
done
echo "separate-pack: $(($(wc -l < "$out/MANIFEST.tsv") - 1)) files, $(du -sh "$out" | cut -f1) in $out" >&2
