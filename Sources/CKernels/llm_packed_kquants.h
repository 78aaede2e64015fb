// Internal to CKernels: the K-quant records of the packed matrices (llm_packed_kquants.c),
// called by the shared packed-matrix driver in llm_packed.c.
#ifndef HARK_LLM_PACKED_KQUANTS_H
#define HARK_LLM_PACKED_KQUANTS_H

#include "hark_llm.h"

/// Bytes of one group of 16 packed rows of `cols` elements of a K-quant `type`; 0 for other
/// types or widths that are not whole 256-element super-blocks.
size_t hark_kq_group_bytes(int type, int cols);

/// Packs W (`rows` a multiple of 16) into `dst` (`rows / 16` groups); 0 when there is no
/// packed form or memory ran out.
int hark_kq_pack(int type, const void *w, size_t row_bytes, int rows, int cols, void *dst);

#if defined(__x86_64__)
/// The instruction sets of the packed kernels (chosen at run time: `hark_llm_kernel_name`).
#define VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

/// One group of 16 rows, `nb` 32-element blocks wide, for `tokens` tokens: y[t * ldy + r].
/// `half_sums`: per token and block, the sums of the activation bytes 0..15 and 16..31.
/// Needs AVX-512 VNNI.
void hark_kq_run_group(int type, const uint8_t *g, int nb, const hark_q8_block *x, const int32_t *half_sums,
                       int tokens, float *y, int ldy);
#endif

#endif
