// Kernels for Whisper inference (the ASR target). Each has a portable C path; half-float
// conversion also has an F16C path chosen at run time.
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

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c")))
static void f16_to_f32_f16c(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    for (; i < count; i++) dst[i] = hark_half_to_float_portable(src[i]);
}
#endif

void hark_f16_to_f32(const uint16_t *src, float *dst, size_t count) {
#if defined(__x86_64__)
    static int fast = -1;
    if (fast < 0) fast = hark_cpu_has_avx2_fma_f16c();
    if (fast) { f16_to_f32_f16c(src, dst, count); return; }
#endif
    for (size_t i = 0; i < count; i++) dst[i] = hark_half_to_float_portable(src[i]);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void softmax_row_avx2(float *row, size_t n) {
    size_t i = 0;
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, vmax);
    float maximum = -INFINITY;
    for (int k = 0; k < 8; k++) if (lanes[k] > maximum) maximum = lanes[k];
    for (; i < n; i++) if (row[i] > maximum) maximum = row[i];
    const __m256 m = _mm256_set1_ps(maximum);
    __m256 vsum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), m));
        _mm256_storeu_ps(row + i, v);
        vsum = _mm256_add_ps(vsum, v);
    }
    _mm256_storeu_ps(lanes, vsum);
    float sum = 0;
    for (int k = 0; k < 8; k++) sum += lanes[k];
    for (; i < n; i++) { row[i] = expf(row[i] - maximum); sum += row[i]; }
    const float inv = sum > 0 ? 1.0f / sum : 0;
    const __m256 vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), vinv));
    for (; i < n; i++) row[i] *= inv;
}

// exp8 on 16 lanes: the same operations lane by lane, so the same bits.
__attribute__((target("avx512f,avx2,fma")))
static inline __m512 exp16(__m512 x) {
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
    r = _mm512_fnmadd_ps(n, ln2_lo, r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 r2 = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

// softmax_row_avx2 with the exponentials 16 at a time (the encoder's 1500-key rows spend most
// of their softmax there). The exponentials are added to the same 8 running sums in the same
// order as softmax_row_avx2 adds them, so each row gets exactly its bits.
__attribute__((target("avx512f,avx2,fma")))
static void softmax_row_avx512(float *row, size_t n) {
    size_t i = 0;
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (; i + 16 <= n; i += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(row + i));
    float maximum = _mm512_reduce_max_ps(vmax);
    for (; i < n; i++) if (row[i] > maximum) maximum = row[i];
    const __m512 m = _mm512_set1_ps(maximum);
    __m256 vsum = _mm256_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
        __m512 v = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + i), m));
        _mm512_storeu_ps(row + i, v);
        vsum = _mm256_add_ps(vsum, _mm512_castps512_ps256(v));
        vsum = _mm256_add_ps(vsum, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    }
    if (i + 8 <= n) {
        __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), _mm512_castps512_ps256(m)));
        _mm256_storeu_ps(row + i, v);
        vsum = _mm256_add_ps(vsum, v);
        i += 8;
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, vsum);
    float sum = 0;
    for (int k = 0; k < 8; k++) sum += lanes[k];
    for (; i < n; i++) { row[i] = expf(row[i] - maximum); sum += row[i]; }
    const float inv = sum > 0 ? 1.0f / sum : 0;
    const __m512 vinv = _mm512_set1_ps(inv);
    for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(row + i, _mm512_mul_ps(_mm512_loadu_ps(row + i), vinv));
    for (; i < n; i++) row[i] *= inv;
}

