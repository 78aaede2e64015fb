#ifndef HARK_LLM_H
#define HARK_LLM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Quantized-weight kernels for the local LLM (GGUF / ggml block formats, see ggml's
// ggml-common.h for the block layouts). Weights stay quantized; activations are quantized to
// 32-element int8 blocks (`hark_q8_block`) and dot products run in integer arithmetic with one
// float multiply per block, like llama.cpp's Q8_0/Q8_1 activations.
//
// Threading contract: every function is reentrant. A `hark_pool` is driven by one thread at a
// time (the session that owns it); `hark_pool_run` blocks until every worker finished.
//
// Paths: AVX-512 VNNI (with VL and BW) when present, else AVX2+FMA+F16C when
// `hark_cpu_has_avx2_fma_f16c()`, else portable C (ARM64 builds); chosen once at run time
// (environment variable HARK_LLM_KERNELS=portable|avx2|avx512-vnni picks a slower one). All
// paths give bit-identical results.

/// ggml type codes used here (values of ggml.h `enum ggml_type`).
enum {
    HARK_GGML_F32 = 0, HARK_GGML_F16 = 1, HARK_GGML_Q4_0 = 2, HARK_GGML_Q4_1 = 3,
    HARK_GGML_Q5_0 = 6, HARK_GGML_Q8_0 = 8, HARK_GGML_Q4_K = 12, HARK_GGML_Q5_K = 13,
    HARK_GGML_Q6_K = 14, HARK_GGML_BF16 = 30
};

/// One quantized activation block of 32 values: x[i] ~= d * qs[i]; s = d * sum(qs)
/// (d and s rounded to half precision, as llama.cpp's Q8_1 stores them).
typedef struct {
    float d;
    float s;
    int8_t qs[32];
} hark_q8_block;

/// Elements per activation block.
#define HARK_Q8_BLOCK 32

/// 1 if `type` is a weight type these kernels handle.
int hark_llm_type_supported(int type);

/// Half-precision conversions (IEEE binary16, round to nearest even).
float hark_fp16_to_fp32(uint16_t h);
uint16_t hark_fp32_to_fp16(float f);

/// Quantizes `n` floats (n a multiple of 32) into n/32 blocks.
void hark_quantize_q8(const float *x, hark_q8_block *y, int n);
/// The portable path of `hark_quantize_q8` (same results; the reference for the SIMD path).
void hark_quantize_q8_portable(const float *x, hark_q8_block *y, int n);

/// Dequantizes one row of `n` elements of `type` (plain reference loops).
void hark_dequantize_row(int type, const void *src, float *dst, int n);

/// One row of `n` elements of a quantized `type` as the kernels see it: element i is
/// dsc[i/32] * sub * q[i] + mn[i/32], where sub is scx[16*(i/32) + 8*((i%32)/16)] for Q6_K
/// (its 16-element sub-scales; scx holds n/2 values) and 1 otherwise (scx may then be NULL).
void hark_unpack_row(int type, const void *row, int n, int8_t *q, float *dsc, float *mn, int16_t *scx);

/// Dot product of one weight row (n elements of `type`) with quantized activations.
/// Not for float weight types (use `hark_vec_dot_f32`).
float hark_vec_dot_q8(int type, const void *row, const hark_q8_block *x, int n);

/// A plain-C reference dot product straight from the blocks, one float term per block added in
/// block order (the kernel paths are tested against it within a tolerance; for Q4_0, Q4_1 and
/// Q8_0 they sum in llama.cpp's order instead, see `hark_matmul_llama_order`).
float hark_vec_dot_q8_portable(int type, const void *row, const hark_q8_block *x, int n);

/// Kernel paths (instruction sets) of `hark_vec_dot_q8_path`.
enum { HARK_LLM_PATH_PORTABLE = 0, HARK_LLM_PATH_AVX2 = 1, HARK_LLM_PATH_AVX512_VNNI = 2 };

/// Bit p set when path p runs on this CPU (the portable path always does).
int hark_llm_kernel_paths(void);

/// The path the kernels use here ("avx512-vnni", "avx2" or "portable").
const char *hark_llm_kernel_name(void);

/// `hark_vec_dot_q8` forced onto one path (for tests); NaN when this CPU lacks that path.
float hark_vec_dot_q8_path(int path, int type, const void *row, const hark_q8_block *x, int n);

/// Dot product of one weight row of any supported type with float activations
/// (float types directly; quantized types dequantized block by block).
float hark_vec_dot_f32(int type, const void *row, const float *x, int n);

/// A small persistent pool of worker threads for matrix products.
typedef struct hark_pool hark_pool;
/// One chunk of a task; `thread_index` (0..<threads) tells which per-thread scratch to use.
typedef void (*hark_task_fn)(void *context, int chunk, int thread_index);

/// Creates a pool running tasks on `threads` threads (the caller counts as one). NULL on failure.
hark_pool *hark_pool_create(int threads);
void hark_pool_destroy(hark_pool *pool);
int hark_pool_threads(const hark_pool *pool);
/// Runs `fn(context, c, thread)` for every chunk c in 0..<chunks (at most 2^20 - 1), each
/// exactly once, on whichever threads are free (the caller works too), and waits for all.
void hark_pool_run(hark_pool *pool, hark_task_fn fn, void *context, int chunks);

