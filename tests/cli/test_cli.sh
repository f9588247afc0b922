#!/bin/sh
# test_cli.sh: the `circa` program as a user drives it: pipes, files, -k/-f/-o/-c,
# --rm, refusal to overwrite or to write to a terminal, missing files, corrupt
# and truncated input, list/test, and exit codes (0 ok, 1 usage, 2 data/IO).
# usage: test_cli.sh PATH/TO/circa REPO_ROOT
. "$(dirname "$0")/lib.sh" "$@"

head -c 200000 "$ROOT/corpora/files/alice29.txt" > text
head -c 300000 /dev/urandom > random
: > empty
printf x > one

# ---- pipes -------------------------------------------------------------
for f in empty one text random; do
    for lvl in 1 3 9; do
        "$CIRCA" -$lvl < $f > $f.pipe.circa && "$CIRCA" -d < $f.pipe.circa > $f.back
        same $f $f.back "pipe round trip of $f at -$lvl"
    done
done
cat text | "$CIRCA" compress -c | "$CIRCA" decompress -c | cmp -s - text && ok || bad "compress -c | decompress -c"
"$CIRCA" < text | "$CIRCA" -d - > text.dash; same text text.dash "- means stdin"
expect 0 "-T 2 output is identical" sh -c "'$CIRCA' -T 2 < text > t2.circa && '$CIRCA' -T 1 < text > t1.circa && cmp t1.circa t2.circa"
# concatenated frames decode to the concatenation
cat text.pipe.circa one.pipe.circa > cat.circa
"$CIRCA" -d < cat.circa > cat.back; cat text one > cat.want; same cat.want cat.back "concatenated frames"

# ---- files -------------------------------------------------------------
cp text a; cp random b
expect 0 "compress two files" "$CIRCA" a b
[ -f a.circa ] && [ -f b.circa ] && [ -f a ] && [ -f b ] && ok || bad "FILE -> FILE.circa, inputs kept"
mv a a.orig
expect 0 "decompress a.circa" "$CIRCA" -d a.circa
same a.orig a "file round trip"
expect 2 "refuse to overwrite" "$CIRCA" -d a.circa
err_is "^circa: a: already exists" "overwrite refusal message"
same a.orig a "refused overwrite leaves the file"
expect 0 "-f overwrites" "$CIRCA" -d -f a.circa
expect 0 "-o names the output" "$CIRCA" -d a.circa -o named
same a.orig named "-o output"
expect 0 "-k keeps (default)" "$CIRCA" -k -f a
[ -f a ] && ok || bad "-k removed the input"
expect 1 "-o with two inputs is a usage error" "$CIRCA" -o x a b
expect 1 "unknown option" "$CIRCA" --bogus
err_is "^circa: unknown option: --bogus" "unknown option message"
expect 2 "missing file" "$CIRCA" no-such-file
err_is "^circa: no-such-file: No such file or directory$" "missing file message"
expect 2 "decompress needs the suffix" "$CIRCA" -d text
err_is "^circa: text: unknown suffix" "suffix message"
ls .*.tmp* >/dev/null 2>&1 && bad "temporary files left behind" || ok

# ---- --rm only after a complete, verified output ------------------------
cp text r1
expect 0 "--rm" "$CIRCA" --rm r1
[ ! -f r1 ] && [ -f r1.circa ] && ok || bad "--rm should remove r1 after success"
cp text r2; : > r2.circa
expect 2 "--rm with existing output" "$CIRCA" --rm r2
[ -f r2 ] && ok || bad "--rm removed the input although the output failed"
expect 0 "--rm on decompress" "$CIRCA" -d --rm r1.circa
[ -f r1 ] && [ ! -f r1.circa ] && ok || bad "decompress --rm"
same text r1 "decompress --rm content"

# ---- corrupt, truncated and foreign input -------------------------------
head -c 100 text.pipe.circa > trunc.circa
expect 2 "truncated frame" "$CIRCA" -d -c trunc.circa
err_is "^circa: trunc.circa: " "truncated message is one line"
cp text.pipe.circa flip.circa
printf '\377' | dd of=flip.circa bs=1 seek=200 conv=notrunc 2>/dev/null
expect 2 "corrupt frame" "$CIRCA" -t flip.circa
err_is "^circa: flip.circa: " "corrupt message is one line"
expect 2 "not a circa file" "$CIRCA" -d -c text
expect 2 "empty input" sh -c "'$CIRCA' -d < empty"
err_is "^circa: stdin: empty input" "empty input message"
expect 0 "test a good file" "$CIRCA" -t text.pipe.circa
expect 2 "test a bad file" "$CIRCA" test trunc.circa
[ ! -s out.txt ] && ok || bad "test writes nothing to stdout"