// GELU with erf from Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), exp by exp8.
__attribute__((target("avx2,fma")))
static void gelu_avx2(float *x, size_t count) {
    const __m256 p = _mm256_set1_ps(0.3275911f);
    const __m256 a1 = _mm256_set1_ps(0.254829592f), a2 = _mm256_set1_ps(-0.284496736f);
    const __m256 a3 = _mm256_set1_ps(1.421413741f), a4 = _mm256_set1_ps(-1.453152027f);
    const __m256 a5 = _mm256_set1_ps(1.061405429f);
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    const __m256 inv_sqrt2 = _mm256_set1_ps(0.70710678118654752f);
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 z = _mm256_mul_ps(v, inv_sqrt2);
        __m256 az = _mm256_andnot_ps(sign_mask, z);
        __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(p, az, one));
        __m256 poly = _mm256_fmadd_ps(a5, t, a4);
        poly = _mm256_fmadd_ps(poly, t, a3);
        poly = _mm256_fmadd_ps(poly, t, a2);
        poly = _mm256_fmadd_ps(poly, t, a1);
        poly = _mm256_mul_ps(poly, t);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(az, az)));
        __m256 erf_abs = _mm256_fnmadd_ps(poly, e, one);
        __m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(z, sign_mask));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf)));
    }
    const float s = 0.70710678118654752f;
    for (; i < count; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * s));
}
#endif

static int use_avx2(void) {
#if defined(__x86_64__)
    static int fast = -1;
    if (fast < 0) fast = hark_cpu_has_avx2_fma_f16c();
    return fast;
#else
    return 0;
#endif
}

#if defined(__x86_64__)
static int use_avx512(void) {
    static int fast = -1;
    if (fast < 0) fast = hark_cpu_has_avx2_fma_f16c() && hark_cpu_has_avx512f();
    return fast;
}
#endif

void hark_gelu(float *x, size_t count) {
#if defined(__x86_64__)
    if (use_avx2()) { gelu_avx2(x, count); return; }
#endif
    const float inv_sqrt2 = 0.70710678118654752f;
    for (size_t i = 0; i < count; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * inv_sqrt2));
}

void hark_layer_norm(const float *x, float *y, size_t rows, size_t dim,
                     const float *gamma, const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * dim;
        float *out = y + r * dim;
        float sum = 0;
        for (size_t i = 0; i < dim; i++) sum += in[i];
        float mean = sum / (float)dim;
        float var = 0;
        for (size_t i = 0; i < dim; i++) { float d = in[i] - mean; var += d * d; }
        float inv = 1.0f / sqrtf(var / (float)dim + eps);
        for (size_t i = 0; i < dim; i++) out[i] = (in[i] - mean) * inv * gamma[i] + beta[i];
    }
}

typedef struct {
    const float *x, *gamma, *beta;
    float *y;
    size_t rows, dim;
    float eps;
} layer_norm_job;

enum { LAYER_NORM_ROWS = 16 }; // rows per task: ~25 us of work for Whisper's 384 wide rows

static void layer_norm_task(void *context, size_t task) {
    const layer_norm_job *job = context;
    const size_t first = task * LAYER_NORM_ROWS;
    const size_t rows = job->rows - first < LAYER_NORM_ROWS ? job->rows - first : LAYER_NORM_ROWS;
    hark_layer_norm(job->x + first * job->dim, job->y + first * job->dim, rows, job->dim, job->gamma, job->beta, job->eps);
}

void hark_layer_norm_threads(const float *x, float *y, size_t rows, size_t dim,
                             const float *gamma, const float *beta, float eps, int threads) {
    const size_t tasks = (rows + LAYER_NORM_ROWS - 1) / LAYER_NORM_ROWS;
    if (threads <= 1 || tasks <= 1) { hark_layer_norm(x, y, rows, dim, gamma, beta, eps); return; }
    layer_norm_job job = {x, gamma, beta, y, rows, dim, eps};
    hark_workers_run((size_t)threads, tasks, layer_norm_task, &job);
}

typedef struct {
    const float *x;
    size_t channel_stride, position_stride, channels, positions, step, rows;
    float *out;
} conv3_job;

enum { CONV3_ROWS = 32 }; // output rows per task

