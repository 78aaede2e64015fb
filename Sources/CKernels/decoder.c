// Whisper decoder-step kernels: see hark_decoder.h. Every SIMD path has a portable twin
// (GemmKernelTests-style tests compare them).
#include "hark_decoder.h"
#include "hark_asr.h"
#include "hark_cpu.h"
#include "hark_workers.h"
#include "half.h"
#include "exp8.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define NB HARK_DEC_PANEL
#define MR_MAX 8

static int forced_path = -1;

int hark_dec_path_available(int path) {
    switch (path) {
    case HARK_DEC_PORTABLE: return 1;
    case HARK_DEC_AVX2: return hark_cpu_has_avx2_fma_f16c();
    case HARK_DEC_AVX512: return hark_cpu_has_avx2_fma_f16c() && hark_cpu_has_avx512f();
    default: return 0;
    }
}

int hark_dec_path(void) {
    if (forced_path >= 0) return forced_path;
    static int best = -1;
    if (best < 0) {
        best = hark_dec_path_available(HARK_DEC_AVX512) ? HARK_DEC_AVX512
             : hark_dec_path_available(HARK_DEC_AVX2) ? HARK_DEC_AVX2 : HARK_DEC_PORTABLE;
    }
    return best;
}

void hark_dec_force_path(int path) {
    forced_path = (path >= 0 && hark_dec_path_available(path)) ? path : -1;
}

// ---------------------------------------------------------------------------------------------
// Packing

size_t hark_dec_packed_count(size_t n, size_t k) {
    return (n + NB - 1) / NB * NB * k;
}

void hark_dec_pack(const uint16_t *w, size_t n, size_t k, uint16_t *packed) {
    size_t panels = (n + NB - 1) / NB;
    for (size_t p = 0; p < panels; p++) {
        uint16_t *dst = packed + p * NB * k;
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < NB; j++) {
                size_t row = p * NB + j;
                dst[i * NB + j] = row < n ? w[row * k + i] : 0;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Linear: acc[r][0..31] = sum_i x[r][i] * panel[i][0..31] for mr <= MR_MAX rows.

static void panel_portable(const uint16_t *p, size_t k, const float *x, size_t ldx, size_t mr, float *acc) {
    float wf[32 * NB];
    memset(acc, 0, mr * NB * sizeof(float));
    for (size_t i0 = 0; i0 < k; i0 += 32) {
        size_t kc = k - i0 < 32 ? k - i0 : 32;
        for (size_t t = 0; t < kc * NB; t++) wf[t] = hark_half_to_float_portable(p[i0 * NB + t]);
        for (size_t r = 0; r < mr; r++) {
            float *a = acc + r * NB;
            const float *xr = x + r * ldx + i0;
            for (size_t i = 0; i < kc; i++) {
                const float xv = xr[i];
                const float *wr = wf + i * NB;
                for (size_t j = 0; j < NB; j++) a[j] += xv * wr[j];
            }
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"), always_inline))
static inline void panel512(const uint16_t *p, size_t k, const float *x, size_t ldx, const size_t mr, float *acc) {
    __m512 a0[MR_MAX], a1[MR_MAX], b0[MR_MAX], b1[MR_MAX];
    for (size_t r = 0; r < mr; r++) a0[r] = a1[r] = b0[r] = b1[r] = _mm512_setzero_ps();
    size_t i = 0;
    if (mr <= 2) {
        // Few rows: two sets of accumulators (even and odd inputs) hide the FMA latency.
        for (; i + 2 <= k; i += 2) {
            __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i * NB)));
            __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i * NB + 16)));
            __m512 w2 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i * NB + NB)));
            __m512 w3 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i * NB + NB + 16)));
            for (size_t r = 0; r < mr; r++) {
                __m512 xa = _mm512_set1_ps(x[r * ldx + i]);
                __m512 xb = _mm512_set1_ps(x[r * ldx + i + 1]);
                a0[r] = _mm512_fmadd_ps(w0, xa, a0[r]);
                a1[r] = _mm512_fmadd_ps(w1, xa, a1[r]);
                b0[r] = _mm512_fmadd_ps(w2, xb, b0[r]);
                b1[r] = _mm512_fmadd_ps(w3, xb, b1[r]);
            }
        }
    }
    for (; i < k; i++) {
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i * NB)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + i * NB + 16)));
        for (size_t r = 0; r < mr; r++) {
            __m512 xa = _mm512_set1_ps(x[r * ldx + i]);
            a0[r] = _mm512_fmadd_ps(w0, xa, a0[r]);
            a1[r] = _mm512_fmadd_ps(w1, xa, a1[r]);
        }
    }
    for (size_t r = 0; r < mr; r++) {
        _mm512_storeu_ps(acc + r * NB, _mm512_add_ps(a0[r], b0[r]));
        _mm512_storeu_ps(acc + r * NB + 16, _mm512_add_ps(a1[r], b1[r]));
    }
}

