// The x86 dot product of one unpacked weight row (see `unpacked_row` in llm.c) with quantized
// activations, written once and compiled twice by llm.c: for AVX2 (DOT_VNNI 0) and for
// AVX-512 VNNI on 256-bit vectors (DOT_VNNI 1, one `vpdpbusd` instead of `vpmaddubsw` +
// `vpmaddwd`). llm.c defines DOT_FN (the function name), DOT_TARGET and DOT_VNNI first.
//
// Q4_0, Q4_1 and Q8_0 in llama.cpp's order (DOT_LLAMA_NAME, DOT_FUSED_LLAMA_NAME: per block the
// 8 int32 lanes of 4-element sums into 8 float lanes, as dot_unpacked_llama_order). The other
// types eight blocks at a time: eight integer dot products (8 int32 lanes each) are reduced to
// one vector of eight block sums, then turned into the eight per-block float terms of the
// portable path (same operations) and added in block order. Every path gives the same bits.

#define DOT_BODY_NAME_(fn) fn##_body
#define DOT_BODY_NAME(fn) DOT_BODY_NAME_(fn)

__attribute__((always_inline, target(DOT_TARGET)))
static inline float DOT_BODY_NAME(DOT_FN)(const unpacked_row *u, const hark_q8_block *x, const float *xd,
                                          const float *xs, const int is_signed, const int has_scx) {
    const int nb = u->nb;
#if !DOT_VNNI
    const __m256i ones = _mm256_set1_epi16(1);
#endif
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    float sum = 0.0f;
    for (int b0 = 0; b0 < nb; b0 += 8) {
        const int count = nb - b0 < 8 ? nb - b0 : 8;
        __m256i r[8];
        for (int k = 0; k < 8; k++) {
            if (k >= count) { r[k] = _mm256_setzero_si256(); continue; }
            const int b = b0 + k;
            __m256i w = _mm256_load_si256((const __m256i *)(u->q + 32 * b));
            __m256i y = _mm256_loadu_si256((const __m256i *)x[b].qs);
            if (is_signed) { // |w| * (y with w's sign): the unsigned-by-signed products x86 has
                y = _mm256_sign_epi8(y, w);
                w = _mm256_abs_epi8(w);
            }
            if (has_scx) {
                __m256i scales = _mm256_load_si256((const __m256i *)(u->scx + 16 * b));
                r[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(w, y), scales);
            } else {
#if DOT_VNNI
                r[k] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, y);
#else
                r[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(w, y), ones);
#endif
            }
        }
        // r[k] -> sum of its lanes, block k in lane k.
        __m256i a = _mm256_hadd_epi32(r[0], r[1]), b = _mm256_hadd_epi32(r[2], r[3]);
        __m256i c = _mm256_hadd_epi32(r[4], r[5]), d = _mm256_hadd_epi32(r[6], r[7]);
        __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
        __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20),
                                        _mm256_permute2x128_si256(ab, cd, 0x31));
        __m256 dsc, mn, vxd, vxs;
        if (count == 8) {
            dsc = _mm256_loadu_ps(u->dsc + b0);
            mn = _mm256_loadu_ps(u->mn + b0);
            vxd = _mm256_loadu_ps(xd + b0);
            vxs = _mm256_loadu_ps(xs + b0);
        } else {
            __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lane_index);
            dsc = _mm256_maskload_ps(u->dsc + b0, mask);
            mn = _mm256_maskload_ps(u->mn + b0, mask);
            vxd = _mm256_maskload_ps(xd + b0, mask);
            vxs = _mm256_maskload_ps(xs + b0, mask);
        }
        // The portable path's per-block terms, added in block order: bit-identical results.
        __m256 term = _mm256_fmadd_ps(mn, vxs, _mm256_mul_ps(_mm256_mul_ps(dsc, vxd), _mm256_cvtepi32_ps(sums)));
        float terms[8];
        _mm256_storeu_ps(terms, term);
        for (int k = 0; k < count; k++) sum += terms[k];
    }
    return sum;
}

#define DOT_LLAMA_NAME_(fn) fn##_llama
#define DOT_LLAMA_NAME(fn) DOT_LLAMA_NAME_(fn)

// llama.cpp's order (dot_unpacked_llama_order, for the types of llama_order_type): the 8 int32
// lanes of a block's integer dot are the sums of elements 4i..4i+3, multiplied by the block's
// d*d' into 8 float lanes; min terms summed apart; llama.cpp's horizontal sum at the end.
__attribute__((always_inline, target(DOT_TARGET)))
static inline float DOT_LLAMA_NAME(DOT_FN)(const unpacked_row *u, const hark_q8_block *x, const float *xd,
                                           const float *xs, const int is_signed) {
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int b = 0; b < u->nb; b++) {
        __m256i w = _mm256_load_si256((const __m256i *)(u->q + 32 * b));
        __m256i y = _mm256_loadu_si256((const __m256i *)x[b].qs);
        if (is_signed) {
            y = _mm256_sign_epi8(y, w);
            w = _mm256_abs_epi8(w);
        }
#if DOT_VNNI
        __m256i r = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, y);
