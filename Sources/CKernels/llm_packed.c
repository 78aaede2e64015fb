// Packed weight matrices for the AVX-512 VNNI path: see `hark_packed_size` in include/hark_llm.h.
//
// Why: the row-at-a-time kernels of llm.c spend most of their time reducing each block's
// integer products across vector lanes and adding the per-block float terms one by one. Here
// 16 rows are interleaved so that one 512-bit `vpdpbusd` against four broadcast activation
// bytes advances all 16 rows: each lane holds one row, the integer sums need no horizontal
// reduction, and the float work runs on 16 row sums at once - with the same operations, in the
// same order, as `dot_unpacked_portable`, so the results are bit-identical to the portable path:
// llama.cpp's order (8 accumulators per row, `tile_llama`).
//
// The K-quants (Q4_K, Q5_K, Q6_K) have records of their own, per 256-element super-block:
// llm_packed_kquants.c; so has Q5_0 (5-bit values in a nibble plane and a bit plane):
// llm_packed_q5_0.c.
//
// Layout: groups of 16 rows; in a group, one record per 32-element block b:
//   values:  nibble kinds: 4 chunks of 64 bytes; chunk i, row r (4 bytes at 4r) holds elements
//            4i..4i+3 in its low nibbles and 16+4i..16+4i+3 in its high nibbles.
//            byte kinds: 8 chunks of 64 bytes; chunk i, row r holds elements 4i..4i+3.
//            Stored unsigned: value + offset (the offset times the activation sums is taken
//            off the integer dot products again, exactly).
//   dsc:     16 scales (row r's block scale), the file's own half floats
//   mn:      16 minimums, half floats, kinds with a minimum only
#include "hark_llm.h"
#include "llm_packed_kquants.h"
#include "llm_packed_q5_0.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define PK_ROWS 16
// Software prefetch distance in bytes, into L2 (T1). Generation streams the whole model (96 MB
// for SmolLM2 Q4_1) once per token, more than one core's share of L3, at a memory-bound rate:
// the hardware prefetcher alone keeps too few lines in flight. Measured on one core (llm_one
// harness, min of rounds): 4 records ahead into L1 (the old setting) 12 GB/s on the layers,
// 16 KiB ahead into L2 15 GB/s; 4 and 8 KiB no better than 4 records, 32 KiB as 16.
#define PK_PREFETCH_BYTES 16384

typedef struct {
    int nibbles; // 4-bit values (else bytes)
    int offset;  // added to the signed values to make them unsigned
    int has_min;
} pack_kind;

#define KIND_Q4_0 ((pack_kind){1, 8, 0})
#define KIND_Q4_1 ((pack_kind){1, 0, 1})
#define KIND_Q8_0 ((pack_kind){0, 128, 0})

static int kind_of(int type, pack_kind *k) {
    switch (type) {
    case HARK_GGML_Q4_0: *k = KIND_Q4_0; return 1;
    case HARK_GGML_Q4_1: *k = KIND_Q4_1; return 1;
    case HARK_GGML_Q8_0: *k = KIND_Q8_0; return 1;
    default: return 0;
    }
}


// Q6_K's 32 bytes of sub-scales get 32 bytes of padding (its records are whole 64-byte lines).
static size_t record_bytes(const pack_kind *k) {
    return (size_t)(k->nibbles ? 256 : 512) + 32 * (k->has_min ? 2 : 1);
}

static int packed_path_here(void) {
    return strcmp(hark_llm_kernel_name(), "avx512-vnni") == 0;
}

size_t hark_packed_size(int type, int rows, int cols) {
    pack_kind k;
    if (!packed_path_here()) return 0;
    if (rows <= 0 || cols <= 0 || rows % PK_ROWS != 0 || cols % 32 != 0 || cols > 8192) return 0;
    size_t own_group = hark_kq_group_bytes(type, cols) + hark_q50_group_bytes(type, cols); // at most one is not 0
    if (own_group) return (size_t)(rows / PK_ROWS) * own_group;
    if (!kind_of(type, &k)) return 0;
    return (size_t)(rows / PK_ROWS) * (size_t)(cols / 32) * record_bytes(&k);
}

