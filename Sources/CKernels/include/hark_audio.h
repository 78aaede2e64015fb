#ifndef HARK_AUDIO_H
#define HARK_AUDIO_H

#ifdef __cplusplus
extern "C" {
#endif

/// Polyphase FIR resampling kernel (the inner loop of Audio's `Resampler`).
///
/// For each output n in [first, first + count): t = n * down, i0 = t / up, rem = t % up;
/// the tap row is rem when phase_count == up, else the nearest of phase_count rows
/// ((rem * phase_count + up / 2) / up, carrying into i0 when it reaches phase_count).
/// out[n - first] = sum over k < width of src[i0 - (leading - 1) - start + k] * table[row * width + k].
/// `src` element 0 is input index `start`; the caller guarantees every read is in bounds.
/// `width` must be a multiple of 8. Chooses an AVX2+FMA path at run time when available.
void hark_resample_polyphase(const float *src, long start, const float *table, long width, long leading,
                             long up, long down, long phase_count, long first, long count, float *out);

#ifdef __cplusplus
}
#endif

#endif
