/* wav.c - RIFF/WAVE reader for what the speech models take: mono, 16 kHz,
 * PCM 16-bit or IEEE float32, plain or wrapped in WAVE_FORMAT_EXTENSIBLE.
 *
 * Every size read from the file is checked against the bytes actually
 * present before it is used, and the only allocation (the samples) is made
 * after the data chunk is known to lie inside the buffer, so a hostile
 * header can neither crash the reader nor make it allocate more than the
 * file is long.  Chunks after 'data' (LIST, id3, ...) are not looked at.
 *
 *   RIFF <size> WAVE
 *     'fmt ' <16|18|40> tag channels rate byte_rate block_align bits [ext]
 *     ... other chunks, each padded to an even length ...
 *     'data' <n * block_align> samples
 */
#include "layerstep/audio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/atomic.h"

#define WAV_FILE_MAX ((size_t)1 << 30)

enum { TAG_PCM = 1, TAG_FLOAT = 3, TAG_ALAW = 6, TAG_MULAW = 7, TAG_EXTENSIBLE = 0xFFFE };

/* The 14 bytes every KSDATAFORMAT_SUBTYPE_* GUID shares after its leading
 * 16-bit format tag. */
static const unsigned char GUID_TAIL[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                            0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

static unsigned rd16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A four-character code fit for a message: bytes from the file may be
 * anything. */
static const char *fourcc(const unsigned char *p, char buf[8])
{
    for (int i = 0; i < 4; i++)
        buf[i] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'') ? (char)p[i] : '?';
    buf[4] = '\0';
    return buf;
}

static const char *tag_name(unsigned tag)
{
    switch (tag) {
    case TAG_PCM: return "PCM";
    case 2: return "MS ADPCM";
    case TAG_FLOAT: return "IEEE float";
    case TAG_ALAW: return "A-law";
    case TAG_MULAW: return "mu-law";
    case 0x11: return "IMA ADPCM";
    case 0x55: return "MP3";
    case TAG_EXTENSIBLE: return "extensible";
    default: return "unknown";
    }
}

typedef struct fmt_chunk {
    unsigned tag, channels, block_align, bits;
    uint32_t rate;
    int extensible;
} fmt_chunk;

static int parse_fmt(const unsigned char *p, uint32_t size, const char *name, fmt_chunk *f,
                     ls_error *err)
{
    if (size < 16)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: 'fmt ' chunk is %u bytes, expected at least 16", name,
                            (unsigned)size);
    f->tag = rd16(p);
    f->channels = rd16(p + 2);
    f->rate = rd32(p + 4);
    f->block_align = rd16(p + 12);
    f->bits = rd16(p + 14);
    f->extensible = 0;
    if (f->tag == TAG_EXTENSIBLE) {
        if (size < 40 || rd16(p + 16) < 22)
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is %u bytes, expected "
                                "40 (with a 22-byte extension)",
                                name, (unsigned)size);
        unsigned valid_bits = rd16(p + 18);
        const unsigned char *guid = p + 24;
        if (memcmp(guid + 2, GUID_TAIL, sizeof GUID_TAIL) != 0)
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: WAVE_FORMAT_EXTENSIBLE with a non-standard sub-format GUID, "
                                "expected PCM or IEEE float",
                                name);
        f->tag = rd16(guid);
        f->extensible = 1;
        /* 20 valid bits in a 24-bit container and the like would need a
         * shift we do not do; say so instead of reading noise. */
        if (valid_bits != 0 && valid_bits != f->bits)
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: %u valid bits in %u-bit samples, expected all bits valid",
                                name, valid_bits, f->bits);
    }
    return LS_OK;
}

/* The checks run in the order a person would fix them: what the samples
 * are, how many channels, what rate. */
static int check_fmt(const fmt_chunk *f, const char *name, ls_error *err)
{
    if (f->tag != TAG_PCM && f->tag != TAG_FLOAT)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: sample format %u (%s)%s, expected PCM (1) or IEEE float (3)",
                            name, f->tag, tag_name(f->tag),
                            f->extensible ? " inside WAVE_FORMAT_EXTENSIBLE" : "");
    if (f->tag == TAG_PCM && f->bits != 16)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: %u-bit PCM, expected 16-bit PCM or 32-bit float", name, f->bits);
    if (f->tag == TAG_FLOAT && f->bits != 32)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: %u-bit float, expected 32-bit float or 16-bit PCM", name,
                            f->bits);
    if (f->channels != 1)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: %u channels, expected mono (1 channel)",
                            name, f->channels);
    if (f->rate != LS_WAV_RATE)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: sample rate %u Hz, expected %d Hz", name,
                            (unsigned)f->rate, LS_WAV_RATE);
    if (f->block_align != f->bits / 8)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: block align %u bytes, expected %u for mono %u-bit samples",
                            name, f->block_align, f->bits / 8, f->bits);
    return LS_OK;
}

