import Foundation

/// Parameters of the resampler's low-pass filter, relative to the Nyquist frequency of the
/// lower of the two rates. The defaults keep 0...0.84 of that band flat (0...6.7 kHz when the
/// output is 16 kHz) and attenuate everything at or above it by about 90 dB.
public struct ResamplerOptions: Sendable, Equatable, Codable {
    /// End of the pass band, as a fraction of the lower Nyquist frequency.
    public var passbandEdge: Double = 0.84
    /// Start of the stop band, as a fraction of the lower Nyquist frequency. 1.0 means nothing
    /// that could alias survives.
    public var stopbandEdge: Double = 1.0
    /// Stop-band attenuation the Kaiser window is designed for, in dB.
    public var stopbandAttenuationDB: Double = 90

    public init() {}
    public init(passbandEdge: Double, stopbandEdge: Double, stopbandAttenuationDB: Double) {
        self.passbandEdge = passbandEdge
        self.stopbandEdge = stopbandEdge
        self.stopbandAttenuationDB = stopbandAttenuationDB
    }

    public static let `default` = ResamplerOptions()
}

/// Band-limited sample-rate conversion by a Kaiser-windowed sinc kernel evaluated as a
/// polyphase filter bank (J. O. Smith, "Digital Audio Resampling Home Page", CCRMA 2002; Kaiser
/// window design formulas from Oppenheim & Schafer, "Discrete-Time Signal Processing", 7.6).
///
/// The ratio is reduced to `L/M` (output/input). Output sample `n` sits at input time `n*M/L`;
/// its `phase` is `(n*M) mod L`, and each phase has its own precomputed tap row, normalised to
/// unit DC gain. When `L` exceeds `maxPhases` (odd rates), the nearest of `maxPhases` evenly
/// spaced phases is used (timing error below 1/8192 sample, i.e. below -75 dB).
///
/// Streaming: feed chunks to `process(_:)` and call `finish()` at the end; the concatenated
/// output equals `resample(_:)` of the whole input. Output sample 0 is aligned with input
/// sample 0 (no delay). Threading: a `Resampler` holds per-stream state; use one per stream
/// and from one thread at a time.
public final class Resampler {
    public let inputRate: Int
    public let outputRate: Int
    public let options: ResamplerOptions

    /// Reduced ratio: `up` output samples per `down` input samples.
    let up: Int
    let down: Int
    /// Number of tap rows and taps per row (a multiple of 8).
    let phaseCount: Int
    let tapsPerPhase: Int
    /// Taps before the output instant: row `p`, tap `k` weighs input `i0 - (leading - 1) + k`.
    let leading: Int
    /// `phaseCount * tapsPerPhase` taps.
    let taps: [Float]

    static let maxPhases = 4096

    // Streaming state.
    /// Input samples from absolute index `bufferStart`; starts with `leading - 1` zeros.
    private var buffer: [Float]
    private var bufferStart: Int
    /// Input samples received so far, and output samples produced.
    private var inputCount = 0
    private var outputCount = 0

