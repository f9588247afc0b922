#!/bin/sh
# make-sizes.sh: regenerates tests/regression/sizes.csv (file,level,bytes of
# the one-shot frame) with a built circa; run after an intended ratio change:
#   sh tests/regression/make-sizes.sh build/cli/circa
set -eu
CIRCA=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/tests/regression/sizes.csv
echo "# file,level,bytes: circa_compress() of each corpus file (made by make-sizes.sh)" > "$OUT"
for level in 3 9; do
    for f in "$ROOT"/corpora/files/*; do
        # The CLI gives the same frame as the one-shot API for a regular file.
        echo "$(basename "$f"),$level,$("$CIRCA" -$level -c "$f" | wc -c)" >> "$OUT"
    done
done
echo "wrote $OUT"