__attribute__((target("avx512f")))
static void panel_avx512(const uint16_t *p, size_t k, const float *x, size_t ldx, size_t mr, float *acc) {
    switch (mr) {
    case 1: panel512(p, k, x, ldx, 1, acc); break;
    case 2: panel512(p, k, x, ldx, 2, acc); break;
    case 3: panel512(p, k, x, ldx, 3, acc); break;
    case 4: panel512(p, k, x, ldx, 4, acc); break;
    case 5: panel512(p, k, x, ldx, 5, acc); break;
    case 6: panel512(p, k, x, ldx, 6, acc); break;
    case 7: panel512(p, k, x, ldx, 7, acc); break;
    default: panel512(p, k, x, ldx, 8, acc); break;
    }
}

// AVX2: half a panel (16 outputs, two ymm) for up to 4 rows at a time.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void half_panel256(const uint16_t *p, size_t k, const float *x, size_t ldx, const size_t mr, float *acc) {
    __m256 a0[4], a1[4];
    for (size_t r = 0; r < mr; r++) a0[r] = a1[r] = _mm256_setzero_ps();
    for (size_t i = 0; i < k; i++) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + i * NB)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + i * NB + 8)));
        for (size_t r = 0; r < mr; r++) {
            __m256 xa = _mm256_broadcast_ss(x + r * ldx + i);
            a0[r] = _mm256_fmadd_ps(w0, xa, a0[r]);
            a1[r] = _mm256_fmadd_ps(w1, xa, a1[r]);
        }
    }
    for (size_t r = 0; r < mr; r++) {
        _mm256_storeu_ps(acc + r * NB, a0[r]);
        _mm256_storeu_ps(acc + r * NB + 8, a1[r]);
    }
}

__attribute__((target("avx2,fma,f16c")))
static void panel_avx2(const uint16_t *p, size_t k, const float *x, size_t ldx, size_t mr, float *acc) {
    for (size_t r0 = 0; r0 < mr; r0 += 4) {
        size_t n = mr - r0 < 4 ? mr - r0 : 4;
        for (size_t h = 0; h < NB; h += 16) {
            const float *xr = x + r0 * ldx;
            float *ar = acc + r0 * NB + h;
            switch (n) {
            case 1: half_panel256(p + h, k, xr, ldx, 1, ar); break;
            case 2: half_panel256(p + h, k, xr, ldx, 2, ar); break;
            case 3: half_panel256(p + h, k, xr, ldx, 3, ar); break;
            default: half_panel256(p + h, k, xr, ldx, 4, ar); break;
            }
        }
    }
}
#endif

typedef void (*panel_kernel)(const uint16_t *, size_t, const float *, size_t, size_t, float *);

static panel_kernel current_panel(void) {
#if defined(__x86_64__)
    switch (hark_dec_path()) {
    case HARK_DEC_AVX512: return panel_avx512;
    case HARK_DEC_AVX2: return panel_avx2;
    default: break;
    }
#endif
    return panel_portable;
}

typedef struct {
    panel_kernel kernel;
    const uint16_t *packed;
    size_t n, k, m, ldx, ldy, panels, tasks;
    const float *bias, *x;
    float *y;
    int accumulate, gelu;
} linear_job;

