#!/bin/sh
# test_spectral_cli.sh: `circa resample`, `fir`, `filter`, `spectrogram` and
# `denoise` as users drive them: sox pipes in and out, exact output lengths,
# files with -o, PNG output, one-line errors and exit codes (0 ok, 1 usage,
# 2 data/IO). Needs sox to make inputs and read lengths; without it only the
# usage checks run (and it says so).
# usage: test_spectral_cli.sh PATH/TO/circa REPO_ROOT
. "$(dirname "$0")/lib.sh" "$@"

sox() { command sox -V1 "$@"; }
# frames_are FILE N DESCRIPTION
frames_are() {
    got=$(soxi -s "$1" 2>/dev/null)
    if [ "$got" = "$2" ]; then ok; else bad "$3: $got frames, wanted $2"; fi
}
rate_is() {
    got=$(soxi -r "$1" 2>/dev/null)
    if [ "$got" = "$2" ]; then ok; else bad "$3: rate $got, wanted $2"; fi
}
is_png() {
    if [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '211PNG' ]; then ok; else bad "$2: not a PNG"; fi
}

# ---- usage errors (no sox needed) ---------------------------------------------
expect 0 "resample -h" "$CIRCA" resample -h
grep -q "usage: circa resample" out.txt && ok || bad "resample -h prints usage"
expect 1 "resample without -r" "$CIRCA" resample
err_is "^circa: resample: needs -r RATE" "missing rate message"
expect 1 "bad quality" "$CIRCA" resample -r 16000 -q superb
err_is "^circa: resample: quality is low, medium, high or best: superb" "bad quality message"
expect 1 "bad rate" "$CIRCA" resample -r 0
err_is "^circa: resample: bad rate" "bad rate message"
expect 1 "filter without type" "$CIRCA" filter
err_is "^circa: filter: needs lowpass, highpass or bandpass" "filter type message"
expect 1 "bandpass needs two numbers" "$CIRCA" filter bandpass 300
err_is "^circa: filter: needs LO HI" "bandpass message"
expect 1 "filter --width without value" "$CIRCA" filter lowpass 1000 --width
err_is "^circa: filter: option needs a value: --width" "--width message"
expect 1 "fir without IR" "$CIRCA" fir
err_is "^circa: fir: needs an impulse response file" "fir message"
expect 2 "fir with a missing IR" "$CIRCA" fir no-such-ir.wav
err_is "^circa: no-such-ir.wav: " "missing IR message"
expect 1 "denoise bad number" "$CIRCA" denoise --reduction lots
err_is "^circa: denoise: bad number: lots" "denoise message"
expect 1 "spectrogram bad width" "$CIRCA" spectrogram --width 3
err_is "^circa: spectrogram: bad size" "spectrogram size message"
expect 2 "missing input" "$CIRCA" resample -r 8000 no-such.wav
err_is "^circa: no-such.wav: No such file or directory" "missing input message"

if ! have sox || ! have soxi; then
    echo "skipped: sox pipes and lengths (no sox)"
    finish
    exit
fi

sox -n -r 44100 -c 2 -b 16 in.wav synth 2 sine 1000 sine 300-3000 vol 0.5
sox -n -r 44100 -c 2 in.flac synth 1.5 sine 440 vol 0.5
sox -n -r 44100 -c 1 -e floating-point -b 32 ir.wav synth 0.25 whitenoise fade q 0 0.25 0.25 vol 0.05
sox -n -r 48000 -c 1 -e floating-point -b 32 ir48.wav synth 0.01 whitenoise vol 0.1
sox -n -r 44100 -c 3 -e floating-point -b 32 ir3.wav synth 0.01 whitenoise vol 0.1

# ---- resample ------------------------------------------------------------------
# the must-show pipe: sox -> resample -> gain -> sox
expect 0 "sox | resample | gain | sox" sh -c \
    "sox in.flac -t wav - | '$CIRCA' resample -r 16000 | '$CIRCA' gain -3 | sox -V1 -t wav - out.flac"
