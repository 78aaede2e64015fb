// Quantized LLM kernels: see include/hark_llm.h for the contract.
// Block layouts follow ggml (ggml-common.h); the code is our own.
#include "hark_llm.h"
#include "hark_cpu.h"
#include "half.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define HARK_X86 1
#else
#define HARK_X86 0
#endif

// ---------------------------------------------------------------------------------------------
// Half floats

static float fp16_table[65536];
static pthread_once_t fp16_once = PTHREAD_ONCE_INIT;
static int use_avx2 = 0; // set once in fp16_init
static int kernel_paths_mask = 1; // bit p: HARK_LLM_PATH p runs here
static int kernel_path = HARK_LLM_PATH_PORTABLE; // the fastest of them

// AVX-512 with VNNI on 256-bit vectors (checked here rather than in cpu.c: only these kernels
// use it).
static int cpu_has_avx512_vnni(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return hark_cpu_has_avx512() && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

static void fp16_init(void) {
    for (int i = 0; i < 65536; i++) fp16_table[i] = hark_half_to_float_portable((uint16_t)i);
    use_avx2 = hark_cpu_has_avx2_fma_f16c();
#if defined(__x86_64__)
    if (use_avx2) {
        kernel_paths_mask |= 1 << HARK_LLM_PATH_AVX2;
        kernel_path = HARK_LLM_PATH_AVX2;
        if (cpu_has_avx512_vnni()) {
            kernel_paths_mask |= 1 << HARK_LLM_PATH_AVX512_VNNI;
            kernel_path = HARK_LLM_PATH_AVX512_VNNI;
        }
    }
#endif
    // HARK_LLM_KERNELS=portable|avx2|avx512-vnni picks a slower path (to compare paths in
    // benchmarks and when chasing numerical differences); unavailable paths are ignored.
    const char *forced = getenv("HARK_LLM_KERNELS");
    if (forced) {
        int p = strcmp(forced, "portable") == 0 ? HARK_LLM_PATH_PORTABLE
              : strcmp(forced, "avx2") == 0 ? HARK_LLM_PATH_AVX2
              : strcmp(forced, "avx512-vnni") == 0 ? HARK_LLM_PATH_AVX512_VNNI : -1;
        if (p >= 0 && ((kernel_paths_mask >> p) & 1)) kernel_path = p;
    }
}

static inline float f16(uint16_t h) { return fp16_table[h]; }

static inline uint16_t load_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline float load_f16(const uint8_t *p) { return f16(load_u16(p)); }

static void ensure_init(void) { pthread_once(&fp16_once, fp16_init); }

float hark_fp16_to_fp32(uint16_t h) { ensure_init(); return fp16_table[h]; }

uint16_t hark_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx >= 0x7f800000) return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0));
    if (absx >= 0x477ff000) return (uint16_t)(sign | 0x7c00); // rounds to infinity
    if (absx < 0x38800000) { // subnormal or zero in half precision
        float a;
        memcpy(&a, &absx, 4);
        // value / 2^-24, rounded to nearest even by the FPU
        float scaled = a * 16777216.0f;
        uint32_t m = (uint32_t)nearbyintf(scaled);
        return (uint16_t)(sign | m);
    }
    uint32_t mant = absx & 0x7fffff;
    uint32_t exp = (absx >> 23) - 112;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static inline float round_f16(float f) { return f16(hark_fp32_to_fp16(f)); }

int hark_llm_type_supported(int type) {
    switch (type) {
    case HARK_GGML_F32: case HARK_GGML_F16: case HARK_GGML_BF16: case HARK_GGML_Q4_0:
    case HARK_GGML_Q4_1: case HARK_GGML_Q5_0: case HARK_GGML_Q8_0: case HARK_GGML_Q4_K:
    case HARK_GGML_Q5_K: case HARK_GGML_Q6_K:
        return 1;
    default:
        return 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Activation quantization

#if defined(__x86_64__)
// The same values as the scalar loop below (halves to even), 8 lanes at a time.
__attribute__((target("avx2,fma,f16c")))
static void quantize_q8_avx2(const float *x, hark_q8_block *y, int n) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + b * 32;
        __m256 v[4], amax = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(xb + 8 * i);
            amax = _mm256_max_ps(_mm256_andnot_ps(sign_bit, v[i]), amax); // NaN-ignoring, like the loop
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        float amaxs = _mm_cvtss_f32(m);
        float d = amaxs / 127.0f;
        float id = amaxs != 0.0f ? 127.0f / amaxs : 0.0f;
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4], total = _mm256_setzero_si256();
        for (int i = 0; i < 4; i++) {
            __m256 s = _mm256_round_ps(_mm256_mul_ps(v[i], vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            q[i] = _mm256_cvttps_epi32(s);
            total = _mm256_add_epi32(total, q[i]);
        }
        // int32 -> int8 in order: packs interleave 128-bit lanes, the permute restores the order
        __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
        __m256i p8 = _mm256_packs_epi16(p16a, p16b);
        p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[b].qs, p8);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        int sum = _mm_cvtsi128_si32(s4);
        y[b].d = round_f16(d);
        y[b].s = round_f16(d * (float)sum);
    }
}
#endif

void hark_quantize_q8(const float *x, hark_q8_block *y, int n) {
    ensure_init();
#if defined(__x86_64__)
    if (use_avx2) { quantize_q8_avx2(x, y, n); return; }
#endif
    hark_quantize_q8_portable(x, y, n);
}

void hark_quantize_q8_portable(const float *x, hark_q8_block *y, int n) {
    ensure_init();
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + b * 32;
        float amax = 0.0f;
        for (int i = 0; i < 32; i++) {
            float a = fabsf(xb[i]);
            amax = a > amax ? a : amax;
        }
        // As llama.cpp's x86 kernels (quantize_row_q8_0/q8_1): scale by 127/amax, round
        // halves to even. Its reference C rounds halves away from zero after multiplying by
        // 1/(amax/127); the rare elements where that differs change greedy near-ties.
        float d = amax / 127.0f;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            int q = (int)nearbyintf(xb[i] * id);
            y[b].qs[i] = (int8_t)q;
            sum += q;
        }
        y[b].d = round_f16(d);
        y[b].s = round_f16(d * (float)sum);
    }
}

// ---------------------------------------------------------------------------------------------
// Dequantization (reference loops)

static void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void hark_dequantize_row(int type, const void *src, float *dst, int n) {
    ensure_init();
    const uint8_t *p = (const uint8_t *)src;
    switch (type) {
    case HARK_GGML_F32:
        memcpy(dst, src, (size_t)n * 4);
        return;
    case HARK_GGML_F16:
        for (int i = 0; i < n; i++) dst[i] = load_f16(p + 2 * i);
        return;
    case HARK_GGML_BF16:
        for (int i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)load_u16(p + 2 * i) << 16;
            memcpy(dst + i, &bits, 4);
        }
        return;
    case HARK_GGML_Q4_0:
        for (int b = 0; b < n / 32; b++, p += 18, dst += 32) {
            float d = load_f16(p);
            for (int j = 0; j < 16; j++) {
                dst[j] = (float)((p[2 + j] & 0xF) - 8) * d;
                dst[j + 16] = (float)((p[2 + j] >> 4) - 8) * d;
            }
        }
        return;
    case HARK_GGML_Q4_1:
        for (int b = 0; b < n / 32; b++, p += 20, dst += 32) {
            float d = load_f16(p), m = load_f16(p + 2);
            for (int j = 0; j < 16; j++) {
                dst[j] = (float)(p[4 + j] & 0xF) * d + m;
                dst[j + 16] = (float)(p[4 + j] >> 4) * d + m;
            }
        }
        return;
    case HARK_GGML_Q5_0:
        for (int b = 0; b < n / 32; b++, p += 22, dst += 32) {
            float d = load_f16(p);
            uint32_t qh;
            memcpy(&qh, p + 2, 4);
            for (int j = 0; j < 16; j++) {
                int h0 = ((qh >> j) << 4) & 0x10;
                int h1 = (qh >> (j + 12)) & 0x10;
                dst[j] = (float)(((p[6 + j] & 0xF) | h0) - 16) * d;
                dst[j + 16] = (float)(((p[6 + j] >> 4) | h1) - 16) * d;
            }
        }
        return;
    case HARK_GGML_Q8_0:
        for (int b = 0; b < n / 32; b++, p += 34, dst += 32) {
            float d = load_f16(p);
            for (int j = 0; j < 32; j++) dst[j] = (float)(int8_t)p[2 + j] * d;
        }
        return;
    case HARK_GGML_Q4_K:
        for (int b = 0; b < n / 256; b++, p += 144) {
            float d = load_f16(p), dmin = load_f16(p + 2);
            const uint8_t *scales = p + 4, *q = p + 16;
            for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
                uint8_t sc, m;
                get_scale_min_k4(is, scales, &sc, &m);
                float d1 = d * sc, m1 = dmin * m;
                get_scale_min_k4(is + 1, scales, &sc, &m);
                float d2 = d * sc, m2 = dmin * m;
                for (int l = 0; l < 32; l++) *dst++ = d1 * (float)(q[l] & 0xF) - m1;
                for (int l = 0; l < 32; l++) *dst++ = d2 * (float)(q[l] >> 4) - m2;
            }
        }
        return;
    case HARK_GGML_Q5_K:
        for (int b = 0; b < n / 256; b++, p += 176) {
            float d = load_f16(p), dmin = load_f16(p + 2);
            const uint8_t *scales = p + 4, *qh = p + 16, *ql = p + 48;
            uint8_t u1 = 1, u2 = 2;
            for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
                uint8_t sc, m;
                get_scale_min_k4(is, scales, &sc, &m);
                float d1 = d * sc, m1 = dmin * m;
                get_scale_min_k4(is + 1, scales, &sc, &m);
                float d2 = d * sc, m2 = dmin * m;
                for (int l = 0; l < 32; l++) *dst++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
                for (int l = 0; l < 32; l++) *dst++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            }
        }
        return;
    case HARK_GGML_Q6_K:
        for (int b = 0; b < n / 256; b++, p += 210) {
            const uint8_t *ql = p, *qh = p + 128;
            const int8_t *sc = (const int8_t *)(p + 192);
            float d = load_f16(p + 208);
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, dst += 128) {
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    dst[l] = d * sc[is + 0] * q1;
                    dst[l + 32] = d * sc[is + 2] * q2;
                    dst[l + 64] = d * sc[is + 4] * q3;
                    dst[l + 96] = d * sc[is + 6] * q4;
                }
            }
        }
        return;
    default:
        memset(dst, 0, (size_t)n * 4);
        return;
    }
}

