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

#ifdef __cplusplus
}
#endif

#endif
