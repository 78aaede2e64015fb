// Single-precision matrix products for Whisper (see hark_gemm.h).
//
// Why our own: Debian's OpenBLAS 0.3.21 does not recognise newer CPUs (Zen 5) and falls back to
// generic kernels unless the environment sets OPENBLAS_CORETYPE, and its threads spin-wait
// around the one-row products of every decoder step. This is the classic Goto/BLIS scheme:
// B is packed into K x NR column panels, A into MR x K row panels, and a register-blocked
// microkernel (AVX-512F 8x32, AVX2/FMA 6x16, portable 4x16) runs over them; products with few
// rows skip packing and run dot-product (A B^T) or broadcast-FMA (A B) kernels directly.
#include "hark_gemm.h"
#include "hark_cpu.h"

#include "hark_asr.h"
#include "hark_workers.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum {
    KC = 256,          // depth of one packed block (A panel rows stay in L1 with a B panel)
    MC = 144,          // rows of A packed at once (a multiple of every MR: 4, 6, 8)
    NC = 2048,         // columns of B packed at once
    MAX_MR = 8,
    MAX_NR = 32,
    SMALL_M = 16,      // fewer rows than this: no packing (decoder steps)
};
static const double THREADED_FLOPS = 4e6; // below this, one thread (spawning costs ~tens of us)

typedef void (*micro_kernel)(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                             float alpha, float beta);
typedef void (*dot4_kernel)(const float *a, const float *b, size_t ldb, size_t k, float *out);
typedef void (*row_nn_kernel)(const float *a, size_t k, const float *b, size_t ldb, size_t n, float *out);

typedef struct {
    size_t mr, nr;
    micro_kernel micro;
    dot4_kernel dot4;     // out[j] = dot(a, b + j*ldb) for j < 4
    row_nn_kernel row_nn; // out[0..n) = sum_p a[p] * b[p*ldb + 0..n)
} gemm_path;

// ---------------------------------------------------------------- portable C

static void micro_portable(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                           float alpha, float beta) {
    float acc[4][16] = {{0}};
    for (size_t p = 0; p < kc; p++) {
        for (int i = 0; i < 4; i++) {
            const float av = a[p * 4 + i];
            for (int j = 0; j < 16; j++) acc[i][j] += av * b[p * 16 + j];
        }
    }
    for (int i = 0; i < 4; i++) {
        float *row = c + i * ldc;
        for (int j = 0; j < 16; j++) row[j] = alpha * acc[i][j] + (beta != 0 ? beta * row[j] : 0);
    }
}

static void dot4_portable(const float *a, const float *b, size_t ldb, size_t k, float *out) {
    for (int j = 0; j < 4; j++) {
        const float *bj = b + j * ldb;
        float s = 0;
        for (size_t p = 0; p < k; p++) s += a[p] * bj[p];
        out[j] = s;
    }
}

static void row_nn_portable(const float *a, size_t k, const float *b, size_t ldb, size_t n, float *out) {
    for (size_t j = 0; j < n; j++) out[j] = 0;
    for (size_t p = 0; p < k; p++) {
        const float av = a[p];
        const float *bp = b + p * ldb;
        for (size_t j = 0; j < n; j++) out[j] += av * bp[j];
    }
}

static const gemm_path portable_path = {4, 16, micro_portable, dot4_portable, row_nn_portable};

#if defined(__x86_64__)
// ---------------------------------------------------------------- AVX2 + FMA

__attribute__((target("avx2,fma")))
static void micro_avx2(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                       float alpha, float beta) {
    __m256 acc[6][2];
    for (int i = 0; i < 6; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (size_t p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_load_ps(b + p * 16), b1 = _mm256_load_ps(b + p * 16 + 8);
        for (int i = 0; i < 6; i++) {
            const __m256 av = _mm256_broadcast_ss(a + p * 6 + i);
            acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < 6; i++) {
        float *row = c + i * ldc;
        __m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
        if (beta != 0) {
            r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), r0);
            r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), r1);
        }
        _mm256_storeu_ps(row, r0);
        _mm256_storeu_ps(row + 8, r1);
    }
}

