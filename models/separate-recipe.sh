#!/bin/sh
# separate-recipe.sh: trains and scores the two small shipped Conv-TasNet separation models
# (non-causal gLN and causal cLN) on a folder of speech, as docs/separate.md records.
# usage: models/separate-recipe.sh CIRCA SPEECH_DIR OUT_DIR [SECONDS] [THREADS]
#   CIRCA       the circa program
#   SPEECH_DIR  speech files readable by libsndfile (FLAC, WAV, OGG, ...); speaker id from
#               SPEECH_DIR/MANIFEST.tsv (columns file, speaker) if present, else each file's
#               folder. Here: ../shared/corpora/speech; elsewhere e.g. LibriSpeech
#               train-clean-100 (speaker folders).
#   OUT_DIR     gets separate-gln-small.cnn, separate-cln-small.cnn, their checkpoints, logs
#               and eval tables
#   SECONDS     wall-clock training budget per model (default 600)
#   THREADS     threads per model (default 1; the two models train side by side)
# The shipped models then went through stages 2-4 (resumes, docs/separate.md has the
# exact commands and logs). Training data never goes into the repository: only the
# models (each <= 10 MB).
set -eu
CIRCA=$1
DATA=$2
OUT=$3
SECONDS_BUDGET=${4:-600}
THREADS=${5:-1}
CONFIG=64,16,64,128,64,3,6,2   # N,L,B,H,Sc,P,X,R: 0.32M parameters
COMMON="--data $DATA --config $CONFIG --seconds $SECONDS_BUDGET --segment 2 --batch 4 --lr 1e-3 \
--epoch-steps 25 --val 16 --seed 1 --split-seed 1 -T $THREADS"
mkdir -p "$OUT"
# shellcheck disable=SC2086
"$CIRCA" separate-train $COMMON --out "$OUT/separate-gln-small.cnn" 2> "$OUT/gln-train.log" &
gln=$!
# shellcheck disable=SC2086
"$CIRCA" separate-train $COMMON --causal --out "$OUT/separate-cln-small.cnn" 2> "$OUT/cln-train.log" &
cln=$!
wait $gln
wait $cln
for m in gln cln; do
    "$CIRCA" separate-eval --model "$OUT/separate-$m-small.cnn" --data "$DATA" --split-seed 1 \
        --mixtures 50 --seconds 4 --seed 1 -T "$THREADS" > "$OUT/$m-eval.txt" 2> "$OUT/$m-eval.log"
done
cat "$OUT/gln-eval.txt" "$OUT/cln-eval.txt"
