// Packed K-quant matrices (Q4_K, Q5_K, Q6_K) for the AVX-512 VNNI path. The 32-element block
// kinds and the shared driver (thread pool, activation sums) are in llm_packed.c; this file
// owns the K-quant records and their inner loop, reached through llm_packed_kquants.h.
//
// Why a layout of its own: generation streams every weight from memory once per token, so
// bytes per weight set the speed. Records holding the float products d * sub-scale and float
// minimums per 32-element block took 0.75 bytes per weight for Q4_K and 1.25 for Q6_K (whose
// 6-bit values were whole bytes), against the file's 0.5625 and 0.82. Here each 256-element
// super-block keeps its factors as the file has them - d and dmin once, 6-bit sub-scales as
// bytes - and the products are formed in registers: float(d) * float(sc) is the same single
// rounding as the portable path's `d * (float)sc`, so the results stay bit-identical to it
// (`dot_unpacked_portable` in llm.c: per 32-element block fma(mn, x.s, (dsc * x.d) * sum),
// added in block order).
//
// Layout: groups of 16 rows, row r in vector lane r; per group one super record per 256
// columns (`super_bytes`, whole 64-byte lines), blocks j = 0..7 of 32 elements each:
//   Q4_K, Q5_K:  d[16], -dmin[16]   half floats, the file's own (exact)          64 B
//                sc[8][16]          6-bit sub-scales of block j, row r, as bytes  128 B
//                m[8][16]           6-bit minimums, same                          128 B
//   Q6_K:        d[16]              floats (the file's half floats, exact)        64 B
//                sub[8][32]         int8 sub-scales: block j's elements 0..15 of
//                                   the 16 rows, then of elements 16..31           256 B
//   then per block j its values:
//     nibble plane (all kinds), 256 B: 4 chunks of 64 bytes; chunk i, row r (4 bytes at 4r)
//       holds the low 4 bits of elements 4i..4i+3 in its low nibbles and of 16+4i..16+4i+3 in
//       its high nibbles (the nibble layout of llm_packed.c), so that unpacked vector k
//       (0..7) holds elements 4k..4k+3 of every row;
//     Q5_K, 64 B: bit k of byte 4r+c is bit 4 of element 4k+c;
//     Q6_K, 128 B: two chunks; bits 2i..2i+1 of byte 4r+c in chunk h are bits 4..5 of element
//       16h+4i+c.
//   Q6_K values are stored unsigned (value + 32: the offset times the activation sum is taken
//   off the integer dot product again, exactly).
// Bytes per weight: Q4_K 0.578, Q5_K 0.703, Q6_K 0.828.
#include "llm_packed_kquants.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define KQ_ROWS 16
#define KQ_TOKENS 4

static int is_kquant(int type) {
    return type == HARK_GGML_Q4_K || type == HARK_GGML_Q5_K || type == HARK_GGML_Q6_K;
}

// Bytes of one block's values (16 rows x 32 elements) and of one super record.
static inline size_t value_bytes(int type) {
    return type == HARK_GGML_Q4_K ? 256 : type == HARK_GGML_Q5_K ? 320 : 384;
}
static inline size_t super_bytes(int type) {
    return 64 + 256 + 8 * value_bytes(type); // the headers above take 320 bytes for every kind
}

size_t hark_kq_group_bytes(int type, int cols) {
    if (!is_kquant(type) || cols <= 0 || cols % 256 != 0) return 0;
    return (size_t)(cols / 256) * super_bytes(type);
}

// ggml's 6-bit scale and minimum of block j from the 12 packed bytes of a Q4_K/Q5_K block.
static void scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static size_t file_block_bytes(int type) {
    return type == HARK_GGML_Q4_K ? 144 : type == HARK_GGML_Q5_K ? 176 : 210;
}

