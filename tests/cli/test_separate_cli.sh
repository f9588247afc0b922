#!/bin/sh
# test_separate_cli.sh: `circa separate`, `separate-init`, `separate-train` and `separate-eval` as
# users drive them: a tiny model made in the test, a pipe through sox (any rate in, the same rate and
# length out, 2 channels), two -o files, a causal model, training for a second on synthetic speakers,
# and malformed audio, models and arguments refused with one-line errors (exit 1 usage, 2 data).
# Parts that need sox are skipped (and said so) when it is absent.
# usage: test_separate_cli.sh PATH/TO/circa REPO_ROOT
. "$(dirname "$0")/lib.sh" "$@"
skipped=""

sox() { command sox -V1 "$@"; }
# info FILE KEY: soxi's field.
info() { command soxi "-$2" "$1" 2>/dev/null; }

TINY=8,16,8,16,8,3,3,1
expect 0 "init gLN" "$CIRCA" separate-init --config $TINY -o g.cnn
expect 0 "init causal" "$CIRCA" separate-init --config $TINY --causal -o c.cnn
expect 1 "bad config" "$CIRCA" separate-init --config 8,15,8 -o x.cnn
err_is "separate-init: bad --config" "bad config message"
expect 0 "help" "$CIRCA" separate -h

if have sox; then
    sox -n -r 16000 -c 1 -b 16 in.wav synth 1.5 sine 300 sine 520
    sox -n -r 44100 -c 2 -b 16 st.wav synth 1 sine 200 sine 700
    # The issue's pipeline: sox | circa separate | sox remix 1.
    if sox in.wav -t wav - | "$CIRCA" separate --model g.cnn | sox -t wav - one.wav remix 1 2>err.txt; then ok; else bad "pipe: $(cat err.txt)"; fi
    [ "$(info one.wav s)" = 24000 ] && [ "$(info one.wav r)" = 16000 ] && ok || bad "pipe: length or rate of one.wav"
    sox in.wav -t wav - | "$CIRCA" separate --model g.cnn > two.wav 2>err.txt
    [ "$(info two.wav c)" = 2 ] && [ "$(info two.wav s)" = 24000 ] && ok || bad "2 channels of the input's length"
    expect 0 "stereo 44.1 kHz input" "$CIRCA" separate --model c.cnn st.wav -o st_out.wav
    [ "$(info st_out.wav c)" = 2 ] && [ "$(info st_out.wav s)" = 44100 ] && ok || bad "stereo input: 2 channels, same length"
    expect 0 "two -o" "$CIRCA" separate --model c.cnn in.wav -o s1.wav -o s2.wav
    [ "$(info s1.wav c)" = 1 ] && [ "$(info s2.wav s)" = 24000 ] && ok || bad "two -o: mono files of the input's length"
    expect 2 "existing -o" "$CIRCA" separate --model c.cnn in.wav -o s1.wav -o s2.wav
    expect 0 "--causal with a causal model" "$CIRCA" separate --causal --model c.cnn in.wav -o causal.wav
    [ "$(info causal.wav s)" = 24000 ] && ok || bad "--causal: the input's length"
    expect 2 "--causal with a gLN model" "$CIRCA" separate --causal --model g.cnn in.wav -o causal2.wav
    err_is "^circa: separate: g.cnn: --causal needs a causal" "--causal refusal message"
    # Progress: none when stderr is not a terminal, lines with --progress, stdout untouched.
    "$CIRCA" separate --model g.cnn in.wav -o quiet.wav 2>err.txt
    grep -q "s of audio" err.txt && bad "no progress when stderr is not a terminal: $(cat err.txt)" || ok
    "$CIRCA" separate --model g.cnn --progress in.wav > prog.wav 2>err.txt
    grep -q "^circa: separate: in.wav: 1.5 s of audio, RTF " err.txt && [ "$(info prog.wav c)" = 2 ] && ok || bad "--progress: $(cat err.txt)"
    # Several chunks (2 s, overlapping by 0.5 s) for an input longer than one.
    sox -n -r 8000 -c 1 -b 16 five.wav synth 5.3 sine 300 sine 520
    expect 0 "--chunk 2" "$CIRCA" separate --model g.cnn --chunk 2 five.wav -o five_out.wav
    [ "$(info five_out.wav c)" = 2 ] && [ "$(info five_out.wav s)" = 42400 ] && ok || bad "--chunk 2: 2 channels of the input's length"
    # --gpu: the CPU's result to float rounding where circa sees a device, else a refusal
    if "$CIRCA" -v --version 2>/dev/null | grep -q "^CUDA device 0"; then
        expect 0 "GPU separate" "$CIRCA" separate --gpu --model g.cnn in.wav -o gpu.wav
        "$CIRCA" separate --model g.cnn in.wav -o cpu.wav 2>/dev/null
        "$CIRCA" stats gpu.wav --ref cpu.wav > st.txt 2>&1
        awk '/^snr:/ { exit !($2 == "inf" || $2 > 80) }' st.txt && ok || bad "GPU output matches the CPU's: $(cat st.txt)"
    else
        expect 2 "GPU separate without a device" "$CIRCA" separate --gpu --model g.cnn in.wav -o gpu.wav
        err_is "^circa: separate: --gpu: " "GPU refusal message"
        [ ! -e gpu.wav ] && ok || bad "no output without a device"
    fi
    # Interrupted with two -o: neither partial output may stay behind.
    sox -n -r 8000 -c 1 -b 16 long.wav synth 900 sine 300
    "$CIRCA" separate --model c.cnn long.wav -o k1.wav -o k2.wav 2>/dev/null &
    pid=$!
    sleep 1
    kill -INT $pid 2>/dev/null
    wait $pid
    left=$(ls -a | grep -c -e 'k[12]\.wav\.partial' -e '\.k[12]\.wav\.tmp')
    [ "$left" = 0 ] && ok || bad "SIGINT left partial outputs: $(ls -a | tr '\n' ' ')"
    # FLAC in through a pipe.
    sox in.wav in.flac
    if sox in.flac -t flac - | "$CIRCA" separate --model g.cnn - -t wav > f.wav 2>err.txt && [ "$(info f.wav c)" = 2 ]; then ok; else bad "flac pipe: $(cat err.txt)"; fi
    # Training for a second on synthetic speakers (folder per speaker), then eval.
    mkdir data
    for k in 0 1 2 3 4 5; do
        mkdir data/spk$k
        sox -n -r 16000 -c 1 -b 16 data/spk$k/a.wav synth 1.2 sawtooth $((100 + 40 * k)) gain -10
    done
    expect 0 "train 1 s" "$CIRCA" separate-train --data data --out m.cnn --config $TINY --seconds 1 --segment 0.5 --batch 2 --epoch-steps 2 --val 2
    [ -s m.cnn ] && [ -s m.cnn.ckpt ] && [ -s m.cnn.ckpt.opt ] && ok || bad "train: model and checkpoint written"
    expect 0 "resume" "$CIRCA" separate-train --data data --out m.cnn --resume m.cnn.ckpt --seconds 1 --segment 0.5 --batch 2 --epoch-steps 2 --val 2
    grep -q "resumed at epoch" err.txt && ok || bad "resume message: $(cat err.txt)"
    expect 0 "eval" "$CIRCA" separate-eval --model m.cnn --data data --mixtures 2 --seconds 1
    grep -q "oracle WFM" out.txt && grep -q "^model " out.txt && ok || bad "eval table: $(cat out.txt)"
    # training and evaluation on the GPU (with -T 2: mixtures made on two threads)
    if "$CIRCA" -v --version 2>/dev/null | grep -q "^CUDA device 0"; then
        expect 0 "train on the GPU" "$CIRCA" separate-train --gpu --data data --out mg.cnn --config $TINY --seconds 1 --segment 0.5 --batch 2 --epoch-steps 2 --val 2 -T 2
        expect 0 "eval on the GPU" "$CIRCA" separate-eval --gpu --model mg.cnn --data data --mixtures 2 --seconds 1
    else
        expect 2 "GPU training without a device" "$CIRCA" separate-train --gpu --data data --out mg.cnn --config $TINY --seconds 1 -T 2
        err_is "^circa: separate-train: --gpu: " "GPU training refusal"
        [ ! -e mg.cnn ] && ok || bad "no model written without a device"
        expect 2 "GPU eval without a device" "$CIRCA" separate-eval --gpu --model m.cnn --data data --mixtures 2 --seconds 1
    fi