__attribute__((target("avx2,fma")))
static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static void dot4_avx2(const float *a, const float *b, size_t ldb, size_t k, float *out) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + 8 <= k; p += 8) {
        const __m256 av = _mm256_loadu_ps(a + p);
        s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + p), s0);
        s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + ldb + p), s1);
        s2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + 2 * ldb + p), s2);
        s3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + 3 * ldb + p), s3);
    }
    out[0] = hsum256(s0); out[1] = hsum256(s1); out[2] = hsum256(s2); out[3] = hsum256(s3);
    for (; p < k; p++) {
        for (int j = 0; j < 4; j++) out[j] += a[p] * b[j * ldb + p];
    }
}

__attribute__((target("avx2,fma")))
static void row_nn_avx2(const float *a, size_t k, const float *b, size_t ldb, size_t n, float *out) {
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
        for (size_t p = 0; p < k; p++) {
            const __m256 av = _mm256_broadcast_ss(a + p);
            const float *bp = b + p * ldb + j;
            s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp), s0);
            s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 8), s1);
            s2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 16), s2);
            s3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 24), s3);
        }
        _mm256_storeu_ps(out + j, s0); _mm256_storeu_ps(out + j + 8, s1);
        _mm256_storeu_ps(out + j + 16, s2); _mm256_storeu_ps(out + j + 24, s3);
    }
    for (; j + 8 <= n; j += 8) {
        __m256 s = _mm256_setzero_ps();
        for (size_t p = 0; p < k; p++) s = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p), _mm256_loadu_ps(b + p * ldb + j), s);
        _mm256_storeu_ps(out + j, s);
    }
    if (j < n) row_nn_portable(a, k, b + j, ldb, n - j, out + j);
}

static const gemm_path avx2_path = {6, 16, micro_avx2, dot4_avx2, row_nn_avx2};

// ---------------------------------------------------------------- AVX-512F

__attribute__((target("avx512f")))
static void micro_avx512(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                         float alpha, float beta) {
    __m512 acc[8][2];
    for (int i = 0; i < 8; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (size_t p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_load_ps(b + p * 32), b1 = _mm512_load_ps(b + p * 32 + 16);
        for (int i = 0; i < 8; i++) {
            const __m512 av = _mm512_set1_ps(a[p * 8 + i]);
            acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < 8; i++) {
        float *row = c + i * ldc;
        __m512 r0 = _mm512_mul_ps(va, acc[i][0]), r1 = _mm512_mul_ps(va, acc[i][1]);
        if (beta != 0) {
            r0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row), r0);
            r1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16), r1);
        }
        _mm512_storeu_ps(row, r0);
        _mm512_storeu_ps(row + 16, r1);
    }
}

__attribute__((target("avx512f")))
static void dot4_avx512(const float *a, const float *b, size_t ldb, size_t k, float *out) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t p = 0;
    for (; p + 16 <= k; p += 16) {
        const __m512 av = _mm512_loadu_ps(a + p);
        s0 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + p), s0);
        s1 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + ldb + p), s1);
        s2 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + 2 * ldb + p), s2);
        s3 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + 3 * ldb + p), s3);
    }
    if (p < k) {
        const __mmask16 mask = (__mmask16)((1u << (k - p)) - 1);
        const __m512 av = _mm512_maskz_loadu_ps(mask, a + p);
        s0 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mask, b + p), s0);
        s1 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mask, b + ldb + p), s1);
        s2 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mask, b + 2 * ldb + p), s2);
        s3 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mask, b + 3 * ldb + p), s3);
    }
    out[0] = _mm512_reduce_add_ps(s0); out[1] = _mm512_reduce_add_ps(s1);
    out[2] = _mm512_reduce_add_ps(s2); out[3] = _mm512_reduce_add_ps(s3);
}

__attribute__((target("avx512f")))
static void row_nn_avx512(const float *a, size_t k, const float *b, size_t ldb, size_t n, float *out) {
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
        for (size_t p = 0; p < k; p++) {
            const __m512 av = _mm512_set1_ps(a[p]);
            const float *bp = b + p * ldb + j;
            s0 = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp), s0);
            s1 = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp + 16), s1);
            s2 = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp + 32), s2);
            s3 = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp + 48), s3);
        }
        _mm512_storeu_ps(out + j, s0); _mm512_storeu_ps(out + j + 16, s1);
        _mm512_storeu_ps(out + j + 32, s2); _mm512_storeu_ps(out + j + 48, s3);
    }
    for (; j < n; j += 16) {
        const size_t left = n - j;
        const __mmask16 mask = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        __m512 s = _mm512_setzero_ps();
        for (size_t p = 0; p < k; p++) s = _mm512_fmadd_ps(_mm512_set1_ps(a[p]), _mm512_maskz_loadu_ps(mask, b + p * ldb + j), s);
        _mm512_mask_storeu_ps(out + j, mask, s);
    }
}