int hark_kq_pack(int type, const void *w, size_t row_bytes, int rows, int cols, void *dst) {
    const size_t group_bytes = hark_kq_group_bytes(type, cols);
    if (group_bytes == 0 || rows <= 0 || rows % KQ_ROWS != 0) return 0;
    const int nsb = cols / 256;
    const size_t sb_bytes = super_bytes(type), vb = value_bytes(type), blk = file_block_bytes(type);
    int8_t *q = malloc((size_t)cols);
    float *dsc = malloc(sizeof(float) * (size_t)cols / 32), *mn = malloc(sizeof(float) * (size_t)cols / 32);
    int16_t *scx = malloc(sizeof(int16_t) * (size_t)cols / 2);
    if (!q || !dsc || !mn || !scx) { free(q); free(dsc); free(mn); free(scx); return 0; }
    // The bit planes are filled by or-ing: start from zeros.
    memset(dst, 0, group_bytes * (size_t)(rows / KQ_ROWS));
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * row_bytes;
        hark_unpack_row(type, row, cols, q, dsc, mn, scx); // the values, as the portable path sees them
        const int lane = r % KQ_ROWS;
        uint8_t *group = (uint8_t *)dst + (size_t)(r / KQ_ROWS) * group_bytes;
        for (int s = 0; s < nsb; s++) {
            const uint8_t *fb = row + (size_t)s * blk;
            uint8_t *p = group + (size_t)s * sb_bytes;
            if (type == HARK_GGML_Q6_K) {
                uint16_t h;
                memcpy(&h, fb + 208, 2);
                float d = hark_fp16_to_fp32(h);
                memcpy(p + 4 * lane, &d, 4);
                for (int j = 0; j < 8; j++) {
                    p[64 + 32 * j + lane] = fb[192 + 2 * j];
                    p[64 + 32 * j + 16 + lane] = fb[192 + 2 * j + 1];
                }
            } else {
                uint16_t d, dmin;
                memcpy(&d, fb, 2);
                memcpy(&dmin, fb + 2, 2);
                dmin ^= 0x8000; // -dmin: a sign flip, exact
                memcpy(p + 2 * lane, &d, 2);
                memcpy(p + 32 + 2 * lane, &dmin, 2);
                for (int j = 0; j < 8; j++) scale_min_k4(j, fb + 4, &p[64 + 16 * j + lane], &p[192 + 16 * j + lane]);
            }
            const int offset = type == HARK_GGML_Q6_K ? 32 : 0;
            for (int j = 0; j < 8; j++) {
                const int8_t *v = q + 256 * s + 32 * j;
                uint8_t *pv = p + 320 + vb * (size_t)j;
                for (int k = 0; k < 8; k++)
                    for (int c = 0; c < 4; c++) {
                        const int u = v[4 * k + c] + offset, byte = 4 * lane + c;
                        pv[64 * (k % 4) + byte] |= (uint8_t)((u & 0xF) << (k < 4 ? 0 : 4));
                        if (type == HARK_GGML_Q5_K) pv[256 + byte] |= (uint8_t)(((u >> 4) & 1) << k);
                        if (type == HARK_GGML_Q6_K) pv[256 + 64 * (k / 4) + byte] |= (uint8_t)(((u >> 4) & 3) << (2 * (k % 4)));
                    }
            }
        }
    }
    free(q); free(dsc); free(mn); free(scx);
    return 1;
}

#if defined(__x86_64__)

