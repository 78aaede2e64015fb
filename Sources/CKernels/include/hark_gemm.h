#ifndef HARK_GEMM_H
#define HARK_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel paths of `hark_sgemm`: portable C, AVX2+FMA, AVX-512F.
enum { HARK_GEMM_PORTABLE = 0, HARK_GEMM_AVX2 = 1, HARK_GEMM_AVX512 = 2 };

/// Single-precision matrix product, row-major, A never transposed:
///   C[M, N] = alpha * A[M, K] * op(B) + beta * C
/// where op(B) = B^T for `trans_b` != 0 (B stored [N, K], as CTranslate2 stores weights and as
/// attention keys are laid out) and op(B) = B otherwise (B stored [K, N]). When beta is 0, C is
/// not read. Large products are packed and cache-blocked and split over `threads` threads (the
/// persistent workers of hark_workers_run; 1 or less runs on the caller's thread); products with
/// a few rows go straight to dot-product / axpy kernels on the caller's thread.
void hark_sgemm(int trans_b, size_t m, size_t n, size_t k, float alpha,
                const float *a, size_t lda, const float *b, size_t ldb,
                float beta, float *c, size_t ldc, int threads);

/// Floats that `hark_sgemm_pack` writes for op(B) of `n` columns and depth `k` (on any path).
size_t hark_sgemm_packed_count(size_t n, size_t k);

/// Packs op(B) (as `hark_sgemm` reads it) for `hark_sgemm_packed`, into `packed` (64-byte
/// aligned, `hark_sgemm_packed_count` floats), for the current path; returns that path. A
/// weight matrix packed once at load saves repacking it in every product.
int hark_sgemm_pack(int trans_b, size_t n, size_t k, const float *b, size_t ldb, float *packed);

/// `hark_sgemm` with op(B) packed by `hark_sgemm_pack` for `path` (the path the packing
/// returned: its panel width fixes the kernel, whatever path is current). Products of 16 rows
/// or more give exactly `hark_sgemm`'s bits.
void hark_sgemm_packed(int path, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                       const float *packed, float beta, float *c, size_t ldc, int threads);

/// `hark_sgemm_packed` (alpha 1) with what the encoder does around its products, done by each
/// thread on the values it computes while they are in cache:
///   C = (accumulate ? C : 0) + bias + A op(B), then GELU (`hark_gelu`) when `gelu`,
/// with `bias` (n values, or NULL) copied into C, or added to it when accumulating, before the
/// product, exactly as a separate pass would: the bits are those of the product after that pass
/// (and of `hark_gelu` run on each row afterwards, which is `hark_gelu` over the whole of a
/// contiguous C when n is a multiple of 8).
void hark_sgemm_packed_fused(int path, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                             const float *bias, int accumulate, int gelu, float *c, size_t ldc, int threads);

/// Multi-head attention without a mask (Whisper's encoder): for each head h, with Q, K, V the
/// head's `head_dim` columns starting at h * head_dim of rows of `q`, `k`, `v` (row strides in
/// floats), out_h = softmax(scale * Q K^T) V, written to the same columns of `out`. Work is
/// split over `threads` threads by head and block of query rows; every output value is computed
/// exactly as `hark_sgemm` + `hark_softmax_rows` compute it. Returns 0 when out of memory.
int hark_unmasked_attention(const float *q, size_t q_stride, const float *k, size_t k_stride,
                   const float *v, size_t v_stride, float *out, size_t out_stride,
                   size_t queries, size_t keys, size_t heads, size_t head_dim, float scale, int threads);

/// The path `hark_sgemm` uses (the best this CPU has unless forced).
int hark_gemm_path(void);

/// 1 when `path` can run on this CPU.
int hark_gemm_path_available(int path);

/// Forces `path` (for tests: every available path must give the same results); a negative
/// value or an unavailable path restores the automatic choice. Not thread-safe: tests only.
void hark_gemm_force_path(int path);

#ifdef __cplusplus
}
#endif

#endif
