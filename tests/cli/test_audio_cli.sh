#!/bin/sh
# test_audio_cli.sh: `circa gain`, `circa mix` and `circa stats` as users drive
# them: pipe round trips through sox and ffmpeg in both directions (WAV, FLAC,
# AU, raw; bit-exact where the format allows), files with -o, levels and
# SNR, malformed input, and exit codes (0 ok, 1 usage, 2 data/IO). Parts that
# need sox, ffmpeg or flac are skipped (and said so) when the tool is absent.
# CIRCA_TEST_QUICK=1 runs a smaller matrix (sanitizer builds).
# usage: test_audio_cli.sh PATH/TO/circa REPO_ROOT
. "$(dirname "$0")/lib.sh" "$@"
skipped=""

# sox and ffmpeg print only errors: their warnings about "unknown" pipe sizes are expected.
sox() { command sox -V1 "$@"; }
skip() { case " $skipped " in *" $1 "*) ;; *) skipped="$skipped $1" ;; esac; }
# same A B DESCRIPTION: here stricter than lib.sh's: A must not be empty.
same() { if [ -s "$1" ] && cmp -s "$1" "$2"; then ok; else bad "$3: $1 and $2 differ (or are empty)"; fi; }
# field KEY FILE: the value after "KEY:" in circa stats output.
field() { sed -n "s/^$1: *//p" "$2" | cut -d' ' -f1; }
# near A B TOL: |A - B| <= TOL (awk arithmetic).
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

QUICK=${CIRCA_TEST_QUICK:-0}
LEN=0.5
[ "$QUICK" = 1 ] && LEN=0.2

# ---- test audio (sox synth; else a tiny awk generator of raw s16) -----------
if have sox; then
    sox -n -r 44100 -c 2 -b 16 s16.wav synth $LEN sine 440 sine 660 gain -1
    sox -n -r 48000 -c 2 -b 24 s24.wav synth $LEN sine 300 sine 1000 gain -2
    sox -n -r 16000 -c 6 -b 24 s24_6.wav synth $LEN sine 200 sine 300 sine 400 sine 500 sine 600 sine 700 gain -3
    sox -n -r 22050 -c 1 -e float -b 32 f32.wav synth $LEN sine 440 gain -1
    sox -n -r 44100 -c 1 -b 32 s32.wav synth $LEN sine 440 gain -1
    sox -n -r 44100 -c 2 -b 16 short.wav synth 0.1 sine 440
else
    skip sox
fi
# A raw s16 tone that needs no tool: 8000 frames of mono at 8 kHz.
LC_ALL=C awk 'BEGIN { for (i = 0; i < 8000; i++) { v = int(8000 * sin(i * 0.1)); if (v < 0) v += 65536;
    printf "%c%c", v % 256, int(v / 256) } }' > tone.raw 2>/dev/null
if [ "$(wc -c < tone.raw)" != 16000 ]; then
    # some awks write multibyte for %c > 127; fall back to sox or to zeros
    if have sox; then sox -n -r 8000 -c 1 -b 16 -e signed -t raw tone.raw synth 1 sine 440 gain -12
    else head -c 16000 /dev/zero > tone.raw; fi
fi

# samples FILE OUT [TOOL]: decodes FILE to raw 32-bit samples (float for
# float sources) with sox (or ffmpeg), so that two files compare by cmp.
samples() {
    if [ "${3:-sox}" = ffmpeg ]; then
        fmt=s32le
        case "$1" in *f32*) fmt=f32le ;; esac
        ffmpeg -v error -y -i "$1" -f $fmt "$2"
    else
        enc="-e signed -b 32"
        case "$1" in *f32*) enc="-e float -b 32" ;; esac
        sox "$1" -t raw $enc "$2"
    fi
}