/// y[t * ldy + r] = dot(W row r, x row t) for r < rows, t < tokens.
/// W: `rows` rows of `cols` elements of `type`, `row_bytes` apart.
/// For quantized types `xq` holds tokens * cols/32 blocks (already quantized, see
/// `hark_quantize_q8`) and `x` may be NULL; for float types `x` holds tokens * cols floats.
void hark_matmul(hark_pool *pool, int type, const void *w, size_t row_bytes, int rows, int cols,
                 const float *x, const hark_q8_block *xq, int tokens, float *y, int ldy);

/// Packed matrices (llm_packed.c): on the AVX-512 VNNI path, weights of the quantized types
/// can be re-laid out once at load time - 16 rows interleaved per 32-element block, values
/// as unsigned bytes or nibbles, scales as floats - so that one 512-bit instruction advances
/// 16 rows. Same results, bit for bit, as `hark_matmul` and the portable path.
///
/// Bytes the packed form of a rows x cols matrix of `type` takes, or 0 when there is none
/// here (other kernel paths, ARM64, rows not a multiple of 16): then use `hark_matmul`.
size_t hark_packed_size(int type, int rows, int cols);
/// Memory for a packed matrix (page-aligned, in huge pages where the kernel allows); NULL
/// when out of memory. Free with `hark_packed_free` and the same size.
void *hark_packed_alloc(size_t size);
void hark_packed_free(void *p, size_t size);
/// Packs W (as for `hark_matmul`) into `dst` (`hark_packed_size` bytes, 64-byte aligned).
/// 0 when there is no packed form or memory ran out.
int hark_pack(int type, const void *w, size_t row_bytes, int rows, int cols, void *dst);
/// `hark_matmul` on a packed matrix (quantized activations `xq` only). 0 (nothing written)
/// when there is no packed form here.
int hark_matmul_packed(hark_pool *pool, int type, const void *packed, int rows, int cols,
                       const hark_q8_block *xq, int tokens, float *y, int ldy);
/// Up to 4 packed matrices with the same input (`cols` wide) in one pass of the pool (e.g.
/// Q, K and V): matrix m writes y[m][t * ldy[m] + r]. 0 (nothing written) when any of them
/// has no packed form here.
int hark_matmul_packed_many(hark_pool *pool, int count, const int *types, const void *const *packed,
                            const int *rows, int cols, const hark_q8_block *xq, int tokens,
                            float *const *y, const int *ldy);

/// RMSNorm of `rows` vectors of length n: y = x / sqrt(mean(x^2) + eps) * w (in place allowed).
void hark_rmsnorm(const float *x, const float *w, float *y, int n, int rows, float eps);

/// Rotary position embedding in place on `heads` heads of `head_dim` at position `pos`;
/// rotates the first `rot_dims` dims. neox = 0: pairs (2i, 2i+1) (ggml "normal");
/// neox = 1: pairs (i, i + rot_dims/2) (ggml NEOX).
void hark_rope(float *x, int heads, int head_dim, int rot_dims, int pos, float freq_base, int neox);

/// out[i] = silu(gate[i]) * up[i].
void hark_swiglu(const float *gate, const float *up, float *out, int n);

/// Causal grouped-query attention for `tokens` new tokens at positions pos0..pos0+tokens-1.
/// q: tokens x (heads*head_dim); caches: positions x (kv_heads*head_dim) for one layer, already
/// holding the new tokens; out: tokens x (heads*head_dim). `scratch` holds
/// threads * (pos0 + tokens) floats. Runs over the pool (NULL: single thread).
void hark_attention(hark_pool *pool, const float *q, const float *k_cache, const float *v_cache,
                    float *out, int tokens, int pos0, int heads, int kv_heads, int head_dim,
                    float *scratch);

/// Converts floats to IEEE half floats (round to nearest even), e.g. keys and values for the cache.
void hark_fp32_to_fp16_row(const float *x, uint16_t *y, int n);

/// `hark_attention` over a half-precision cache, rounded like llama.cpp's CPU attention with its
/// default f16 cache (no flash attention): the query and the probabilities are rounded to half
/// precision and the dot products sum 16 lanes in a fixed order. head_dim <= 512. `scratch`
/// holds threads * hark_attention_f16_scratch(tokens, pos0, head_dim) floats. The SIMD and
/// portable paths give identical results.
int hark_attention_f16_scratch(int tokens, int pos0, int head_dim);
void hark_attention_f16(hark_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                        float *out, int tokens, int pos0, int heads, int kv_heads, int head_dim,
                        float *scratch);

/// `hark_matmul` for quantized `type`, with llama.cpp's accumulation order in each dot product
/// (x86 ggml_vec_dot_q4_1_q8_1 and kin: 8 float lanes of 4-element integer sums, pairwise
/// reduction), in plain C. A slow oracle for tests: every fast path (`hark_matmul`, the packed
/// matrices, `hark_vec_dot_q8`) sums Q4_0, Q4_1 and Q8_0 this way and must equal it bit for bit
/// (so those models' logits equal llama.cpp's); the other types it sums in this order too.
void hark_matmul_llama_order(hark_pool *pool, int type, const void *w, size_t row_bytes, int rows, int cols,
                             const hark_q8_block *xq, int tokens, float *y, int ldy);

#ifdef __cplusplus
}
#endif

#endif
