// Single-precision matrix products for Whisper (see hark_gemm.h).
//
// Why our own: Debian's OpenBLAS 0.3.21 does not recognise newer CPUs (Zen 5) and falls back to
// generic kernels unless the environment sets OPENBLAS_CORETYPE, and its threads spin-wait
// around the one-row products of every decoder step. This is the classic Goto/BLIS scheme:
// B is packed into K x NR column panels (once per product, or once at load for weights:
// hark_sgemm_pack), and a register-blocked microkernel (AVX-512F 8x32, AVX2/FMA 6x16, portable
// 4x16) runs over them, reading MR rows of A in place (packing A cost more than it saved: the
// rows of a KC block stay in L1/L2 either way); products with few rows skip packing and run
// dot-product (A B^T) or broadcast-FMA (A B) kernels directly.
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
enum { COLUMN_TASKS_PER_THREAD = 3 }; // see run_packed

// A is read in place (rows a, a + lda, ...), B from NR-wide packed panels.
typedef void (*micro_kernel)(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
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

static void micro_portable(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                           float alpha, float beta) {
    float acc[4][16] = {{0}};
    for (size_t p = 0; p < kc; p++) {
        for (int i = 0; i < 4; i++) {
            const float av = a[i * lda + p];
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
static void micro_avx2(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                       float alpha, float beta) {
    __m256 acc[6][2];
    const float *rows[6];
    for (int i = 0; i < 6; i++) {
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        rows[i] = a + i * lda;
    }
    for (size_t p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_load_ps(b + p * 16), b1 = _mm256_load_ps(b + p * 16 + 8);
        for (int i = 0; i < 6; i++) {
            const __m256 av = _mm256_broadcast_ss(rows[i] + p);
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
static void micro_avx512(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                         float alpha, float beta) {
    __m512 acc[8][2];
    const float *rows[8];
    for (int i = 0; i < 8; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        rows[i] = a + i * lda;
    }
    for (size_t p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_load_ps(b + p * 32), b1 = _mm512_load_ps(b + p * 32 + 16);
        for (int i = 0; i < 8; i++) {
            const __m512 av = _mm512_set1_ps(rows[i][p]);
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

static const gemm_path *path_for(int id) {
    switch (id) {
#if defined(__x86_64__)
    case HARK_GEMM_AVX512: return &avx512_path;
    case HARK_GEMM_AVX2: return &avx2_path;
#endif
    default: return &portable_path;
    }
}

static const gemm_path *current_path(void) { return path_for(hark_gemm_path()); }

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

// The whole of op(B) packed once: for each block of NC columns (from jc), for each block of KC
// depth (from pc), that block's pack_b panels, at jc * k + pc * (the block's padded width).
// Blocks before the last are NC wide, a multiple of every NR, so the offset needs no padding.
static size_t packed_floats(size_t n, size_t k, size_t nr) {
    return (n + nr - 1) / nr * nr * k;
}

static void pack_all(int trans_b, const float *b, size_t ldb, size_t n, size_t k, size_t nr, float *dst) {
    for (size_t jc = 0; jc < n; jc += NC) {
        const size_t nc = n - jc < NC ? n - jc : NC;
        const size_t padded = (nc + nr - 1) / nr * nr;
        for (size_t pc = 0; pc < k; pc += KC) {
            const size_t kc = k - pc < KC ? k - pc : KC;
            pack_b(trans_b, b, ldb, pc, kc, jc, nc, nr, dst + jc * k + pc * padded);
        }
    }
}

// C[0..m, j_begin..j_end) of C = alpha A op(B) + beta C, op(B) packed by pack_all (j_begin a
// multiple of NR). A is read in place; only a tile with fewer than MR rows copies its rows into
// a zero-padded strip. Each value is summed over the same KC blocks in the same order whatever
// the row and column range, so splitting a product over threads does not change a bit.
static void gemm_blocked(const gemm_path *path, size_t m, size_t n, size_t k, float alpha,
                         const float *a, size_t lda, const float *packed, size_t j_begin, size_t j_end,
                         float beta, float *c, size_t ldc) {
    const size_t mr = path->mr, nr = path->nr;
    _Alignas(64) float edge[MAX_MR * MAX_NR];
    _Alignas(64) float strip[MAX_MR * KC];
    for (size_t jc = 0; jc < n; jc += NC) {
        const size_t nc = n - jc < NC ? n - jc : NC;
        const size_t padded = (nc + nr - 1) / nr * nr;
        const size_t lo = j_begin > jc ? j_begin - jc : 0;
        const size_t hi = j_end < jc + nc ? j_end - jc : nc;
        if (j_end <= jc || lo >= hi) continue;
        for (size_t pc = 0; pc < k; pc += KC) {
            const size_t kc = k - pc < KC ? k - pc : KC;
            const float block_beta = pc == 0 ? beta : 1.0f;
            const float *packed_b = packed + jc * k + pc * padded;
            for (size_t ic = 0; ic < m; ic += MC) {
                const size_t mc = m - ic < MC ? m - ic : MC;
                for (size_t jr = lo; jr < hi; jr += nr) {
                    const size_t width = hi - jr < nr ? hi - jr : nr;
                    for (size_t ir = 0; ir < mc; ir += mr) {
                        const size_t height = mc - ir < mr ? mc - ir : mr;
                        float *tile = c + (ic + ir) * ldc + jc + jr;
                        const float *a_tile = a + (ic + ir) * lda + pc;
                        if (height == mr && width == nr) {
                            path->micro(kc, a_tile, lda, packed_b + jr * kc, tile, ldc, alpha, block_beta);
                            continue;
                        }
                        size_t a_stride = lda;
                        if (height < mr) {
                            for (size_t i = 0; i < mr; i++) {
                                if (i < height) memcpy(strip + i * kc, a_tile + i * lda, kc * sizeof(float));
                                else memset(strip + i * kc, 0, kc * sizeof(float));
                            }
                            a_tile = strip;
                            a_stride = kc;
                        }
                        path->micro(kc, a_tile, a_stride, packed_b + jr * kc, edge, nr, 1.0f, 0.0f);
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

// ---------------------------------------------------------------- threads

// Packing space, kept per thread: the callers and the workers of hark_workers_run are
// long-lived, and allocating fresh megabytes per call would page-fault them in every time.
typedef struct { float *floats; size_t count; } cached_space;
static _Thread_local cached_space packing_space, scores_space, attention_space;

static float *cached(cached_space *space, size_t floats) {
    if (space->count < floats) {
        free(space->floats);
        space->floats = aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64);
        space->count = space->floats ? floats : 0;
    }
    return space->floats;
}

enum { MAX_THREADS = 8 };

// What a product does to C besides alpha A op(B) (hark_sgemm_packed_fused), done by the task that
// computes the values, on its rows and columns, while they are in cache.
typedef struct {
    const float *bias; // C = bias (or C += bias when accumulating) before the product
    int accumulate;    // keep C (beta 1), else beta 0 (or 1 over the bias)
    int gelu;          // GELU after the product
} gemm_epilogue;

typedef struct {
    const gemm_path *path;
    int split_rows;
    size_t m, n, k;
    float alpha, beta;
    const float *a, *packed;
    size_t lda, ldc;
    float *c;
    size_t unit, units, units_per_task;
    const gemm_epilogue *epilogue; // NULL: none
} gemm_job;

// Rows [r0, r1) x columns [c0, c1) of C: the bias before the product.
static void apply_bias(const gemm_epilogue *e, float *c, size_t ldc, size_t r0, size_t r1, size_t c0, size_t c1) {
    for (size_t i = r0; i < r1; i++) {
        float *row = c + i * ldc;
        if (e->accumulate) {
            for (size_t j = c0; j < c1; j++) row[j] += e->bias[j];
        } else {
            memcpy(row + c0, e->bias + c0, (c1 - c0) * sizeof(float));
        }
    }
}

// Task `task`: a run of `units_per_task` whole tiles of the longer side. Tasks are many more than
// threads and claimed dynamically (hark_workers_run), so a worker that starts late (woken from
// sleep, or sharing its core) leaves its tasks to the others instead of holding up the product.
static void run_gemm_share(void *context, size_t task) {
    const gemm_job *job = context;
    const size_t extent = job->split_rows ? job->m : job->n;
    size_t begin = task * job->units_per_task * job->unit, end = (task + 1) * job->units_per_task * job->unit;
    if (end > extent) end = extent;
    if (begin >= end) return;
    const size_t r0 = job->split_rows ? begin : 0, r1 = job->split_rows ? end : job->m;
    const size_t c0 = job->split_rows ? 0 : begin, c1 = job->split_rows ? job->n : end;
    const gemm_epilogue *e = job->epilogue;
    if (e && e->bias) apply_bias(e, job->c, job->ldc, r0, r1, c0, c1);
    if (job->split_rows) {
        gemm_blocked(job->path, end - begin, job->n, job->k, job->alpha, job->a + begin * job->lda, job->lda,
                     job->packed, 0, job->n, job->beta, job->c + begin * job->ldc, job->ldc);
    } else {
        gemm_blocked(job->path, job->m, job->n, job->k, job->alpha, job->a, job->lda, job->packed, begin, end,
                     job->beta, job->c, job->ldc);
    }
    // Per row from a column that is a multiple of 8 (of NR): the same lanes and tail as
    // hark_gelu over each whole row.
    if (e && e->gelu) {
        for (size_t i = r0; i < r1; i++) hark_gelu(job->c + i * job->ldc + c0, c1 - c0);
    }
}

static void zero_depth(size_t m, size_t n, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) c[i * ldc + j] = beta != 0 ? beta * c[i * ldc + j] : 0;
    }
}

static void run_packed(const gemm_path *path, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                       const float *packed, float beta, float *c, size_t ldc, int threads,
                       const gemm_epilogue *epilogue) {
    if (threads < 1 || 2.0 * (double)m * (double)n * (double)k < THREADED_FLOPS) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    const int split_rows = m >= n;
    const size_t unit = split_rows ? path->mr : path->nr;
    const size_t units = ((split_rows ? m : n) + unit - 1) / unit;
    // Rows go in runs of MC (a run of MR rows alone would reread each B panel from L2 for every
    // MR rows). Columns go in runs of panels, about COLUMN_TASKS_PER_THREAD per thread: every
    // task reads all of A for its panels (which for the encoder's 1536-deep products does not
    // stay in L2), so a panel per task costs more A traffic than the finer balance gains.
    size_t per_task = split_rows ? MC / path->mr : units / ((size_t)threads * COLUMN_TASKS_PER_THREAD);
    if (per_task == 0) per_task = 1;
    if (threads == 1) per_task = units;
    const size_t tasks = (units + per_task - 1) / per_task;
    gemm_job job = {path, split_rows, m, n, k, alpha, beta, a, packed, lda, ldc, c, unit, units, per_task, epilogue};
    hark_workers_run((size_t)threads, tasks, run_gemm_share, &job);
}

void hark_sgemm(int trans_b, size_t m, size_t n, size_t k, float alpha,
                const float *a, size_t lda, const float *b, size_t ldb,
                float beta, float *c, size_t ldc, int threads) {
    if (m == 0 || n == 0) return;
    const gemm_path *path = current_path();
    if (k == 0) { zero_depth(m, n, beta, c, ldc); return; }
    float *packed = m < SMALL_M ? NULL : cached(&packing_space, packed_floats(n, k, path->nr));
    if (!packed) {
        gemm_small(path, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    // B is packed once, by the caller, for every thread.
    pack_all(trans_b, b, ldb, n, k, path->nr, packed);
    run_packed(path, m, n, k, alpha, a, lda, packed, beta, c, ldc, threads, NULL);
}

size_t hark_sgemm_packed_count(size_t n, size_t k) {
    return packed_floats(n, k, MAX_NR);
}

int hark_sgemm_pack(int trans_b, size_t n, size_t k, const float *b, size_t ldb, float *packed) {
    const int id = hark_gemm_path();
    pack_all(trans_b, b, ldb, n, k, path_for(id)->nr, packed);
    return id;
}

void hark_sgemm_packed(int path, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                       const float *packed, float beta, float *c, size_t ldc, int threads) {
    if (m == 0 || n == 0) return;
    if (k == 0) { zero_depth(m, n, beta, c, ldc); return; }
    run_packed(path_for(path), m, n, k, alpha, a, lda, packed, beta, c, ldc, threads, NULL);
}

void hark_sgemm_packed_fused(int path, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                             const float *bias, int accumulate, int gelu, float *c, size_t ldc, int threads) {
    if (m == 0 || n == 0) return;
    const gemm_epilogue epilogue = {bias, accumulate, gelu};
    const float beta = accumulate || bias ? 1.0f : 0.0f;
    if (k == 0) {
        if (bias) apply_bias(&epilogue, c, ldc, 0, m, 0, n);
        else if (!accumulate) zero_depth(m, n, 0, c, ldc);
        if (gelu) for (size_t i = 0; i < m; i++) hark_gelu(c + i * ldc, n);
        return;
    }
    run_packed(path_for(path), m, n, k, 1.0f, a, lda, packed, beta, c, ldc, threads, &epilogue);
}

// ---------------------------------------------------------------- attention

// Work is cut into (head, block of query rows) tasks, head by head, so that the threads read
// the same head's keys and values from cache, and a block's scores (QUERY_BLOCK x keys) stay in
// L2 between the two products and the softmax. Each head's keys and values are packed once, by
// a first pass over the heads, for all its blocks. Blocks start at multiples of every MR and a
// short tail joins the block before it (which may then hold up to QUERY_BLOCK + SMALL_M - 1
// rows), so each value comes from the same kernel and tile as in one product over all rows:
// results do not depend on the blocking or the thread count.
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
    float *packs;            // per head: K^T packed, then V packed (NULL: fewer than SMALL_M queries)
    size_t keys_floats, head_floats;
    atomic_int failed;
} attention_job;

static void pack_attention_head(void *context, size_t head) {
    attention_job *job = context;
    float *keys = job->packs + head * job->head_floats;
    const size_t column = head * job->head_dim, nr = job->path->nr;
    pack_all(1, job->k + column, job->k_stride, job->keys, job->head_dim, nr, keys);
    pack_all(0, job->v + column, job->v_stride, job->head_dim, job->keys, nr, keys + job->keys_floats);
}

static void run_attention_block(void *context, size_t task) {
    attention_job *job = context;
    const size_t head = task / job->blocks, block = task % job->blocks, row = block * QUERY_BLOCK;
    const size_t rows = block + 1 == job->blocks ? job->queries - row : QUERY_BLOCK;
    const size_t column = head * job->head_dim;
    float *scores = cached(&scores_space, (QUERY_BLOCK + SMALL_M) * job->keys);
    if (!scores) { atomic_store(&job->failed, 1); return; }
    const float *q = job->q + row * job->q_stride + column;
    float *out = job->out + row * job->out_stride + column;
    if (!job->packs) {
        // So few queries that one product would not pack either.
        gemm_small(job->path, 1, rows, job->keys, job->head_dim, job->scale, q, job->q_stride, job->k + column,
                   job->k_stride, 0, scores, job->keys);
        hark_softmax_rows(scores, rows, job->keys, job->keys, NULL);
        gemm_small(job->path, 0, rows, job->head_dim, job->keys, 1, scores, job->keys, job->v + column,
                   job->v_stride, 0, out, job->out_stride);
        return;
    }
    const float *keys = job->packs + head * job->head_floats;
    gemm_blocked(job->path, rows, job->keys, job->head_dim, job->scale, q, job->q_stride, keys, 0, job->keys,
                 0, scores, job->keys);
    hark_softmax_rows(scores, rows, job->keys, job->keys, NULL);
    gemm_blocked(job->path, rows, job->head_dim, job->keys, 1, scores, job->keys, keys + job->keys_floats, 0,
                 job->head_dim, 0, out, job->out_stride);
}

int hark_unmasked_attention(const float *q, size_t q_stride, const float *k, size_t k_stride,
                            const float *v, size_t v_stride, float *out, size_t out_stride,
                            size_t queries, size_t keys, size_t heads, size_t head_dim, float scale, int threads) {
    if (queries == 0 || heads == 0 || head_dim == 0) return 1;
    if (keys == 0) {
        for (size_t i = 0; i < queries; i++) memset(out + i * out_stride, 0, heads * head_dim * sizeof(float));
        return 1;
    }
    const gemm_path *path = current_path();
    attention_job job = {path, q, k, v, q_stride, k_stride, v_stride, out_stride, out,
                         queries, keys, head_dim, query_blocks(queries), scale, NULL, 0, 0, 0};
    const size_t worker_threads = threads < 1 ? 1 : (size_t)threads;
    if (queries >= SMALL_M) {
        job.keys_floats = packed_floats(keys, head_dim, path->nr);
        job.head_floats = job.keys_floats + packed_floats(head_dim, keys, path->nr);
        job.packs = cached(&attention_space, heads * job.head_floats);
        if (!job.packs) return 0;
        hark_workers_run(worker_threads, heads, pack_attention_head, &job);
    }
    hark_workers_run(worker_threads, heads * job.blocks, run_attention_block, &job);
    return !atomic_load(&job.failed);
}