static void linear_task(void *context, size_t task) {
    const linear_job *job = context;
    size_t p0 = job->panels * task / job->tasks, p1 = job->panels * (task + 1) / job->tasks;
    float acc[MR_MAX * NB];
    for (size_t p = p0; p < p1; p++) {
        size_t c0 = p * NB;
        size_t cols = job->n - c0 < NB ? job->n - c0 : NB;
        for (size_t r0 = 0; r0 < job->m; r0 += MR_MAX) {
            size_t mr = job->m - r0 < MR_MAX ? job->m - r0 : MR_MAX;
            job->kernel(job->packed + p * NB * job->k, job->k, job->x + r0 * job->ldx, job->ldx, mr, acc);
            for (size_t r = 0; r < mr; r++) {
                float *y = job->y + (r0 + r) * job->ldy + c0;
                const float *a = acc + r * NB;
                if (job->accumulate) {
                    if (job->bias) for (size_t j = 0; j < cols; j++) y[j] += a[j] + job->bias[c0 + j];
                    else for (size_t j = 0; j < cols; j++) y[j] += a[j];
                } else {
                    if (job->bias) for (size_t j = 0; j < cols; j++) y[j] = a[j] + job->bias[c0 + j];
                    else for (size_t j = 0; j < cols; j++) y[j] = a[j];
                }
            }
        }
    }
    if (job->gelu && p1 > p0) {
        size_t c0 = p0 * NB, c1 = p1 * NB < job->n ? p1 * NB : job->n;
        for (size_t r = 0; r < job->m; r++) hark_gelu(job->y + r * job->ldy + c0, c1 - c0);
    }
}

void hark_dec_linear(const uint16_t *packed, size_t n, size_t k, const float *bias,
                     const float *x, size_t ldx, size_t m, float *y, size_t ldy,
                     int accumulate, int gelu, int threads) {
    if (m == 0 || n == 0) return;
    linear_job job = {
        .kernel = current_panel(), .packed = packed, .n = n, .k = k, .m = m, .ldx = ldx, .ldy = ldy,
        .panels = (n + NB - 1) / NB, .bias = bias, .x = x, .y = y, .accumulate = accumulate, .gelu = gelu,
    };
    size_t t = threads > 1 ? (size_t)threads * 3 : 1; // a few tasks per thread balance the load
    job.tasks = t < job.panels ? t : job.panels;
    hark_workers_run((size_t)(threads > 1 ? threads : 1), job.tasks, linear_task, &job);
}

// ---------------------------------------------------------------------------------------------
// Output projection: rows of a half matrix against a few float vectors.

static void logits_portable(const uint16_t *w, size_t rows, size_t d, const float *x, size_t m, float *out, size_t ldo) {
    float wf[1024];
    for (size_t v = 0; v < rows; v++) {
        const uint16_t *row = w + v * d;
        for (size_t r = 0; r < m; r++) {
            float sum = 0;
            for (size_t c0 = 0; c0 < d; c0 += 1024) {
                size_t cn = d - c0 < 1024 ? d - c0 : 1024;
                if (r == 0 || d > 1024) for (size_t c = 0; c < cn; c++) wf[c] = hark_half_to_float_portable(row[c0 + c]);
                const float *xr = x + r * d + c0;
                for (size_t c = 0; c < cn; c++) sum += wf[c] * xr[c];
            }
            out[r * ldo + v] = sum;
        }
    }
}

#if defined(__x86_64__)
// 4 matrix rows x up to 4 vectors: 16 independent accumulators.
__attribute__((target("avx512f"), always_inline))
static inline void logits4_512(const uint16_t *w, size_t d, const float *x, const size_t mr, float *out, size_t ldo) {
    __m512 acc[4][4];
    for (size_t i = 0; i < 4; i++) for (size_t r = 0; r < mr; r++) acc[i][r] = _mm512_setzero_ps();
    size_t c = 0;
    for (; c + 16 <= d; c += 16) {
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + c)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + d + c)));
        __m512 w2 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 2 * d + c)));
        __m512 w3 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 3 * d + c)));
        for (size_t r = 0; r < mr; r++) {
            __m512 xv = _mm512_loadu_ps(x + r * d + c);
            acc[0][r] = _mm512_fmadd_ps(w0, xv, acc[0][r]);
            acc[1][r] = _mm512_fmadd_ps(w1, xv, acc[1][r]);
            acc[2][r] = _mm512_fmadd_ps(w2, xv, acc[2][r]);
            acc[3][r] = _mm512_fmadd_ps(w3, xv, acc[3][r]);
        }
    }
    for (size_t i = 0; i < 4; i++) {
        for (size_t r = 0; r < mr; r++) {
            float sum = _mm512_reduce_add_ps(acc[i][r]);
            for (size_t t = c; t < d; t++) sum += hark_half_to_float_portable(w[i * d + t]) * x[r * d + t];
            out[r * ldo + i] = sum;
        }
    }
}