# ---- pipes through sox, both directions ------------------------------------
if have sox; then
    for src in s16.wav s24.wav s24_6.wav f32.wav; do
        [ "$QUICK" = 1 ] && [ $src = s24_6.wav ] && continue
        samples $src $src.ref
        for t in wav flac au raw; do
            case $t-$src in flac-f32*) continue ;; esac
            rawopts=""
            if [ $t = raw ]; then
                rate=$(soxi -r $src); ch=$(soxi -c $src); bits=$(soxi -b $src)
                rawopts="-r $rate -c $ch -b $bits -e signed"
                case $src in f32*) rawopts="-r $rate -c $ch -b 32 -e float" ;; esac
            fi
            # sox writes the pipe, circa reads it and writes its own pipe, sox reads that
            # shellcheck disable=SC2086
            out=back.$t.wav
            case $src in f32*) out=back.$t.f32.wav ;; esac
            sox $src -t $t - | "$CIRCA" gain 0 -t $t $rawopts - | sox -t $t $rawopts - $out
            samples $out $out.raw
            same $src.ref $out.raw "sox -t $t | circa gain 0 | sox: $src"
        done
    done
    # a sox FLAC file through a WAV pipe and back to FLAC (the issue's example)
    sox s24.wav in.flac
    sox in.flac -t wav - | "$CIRCA" gain 0 | sox -t wav - out.flac
    samples in.flac a.raw; samples out.flac b.raw; same a.raw b.raw "sox in.flac -t wav - | circa gain 0 | sox -t wav - out.flac"
    # gain -3 against sox's own (undithered) gain: within rounding
    sox -D s16.wav -t wav - gain -3 > sox_g.wav
    "$CIRCA" gain -3 s16.wav -o circa_g.wav
    "$CIRCA" stats circa_g.wav --ref sox_g.wav > st.txt 2>/dev/null
    snr=$(field snr st.txt)
    if [ "$snr" = inf ] || near "$snr" 120 40; then ok; else bad "gain -3 vs sox gain -3: SNR $snr dB"; fi
    # s32 goes through float: 24 significant bits, so close but not exact
    "$CIRCA" gain 0 s32.wav -o s32_back.wav
    "$CIRCA" stats s32_back.wav --ref s32.wav > st.txt
    snr=$(field snr st.txt)
    if [ "$snr" = inf ] || near "$snr" 170 30; then ok; else bad "s32 through float: SNR $snr dB"; fi
else
    skip sox
fi

# ---- pipes through ffmpeg, both directions ---------------------------------
if have ffmpeg && have sox; then
    for src in s16.wav s24.wav f32.wav; do
        [ "$QUICK" = 1 ] && [ $src = s24.wav ] && continue
        samples $src $src.ffref ffmpeg
        codec=pcm_s16le; raw=s16le
        case $src in s24*) codec=pcm_s24le; raw=s32le ;; f32*) codec=pcm_f32le; raw=f32le ;; esac
        rate=$(soxi -r $src); ch=$(soxi -c $src)
        for t in wav flac au raw; do
            case $t-$src in flac-f32*) continue ;; esac
            case $t in
                wav) fin="-f wav -c:a $codec"; fout="-f wav"; copts="" ;;
                flac) fin="-f flac"; fout="-f flac"; copts="" ;;
                au) fin="-f au -c:a $(echo $codec | sed 's/le$/be/')"; fout="-f au"; copts="" ;;
                raw) fin="-f $raw"; fout="-f $raw -ar $rate -ac $ch"
                     case $raw in
                         s16le) copts="-t raw -r $rate -c $ch -b 16" ;;
                         s32le) copts="-t raw -r $rate -c $ch -b 32" ;;
                         f32le) copts="-t raw -r $rate -c $ch -e float" ;;
                     esac ;;
            esac
            out=ff.$t.wav
            case $src in f32*) out=ff.$t.f32.wav ;; esac
            case $src in s24*) oc=pcm_s24le ;; f32*) oc=pcm_f32le ;; *) oc=pcm_s16le ;; esac
            # shellcheck disable=SC2086
            ffmpeg -v error -i $src $fin - | "$CIRCA" gain 0 $copts - | ffmpeg -v error -y $fout -i - -c:a $oc $out
            samples $out $out.raw ffmpeg
            same $src.ffref $out.raw "ffmpeg -f $t | circa gain 0 | ffmpeg: $src"
        done
    done
    # the issue's example: FLAC in, -3 dB, FLAC out, compared with circa's own gain
    ffmpeg -v error -i s24.wav -c:a flac x.flac
    ffmpeg -v error -i x.flac -f wav -c:a pcm_s24le - | "$CIRCA" gain -3 | ffmpeg -v error -y -f wav -i - y.flac
    "$CIRCA" gain -3 x.flac -o y_direct.flac
    samples y.flac y.raw ffmpeg; samples y_direct.flac y_direct.raw ffmpeg
    same y.raw y_direct.raw "ffmpeg -i x.flac -f wav - | circa gain -3 | ffmpeg -f wav -i - y.flac"
