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
/// End of speech is the TRUE end (the clip's last loud sample, at its real-time position from the
/// first read of the paced source), not the endpointer's decision. Each row is also split by how
/// the command was answered: on the speaker's pause (a complete intent, `answersOnPause`) or at
/// the endpoint (after the trailing silence: no intent, or the early words were not one).
///
/// Two sets: the corpus command clips (category B with an intent label: real voices; their
/// commands are given to the parser as a user intent file, Tests/Fixtures/intent/
/// corpus-commands.yaml) and Hark's own commands spoken by espeak-ng.
/// Targets (issue 7): intent 250 ms, first reply audio 600 ms for a skill reply.
/// `HARK_BENCH_ASSISTANT_CLIPS=N` limits the corpus clips (default 24 of the 70; each plays in real time),
/// `HARK_BENCH_ASSISTANT_SPOKEN=N` the spoken Hark commands (default 12; the first 6 are the set
/// of earlier runs), `HARK_BENCH_ANSWERS_ON_PAUSE=0` waits for the endpoint always (A/B). The
/// listener runs with the assistant's preset (`ListenerConfig.commands`);
/// `HARK_BENCH_PAUSE_DECODE=fast` adds the fast pause decode (`fastPauseDecodeOptions`: greedy
/// on a shortened window, checked by `fastPauseCheckOptions`) before the final's, `=careful`
/// leaves only the final's, and HARK_LISTEN_PAUSE_MS sets the pause.
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
    // Hark's intents plus the corpus's commands, as a user's intent file (Speech Commands words,
    // coffee orders).
    let intents = try IntentSet.builtIn().merging(IntentSet.load(file: root.appendingPathComponent("Tests/Fixtures/intent/corpus-commands.yaml")))
    let responder = CommandResponder(intents: intents, timers: TimerCenter(), languageModel: nil, options: options)
    var config = AssistantConfig()
    config.mode = .always
    config.answersOnPause = ProcessInfo.processInfo.environment["HARK_BENCH_ANSWERS_ON_PAUSE"] != "0"
    let env = ProcessInfo.processInfo.environment
    var listening = ListenerConfig.commands
    if let ms = env["HARK_LISTEN_PAUSE_MS"].flatMap(Int.init) { listening.pauseMs = ms }
    switch env["HARK_BENCH_PAUSE_DECODE"] {
    case "fast":
        listening.pauseOptions = ListenerConfig.fastPauseDecodeOptions
        listening.pauseCheckOptions = ListenerConfig.fastPauseCheckOptions
    case "careful":
        listening.pauseOptions = nil
        listening.pauseCheckOptions = nil
    default: break
    }
    let pipeline = try AssistantPipeline(recognizer: transcriber, detector: detector, listenerConfig: listening, responder: responder,
                                         speech: speech, config: config) { event in
        switch event {
        case .final: recorder.mark(.final)
        case .intent: recorder.mark(.intent)
        case .reply: recorder.mark(.reply)
        default: break
        }
    }

    // The category B clips with an intent label, spread evenly over the manifest's order.
    let limit = Int(ProcessInfo.processInfo.environment["HARK_BENCH_ASSISTANT_CLIPS"] ?? "") ?? 24
    let manifest = try String(contentsOf: corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    var labelled: [[Substring]] = []
    for line in manifest.split(separator: "\n").dropFirst() {
        let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
        if fields.count > 6 && fields[5] == "B" && !fields[6].isEmpty { labelled.append(fields) }
    }
    var corpusClips: [(String, [Float])] = []
    for index in 0..<min(limit, labelled.count) {
        let fields = labelled[index * labelled.count / min(limit, labelled.count)]
        corpusClips.append(("\(fields[6]): \(fields[0])", try AudioClip.load(corpus.appendingPathComponent(String(fields[0])).path, sampleRate: 16000).samples))
    }
    var spoken: [(String, [Float])] = []
    for text in ["what time is it", "set a timer for five minutes", "what is twelve times fourteen",
                 "convert five miles to kilometers", "what's the date today", "cancel the timer",
                 "how much time is left on the timer", "what is two plus two", "set a timer for ten seconds",
                 "what day is it", "convert ten pounds to kilograms", "set an alarm for seven thirty"]
        .prefix(Int(ProcessInfo.processInfo.environment["HARK_BENCH_ASSISTANT_SPOKEN"] ?? "") ?? 12) {
        let voice = try SpeechSynthesizer.shared.synthesize(text)
        spoken.append((text, try Resampler.resample(voice.samples, from: voice.sampleRate, to: 16000)))
    }

    for (title, clips) in [("corpus command clips (category B)", corpusClips), ("Hark commands spoken by espeak-ng", spoken)] {
        var toIntent = Split(), toAudio = Split(), toFinal = Split(), decisionToIntent: [Double] = []
        // The clips a skill answered (an intent matched): the issue's first-reply target is for these.
        var skillToIntent = Split(), skillToAudio = Split()
        var intents = 0, pauses = 0, disputed = 0, mismatches = 0
        for (text, clip) in clips {
            guard let lastLoud = clip.lastIndex(where: { abs($0) > 0.00316 }) else { continue }
            let speechEnd = Double(lastLoud + 1) / 16000
            let samples = [Float](repeating: 0, count: 8000) + clip + [Float](repeating: 0, count: 16000 * 2)
            recorder.reset()
            let source = FirstReadClock(PacedAudioSource(SamplesAudioSource(samples: samples, periodFrames: 512)))
            let statistics = AssistantStatistics(), listening = ListenStatistics()
            try await pipeline.run(from: source, statistics: statistics, listenStatistics: listening)
            guard let started = source.firstRead else { continue }
            let end = started + .microseconds(Int64((0.5 + speechEnd) * 1_000_000))
            let marks = recorder.marks
            guard let result = marks[.intent] ?? marks[.reply] else { print("  \(text): no reply"); continue }
            if marks[.intent] != nil { intents += 1 }
            let early = statistics.earlyAnswers > 0
            pauses += listening.pauses
            disputed += statistics.disputedPauses
            mismatches += statistics.earlyMismatches
            toIntent.add(milliseconds(result - end), early: early)
            if env["HARK_BENCH_VERBOSE"] == "1" {
                let u = listening.utterances.last
                print(String(format: "  %@: %@ %.0f ms, %d pause transcripts, final \"%@\" (speculative %@, decode %.0f ms)", text, early ? "pause" : "endpoint",
                             milliseconds(result - end), listening.pauses, u?.text ?? "-", (u?.speculative ?? false) ? "yes" : "no", (u?.recognitionSeconds ?? 0) * 1000))
                // Each pause decode: where its audio ends against the end of speech, how long after
                // that audio was captured it started, and how long it took to its `.pause`.
                for decode in listening.pauseDecodes {
                    print(String(format: "    %@ pause decode: audio to %+.0f ms, started %.0f ms after, took %.0f ms", decode.fast ? "fast" : "careful",
                                 (decode.end - 0.5 - speechEnd) * 1000, decode.startDelaySeconds * 1000, decode.seconds * 1000)
                          + (decode.checkSeconds.map { String(format: " (its check %.0f ms)", $0 * 1000) } ?? "")
                          + ": \"\(decode.text)\"" + (decode.checkText.map { " / \"\($0)\"" } ?? ""))
                }
            }
            if let final = marks[.final] { toFinal.add(milliseconds(final - end), early: early) }
            // At the endpoint: the endpointer decided trailingSilenceMs after the last voiced frame.
            if !early, let decision = listening.utterances.last(where: { !$0.text.isEmpty })?.decision {
                decisionToIntent.append(milliseconds(result - (started + .microseconds(Int64(decision * 1_000_000)))))
            }
            if let audio = marks[.firstSample] { toAudio.add(milliseconds(audio - end), early: early) }
            if let intent = marks[.intent] {
                skillToIntent.add(milliseconds(intent - end), early: early)
                if let audio = marks[.firstSample] { skillToAudio.add(milliseconds(audio - end), early: early) }
            }
        }
        print("assistant latency, \(title): \(toIntent.all.count) clips (\(intents) matched an intent), real time, tiny.en, always listening, "
              + "answers on pause \(config.answersOnPause ? "on" : "off"), pause \(listening.pauseMs) ms, pause decode "
              + (listening.pauseOptions == nil ? "the final's" : "beam \(listening.pauseOptions!.beamSize)\(listening.pauseOptions!.shortenedEncoderWindow ? ", shortened window" : "")")
              + (listening.pauseCheckOptions == nil ? "" : ", checked on a >= \(listening.pauseCheckOptions!.shortenedWindowMinimumSeconds) s window"))
        print("  answered on the pause: \(toIntent.early.count), at the endpoint: \(toIntent.late.count) "
              + "(pause transcripts: \(pauses), fast ones whose check disagreed: \(disputed), early answers whose final changed: \(mismatches))")
        print("  end of speech -> final transcript:   " + toFinal.line)
        print("  end of speech -> intent result:      " + toIntent.line + " (target 250 ms)")
        print(String(format: "  endpoint decision -> intent result:  p50 %4.0f ms, p95 %4.0f ms (at the endpoint only; trailing silence %d ms)",
                     percentile(decisionToIntent, 0.5), percentile(decisionToIntent, 0.95), pipeline.listener.config.endpointer.trailingSilenceMs))
        print("  end of speech -> first reply sample: " + toAudio.line)
        print("  skill replies (\(skillToIntent.all.count) clips): end of speech -> intent " + skillToIntent.line + " (target 250 ms)")
        print("  skill replies: end of speech -> first reply sample " + skillToAudio.line + " (target 600 ms)")
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

/// Latencies of one row, all and split by answer path.
private struct Split {
    var all: [Double] = [], early: [Double] = [], late: [Double] = []
    mutating func add(_ ms: Double, early isEarly: Bool) {
        all.append(ms)
        if isEarly { early.append(ms) } else { late.append(ms) }
    }
    var line: String {
        func p(_ v: [Double]) -> String { v.isEmpty ? "-" : String(format: "p50 %4.0f / p95 %4.0f ms", percentile(v, 0.5), percentile(v, 0.95)) }
        return "\(p(all)) (on the pause: \(p(early)), n=\(early.count); at the endpoint: \(p(late)), n=\(late.count))"
    }
}

/// A source that notes when it was first read: the paced source's time zero.
private final class FirstReadClock: AudioSourcing, @unchecked Sendable {
    let inner: any AudioSourcing
    var sampleRate: Int { inner.sampleRate }
    private let lock = NSLock()
    private var first: ContinuousClock.Instant?
    init(_ inner: any AudioSourcing) { self.inner = inner }
    var firstRead: ContinuousClock.Instant? { lock.withLock { first } }
    func read() throws -> [Float]? {
        lock.withLock { if first == nil { first = .now } }
        return try inner.read()
    }
}

/// When each milestone of one clip was first reached.
private final class LatencyRecorder: @unchecked Sendable {
    enum Milestone { case final, intent, reply, firstSample }
    private let lock = NSLock()
    private var reached: [Milestone: ContinuousClock.Instant] = [:]
    func mark(_ m: Milestone) {
        lock.withLock { if reached[m] == nil { reached[m] = .now } }
    }
    func reset() { lock.withLock { reached = [:] } }
    var marks: [Milestone: ContinuousClock.Instant] { lock.withLock { reached } }
}

/// Would the pause decode (`ListenerConfig.default.pauseOptions`: greedy on a shortened window)
/// answer the same as the final's decode (beam 5, full window)? For every espeak-spoken Hark
/// command and every corpus command clip (category B), decoded whole as fast as possible: the
/// intents the parser accepts from each transcript (name and canonical slots), counted by
/// agreement, and the transcripts themselves (same words; word error rate on the clips with a
/// reference). An intent the fast decode finds and the final does not is a command answered
/// wrongly early.
func benchAssistantAgreement() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let transcriber = try WhisperTranscriber(modelDirectory: root.appendingPathComponent("models/whisper-tiny.en"))
    let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: TimerCenter(), languageModel: nil)
    var clips: [(name: String, samples: [Float], reference: String?)] = []
    for text in ["what time is it", "set a timer for five minutes", "what is twelve times fourteen",
                 "convert five miles to kilometers", "what's the date today", "cancel the timer",
                 "how much time is left on the timer", "what is two plus two", "set a timer for ten seconds",
                 "what day is it", "convert ten pounds to kilograms", "set an alarm for seven thirty",
                 "set a timer for", "convert five miles to", "what is twelve times"] {
        let voice = try SpeechSynthesizer.shared.synthesize(text)
        clips.append((text, try Resampler.resample(voice.samples, from: voice.sampleRate, to: 16000), nil))
    }
    let manifest = try String(contentsOf: corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    for line in manifest.split(separator: "\n").dropFirst() {
        let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count > 5 && fields[5] == "B" else { continue }
        clips.append((String(fields[0]), try AudioClip.load(corpus.appendingPathComponent(String(fields[0])).path, sampleRate: 16000).samples,
                      fields[2].isEmpty ? nil : String(fields[2])))
    }
    let config = ListenerConfig.default
    let fastOptions = config.pauseOptions ?? ListenerConfig.defaultPartialOptions
    func decode(_ samples: [Float], _ options: TranscriptionOptions) throws -> (text: String, intent: String, ms: Double) {
        let clock = ContinuousClock(), began = clock.now
        let text = try transcriber.recognize(samples, options: config.bounded(options, samples: samples.count, sampleRate: 16000)).text
        let ms = milliseconds(clock.now - began)
        guard let parsed = responder.acceptedIntent(text) else { return (text, "-", ms) }
        return (text, parsed.name + " " + parsed.slots.mapValues(\.canonical).sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ","), ms)
    }
    let normalizer = EnglishTextNormalizer()
    var same = 0, bothNone = 0, fastOnly = 0, finalOnly = 0, differ = 0, sameWords = 0
    var fastErrors = WordErrorCounts(), finalErrors = WordErrorCounts(), withReference = 0
    var fastMs: [Double] = [], finalMs: [Double] = []
    for clip in clips {
        let samples = [Float](repeating: 0, count: 3200) + clip.samples + [Float](repeating: 0, count: 2048)
        let fast = try decode(samples, fastOptions)
        let final = try decode(samples, ListenerConfig.defaultFinalOptions)
        fastMs.append(fast.ms); finalMs.append(final.ms)
        if normalizer.words(fast.text) == normalizer.words(final.text) { sameWords += 1 }
        if let reference = clip.reference.map(normalizer.words) {
            withReference += 1
            fastErrors = fastErrors + WordErrorCounts(reference: reference, hypothesis: normalizer.words(fast.text))
            finalErrors = finalErrors + WordErrorCounts(reference: reference, hypothesis: normalizer.words(final.text))
        }
        let name = clip.name
        switch (fast.intent == "-", final.intent == "-") {
        case (true, true): bothNone += 1
        case (false, true): fastOnly += 1; print("  fast only: \(name): fast \"\(fast.text)\" -> \(fast.intent); final \"\(final.text)\"")
        case (true, false): finalOnly += 1; print("  final only: \(name): final \"\(final.text)\" -> \(final.intent); fast \"\(fast.text)\"")
        case (false, false):
            if fast.intent == final.intent { same += 1 } else { differ += 1; print("  differ: \(name): fast \(fast.intent); final \(final.intent)") }
        }
    }
    print("assistant intent agreement, pause decode (beam \(fastOptions.beamSize)\(fastOptions.shortenedEncoderWindow ? ", shortened window" : "")) "
          + "vs final (beam 5, full window), \(clips.count) clips:")
    print("  same intent \(same), both none \(bothNone), different intent \(differ), intent only from the fast decode \(fastOnly), only from the final \(finalOnly)")
    print(String(format: "  same words %d of %d; word error rate on the %d clips with a reference: fast %.1f %%, final %.1f %%", sameWords, clips.count,
                 withReference, fastErrors.wordErrorRate * 100, finalErrors.wordErrorRate * 100))
    print(String(format: "  decode: fast p50 %.0f / p95 %.0f ms, final p50 %.0f / p95 %.0f ms (load %@)", percentile(fastMs, 0.5), percentile(fastMs, 0.95),
                 percentile(finalMs, 0.5), percentile(finalMs, 0.95),
                 (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"))
}