static const gemm_path avx512_path = {8, 32, micro_avx512, dot4_avx512, row_nn_avx512};
#endif

// ---------------------------------------------------------------- dispatch

static int forced_path = -1;

int hark_gemm_path_available(int path) {
    switch (path) {
    case HARK_GEMM_PORTABLE: return 1;
#if defined(__x86_64__)
    case HARK_GEMM_AVX2: return hark_cpu_has_avx2_fma_f16c();
    case HARK_GEMM_AVX512: return hark_cpu_has_avx512f();
#endif
    default: return 0;
    }
}

int hark_gemm_path(void) {
    if (forced_path >= 0) return forced_path;
    static int best = -1;
    if (best < 0) {
        best = hark_gemm_path_available(HARK_GEMM_AVX512) ? HARK_GEMM_AVX512
             : hark_gemm_path_available(HARK_GEMM_AVX2) ? HARK_GEMM_AVX2 : HARK_GEMM_PORTABLE;
    }
    return best;
}

void hark_gemm_force_path(int path) {
    forced_path = (path >= 0 && hark_gemm_path_available(path)) ? path : -1;
}

static const gemm_path *current_path(void) {
    switch (hark_gemm_path()) {
#if defined(__x86_64__)
    case HARK_GEMM_AVX512: return &avx512_path;
    case HARK_GEMM_AVX2: return &avx2_path;
#endif
    default: return &portable_path;
    }
}

// ---------------------------------------------------------------- packed product

// Packs op(B)[pc.., jc..] (kc x nc) into NR-wide panels: dst[(panel * kc + p) * nr + j], zero padded.
static void pack_b(int trans_b, const float *b, size_t ldb, size_t pc, size_t kc, size_t jc, size_t nc,
                   size_t nr, float *dst) {
    for (size_t j0 = 0; j0 < nc; j0 += nr) {
        float *panel = dst + j0 * kc;
        const size_t width = nc - j0 < nr ? nc - j0 : nr;
        if (trans_b) {
            for (size_t j = 0; j < width; j++) {
                const float *src = b + (jc + j0 + j) * ldb + pc;
                for (size_t p = 0; p < kc; p++) panel[p * nr + j] = src[p];
            }
        } else {
            for (size_t p = 0; p < kc; p++) {
                memcpy(panel + p * nr, b + (pc + p) * ldb + jc + j0, width * sizeof(float));
            }
        }
        for (size_t j = width; j < nr; j++) {
            for (size_t p = 0; p < kc; p++) panel[p * nr + j] = 0;
        }
    }
}

// Packs A[ic.., pc..] (mc x kc) into MR-tall panels: dst[(panel * kc + p) * mr + i], zero padded.
static void pack_a(const float *a, size_t lda, size_t ic, size_t mc, size_t pc, size_t kc, size_t mr, float *dst) {
    for (size_t i0 = 0; i0 < mc; i0 += mr) {
        float *panel = dst + i0 * kc;
        const size_t height = mc - i0 < mr ? mc - i0 : mr;
        for (size_t i = 0; i < height; i++) {
            const float *src = a + (ic + i0 + i) * lda + pc;
            for (size_t p = 0; p < kc; p++) panel[p * mr + i] = src[p];
        }
        for (size_t i = height; i < mr; i++) {
            for (size_t p = 0; p < kc; p++) panel[p * mr + i] = 0;
        }
    }
}

static size_t workspace_floats(void) {
    return (size_t)KC * (NC + MAX_NR) + (size_t)(MC + MAX_MR) * KC + 64;
}

