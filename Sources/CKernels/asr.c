// Kernels for Whisper inference (the ASR target). Each has a portable C path; half-float
// conversion also has an F16C path chosen at run time.
#include "hark_asr.h"
#include "hark_cpu.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static float half_to_float_portable(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400) == 0) { mantissa <<= 1; exponent--; }
            mantissa &= 0x3ff;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000 | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c")))
static void f16_to_f32_f16c(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    for (; i < count; i++) dst[i] = half_to_float_portable(src[i]);
}
#endif

void hark_f16_to_f32(const uint16_t *src, float *dst, size_t count) {
#if defined(__x86_64__)
    static int fast = -1;
    if (fast < 0) fast = hark_cpu_has_avx2_fma_f16c();
    if (fast) { f16_to_f32_f16c(src, dst, count); return; }
#endif
    for (size_t i = 0; i < count; i++) dst[i] = half_to_float_portable(src[i]);
}

void hark_gelu(float *x, size_t count) {
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

void hark_add_bias(float *x, size_t rows, size_t dim, const float *bias) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * dim;
        for (size_t i = 0; i < dim; i++) row[i] += bias[i];
    }
}

void hark_softmax_rows(float *x, size_t rows, size_t cols, size_t stride, const int32_t *valid) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * stride;
        size_t n = valid ? (size_t)valid[r] : cols;
        if (n > cols) n = cols;
        float maximum = -INFINITY;
        for (size_t i = 0; i < n; i++) if (row[i] > maximum) maximum = row[i];
        float sum = 0;
        for (size_t i = 0; i < n; i++) { row[i] = expf(row[i] - maximum); sum += row[i]; }
        float inv = sum > 0 ? 1.0f / sum : 0;
        for (size_t i = 0; i < n; i++) row[i] *= inv;
        for (size_t i = n; i < cols; i++) row[i] = 0;
    }
}