rate_is out.flac 16000 "pipe output rate"
frames_are out.flac 24000 "pipe output length (1.5 s)"
for q in low medium high best; do
    expect 0 "resample -q $q" "$CIRCA" resample -r 48000 -q $q in.wav -o r48_$q.wav
    frames_are r48_$q.wav 96000 "44.1 -> 48 kHz length ($q)"
done
# ceil(88200 * 8000 / 44100) = 16000; an odd length: ceil(1001 * 160 / 441) = 364
expect 0 "resample to 8 kHz" "$CIRCA" resample -r 8000 in.wav -o r8.wav
frames_are r8.wav 16000 "44.1 -> 8 kHz length"
sox in.wav short.wav trim 0 1001s
expect 0 "resample odd length" "$CIRCA" resample -r 16000 short.wav -o short16.wav
frames_are short16.wav 364 "ceil(in * out / in_rate)"
expect 0 "same rate copies" "$CIRCA" resample -r 44100 in.wav -o same.wav
cmp -s in.wav same.wav && ok || bad "resample to the same rate is a bit-exact copy"
expect 2 "refuses to overwrite" "$CIRCA" resample -r 8000 in.wav -o r8.wav
expect 0 "-f overwrites" "$CIRCA" resample -r 8000 in.wav -o r8.wav -f

# ---- filter ---------------------------------------------------------------------
for spec in "lowpass 2000" "highpass 500" "bandpass 300 3400"; do
    expect 0 "filter $spec" "$CIRCA" filter $spec --atten 90 in.wav -o f.wav -f
    frames_are f.wav 88200 "filter $spec keeps the length"
done
expect 0 "filter in a pipe" sh -c "sox in.wav -t wav - | '$CIRCA' filter lowpass 1000 --width 200 | sox -V1 -t wav - fp.wav"
frames_are fp.wav 88200 "piped filter length"
expect 1 "cutoff above Nyquist" "$CIRCA" filter lowpass 30000 in.wav -o f2.wav
err_is "^circa: filter: the transition band does not fit" "cutoff message"
[ ! -f f2.wav ] && ok || bad "no output left after a failure"

# ---- fir ------------------------------------------------------------------------
expect 0 "fir" "$CIRCA" fir ir.wav in.wav -o c.wav
frames_are c.wav $((88200 + 11025 - 1)) "fir length = input + IR - 1"
expect 0 "fir in a pipe" sh -c "sox in.wav -t wav - | '$CIRCA' fir ir.wav | sox -V1 -t wav - cp.wav"
frames_are cp.wav $((88200 + 11025 - 1)) "piped fir length"
expect 2 "IR rate mismatch" "$CIRCA" fir ir48.wav in.wav -o c2.wav
err_is "^circa: fir: ir48.wav: the IR is 48000 Hz, the input 44100 Hz" "rate mismatch message"
expect 2 "IR channel mismatch" "$CIRCA" fir ir3.wav in.wav -o c3.wav
err_is "^circa: fir: ir3.wav: the IR has 3 channels, the input 2" "channel mismatch message"

# ---- denoise --------------------------------------------------------------------
sox -n -r 16000 -c 1 noisy.wav synth 3 whitenoise vol 0.02 : synth 2 sine 1000 vol 0.3
expect 0 "denoise" "$CIRCA" denoise noisy.wav -o clean.wav
frames_are clean.wav "$(soxi -s noisy.wav)" "denoise keeps the length"
expect 0 "denoise in a pipe" sh -c "sox noisy.wav -t wav - | '$CIRCA' denoise --reduction 30 | sox -V1 -t wav - dp.wav"
frames_are dp.wav "$(soxi -s noisy.wav)" "piped denoise length"

# ---- spectrogram ----------------------------------------------------------------
expect 0 "spectrogram -o" "$CIRCA" spectrogram in.wav -o s.png
is_png s.png "spectrogram file"
expect 0 "spectrogram from a pipe to stdout" sh -c "sox in.wav -t wav - | '$CIRCA' spectrogram --width 300 --height 129 > p.png"
is_png p.png "spectrogram on stdout"
expect 2 "spectrogram refuses to overwrite" "$CIRCA" spectrogram in.wav -o s.png
ls .*.tmp* >/dev/null 2>&1 && bad "temporary files left behind" || ok

finish