// 2 matrix rows x 5..8 vectors (beam search): each weight is widened once for every hypothesis.
// The sums are formed exactly as in logits4_512, so a row gets the same bits on either kernel.
__attribute__((target("avx512f"), always_inline))
static inline void logits2_512(const uint16_t *w, size_t d, const float *x, const size_t mr, float *out, size_t ldo) {
    __m512 acc[2][8];
    for (size_t i = 0; i < 2; i++) for (size_t r = 0; r < mr; r++) acc[i][r] = _mm512_setzero_ps();
    size_t c = 0;
    for (; c + 16 <= d; c += 16) {
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + c)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + d + c)));
        for (size_t r = 0; r < mr; r++) {
            __m512 xv = _mm512_loadu_ps(x + r * d + c);
            acc[0][r] = _mm512_fmadd_ps(w0, xv, acc[0][r]);
            acc[1][r] = _mm512_fmadd_ps(w1, xv, acc[1][r]);
        }
    }
    for (size_t i = 0; i < 2; i++) {
        for (size_t r = 0; r < mr; r++) {
            float sum = _mm512_reduce_add_ps(acc[i][r]);
            for (size_t t = c; t < d; t++) sum += hark_half_to_float_portable(w[i * d + t]) * x[r * d + t];
            out[r * ldo + i] = sum;
        }
    }
}

__attribute__((target("avx512f")))
static void logits_avx512(const uint16_t *w, size_t rows, size_t d, const float *x, size_t m, float *out, size_t ldo) {
    size_t v = 0;
    if (m >= 5 && m <= 8) {
        for (; v + 2 <= rows; v += 2) {
            switch (m) {
            case 5: logits2_512(w + v * d, d, x, 5, out + v, ldo); break;
            case 6: logits2_512(w + v * d, d, x, 6, out + v, ldo); break;
            case 7: logits2_512(w + v * d, d, x, 7, out + v, ldo); break;
            default: logits2_512(w + v * d, d, x, 8, out + v, ldo); break;
            }
        }
    }
    for (; v + 4 <= rows; v += 4) {
        for (size_t r0 = 0; r0 < m; r0 += 4) {
            const float *xr = x + r0 * d;
            float *o = out + r0 * ldo + v;
            switch (m - r0 < 4 ? m - r0 : 4) {
            case 1: logits4_512(w + v * d, d, xr, 1, o, ldo); break;
            case 2: logits4_512(w + v * d, d, xr, 2, o, ldo); break;
            case 3: logits4_512(w + v * d, d, xr, 3, o, ldo); break;
            default: logits4_512(w + v * d, d, xr, 4, o, ldo); break;
            }
        }
    }
    if (v < rows) logits_portable(w + v * d, rows - v, d, x, m, out + v, ldo);
}

__attribute__((target("avx2,fma,f16c")))
static void logits_avx2(const uint16_t *w, size_t rows, size_t d, const float *x, size_t m, float *out, size_t ldo) {
    size_t v = 0;
    for (; v + 4 <= rows; v += 4) {
        for (size_t r = 0; r < m; r++) {
            __m256 acc[4];
            for (size_t i = 0; i < 4; i++) acc[i] = _mm256_setzero_ps();
            const float *xr = x + r * d;
            size_t c = 0;
            for (; c + 8 <= d; c += 8) {
                __m256 xv = _mm256_loadu_ps(xr + c);
                for (size_t i = 0; i < 4; i++) {
                    __m256 wv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + (v + i) * d + c)));
                    acc[i] = _mm256_fmadd_ps(wv, xv, acc[i]);
                }
            }
            for (size_t i = 0; i < 4; i++) {
                __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[i]), _mm256_extractf128_ps(acc[i], 1));
                s = _mm_hadd_ps(s, s);
                s = _mm_hadd_ps(s, s);
                float sum = _mm_cvtss_f32(s);
                for (size_t t = c; t < d; t++) sum += hark_half_to_float_portable(w[(v + i) * d + t]) * xr[t];
                out[r * ldo + v + i] = sum;
            }
        }
    }
    if (v < rows) logits_portable(w + v * d, rows - v, d, x, m, out + v, ldo);
}
#endif