#else
        __m256i r = _mm256_madd_epi16(_mm256_maddubs_epi16(w, y), _mm256_set1_epi16(1));
#endif
        acc = _mm256_fmadd_ps(_mm256_set1_ps(u->dsc[b] * xd[b]), _mm256_cvtepi32_ps(r), acc);
        const float m = u->mn[b] * xs[b]; // rounded apart, as the reference
        summs += m;
    }
    return llama_hsum(acc) + summs;
}

__attribute__((target(DOT_TARGET)))
static float DOT_FN(const unpacked_row *u, const hark_q8_block *x, const float *xd, const float *xs) {
    if (u->llama_order) return u->is_signed ? DOT_LLAMA_NAME(DOT_FN)(u, x, xd, xs, 1) : DOT_LLAMA_NAME(DOT_FN)(u, x, xd, xs, 0);
    if (u->has_scx) return DOT_BODY_NAME(DOT_FN)(u, x, xd, xs, 1, 1);
    if (u->is_signed) return DOT_BODY_NAME(DOT_FN)(u, x, xd, xs, 1, 0);
    return DOT_BODY_NAME(DOT_FN)(u, x, xd, xs, 0, 0);
}

#undef DOT_BODY_NAME
#undef DOT_BODY_NAME_
#undef DOT_LLAMA_NAME
#undef DOT_LLAMA_NAME_

// ---------------------------------------------------------------------------------------------
// Fused path for one token and the 32-element block types (Q4_0, Q4_1, Q5_0, Q8_0): the same
// arithmetic as above (so the same float results), with each block unpacked in registers and
// the eight blocks' half-precision scales fetched with one gather.

#define DOT_FUSED_NAME_(fn) fn##_fused
#define DOT_FUSED_NAME(fn) DOT_FUSED_NAME_(fn)
#define DOT_GROUP_NAME_(fn) fn##_group
#define DOT_GROUP_NAME(fn) DOT_GROUP_NAME_(fn)

__attribute__((always_inline, target(DOT_TARGET)))
static inline __m256i DOT_GROUP_NAME(DOT_FN)(const int type, const uint8_t *p, const hark_q8_block *x, const int k) {
    __m256i y = _mm256_loadu_si256((const __m256i *)x[k].qs);
    __m256i w;
    switch (type) {
    case HARK_GGML_Q4_1:
        w = nibbles(p + 20 * k + 4);
        break;
    case HARK_GGML_Q4_0:
        w = _mm256_sub_epi8(nibbles(p + 18 * k + 2), _mm256_set1_epi8(8));
        break;
    case HARK_GGML_Q5_0: {
        uint32_t qh;
        memcpy(&qh, p + 22 * k + 2, 4);
        __m256i hi = _mm256_andnot_si256(bits_to_bytes(qh), _mm256_set1_epi8((char)0xF0));
        w = _mm256_or_si256(nibbles(p + 22 * k + 6), hi);
        break;
    }
    default: // Q8_0
        w = _mm256_loadu_si256((const __m256i *)(p + 34 * k + 2));
        break;
    }
    if (type != HARK_GGML_Q4_1) {
        y = _mm256_sign_epi8(y, w);
        w = _mm256_abs_epi8(w);
    }
#if DOT_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, y);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, y), _mm256_set1_epi16(1));
#endif
}

