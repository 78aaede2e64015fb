#ifndef HARK_DECODER_H
#define HARK_DECODER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Kernels for one Whisper decoder step: a few rows (1 per hypothesis, or the prompt) against
// every weight of the decoder. A step is memory bound, so the weights stay half precision and
// are widened in registers (F16C / AVX-512), each weight is read once for all rows, and every
// stage runs on the persistent pool (hark_workers.h). Each kernel has AVX-512, AVX2 and portable C
// paths; the result of a kernel does not depend on the thread count.

/// Kernel paths: portable C, AVX2+FMA+F16C, AVX-512F.
enum { HARK_DEC_PORTABLE = 0, HARK_DEC_AVX2 = 1, HARK_DEC_AVX512 = 2 };
int hark_dec_path(void);
int hark_dec_path_available(int path);
/// Forces `path` (tests compare the paths); a negative or unavailable path restores the best.
/// Not thread-safe: tests only.
void hark_dec_force_path(int path);

/// Output columns per packed panel.
enum { HARK_DEC_PANEL = 32 };

/// Half floats needed to pack a weight of `n` outputs by `k` inputs (n rounded up to panels).
size_t hark_dec_packed_count(size_t n, size_t k);

/// Packs w [n, k] (half floats, row-major, CTranslate2's [outputs, inputs]) into panels of
/// HARK_DEC_PANEL outputs: panel p holds, for each input i, the 32 weights of outputs
/// 32p..32p+31 (zero past n), so a step streams the weights in order with no transposition.
void hark_dec_pack(const uint16_t *w, size_t n, size_t k, uint16_t *packed);

/// y[m, n] = x[m, k] W^T + bias (bias may be NULL), added to y when `accumulate` (the residual
/// connection), then GELU when `gelu` (only without `accumulate`). W is packed by hark_dec_pack.
void hark_dec_linear(const uint16_t *packed, size_t n, size_t k, const float *bias,
                     const float *x, size_t ldx, size_t m, float *y, size_t ldy,
                     int accumulate, int gelu, int threads);

/// out[r * ldo + v] = dot(w[v, :], x[r, :]) for the half-float matrix w [vocab, d] (row-major,
/// the tied embedding) and m rows of x [m, d]: the output projection.
void hark_dec_logits(const uint16_t *w, size_t vocab, size_t d, const float *x, size_t m,
                     float *out, size_t ldo, int threads);

/// Attention of `rows` queries per group and head against `keys` keys, for `groups` groups
/// (hypotheses with their own caches, or one group sharing the audio keys) and `heads` heads:
///   scores = softmax(scale * q k^T) (row r over its first valid[r] keys; the rest 0),
///   out = scores v.
/// Keys are stored transposed per head (kt: [headDim][ldkt], key f of dimension j at j*ldkt+f),
/// values [keys][headDim] per head, so both products stream memory in order.
typedef struct {
    size_t groups, heads, rows, keys, head_dim;
    float scale;
    const float *q;        // row r of group g, head h: q + g*q_group + r*ldq + h*head_dim
    size_t q_group, ldq;
    const float *kt;       // kt + g*kt_group + h*kt_head
    size_t kt_group, kt_head, ldkt;
    const float *v;        // v + g*v_group + h*v_head, rows of head_dim
    size_t v_group, v_head;
    const int32_t *valid;  // per row (the same for every group and head), or NULL for all keys
    float *scores;         // [groups][heads][rows][keys]
    float *out;            // out + g*out_group + r*ldo + h*head_dim
    size_t out_group, ldo;
} hark_dec_attention_job;

void hark_dec_attention(const hark_dec_attention_job *job, int threads);

/// logp[i] = x[i] - log(sum exp(x)) over n values (-inf stays -inf); returns the log of the sum
/// of exponentials (-inf when every x is -inf, and then logp is all -inf).
float hark_log_softmax(const float *x, float *logp, size_t n);

/// The largest of x[0..n) (-inf when n is 0): what `x[i] > maximum` over the entries gives.
float hark_max(const float *x, size_t n);

/// log(sum exp x[i]) over x[0..n): the softmax denominator, so that x[i] minus it is the
/// log-probability of entry i; -inf when no entry is finite. Also puts in `top` the indices of
/// the `k` largest finite entries (`top` holds k values; NULL for none), largest first and the
/// lower index first among equal values, and their number (at most k) in `found`. A beam-search
/// or greedy step needs only these, not the whole log-softmax row. The exponentials are summed
/// in double precision: a float running sum over a vocabulary drops the many tiny terms once it
/// nears 1 (about 2e-4 of the mass on Whisper's 51864 tokens).
float hark_logsumexp_top_k(const float *x, size_t n, size_t k, int32_t *top, size_t *found);

#ifdef __cplusplus
}
#endif

#endif