typedef void (*logits_kernel)(const uint16_t *, size_t, size_t, const float *, size_t, float *, size_t);

typedef struct {
    logits_kernel kernel;
    const uint16_t *w;
    const float *x;
    float *out;
    size_t vocab, d, m, ldo, tasks;
} logits_job;

static void logits_task(void *context, size_t task) {
    const logits_job *job = context;
    // Task boundaries on multiples of 4 rows, so the split does not change which kernel a row gets.
    size_t groups = (job->vocab + 3) / 4;
    size_t v0 = groups * task / job->tasks * 4, v1 = groups * (task + 1) / job->tasks * 4;
    if (v1 > job->vocab) v1 = job->vocab;
    if (v1 > v0) job->kernel(job->w + v0 * job->d, v1 - v0, job->d, job->x, job->m, job->out + v0, job->ldo);
}

void hark_dec_logits(const uint16_t *w, size_t vocab, size_t d, const float *x, size_t m,
                     float *out, size_t ldo, int threads) {
    if (vocab == 0 || m == 0) return;
    logits_job job = { .kernel = logits_portable, .w = w, .x = x, .out = out, .vocab = vocab, .d = d, .m = m, .ldo = ldo };
#if defined(__x86_64__)
    if (hark_dec_path() == HARK_DEC_AVX512) job.kernel = logits_avx512;
    else if (hark_dec_path() == HARK_DEC_AVX2) job.kernel = logits_avx2;
#endif
    size_t groups = (vocab + 3) / 4;
    size_t t = threads > 1 ? (size_t)threads * 8 : 1;
    job.tasks = t < groups ? t : groups;
    hark_workers_run((size_t)(threads > 1 ? threads : 1), job.tasks, logits_task, &job);
}

// ---------------------------------------------------------------------------------------------
// Attention for one group and head.

// s[r][f] = scale * sum_j q[r][j] kt[j][f] for f < keys.
static void scores_portable(const float *q, size_t ldq, size_t rows, const float *kt, size_t ldkt,
                            size_t keys, size_t hd, float scale, float *s) {
    for (size_t r = 0; r < rows; r++) {
        float *sr = s + r * keys;
        for (size_t f = 0; f < keys; f++) sr[f] = 0;
        for (size_t j = 0; j < hd; j++) {
            const float qv = q[r * ldq + j];
            const float *kr = kt + j * ldkt;
            for (size_t f = 0; f < keys; f++) sr[f] += qv * kr[f];
        }
        for (size_t f = 0; f < keys; f++) sr[f] *= scale;
    }
}