static void gemm_packed(const gemm_path *path, int trans_b, size_t m, size_t n, size_t k, float alpha,
                        const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc,
                        float *work) {
    const size_t mr = path->mr, nr = path->nr;
    float *packed_b = work;
    float *packed_a = work + (size_t)KC * (NC + MAX_NR);
    _Alignas(64) float edge[MAX_MR * MAX_NR];
    for (size_t jc = 0; jc < n; jc += NC) {
        const size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            const size_t kc = k - pc < KC ? k - pc : KC;
            const float block_beta = pc == 0 ? beta : 1.0f;
            pack_b(trans_b, b, ldb, pc, kc, jc, nc, nr, packed_b);
            for (size_t ic = 0; ic < m; ic += MC) {
                const size_t mc = m - ic < MC ? m - ic : MC;
                pack_a(a, lda, ic, mc, pc, kc, mr, packed_a);
                for (size_t jr = 0; jr < nc; jr += nr) {
                    const size_t width = nc - jr < nr ? nc - jr : nr;
                    for (size_t ir = 0; ir < mc; ir += mr) {
                        const size_t height = mc - ir < mr ? mc - ir : mr;
                        float *tile = c + (ic + ir) * ldc + jc + jr;
                        if (height == mr && width == nr) {
                            path->micro(kc, packed_a + ir * kc, packed_b + jr * kc, tile, ldc, alpha, block_beta);
                        } else {
                            path->micro(kc, packed_a + ir * kc, packed_b + jr * kc, edge, nr, 1.0f, 0.0f);
                            for (size_t i = 0; i < height; i++) {
                                for (size_t j = 0; j < width; j++) {
                                    float *out = tile + i * ldc + j;
                                    *out = alpha * edge[i * nr + j] + (block_beta != 0 ? block_beta * *out : 0);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- few rows

static void gemm_small(const gemm_path *path, int trans_b, size_t m, size_t n, size_t k, float alpha,
                       const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    float sums[64];
    if (trans_b) {
        // Each group of 4 rows of B is read once (then from L1) for every row of A.
        size_t j = 0;
        for (; j + 4 <= n; j += 4) {
            for (size_t i = 0; i < m; i++) {
                path->dot4(a + i * lda, b + j * ldb, ldb, k, sums);
                float *out = c + i * ldc + j;
                for (int q = 0; q < 4; q++) out[q] = alpha * sums[q] + (beta != 0 ? beta * out[q] : 0);
            }
        }
        for (; j < n; j++) {
            for (size_t i = 0; i < m; i++) {
                float s = 0;
                for (size_t p = 0; p < k; p++) s += a[i * lda + p] * b[j * ldb + p];
                float *out = c + i * ldc + j;
                *out = alpha * s + (beta != 0 ? beta * *out : 0);
            }
        }
    } else {
        for (size_t i = 0; i < m; i++) {
            for (size_t j0 = 0; j0 < n; j0 += 64) {
                const size_t width = n - j0 < 64 ? n - j0 : 64;
                path->row_nn(a + i * lda, k, b + j0, ldb, width, sums);
                float *out = c + i * ldc + j0;
                for (size_t q = 0; q < width; q++) out[q] = alpha * sums[q] + (beta != 0 ? beta * out[q] : 0);
            }
        }
    }
}

// One thread, packing into `work` (workspace_floats() floats), or unpacked for few rows.
static void sgemm_serial(const gemm_path *path, int trans_b, size_t m, size_t n, size_t k, float alpha,
                         const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                         size_t ldc, float *work) {
    if (m < SMALL_M || !work) gemm_small(path, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else gemm_packed(path, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
}

// ---------------------------------------------------------------- threads

// Packing space, kept per thread: the callers and the workers of hark_workers_run are
// long-lived, and allocating a fresh megabyte per call would page-fault it in every time.
static _Thread_local float *cached_work;
static _Thread_local size_t cached_work_floats;

static float *workspace(size_t floats) {
    if (cached_work_floats < floats) {
        free(cached_work);
        cached_work = aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64);
        cached_work_floats = cached_work ? floats : 0;
    }
    return cached_work;
}

enum { MAX_THREADS = 8 };

typedef struct {
    const gemm_path *path;
    int trans_b, split_rows;
    size_t m, n, k;
    float alpha, beta;
    const float *a, *b;
    size_t lda, ldb, ldc;
    float *c;
    size_t unit, units, shares;
} gemm_job;

// Share `task` of the longer side, in whole tiles, so that each task packs only what it multiplies.
static void run_gemm_share(void *context, size_t task) {
    const gemm_job *job = context;
    const size_t extent = job->split_rows ? job->m : job->n;
    size_t begin = job->units * task / job->shares * job->unit, end = job->units * (task + 1) / job->shares * job->unit;
    if (end > extent) end = extent;
    if (begin >= end) return;
    float *work = workspace(workspace_floats());
    if (job->split_rows) {
        sgemm_serial(job->path, job->trans_b, end - begin, job->n, job->k, job->alpha, job->a + begin * job->lda,
                     job->lda, job->b, job->ldb, job->beta, job->c + begin * job->ldc, job->ldc, work);
    } else {
        const float *b = job->trans_b ? job->b + begin * job->ldb : job->b + begin;
        sgemm_serial(job->path, job->trans_b, job->m, end - begin, job->k, job->alpha, job->a, job->lda,
                     b, job->ldb, job->beta, job->c + begin, job->ldc, work);
    }
}

void hark_sgemm(int trans_b, size_t m, size_t n, size_t k, float alpha,
                const float *a, size_t lda, const float *b, size_t ldb,
                float beta, float *c, size_t ldc, int threads) {
    if (m == 0 || n == 0) return;
    const gemm_path *path = current_path();
    if (k == 0) {
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = beta != 0 ? beta * c[i * ldc + j] : 0;
        }
        return;
    }
    if (m < SMALL_M) {
        gemm_small(path, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    if (threads < 1 || 2.0 * (double)m * (double)n * (double)k < THREADED_FLOPS) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    const int split_rows = m >= n;
    const size_t unit = split_rows ? path->mr : path->nr;
    const size_t units = ((split_rows ? m : n) + unit - 1) / unit;
    if ((size_t)threads > units) threads = (int)units;
    gemm_job job = {path, trans_b, split_rows, m, n, k, alpha, beta, a, b, lda, ldb, ldc, c, unit, units, (size_t)threads};
    hark_workers_run((size_t)threads, (size_t)threads, run_gemm_share, &job);
}

// ---------------------------------------------------------------- attention

// Work is cut into (head, block of query rows) tasks, head by head, so that the threads read
// the same head's keys and values from cache, and a block's scores (QUERY_BLOCK x keys) stay in
// L2 between the two products and the softmax. Blocks start at multiples of every MR and a short
// tail joins the block before it (which may then hold up to QUERY_BLOCK + SMALL_M - 1 rows), so
// each value comes from the same kernel and tile as in one product over all rows: results do not
// depend on the blocking or the thread count.
enum { QUERY_BLOCK = 96 };

static size_t query_blocks(size_t queries) {
    const size_t full = queries / QUERY_BLOCK, tail = queries % QUERY_BLOCK;
    return full == 0 || tail >= SMALL_M ? full + (tail > 0) : full;
}

typedef struct {
    const gemm_path *path;
    const float *q, *k, *v;
    size_t q_stride, k_stride, v_stride, out_stride;
    float *out;
    size_t queries, keys, head_dim, blocks;
    float scale;
    atomic_int failed;
} attention_job;

static void run_attention_block(void *context, size_t task) {
    attention_job *job = context;
    const size_t head = task / job->blocks, block = task % job->blocks, row = block * QUERY_BLOCK;
    const size_t rows = block + 1 == job->blocks ? job->queries - row : QUERY_BLOCK;
    const size_t column = head * job->head_dim;
    float *work = workspace(workspace_floats() + (QUERY_BLOCK + SMALL_M) * job->keys);
    if (!work) { atomic_store(&job->failed, 1); return; }
    float *scores = work + workspace_floats();
    sgemm_serial(job->path, 1, rows, job->keys, job->head_dim, job->scale, job->q + row * job->q_stride + column,
                 job->q_stride, job->k + column, job->k_stride, 0, scores, job->keys, work);
    hark_softmax_rows(scores, rows, job->keys, job->keys, NULL);
    sgemm_serial(job->path, 0, rows, job->head_dim, job->keys, 1, scores, job->keys, job->v + column, job->v_stride,
                 0, job->out + row * job->out_stride + column, job->out_stride, work);
}

int hark_unmasked_attention(const float *q, size_t q_stride, const float *k, size_t k_stride,
                            const float *v, size_t v_stride, float *out, size_t out_stride,
                            size_t queries, size_t keys, size_t heads, size_t head_dim, float scale, int threads) {
    if (queries == 0 || heads == 0 || head_dim == 0) return 1;
    if (keys == 0) {
        for (size_t i = 0; i < queries; i++) memset(out + i * out_stride, 0, heads * head_dim * sizeof(float));
        return 1;
    }
    attention_job job = {current_path(), q, k, v, q_stride, k_stride, v_stride, out_stride, out,
                         queries, keys, head_dim, query_blocks(queries), scale, 0};
    hark_workers_run(threads < 1 ? 1 : (size_t)threads, heads * job.blocks, run_attention_block, &job);
    return !atomic_load(&job.failed);
}
