import ASR
import Assistant
import Audio
import Foundation
import Intent
import VAD

/// The assistant end to end (`AssistantPipeline` in always-listening mode): clips played in real
/// time through listener -> responder -> speech (espeak-ng to the ALSA `null` device), timing
///
/// - end of speech (the clip's last sample above -50 dBFS) -> intent result: the responder's
///   `intent` event, or, when no intent matches, its `reply` (here the refusal: the language
///   model is off, so every reply is a skill-path reply);
/// - end of speech -> first reply sample handed to ALSA (after espeak-ng synthesized it).
///
/// Two sets: the corpus command clips (category B; real voices, but not Hark's commands, so
/// most end in "Sorry, I can't help with that.") and Hark's own commands spoken by espeak-ng.
/// Targets (issue 7): intent 250 ms, first reply audio 600 ms for a skill reply.
/// `HARK_BENCH_ASSISTANT_CLIPS=N` limits the corpus clips (default 12; each plays in real time).
func benchAssistant() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let models = root.appendingPathComponent("models")
    let transcriber = try WhisperTranscriber(modelDirectory: models.appendingPathComponent("whisper-tiny.en"))
    let detector = try VoiceActivityDetectors.makeDefault(sileroModel: models.appendingPathComponent("silero_vad_16k.safetensors"))
    let recorder = LatencyRecorder()
    let speech = SpeakerOutput(device: "null") { _, _ in recorder.mark(.firstSample) }
    var options = CommandResponder.Options()
    options.useLanguageModel = false
    let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: TimerCenter(), languageModel: nil, options: options)
    var config = AssistantConfig()
    config.mode = .always
    let pipeline = try AssistantPipeline(recognizer: transcriber, detector: detector, responder: responder,
                                         speech: speech, config: config) { event in
        switch event {
        case let .final(_, _, end): recorder.mark(.final, streamEnd: end)
        case .intent: recorder.mark(.intent)
        case .reply: recorder.mark(.reply)
        default: break
        }
    }

    let limit = Int(ProcessInfo.processInfo.environment["HARK_BENCH_ASSISTANT_CLIPS"] ?? "") ?? 12
    let manifest = try String(contentsOf: corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    var corpusClips: [(String, [Float])] = []
    for line in manifest.split(separator: "\n").dropFirst() {
        let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count > 5 && fields[5] == "B" && corpusClips.count < limit else { continue }
        corpusClips.append((String(fields[2]), try AudioClip.load(corpus.appendingPathComponent(String(fields[0])).path, sampleRate: 16000).samples))
    }
    var spoken: [(String, [Float])] = []
    for text in ["what time is it", "set a timer for five minutes", "what is twelve times fourteen",
                 "convert five miles to kilometers", "what's the date today", "cancel the timer"] {
        let voice = try SpeechSynthesizer.shared.synthesize(text)
        spoken.append((text, try Resampler.resample(voice.samples, from: voice.sampleRate, to: 16000)))
    }

    for (title, clips) in [("corpus command clips (category B)", corpusClips), ("Hark commands spoken by espeak-ng", spoken)] {
        var toIntent: [Double] = [], toAudio: [Double] = [], toFinal: [Double] = [], decisionToIntent: [Double] = []
        var intents = 0
        for (text, clip) in clips {
            guard let lastLoud = clip.lastIndex(where: { abs($0) > 0.00316 }) else { continue }
            let speechEnd = Double(lastLoud + 1) / 16000
            let samples = [Float](repeating: 0, count: 8000) + clip + [Float](repeating: 0, count: 16000 * 2)
            recorder.reset()
            let started = ContinuousClock.now
            try await pipeline.run(from: PacedAudioSource(SamplesAudioSource(samples: samples, periodFrames: 512)))
            let end = started + .milliseconds(Int64((0.5 + speechEnd) * 1000))
            let marks = recorder.marks
            guard let result = marks[.intent] ?? marks[.reply] else { print("  \(text): no reply"); continue }
            if marks[.intent] != nil { intents += 1 }
            toIntent.append(milliseconds(result - end))
            if let final = marks[.final] { toFinal.append(milliseconds(final - end)) }
            // The endpointer decides trailingSilenceMs after the utterance's (padded) end.
            if let finalEnd = recorder.finalEnd {
                let endpointing = pipeline.listener.config.endpointer
                let decision = finalEnd - Double(endpointing.padAfterMs) / 1000 + Double(endpointing.trailingSilenceMs) / 1000
                decisionToIntent.append(milliseconds(result - (started + .milliseconds(Int64(decision * 1000)))))
            }
            if let audio = marks[.firstSample] { toAudio.append(milliseconds(audio - end)) }
        }
        print("assistant latency, \(title): \(toIntent.count) clips (\(intents) matched an intent), real time, tiny.en, always listening")
        print(String(format: "  end of speech -> final transcript:   p50 %4.0f ms, p95 %4.0f ms", percentile(toFinal, 0.5), percentile(toFinal, 0.95)))
        print(String(format: "  end of speech -> intent result:     p50 %4.0f ms, p95 %4.0f ms (target 250 ms)", percentile(toIntent, 0.5), percentile(toIntent, 0.95)))
        print(String(format: "  endpoint decision -> intent result:  p50 %4.0f ms, p95 %4.0f ms (trailing silence %d ms)",
                     percentile(decisionToIntent, 0.5), percentile(decisionToIntent, 0.95), pipeline.listener.config.endpointer.trailingSilenceMs))
        print(String(format: "  end of speech -> first reply sample: p50 %4.0f ms, p95 %4.0f ms (target 600 ms)", percentile(toAudio, 0.5), percentile(toAudio, 0.95)))
    }
    print("  \(blasEnvironment())")
}

private func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
}

private func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

/// When each milestone of one clip was first reached.
private final class LatencyRecorder: @unchecked Sendable {
    enum Milestone { case final, intent, reply, firstSample }
    private let lock = NSLock()
    private var reached: [Milestone: ContinuousClock.Instant] = [:]
    /// Where the last final's utterance ends in the stream, seconds.
    private(set) var finalEnd: Double?
    func mark(_ m: Milestone, streamEnd: Double? = nil) {
        lock.withLock {
            if reached[m] == nil { reached[m] = .now }
            if let streamEnd { finalEnd = streamEnd }
        }
    }
    func reset() { lock.withLock { reached = [:]; finalEnd = nil } }
    var marks: [Milestone: ContinuousClock.Instant] { lock.withLock { reached } }
}
