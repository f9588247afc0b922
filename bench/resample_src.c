/* resample_src.c: bench driver: resamples a sound file with libsamplerate (SRC_SINC_BEST_QUALITY), streaming, to a float WAV.
 * usage: resample_src IN OUT RATE */
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: resample_src IN OUT RATE\n");
        return 1;
    }
    SF_INFO in_info = {0}, out_info;
    SNDFILE *in = sf_open(argv[1], SFM_READ, &in_info);
    if (!in) {
        fprintf(stderr, "resample_src: %s: %s\n", argv[1], sf_strerror(NULL));
        return 2;
    }
    int ch = in_info.channels, rate = atoi(argv[3]);
    out_info = (SF_INFO){.samplerate = rate, .channels = ch, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *out = sf_open(argv[2], SFM_WRITE, &out_info);
    int err = 0;
    SRC_STATE *src = src_new(SRC_SINC_BEST_QUALITY, ch, &err);
    if (!out || !src) {
        fprintf(stderr, "resample_src: cannot open output or converter\n");
        return 2;
    }
    double ratio = (double)rate / in_info.samplerate;
    enum { IN_FRAMES = 4096 };
    long out_cap = (long)(IN_FRAMES * ratio) + 64;
    float *ibuf = malloc(sizeof(float) * IN_FRAMES * ch), *obuf = malloc(sizeof(float) * out_cap * ch);
    SRC_DATA d = {0};
    d.src_ratio = ratio;
    long have = 0;
    int eof = 0;
    for (;;) {
        if (!eof && have == 0) {
            have = (long)sf_readf_float(in, ibuf, IN_FRAMES);
            d.data_in = ibuf;
            eof = have < IN_FRAMES;
        }
        d.input_frames = have;
        d.end_of_input = eof;
        d.data_out = obuf;
        d.output_frames = out_cap;
        if ((err = src_process(src, &d)) != 0) {
            fprintf(stderr, "resample_src: %s\n", src_strerror(err));
            return 2;
        }
        sf_writef_float(out, obuf, d.output_frames_gen);
        d.data_in += d.input_frames_used * ch;
        have -= d.input_frames_used;
        if (eof && have == 0 && d.output_frames_gen == 0) break;
    }
    src_delete(src);
    sf_close(in);
    sf_close(out);
    free(ibuf);
    free(obuf);
    return 0;
}