else
    have ffmpeg || skip ffmpeg
fi

# ---- circa's pipe output read by the flac tool ------------------------------
if have flac && have sox; then
    # (flac writes raw here: its WAV from a pipe would have a data size of 0)
    "$CIRCA" gain 0 s24.wav -t flac | flac -s -d -c --force-raw-format --endian=little --sign=signed - > fl.raw 2>fl.err
    sox s24.wav -t raw -e signed -b 24 s24.raw; same s24.raw fl.raw "circa gain 0 -t flac | flac -d"
else
    have flac || skip flac
fi

# ---- raw input with the tool-free tone ---------------------------------------
expect 0 "raw in, wav out" sh -c "'$CIRCA' gain 0 -t raw -r 8000 -c 1 -b 16 tone.raw -o tone.wav"
expect 0 "wav back to raw" sh -c "'$CIRCA' gain 0 tone.wav -t raw > tone.back"
same tone.raw tone.back "raw -> wav -> raw"
expect 0 "raw through a pipe" sh -c "cat tone.raw | '$CIRCA' gain 0 -t raw -r 8000 -c 1 -b 16 - | cat > tone.pipe"
same tone.raw tone.pipe "raw pipe round trip"
expect 0 "raw to flac file and back" sh -c "'$CIRCA' gain 0 -t raw -r 8000 -c 1 -b 16 tone.raw -o tone.flac && '$CIRCA' gain 0 tone.flac -t raw -o tone.fback"
same tone.raw tone.fback "raw -> flac -> raw"
expect 0 "raw to au pipe and back" sh -c "'$CIRCA' gain 0 -t raw -r 8000 -c 1 -b 16 tone.raw -t au | '$CIRCA' gain 0 -t raw > tone.aback"
same tone.raw tone.aback "raw -> au pipe -> raw"
expect 0 "float wav pipe and back" sh -c "'$CIRCA' gain 0 tone.wav -e float | '$CIRCA' gain 0 -b 16 -t raw > tone.fl"
same tone.raw tone.fl "s16 -> float -> s16"

# the WAV pipe header: RIFF and data sizes 0xFFFFFFFF, 44 bytes before the samples
"$CIRCA" gain 0 tone.wav | od -A n -t x1 -N 44 | tr -d ' \n' > hdr.txt
case $(cat hdr.txt) in
    52494646ffffffff57415645666d74201000000001000100401f0000803e00000200100064617461ffffffff) ok ;;
    *) bad "WAV pipe header: $(cat hdr.txt)" ;;
esac
"$CIRCA" gain 0 tone.wav -e float | od -A n -t x1 -N 46 | tr -d ' \n' > hdr.txt
case $(cat hdr.txt) in
    52494646ffffffff57415645666d74201200000003000100401f0000007d000004002000000064617461ffffffff) ok ;;
    *) bad "float WAV pipe header: $(cat hdr.txt)" ;;
esac

# ---- levels, SNR and SI-SNR ----------------------------------------------------
expect 0 "stats" "$CIRCA" stats tone.wav
grep -q "^channels: *1$" out.txt && grep -q "^rate: *8000$" out.txt && grep -q "^frames: *8000$" out.txt \
    && grep -q "^duration: *1.000000 s$" out.txt && ok || bad "stats fields: $(cat out.txt)"
