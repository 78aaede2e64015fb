// Matrix-vector kernel for the Silero VAD port (Sources/VAD). The model is tiny (about
// 0.7 M multiply-adds per 32 ms frame), so one well-vectorised matvec is all it needs.
#include "hark_vad.h"
#include "hark_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

void hark_vad_matvec_portable(const float *w, const float *x, const float *bias, float *y,
                              size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        // Eight independent partial sums let the compiler vectorise without -ffast-math.
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            for (int k = 0; k < 8; k++) acc[k] += row[c + k] * x[c + k];
        }
        float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (; c < cols; c++) sum += row[c] * x[c];
        y[r] = (bias ? bias[r] : 0.0f) + sum;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 shuf = _mm_movehdup_ps(lo);
    __m128 sums = _mm_add_ps(lo, shuf);
    shuf = _mm_movehl_ps(shuf, sums);
    sums = _mm_add_ss(sums, shuf);
    return _mm_cvtss_f32(sums);
}

__attribute__((target("avx2,fma")))
static void matvec_avx2(const float *w, const float *x, const float *bias, float *y,
                        size_t rows, size_t cols) {
    size_t r = 0;
    // Two rows at a time share the loads of x.
    for (; r + 2 <= rows; r += 2) {
        const float *r0 = w + r * cols;
        const float *r1 = r0 + cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 16 <= cols; c += 16) {
            __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + c), x0, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + c + 8), x1, a1);
            b0 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + c), x0, b0);
            b1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + c + 8), x1, b1);
        }
        for (; c + 8 <= cols; c += 8) {
            __m256 x0 = _mm256_loadu_ps(x + c);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + c), x0, a0);
            b0 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + c), x0, b0);
        }
        float s0 = hsum256(_mm256_add_ps(a0, a1));
        float s1 = hsum256(_mm256_add_ps(b0, b1));
        for (; c < cols; c++) { s0 += r0[c] * x[c]; s1 += r1[c] * x[c]; }
        y[r] = (bias ? bias[r] : 0.0f) + s0;
        y[r + 1] = (bias ? bias[r + 1] : 0.0f) + s1;
    }
    if (r < rows) hark_vad_matvec_portable(w + r * cols, x, bias ? bias + r : NULL, y + r, rows - r, cols);
}
#endif

#if defined(__x86_64__)
/// Four input vectors per pass over a weight row.
__attribute__((target("avx2,fma")))
static void matmul4_avx2(const float *w, const float *x, size_t x_stride, const float *bias,
                         float *y, size_t y_stride, size_t rows, size_t cols) {
    const float *x0 = x, *x1 = x + x_stride, *x2 = x + 2 * x_stride, *x3 = x + 3 * x_stride;
    for (size_t r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 wv = _mm256_loadu_ps(row + c);
            a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x0 + c), a0);
            a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x1 + c), a1);
            a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x2 + c), a2);
            a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x3 + c), a3);
        }
        float s0 = hsum256(a0), s1 = hsum256(a1), s2 = hsum256(a2), s3 = hsum256(a3);
        for (; c < cols; c++) {
            s0 += row[c] * x0[c]; s1 += row[c] * x1[c]; s2 += row[c] * x2[c]; s3 += row[c] * x3[c];
        }
        float b = bias ? bias[r] : 0.0f;
        y[r] = b + s0;
        y[y_stride + r] = b + s1;
        y[2 * y_stride + r] = b + s2;
        y[3 * y_stride + r] = b + s3;
    }
}
#endif

static int use_fast_path(void) {
#if defined(__x86_64__)
    static int fast = -1;  // every thread computes the same value; relaxed atomics keep it race-free
    int known = __atomic_load_n(&fast, __ATOMIC_RELAXED);
    if (known < 0) {
        known = hark_cpu_has_avx2_fma_f16c();
        __atomic_store_n(&fast, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
}

void hark_vad_matmul_portable(const float *w, const float *x, size_t x_stride, const float *bias,
                              float *y, size_t y_stride, size_t rows, size_t cols, size_t n) {
    for (size_t t = 0; t < n; t++) hark_vad_matvec_portable(w, x + t * x_stride, bias, y + t * y_stride, rows, cols);
}

void hark_vad_matmul(const float *w, const float *x, size_t x_stride, const float *bias,
                     float *y, size_t y_stride, size_t rows, size_t cols, size_t n) {
    size_t t = 0;
#if defined(__x86_64__)
    if (use_fast_path()) {
        for (; t + 4 <= n; t += 4) matmul4_avx2(w, x + t * x_stride, x_stride, bias, y + t * y_stride, y_stride, rows, cols);
    }
#endif
    for (; t < n; t++) hark_vad_matvec(w, x + t * x_stride, bias, y + t * y_stride, rows, cols);
}

void hark_vad_matvec(const float *w, const float *x, const float *bias, float *y,
                     size_t rows, size_t cols) {
#if defined(__x86_64__)
    if (use_fast_path()) { matvec_avx2(w, x, bias, y, rows, cols); return; }
#endif
    hark_vad_matvec_portable(w, x, bias, y, rows, cols);
}