// ---------------------------------------------------------------------------------------------
// K-quant unpacking: one 256-super-block into int8 values with one scale per 16 values and one
// min per 32 (value = scale16[k] * q - min32[k/2]).

static void unpack_k(int type, const uint8_t *p, int8_t *q, float *scale16, float *min32) {
    if (type == HARK_GGML_Q6_K) {
        const uint8_t *ql = p, *qh = p + 128;
        const int8_t *sc = (const int8_t *)(p + 192);
        float d = load_f16(p + 208);
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, q += 128) {
            for (int l = 0; l < 32; l++) {
                q[l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                q[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                q[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                q[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        for (int k = 0; k < 16; k++) scale16[k] = d * (float)sc[k];
        for (int k = 0; k < 8; k++) min32[k] = 0.0f;
        return;
    }
    float d = load_f16(p), dmin = load_f16(p + 2);
    const uint8_t *scales = p + 4;
    for (int k = 0; k < 8; k++) {
        uint8_t sc, m;
        get_scale_min_k4(k, scales, &sc, &m);
        scale16[2 * k] = scale16[2 * k + 1] = d * sc;
        min32[k] = dmin * m;
    }
    if (type == HARK_GGML_Q4_K) {
        const uint8_t *qs = p + 16;
        for (int j = 0; j < 4; j++, qs += 32) {
            for (int l = 0; l < 32; l++) {
                q[64 * j + l] = (int8_t)(qs[l] & 0xF);
                q[64 * j + 32 + l] = (int8_t)(qs[l] >> 4);
            }
        }
    } else { // Q5_K
        const uint8_t *qh = p + 16, *ql = p + 48;
        for (int j = 0; j < 4; j++, ql += 32) {
            uint8_t u1 = (uint8_t)(1 << (2 * j)), u2 = (uint8_t)(2 << (2 * j));
            for (int l = 0; l < 32; l++) {
                q[64 * j + l] = (int8_t)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0));
                q[64 * j + 32 + l] = (int8_t)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0));
            }
        }
    }
}

static size_t block_bytes(int type) {
    switch (type) {
    case HARK_GGML_Q4_0: return 18;
    case HARK_GGML_Q4_1: return 20;
    case HARK_GGML_Q5_0: return 22;
    case HARK_GGML_Q8_0: return 34;
    case HARK_GGML_Q4_K: return 144;
    case HARK_GGML_Q5_K: return 176;
    case HARK_GGML_Q6_K: return 210;
    default: return 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Portable dot products

static float dot_q8_portable(int type, const void *row, const hark_q8_block *x, int n) {
    const uint8_t *p = (const uint8_t *)row;
    const int nb = n / 32;
    float sum = 0.0f;
    switch (type) {
    case HARK_GGML_Q4_0:
        for (int b = 0; b < nb; b++, p += 18) {
            int s = 0;
            for (int j = 0; j < 16; j++) {
                s += ((p[2 + j] & 0xF) - 8) * x[b].qs[j];
                s += ((p[2 + j] >> 4) - 8) * x[b].qs[j + 16];
            }
            sum += load_f16(p) * x[b].d * (float)s;
        }
        return sum;
    case HARK_GGML_Q4_1:
        for (int b = 0; b < nb; b++, p += 20) {
            int s = 0;
            for (int j = 0; j < 16; j++) {
                s += (p[4 + j] & 0xF) * x[b].qs[j];
                s += (p[4 + j] >> 4) * x[b].qs[j + 16];
            }
            sum += load_f16(p) * x[b].d * (float)s + load_f16(p + 2) * x[b].s;
        }
        return sum;
    case HARK_GGML_Q5_0:
        for (int b = 0; b < nb; b++, p += 22) {
            uint32_t qh;
            memcpy(&qh, p + 2, 4);
            int s = 0;
            for (int j = 0; j < 16; j++) {
                int h0 = ((qh >> j) << 4) & 0x10;
                int h1 = (qh >> (j + 12)) & 0x10;
                s += (((p[6 + j] & 0xF) | h0) - 16) * x[b].qs[j];
                s += (((p[6 + j] >> 4) | h1) - 16) * x[b].qs[j + 16];
            }
            sum += load_f16(p) * x[b].d * (float)s;
        }
        return sum;
    case HARK_GGML_Q8_0:
        for (int b = 0; b < nb; b++, p += 34) {
            int s = 0;
            for (int j = 0; j < 32; j++) s += (int8_t)p[2 + j] * x[b].qs[j];
            sum += load_f16(p) * x[b].d * (float)s;
        }
        return sum;
    case HARK_GGML_Q4_K: case HARK_GGML_Q5_K: case HARK_GGML_Q6_K: {
        int8_t q[256];
        float scale16[16], min32[8];
        size_t bytes = block_bytes(type);
        for (int b = 0; b < n / 256; b++, p += bytes) {
            unpack_k(type, p, q, scale16, min32);
            const hark_q8_block *xb = x + 8 * b;
            for (int k = 0; k < 8; k++) {
                int s0 = 0, s1 = 0;
                for (int j = 0; j < 16; j++) {
                    s0 += q[32 * k + j] * xb[k].qs[j];
                    s1 += q[32 * k + 16 + j] * xb[k].qs[16 + j];
                }
                sum += xb[k].d * (scale16[2 * k] * (float)s0 + scale16[2 * k + 1] * (float)s1) - min32[k] * xb[k].s;
            }
        }
        return sum;
    }
    default:
        return 0.0f;
    }
}

float hark_vec_dot_q8_portable(int type, const void *row, const hark_q8_block *x, int n) {
    ensure_init();
    return dot_q8_portable(type, row, x, n);
}

// ---------------------------------------------------------------------------------------------
// Unpacked rows. The fast paths first unpack a weight row into one int8 per element plus
// per-block scales - value = dsc[b] * sub * q + mn[b], with `sub` the 16-element sub-scale of
// Q6_K and 1 for every other type - and then dot that with each token's activations. The
// format-specific bit twiddling runs once per row (not once per row and token, which matters
// for prompts), and one generic integer kernel per instruction set does the arithmetic.

typedef struct {
    int8_t *q;      // nb * 32 values, 32-byte aligned
    int16_t *scx;   // 16 per block: sub-scale of elements 0..15 (x8), then of 16..31 (x8); Q6_K
    float *dsc;     // per block
    float *mn;      // per block
    int nb;
    int is_signed;  // q holds signed values (otherwise 0..127, read as unsigned by the kernels)
    int has_scx;    // scx is used (implies is_signed)
    int llama_order; // summed in llama.cpp's order (see llama_order_type)
} unpacked_row;

#define HARK_STACK_COLS 8192

// Storage for an unpacked row of up to HARK_STACK_COLS elements (18 KiB, lives on the stack).
typedef struct {
    int8_t q[HARK_STACK_COLS] __attribute__((aligned(32)));
    int16_t scx[HARK_STACK_COLS / 2] __attribute__((aligned(32)));
    float dsc[HARK_STACK_COLS / 32];
    float mn[HARK_STACK_COLS / 32];
} row_storage;

// Points `u` at `s`, or at the heap for longer rows. 0 when out of memory.
static int unpacked_init(unpacked_row *u, row_storage *s, int n) {
    int nb = n / 32;
    if (n <= HARK_STACK_COLS) {
        *u = (unpacked_row){s->q, s->scx, s->dsc, s->mn, nb, 0, 0};
        return 1;
    }
    size_t qbytes = (size_t)nb * 32, sbytes = (size_t)nb * 32; // scx: 16 int16 per block
    uint8_t *heap = aligned_alloc(32, qbytes + sbytes + (size_t)nb * 8);
    if (!heap) return 0;
    *u = (unpacked_row){(int8_t *)heap, (int16_t *)(heap + qbytes), (float *)(heap + qbytes + sbytes),
                        (float *)(heap + qbytes + sbytes) + nb, nb, 0, 0};
    return 1;
}

static void unpacked_free(unpacked_row *u, row_storage *s) {
    if (u->q != s->q) free(u->q);
}

// The types whose products every path sums in llama.cpp's order (dot_unpacked_llama_order).
static int llama_order_type(int type) {
    return type == HARK_GGML_Q4_0 || type == HARK_GGML_Q4_1 || type == HARK_GGML_Q8_0;
}

static int type_is_signed(int type) {
    return !(type == HARK_GGML_Q4_1 || type == HARK_GGML_Q4_K || type == HARK_GGML_Q5_K);
}

// Q6_K: dsc = d for the 8 blocks of a super-block, sub-scales from its int8 scales.
static void q6k_scales(const uint8_t *p, unpacked_row *u, int b0) {
    const int8_t *sc = (const int8_t *)(p + 192);
    float d = load_f16(p + 208);
    for (int k = 0; k < 8; k++) {
        u->dsc[b0 + k] = d;
        u->mn[b0 + k] = 0.0f;
        for (int i = 0; i < 16; i++) u->scx[16 * (b0 + k) + i] = sc[2 * k + i / 8];
    }
}

// Q4_K / Q5_K: a 6-bit scale and min per 32 elements, folded into dsc and mn.
static void qk_scales(const uint8_t *p, unpacked_row *u, int b0) {
    float d = load_f16(p), dmin = load_f16(p + 2);
    for (int k = 0; k < 8; k++) {
        uint8_t sc, m;
        get_scale_min_k4(k, p + 4, &sc, &m);
        u->dsc[b0 + k] = d * (float)sc;
        u->mn[b0 + k] = -dmin * (float)m;
    }
}

static void unpack_row_portable(int type, const uint8_t *p, int n, unpacked_row *u) {
    const int nb = n / 32;
    int8_t *q = u->q;
    u->is_signed = type_is_signed(type);
    u->has_scx = type == HARK_GGML_Q6_K;
    u->llama_order = llama_order_type(type);
    switch (type) {
    case HARK_GGML_Q4_0:
        for (int b = 0; b < nb; b++, p += 18, q += 32) {
            for (int j = 0; j < 16; j++) {
                q[j] = (int8_t)((p[2 + j] & 0xF) - 8);
                q[j + 16] = (int8_t)((p[2 + j] >> 4) - 8);
            }
            u->dsc[b] = load_f16(p);
            u->mn[b] = 0.0f;
        }
        return;
    case HARK_GGML_Q4_1:
        for (int b = 0; b < nb; b++, p += 20, q += 32) {
            for (int j = 0; j < 16; j++) {
                q[j] = (int8_t)(p[4 + j] & 0xF);
                q[j + 16] = (int8_t)(p[4 + j] >> 4);
            }
            u->dsc[b] = load_f16(p);
            u->mn[b] = load_f16(p + 2);
        }
        return;
    case HARK_GGML_Q5_0:
        for (int b = 0; b < nb; b++, p += 22, q += 32) {
            uint32_t qh;
            memcpy(&qh, p + 2, 4);
            for (int j = 0; j < 16; j++) {
                int h0 = ((qh >> j) << 4) & 0x10;
                int h1 = (qh >> (j + 12)) & 0x10;
                q[j] = (int8_t)(((p[6 + j] & 0xF) | h0) - 16);
                q[j + 16] = (int8_t)(((p[6 + j] >> 4) | h1) - 16);
            }
            u->dsc[b] = load_f16(p);
            u->mn[b] = 0.0f;
        }
        return;
    case HARK_GGML_Q8_0:
        for (int b = 0; b < nb; b++, p += 34, q += 32) {
            memcpy(q, p + 2, 32);
            u->dsc[b] = load_f16(p);
            u->mn[b] = 0.0f;
        }
        return;
    case HARK_GGML_Q4_K: case HARK_GGML_Q5_K: case HARK_GGML_Q6_K: {
        float scale16[16], min32[8];
        size_t bytes = block_bytes(type);
        for (int s = 0; s < n / 256; s++, p += bytes, q += 256) {
            unpack_k(type, p, q, scale16, min32);
            if (type == HARK_GGML_Q6_K) q6k_scales(p, u, 8 * s);
            else qk_scales(p, u, 8 * s);
        }
        return;
    }
    default:
        memset(u->q, 0, (size_t)nb * 32);
        for (int b = 0; b < nb; b++) u->dsc[b] = u->mn[b] = 0.0f;
        return;
    }
}

void hark_unpack_row(int type, const void *row, int n, int8_t *q, float *dsc, float *mn, int16_t *scx) {
    ensure_init();
    int16_t scratch[HARK_STACK_COLS / 2];
    unpacked_row u = {q, scx ? scx : scratch, dsc, mn, n / 32, 0, 0};
    if (!scx && type == HARK_GGML_Q6_K && n > HARK_STACK_COLS) { // no room for the sub-scales
        for (int b = 0; b < n / 32; b++) dsc[b] = mn[b] = NAN;
        return;
    }
    unpack_row_portable(type, (const uint8_t *)row, n, &u);
}

// llama.cpp's accumulation order for one row (ggml_vec_dot_q4_1_q8_1 / q8_0_q8_0 / q4_0_q8_0 on
// x86): 8 float lanes, lane i takes the integer sum of elements 4i..4i+3 of every block times the
// block's d*d' (fused multiply-add), the blocks' min terms (Q4_1) summed apart, then the lanes
// added pairwise. Every path computes the types of `llama_order_type` this way, so that the
// model's logits equal llama.cpp's bit for bit; the other types add one float term per block.
static float dot_unpacked_llama_order(const unpacked_row *u, const hark_q8_block *x) {
    float acc[8] = {0}, summs = 0.0f;
    for (int b = 0; b < u->nb; b++) {
        const int8_t *q = u->q + 32 * b;
        const float dd = u->dsc[b] * x[b].d;
        for (int i = 0; i < 8; i++) {
            int s = 0;
            for (int j = 4 * i; j < 4 * i + 4; j++)
                s += (u->has_scx ? u->scx[16 * b + 8 * (j / 16)] : 1) * q[j] * x[b].qs[j];
            acc[i] = fmaf(dd, (float)s, acc[i]);
        }
        // product and sum rounded apart (two statements: never contracted into an fma)
        const float m = u->mn[b] * x[b].s;
        summs += m;
    }
    return (((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))) + summs;
}

// sum over blocks, in block order, of dsc * x.d * (sub-scaled integer dot) + mn * x.s
static float dot_unpacked_portable(const unpacked_row *u, const hark_q8_block *x) {
    if (u->llama_order) return dot_unpacked_llama_order(u, x);
    float sum = 0.0f;
    for (int b = 0; b < u->nb; b++) {
        const int8_t *q = u->q + 32 * b;
        int s0 = 0, s1 = 0;
        for (int j = 0; j < 16; j++) {
            s0 += q[j] * x[b].qs[j];
            s1 += q[16 + j] * x[b].qs[16 + j];
        }
        int s = u->has_scx ? s0 * u->scx[16 * b] + s1 * u->scx[16 * b + 8] : s0 + s1;
        // Spelled out (explicit fma, blocks added in order) so that the SIMD paths, which
        // compute the same per-block terms, give bit-identical sums: the model's output must
        // not depend on the instruction set (8-bit activations turn last-bit differences into
        // whole quantization steps, which change greedy choices at near-ties).
        float term = fmaf(u->mn[b], x[b].s, (u->dsc[b] * x[b].d) * (float)s);
        sum += term;
    }
    return sum;
}

#if HARK_X86
#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum_ps(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

// llama.cpp's horizontal sum of 8 lanes: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
AVX2 static inline float llama_hsum(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

// 16 bytes of nibbles -> 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31.
AVX2 static inline __m256i nibbles(const uint8_t *p) {
    __m128i t = _mm_loadu_si128((const __m128i *)p);
    __m256i both = _mm256_insertf128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, 0xFF where the bit is set.
AVX2 static inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                            0x0202020202020202, 0x0303030303030303);
    __m256i r = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf);
    const __m256i mask = _mm256_set1_epi64x((long long)0x7fbfdfeff7fbfdfeULL);
    r = _mm256_or_si256(r, mask);
    return _mm256_cmpeq_epi8(r, _mm256_set1_epi64x(-1));
}

#define STORE32(dst, v) _mm256_store_si256((__m256i *)(dst), (v))

// Same results as unpack_row_portable, SIMD for the types of the shipped models.
AVX2 static void unpack_row_avx2(int type, const uint8_t *p, int n, unpacked_row *u) {
    const int nb = n / 32;
    int8_t *q = u->q;
    u->is_signed = type_is_signed(type);
    u->has_scx = type == HARK_GGML_Q6_K;
    u->llama_order = llama_order_type(type);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    switch (type) {
    case HARK_GGML_Q4_0:
        for (int b = 0; b < nb; b++, p += 18, q += 32) {
            STORE32(q, _mm256_sub_epi8(nibbles(p + 2), _mm256_set1_epi8(8)));
            u->dsc[b] = load_f16(p);
            u->mn[b] = 0.0f;
        }
        return;
    case HARK_GGML_Q4_1:
        for (int b = 0; b < nb; b++, p += 20, q += 32) {
            STORE32(q, nibbles(p + 4));
            u->dsc[b] = load_f16(p);
            u->mn[b] = load_f16(p + 2);
        }
        return;
    case HARK_GGML_Q5_0:
        for (int b = 0; b < nb; b++, p += 22, q += 32) {
            uint32_t qh;
            memcpy(&qh, p + 2, 4);
            // value = (nibble | bit<<4) - 16 = nibble - (bit ? 0 : 16)
            __m256i hi = _mm256_andnot_si256(bits_to_bytes(qh), _mm256_set1_epi8((char)0xF0));
            STORE32(q, _mm256_or_si256(nibbles(p + 6), hi));
            u->dsc[b] = load_f16(p);
            u->mn[b] = 0.0f;
        }
        return;
    case HARK_GGML_Q8_0:
        for (int b = 0; b < nb; b++, p += 34, q += 32) {
            STORE32(q, _mm256_loadu_si256((const __m256i *)(p + 2)));
            u->dsc[b] = load_f16(p);
            u->mn[b] = 0.0f;
        }
        return;
    case HARK_GGML_Q4_K:
        for (int s = 0; s < n / 256; s++, p += 144) {
            const uint8_t *qs = p + 16;
            for (int j = 0; j < 4; j++, qs += 32, q += 64) {
                __m256i v = _mm256_loadu_si256((const __m256i *)qs);
                STORE32(q, _mm256_and_si256(v, m4));
                STORE32(q + 32, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
            }
            qk_scales(p, u, 8 * s);
        }
        return;
    case HARK_GGML_Q6_K: {
        const __m256i m30 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
        for (int s = 0; s < n / 256; s++, p += 210) {
            for (int h = 0; h < 2; h++, q += 128) {
                // 6-bit values: low 4 bits from ql, bits 4-5 from 2-bit fields of qh (the 16-bit
                // shifts move neighbouring bytes' bits only into positions the masks clear)
                __m256i ql0 = _mm256_loadu_si256((const __m256i *)(p + 64 * h));
                __m256i ql1 = _mm256_loadu_si256((const __m256i *)(p + 64 * h + 32));
                __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h));
                __m256i c0 = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
                __m256i c1 = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
                __m256i c2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
                __m256i c3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
                STORE32(q, _mm256_sub_epi8(c0, off));
                STORE32(q + 32, _mm256_sub_epi8(c1, off));
                STORE32(q + 64, _mm256_sub_epi8(c2, off));
                STORE32(q + 96, _mm256_sub_epi8(c3, off));
            }
            q6k_scales(p, u, 8 * s);
        }
        return;
    }
    default:
        unpack_row_portable(type, p, n, u);
        return;
    }
}

#define DOT_FN dot_unpacked_avx2
#define DOT_TARGET "avx2,fma,f16c"
#define DOT_VNNI 0
#include "llm_dot.h"
#undef DOT_FN
#undef DOT_TARGET
#undef DOT_VNNI

#define DOT_FN dot_unpacked_vnni
#define DOT_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define DOT_VNNI 1
#include "llm_dot.h"
#undef DOT_FN
#undef DOT_TARGET
#undef DOT_VNNI

AVX2 static float dot_f32_avx2(const float *a, const float *b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = hsum_ps(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}
#endif

static inline int have_avx2(void) { return use_avx2; }

static int path_available(int path) {
    ensure_init();
    return path >= 0 && path <= HARK_LLM_PATH_AVX512_VNNI && ((kernel_paths_mask >> path) & 1);
}

int hark_llm_kernel_paths(void) { ensure_init(); return kernel_paths_mask; }

const char *hark_llm_kernel_name(void) {
    ensure_init();
    switch (kernel_path) {
    case HARK_LLM_PATH_AVX512_VNNI: return "avx512-vnni";
    case HARK_LLM_PATH_AVX2: return "avx2";
    default: return "portable";
    }
}

static void unpack_row(int path, int type, const uint8_t *p, int n, unpacked_row *u) {
#if HARK_X86
    if (path != HARK_LLM_PATH_PORTABLE) { unpack_row_avx2(type, p, n, u); return; }
#endif
    (void)path;
    unpack_row_portable(type, p, n, u);
}

// xd, xs: the activation blocks' d and s as plain arrays (for the vector loads of the SIMD paths).
static float dot_unpacked(int path, const unpacked_row *u, const hark_q8_block *x, const float *xd, const float *xs) {
#if HARK_X86
    if (path == HARK_LLM_PATH_AVX512_VNNI) return dot_unpacked_vnni(u, x, xd, xs);
    if (path == HARK_LLM_PATH_AVX2) return dot_unpacked_avx2(u, x, xd, xs);
#endif
    (void)xd; (void)xs; (void)path;
    return dot_unpacked_portable(u, x);
}

static int fused_type(int type) {
    return type == HARK_GGML_Q4_0 || type == HARK_GGML_Q4_1 || type == HARK_GGML_Q5_0 || type == HARK_GGML_Q8_0;
}

// One row, one token, without the unpacked copy where a fused SIMD kernel exists (same results).
static float dot_row(int path, int type, const uint8_t *row, int n, unpacked_row *u, const hark_q8_block *x,
                     const float *xd, const float *xs) {
#if HARK_X86
    if (path == HARK_LLM_PATH_AVX512_VNNI && fused_type(type)) return dot_unpacked_vnni_one(type, row, x, xd, xs, n / 32);
    if (path == HARK_LLM_PATH_AVX2 && fused_type(type)) return dot_unpacked_avx2_one(type, row, x, xd, xs, n / 32);
#endif
    unpack_row(path, type, row, n, u);
    return dot_unpacked(path, u, x, xd, xs);
}

// Copies the activation scales into plain arrays; `*heap` is set when they had to be allocated.
static int activation_scales(const hark_q8_block *x, int nb, float *stack, int stack_count, float **xd, float **xs, float **heap) {
    float *buf = stack;
    *heap = NULL;
    if (2 * nb > stack_count) {
        buf = malloc(sizeof(float) * 2 * (size_t)nb);
        if (!buf) return 0;
        *heap = buf;
    }
    *xd = buf;
    *xs = buf + nb;
    for (int b = 0; b < nb; b++) { buf[b] = x[b].d; buf[nb + b] = x[b].s; }
    return 1;
}

static float vec_dot_path(int path, int type, const void *row, const hark_q8_block *x, int n) {
    row_storage storage;
    unpacked_row u;
    float stack[2 * 64], *xd, *xs, *heap;
    if (!unpacked_init(&u, &storage, n)) return NAN;
    if (!activation_scales(x, n / 32, stack, 128, &xd, &xs, &heap)) { unpacked_free(&u, &storage); return NAN; }
    float r = dot_row(path, type, (const uint8_t *)row, n, &u, x, xd, xs);
    free(heap);
    unpacked_free(&u, &storage);
    return r;
}

float hark_vec_dot_q8(int type, const void *row, const hark_q8_block *x, int n) {
    ensure_init();
    return vec_dot_path(kernel_path, type, row, x, n);
}

float hark_vec_dot_q8_path(int path, int type, const void *row, const hark_q8_block *x, int n) {
    if (!path_available(path)) return NAN;
    return vec_dot_path(path, type, row, x, n);
}

static float dot_f32(const float *a, const float *b, int n) {
#if HARK_X86
    if (have_avx2()) return dot_f32_avx2(a, b, n);
#endif
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

float hark_vec_dot_f32(int type, const void *row, const float *x, int n) {
    ensure_init();
    if (type == HARK_GGML_F32) return dot_f32((const float *)row, x, n);
    float buf[256];
    int block = (type == HARK_GGML_Q4_K || type == HARK_GGML_Q5_K || type == HARK_GGML_Q6_K) ? 256
              : (type == HARK_GGML_F16 || type == HARK_GGML_BF16) ? 256 : 32;
    size_t bytes = (type == HARK_GGML_F16 || type == HARK_GGML_BF16) ? 512 : block_bytes(type);
    const uint8_t *p = (const uint8_t *)row;
    float s = 0.0f;
    int i = 0;
    for (; i + block <= n; i += block, p += bytes) {
        hark_dequantize_row(type, p, buf, block);
        s += dot_f32(buf, x + i, block);
    }
    if (i < n) { // float types: tail shorter than a chunk
        hark_dequantize_row(type, p, buf, n - i);
        s += dot_f32(buf, x + i, n - i);
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// Thread pool. A task is split into chunks; each thread owns a contiguous segment of them
// (thread i: chunks [i*n/T, (i+1)*n/T)) and takes its chunks from the front, so that it streams
// one stretch of memory per task - matrix rows are stored in chunk order, and every new
// stretch starts without the prefetchers' help. A thread whose segment is empty takes the
// others' next chunks, so a late or descheduled worker never holds up the caller beyond the
// chunk it is running. Workers spin briefly between tasks (token generation issues
// tasks every few microseconds), then yield, then sleep on a condition variable.

#define HARK_SPIN_ITERATIONS 2000
#define HARK_YIELD_ITERATIONS 2000
#define HARK_MAX_THREADS 64

// A segment: next chunk in the low 32 bits, end (exclusive) in the high 32 bits, on a cache
// line of its own. The owner advances `next`, others lower `end`, both by compare-and-swap.
typedef struct {
    _Atomic uint64_t range;
    char pad[64 - sizeof(uint64_t)];
} pool_segment;

struct hark_pool {
    int threads;
    pthread_t *handles;
    pool_segment *segments; // one per thread
    _Atomic uint64_t work; // generation (a new task wakes the workers)
    atomic_int done;
    atomic_int stop;
    atomic_int sleeping;
    hark_task_fn fn;
    void *context;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
};

#define SEG_NEXT(r) ((uint32_t)(r))
#define SEG_END(r) ((uint32_t)((r) >> 32))
#define SEG(next, end) ((uint64_t)(end) << 32 | (uint32_t)(next))

typedef struct { hark_pool *pool; int index; } worker_arg;

static inline void cpu_relax(void) {
#if HARK_X86
    __builtin_ia32_pause();
#endif
}

// Runs chunk c; `fn` and `context` are read after the claim, which made them visible (the
// caller writes them before it publishes the segments, and waits for every chunk before it
// writes them again), so even a worker late from an earlier task runs a chunk correctly.
static inline void run_chunk(hark_pool *pool, int c, int thread_index) {
    pool->fn(pool->context, c, thread_index);
    atomic_fetch_add(&pool->done, 1);
}

// Claims and runs chunks until none is left: the own segment from the front, then the
// others' from the front too - where their owner's prefetching already reaches, and in
// order when the owner never came (a descheduled worker's share is then one stream).
static void run_chunks(hark_pool *pool, int thread_index) {
    _Atomic uint64_t *own = &pool->segments[thread_index].range;
    for (;;) {
        uint64_t r = atomic_load(own);
        if (SEG_NEXT(r) >= SEG_END(r)) break;
        if (atomic_compare_exchange_weak(own, &r, SEG(SEG_NEXT(r) + 1, SEG_END(r))))
            run_chunk(pool, (int)SEG_NEXT(r), thread_index);
    }
    for (int k = 1; k < pool->threads; k++) {
        _Atomic uint64_t *other = &pool->segments[(thread_index + k) % pool->threads].range;
        for (;;) {
            uint64_t r = atomic_load(other);
            if (SEG_NEXT(r) >= SEG_END(r)) break;
            if (atomic_compare_exchange_weak(other, &r, SEG(SEG_NEXT(r) + 1, SEG_END(r))))
                run_chunk(pool, (int)SEG_NEXT(r), thread_index);
        }
    }
}

static void *worker_main(void *raw) {
    worker_arg arg = *(worker_arg *)raw;
    free(raw);
    hark_pool *pool = arg.pool;
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load(&pool->work) == seen && !atomic_load(&pool->stop)) {
            spins++;
            if (spins < HARK_SPIN_ITERATIONS) { cpu_relax(); continue; }
            if (spins < HARK_SPIN_ITERATIONS + HARK_YIELD_ITERATIONS) { sched_yield(); continue; }
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleeping, 1);
            while (atomic_load(&pool->work) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->wake, &pool->mutex);
            atomic_fetch_sub(&pool->sleeping, 1);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = atomic_load(&pool->work);
        run_chunks(pool, arg.index);
    }
}

hark_pool *hark_pool_create(int threads) {
    ensure_init();
    if (threads < 1) threads = 1;
    if (threads > HARK_MAX_THREADS) threads = HARK_MAX_THREADS;
    hark_pool *pool = calloc(1, sizeof(hark_pool));
    if (!pool) return NULL;
    pool->threads = threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->handles = calloc((size_t)threads, sizeof(pthread_t));
    pool->segments = aligned_alloc(64, sizeof(pool_segment) * (size_t)threads);
    if (!pool->handles || !pool->segments) {
        free(pool->handles);
        free(pool->segments);
        pthread_mutex_destroy(&pool->mutex);
        pthread_cond_destroy(&pool->wake);
        free(pool);
        return NULL;
    }
    for (int i = 0; i < threads; i++) atomic_init(&pool->segments[i].range, 0);
    for (int i = 1; i < threads; i++) {
        worker_arg *arg = malloc(sizeof(worker_arg));
        if (arg) { arg->pool = pool; arg->index = i; }
        if (!arg || pthread_create(&pool->handles[i], NULL, worker_main, arg) != 0) {
            free(arg);
            pool->threads = i; // run with the threads that started
            break;
        }
    }
    return pool;
}

int hark_pool_threads(const hark_pool *pool) { return pool ? pool->threads : 1; }

void hark_pool_run(hark_pool *pool, hark_task_fn fn, void *context, int chunks) {
    if (chunks <= 0) return;
    if (!pool || pool->threads == 1 || chunks == 1) {
        for (int c = 0; c < chunks; c++) fn(context, c, 0);
        return;
    }
    pool->fn = fn;
    pool->context = context;
    atomic_store(&pool->done, 0);
    const int threads = pool->threads;
    for (int i = 0; i < threads; i++)
        atomic_store(&pool->segments[i].range,
                     SEG((uint32_t)((long)chunks * i / threads), (uint32_t)((long)chunks * (i + 1) / threads)));
    atomic_fetch_add(&pool->work, 1);
    if (atomic_load(&pool->sleeping) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    run_chunks(pool, 0);
    int spins = 0;
    while (atomic_load(&pool->done) < chunks) {
        if (++spins < HARK_SPIN_ITERATIONS) cpu_relax();
        else sched_yield();
    }
}

void hark_pool_destroy(hark_pool *pool) {
    if (!pool) return;
    atomic_store(&pool->stop, 1);
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->threads; i++) pthread_join(pool->handles[i], NULL);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->wake);
    free(pool->handles);
    free(pool->segments);
    free(pool);
}

// ---------------------------------------------------------------------------------------------
// Matrix products

typedef struct {
    int type, path;
    const uint8_t *w;
    size_t row_bytes;
    int rows, cols, tokens, ldy;
    const float *x;
    const hark_q8_block *xq;
    const float *xd, *xs; // activation scales, tokens * cols/32 each
    float *y;
    int rows_per_chunk;
} matmul_task;

#define HARK_ROW_TILE 16

static void matmul_worker(void *raw, int chunk, int thread_index) {
    (void)thread_index;
    const matmul_task *t = (const matmul_task *)raw;
    int first = chunk * t->rows_per_chunk;
    int last = first + t->rows_per_chunk < t->rows ? first + t->rows_per_chunk : t->rows;
    const int quantized = !(t->type == HARK_GGML_F32 || t->type == HARK_GGML_F16 || t->type == HARK_GGML_BF16);
    const int nb = t->cols / 32;
    if (quantized) {
        // Each row is unpacked once, then used for every token while it is in L1.
        row_storage storage;
        unpacked_row u;
        if (!unpacked_init(&u, &storage, t->cols)) {
            for (int tok = 0; tok < t->tokens; tok++)
                for (int r = first; r < last; r++) t->y[(size_t)tok * t->ldy + r] = NAN;
            return;
        }
        if (t->tokens == 1) {
            for (int r = first; r < last; r++)
                t->y[r] = dot_row(t->path, t->type, t->w + (size_t)r * t->row_bytes, t->cols, &u, t->xq, t->xd, t->xs);
            unpacked_free(&u, &storage);
            return;
        }
        for (int r = first; r < last; r++) {
            unpack_row(t->path, t->type, t->w + (size_t)r * t->row_bytes, t->cols, &u);
            for (int tok = 0; tok < t->tokens; tok++) {
                size_t o = (size_t)tok * nb;
                t->y[(size_t)tok * t->ldy + r] = dot_unpacked(t->path, &u, t->xq + o, t->xd + o, t->xs + o);
            }
        }
        unpacked_free(&u, &storage);
        return;
    }
    for (int r0 = first; r0 < last; r0 += HARK_ROW_TILE) {
        int r1 = r0 + HARK_ROW_TILE < last ? r0 + HARK_ROW_TILE : last;
        for (int tok = 0; tok < t->tokens; tok++) {
            float *y = t->y + (size_t)tok * t->ldy;
            const float *x = t->x + (size_t)tok * t->cols;
            for (int r = r0; r < r1; r++) y[r] = hark_vec_dot_f32(t->type, t->w + (size_t)r * t->row_bytes, x, t->cols);
        }
    }
}

void hark_matmul(hark_pool *pool, int type, const void *w, size_t row_bytes, int rows, int cols,
                 const float *x, const hark_q8_block *xq, int tokens, float *y, int ldy) {
    ensure_init();
    // Chunks of whole row tiles (threads never share cache lines of y), about 8 per thread.
    int threads = hark_pool_threads(pool);
    int tiles = (rows + HARK_ROW_TILE - 1) / HARK_ROW_TILE;
    int tiles_per_chunk = (tiles + 8 * threads - 1) / (8 * threads);
    matmul_task task = {type, kernel_path, (const uint8_t *)w, row_bytes, rows, cols, tokens, ldy, x, xq,
                        NULL, NULL, y, tiles_per_chunk * HARK_ROW_TILE};
    float stack[2 * 512], *heap = NULL;
    const int quantized = !(type == HARK_GGML_F32 || type == HARK_GGML_F16 || type == HARK_GGML_BF16);
    if (quantized) {
        // All tokens' scales as one array: token t's blocks start at t * cols/32 in both.
        float *xd, *xs;
        int nb = tokens * (cols / 32);
        if (!activation_scales(xq, nb, stack, 1024, &xd, &xs, &heap)) {
            for (int tok = 0; tok < tokens; tok++)
                for (int r = 0; r < rows; r++) y[(size_t)tok * ldy + r] = NAN;
            return;
        }
        task.xd = xd;
        task.xs = xs;
    }
    int chunks = (rows + task.rows_per_chunk - 1) / task.rows_per_chunk;
    // Small products are not worth waking the workers.
    if ((long)rows * cols * tokens < 32768) {
        for (int c = 0; c < chunks; c++) matmul_worker(&task, c, 0);
    } else {
        hark_pool_run(pool, matmul_worker, &task, chunks);
    }
    free(heap);
}

// ---------------------------------------------------------------------------------------------
// Elementwise operations and attention

void hark_rmsnorm(const float *x, const float *w, float *y, int n, int rows, float eps) {
    for (int r = 0; r < rows; r++, x += n, y += n) {
        // Squares rounded to float, summed in double: as llama.cpp (its rounding decides near-ties).
        double sum = 0.0;
        for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
        float scale = 1.0f / sqrtf((float)(sum / n) + eps);
        for (int i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
    }
}

// x0*c - x1*s and x0*s + x1*c with the first product fused, as GCC compiles llama.cpp's
// rotation (-ffp-contract=fast): the last bit of the rotated keys decides their f16 rounding.
__attribute__((always_inline)) static inline void rope_body(float *x, int heads, int head_dim, int rot_dims, int pos,
                                                            float freq_base, int neox) {
    const float theta_scale = powf(freq_base, -2.0f / (float)rot_dims);
    // The angles depend on the position only: cosines and sines once for all heads (the
    // trigonometric calls were most of this function's time in generation).
    enum { MAX_PAIRS = 512 };
    float cs[MAX_PAIRS], sn[MAX_PAIRS];
    const int pairs = rot_dims / 2 < MAX_PAIRS ? rot_dims / 2 : MAX_PAIRS;
    float theta = (float)pos;
    for (int i = 0; i < pairs; i++, theta *= theta_scale) {
        cs[i] = cosf(theta);
        sn[i] = sinf(theta);
    }
    for (int h = 0; h < heads; h++) {
        float *v = x + (size_t)h * head_dim;
        theta = (float)pos;
        for (int i = 0; i < rot_dims / 2; i++, theta *= theta_scale) {
            float c = i < pairs ? cs[i] : cosf(theta), s = i < pairs ? sn[i] : sinf(theta);
            int a = neox ? i : 2 * i;
            int b = neox ? i + rot_dims / 2 : 2 * i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = fmaf(x0, c, -(x1 * s));
            v[b] = fmaf(x0, s, x1 * c);
        }
    }
}

#if HARK_X86
AVX2 static void rope_fma(float *x, int heads, int head_dim, int rot_dims, int pos, float freq_base, int neox) {
    rope_body(x, heads, head_dim, rot_dims, pos, freq_base, neox);
}
#endif

void hark_rope(float *x, int heads, int head_dim, int rot_dims, int pos, float freq_base, int neox) {
    ensure_init();
#if HARK_X86
    if (have_avx2()) { rope_fma(x, heads, head_dim, rot_dims, pos, freq_base, neox); return; }
#endif
    rope_body(x, heads, head_dim, rot_dims, pos, freq_base, neox);
}

// e^x as llama.cpp's AVX-512 ggml_v_expf computes it (a polynomial after a power-of-two range
// reduction; within 2 ulp of expf, but not always equal to it): its SiLU and softmax use it, and
// the last bits decide greedy near-ties. Exactly the same operations, one lane at a time.
__attribute__((always_inline)) static inline float ggml_style_expf(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    if (fabsf(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         fmaf(0x1.ffffecp-1f, b, 1.0f));
    const int e = (int)n;
    if (e >= -126 && e <= 127) { // j * 2^e, exact as _mm512_scalef_ps
        uint32_t bits = (uint32_t)(e + 127) << 23;
        float scale;
        memcpy(&scale, &bits, 4);
        return j * scale;
    }
    return ldexpf(j, e);
}

__attribute__((always_inline)) static inline void swiglu_body(const float *gate, const float *up, float *out, int n) {
    for (int i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + ggml_style_expf(0.0f - g)) * up[i];
    }
}

#if HARK_X86
// swiglu_body 8 lanes at a time, with the same operations (lanes whose power of two is outside
// the normal range take the scalar code).
AVX2 static void swiglu_fma(const float *gate, const float *up, float *out, int n) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f), zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 x = _mm256_sub_ps(zero, g);
        __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
        __m256 nn = _mm256_sub_ps(z, r);
        __m256 lo = _mm256_cmp_ps(nn, _mm256_set1_ps(-126.0f), _CMP_LT_OQ);
        __m256 hi = _mm256_cmp_ps(nn, _mm256_set1_ps(127.0f), _CMP_GT_OQ);
        if (!_mm256_testz_ps(_mm256_or_ps(lo, hi), _mm256_or_ps(lo, hi))) {
            swiglu_body(gate + i, up + i, out + i, 8);
            continue;
        }
        __m256 b = _mm256_fnmadd_ps(nn, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(nn, _mm256_set1_ps(0x1.62e4p-1f), x));
        __m256 u = _mm256_mul_ps(b, b);
        __m256 j = _mm256_fmadd_ps(
            _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                            _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
            u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, one));
        __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(nn), _mm256_set1_epi32(127)), 23);
        __m256 ex = _mm256_mul_ps(j, _mm256_castsi256_ps(e));
        __m256 y = _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, ex)), _mm256_loadu_ps(up + i));
        _mm256_storeu_ps(out + i, y);
    }
    swiglu_body(gate + i, up + i, out + i, n - i);
}
#endif

