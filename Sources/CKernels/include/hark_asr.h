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

/// The im2col rows of a kernel-3 convolution with padding 1 (Whisper's conv1 and conv2): output
/// row t (of `rows`) holds, for each of `channels` channels c, the three inputs at positions
/// t * step - 1, t * step, t * step + 1 (0 outside 0..<positions) at out[t * channels * 3 + c * 3 + k].
/// Input (position p, channel c) is x[c * channel_stride + p * position_stride]. Rows are split
/// over `threads` threads (hark_workers_run).
void hark_conv3_columns(const float *x, size_t channel_stride, size_t position_stride, size_t channels,
                        size_t positions, size_t step, size_t rows, float *out, int threads);

/// The decoder's layout of one layer's cross-attention keys and values: `kv` holds `frames` rows
/// of `width` keys then `width` values; keys go to `kt` transposed ([width][frames], i.e. per head
/// [headDim][frames]) and values to `v` per head ([heads][frames][headDim]). Split over `threads`.
void hark_cross_kv_layout(const float *kv, size_t frames, size_t width, size_t heads, float *kt, float *v, int threads);

/// In place softmax of each row of `x` (`rows` x `cols`, row stride `stride`), only over the
/// first `valid[r]` columns when `valid` is not NULL (the rest become 0: a causal mask).
void hark_softmax_rows(float *x, size_t rows, size_t cols, size_t stride, const int32_t *valid);

#ifdef __cplusplus
}
#endif

#endif
