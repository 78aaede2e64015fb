import Foundation

/// Slaney-style triangular mel filters with Slaney area normalisation, as
/// `librosa.filters.mel(sr:, n_fft:, n_mels:, htk: False, norm: "slaney")` computes them
/// (the filters Whisper ships in `mel_filters.npz`). Slaney's mel scale (Auditory Toolbox,
/// 1998) is linear below 1 kHz (200/3 Hz per mel) and logarithmic above (27 mels per
/// factor 6.4).
///
/// Stored sparsely: each filter is non-zero on a short run of FFT bins.
public struct MelFilterBank: Sendable {
    /// One triangular filter: `weights[j]` applies to FFT bin `firstBin + j`.
    public struct Filter: Sendable {
        /// First FFT bin with a non-zero weight.
        public let firstBin: Int
        public let weights: [Float]
    }

    /// One filter per mel bin, low to high frequency.
    public let filters: [Filter]
    /// FFT bins per frame: `fftSize / 2 + 1`.
    public let fftBins: Int

    public init(sampleRate: Double, fftSize: Int, melBins: Int) {
        let fftBins = fftSize / 2 + 1
        let maxHz = sampleRate / 2
        let lowMel = Self.hzToMel(0), highMel = Self.hzToMel(maxHz)
        // melBins + 2 edges, equally spaced in mel, converted back to Hz.
        let edgesHz = (0..<(melBins + 2)).map { i in
            Self.melToHz(lowMel + (highMel - lowMel) * Double(i) / Double(melBins + 1))
        }
        var filters: [Filter] = []
        filters.reserveCapacity(melBins)
        for m in 0..<melBins {
            let lower = edgesHz[m], center = edgesHz[m + 1], upper = edgesHz[m + 2]
            let areaNorm = 2.0 / (upper - lower)
            var first = -1
            var weights: [Float] = []
            for k in 0..<fftBins {
                let hz = Double(k) * sampleRate / Double(fftSize)
                let rising = (hz - lower) / (center - lower)
                let falling = (upper - hz) / (upper - center)
                let w = max(0, min(rising, falling))
                if w > 0 {
                    if first < 0 { first = k }
                    // Keep interior zeros (none occur for a triangle) by padding to k.
                    while first + weights.count < k { weights.append(0) }
                    weights.append(Float(w * areaNorm))
                }
            }
            filters.append(Filter(firstBin: max(first, 0), weights: weights))
        }
        self.filters = filters
        self.fftBins = fftBins
    }

    /// The dense `[melBins, fftBins]` matrix (row-major), for tests and inspection.
    public var dense: [Float] {
        var out = [Float](repeating: 0, count: filters.count * fftBins)
        for (m, f) in filters.enumerated() {
            for (j, w) in f.weights.enumerated() { out[m * fftBins + f.firstBin + j] = w }
        }
        return out
    }

    private static let linearHzPerMel = 200.0 / 3
    private static let logStartHz = 1000.0
    private static let logStartMel = logStartHz / linearHzPerMel  // 15
    private static let logStep = log(6.4) / 27

    /// Slaney mel of a frequency in Hz.
    public static func hzToMel(_ hz: Double) -> Double {
        hz >= logStartHz ? logStartMel + log(hz / logStartHz) / logStep : hz / linearHzPerMel
    }

    /// Frequency in Hz of a Slaney mel value.
    public static func melToHz(_ mel: Double) -> Double {
        mel >= logStartMel ? logStartHz * exp(logStep * (mel - logStartMel)) : mel * linearHzPerMel
    }
}
