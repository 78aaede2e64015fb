// Internal to CKernels: the compact Q5_0 records of the packed matrices (llm_packed_q5_0.c),
// called by the shared packed-matrix driver in llm_packed.c.
#ifndef HARK_LLM_PACKED_Q5_0_H
#define HARK_LLM_PACKED_Q5_0_H

#include "hark_llm.h"
#include "llm_packed_kquants.h" // VNNI512

/// Bytes of one group of 16 packed Q5_0 rows of `cols` elements; 0 for other types or widths
/// that are not whole 32-element blocks.
size_t hark_q50_group_bytes(int type, int cols);

/// Packs W (`rows` a multiple of 16) into `dst` (`rows / 16` groups); 0 when there is no
/// packed form or memory ran out.
int hark_q50_pack(const void *w, size_t row_bytes, int rows, int cols, void *dst);

#if defined(__x86_64__)
/// One group of 16 rows, `nb` 32-element blocks wide, for `tokens` tokens: y[t * ldy + r].
/// `half_sums`: per token and block, the sums of the activation bytes 0..15 and 16..31.
/// Needs AVX-512 VNNI.
void hark_q50_run_group(const uint8_t *g, int nb, const hark_q8_block *x, const int32_t *half_sums,
                        int tokens, float *y, int ldy);
#endif

#endif