// out[r][j] = sum_f s[r][f] v[f][j] over f < used.
static void weighted_portable(const float *s, size_t keys, size_t rows, size_t used, const float *v, size_t hd,
                              float *out, size_t ldo) {
    for (size_t r = 0; r < rows; r++) {
        float *o = out + r * ldo;
        for (size_t j = 0; j < hd; j++) o[j] = 0;
        for (size_t f = 0; f < used; f++) {
            const float p = s[r * keys + f];
            const float *vr = v + f * hd;
            for (size_t j = 0; j < hd; j++) o[j] += p * vr[j];
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"), always_inline))
static inline void scores512(const float *q, size_t ldq, const size_t mr, const float *kt, size_t ldkt,
                             size_t keys, size_t hd, float scale, float *s) {
    const __m512 vs = _mm512_set1_ps(scale);
    for (size_t f = 0; f < keys; f += 32) {
        size_t left = keys - f;
        __mmask16 m0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        __mmask16 m1 = left >= 32 ? 0xffff : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
        __m512 a0[MR_MAX], a1[MR_MAX];
        for (size_t r = 0; r < mr; r++) a0[r] = a1[r] = _mm512_setzero_ps();
        for (size_t j = 0; j < hd; j++) {
            __m512 k0 = _mm512_maskz_loadu_ps(m0, kt + j * ldkt + f);
            __m512 k1 = _mm512_maskz_loadu_ps(m1, kt + j * ldkt + f + 16);
            for (size_t r = 0; r < mr; r++) {
                __m512 qv = _mm512_set1_ps(q[r * ldq + j]);
                a0[r] = _mm512_fmadd_ps(qv, k0, a0[r]);
                a1[r] = _mm512_fmadd_ps(qv, k1, a1[r]);
            }
        }
        for (size_t r = 0; r < mr; r++) {
            _mm512_mask_storeu_ps(s + r * keys + f, m0, _mm512_mul_ps(a0[r], vs));
            _mm512_mask_storeu_ps(s + r * keys + f + 16, m1, _mm512_mul_ps(a1[r], vs));
        }
    }
}

__attribute__((target("avx512f")))
static void scores_avx512(const float *q, size_t ldq, size_t rows, const float *kt, size_t ldkt,
                          size_t keys, size_t hd, float scale, float *s) {
    for (size_t r0 = 0; r0 < rows; r0 += MR_MAX) {
        const float *qr = q + r0 * ldq;
        float *sr = s + r0 * keys;
        switch (rows - r0 < MR_MAX ? rows - r0 : MR_MAX) {
        case 1: scores512(qr, ldq, 1, kt, ldkt, keys, hd, scale, sr); break;
        case 2: scores512(qr, ldq, 2, kt, ldkt, keys, hd, scale, sr); break;
        case 3: scores512(qr, ldq, 3, kt, ldkt, keys, hd, scale, sr); break;
        case 4: scores512(qr, ldq, 4, kt, ldkt, keys, hd, scale, sr); break;
        case 5: scores512(qr, ldq, 5, kt, ldkt, keys, hd, scale, sr); break;
        case 6: scores512(qr, ldq, 6, kt, ldkt, keys, hd, scale, sr); break;
        case 7: scores512(qr, ldq, 7, kt, ldkt, keys, hd, scale, sr); break;
        default: scores512(qr, ldq, 8, kt, ldkt, keys, hd, scale, sr); break;
        }
    }
}

// Head dimension 64 (every Whisper size): 4 vectors per row, up to 4 rows.
__attribute__((target("avx512f"), always_inline))
static inline void weighted512(const float *s, size_t keys, const size_t mr, size_t used, const float *v,
                               float *out, size_t ldo) {
    __m512 acc[4][4];
    for (size_t r = 0; r < mr; r++) for (size_t c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    for (size_t f = 0; f < used; f++) {
        const float *vr = v + f * 64;
        __m512 v0 = _mm512_loadu_ps(vr), v1 = _mm512_loadu_ps(vr + 16);
        __m512 v2 = _mm512_loadu_ps(vr + 32), v3 = _mm512_loadu_ps(vr + 48);
        for (size_t r = 0; r < mr; r++) {
            __m512 p = _mm512_set1_ps(s[r * keys + f]);
            acc[r][0] = _mm512_fmadd_ps(p, v0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(p, v1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(p, v2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(p, v3, acc[r][3]);
        }
    }
    for (size_t r = 0; r < mr; r++) for (size_t c = 0; c < 4; c++) _mm512_storeu_ps(out + r * ldo + 16 * c, acc[r][c]);
}

__attribute__((target("avx512f")))
static void weighted_avx512(const float *s, size_t keys, size_t rows, size_t used, const float *v, size_t hd,
                            float *out, size_t ldo) {
    if (hd != 64) { weighted_portable(s, keys, rows, used, v, hd, out, ldo); return; }
    for (size_t r0 = 0; r0 < rows; r0 += 4) {
        const float *sr = s + r0 * keys;
        float *o = out + r0 * ldo;
        switch (rows - r0 < 4 ? rows - r0 : 4) {
        case 1: weighted512(sr, keys, 1, used, v, o, ldo); break;
        case 2: weighted512(sr, keys, 2, used, v, o, ldo); break;
        case 3: weighted512(sr, keys, 3, used, v, o, ldo); break;
        default: weighted512(sr, keys, 4, used, v, o, ldo); break;
        }
    }
}

__attribute__((target("avx2,fma")))
static void scores_avx2(const float *q, size_t ldq, size_t rows, const float *kt, size_t ldkt,
                        size_t keys, size_t hd, float scale, float *s) {
    size_t f = 0;
    const __m256 vs = _mm256_set1_ps(scale);
    for (; f + 16 <= keys; f += 16) {
        for (size_t r = 0; r < rows; r++) {
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            for (size_t j = 0; j < hd; j++) {
                __m256 qv = _mm256_broadcast_ss(q + r * ldq + j);
                a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kt + j * ldkt + f), a0);
                a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kt + j * ldkt + f + 8), a1);
            }
            _mm256_storeu_ps(s + r * keys + f, _mm256_mul_ps(a0, vs));
            _mm256_storeu_ps(s + r * keys + f + 8, _mm256_mul_ps(a1, vs));
        }
    }
    for (; f < keys; f++) {
        for (size_t r = 0; r < rows; r++) {
            float sum = 0;
            for (size_t j = 0; j < hd; j++) sum += q[r * ldq + j] * kt[j * ldkt + f];
            s[r * keys + f] = sum * scale;
        }
    }
}

__attribute__((target("avx2,fma")))
static void weighted_avx2(const float *s, size_t keys, size_t rows, size_t used, const float *v, size_t hd,
                          float *out, size_t ldo) {
    if (hd % 16 != 0) { weighted_portable(s, keys, rows, used, v, hd, out, ldo); return; }
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < hd; c += 16) {
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            for (size_t f = 0; f < used; f++) {
                __m256 p = _mm256_broadcast_ss(s + r * keys + f);
                a0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + f * hd + c), a0);
                a1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + f * hd + c + 8), a1);
            }
            _mm256_storeu_ps(out + r * ldo + c, a0);
            _mm256_storeu_ps(out + r * ldo + c + 8, a1);
        }
    }
}
#endif