__attribute__((always_inline, target(DOT_TARGET)))
static inline float DOT_FUSED_NAME(DOT_FN)(const int type, const uint8_t *row, const hark_q8_block *x,
                                           const float *xd, const float *xs, const int nb) {
    const int bytes = type == HARK_GGML_Q4_1 ? 20 : type == HARK_GGML_Q4_0 ? 18 : type == HARK_GGML_Q5_0 ? 22 : 34;
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i offsets = _mm256_mullo_epi32(lane_index, _mm256_set1_epi32(bytes));
    // dword lanes (d | m << 16) -> d0..d3 m0..m3 | d4..d7 m4..m7 -> after the permute d0..d7 | m0..m7
    const __m256i split = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
                                           0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
    float sum = 0.0f;
    for (int b0 = 0; b0 < nb; b0 += 8) {
        const int count = nb - b0 < 8 ? nb - b0 : 8;
        const uint8_t *p = row + (size_t)b0 * bytes;
        const hark_q8_block *xb = x + b0;
        __m256i r[8];
        if (count == 8) {
            for (int k = 0; k < 8; k++) r[k] = DOT_GROUP_NAME(DOT_FN)(type, p, xb, k);
        } else {
            for (int k = 0; k < 8; k++) r[k] = k < count ? DOT_GROUP_NAME(DOT_FN)(type, p, xb, k) : _mm256_setzero_si256();
        }
        __m256i a = _mm256_hadd_epi32(r[0], r[1]), b = _mm256_hadd_epi32(r[2], r[3]);
        __m256i c = _mm256_hadd_epi32(r[4], r[5]), d = _mm256_hadd_epi32(r[6], r[7]);
        __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
        __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20),
                                        _mm256_permute2x128_si256(ab, cd, 0x31));
        __m256i g;
        __m256 vxd, vxs;
        if (count == 8) {
            g = _mm256_i32gather_epi32((const int *)p, offsets, 1);
            vxd = _mm256_loadu_ps(xd + b0);
            vxs = _mm256_loadu_ps(xs + b0);
        } else { // masked: no reads past the row
            __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lane_index);
            g = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *)p, offsets, mask, 1);
            vxd = _mm256_maskload_ps(xd + b0, mask);
            vxs = _mm256_maskload_ps(xs + b0, mask);
        }
        __m256i dm = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(g, split), 0xD8);
        __m256 dsc = _mm256_cvtph_ps(_mm256_castsi256_si128(dm));
        __m256 mn = type == HARK_GGML_Q4_1 ? _mm256_cvtph_ps(_mm256_extracti128_si256(dm, 1)) : _mm256_setzero_ps();
        __m256 term = _mm256_fmadd_ps(mn, vxs, _mm256_mul_ps(_mm256_mul_ps(dsc, vxd), _mm256_cvtepi32_ps(sums)));
        float terms[8];
        _mm256_storeu_ps(terms, term);
        for (int k = 0; k < count; k++) sum += terms[k];
    }
    return sum;
}

#define DOT_FUSED_LLAMA_NAME_(fn) fn##_fused_llama
#define DOT_FUSED_LLAMA_NAME(fn) DOT_FUSED_LLAMA_NAME_(fn)

// The fused path in llama.cpp's order (Q4_0, Q4_1, Q8_0): the same arithmetic as DOT_LLAMA_NAME.
__attribute__((always_inline, target(DOT_TARGET)))
static inline float DOT_FUSED_LLAMA_NAME(DOT_FN)(const int type, const uint8_t *row, const hark_q8_block *x,
                                                 const float *xd, const float *xs, const int nb) {
    const int bytes = type == HARK_GGML_Q4_1 ? 20 : type == HARK_GGML_Q4_0 ? 18 : 34;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = row + (size_t)b * bytes;
        __m256i r = DOT_GROUP_NAME(DOT_FN)(type, row, x, b);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(p) * xd[b]), _mm256_cvtepi32_ps(r), acc);
        if (type == HARK_GGML_Q4_1) {
            const float m = load_f16(p + 2) * xs[b]; // rounded apart, as the reference
            summs += m;
        }
    }
    return llama_hsum(acc) + summs;
}

#define DOT_ONE_NAME_(fn) fn##_one
#define DOT_ONE_NAME(fn) DOT_ONE_NAME_(fn)

// One row of a 32-element block type times one token's activations; nb = elements / 32.
__attribute__((target(DOT_TARGET)))
static float DOT_ONE_NAME(DOT_FN)(int type, const uint8_t *row, const hark_q8_block *x,
                                  const float *xd, const float *xs, int nb) {
    switch (type) {
    case HARK_GGML_Q4_1: return DOT_FUSED_LLAMA_NAME(DOT_FN)(HARK_GGML_Q4_1, row, x, xd, xs, nb);
    case HARK_GGML_Q4_0: return DOT_FUSED_LLAMA_NAME(DOT_FN)(HARK_GGML_Q4_0, row, x, xd, xs, nb);
    case HARK_GGML_Q5_0: return DOT_FUSED_NAME(DOT_FN)(HARK_GGML_Q5_0, row, x, xd, xs, nb);
    default: return DOT_FUSED_LLAMA_NAME(DOT_FN)(HARK_GGML_Q8_0, row, x, xd, xs, nb);
    }
}

#undef DOT_ONE_NAME
#undef DOT_ONE_NAME_
#undef DOT_FUSED_NAME
#undef DOT_FUSED_NAME_
#undef DOT_FUSED_LLAMA_NAME
#undef DOT_FUSED_LLAMA_NAME_
#undef DOT_GROUP_NAME
#undef DOT_GROUP_NAME_