void *hark_packed_alloc(size_t size) {
    if (size == 0) return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#if defined(MADV_HUGEPAGE)
    // Every token streams through all the weights: 2 MiB pages spare most TLB misses
    // (a hint; kernels with transparent huge pages off ignore it).
    madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

void hark_packed_free(void *p, size_t size) {
    if (p) munmap(p, size);
}

int hark_pack(int type, const void *w, size_t row_bytes, int rows, int cols, void *dst) {
    size_t size = hark_packed_size(type, rows, cols);
    if (size == 0) return 0;
    if (hark_kq_group_bytes(type, cols)) return hark_kq_pack(type, w, row_bytes, rows, cols, dst);
    if (type == HARK_GGML_Q5_0) return hark_q50_pack(w, row_bytes, rows, cols, dst);
    pack_kind k;
    kind_of(type, &k);
    const int nb = cols / 32;
    const size_t rec = record_bytes(&k);
    int8_t *q = malloc((size_t)cols);
    float *dsc = malloc(sizeof(float) * (size_t)nb), *mn = malloc(sizeof(float) * (size_t)nb);
    int16_t *scx = malloc(sizeof(int16_t) * (size_t)cols / 2);
    if (!q || !dsc || !mn || !scx) { free(q); free(dsc); free(mn); free(scx); return 0; }
    uint8_t *out = (uint8_t *)dst;
    for (int r = 0; r < rows; r++) {
        hark_unpack_row(type, (const uint8_t *)w + (size_t)r * row_bytes, cols, q, dsc, mn, scx);
        const int g = r / PK_ROWS, lane = r % PK_ROWS;
        for (int b = 0; b < nb; b++) {
            uint8_t *p = out + ((size_t)g * nb + b) * rec;
            const int8_t *v = q + 32 * b;
            if (k.nibbles) {
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        int lo = v[4 * i + j] + k.offset, hi = v[16 + 4 * i + j] + k.offset;
                        p[64 * i + 4 * lane + j] = (uint8_t)(lo | hi << 4);
                    }
            } else {
                for (int i = 0; i < 8; i++)
                    for (int j = 0; j < 4; j++) p[64 * i + 4 * lane + j] = (uint8_t)(v[4 * i + j] + k.offset);
            }
            p += k.nibbles ? 256 : 512;
            uint16_t h = hark_fp32_to_fp16(dsc[b]);
            memcpy(p + 2 * lane, &h, 2);
            if (k.has_min) { h = hark_fp32_to_fp16(mn[b]); memcpy(p + 32 + 2 * lane, &h, 2); }
        }
    }
    free(q); free(dsc); free(mn); free(scx);
    return 1;
}

#if defined(__x86_64__)

// Tokens per tile of `tile_llama`: 8 accumulators (+ 1 for the minimums) per token. 3 tokens
// spill a few registers but read the prompt a little faster than 2 (SmolLM2, loaded machine:
// 357 against 337 tok/s median on one thread).
#define PK_LLAMA_TOKENS 3

// One group of 16 rows times `T` tokens (activations `nb` blocks apart), into y[t * ldy + r], in
// llama.cpp's order (dot_unpacked_llama_order in llm.c, for Q4_0, Q4_1 and Q8_0):
// per token 8 float accumulators; accumulator i takes, block by block, d*d' times the integer
// dot of elements 4i..4i+3 - which is exactly what one `vpdpbusd` of chunk i gives (the low
// nibbles of chunk i for nibble kinds; their high nibbles are elements 16+4i.., accumulator
// 4+i). The offset correction is per 4-element group: `corrections` holds, per token and block
// (16 apart), -offset * (sum of the activation bytes 4i..4i+3) for i = 0..7, the start of the
// integer dot (a broadcast load, no arithmetic in the loop).
VNNI512 static inline __attribute__((always_inline)) void
tile_llama(const pack_kind k, const int T, const uint8_t *g, const int nb, const hark_q8_block *x,
           const int32_t *corrections, float *y, const int ldy) {
    const size_t rec = record_bytes(&k);
    const int chunks = k.nibbles ? 4 : 8;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[PK_LLAMA_TOKENS][8], summs[PK_LLAMA_TOKENS];
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < 8; i++) acc[t][i] = _mm512_setzero_ps();
        summs[t] = _mm512_setzero_ps();
    }
    for (int b = 0; b < nb; b++, g += rec) {
        for (size_t line = 0; line < rec; line += 64)
            _mm_prefetch((const char *)g + PK_PREFETCH_BYTES + line, _MM_HINT_T1);
        const uint8_t *s = g + (k.nibbles ? 256 : 512);
        const __m512 dsc = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)s));
        __m512 dd[PK_LLAMA_TOKENS], dd16[PK_LLAMA_TOKENS];
        int32_t yd[PK_LLAMA_TOKENS][8];
        const int32_t *gs[PK_LLAMA_TOKENS];
        for (int t = 0; t < T; t++) {
            const hark_q8_block *xb = x + (size_t)t * nb + b;
            dd[t] = _mm512_mul_ps(dsc, _mm512_set1_ps(xb->d));
            memcpy(yd[t], xb->qs, 32);
            gs[t] = corrections + 16 * ((size_t)t * nb + b);
            // The high nibbles stay in place (16 times the value, one instruction less per
            // chunk); d*d'/16 times 16*isum is exactly d*d' times isum (a power of two: only
            // the exponent changes, and these products are far from the subnormal range).
            if (k.nibbles) dd16[t] = _mm512_mul_ps(dd[t], _mm512_set1_ps(0.0625f));
            if (k.has_min) { // min * x.s rounded, then added: as llama.cpp's summs
                const __m512 mn = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(s + 32)));
                summs[t] = _mm512_add_ps(summs[t], _mm512_mul_ps(mn, _mm512_set1_ps(xb->s)));
            }
        }
        for (int c = 0; c < chunks; c++) {
            __m512i w[2];
            const __m512i v = _mm512_loadu_si512((const void *)(g + 64 * c));
            if (k.nibbles) {
                w[0] = _mm512_and_si512(v, m4);
                w[1] = _mm512_andnot_si512(m4, v);
            } else {
                w[0] = v;
            }
            for (int h = 0; h < (k.nibbles ? 2 : 1); h++) {
                const int i = c + 4 * h; // accumulator, and 4-element group of the block
                for (int t = 0; t < T; t++) {
                    // the dot product starts from -offset * (sum of the 4 activation bytes),
                    // 16 times that for high nibbles left in place (the -128 entries for Q4_0)
                    const __m512i start = k.offset ? _mm512_set1_epi32(gs[t][h ? 8 + i : i]) : _mm512_setzero_si512();
                    const __m512i isum = _mm512_dpbusd_epi32(start, w[h], _mm512_set1_epi32(yd[t][i]));
                    acc[t][i] = _mm512_fmadd_ps(h ? dd16[t] : dd[t], _mm512_cvtepi32_ps(isum), acc[t][i]);
                }
            }
        }
    }
    for (int t = 0; t < T; t++) {
        const __m512 *a = acc[t];
        __m512 r = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[4]), _mm512_add_ps(a[2], a[6])),
                                 _mm512_add_ps(_mm512_add_ps(a[1], a[5]), _mm512_add_ps(a[3], a[7])));
        _mm512_storeu_ps(y + (size_t)t * ldy, _mm512_add_ps(r, summs[t]));
    }
}