typedef struct {
    const hark_dec_attention_job *job;
    int path;
} attention_context;

static void attention_task(void *context, size_t task) {
    const attention_context *ctx = context;
    const hark_dec_attention_job *job = ctx->job;
    size_t g = task / job->heads, h = task % job->heads;
    const float *q = job->q + g * job->q_group + h * job->head_dim;
    const float *kt = job->kt + g * job->kt_group + h * job->kt_head;
    const float *v = job->v + g * job->v_group + h * job->v_head;
    float *s = job->scores + (g * job->heads + h) * job->rows * job->keys;
    float *out = job->out + g * job->out_group + h * job->head_dim;
    size_t used = job->keys;
    if (job->valid) {
        used = 0;
        for (size_t r = 0; r < job->rows; r++) {
            size_t n = job->valid[r] < 0 ? 0 : (size_t)job->valid[r];
            if (n > used) used = n;
        }
        if (used > job->keys) used = job->keys;
    }
    switch (ctx->path) {
#if defined(__x86_64__)
    case HARK_DEC_AVX512:
        scores_avx512(q, job->ldq, job->rows, kt, job->ldkt, used, job->head_dim, job->scale, s);
        break;
    case HARK_DEC_AVX2:
        scores_avx2(q, job->ldq, job->rows, kt, job->ldkt, used, job->head_dim, job->scale, s);
        break;
#endif
    default:
        scores_portable(q, job->ldq, job->rows, kt, job->ldkt, used, job->head_dim, job->scale, s);
    }
    // Scores were written with row stride `used`: spread them to stride `keys` (last row first).
    if (used < job->keys) {
        for (size_t r = job->rows; r-- > 0;) {
            memmove(s + r * job->keys, s + r * used, used * sizeof(float));
            for (size_t f = used; f < job->keys; f++) s[r * job->keys + f] = 0;
        }
    }
    hark_softmax_rows(s, job->rows, job->keys, job->keys, job->valid);
    switch (ctx->path) {
#if defined(__x86_64__)
    case HARK_DEC_AVX512: weighted_avx512(s, job->keys, job->rows, used, v, job->head_dim, out, job->ldo); break;
    case HARK_DEC_AVX2: weighted_avx2(s, job->keys, job->rows, used, v, job->head_dim, out, job->ldo); break;
#endif
    default: weighted_portable(s, job->keys, job->rows, used, v, job->head_dim, out, job->ldo);
    }
}

void hark_dec_attention(const hark_dec_attention_job *job, int threads) {
    if (job->groups == 0 || job->heads == 0 || job->rows == 0 || job->keys == 0) return;
    attention_context ctx = { .job = job, .path = hark_dec_path() };
    hark_workers_run((size_t)(threads > 1 ? threads : 1), job->groups * job->heads, attention_task, &ctx);
}

// ---------------------------------------------------------------------------------------------

