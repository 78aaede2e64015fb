import Audio
import Foundation

/// Resampler and WAV throughput on 60 s of audio.
func benchAudio() throws {
    let seconds60 = 60
    for rate in [48_000, 44_100, 22_050, 8000] {
        let input = (0..<(rate * seconds60)).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / Double(rate))) }
        let resampler = try Resampler(inputRate: rate, outputRate: 16_000)
        var output: [Float] = []
        var cpu = Double.infinity
        let time = bestOf(3) { cpu = min(cpu, threadCPUSeconds { output = resampler.resample(input) }) }
        print(String(format: "resample 60 s %5d -> 16000 Hz: %6.1f ms wall, %6.1f ms CPU (%4.0fx real time, %d taps/output)",
                     rate, time * 1000, cpu * 1000, Double(seconds60) / cpu, resampler.tapsPerOutput))
        precondition(output.count == 16_000 * seconds60)
    }
    let clip = AudioClip(samples: (0..<(16_000 * seconds60)).map { Float(sin(Double($0) * 0.01)) * 0.5 }, sampleRate: 16_000)
    let data = try WAVWriter.encode(clip)
    var decoded: WAVFile?
    let readTime = try bestOf(3) { decoded = try WAVReader.read(data: data, source: "bench") }
    let writeTime = try bestOf(3) { _ = try WAVWriter.encode(clip) }
    precondition(decoded?.samples.count == clip.samples.count)
    print(String(format: "WAV 60 s 16-bit mono: read %.1f ms, encode %.1f ms", readTime * 1000, writeTime * 1000))
}

/// CPU seconds this thread spent in `body` (a fairer number than wall time on a busy machine).
private func threadCPUSeconds(_ body: () -> Void) -> Double {
    var start = timespec(), end = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
    body()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
    return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
}
