import CFFTW
import Foundation

/// Whisper's audio front end: 16 kHz mono samples in, normalised log-mel features out.
///
/// Exactly the computation of openai-whisper's `log_mel_spectrogram` (`whisper/audio.py`):
/// 1. pad with zeros or trim to `padToSeconds` (Whisper's `pad_or_trim`, 30 s);
/// 2. reflect-pad `n_fft / 2` samples on each side (`torch.stft(center=True)`);
/// 3. periodic Hann window of 400 samples (25 ms), hop 160 (10 ms), power spectrum `|X|^2`,
///    the last frame dropped (3000 frames for 30 s);
/// 4. Slaney mel filter bank (``MelFilterBank``), `log10(max(mel, 1e-10))`;
/// 5. floor at `max - 8` (the maximum over the whole spectrogram), then `(x + 4) / 4`.
///
/// Usage:
/// ```swift
/// let mel = LogMelSpectrogram()              // once: makes the FFTW plan
/// let features = mel.compute(samples)        // 80 x 3000, any thread
/// let short = mel.compute(samples, padToSeconds: nil)  // audio length only
/// ```
///
/// Threading: FFTW planning (and plan destruction) is not thread-safe, so `init` and `deinit`
/// take a process-wide lock around them. `compute` only executes the plan with the new-array
/// interface (`fftwf_execute_dft_r2c`) on buffers it allocates per call, which FFTW documents as
/// thread-safe: one instance may be shared and called from many threads at once.
public final class LogMelSpectrogram: @unchecked Sendable {
    /// Whisper's audio constants (`whisper/audio.py`), with their units.
    public static let sampleRate = 16_000  // Hz
    public static let fftSize = 400  // samples: 25 ms window
    public static let hopLength = 160  // samples: 10 ms between frames
    public static let chunkSeconds = 30.0  // seconds per decoding window
    /// Frames in one 30 s window.
    public static let framesPerChunk = 3000

    /// Power below which the mel energy is clamped before the logarithm.
    static let minPower: Float = 1e-10
    /// Dynamic range kept below the loudest value, in log10 units (80 dB).
    static let dynamicRange: Float = 8
    /// 1 / ln(10): log10(x) = ln(x) / ln(10).
    static let log10OfE = Float(1 / log(10.0))

    /// Number of mel bins of the output.
    public let melBins: Int
    /// The mel filters applied to each power spectrum.
    public let filterBank: MelFilterBank
    let window: [Float]
    /// The filters packed for the inner loop: filter m has weights
    /// `weights[offset[m] ..< offset[m] + length[m]]` for FFT bins from `start[m]`.
    private let flatFilters: (start: [Int], length: [Int], offset: [Int], weights: [Float])
    private let plan: FFTWRealPlan