// One group of 16 rows times `T` tokens (activations `nsb * 8` blocks apart), into
// y[t * ldy + r]. half_sums: per token and block, the sums of activation bytes 0..15 and 16..31.
VNNI512 static inline __attribute__((always_inline)) void
kq_tile(const int type, const int T, const uint8_t *g, const int nsb, const hark_q8_block *x,
        const int32_t *half_sums, float *y, const int ldy) {
    const size_t sb_bytes = super_bytes(type), vb = value_bytes(type);
    const int nb = 8 * nsb, lines = (int)(sb_bytes / 64);
    const int offset = type == HARK_GGML_Q6_K ? 32 : 0;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m10 = _mm512_set1_epi8(0x10), m30 = _mm512_set1_epi8(0x30);
    __m512 acc[KQ_TOKENS];
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int s = 0; s < nsb; s++, g += sb_bytes) {
        __m512 d, negdmin = _mm512_setzero_ps();
        if (type == HARK_GGML_Q6_K) {
            d = _mm512_loadu_ps((const float *)g);
        } else {
            d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)g));
            negdmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(g + 32)));
        }
        for (int j = 0; j < 8; j++) {
            // Generation streams every weight from memory once per token: ask for the next
            // super record, an eighth per block (the hardware prefetcher stops at 4 KiB pages).
            for (int line = j * lines / 8; line < (j + 1) * lines / 8; line++)
                _mm_prefetch((const char *)g + sb_bytes + 64 * (size_t)line, _MM_HINT_T0);
            const uint8_t *v = g + 320 + vb * (size_t)j;
            __m512i w[8];
            for (int i = 0; i < 4; i++) {
                __m512i n = _mm512_loadu_si512((const void *)(v + 64 * i));
                w[i] = _mm512_and_si512(n, m4);
                // Q4_K's high nibbles stay in place (16 times the value, one instruction less
                // each); their sum is divided by 16 again below, exactly.
                w[4 + i] = type == HARK_GGML_Q4_K ? _mm512_andnot_si512(m4, n) : _mm512_and_si512(_mm512_srli_epi16(n, 4), m4);
            }
            // 0xF8: a | (b & c) - the high bits moved to bit 4 (5) and masked, or-ed in. The
            // 16-bit shifts carry bits across bytes only into positions the mask drops.
            if (type == HARK_GGML_Q5_K) {
                const __m512i h = _mm512_loadu_si512((const void *)(v + 256));
                w[0] = _mm512_ternarylogic_epi32(w[0], _mm512_slli_epi16(h, 4), m10, 0xF8);
                w[1] = _mm512_ternarylogic_epi32(w[1], _mm512_slli_epi16(h, 3), m10, 0xF8);
                w[2] = _mm512_ternarylogic_epi32(w[2], _mm512_slli_epi16(h, 2), m10, 0xF8);
                w[3] = _mm512_ternarylogic_epi32(w[3], _mm512_slli_epi16(h, 1), m10, 0xF8);
                w[4] = _mm512_ternarylogic_epi32(w[4], h, m10, 0xF8);
                w[5] = _mm512_ternarylogic_epi32(w[5], _mm512_srli_epi16(h, 1), m10, 0xF8);
                w[6] = _mm512_ternarylogic_epi32(w[6], _mm512_srli_epi16(h, 2), m10, 0xF8);
                w[7] = _mm512_ternarylogic_epi32(w[7], _mm512_srli_epi16(h, 3), m10, 0xF8);
            } else if (type == HARK_GGML_Q6_K) {
                for (int c = 0; c < 2; c++) {
                    const __m512i h = _mm512_loadu_si512((const void *)(v + 256 + 64 * c));
                    w[4 * c + 0] = _mm512_ternarylogic_epi32(w[4 * c + 0], _mm512_slli_epi16(h, 4), m30, 0xF8);
                    w[4 * c + 1] = _mm512_ternarylogic_epi32(w[4 * c + 1], _mm512_slli_epi16(h, 2), m30, 0xF8);
                    w[4 * c + 2] = _mm512_ternarylogic_epi32(w[4 * c + 2], h, m30, 0xF8);
                    w[4 * c + 3] = _mm512_ternarylogic_epi32(w[4 * c + 3], _mm512_srli_epi16(h, 2), m30, 0xF8);
                }
            }
            // Per-block factors of the 16 rows, as the portable path forms them.
            __m512 dsc = d, mn = _mm512_setzero_ps();
            __m512i sub0 = _mm512_setzero_si512(), sub1 = _mm512_setzero_si512();
            if (type == HARK_GGML_Q6_K) {
                sub0 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(g + 64 + 32 * j)));
                sub1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(g + 64 + 32 * j + 16)));
            } else {
                __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(g + 64 + 16 * j))));
                __m512 m = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(g + 192 + 16 * j))));
                dsc = _mm512_mul_ps(d, sc);     // d * (float)sc
                mn = _mm512_mul_ps(negdmin, m); // -dmin * (float)m
            }
            const int b = 8 * s + j;
            for (int t = 0; t < T; t++) {
                const hark_q8_block *xb = x + (size_t)t * nb + b;
                // elements 0..15 and 16..31 apart (Q6_K scales them separately)
                __m512i s0, s1, sum;
                if (type == HARK_GGML_Q6_K) {
                    // the dots start from -offset * (activation sum of their half)
                    const int32_t *hs = half_sums + 2 * ((size_t)t * nb + b);
                    hark_vnni_block_halves_from(w, xb->qs, _mm512_set1_epi32(-offset * hs[0]),
                                                _mm512_set1_epi32(-offset * hs[1]), &s0, &s1);
                    sum = _mm512_add_epi32(_mm512_mullo_epi32(s0, sub0), _mm512_mullo_epi32(s1, sub1));
                } else {
                    hark_vnni_block_halves(w, xb->qs, &s0, &s1);
                    // s1 is 16 times the dot for Q4_K (a multiple of 16: the shift is exact)
                    sum = _mm512_add_epi32(s0, type == HARK_GGML_Q4_K ? _mm512_srai_epi32(s1, 4) : s1);
                }
                // fma(mn, x.s, (dsc * x.d) * (float)sum), added in block order
                __m512 term = _mm512_fmadd_ps(mn, _mm512_set1_ps(xb->s),
                                              _mm512_mul_ps(_mm512_mul_ps(dsc, _mm512_set1_ps(xb->d)), _mm512_cvtepi32_ps(sum)));
                acc[t] = _mm512_add_ps(acc[t], term);
            }
        }
    }
    for (int t = 0; t < T; t++) _mm512_storeu_ps(y + (size_t)t * ldy, acc[t]);
}