void hark_swiglu(const float *gate, const float *up, float *out, int n) {
    ensure_init();
#if HARK_X86
    if (have_avx2()) { swiglu_fma(gate, up, out, n); return; }
#endif
    swiglu_body(gate, up, out, n);
}

typedef struct {
    const float *q, *k, *v;
    float *out, *scratch;
    int tokens, pos0, heads, kv_heads, head_dim, scratch_stride;
} attention_task;

static void attention_worker(void *raw, int job, int ith) {
    const attention_task *t = (const attention_task *)raw;
    const int group = t->heads / t->kv_heads;
    const int kv_width = t->kv_heads * t->head_dim;
    const int q_width = t->heads * t->head_dim;
    const float scale = 1.0f / sqrtf((float)t->head_dim);
    float *scores = t->scratch + (size_t)ith * t->scratch_stride;
    {
        int tok = job / t->heads, h = job % t->heads, kvh = h / group;
        int n = t->pos0 + tok + 1;
        const float *q = t->q + (size_t)tok * q_width + (size_t)h * t->head_dim;
        float maxv = -INFINITY;
        for (int j = 0; j < n; j++) {
            float s = dot_f32(q, t->k + (size_t)j * kv_width + (size_t)kvh * t->head_dim, t->head_dim) * scale;
            scores[j] = s;
            maxv = s > maxv ? s : maxv;
        }
        float sum = 0.0f;
        for (int j = 0; j < n; j++) {
            scores[j] = expf(scores[j] - maxv);
            sum += scores[j];
        }
        float inv = 1.0f / sum;
        float *o = t->out + (size_t)tok * q_width + (size_t)h * t->head_dim;
        for (int d = 0; d < t->head_dim; d++) o[d] = 0.0f;
        for (int j = 0; j < n; j++) {
            float p = scores[j] * inv;
            const float *vv = t->v + (size_t)j * kv_width + (size_t)kvh * t->head_dim;
            for (int d = 0; d < t->head_dim; d++) o[d] += p * vv[d];
        }
    }
}

