import Foundation
import Testing
import HarkTestSupport
@testable import Audio

private func sine(frequency: Double, rate: Int, seconds: Double, amplitude: Double = 0.5) -> [Float] {
    (0..<Int(Double(rate) * seconds)).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
}

/// Least-squares fit of a sinusoid of `frequency` to `x` sampled at `rate`: amplitude and the
/// RMS of what the fit leaves over.
private func fitSine(_ x: ArraySlice<Float>, frequency: Double, rate: Int) -> (amplitude: Double, residualRMS: Double) {
    var ss = 0.0, sc = 0.0, cc = 0.0, xs = 0.0, xc = 0.0
    for (i, v) in zip(x.indices, x) {
        let w = 2 * Double.pi * frequency * Double(i) / Double(rate)
        let s = sin(w), c = cos(w)
        ss += s * s; sc += s * c; cc += c * c; xs += Double(v) * s; xc += Double(v) * c
    }
    let det = ss * cc - sc * sc
    let a = (xs * cc - xc * sc) / det
    let b = (xc * ss - xs * sc) / det
    var residual = 0.0
    for (i, v) in zip(x.indices, x) {
        let w = 2 * Double.pi * frequency * Double(i) / Double(rate)
        let r = Double(v) - a * sin(w) - b * cos(w)
        residual += r * r
    }
    return ((a * a + b * b).squareRoot(), (residual / Double(x.count)).squareRoot())
}

/// Frequency from linearly interpolated upward zero crossings.
private func zeroCrossingFrequency(_ x: ArraySlice<Float>, rate: Int) -> Double {
    var crossings: [Double] = []
    var i = x.startIndex
    while i + 1 < x.endIndex {
        if x[i] < 0, x[i + 1] >= 0 {
            crossings.append(Double(i) + Double(-x[i] / (x[i + 1] - x[i])))
        }
        i += 1
    }
    guard crossings.count > 1 else { return 0 }
    return Double(crossings.count - 1) * Double(rate) / (crossings.last! - crossings.first!)
}

