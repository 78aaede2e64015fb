// Internal to CKernels: the K-quant records of the packed matrices (llm_packed_kquants.c),
// called by the shared packed-matrix driver in llm_packed.c.
#ifndef HARK_LLM_PACKED_KQUANTS_H
#define HARK_LLM_PACKED_KQUANTS_H

#include "hark_llm.h"

/// Bytes of one group of 16 packed rows of `cols` elements of a K-quant `type`; 0 for other
/// types or widths that are not whole 256-element super-blocks.
size_t hark_kq_group_bytes(int type, int cols);

/// Packs W (`rows` a multiple of 16) into `dst` (`rows / 16` groups); 0 when there is no
/// packed form or memory ran out.
int hark_kq_pack(int type, const void *w, size_t row_bytes, int rows, int cols, void *dst);

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

/// The instruction sets of the packed kernels (chosen at run time: `hark_llm_kernel_name`).
#define VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

/// The integer dots of one 32-element block for 16 rows (one per 32-bit lane): `w[i]` holds
/// elements 4i..4i+3 of every row as unsigned bytes, `qs` the block's activation bytes;
/// elements 0..15 into `s0`, 16..31 into `s1`, in two chains (shorter dependency chains) that
/// start from `start0` and `start1` (an offset correction costs no instruction of its own).
VNNI512 static inline __attribute__((always_inline)) void
hark_vnni_block_halves_from(const __m512i w[8], const int8_t qs[32], __m512i start0, __m512i start1,
                            __m512i *s0, __m512i *s1) {
    int32_t yd[8];
    memcpy(yd, qs, 32);
    __m512i a = _mm512_dpbusd_epi32(start0, w[0], _mm512_set1_epi32(yd[0]));
    __m512i b = _mm512_dpbusd_epi32(start1, w[4], _mm512_set1_epi32(yd[4]));
    a = _mm512_dpbusd_epi32(a, w[1], _mm512_set1_epi32(yd[1]));
    b = _mm512_dpbusd_epi32(b, w[5], _mm512_set1_epi32(yd[5]));
    a = _mm512_dpbusd_epi32(a, w[2], _mm512_set1_epi32(yd[2]));
    b = _mm512_dpbusd_epi32(b, w[6], _mm512_set1_epi32(yd[6]));
    a = _mm512_dpbusd_epi32(a, w[3], _mm512_set1_epi32(yd[3]));
    b = _mm512_dpbusd_epi32(b, w[7], _mm512_set1_epi32(yd[7]));
    *s0 = a;
    *s1 = b;
}

/// `hark_vnni_block_halves_from` starting from zero.
VNNI512 static inline __attribute__((always_inline)) void
hark_vnni_block_halves(const __m512i w[8], const int8_t qs[32], __m512i *s0, __m512i *s1) {
    hark_vnni_block_halves_from(w, qs, _mm512_setzero_si512(), _mm512_setzero_si512(), s0, s1);
}

/// One group of 16 rows, `nb` 32-element blocks wide, for `tokens` tokens: y[t * ldy + r].
/// `half_sums`: per token and block, the sums of the activation bytes 0..15 and 16..31.
/// Needs AVX-512 VNNI.
void hark_kq_run_group(int type, const uint8_t *g, int nb, const hark_q8_block *x, const int32_t *half_sums,
                       int tokens, float *y, int ldy);
#endif

#endif