else
    skipped="$skipped sox"
fi

# Malformed inputs and models.
head -c 3000 /dev/urandom > junk.wav 2>/dev/null || dd if=/dev/zero of=junk.wav bs=1000 count=3 2>/dev/null
expect 2 "junk audio" "$CIRCA" separate --model g.cnn junk.wav
err_is "junk.wav" "junk audio message"
printf 'RIFF\044\000\000\000WAVEfmt ' > trunc.wav
expect 2 "truncated WAV" "$CIRCA" separate --model g.cnn trunc.wav
cp g.cnn bad.cnn
printf 'XXXX' | dd of=bad.cnn bs=1 seek=100 conv=notrunc 2>/dev/null
expect 2 "corrupt model" sh -c "\"$CIRCA\" separate --model bad.cnn < junk.wav"
err_is "bad.cnn: not a usable separation model" "corrupt model message"
expect 2 "missing model" "$CIRCA" separate --model nothere.cnn junk.wav
expect 1 "no model" "$CIRCA" separate junk.wav
err_is "separate: --model MODEL is required" "no model message"
expect 1 "bad option" "$CIRCA" separate-train --bogus 1
expect 2 "missing data" "$CIRCA" separate-train --data nothere --out x.cnn --config $TINY

[ -n "$skipped" ] && echo "skipped (not installed):$skipped"
finish