expect 0 "stats against itself" "$CIRCA" stats tone.wav --ref tone.wav
[ "$(field snr out.txt)" = inf ] && [ "$(field si-snr out.txt)" = inf ] && ok || bad "self SNR: $(cat out.txt)"
"$CIRCA" gain -20 tone.wav -e float -o quiet.wav
expect 0 "stats of a scaled copy" "$CIRCA" stats quiet.wav --ref tone.wav
near "$(field snr out.txt)" 0.915 0.01 && ok || bad "SNR of 0.1 x ref: $(field snr out.txt)"
[ "$(field si-snr out.txt)" = inf ] || near "$(field si-snr out.txt)" 130 40 && ok || bad "SI-SNR of a scaled copy: $(field si-snr out.txt)"
"$CIRCA" stats tone.wav > a.txt; "$CIRCA" stats quiet.wav > b.txt
near "$(field rms a.txt)" "$(awk -v r="$(field rms b.txt)" 'BEGIN { print r + 20 }')" 0.01 && ok || bad "gain -20 moves RMS by 20 dB"
near "$(field peak a.txt)" "$(awk -v r="$(field peak b.txt)" 'BEGIN { print r + 20 }')" 0.01 && ok || bad "gain -20 moves the peak by 20 dB"
expect 0 "stats from a raw pipe" sh -c "cat tone.raw | '$CIRCA' stats -t raw -r 8000 -c 1 -b 16 -"
grep -q "^frames: *8000$" out.txt && ok || bad "stats of raw stdin"

# ---- mix -----------------------------------------------------------------------
expect 0 "mix two halves" "$CIRCA" mix -v -6.0206 tone.wav -v -6.0206 tone.wav -o half.wav
expect 0 "stats of the mix" "$CIRCA" stats half.wav --ref tone.wav
snr=$(field snr out.txt)
[ "$snr" = inf ] || near "$snr" 100 60 && ok || bad "mix of two -6 dB copies: SNR $snr"
expect 0 "mix with silence from a pipe" sh -c "'$CIRCA' gain -200 tone.wav | '$CIRCA' mix tone.wav - -t raw > mixed.raw"
same tone.raw mixed.raw "mix with (near) silence"
if have sox; then
    expect 0 "mix: longest input wins" "$CIRCA" mix s16.wav short.wav -o long.wav
    [ "$(soxi -s long.wav)" = "$(soxi -s s16.wav)" ] && ok || bad "mix length"
    expect 2 "mix: rates differ" "$CIRCA" mix s16.wav s24.wav -o no.wav
    err_is "^circa: s24.wav: 48000 Hz, 2 channels, but s16.wav has 44100 Hz" "mix mismatch message"
    [ ! -f no.wav ] && ok || bad "mix mismatch left an output"
fi

# ---- files, overwrite protection, terminals ------------------------------------
expect 2 "refuse to overwrite" "$CIRCA" gain 0 tone.raw -t raw -r 8000 -c 1 -b 16 -o tone.wav
expect 1 "-r on an output" "$CIRCA" gain 0 tone.wav -r 8000 -o x.wav
err_is "^circa: gain: -r and -c describe raw input" "-r on output message"
expect 2 "refuse to overwrite (raw in)" "$CIRCA" gain 0 -t raw -r 8000 -c 1 -b 16 tone.raw -o tone.wav
err_is "^circa: tone.wav: already exists" "overwrite message"
expect 0 "-f overwrites" "$CIRCA" gain 0 -f -t raw -r 8000 -c 1 -b 16 tone.raw -o tone.wav
expect 0 "suffix picks the type" "$CIRCA" gain 0 tone.wav -o tone2.flac
head -c 4 tone2.flac | grep -q fLaC && ok || bad "-o x.flac is not FLAC"
expect 2 "output would overwrite the input" "$CIRCA" gain 0 -f tone.wav -o tone.wav
ls .*.tmp* >/dev/null 2>&1 && bad "temporary files left behind" || ok
if have script; then # a terminal, from util-linux
    script -qec "'$CIRCA' gain 0 tone.wav; echo rc=\$?" /dev/null > tty.txt 2>&1
    grep -q "refusing to write audio to a terminal" tty.txt && grep -q "rc=2" tty.txt && ok || bad "audio to a terminal: $(cat tty.txt)"
    script -qec "'$CIRCA' stats; echo rc=\$?" /dev/null > tty.txt 2>&1
    grep -q "refusing to read audio from a terminal" tty.txt && grep -q "rc=2" tty.txt && ok || bad "audio from a terminal: $(cat tty.txt)"