int ls_wav_parse(const void *buf, size_t len, const char *name, ls_wav_scale scale,
                 ls_arena *a, ls_tensor *out, ls_wav_info *info, ls_error *err)
{
    const unsigned char *p = buf;
    char cc[8];
    if (!name)
        name = "(wav)";
    memset(out, 0, sizeof *out);
    if (scale != LS_WAV_NORMALIZED && scale != LS_WAV_INT16_SCALE)
        return ls_error_set(err, LS_ERR_ARG, "%s: unknown sample scale %d", name, (int)scale);
    if (len < 12)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: file is %zu bytes, too short for a RIFF/WAVE header (12)", name,
                            len);
    if (memcmp(p, "RIFF", 4) != 0)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: starts with '%s', expected 'RIFF' (a WAV file)",
                            name, fourcc(p, cc));
    if (memcmp(p + 8, "WAVE", 4) != 0)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: RIFF form type '%s', expected 'WAVE'", name,
                            fourcc(p + 8, cc));
    /* The RIFF size is not trusted: streaming writers leave it 0 or
     * 0xFFFFFFFF.  Each chunk size is checked against the file instead. */
    const size_t end = len;

    fmt_chunk f = {0};
    int have_fmt = 0;
    size_t off = 12;
    for (;;) {
        if (end - off < 8)
            return ls_error_set(err, LS_ERR_FORMAT, "%s: no %s chunk", name,
                                have_fmt ? "'data'" : "'fmt '");
        const unsigned char *h = p + off;
        uint32_t size = rd32(h + 4);
        size_t body = off + 8;
        /* A streaming writer cannot know the data size up front and
         * leaves it 0xFFFFFFFF or 0 (sox, ffmpeg to a pipe): the samples
         * then run to the end of the file, cut to whole samples. */
        if (memcmp(h, "data", 4) == 0 && have_fmt && (size == 0xFFFFFFFFu || size == 0)) {
            size_t rest = end - body;
            if (rest > 0xFFFFFFF0u)
                rest = 0xFFFFFFF0u;
            size = (uint32_t)(rest - rest % f.block_align);
        }
        if (size > end - body)
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: '%s' chunk at byte %zu says %u bytes, only %zu remain "
                                "(truncated?)",
                                name, fourcc(h, cc), off, (unsigned)size, end - body);
        if (memcmp(h, "fmt ", 4) == 0) {
            if (have_fmt)
                return ls_error_set(err, LS_ERR_FORMAT, "%s: second 'fmt ' chunk at byte %zu",
                                    name, off);
            int rc = parse_fmt(p + body, size, name, &f, err);
            if (rc == LS_OK)
                rc = check_fmt(&f, name, err);
            if (rc != LS_OK)
                return rc;
            have_fmt = 1;
        } else if (memcmp(h, "data", 4) == 0) {
            if (!have_fmt)
                return ls_error_set(err, LS_ERR_FORMAT,
                                    "%s: 'data' chunk at byte %zu comes before any 'fmt ' chunk",
                                    name, off);
            if (size % f.block_align != 0)
                return ls_error_set(err, LS_ERR_FORMAT,
                                    "%s: 'data' chunk is %u bytes, not a multiple of the %u-byte "
                                    "sample",
                                    name, (unsigned)size, f.block_align);
            const int64_t n = (int64_t)(size / f.block_align);
            if (n == 0)
                return ls_error_set(err, LS_ERR_FORMAT, "%s: 'data' chunk holds no samples",
                                    name);
            const unsigned char *s = p + body;
            /* Non-finite floats would pass through every op and surface as a
             * NaN far downstream; refuse them here, before allocating. */
            if (f.tag == TAG_FLOAT)
                for (int64_t i = 0; i < n; i++) {
                    float v;
                    uint32_t u = rd32(s + 4 * i);
                    memcpy(&v, &u, sizeof v);
                    if (!isfinite(v))
                        return ls_error_set(err, LS_ERR_FORMAT,
                                            "%s: sample %lld is %s, expected a finite float", name,
                                            (long long)i, isnan(v) ? "NaN" : "infinite");
                }
            int rc = ls_tensor_alloc(a, LS_F32, 1, &n, out, err);
            if (rc != LS_OK)
                return ls_error_prefix(err, "%s", name);
            float *dst = out->data;
            if (f.tag == TAG_PCM) {
                const float k = scale == LS_WAV_NORMALIZED ? 1.0f / 32768.0f : 1.0f;
                for (int64_t i = 0; i < n; i++)
                    dst[i] = (float)(int16_t)rd16(s + 2 * i) * k;
            } else {
                const float k = scale == LS_WAV_NORMALIZED ? 1.0f : 32768.0f;
                for (int64_t i = 0; i < n; i++) {
                    uint32_t u = rd32(s + 4 * i);
                    memcpy(&dst[i], &u, sizeof u);
                    dst[i] *= k;
                }
            }
            if (info) {
                info->format = (int)f.tag;
                info->extensible = f.extensible;
                info->channels = (int)f.channels;
                info->bits = (int)f.bits;
                info->sample_rate = (int)f.rate;
                info->samples = n;
            }
            return LS_OK;
        }
        /* Chunks are padded to even length; a missing final pad byte is
         * common and harmless. */
        off = body + size;
        if (size % 2 && off < end)
            off++;
    }
}

int ls_wav_load(const char *path, ls_wav_scale scale, ls_arena *a, ls_tensor *out,
                ls_wav_info *info, ls_error *err)
{
    void *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = ls_read_file(path, WAV_FILE_MAX, &buf, &len, err);
    if (rc != LS_OK)
        return rc;
    rc = ls_wav_parse(buf, len, path, scale, a, out, info, err);
    free(buf);
    return rc;
}