// All token tiles of one group in llama.cpp's order, for one kind (constant after inlining).
VNNI512 static inline __attribute__((always_inline)) void
group_kind_llama(const pack_kind k, const uint8_t *g, int nb, const hark_q8_block *x, const int32_t *corrections,
                 int tokens, float *y, int ldy) {
    int t = 0;
    for (; t + PK_LLAMA_TOKENS <= tokens; t += PK_LLAMA_TOKENS)
        tile_llama(k, PK_LLAMA_TOKENS, g, nb, x + (size_t)t * nb, corrections + 16 * (size_t)t * nb, y + (size_t)t * ldy, ldy);
    switch (tokens - t) {
    case 2: tile_llama(k, 2, g, nb, x + (size_t)t * nb, corrections + 16 * (size_t)t * nb, y + (size_t)t * ldy, ldy); break;
    case 1: tile_llama(k, 1, g, nb, x + (size_t)t * nb, corrections + 16 * (size_t)t * nb, y + (size_t)t * ldy, ldy); break;
    default: break;
    }
}

VNNI512 static void run_group(int type, const uint8_t *g, int nb, const hark_q8_block *x, const int32_t *half_sums,
                              const int32_t *corrections, int tokens, float *y, int ldy) {
    switch (type) {
    case HARK_GGML_Q4_0: group_kind_llama(KIND_Q4_0, g, nb, x, corrections, tokens, y, ldy); return;
    case HARK_GGML_Q4_1: group_kind_llama(KIND_Q4_1, g, nb, x, corrections, tokens, y, ldy); return;
    case HARK_GGML_Q5_0: hark_q50_run_group(g, nb, x, half_sums, tokens, y, ldy); return;
    case HARK_GGML_Q8_0: group_kind_llama(KIND_Q8_0, g, nb, x, corrections + 8, tokens, y, ldy); return;
    case HARK_GGML_Q4_K: case HARK_GGML_Q5_K: case HARK_GGML_Q6_K:
        hark_kq_run_group(type, g, nb, x, half_sums, tokens, y, ldy); return;
    default: return;
    }
}

#define PK_MAX_MATRICES 4

// Several matrices with the same input, one task: their chunks are numbered one after the
// other, so the pool is woken and joined once (Q, K and V; gate and up).
typedef struct {
    int count, nb, tokens, groups_per_chunk;
    int type[PK_MAX_MATRICES], groups[PK_MAX_MATRICES], first_chunk[PK_MAX_MATRICES + 1], ldy[PK_MAX_MATRICES];
    const uint8_t *w[PK_MAX_MATRICES];
    size_t group_bytes[PK_MAX_MATRICES];
    float *y[PK_MAX_MATRICES];
    const hark_q8_block *x;
    const int32_t *half_sums, *corrections;
} packed_task;