void hark_attention(hark_pool *pool, const float *q, const float *k_cache, const float *v_cache,
                    float *out, int tokens, int pos0, int heads, int kv_heads, int head_dim,
                    float *scratch) {
    attention_task task = {q, k_cache, v_cache, out, scratch, tokens, pos0, heads, kv_heads, head_dim, pos0 + tokens};
    if (!pool || (long)tokens * (pos0 + tokens) * heads * head_dim < 65536) {
        for (int job = 0; job < tokens * heads; job++) attention_worker(&task, job, 0);
        return;
    }
    hark_pool_run(pool, attention_worker, &task, tokens * heads);
}

// ---------------------------------------------------------------------------------------------
// Attention over a half-precision KV cache, rounded like llama.cpp's CPU backend (its default
// f16 cache without flash attention): the query and the softmax probabilities are rounded to
// half precision too (ggml converts the right operand of a product with an f16 matrix to f16),
// and every dot product sums 16 float lanes with fused multiply-adds (lane l takes the elements
// i with i % 16 == l, in order) before a fixed pairwise reduction of the lanes - the order of
// llama.cpp's AVX-512 tiles. The small model's greedy choices hinge on near-ties, so the
// rounding has to match, not just the precision.

#define ATT_LANES 16
#define ATT_MAX_SLOTS 64
#define ATT_MAX_HEAD_DIM 512

