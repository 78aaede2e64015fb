#ifndef HARK_CPU_H
#define HARK_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this x86-64 CPU has AVX2, FMA and F16C (the fast kernel paths); 0 elsewhere,
/// including on ARM64, where the portable C paths (auto-vectorised with NEON) are used.
int hark_cpu_has_avx2_fma_f16c(void);

/// 1 when this x86-64 CPU also has AVX-512F (and AVX-512BW); 0 elsewhere.
int hark_cpu_has_avx512(void);

/// 1 when this x86-64 CPU has AVX-512F (the foundation subset the matrix kernels use); 0 elsewhere.
int hark_cpu_has_avx512f(void);

#ifdef __cplusplus
}
#endif

#endif