// All token tiles of one group, for one type (constant after inlining).
VNNI512 static inline __attribute__((always_inline)) void
kq_group_type(const int type, const uint8_t *g, int nsb, const hark_q8_block *x, const int32_t *half_sums,
              int tokens, float *y, int ldy) {
    const int nb = 8 * nsb;
    int t = 0;
    for (; t + KQ_TOKENS <= tokens; t += KQ_TOKENS)
        kq_tile(type, KQ_TOKENS, g, nsb, x + (size_t)t * nb, half_sums + 2 * (size_t)t * nb, y + (size_t)t * ldy, ldy);
    switch (tokens - t) {
    case 3: kq_tile(type, 3, g, nsb, x + (size_t)t * nb, half_sums + 2 * (size_t)t * nb, y + (size_t)t * ldy, ldy); break;
    case 2: kq_tile(type, 2, g, nsb, x + (size_t)t * nb, half_sums + 2 * (size_t)t * nb, y + (size_t)t * ldy, ldy); break;
    case 1: kq_tile(type, 1, g, nsb, x + (size_t)t * nb, half_sums + 2 * (size_t)t * nb, y + (size_t)t * ldy, ldy); break;
    default: break;
    }
}

VNNI512 void hark_kq_run_group(int type, const uint8_t *g, int nb, const hark_q8_block *x, const int32_t *half_sums,
                               int tokens, float *y, int ldy) {
    switch (type) {
    case HARK_GGML_Q4_K: kq_group_type(HARK_GGML_Q4_K, g, nb / 8, x, half_sums, tokens, y, ldy); return;
    case HARK_GGML_Q5_K: kq_group_type(HARK_GGML_Q5_K, g, nb / 8, x, half_sums, tokens, y, ldy); return;
    case HARK_GGML_Q6_K: kq_group_type(HARK_GGML_Q6_K, g, nb / 8, x, half_sums, tokens, y, ldy); return;
    default: return;
    }
}

#endif