float hark_log_softmax(const float *x, float *logp, size_t n) {
    float maximum = -INFINITY;
    for (size_t i = 0; i < n; i++) if (x[i] > maximum) maximum = x[i];
    if (!isfinite(maximum)) {
        for (size_t i = 0; i < n; i++) logp[i] = -INFINITY;
        return -INFINITY;
    }
    float sum = 0;
    for (size_t i = 0; i < n; i++) sum += expf(x[i] - maximum);
    const float log_sum = maximum + logf(sum);
    for (size_t i = 0; i < n; i++) logp[i] = x[i] - log_sum;
    return log_sum;
}

// Keeps top[0..count) the indices of the k best entries of x seen so far (largest first, the
// lower index first among equals) after offering entry i, which beats the current k-th.
static void top_k_insert(const float *x, size_t i, size_t k, int32_t *top, size_t *count) {
    const float v = x[i];
    size_t position = *count < k ? (*count)++ : k - 1;
    while (position > 0 && x[top[position - 1]] < v) {
        top[position] = top[position - 1];
        position--;
    }
    top[position] = (int32_t)i;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static float logsumexp_top_k_avx2(const float *x, size_t n, size_t k, int32_t *top, size_t *count) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        vmax = _mm256_max_ps(vmax, v);
        if (k == 0) continue;
        const float threshold = *count < k ? -INFINITY : x[top[k - 1]];
        unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(threshold), _CMP_GT_OQ));
        while (mask) {
            const unsigned lane = (unsigned)__builtin_ctz(mask);
            mask &= mask - 1;
            if (*count < k || x[i + lane] > x[top[*count - 1]]) top_k_insert(x, i + lane, k, top, count);
        }
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, vmax);
    float maximum = -INFINITY;
    for (int l = 0; l < 8; l++) if (lanes[l] > maximum) maximum = lanes[l];
    for (; i < n; i++) {
        const float value = x[i];
        if (value > maximum) maximum = value;
        if (k > 0 && value > -INFINITY && (*count < k || value > x[top[*count - 1]])) top_k_insert(x, i, k, top, count);
    }
    if (!isfinite(maximum)) return -INFINITY;
    const __m256 m = _mm256_set1_ps(maximum);
    __m256d sum0 = _mm256_setzero_pd(), sum1 = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
        sum0 = _mm256_add_pd(sum0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        sum1 = _mm256_add_pd(sum1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double partial[4];
    _mm256_storeu_pd(partial, _mm256_add_pd(sum0, sum1));
    double sum = (partial[0] + partial[1]) + (partial[2] + partial[3]);
    for (; i < n; i++) sum += (double)expf(x[i] - maximum);
    return maximum + logf((float)sum);
}

__attribute__((target("avx2,fma")))
static float max_avx2(const float *x, size_t n) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, vmax);
    float maximum = -INFINITY;
    for (int l = 0; l < 8; l++) if (lanes[l] > maximum) maximum = lanes[l];
    for (; i < n; i++) if (x[i] > maximum) maximum = x[i];
    return maximum;
}
#endif

float hark_max(const float *x, size_t n) {
#if defined(__x86_64__)
    if (hark_dec_path() != HARK_DEC_PORTABLE) return max_avx2(x, n);
#endif
    float maximum = -INFINITY;
    for (size_t i = 0; i < n; i++) if (x[i] > maximum) maximum = x[i];
    return maximum;
}

float hark_logsumexp_top_k(const float *x, size_t n, size_t k, int32_t *top, size_t *found) {
    size_t count = 0;
    float result;
    if (!top) k = 0;
#if defined(__x86_64__)
    if (hark_dec_path() != HARK_DEC_PORTABLE) {
        result = logsumexp_top_k_avx2(x, n, k, top, &count);
    } else
#endif
    {
        float maximum = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            const float value = x[i];
            if (value > maximum) maximum = value;
            if (k > 0 && value > -INFINITY && (count < k || value > x[top[count - 1]])) top_k_insert(x, i, k, top, &count);
        }
        if (isfinite(maximum)) {
            double sum = 0;
            for (size_t i = 0; i < n; i++) sum += (double)expf(x[i] - maximum);
            result = maximum + logf((float)sum);
        } else {
            result = -INFINITY;
        }
    }
    if (found) *found = count;
    return result;
}