private func rms(_ x: ArraySlice<Float>) -> Double {
    (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
}

private func decibels(_ ratio: Double) -> Double { 20 * log10(ratio) }

@Suite struct ResamplerTests {
    @Test(arguments: [44_100, 48_000, 22_050, 8000, 11_025, 96_000, 44_101])
    func oneKilohertzKeepsFrequencyAndAmplitude(inputRate: Int) throws {
        let input = sine(frequency: 1000, rate: inputRate, seconds: 1)
        let output = try Resampler.resample(input, from: inputRate, to: 16_000)
        #expect(output.count == 16_000)
        let middle = output[1000..<15_000]   // away from the zero-padded edges
        let fit = fitSine(middle, frequency: 1000, rate: 16_000)
        let gainDB = decibels(fit.amplitude / 0.5)
        #expect(abs(gainDB) < 0.1, "\(inputRate) Hz: gain \(gainDB) dB")
        let frequency = zeroCrossingFrequency(middle, rate: 16_000)
        #expect(abs(frequency - 1000) < 0.1, "\(inputRate) Hz: frequency \(frequency) Hz")
        // Nothing but the tone: distortion and aliasing products 60 dB below it.
        let residualDB = decibels(fit.residualRMS / (0.5 / 2.squareRoot()))
        #expect(residualDB < -60, "\(inputRate) Hz: residual \(residualDB) dB")
    }

    @Test(arguments: [(44_100, 8_500.0), (44_100, 9_000), (44_100, 12_000), (44_100, 20_000),
                      (48_000, 8_400), (48_000, 10_000), (48_000, 15_000), (48_000, 23_000),
                      (22_050, 9_000), (22_050, 11_000), (32_000, 8_300), (96_000, 40_000)])
    func tonesAboveTheNewNyquistAreRemoved(inputRate: Int, frequency: Double) throws {
        let input = sine(frequency: frequency, rate: inputRate, seconds: 0.5)
        let output = try Resampler.resample(input, from: inputRate, to: 16_000)
        let attenuation = -decibels(rms(output[400..<(output.count - 400)]) / (0.5 / 2.squareRoot()))
        #expect(attenuation >= 60, "\(frequency) Hz from \(inputRate) Hz: only \(attenuation) dB down")
    }

    @Test func upsamplingLeavesNoImages() throws {
        // 8 kHz -> 16 kHz: a 3 kHz tone must not leave its 5 kHz image.
        let input = sine(frequency: 3000, rate: 8000, seconds: 0.5)
        let output = try Resampler.resample(input, from: 8000, to: 16_000)
        let middle = output[400..<7600]
        let tone = fitSine(middle, frequency: 3000, rate: 16_000)
        let image = fitSine(middle, frequency: 5000, rate: 16_000)
        #expect(abs(decibels(tone.amplitude / 0.5)) < 0.1)
        #expect(decibels(image.amplitude / 0.5) < -60)
    }

    @Test func streamingMatchesOneShot() throws {
        var rng = SplitMix64(seed: 7)
        let input = (0..<30_000).map { _ in Float.random(in: -1...1, using: &rng) }
        for (inRate, outRate) in [(48_000, 16_000), (44_100, 16_000), (8000, 16_000), (44_101, 16_000)] {
            let resampler = try Resampler(inputRate: inRate, outputRate: outRate)
            let whole = resampler.resample(input)
            var streamed: [Float] = []
            var start = 0
            while start < input.count {
                let end = min(input.count, start + Int.random(in: 1...3000, using: &rng))
                streamed += resampler.process(Array(input[start..<end]))
                start = end
            }
            streamed += resampler.finish()
            #expect(streamed == whole, "\(inRate) -> \(outRate)")
            // After finish() it starts afresh.
            #expect(resampler.process(Array(input[0..<5000])) + resampler.finish() == resampler.resample(Array(input[0..<5000])))
        }
    }

    @Test func lengthsAndIdentity() throws {
        let r = try Resampler(inputRate: 44_100, outputRate: 16_000)
        #expect(r.outputLength(forInputCount: 44_100) == 16_000)
        #expect(r.outputLength(forInputCount: 1) == 1)
        #expect(r.resample([]).isEmpty)
        let x: [Float] = [0.1, 0.2, 0.3]
        #expect(try Resampler.resample(x, from: 16_000, to: 16_000) == x)
        let clip = AudioClip(samples: x, sampleRate: 16_000)
        #expect(try clip.resampled(to: 16_000) == clip)
        // DC passes at unit gain.
        let dc = try Resampler.resample([Float](repeating: 0.25, count: 4410), from: 44_100, to: 16_000)
        #expect(dc[200..<1400].allSatisfy { abs($0 - 0.25) < 1e-5 })
    }

    @Test func absurdRatesThrowInsteadOfAllocating() throws {
        #expect(throws: AudioError.self) { try Resampler(inputRate: 1, outputRate: 16_000) }
        #expect(throws: AudioError.self) { try Resampler(inputRate: 2_147_483_647, outputRate: 16_000) }
        #expect(throws: AudioError.self) { try Resampler(inputRate: 4_000_001, outputRate: 16_000) }  // odd ratio: table too big
        _ = try Resampler(inputRate: 1000, outputRate: 16_000)
        _ = try Resampler(inputRate: 768_000, outputRate: 16_000)
        // A WAV header claiming 3 Hz loads as an error, not as 5000x the memory.
        var builder = WAVBuilder()
        builder.sampleRate = 3
        let dir = try TemporaryDirectory()
        try Data(builder.build(samples: [0.5, 0.25])).write(to: dir.file("slow.wav"))
        #expect(throws: AudioError.self) { try AudioClip.load(dir.file("slow.wav").path) }
        #expect(try AudioClip.load(dir.file("slow.wav").path, sampleRate: nil).samples == [0.5, 0.25])
    }

    @Test func invalidRatesThrow() {
        #expect(throws: AudioError.self) { try Resampler(inputRate: 0, outputRate: 16_000) }
        #expect(throws: AudioError.self) { try Resampler(inputRate: 16_000, outputRate: -1) }
        #expect(throws: AudioError.self) {
            try Resampler(inputRate: 48_000, outputRate: 16_000,
                          options: ResamplerOptions(passbandEdge: 0.9, stopbandEdge: 0.8, stopbandAttenuationDB: 80))
        }
    }
}