#if HARK_X86
AVX2 static void fp32_to_fp16_row_avx2(const float *x, uint16_t *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = hark_fp32_to_fp16(x[i]);
}
#endif

void hark_fp32_to_fp16_row(const float *x, uint16_t *y, int n) {
    ensure_init();
#if HARK_X86
    if (have_avx2()) { fp32_to_fp16_row_avx2(x, y, n); return; }
#endif
    for (int i = 0; i < n; i++) y[i] = hark_fp32_to_fp16(x[i]);
}

// The reduction of 16 lanes: (l, l+8), then (l, l+4), then (0,2)+(1,3) - _mm512_reduce_add_ps.
static inline float reduce_lanes(const float *l) {
    float t3[8], t6[4];
    for (int i = 0; i < 8; i++) t3[i] = l[i + 8] + l[i];
    for (int i = 0; i < 4; i++) t6[i] = t3[i + 4] + t3[i];
    return (t6[0] + t6[2]) + (t6[1] + t6[3]);
}

// Replaces the scores p[0..<n] by exp(p - maxv) and returns 1 / their sum, as llama.cpp's
// softmax does it (its exp, lanes of ATT_LANES summed in double).
__attribute__((always_inline)) static inline float softmax_exponentials(float *p, int n, float maxv) {
    double sum = 0.0;
    for (int c = 0; c < n; c += ATT_LANES) {
        float lanes[ATT_LANES] = {0};
        for (int j = c; j < c + ATT_LANES && j < n; j++) lanes[j - c] = p[j] = ggml_style_expf(p[j] - maxv);
        sum += (double)reduce_lanes(lanes);
    }
    return (float)(1.0 / sum);
}

