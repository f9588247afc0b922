#!/bin/sh
# test_rbf_cli.sh: `circa rbf fit|render|info` as users drive it: pipes,
# sizes, the field file's errors. Tiny fields and few steps: this checks
# the plumbing; quality is checked by tests/unit/test_rbf.c and bench/rbf-kodak.
. "$(dirname "$0")/lib.sh" "$@"
K=$ROOT/corpora/kodak/kodim23.png
SMALL="--kernels 64 --features 4 --hidden 8 --grid 16 --steps 3 --batch 4096"

expect 0 "fit to a file" "$CIRCA" rbf fit "$K" -o f.rbf $SMALL -q
expect 0 "fit through pipes" sh -c "'$CIRCA' rbf fit $SMALL -q < '$K' > p.rbf"
same f.rbf p.rbf "same seed, same field, file or pipe"
expect 0 "render at the fitted size" "$CIRCA" rbf render f.rbf -o r.png
expect 0 "render 2x through a pipe" sh -c "'$CIRCA' rbf render --scale 2 < f.rbf > big.png"
expect 0 "render --size" "$CIRCA" rbf render f.rbf --size 100x40 -o s.png
expect 0 "the rendered PNG is an image" "$CIRCA" image encode s.png -o s.cimg
expect 0 "info" "$CIRCA" rbf info f.rbf
grep -q "^image *768x512, 3 channel" out.txt && ok || bad "info shows the image size: $(cat out.txt)"
grep -q "^kernels *64 x 4" out.txt && ok || bad "info shows the kernels: $(cat out.txt)"
expect 0 "quantised field" "$CIRCA" rbf fit "$K" -o q.rbf $SMALL --quant 0.05
grep -q "PSNR .* dB, [0-9]* bytes" err.txt && ok || bad "fit reports PSNR and size: $(cat err.txt)"
[ "$(wc -c < q.rbf)" -lt "$(wc -c < f.rbf)" ] && ok || bad "quantised field smaller than exact"
expect 0 "quantised field renders" "$CIRCA" rbf render q.rbf -o q.png

head -c 100 f.rbf > t.rbf
expect 2 "truncated field" "$CIRCA" rbf render t.rbf -o t.png
err_is "^circa: t.rbf: .*truncated" "truncated field message"
[ ! -e t.png ] && ok || bad "no output left behind after an error"
cp f.rbf c.rbf
printf 'X' | dd of=c.rbf bs=1 seek=200 conv=notrunc 2>/dev/null
expect 2 "corrupt field" "$CIRCA" rbf info c.rbf
err_is "^circa: c.rbf: .*checksum" "corrupt field message"
expect 2 "not an image" "$CIRCA" rbf fit f.rbf -o x.rbf -q
err_is "^circa: f.rbf: not a readable PNG" "not an image message"
expect 2 "budget too small" "$CIRCA" rbf fit "$K" --params 100 -o x.rbf -q
err_is "^circa: .*cannot fit" "budget message"
expect 1 "bad option value" "$CIRCA" rbf fit "$K" --steps zero
expect 1 "unknown subcommand" "$CIRCA" rbf paint
# --gpu: a field where circa sees a CUDA device (circa -vV lists it), else a
# clear refusal
if "$CIRCA" -v --version 2>/dev/null | grep -q "^CUDA device 0"; then
  expect 0 "GPU fit" "$CIRCA" rbf fit "$K" --gpu -o g.rbf $SMALL -q
  expect 0 "GPU render" "$CIRCA" rbf render --gpu g.rbf -o g.png
  expect 0 "GPU codec fit" "$CIRCA" rbf fit "$K" --gpu --bpp 0.5 --steps 100 -o gb.rbf -q
else
  expect 2 "GPU codec fit without a device" "$CIRCA" rbf fit "$K" --gpu --bpp 0.5 --steps 100 -o gb.rbf -q
  err_is "^circa: .*--gpu: " "GPU codec refusal message"
  expect 2 "GPU fit without a device" "$CIRCA" rbf fit "$K" --gpu -o g.rbf $SMALL -q
  err_is "^circa: .*--gpu: " "GPU refusal message"
  [ ! -e g.rbf ] && ok || bad "no field written without a device"
  expect 2 "GPU render without a device" "$CIRCA" rbf render --gpu f.rbf -o g.png
fi
expect 2 "existing output kept" "$CIRCA" rbf render f.rbf -o r.png
finish