    /// - Throws: `AudioError.invalidArgument` for a non-positive rate or an option outside
    ///   0 < passbandEdge < stopbandEdge and attenuation below 20 dB.
    public init(inputRate: Int, outputRate: Int, options: ResamplerOptions = .default) throws {
        guard inputRate > 0 else {
            throw AudioError.invalidArgument(name: "input sample rate", value: String(inputRate), reason: "it must be positive")
        }
        guard outputRate > 0 else {
            throw AudioError.invalidArgument(name: "output sample rate", value: String(outputRate), reason: "it must be positive")
        }
        guard options.passbandEdge > 0, options.stopbandEdge > options.passbandEdge,
              options.stopbandEdge <= 2, options.stopbandAttenuationDB >= 20 else {
            throw AudioError.invalidArgument(name: "resampler options", value: "\(options)",
                                             reason: "need 0 < passbandEdge < stopbandEdge <= 2 and attenuation >= 20 dB")
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.options = options
        let g = Resampler.gcd(inputRate, outputRate)
        up = outputRate / g
        down = inputRate / g
        phaseCount = min(up, Resampler.maxPhases)

        // Kaiser design in units of the lower rate's samples.
        let scale = min(1, Double(outputRate) / Double(inputRate))  // lower rate / input rate
        let attenuation = options.stopbandAttenuationDB
        let beta = attenuation > 50 ? 0.1102 * (attenuation - 8.7)
            : 0.5842 * pow(attenuation - 21, 0.4) + 0.07886 * (attenuation - 21)
        let transition = 2 * Double.pi * (options.stopbandEdge - options.passbandEdge) / 2  // rad/sample
        let order = (attenuation - 8) / (2.285 * transition)
        let halfWidthLower = max(2, (order / 2).rounded(.up))          // in lower-rate samples
        let halfWidth = halfWidthLower / scale                          // in input samples
        let cutoff = (options.passbandEdge + options.stopbandEdge) / 4  // cycles per lower-rate sample

        leading = Int(halfWidth.rounded(.up))
        let span = 2 * leading
        tapsPerPhase = (span + 7) / 8 * 8
        var table = [Float](repeating: 0, count: phaseCount * tapsPerPhase)
        let i0Beta = Resampler.besselI0(beta)
        for p in 0..<phaseCount {
            let frac = Double(p) / Double(phaseCount)
            var row = [Double](repeating: 0, count: tapsPerPhase)
            var sum = 0.0
            for k in 0..<span {
                let d = Double(k - (leading - 1)) - frac       // input samples from output instant
                let u = d * scale                               // lower-rate samples
                guard abs(u) < halfWidthLower else { continue }
                let x = 2 * cutoff * u
                let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
                let r = u / halfWidthLower
                let window = Resampler.besselI0(beta * (1 - r * r).squareRoot()) / i0Beta
                row[k] = sinc * window
                sum += row[k]
            }
            for k in 0..<span { table[p * tapsPerPhase + k] = Float(row[k] / sum) }
        }
        taps = table
        buffer = [Float](repeating: 0, count: leading - 1)
        bufferStart = -(leading - 1)
    }

    /// Resamples a whole signal (ignores and does not disturb any streaming state).
    public func resample(_ input: [Float]) -> [Float] {
        let outCount = outputLength(forInputCount: input.count)
        if outCount == 0 { return [] }
        // Zero padding on both sides so every tap row reads inside the buffer.
        var padded = [Float](repeating: 0, count: leading - 1 + input.count + tapsPerPhase + 1)
        padded.withUnsafeMutableBufferPointer { p in
            input.withUnsafeBufferPointer { src in
                if let base = src.baseAddress { (p.baseAddress! + leading - 1).update(from: base, count: src.count) }
            }
        }
        return [Float](unsafeUninitializedCapacity: outCount) { out, initialized in
            padded.withUnsafeBufferPointer { src in
                render(from: src, start: -(leading - 1), outputs: 0..<outCount, into: out.baseAddress!)
            }
            initialized = outCount
        }
    }

    /// Number of output samples for `inputCount` input samples: `ceil(inputCount * L / M)`.
    public func outputLength(forInputCount inputCount: Int) -> Int {
        (inputCount * up + down - 1) / down
    }

    /// Feeds a chunk of a stream; returns the output samples that are now fully determined.
    public func process(_ chunk: [Float]) -> [Float] {
        buffer.append(contentsOf: chunk)
        inputCount += chunk.count
        // Output n needs inputs up to i0(n) + tapsPerPhase - leading (the row's last tap).
        var end = outputCount
        while true {
            let (i0, _) = position(end)
            if i0 + (tapsPerPhase - (leading - 1)) >= inputCount { break }
            end += 1
        }
        return emit(upTo: end)
    }

    /// Ends the stream: returns the remaining output (the input is taken to be zero beyond its
    /// end) and resets the resampler for a new stream.
    public func finish() -> [Float] {
        let total = outputLength(forInputCount: inputCount)
        buffer.append(contentsOf: [Float](repeating: 0, count: tapsPerPhase + 1))
        let out = emit(upTo: total)
        buffer = [Float](repeating: 0, count: leading - 1)
        bufferStart = -(leading - 1)
        inputCount = 0
        outputCount = 0
        return out
    }

    private func emit(upTo end: Int) -> [Float] {
        guard end > outputCount else { return [] }
        let count = end - outputCount
        let out = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            buffer.withUnsafeBufferPointer { src in
                render(from: src, start: bufferStart, outputs: outputCount..<end, into: out.baseAddress!)
            }
            initialized = count
        }
        outputCount = end
        // Drop input no future output needs.
        let (nextI0, _) = position(outputCount)
        let keepFrom = nextI0 - (leading - 1)
        let drop = keepFrom - bufferStart
        if drop > 4096, drop <= buffer.count {
            buffer.removeFirst(drop)
            bufferStart = keepFrom
        }
        return out
    }

    /// Input index at or before output `n`'s instant, and its tap row.
    @inline(__always)
    func position(_ n: Int) -> (Int, Int) {
        let t = n * down
        var i0 = t / up
        let rem = t - i0 * up
        if phaseCount == up { return (i0, rem) }
        var phase = (rem * phaseCount + up / 2) / up
        if phase == phaseCount { phase = 0; i0 += 1 }
        return (i0, phase)
    }

    /// Computes outputs `range` from `src`, whose element 0 is input index `start`.
    private func render(from src: UnsafeBufferPointer<Float>, start: Int, outputs range: Range<Int>,
                        into out: UnsafeMutablePointer<Float>) {
        let width = tapsPerPhase
        taps.withUnsafeBufferPointer { table in
            let tableBase = UnsafeRawPointer(table.baseAddress!)
            let srcBase = UnsafeRawPointer(src.baseAddress!)
            var index = 0
            for n in range {
                let (i0, phase) = position(n)
                let first = i0 - (leading - 1) - start
                precondition(first >= 0 && first + width <= src.count, "resampler buffer underrun")
                let x = srcBase + first * MemoryLayout<Float>.stride
                let h = tableBase + phase * width * MemoryLayout<Float>.stride
                var acc0 = SIMD8<Float>()
                var acc1 = SIMD8<Float>()
                var k = 0
                while k + 16 <= width {
                    acc0 += x.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                        * h.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                    acc1 += x.loadUnaligned(fromByteOffset: (k + 8) * 4, as: SIMD8<Float>.self)
                        * h.loadUnaligned(fromByteOffset: (k + 8) * 4, as: SIMD8<Float>.self)
                    k += 16
                }
                if k < width {
                    acc0 += x.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                        * h.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                }
                out[index] = (acc0 + acc1).sum()
                index += 1
            }
        }
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// Modified Bessel function of the first kind, order 0 (power series).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0
        var term = 1.0
        let q = x * x / 4
        var k = 1.0
        while term > 1e-12 * sum {
            term *= q / (k * k)
            sum += term
            k += 1
        }
        return sum
    }
}

extension Resampler {
    /// Resamples `samples` from `inputRate` to `outputRate` with default options.
    public static func resample(_ samples: [Float], from inputRate: Int, to outputRate: Int) throws -> [Float] {
        if inputRate == outputRate { return samples }
        return try Resampler(inputRate: inputRate, outputRate: outputRate).resample(samples)
    }
}
