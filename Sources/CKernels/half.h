// IEEE half -> single conversion in portable C, shared by the kernels (private to CKernels).
#ifndef HARK_HALF_H
#define HARK_HALF_H

#include <stdint.h>
#include <string.h>

static inline float hark_half_to_float_portable(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: value = mantissa * 2^-24, exact in single precision
            float v = (float)mantissa * (1.0f / 16777216.0f);
            memcpy(&bits, &v, sizeof bits);
            bits |= sign;
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#endif