// The sum of `slots` partial sums (element i of a dot product went to slot i % slots):
// 16 slots are the lanes of one AVX-512 register (llama.cpp's tinyBLAS, used for batches);
// 64 are its ggml_vec_dot_f16's four registers (single tokens), added (0+2) + (1+3) first.
static inline float reduce_slots(const float *r, int slots) {
    if (slots == ATT_LANES) return reduce_lanes(r);
    float x0[ATT_LANES];
    for (int l = 0; l < ATT_LANES; l++) x0[l] = (r[l] + r[32 + l]) + (r[16 + l] + r[48 + l]);
    return reduce_lanes(x0);
}

// One attention row (one token, one head): probabilities over positions 0..n-1 in `p`,
// output in `o`. `acc` holds ATT_MAX_SLOTS * head_dim floats.
static void attention_row_f16_portable(const float *q, const uint16_t *k, const uint16_t *v, int kv_width,
                                       int head_dim, int n, int slots, float scale, float *p, float *acc, float *o) {
    float qh[ATT_MAX_HEAD_DIM];
    for (int d = 0; d < head_dim; d++) qh[d] = round_f16(q[d]);
    float maxv = -INFINITY;
    for (int j = 0; j < n; j++) {
        const uint16_t *kj = k + (size_t)j * kv_width;
        float r[ATT_MAX_SLOTS] = {0};
        for (int d = 0; d < head_dim; d++) r[d % slots] = fmaf(qh[d], f16(kj[d]), r[d % slots]);
        float sc = reduce_slots(r, slots) * scale;
        p[j] = sc;
        maxv = sc > maxv ? sc : maxv;
    }
    const float inv = softmax_exponentials(p, n, maxv);
    for (int i = 0; i < slots * head_dim; i++) acc[i] = 0.0f;
    for (int j = 0; j < n; j++) {
        const float pj = round_f16(p[j] * inv);
        const uint16_t *vj = v + (size_t)j * kv_width;
        float *a = acc + (size_t)(j % slots) * head_dim;
        for (int d = 0; d < head_dim; d++) a[d] = fmaf(pj, f16(vj[d]), a[d]);
    }
    for (int d = 0; d < head_dim; d++) {
        float r[ATT_MAX_SLOTS];
        for (int l = 0; l < slots; l++) r[l] = acc[(size_t)l * head_dim + d];
        o[d] = reduce_slots(r, slots);
    }
}

