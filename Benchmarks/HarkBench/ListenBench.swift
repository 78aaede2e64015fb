import ASR
import Assistant
import Audio
import Foundation
import VAD

// Live listening benchmarks (release build, real models: tiny.en and Silero VAD).
//
// - `listen`: the headline. Category B (command) clips played in REAL TIME through the whole
//   listener (paced source -> ring buffer -> Silero VAD + endpointer -> partials and finals), the
//   same code path as a device: p50/p95 of true end of speech -> final transcript and of the
//   end-of-speech decision -> final; then CPU use while listening to 20 s of near-silence.
// - `listen-fast`: the same clips read as fast as possible (lossless): only decision -> final
//   (the final's decode time; no queueing exists without real time) and the commands' WER.
// - `listen-wer`: category A through the listener against `hark transcribe` on the whole files
//   (WER, normalised as the ASR evaluation does), and category C (must give no words).
// - `listen-options`: final-decoding variants (window, beam, token budget, prompt) on A and B:
//   decode time, WER, and how many finals differ from the default's.
//
// `HARK_BENCH_LISTEN_CLIPS=N` limits the category B clips (default: all; the real-time run
// takes about 7 minutes for all of them); `HARK_BENCH_LISTEN_ONLY=text` keeps the clips whose
// file name contains it; HARK_LISTEN_TRAILING_MS, HARK_LISTEN_PAD_BEFORE_MS and
// HARK_LISTEN_PAD_AFTER_MS override the endpointer's settings, HARK_LISTEN_PAUSE_MS the quiet
// after which the early final decode starts.

private struct ListenBenchSetup {
    let corpus: URL
    let transcriber: WhisperTranscriber
    let detector: any VoiceActivityDetecting

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
        let models = root.appendingPathComponent("models")
        transcriber = try WhisperTranscriber(modelDirectory: models.appendingPathComponent("whisper-tiny.en"))
        detector = try VoiceActivityDetectors.makeDefault(sileroModel: models.appendingPathComponent("silero_vad_16k.safetensors"))
    }

    /// (file, transcript) of one manifest category; B limited by HARK_BENCH_LISTEN_CLIPS.
    func clips(_ category: String) throws -> [(file: String, transcript: String)] {
        let manifest = try String(contentsOf: corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
        var clips: [(file: String, transcript: String)] = []
        for line in manifest.split(separator: "\n").dropFirst() {
            let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
            if fields.count > 5 && fields[5] == Substring(category) { clips.append((String(fields[0]), String(fields[2]))) }
        }
        if let only = ProcessInfo.processInfo.environment["HARK_BENCH_LISTEN_ONLY"] {
            clips = clips.filter { $0.file.contains(only) }
        }
        if category == "B", let limit = Int(ProcessInfo.processInfo.environment["HARK_BENCH_LISTEN_CLIPS"] ?? "") {
            clips = Array(clips.prefix(limit))
        }
        return clips
    }

    func load(_ file: String) throws -> [Float] {
        try AudioClip.load(corpus.appendingPathComponent(file).path, sampleRate: 16000).samples
    }
}

/// Runs `listener` over `samples` (paced in real time or lossless as fast as possible).
private func listenRun(_ listener: Listener, _ samples: [Float], paced: Bool) async throws -> (text: String, statistics: ListenStatistics) {
    let statistics = ListenStatistics()
    let inner = SamplesAudioSource(samples: samples, periodFrames: 512)
    let source: any AudioSourcing = paced ? PacedAudioSource(inner) : inner
    var finals: [String] = []
    for try await event in listener.events(from: source, lossless: !paced, statistics: statistics) {
        if case let .final(text, _, _) = event { finals.append(text) }
    }
    return (finals.joined(separator: " "), statistics)
}

private func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

private func milliseconds(_ values: [Double]) -> String {
    String(format: "p50 %.0f ms, p95 %.0f ms, max %.0f ms (n=%d)", percentile(values, 0.5) * 1000,
           percentile(values, 0.95) * 1000, (values.max() ?? .nan) * 1000, values.count)
}

/// Corpus-level WER (errors / reference words) with the ASR evaluation's English normaliser.
private struct WERTally {
    var counts = WordErrorCounts()
    let normalizer = EnglishTextNormalizer()
    mutating func add(_ hypothesis: String, reference: String) {
        let c = WordErrorCounts(reference: normalizer.words(reference), hypothesis: normalizer.words(hypothesis))
        counts.substitutions += c.substitutions
        counts.deletions += c.deletions
        counts.insertions += c.insertions
        counts.referenceWords += c.referenceWords
        counts.hypothesisWords += c.hypothesisWords
    }
    var percent: String { String(format: "%.2f %% (%d errors / %d words)", counts.wordErrorRate * 100, counts.errors, counts.referenceWords) }
}

/// The true end of speech of a clip: the last sample above -50 dBFS.
private func trueEndSample(_ clip: [Float]) -> Int? {
    clip.lastIndex(where: { abs($0) > 0.00316 }).map { $0 + 1 }
}