static void packed_worker(void *raw, int chunk, int thread_index) {
    (void)thread_index;
    const packed_task *t = (const packed_task *)raw;
    int m = 0;
    while (chunk >= t->first_chunk[m + 1]) m++;
    int first = (chunk - t->first_chunk[m]) * t->groups_per_chunk;
    int last = first + t->groups_per_chunk < t->groups[m] ? first + t->groups_per_chunk : t->groups[m];
    for (int g = first; g < last; g++)
        run_group(t->type[m], t->w[m] + (size_t)g * t->group_bytes[m], t->nb, t->x, t->half_sums, t->corrections, t->tokens,
                  t->y[m] + (size_t)g * PK_ROWS, t->ldy[m]);
}

#endif

int hark_matmul_packed_many(hark_pool *pool, int count, const int *types, const void *const *packed,
                            const int *rows, int cols, const hark_q8_block *xq, int tokens,
                            float *const *y, const int *ldy) {
#if defined(__x86_64__)
    if (count < 1 || count > PK_MAX_MATRICES || tokens <= 0) return 0;
    packed_task task;
    memset(&task, 0, sizeof task);
    int total_groups = 0;
    long work = 0;
    for (int m = 0; m < count; m++) {
        if (hark_packed_size(types[m], rows[m], cols) == 0) return 0;
        task.type[m] = types[m];
        task.groups[m] = rows[m] / PK_ROWS;
        task.w[m] = (const uint8_t *)packed[m];
        task.group_bytes[m] = hark_packed_size(types[m], PK_ROWS, cols);
        task.y[m] = y[m];
        task.ldy[m] = ldy[m];
        total_groups += task.groups[m];
        work += (long)rows[m] * cols * tokens;
    }
    const int nb = cols / 32;
    // Per token and block: the sums of the activation bytes 0..15 and 16..31 (half_sums), and of
    // each 4 bytes 4i..4i+3 times -8 (Q4_0) and -128 (Q8_0) (corrections), for the offset corrections.
    int32_t stack[18 * 512], *half_sums = stack;
    size_t n = 18 * (size_t)tokens * nb;
    if (n > 18 * 512) {
        half_sums = malloc(sizeof(int32_t) * n);
        if (!half_sums) return 0;
    }
    int32_t *corrections = half_sums + 2 * (size_t)tokens * nb;
    for (size_t b = 0; b < (size_t)tokens * nb; b++) {
        int32_t gs[8];
        for (int i = 0; i < 8; i++) {
            gs[i] = xq[b].qs[4 * i] + xq[b].qs[4 * i + 1] + xq[b].qs[4 * i + 2] + xq[b].qs[4 * i + 3];
            corrections[16 * b + i] = -KIND_Q4_0.offset * gs[i];
            corrections[16 * b + 8 + i] = -KIND_Q8_0.offset * gs[i];
        }
        half_sums[2 * b] = gs[0] + gs[1] + gs[2] + gs[3];
        half_sums[2 * b + 1] = gs[4] + gs[5] + gs[6] + gs[7];
    }
    // About 8 chunks per thread. Each thread streams its own contiguous share of them and
    // then helps with the others' last ones (hark_pool_run): small chunks only make the end
    // of a task more even.
    const int threads = hark_pool_threads(pool);
    int per_chunk = (total_groups + 8 * threads - 1) / (8 * threads);
    if (per_chunk < 1) per_chunk = 1;
    task.count = count;
    task.nb = nb;
    task.tokens = tokens;
    task.groups_per_chunk = per_chunk;
    task.x = xq;
    task.half_sums = half_sums;
    task.corrections = corrections;
    for (int m = 0; m < count; m++)
        task.first_chunk[m + 1] = task.first_chunk[m] + (task.groups[m] + per_chunk - 1) / per_chunk;
    const int chunks = task.first_chunk[count];
    if (work < 32768) {
        for (int c = 0; c < chunks; c++) packed_worker(&task, c, 0);
    } else {
        hark_pool_run(pool, packed_worker, &task, chunks);
    }
    if (half_sums != stack) free(half_sums);
    return 1;
#else
    (void)pool; (void)count; (void)types; (void)packed; (void)rows; (void)cols; (void)xq; (void)tokens; (void)y; (void)ldy;
    return 0;
#endif
}

int hark_matmul_packed(hark_pool *pool, int type, const void *packed, int rows, int cols,
                       const hark_q8_block *xq, int tokens, float *y, int ldy) {
    return hark_matmul_packed_many(pool, 1, &type, &packed, &rows, cols, xq, tokens, &y, &ldy);
}