#if HARK_X86
AVX2 static inline float reduce16_avx2(__m256 lo, __m256 hi) {
    __m256 t3 = _mm256_add_ps(hi, lo);
    __m128 t6 = _mm_add_ps(_mm256_extractf128_ps(t3, 1), _mm256_castps256_ps128(t3));
    __m128 t8 = _mm_add_ps(t6, _mm_movehl_ps(t6, t6)); // (0,2) and (1,3)
    return _mm_cvtss_f32(t8) + _mm_cvtss_f32(_mm_movehdup_ps(t8));
}

// The same arithmetic as attention_row_f16_portable, 8 slots at a time (head_dim % 64 == 0),
// with every accumulator in a register: the scores' slots are fixed per element (d % slots),
// and each value slot (positions j with j % slots == l) is summed whole before it is stored.
AVX2 static void attention_row_f16_avx2(const float *q, const uint16_t *k, const uint16_t *v, int kv_width,
                                        int head_dim, int n, int slots, float scale, float *p, float *acc, float *o) {
    float qh[ATT_MAX_HEAD_DIM];
    for (int d = 0; d < head_dim; d += 8)
        _mm256_storeu_ps(qh + d, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(q + d), _MM_FROUND_TO_NEAREST_INT)));
#define KPROD(r, d) r = _mm256_fmadd_ps(_mm256_loadu_ps(qh + (d)), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kj + (d)))), r)
    float maxv = -INFINITY;
    for (int j = 0; j < n; j++) {
        const uint16_t *kj = k + (size_t)j * kv_width;
        __m256 lo, hi;
        if (slots == ATT_MAX_SLOTS) { // 8 accumulators: element d into (d % 64) / 8
            __m256 r0 = _mm256_setzero_ps(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0;
            for (int d = 0; d < head_dim; d += 64) {
                KPROD(r0, d); KPROD(r1, d + 8); KPROD(r2, d + 16); KPROD(r3, d + 24);
                KPROD(r4, d + 32); KPROD(r5, d + 40); KPROD(r6, d + 48); KPROD(r7, d + 56);
            }
            lo = _mm256_add_ps(_mm256_add_ps(r0, r4), _mm256_add_ps(r2, r6));
            hi = _mm256_add_ps(_mm256_add_ps(r1, r5), _mm256_add_ps(r3, r7));
        } else { // 2 accumulators: element d into (d % 16) / 8
            lo = _mm256_setzero_ps(), hi = lo;
            for (int d = 0; d < head_dim; d += 16) { KPROD(lo, d); KPROD(hi, d + 8); }
        }
        float sc = reduce16_avx2(lo, hi) * scale;
        p[j] = sc;
        maxv = sc > maxv ? sc : maxv;
    }
#undef KPROD
    const float inv = softmax_exponentials(p, n, maxv);
    for (int j = 0; j < n; j++) // the probabilities, rounded to half precision
        p[j] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(p[j] * inv), _MM_FROUND_TO_NEAREST_INT)));
    // Slot l sums positions l, l + slots, ... in order, from zero. With fewer positions than
    // slots the others are zero: added as zero registers below, never stored.
    const int used = n < slots ? n : slots;
    for (int l = 0; l < used; l++) {
        float *a = acc + (size_t)l * head_dim;
        for (int d = 0; d < head_dim; d += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int j = l; j < n; j += slots) {
                const __m256 pv = _mm256_set1_ps(p[j]);
                const uint16_t *vj = v + (size_t)j * kv_width + d;
                a0 = _mm256_fmadd_ps(pv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)vj)), a0);
                a1 = _mm256_fmadd_ps(pv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vj + 8))), a1);
                a2 = _mm256_fmadd_ps(pv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vj + 16))), a2);
                a3 = _mm256_fmadd_ps(pv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vj + 24))), a3);
            }
            _mm256_storeu_ps(a + d, a0);
            _mm256_storeu_ps(a + d + 8, a1);
            _mm256_storeu_ps(a + d + 16, a2);
            _mm256_storeu_ps(a + d + 24, a3);
        }
    }
    for (int d = 0; d < head_dim; d += 8) {
        __m256 x[ATT_LANES];
#define SLOT(l) ((l) < used ? _mm256_loadu_ps(acc + (size_t)(l) * head_dim + d) : _mm256_setzero_ps())
        for (int l = 0; l < ATT_LANES; l++)
            x[l] = slots == ATT_LANES ? SLOT(l)
                                      : _mm256_add_ps(_mm256_add_ps(SLOT(l), SLOT(32 + l)), _mm256_add_ps(SLOT(16 + l), SLOT(48 + l)));
#undef SLOT
        __m256 t3[8], t6[4];
        for (int i = 0; i < 8; i++) t3[i] = _mm256_add_ps(x[i + 8], x[i]);
        for (int i = 0; i < 4; i++) t6[i] = _mm256_add_ps(t3[i + 4], t3[i]);
        _mm256_storeu_ps(o + d, _mm256_add_ps(_mm256_add_ps(t6[0], t6[2]), _mm256_add_ps(t6[1], t6[3])));
    }
}
#endif

