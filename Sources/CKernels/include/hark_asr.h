#ifndef HARK_ASR_H
#define HARK_ASR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Converts `count` IEEE half floats to single precision (F16C when the CPU has it).
void hark_f16_to_f32(const uint16_t *src, float *dst, size_t count);

/// In place: x = x * 0.5 * (1 + erf(x / sqrt 2)), the exact GELU Whisper uses.
void hark_gelu(float *x, size_t count);

/// Layer normalisation of `rows` rows of `dim` values: (x - mean) / sqrt(var + eps) * gamma + beta.
void hark_layer_norm(const float *x, float *y, size_t rows, size_t dim,
                     const float *gamma, const float *beta, float eps);

/// `hark_layer_norm` with the rows split over `threads` threads (hark_workers_run): the same bits.
void hark_layer_norm_threads(const float *x, float *y, size_t rows, size_t dim,
                             const float *gamma, const float *beta, float eps, int threads);

/// Adds `bias[dim]` to each of `rows` rows of `x`.
void hark_add_bias(float *x, size_t rows, size_t dim, const float *bias);

/// In place softmax of each row of `x` (`rows` x `cols`, row stride `stride`), only over the
/// first `valid[r]` columns when `valid` is not NULL (the rest become 0: a causal mask).
void hark_softmax_rows(float *x, size_t rows, size_t cols, size_t stride, const int32_t *valid);

#ifdef __cplusplus
}
#endif

#endif