func benchListen() async throws {
    let setup = try ListenBenchSetup()
    let config = benchListenerConfig()
    let listener = Listener(recognizer: setup.transcriber, detector: setup.detector, config: config)
    let clips = try setup.clips("B")
    var fromSpeechEnd: [Double] = [], fromDecision: [Double] = [], decode: [Double] = [], lead: [Double] = [], delay: [Double] = []
    var short: [Double] = []
    var noFinal = 0, partials = 0, warnings = 0, speculative = 0, speculations = 0, pauses = 0
    for clip in clips {
        let samples = try setup.load(clip.file)
        guard let trueEnd = trueEndSample(samples) else { continue }
        // 1.5 s of silence after the clip: room for the trailing silence and the final.
        let run = try await listenRun(listener, samples + [Float](repeating: 0, count: 24_000), paced: true)
        partials += run.statistics.partials
        warnings += run.statistics.warnings
        speculations += run.statistics.speculations
        pauses += run.statistics.pauses
        guard let last = run.statistics.utterances.last(where: { !$0.text.isEmpty }) else { noFinal += 1; continue }
        fromDecision.append(last.decisionToFinalSeconds)
        fromSpeechEnd.append(last.decisionToFinalSeconds + last.decision - Double(trueEnd) / 16000)
        decode.append(last.recognitionSeconds)
        if last.speculative {
            speculative += 1
            // How long before the decision the early decode began, and how late after the pause.
            lead.append(last.recognitionSeconds - last.decisionToFinalSeconds)
            delay.append(last.speculationDelaySeconds)
        }
        if last.end - last.start <= 2.5 { short.append(last.decisionToFinalSeconds) }
    }
    print(String(format: "listen, real time, %d command clips (tiny.en, final beam %d%@, trailing silence %d ms, partials on):",
                 clips.count, config.finalOptions.beamSize, config.finalOptions.shortenedEncoderWindow ? ", shortened window" : "",
                 config.endpointer.trailingSilenceMs))
    print("  true end of speech -> final:      " + milliseconds(fromSpeechEnd))
    print("  end-of-speech decision -> final:  " + milliseconds(fromDecision))
    print("    of which the final's decode:    " + milliseconds(decode))
    print("  decision -> final, utterances <= 2.5 s (commands): " + milliseconds(short))
    print(String(format: "  early final decodes: started before the decision by ") + milliseconds(lead)
          + String(format: "; pause (%d ms of quiet) -> decode start: ", config.pauseMs) + milliseconds(delay))
    print("  clips without a final: \(noFinal); finals decoded during the trailing silence: \(speculative) "
          + "(\(speculations) early decodes started, \(pauses) reported as pause transcripts); partial decodes: \(partials); warnings: \(warnings)")
    print(String(format: "  load average at the end: %@", loadAverage()))

    // Idle: 20 s of near-silence (-70 dBFS noise) in real time; CPU of the whole process.
    var rng = SystemRandomNumberGenerator()
    let quiet = (0..<320_000).map { _ in Float.random(in: -0.0005...0.0005, using: &rng) }
    let before = cpuSeconds()
    let clock = ContinuousClock()
    let wallStart = clock.now
    let idle = try await listenRun(listener, quiet, paced: true)
    let wall = (clock.now - wallStart)
    let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) * 1e-18
    print(String(format: "  idle, 20 s of -70 dBFS noise in real time: %.2f %% of one core (getrusage, user + system; %d utterances)",
                 (cpuSeconds() - before) / wallSeconds * 100, idle.statistics.utterances.count))
    print("  \(blasEnvironment())")
}

func benchListenFast() async throws {
    let setup = try ListenBenchSetup()
    let listener = Listener(recognizer: setup.transcriber, detector: setup.detector, config: benchListenerConfig())
    var decode: [Double] = []
    var speculative = 0
    var wer = WERTally()
    for clip in try setup.clips("B") {
        let run = try await listenRun(listener, try setup.load(clip.file) + [Float](repeating: 0, count: 24_000), paced: false)
        decode += run.statistics.utterances.filter { !$0.text.isEmpty }.map(\.recognitionSeconds)
        speculative += run.statistics.utterances.filter { !$0.text.isEmpty && $0.speculative }.count
        if !clip.transcript.isEmpty { wer.add(run.text, reference: clip.transcript) }
    }
    print("listen, as fast as possible: decision -> final (decode only): " + milliseconds(decode))
    print("  WER on the command clips with transcripts: " + wer.percent + "; finals decoded early: \(speculative)")
}

/// The listener configuration, with HARK_LISTEN_TRAILING_MS, HARK_LISTEN_PAD_BEFORE_MS and
/// HARK_LISTEN_PAD_AFTER_MS overriding the endpointer's defaults (for trying settings).
private func benchListenerConfig() -> ListenerConfig {
    var config = ListenerConfig.default
    let env = ProcessInfo.processInfo.environment
    if let ms = env["HARK_LISTEN_TRAILING_MS"].flatMap(Int.init) { config.endpointer.trailingSilenceMs = ms }
    if let ms = env["HARK_LISTEN_PAD_BEFORE_MS"].flatMap(Int.init) { config.endpointer.padBeforeMs = ms }
    if let ms = env["HARK_LISTEN_PAD_AFTER_MS"].flatMap(Int.init) { config.endpointer.padAfterMs = ms }
    if let ms = env["HARK_LISTEN_PAUSE_MS"].flatMap(Int.init) { config.pauseMs = ms }
    return config
}

