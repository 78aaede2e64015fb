// Packed Q5_0 matrices for the AVX-512 VNNI path. The driver (thread pool, activation sums)
// and the other 32-element block kinds are in llm_packed.c; this file owns the Q5_0 records
// and their inner loop, reached through llm_packed_q5_0.h.
//
// Why a layout of its own: generation streams every weight from memory once per token, so
// bytes per weight set the speed. Q5_0 stored as one byte per value (the byte kinds of
// llm_packed.c) took 1.06 bytes per weight against the file's 0.69; most of Qwen2.5's
// weights are Q5_0. Here the values keep their 5 bits - a nibble plane and a plane of high
// bits - and are put together in registers, so a record is as small as the file's blocks.
// The arithmetic is the byte kind's (values stored unsigned, value + 16, the offset times
// the activation sum taken off the integer dot product again, exactly; then per block
// fma(0, x.s, (d * x.d) * sum) added in block order), so the results stay bit-identical to
// the portable path (`dot_unpacked_portable` in llm.c).
//
// Layout: groups of 16 rows, row r in vector lane r; per group one record per pair of
// 32-element blocks (704 bytes, 11 whole 64-byte lines; the last pair of an odd block count
// has an empty second half), blocks j = 0, 1 of the pair:
//   nibbles[j]  256 B   4 chunks of 64 bytes; chunk i, row r (4 bytes at 4r) holds the low
//                       4 bits of elements 4i..4i+3 in its low nibbles and of 16+4i..16+4i+3
//                       in its high nibbles (the nibble layout of llm_packed.c), so that
//                       unpacked vector k (0..7) holds elements 4k..4k+3 of every row
//   bits[j]      64 B   bit k of byte 4r+c is bit 4 of element 4k+c (as Q5_K's plane in
//                       llm_packed_kquants.c)
//   d[j]         32 B   16 scales, the file's own half floats
// Bytes per weight: 0.6875, the file's own.
#include "llm_packed_q5_0.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define Q50_ROWS 16
#define Q50_TOKENS 4
#define Q50_PAIR_BYTES 704
// Offsets in a pair record.
#define Q50_NIBBLES(j) (256 * (j))
#define Q50_BITS(j) (512 + 64 * (j))
#define Q50_SCALES(j) (640 + 32 * (j))
// Software prefetch distance in bytes, into L2 (T1), as for the byte kinds in llm_packed.c.
// Measured on Qwen2.5's matrices, two threads, alternating token by token: 4, 8 and 32 KiB
// within noise (3%) of 16 KiB; into L1 (T0) about 5% slower.
#define Q50_PREFETCH_BYTES 16384

size_t hark_q50_group_bytes(int type, int cols) {
    if (type != HARK_GGML_Q5_0 || cols <= 0 || cols % 32 != 0) return 0;
    return (size_t)((cols / 32 + 1) / 2) * Q50_PAIR_BYTES;
}

int hark_q50_pack(const void *w, size_t row_bytes, int rows, int cols, void *dst) {
    const size_t group_bytes = hark_q50_group_bytes(HARK_GGML_Q5_0, cols);
    if (group_bytes == 0 || rows <= 0 || rows % Q50_ROWS != 0) return 0;
    const int nb = cols / 32;
    int8_t *q = malloc((size_t)cols);
    float *dsc = malloc(sizeof(float) * (size_t)nb), *mn = malloc(sizeof(float) * (size_t)nb);
    if (!q || !dsc || !mn) { free(q); free(dsc); free(mn); return 0; }
    // The planes are filled by or-ing, and an odd block count leaves half a record empty.
    memset(dst, 0, group_bytes * (size_t)(rows / Q50_ROWS));
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)w + (size_t)r * row_bytes;
        hark_unpack_row(HARK_GGML_Q5_0, row, cols, q, dsc, mn, NULL); // the values as the portable path sees them
        const int lane = r % Q50_ROWS;
        uint8_t *group = (uint8_t *)dst + (size_t)(r / Q50_ROWS) * group_bytes;
        for (int b = 0; b < nb; b++) {
            uint8_t *p = group + (size_t)(b / 2) * Q50_PAIR_BYTES;
            const int j = b % 2;
            const int8_t *v = q + 32 * b;
            for (int k = 0; k < 8; k++)
                for (int c = 0; c < 4; c++) {
                    const int u = v[4 * k + c] + 16, byte = 4 * lane + c;
                    p[Q50_NIBBLES(j) + 64 * (k % 4) + byte] |= (uint8_t)((u & 0xF) << (k < 4 ? 0 : 4));
                    p[Q50_BITS(j) + byte] |= (uint8_t)(((u >> 4) & 1) << k);
                }
            memcpy(p + Q50_SCALES(j) + 2 * lane, row + 22 * (size_t)b, 2); // the file's half float
        }
    }
    free(q); free(dsc); free(mn);
    return 1;
}

#if defined(__x86_64__)