static void conv3_task(void *context, size_t task) {
    const conv3_job *job = context;
    const size_t first = task * CONV3_ROWS;
    const size_t last = job->rows - first < CONV3_ROWS ? job->rows : first + CONV3_ROWS;
    for (size_t t = first; t < last; t++) {
        float *row = job->out + t * job->channels * 3;
        const size_t center = t * job->step; // position of tap 1; taps 0 and 2 are either side
        const float *x = job->x + center * job->position_stride;
        const int has_left = center > 0, has_right = center + 1 < job->positions;
        for (size_t c = 0; c < job->channels; c++) {
            const float *at = x + c * job->channel_stride;
            row[c * 3] = has_left ? at[-(ptrdiff_t)job->position_stride] : 0;
            row[c * 3 + 1] = at[0];
            row[c * 3 + 2] = has_right ? at[job->position_stride] : 0;
        }
    }
}

void hark_conv3_columns(const float *x, size_t channel_stride, size_t position_stride, size_t channels,
                        size_t positions, size_t step, size_t rows, float *out, int threads) {
    conv3_job job = {x, channel_stride, position_stride, channels, positions, step, rows, out};
    const size_t tasks = (rows + CONV3_ROWS - 1) / CONV3_ROWS;
    hark_workers_run((size_t)(threads > 1 ? threads : 1), tasks, conv3_task, &job);
}

typedef struct {
    const float *kv;
    size_t frames, width, heads;
    float *kt, *v;
} cross_layout_job;

enum { TRANSPOSE_COLUMNS = 16 }; // key columns per task: one cache line of each row read

static void cross_layout_task(void *context, size_t task) {
    const cross_layout_job *job = context;
    const size_t key_tasks = (job->width + TRANSPOSE_COLUMNS - 1) / TRANSPOSE_COLUMNS;
    const size_t stride = 2 * job->width;
    if (task < key_tasks) {
        const size_t first = task * TRANSPOSE_COLUMNS;
        const size_t last = job->width - first < TRANSPOSE_COLUMNS ? job->width : first + TRANSPOSE_COLUMNS;
        for (size_t f = 0; f < job->frames; f++) {
            const float *row = job->kv + f * stride;
            for (size_t c = first; c < last; c++) job->kt[c * job->frames + f] = row[c];
        }
        return;
    }
    const size_t head = task - key_tasks, head_dim = job->width / job->heads;
    for (size_t f = 0; f < job->frames; f++) {
        memcpy(job->v + (head * job->frames + f) * head_dim, job->kv + f * stride + job->width + head * head_dim,
               head_dim * sizeof(float));
    }
}

void hark_cross_kv_layout(const float *kv, size_t frames, size_t width, size_t heads, float *kt, float *v, int threads) {
    cross_layout_job job = {kv, frames, width, heads, kt, v};
    const size_t tasks = (width + TRANSPOSE_COLUMNS - 1) / TRANSPOSE_COLUMNS + heads;
    hark_workers_run((size_t)(threads > 1 ? threads : 1), tasks, cross_layout_task, &job);
}

void hark_softmax_rows(float *x, size_t rows, size_t cols, size_t stride, const int32_t *valid) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * stride;
        size_t n = valid ? (size_t)valid[r] : cols;
        if (n > cols) n = cols;
#if defined(__x86_64__)
        if (use_avx512()) {
            softmax_row_avx512(row, n);
            for (size_t i = n; i < cols; i++) row[i] = 0;
            continue;
        }
        if (use_avx2()) {
            softmax_row_avx2(row, n);
            for (size_t i = n; i < cols; i++) row[i] = 0;
            continue;
        }
#endif
        float maximum = -INFINITY;
        for (size_t i = 0; i < n; i++) if (row[i] > maximum) maximum = row[i];
        float sum = 0;
        for (size_t i = 0; i < n; i++) { row[i] = expf(row[i] - maximum); sum += row[i]; }
        float inv = sum > 0 ? 1.0f / sum : 0;
        for (size_t i = 0; i < n; i++) row[i] *= inv;
        for (size_t i = n; i < cols; i++) row[i] = 0;
    }
}
