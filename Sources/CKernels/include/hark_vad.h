#ifndef HARK_VAD_H
#define HARK_VAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Dense matrix-vector product for the VAD model's small layers:
/// y[r] = bias[r] + sum_c w[r * cols + c] * x[c] for r in 0..<rows (w row-major).
/// `bias` may be NULL (no bias). Uses an AVX2+FMA path when the CPU has it (chosen once at
/// run time), otherwise a portable C loop with several partial sums. Thread-safe (no state
/// beyond the one-time CPU probe).
void hark_vad_matvec(const float *w, const float *x, const float *bias, float *y,
                     size_t rows, size_t cols);

/// The portable path of hark_vad_matvec, exported so tests can compare the two.
void hark_vad_matvec_portable(const float *w, const float *x, const float *bias, float *y,
                              size_t rows, size_t cols);

/// The same weights against `n` input vectors, loading each weight row once:
/// y[t * y_stride + r] = bias[r] + sum_c w[r * cols + c] * x[t * x_stride + c], t in 0..<n.
/// Input vectors may overlap (x_stride < cols: STFT windows with a hop). `bias` may be NULL.
void hark_vad_matmul(const float *w, const float *x, size_t x_stride, const float *bias,
                     float *y, size_t y_stride, size_t rows, size_t cols, size_t n);

/// The portable path of hark_vad_matmul.
void hark_vad_matmul_portable(const float *w, const float *x, size_t x_stride, const float *bias,
                              float *y, size_t y_stride, size_t rows, size_t cols, size_t n);

#ifdef __cplusplus
}
#endif

#endif