typedef struct {
    const float *q;
    const uint16_t *k, *v;
    float *out, *scratch;
    int tokens, pos0, heads, kv_heads, head_dim, scratch_stride;
} attention_f16_task;

static void attention_f16_worker(void *raw, int job, int ith) {
    const attention_f16_task *t = (const attention_f16_task *)raw;
    const int group = t->heads / t->kv_heads;
    const int kv_width = t->kv_heads * t->head_dim, q_width = t->heads * t->head_dim;
    const int tok = job / t->heads, h = job % t->heads, kvh = h / group;
    const int n = t->pos0 + tok + 1;
    float *p = t->scratch + (size_t)ith * t->scratch_stride;
    float *acc = p + t->pos0 + t->tokens;
    // llama.cpp sums single tokens with ggml_vec_dot_f16, batches with tinyBLAS
    const int slots = t->tokens == 1 ? ATT_MAX_SLOTS : ATT_LANES;
    const float *q = t->q + (size_t)tok * q_width + (size_t)h * t->head_dim;
    const uint16_t *k = t->k + (size_t)kvh * t->head_dim, *v = t->v + (size_t)kvh * t->head_dim;
    float *o = t->out + (size_t)tok * q_width + (size_t)h * t->head_dim;
    const float scale = 1.0f / sqrtf((float)t->head_dim);
#if HARK_X86
    if (have_avx2() && t->head_dim % ATT_MAX_SLOTS == 0) {
        attention_row_f16_avx2(q, k, v, kv_width, t->head_dim, n, slots, scale, p, acc, o);
        return;
    }
#endif
    attention_row_f16_portable(q, k, v, kv_width, t->head_dim, n, slots, scale, p, acc, o);
}

int hark_attention_f16_scratch(int tokens, int pos0, int head_dim) {
    return pos0 + tokens + ATT_MAX_SLOTS * head_dim;
}

void hark_attention_f16(hark_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                        float *out, int tokens, int pos0, int heads, int kv_heads, int head_dim,
                        float *scratch) {
    ensure_init();
    attention_f16_task task = {q, k_cache, v_cache, out, scratch, tokens, pos0, heads, kv_heads, head_dim,
                               hark_attention_f16_scratch(tokens, pos0, head_dim)};
    if (!pool || (long)tokens * (pos0 + tokens) * heads * head_dim < 65536) {
        for (int job = 0; job < tokens * heads; job++) attention_f16_worker(&task, job, 0);
        return;
    }
    hark_pool_run(pool, attention_f16_worker, &task, tokens * heads);
}

// ---------------------------------------------------------------------------------------------
// Quantized products in llama.cpp's accumulation order (`hark_matmul_llama_order`, the oracle
// the fast kernels are tested against).

typedef struct {
    int type;
    const uint8_t *w;
    size_t row_bytes;
    int rows, cols, tokens, ldy, rows_per_chunk;
    const hark_q8_block *xq;
    float *y;
} llama_order_task;

static void llama_order_worker(void *raw, int chunk, int thread_index) {
    (void)thread_index;
    const llama_order_task *t = (const llama_order_task *)raw;
    int first = chunk * t->rows_per_chunk;
    int last = first + t->rows_per_chunk < t->rows ? first + t->rows_per_chunk : t->rows;
    row_storage storage;
    unpacked_row u;
    if (!unpacked_init(&u, &storage, t->cols)) {
        for (int tok = 0; tok < t->tokens; tok++)
            for (int r = first; r < last; r++) t->y[(size_t)tok * t->ldy + r] = NAN;
        return;
    }
    for (int r = first; r < last; r++) {
        unpack_row_portable(t->type, t->w + (size_t)r * t->row_bytes, t->cols, &u);
        for (int tok = 0; tok < t->tokens; tok++)
            t->y[(size_t)tok * t->ldy + r] = dot_unpacked_llama_order(&u, t->xq + (size_t)tok * (t->cols / 32));
    }
    unpacked_free(&u, &storage);
}

void hark_matmul_llama_order(hark_pool *pool, int type, const void *w, size_t row_bytes, int rows, int cols,
                             const hark_q8_block *xq, int tokens, float *y, int ldy) {
    ensure_init();
    int threads = hark_pool_threads(pool);
    int per_chunk = (rows + 8 * threads - 1) / (8 * threads);
    llama_order_task task = {type, (const uint8_t *)w, row_bytes, rows, cols, tokens, ldy, per_chunk, xq, y};
    int chunks = (rows + per_chunk - 1) / per_chunk;
    hark_pool_run(pool, llama_order_worker, &task, chunks);
}