# ---- list ----------------------------------------------------------------
expect 0 "list" "$CIRCA" list text.pipe.circa
grep -q "text.pipe.circa" out.txt && ok || bad "list names the file"
expect 0 "list -v" "$CIRCA" -l -v a.circa
grep -q "block 1:" out.txt && ok || bad "list -v shows blocks"
expect 2 "list a truncated file" "$CIRCA" list trunc.circa

# ---- terminals -----------------------------------------------------------
# script(1) gives the command a pseudo-terminal as stdout.
if script -qec "true" /dev/null >/dev/null 2>&1; then
    script -qec "'$CIRCA' -c text" /dev/null > tty.out 2>&1; code=$?
    [ $code = 2 ] && grep -q "refusing to write compressed data to a terminal" tty.out && ok || bad "terminal refusal (exit $code): $(cat tty.out)"
fi

# ---- compression with a learned model (probabilistic circuit) ------------
# 3000 records of 16 bytes with structure between columns, raw and as IDX.
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 3000; i++) { b = int(rand() * 4)
    for (j = 0; j < 16; j++) printf "%c", 1 + (b * 50 + j * 7 + int(rand() * 3)) % 250 } }' > recs
{ printf '\000\000\010\003\000\000\013\270\000\000\000\004\000\000\000\004'; cat recs; } > recs.idx
expect 0 "pc learn" "$CIRCA" pc learn --records 16 recs --hidden 4 --epochs 2 --seed 1 -o m.pc
expect 0 "pc learn (other model)" "$CIRCA" pc learn --records 16 recs --hidden 4 --epochs 1 --seed 2 -o m2.pc
for f in recs recs.idx; do
    expect 0 "compress --model $f" sh -c "'$CIRCA' --model m.pc -c $f > $f.m.circa"
    "$CIRCA" -d --model m.pc -c $f.m.circa > $f.m.back 2>err.txt; same $f $f.m.back "--model round trip of $f"
done
"$CIRCA" -l -v recs.idx.m.circa | grep -q " model " && ok || bad "list shows model blocks"
[ "$(wc -c < recs.m.circa)" -lt "$("$CIRCA" -9 -c recs | wc -c)" ] && ok || bad "the model beats -9 on its records"
expect 2 "decompress without the model" "$CIRCA" -d -c recs.m.circa
err_is "^circa: recs.m.circa: needs the model" "missing model message"
expect 2 "decompress with another model" "$CIRCA" -d -c --model m2.pc recs.m.circa
expect 2 "a corrupt model file" sh -c "head -c 100 m.pc > bad.pc; '$CIRCA' --model bad.pc -c recs"
err_is "^circa: bad.pc: cannot load model" "corrupt model message"

# ---- lossless images ---------------------------------------------------------
# PNG -> stream -> PNG -> stream must give the same stream (pixels and kept
# chunks identical); pipes work; damage is refused with one line.
K=$ROOT/corpora/kodak/kodim23.png
expect 0 "image encode" "$CIRCA" image encode "$K" -o k.cimg
expect 0 "image decode" sh -c "'$CIRCA' image decode < k.cimg > k.png"
expect 0 "image re-encode" "$CIRCA" image encode k.png -o k2.cimg
same k.cimg k2.cimg "image round trip is pixel-exact"
[ "$(wc -c < k.cimg)" -lt "$(wc -c < "$K")" ] && ok || bad "image stream smaller than the PNG"
head -c 5000 k.cimg > kt.cimg
expect 2 "truncated image stream" "$CIRCA" image decode kt.cimg -o kt.png
err_is "^circa: kt.cimg: " "truncated image message"
expect 2 "not a PNG" "$CIRCA" image encode text -o t.cimg
err_is "^circa: text: " "not-a-PNG message"

# ---- version and help ----------------------------------------------------
expect 0 "version" "$CIRCA" version
grep -q "^circa [0-9]" out.txt && ok || bad "version line"
expect 0 "version -v" "$CIRCA" version -v
grep -q "CUDA" out.txt && ok || bad "version -v reports CUDA devices"
expect 0 "help" "$CIRCA" help

finish
