#include "hark_audio.h"
#include "hark_cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline void position(long n, long up, long down, long phase_count, long *i0, long *row) {
    long t = n * down;
    long base = t / up;
    long rem = t - base * up;
    if (phase_count == up) {
        *i0 = base;
        *row = rem;
        return;
    }
    long p = (rem * phase_count + up / 2) / up;
    if (p == phase_count) {
        p = 0;
        base += 1;
    }
    *i0 = base;
    *row = p;
}

/// Portable path: eight independent partial sums so the compiler can vectorise without
/// reassociating (NEON on ARM64, SSE on baseline x86-64).
static void resample_portable(const float *src, long start, const float *table, long width, long leading,
                              long up, long down, long phase_count, long first, long count, float *out) {
    for (long j = 0; j < count; j++) {
        long i0, row;
        position(first + j, up, down, phase_count, &i0, &row);
        const float *x = src + (i0 - (leading - 1) - start);
        const float *h = table + row * width;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (long k = 0; k < width; k += 8) {
            for (int l = 0; l < 8; l++) acc[l] += x[k + l] * h[k + l];
        }
        out[j] = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void resample_avx2(const float *src, long start, const float *table, long width, long leading,
                          long up, long down, long phase_count, long first, long count, float *out) {
    // Walk t = n * down incrementally (base, rem) instead of dividing per output.
    long t0 = first * down;
    long base = t0 / up, rem = t0 - (t0 / up) * up;
    const long step = down / up, step_rem = down % up;
    const int exact = phase_count == up;
    for (long j = 0; j < count; j++) {
        long i0 = base, row = rem;
        if (!exact) {
            row = (rem * phase_count + up / 2) / up;
            if (row == phase_count) { row = 0; i0 += 1; }
        }
        const float *x = src + (i0 - (leading - 1) - start);
        const float *h = table + row * width;
        // Four accumulators hide the FMA latency.
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
        long k = 0;
        for (; k + 32 <= width; k += 32) {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(h + k), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(h + k + 8), acc1);
            acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 16), _mm256_loadu_ps(h + k + 16), acc2);
            acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 24), _mm256_loadu_ps(h + k + 24), acc3);
        }
        for (; k < width; k += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(h + k), acc0);
        __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
        __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
        sum4 = _mm_add_ss(sum4, _mm_shuffle_ps(sum4, sum4, 1));
        out[j] = _mm_cvtss_f32(sum4);
        base += step;
        rem += step_rem;
        if (rem >= up) { rem -= up; base += 1; }
    }
}
#endif

void hark_resample_polyphase(const float *src, long start, const float *table, long width, long leading,
                             long up, long down, long phase_count, long first, long count, float *out) {
#if defined(__x86_64__)
    static int fast = -1;
    if (fast < 0) fast = hark_cpu_has_avx2_fma_f16c();
    if (fast) {
        resample_avx2(src, start, table, width, leading, up, down, phase_count, first, count, out);
        return;
    }
#endif
    resample_portable(src, start, table, width, leading, up, down, phase_count, first, count, out);
}