    /// Makes the mel filters and the FFTW plan (FFTW_ESTIMATE: no measuring, fast).
    /// - Parameter melBins: 80 for Whisper up to large-v2, 128 for large-v3.
    public init(melBins: Int = 80) {
        precondition(melBins > 0, "melBins must be positive")
        self.melBins = melBins
        let n = Self.fftSize
        filterBank = MelFilterBank(sampleRate: Double(Self.sampleRate), fftSize: n, melBins: melBins)
        // torch.hann_window(400) is periodic: 0.5 - 0.5 cos(2 pi i / N), not / (N - 1).
        window = (0..<n).map { i in Float(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(n))) }
        plan = FFTWRealPlan(size: n)
        var packed: (start: [Int], length: [Int], offset: [Int], weights: [Float]) = ([], [], [], [])
        for filter in filterBank.filters {
            packed.start.append(filter.firstBin)
            packed.length.append(filter.weights.count)
            packed.offset.append(packed.weights.count)
            packed.weights += filter.weights
        }
        flatFilters = packed
    }

    /// Frames produced for `sampleCount` samples: one per hop, Whisper's frame count
    /// (`n_samples // hop`, the stft's extra last frame dropped).
    public static func frameCount(sampleCount: Int) -> Int { sampleCount / hopLength }

    /// Normalised log-mel features of `samples` (16 kHz mono, nominally in [-1, 1]).
    ///
    /// - Parameters:
    ///   - samples: the audio.
    ///   - padToSeconds: pad with zeros or trim the audio to this length first (Whisper's
    ///     `pad_or_trim`, 30 s gives 3000 frames). With `nil` the audio is not padded or
    ///     trimmed and `samples.count / 160` frames come out; the audio is then treated as
    ///     followed by silence (as Whisper's padding does), and the log floor uses the
    ///     maximum over every frame the audio reaches, so for audio shorter than 30 s the
    ///     result equals the first frames of the 30 s computation exactly.
    public func compute(_ samples: [Float], padToSeconds: Double? = 30) -> MelFeatures {
        let hop = Self.hopLength
        let half = Self.fftSize / 2
        let length: Int  // length of the (virtually) padded or trimmed signal
        let frames: Int  // frames returned
        let framesComputed: Int  // frames whose mel enters the maximum
        let reflectAtEnd: Bool
        if let seconds = padToSeconds {
            precondition(seconds > 0, "padToSeconds must be positive")
            length = Int((seconds * Double(Self.sampleRate)).rounded())
            frames = Self.frameCount(sampleCount: length)
            framesComputed = frames
            reflectAtEnd = true
        } else {
            length = samples.count
            frames = Self.frameCount(sampleCount: length)
            // Every frame whose window [t*hop - half, t*hop + half) overlaps the audio; later
            // frames only see silence and cannot raise the maximum.
            framesComputed = max(frames, length == 0 ? 0 : (length - 1 + half) / hop + 1)
            reflectAtEnd = false
        }
        let usable = min(samples.count, length)
        let bins = melBins
        guard frames > 0 else { return MelFeatures(bins: bins, frames: 0, values: []) }

        // log10 mel energies straight into Whisper's bin-major layout, then the floor at
        // (max - 8) and (x + 4) / 4 in one contiguous pass.
        var values = [Float](repeating: 0, count: bins * frames)
        let maxLog = values.withUnsafeMutableBufferPointer { out in
            samples.withUnsafeBufferPointer { audio in
                logMelEnergies(audio: audio, usable: usable, length: length, reflectAtEnd: reflectAtEnd,
                               frames: framesComputed, outputFrames: frames, into: out.baseAddress!)
            }
        }
        let floor = maxLog - Self.dynamicRange
        values.withUnsafeMutableBufferPointer { out in
            for i in out.indices {
                let v = out[i]
                out[i] = ((v > floor ? v : floor) + 4) * 0.25
            }
        }
        return MelFeatures(bins: bins, frames: frames, values: values)
    }

    /// Windowed power spectra through the mel filters and log10, for `frames` frames; frames
    /// below `outputFrames` are written to `out[bin * outputFrames + frame]`. Returns the largest
    /// log10 value over all `frames`.
    /// The signal is `audio[0..<usable]` followed by zeros up to `length`; indices before 0 (and
    /// past `length` when `reflectAtEnd`) reflect, as torch's "reflect" padding (edge not repeated).
    private func logMelEnergies(audio: UnsafeBufferPointer<Float>, usable: Int, length: Int, reflectAtEnd: Bool,
                                frames: Int, outputFrames: Int, into out: UnsafeMutablePointer<Float>) -> Float {
        let n = Self.fftSize, hop = Self.hopLength, half = n / 2
        let fftBins = filterBank.fftBins, bins = melBins
        let silentLog = log10f(Self.minPower)
        var maxLog = -Float.infinity
        let frame = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let spectrum = UnsafeMutablePointer<fftwf_complex>.allocate(capacity: fftBins)
        let power = UnsafeMutablePointer<Float>.allocate(capacity: fftBins)
        let row = UnsafeMutablePointer<Float>.allocate(capacity: bins)
        defer { frame.deallocate(); spectrum.deallocate(); power.deallocate(); row.deallocate() }

        @inline(__always) func signal(_ k: Int) -> Float { k < usable ? audio[k] : 0 }
        @inline(__always) func padded(_ j: Int) -> Float {
            if j < 0 { return signal(-j) }
            if j >= length && reflectAtEnd { return signal(2 * length - 2 - j) }
            return signal(j)
        }

        window.withUnsafeBufferPointer { win in
            flatFilters.weights.withUnsafeBufferPointer { weights in
                flatFilters.start.withUnsafeBufferPointer { starts in
                    flatFilters.offset.withUnsafeBufferPointer { offsets in
                        flatFilters.length.withUnsafeBufferPointer { lengths in
                            for t in 0..<frames {
                                let start = t * hop - half
                                // Frames that only see the zero padding have zero energy (the rows
                                // start zeroed): skip their FFT. Most of a short clip's 30 s window.
                                let last = start + n - 1
                                if start >= usable && (!reflectAtEnd || last < length || 2 * length - 2 - last >= usable) {
                                    if t < outputFrames {
                                        for m in 0..<bins { out[m * outputFrames + t] = silentLog }
                                    }
                                    maxLog = max(maxLog, silentLog)
                                    continue
                                }
                                if start >= 0 && start + n <= usable {
                                    let source = audio.baseAddress! + start
                                    for i in 0..<n { frame[i] = source[i] * win[i] }
                                } else {
                                    for i in 0..<n { frame[i] = padded(start + i) * win[i] }
                                }
                                plan.execute(input: frame, output: spectrum)
                                for k in 0..<fftBins {
                                    let re = spectrum[k].0, im = spectrum[k].1
                                    power[k] = re * re + im * im
                                }
                                for m in 0..<bins {
                                    let p = power + starts[m]
                                    let w = weights.baseAddress! + offsets[m]
                                    var sum: Float = 0
                                    for j in 0..<lengths[m] { sum += w[j] * p[j] }
                                    row[m] = sum
                                }
                                // logf (fast in glibc) scaled, rather than the slower log10f.
                                for m in 0..<bins {
                                    let e = row[m]
                                    let v = logf(e > Self.minPower ? e : Self.minPower) * Self.log10OfE
                                    if v > maxLog { maxLog = v }
                                    row[m] = v
                                }
                                if t < outputFrames {
                                    for m in 0..<bins { out[m * outputFrames + t] = row[m] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return maxLog
    }
}

/// Owner of one single-precision real-to-complex FFTW plan.
///
/// Planning and destruction hold `planningLock` (FFTW's planner is not thread-safe); the plan is
/// made with FFTW_UNALIGNED so `execute` may use any buffers through the new-array interface,
/// which is safe to call concurrently.
final class FFTWRealPlan: @unchecked Sendable {
    private static let planningLock = NSLock()
    private let plan: fftwf_plan
    let size: Int

    init(size: Int) {
        self.size = size
        let input = fftwf_alloc_real(size)!
        let output = fftwf_alloc_complex(size / 2 + 1)!
        defer { fftwf_free(input); fftwf_free(output) }
        let made = Self.planningLock.withLock {
            fftwf_plan_dft_r2c_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE) | UInt32(FFTW_UNALIGNED))
        }
        // A null plan means FFTW could not plan a plain 1-D transform: a broken installation.
        guard let made else { preconditionFailure("fftwf_plan_dft_r2c_1d(\(size)) returned NULL") }
        plan = made
    }

    /// `fftwf_execute_dft_r2c`: `size` reals in, `size / 2 + 1` complex values out.
    func execute(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<fftwf_complex>) {
        fftwf_execute_dft_r2c(plan, input, output)
    }

    deinit {
        Self.planningLock.withLock { fftwf_destroy_plan(plan) }
    }
}
