import ASR
import Foundation

/// Log-mel features of one 30 s window (80 bins, 3000 frames): best of several runs, one thread.
func benchMel() async throws {
    let sampleRate = LogMelSpectrogram.sampleRate
    // A deterministic speech-like test signal: two tones with a slow amplitude wobble and a chirp.
    let samples: [Float] = (0..<(30 * sampleRate)).map { n in
        let t = Double(n) / Double(sampleRate)
        let wobble = 0.5 + 0.5 * sin(2 * Double.pi * 3 * t)
        return Float(wobble * (0.3 * sin(2 * Double.pi * 220 * t) + 0.1 * sin(2 * Double.pi * (500 + 100 * t) * t)))
    }
    var plan: LogMelSpectrogram?
    let planSeconds = seconds { plan = LogMelSpectrogram() }
    let spectrogram = plan!
    var frames = 0
    _ = spectrogram.compute(samples)  // warm up
    let best = bestOf(20) { frames = spectrogram.compute(samples).frames }
    let bestCPU = bestThreadCPUTime(20) { _ = spectrogram.compute(samples) }
    let short = Array(samples[0..<(3 * sampleRate)])
    let bestShort = bestOf(50) { _ = spectrogram.compute(short, padToSeconds: nil) }
    let wide = LogMelSpectrogram(melBins: 128)
    let best128 = bestOf(10) { _ = wide.compute(samples) }
    print(String(format: "mel 30 s, 80 bins (%d frames): %.2f ms wall, %.2f ms thread CPU (best of 20); plan+filters %.2f ms",
                 frames, best * 1e3, bestCPU * 1e3, planSeconds * 1e3))
    print(String(format: "mel 3 s unpadded, 80 bins: %.3f ms (best of 50)", bestShort * 1e3))
    print(String(format: "mel 30 s, 128 bins: %.2f ms (best of 10)", best128 * 1e3))
    print(String(format: "peak memory %.1f MiB", peakMemoryMiB()))
}

/// The best (lowest) CPU time of the calling thread over `repeats` runs of `body`: unlike wall
/// time, not inflated when other processes take the core (the build machine is shared).
func bestThreadCPUTime(_ repeats: Int, _ body: () -> Void) -> Double {
    func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = now()
        body()
        best = min(best, now() - start)
    }
    return best
}