func benchListenWER() async throws {
    let setup = try ListenBenchSetup()
    let a = try setup.clips("A").map { ($0, try setup.load($0.file)) }
    var whole = WERTally()
    for (clip, samples) in a { whole.add(try await setup.transcriber.transcribe(samples).text, reference: clip.transcript) }
    print("category A, hark transcribe (whole files, beam 5): WER " + whole.percent)
    var base = benchListenerConfig()
    base.partials = false
    var dictation = base
    dictation.endpointer.trailingSilenceMs = ProcessInfo.processInfo.environment["HARK_LISTEN_TRAILING_MS"].flatMap(Int.init)
        ?? ListenerConfig.dictationTrailingSilenceMs
    for (name, config) in [("listen", base), ("listen --dictation", dictation)] {
        let listener = Listener(recognizer: setup.transcriber, detector: setup.detector, config: config)
        var listened = WERTally()
        for (clip, samples) in a {
            let run = try await listenRun(listener, samples, paced: false)
            listened.add(run.text, reference: clip.transcript)
            print("  \(clip.file): " + run.statistics.utterances.map { String(format: "%.2f-%.2f", $0.start, $0.end) }.joined(separator: ", ")
                  + ": " + run.text)
        }
        print(String(format: "category A, %@ (trailing silence %d ms, padding %d/%d ms): WER ", name, config.endpointer.trailingSilenceMs,
                     config.endpointer.padBeforeMs, config.endpointer.padAfterMs) + listened.percent
              + String(format: ", %.1f %% relative to hark transcribe",
                       (listened.counts.wordErrorRate / whole.counts.wordErrorRate - 1) * 100))
    }
    let listener = Listener(recognizer: setup.transcriber, detector: setup.detector, config: base)
    var words = 0
    for clip in try setup.clips("C") {
        let run = try await listenRun(listener, try setup.load(clip.file), paced: false)
        let n = EnglishTextNormalizer().words(run.text).count
        if n > 0 { print("  \(clip.file): \(run.text)") }
        words += n
    }
    print("category C through listen: \(words) words")
}

func benchListenOptions() async throws {
    let setup = try ListenBenchSetup()
    let base = ListenerConfig.defaultFinalOptions
    var variants: [(name: String, options: TranscriptionOptions, prompt: Double?)] = []
    var o = base
    o.maxNewTokens = 224      // the reference limit: no budget from the utterance's length
    variants.append(("beam 5, full window, no token budget", o, nil))
    variants.append(("beam 5, full window", base, nil))
    o = base
    o.shortenedEncoderWindow = true
    variants.append(("beam 5, shortened window", o, nil))
    o.beamSize = 1
    variants.append(("greedy, shortened window", o, nil))
    o = base
    o.beamSize = 1
    variants.append(("greedy, full window", o, nil))
    variants.append(("beam 5, full window, prompt previous", base, 10))
    o = base
    o.shortenedEncoderWindow = true
    variants.append(("beam 5, shortened window, prompt previous", o, 10))

    let a = try setup.clips("A").map { ($0, try setup.load($0.file)) }
    let b = try setup.clips("B").map { ($0, try setup.load($0.file) + [Float](repeating: 0, count: 8000)) }
    var reference: [String: String] = [:]
    for (index, variant) in variants.enumerated() {
        var config = ListenerConfig.default
        config.partials = false
        config.finalOptions = variant.options
        config.promptWithPreviousWithinSeconds = variant.prompt
        let listener = Listener(recognizer: setup.transcriber, detector: setup.detector, config: config)
        for (category, clips) in [("A", a), ("B", b)] {
            var wer = WERTally()
            var decode: [Double] = []
            var differ = 0, atBudget = 0
            for (clip, samples) in clips {
                let run = try await listenRun(listener, samples, paced: false)
                decode += run.statistics.utterances.map(\.recognitionSeconds)
                atBudget += run.statistics.utterances.filter { $0.tokens >= $0.tokenBudget }.count
                if !clip.transcript.isEmpty { wer.add(run.text, reference: clip.transcript) }
                let key = category + clip.file
                if index == 0 { reference[key] = run.text } else if reference[key] != run.text { differ += 1 }
            }
            print("\(category) \(variant.name): decode " + milliseconds(decode) + ", WER " + wer.percent
                  + ", \(differ) finals differ from the first variant, \(atBudget) decodes at their token budget")
        }
    }
}

/// The 1, 5 and 15 minute load averages (the machine is shared: numbers depend on them).
private func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

/// User + system CPU seconds of this process (all threads).
private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let whole = Double(usage.ru_utime.tv_sec) + Double(usage.ru_stime.tv_sec)
    let micro = Double(usage.ru_utime.tv_usec) + Double(usage.ru_stime.tv_usec)
    return whole + micro / 1e6
}