else
    skip script
fi
expect 2 "missing file" "$CIRCA" gain 0 no-such.wav
err_is "^circa: no-such.wav: No such file or directory$" "missing file message"

# ---- usage errors (exit 1) --------------------------------------------------------
expect 1 "gain without DB" "$CIRCA" gain
err_is "^circa: gain: needs DB" "gain without DB message"
expect 1 "unknown type" "$CIRCA" gain 0 -t mp9 tone.wav
err_is "^circa: gain: unknown type" "unknown type message"
expect 1 "raw without rate" "$CIRCA" gain 0 -t raw -c 1 -b 16 tone.raw
err_is "^circa: tone.raw: raw input needs -r RATE" "raw options message"
expect 1 "bad bits" "$CIRCA" gain 0 -b 12 tone.wav
expect 1 "float FLAC" "$CIRCA" gain 0 tone.wav -e float -o f.flac
err_is "FLAC holds 16- or 24-bit samples" "float FLAC message"
expect 1 "two inputs to gain" "$CIRCA" gain 0 tone.wav tone.wav
expect 1 "unknown option" "$CIRCA" gain 0 --bogus tone.wav
expect 1 "--ref without a file" "$CIRCA" stats tone.wav --ref
err_is "^circa: stats: --ref needs one file" "--ref message"
expect 2 "a file named stdin is a file" "$CIRCA" stats stdin
err_is "^circa: stdin: No such file" "file named stdin"
expect 0 "help" "$CIRCA" gain -h
grep -q "^usage: circa gain" out.txt && ok || bad "gain -h"

# ---- malformed input (exit 2, one line, never a crash) ------------------------------
# wav_header CH RATE BITS: a 44-byte PCM header, data size 8, and 8 bytes of data.
wav_header() {
    ch=$1; rate=$2; bits=$3
    ba=$((ch * bits / 8)); br=$((rate * ba))
    le32() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))\\$(printf %03o $(($1 >> 24 & 255)))"; }
    le16() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))"; }
    printf RIFF; le32 44; printf WAVEfmt; printf ' '; le32 16; le16 1; le16 $ch; le32 $rate
    le32 $br; le16 $ba; le16 $bits; printf data; le32 8; printf '\000\000\000\000\000\000\000\000'
}
wav_header 1 8000 16 > good.wav
expect 0 "hand-made header is readable" "$CIRCA" stats good.wav
wav_header 0 8000 16 > zero_ch.wav
wav_header 1 0 16 > zero_rate.wav
wav_header 1 20000000 16 > fast.wav
wav_header 2000 8000 16 > many_ch.wav
head -c 30 good.wav > trunc.wav
printf 'not audio at all, just text\n' > text.wav
: > empty.wav
for f in zero_ch zero_rate fast many_ch trunc text; do
    expect 2 "malformed $f.wav (file)" "$CIRCA" gain 0 $f.wav -o x.wav
    err_is "^circa: $f.wav: " "malformed $f.wav message"
    expect 2 "malformed $f.wav (pipe)" sh -c "cat $f.wav | '$CIRCA' gain 0 > /dev/null"
    err_is "^circa: stdin: " "malformed $f.wav on a pipe: message"
done
expect 2 "empty input" sh -c "'$CIRCA' gain 0 < empty.wav > /dev/null"
expect 2 "empty pipe" sh -c "cat empty.wav | '$CIRCA' gain 0 > /dev/null"
err_is "^circa: stdin: empty input" "empty pipe message"
ls .*.tmp* >/dev/null 2>&1 && bad "temporary files left behind" || ok

[ -n "$skipped" ] && echo "skipped (not installed):$skipped"
finish
