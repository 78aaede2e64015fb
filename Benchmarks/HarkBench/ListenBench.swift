import ASR
import Assistant
import Audio
import Foundation
import VAD

/// Live listening: command clips played in real time through the whole listener (paced
/// source -> ring buffer -> Silero VAD + endpointer -> Whisper), and idle CPU on silence.
///
/// - latency from the true end of speech (last sample above -50 dBFS) to the final transcript,
///   and from the end-of-speech decision (utterance end - padding + trailing silence, in the
///   paced audio clock) to the final transcript, p50/p95 over the clips;
/// - CPU time (user + system, all threads) per second of wall time while listening to 10 s of
///   quiet noise, in percent of one core.
///
/// `HARK_BENCH_LISTEN_CLIPS=N` limits the clips (default 12; each plays in real time).
func benchListen() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let models = root.appendingPathComponent("models")
    let transcriber = try WhisperTranscriber(modelDirectory: models.appendingPathComponent("whisper-tiny.en"))
    let detector = try VoiceActivityDetectors.makeDefault(sileroModel: models.appendingPathComponent("silero_vad_16k.safetensors"))
    var config = ListenerConfig.default
    config.partials = true
    let listener = Listener(recognizer: transcriber, detector: detector, config: config)

    let limit = Int(ProcessInfo.processInfo.environment["HARK_BENCH_LISTEN_CLIPS"] ?? "") ?? 12
    let manifest = try String(contentsOf: corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    var clips: [String] = []
    for line in manifest.split(separator: "\n").dropFirst() {
        let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
        if fields.count > 5 && fields[5] == "B" && clips.count < limit { clips.append(String(fields[0])) }
    }

    var fromSpeechEnd: [Double] = []
    var fromDecision: [Double] = []
    let clock = ContinuousClock()
    for file in clips {
        let clip = try AudioClip.load(corpus.appendingPathComponent(file).path, sampleRate: 16000).samples
        guard let lastLoud = clip.lastIndex(where: { abs($0) > 0.00316 }) else { continue }
        let trueEnd = Double(lastLoud + 1) / 16000
        let samples = clip + [Float](repeating: 0, count: 16000 * 3 / 2)
        let source = PacedAudioSource(SamplesAudioSource(samples: samples, periodFrames: 512))
        let start = clock.now      // the paced clock starts at the first read, a few us later
        var finals: [(at: Duration, end: Double)] = []
        for try await event in listener.events(from: source) {
            if case let .final(_, _, end) = event { finals.append((clock.now - start, end)) }
        }
        guard let last = finals.last else { print("  \(file): no final transcript"); continue }
        let at = Double(last.at.components.seconds) + Double(last.at.components.attoseconds) * 1e-18
        fromSpeechEnd.append(at - trueEnd)
        let decision = last.end - Double(config.endpointer.padAfterMs) / 1000 + Double(config.endpointer.trailingSilenceMs) / 1000
        fromDecision.append(at - min(decision, Double(samples.count) / 16000))
    }
    func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
    print(String(format: "listen latency over %d command clips (real time, tiny.en, beam 5, trailing silence %d ms):",
                 fromSpeechEnd.count, config.endpointer.trailingSilenceMs))
    print(String(format: "  true end of speech -> final: p50 %.0f ms, p95 %.0f ms",
                 percentile(fromSpeechEnd, 0.5) * 1000, percentile(fromSpeechEnd, 0.95) * 1000))
    print(String(format: "  end-of-speech decision -> final: p50 %.0f ms, p95 %.0f ms",
                 percentile(fromDecision, 0.5) * 1000, percentile(fromDecision, 0.95) * 1000))

    // Idle: 10 s of quiet noise (-70 dBFS) in real time.
    var rng = SystemRandomNumberGenerator()
    let quiet = (0..<160_000).map { _ in Float.random(in: -0.0005...0.0005, using: &rng) }
    let before = cpuSeconds()
    let wallStart = clock.now
    var finals = 0
    for try await event in listener.events(from: PacedAudioSource(SamplesAudioSource(samples: quiet, periodFrames: 512))) {
        if case .final = event { finals += 1 }
    }
    let wall = clock.now - wallStart
    let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) * 1e-18
    print(String(format: "  idle listening to 10 s of -70 dBFS noise: %.2f %% of one core (%d finals)",
                 (cpuSeconds() - before) / wallSeconds * 100, finals))
    print("  \(blasEnvironment())")
}

/// User + system CPU seconds of this process (all threads).
private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let whole = Double(usage.ru_utime.tv_sec) + Double(usage.ru_stime.tv_sec)
    let micro = Double(usage.ru_utime.tv_usec) + Double(usage.ru_stime.tv_usec)
    return whole + micro / 1e6
}