// Block j of a pair record: its 8 unsigned value vectors (vector k: elements 4k..4k+3 of the
// 16 rows, value + 16).
VNNI512 static inline __attribute__((always_inline)) void
q50_values(const uint8_t *p, const int j, __m512i w[8]) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    // The fifth bits: byte 4r+c of the plane holds those of elements c, 4+c, .., 28+c (bit k:
    // vector k). Its nibbles index a 16-entry table per vector that gives 0x10 where the bit is
    // set and 0 elsewhere: one shuffle per vector, and the result merges with the masked nibble
    // in one ternary op, (a & b) | c = 0xEA.
    const __m512i h = _mm512_loadu_si512((const void *)(p + Q50_BITS(j)));
    const __m512i h_lo = _mm512_and_si512(h, m4), h_hi = _mm512_and_si512(_mm512_srli_epi16(h, 4), m4);
    for (int i = 0; i < 4; i++) {
        const __m512i bit_i = _mm512_broadcast_i32x4(_mm_setr_epi8(
            (0 >> i & 1) << 4, (1 >> i & 1) << 4, (2 >> i & 1) << 4, (3 >> i & 1) << 4,
            (4 >> i & 1) << 4, (5 >> i & 1) << 4, (6 >> i & 1) << 4, (7 >> i & 1) << 4,
            (8 >> i & 1) << 4, (9 >> i & 1) << 4, (10 >> i & 1) << 4, (11 >> i & 1) << 4,
            (12 >> i & 1) << 4, (13 >> i & 1) << 4, (14 >> i & 1) << 4, (15 >> i & 1) << 4));
        const __m512i n = _mm512_loadu_si512((const void *)(p + Q50_NIBBLES(j) + 64 * i));
        w[i] = _mm512_ternarylogic_epi32(n, m4, _mm512_shuffle_epi8(bit_i, h_lo), 0xEA);
        w[4 + i] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(n, 4), m4, _mm512_shuffle_epi8(bit_i, h_hi), 0xEA);
    }
}

// Block b (block j of the pair record at p) for T tokens, added to acc.
VNNI512 static inline __attribute__((always_inline)) void
q50_block(const int T, const uint8_t *p, const int j, const int b, const int nb, const hark_q8_block *x,
          const int32_t *half_sums, __m512 *acc) {
    __m512i w[8];
    q50_values(p, j, w);
    const __m512 dsc = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + Q50_SCALES(j))));
    for (int t = 0; t < T; t++) {
        const hark_q8_block *xb = x + (size_t)t * nb + b;
        __m512i s0, s1;
        const int32_t *hs = half_sums + 2 * ((size_t)t * nb + b);
        // The offset 16 times the activation sum off again (exact integers): the dot starts there.
        hark_vnni_block_halves_from(w, xb->qs, _mm512_set1_epi32(-16 * (hs[0] + hs[1])), _mm512_setzero_si512(), &s0, &s1);
        const __m512i sum = _mm512_add_epi32(s0, s1);
        // dot_unpacked_portable's term: fma(mn = 0, x.s, (dsc * x.d) * (float)sum), added in block order
        const __m512 term = _mm512_fmadd_ps(_mm512_setzero_ps(), _mm512_set1_ps(xb->s),
                                            _mm512_mul_ps(_mm512_mul_ps(dsc, _mm512_set1_ps(xb->d)), _mm512_cvtepi32_ps(sum)));
        acc[t] = _mm512_add_ps(acc[t], term);
    }
}

// One group of 16 rows times `T` tokens (activations `nb` blocks apart), into y[t * ldy + r].
VNNI512 static inline __attribute__((always_inline)) void
q50_tile(const int T, const uint8_t *g, const int nb, const hark_q8_block *x, const int32_t *half_sums,
         float *y, const int ldy) {
    __m512 acc[Q50_TOKENS];
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    int b = 0;
    for (; b + 2 <= nb; b += 2, g += Q50_PAIR_BYTES) {
        // Generation streams every weight from memory once per token: ask for the records
        // well ahead (the hardware prefetcher stops at 4 KiB boundaries).
        for (int line = 0; line < Q50_PAIR_BYTES; line += 64)
            _mm_prefetch((const char *)g + Q50_PREFETCH_BYTES + line, _MM_HINT_T1);
        q50_block(T, g, 0, b, nb, x, half_sums, acc);
        q50_block(T, g, 1, b + 1, nb, x, half_sums, acc);
    }
    if (b < nb) q50_block(T, g, 0, b, nb, x, half_sums, acc);
    for (int t = 0; t < T; t++) _mm512_storeu_ps(y + (size_t)t * ldy, acc[t]);
}

VNNI512 void hark_q50_run_group(const uint8_t *g, int nb, const hark_q8_block *x, const int32_t *half_sums,
                                int tokens, float *y, int ldy) {
    int t = 0;
    for (; t + Q50_TOKENS <= tokens; t += Q50_TOKENS)
        q50_tile(Q50_TOKENS, g, nb, x + (size_t)t * nb, half_sums + 2 * (size_t)t * nb, y + (size_t)t * ldy, ldy);
    switch (tokens - t) {
    case 3: q50_tile(3, g, nb, x + (size_t)t * nb, half_sums + 2 * (size_t)t * nb, y + (size_t)t * ldy, ldy); break;
    case 2: q50_tile(2, g, nb, x + (size_t)t * nb, half_sums + 2 * (size_t)t * nb, y + (size_t)t * ldy, ldy); break;
    case 1: q50_tile(1, g, nb, x + (size_t)t * nb, half_sums + 2 * (size_t)t * nb, y + (size_t)t * ldy, ldy); break;
    default: break;
    }
}

#endif
