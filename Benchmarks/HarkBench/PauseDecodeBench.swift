import ASR
import Assistant
import Audio
import Foundation
import Intent

/// How far a fast pause decode (greedy, shortened encoder window) and its check can be trusted
/// to answer a command before the careful decode (beam 5, full window) is done - not timed in
/// real time, so it can be run on a busy machine.
///
/// For every command clip (the corpus's category B clips with an intent label, and Hark's own
/// commands spoken by espeak-ng at two speeds) the audio a pause decode sees (the clip up to its
/// last loud sample plus 64 ms of quiet - `HARK_BENCH_PAUSE_TAIL_MS` sets it - after 128, 200
/// or 300 ms of lead-in) is decoded carefully, fast (window >= 6 s), and by check decodes. The fast decode "answers" when its
/// transcript is a complete command (`CommandResponder.intentAnswerableOnPause`) -
/// alone, or only when a check agrees (same words, or same intent and slot values as the
/// assistant requires); it answers wrongly when that intent differs from that of the words said
/// (for the coffee orders, whose words are not given, the careful decode's). Category C
/// (non-speech) must give no command. `HARK_BENCH_PROMPT="Hey Hark."` decodes with the prompt
/// the assistant sets after its wake phrase; `HARK_BENCH_FAST_WINDOW=4` gives the fast decode
/// another window (a 4 s one made a wrong command alone and kept 246 with its check, against
/// 0 and 250 for the listener's 6 s); `HARK_BENCH_VERBOSE=1` prints every clip.
func benchPauseDecode() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let corpus = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    let models = root.appendingPathComponent("models")
    let transcriber = try WhisperTranscriber(modelDirectory: models.appendingPathComponent("whisper-tiny.en"))
    var options = CommandResponder.Options()
    options.useLanguageModel = false
    let intents = try IntentSet.builtIn().merging(IntentSet.load(file: root.appendingPathComponent("Tests/Fixtures/intent/corpus-commands.yaml")))
    let responder = CommandResponder(intents: intents, timers: nil, languageModel: nil, options: options)
    // The listener's rules for pause transcripts: which segments are speech, which are doubtful.
    let listening = ListenerConfig.commands
    // Quiet after the last loud sample: the decodes the listener takes as the voice fades end
    // about 36 ms after it (median), those after a quiet frame 68 ms (`scripts/bench pause-timing`).
    let tailSamples = 16 * (Int(ProcessInfo.processInfo.environment["HARK_BENCH_PAUSE_TAIL_MS"] ?? "") ?? 64)

    // (name, audio, the words said when known)
    var clips: [(String, [Float], String?)] = []
    let manifest = try String(contentsOf: corpus.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    for line in manifest.split(separator: "\n").dropFirst() {
        let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count > 6 && fields[5] == "B" && !fields[6].isEmpty else { continue }
        clips.append((String(fields[0]), try AudioClip.load(corpus.appendingPathComponent(String(fields[0])).path, sampleRate: 16000).samples,
                      fields[2].isEmpty ? nil : String(fields[2])))
    }
    let sentences = ["what time is it", "set a timer for five minutes", "what is twelve times fourteen",
                     "convert five miles to kilometers", "what's the date today", "cancel the timer",
                     "how much time is left on the timer", "what is two plus two", "set a timer for ten seconds",
                     "what day is it", "convert ten pounds to kilograms", "set an alarm for seven thirty",
                     "set a timer for fifteen minutes", "set a timer for three minutes", "set a timer for forty seconds",
                     "set an alarm for six forty five", "what is seven times eight", "what is one hundred divided by four",
                     "convert twenty degrees celsius to fahrenheit", "what's the weather like"]
    for wpm in [165, 200] {
        for text in sentences {
            let voice = try SpeechSynthesizer.shared.synthesize(text, voice: .init(wordsPerMinute: wpm))
            clips.append(("espeak \(wpm): \(text)", try Resampler.resample(voice.samples, from: voice.sampleRate, to: 16000), text))
        }
    }

    // Each clip is cut with several lead-ins (the listener's cut starts about 200 ms before the
    // voice detector's start of speech; where exactly varies). A "primary" fast decode (window
    // >= 6 s) answers alone, or only when a "checker" decode of differently cut audio agrees.
    struct Checker { var name: String; var extraLead: Int; var window: Int }
    let leads = [2048, 3200, 4800]
    let checkers = [Checker(name: "same cut, >= \(ListenerConfig.fastPauseCheckOptions.shortenedWindowMinimumSeconds) s: the listener's",
                            extraLead: 0, window: ListenerConfig.fastPauseCheckOptions.shortenedWindowMinimumSeconds),
                    Checker(name: "same cut, >= 8 s", extraLead: 0, window: 8),
                    Checker(name: "lead -96 ms, >= 6 s", extraLead: -1536, window: 6)]
    struct Outcome { var intent: ParsedIntent?; var words: [String]; var minLogProb: Float; var seconds: Double }
    struct Tally { var answered = 0; var wrong = 0; var examples: [String] = [] }
    var alone = Tally()
    var agreeWords = [Tally](repeating: Tally(), count: checkers.count)
    var agreeIntent = [Tally](repeating: Tally(), count: checkers.count)
    var fastSeconds: [Double] = []
    var carefulSeconds: [Double] = []
    var carefulAnswered = 0, carefulWrong = 0, cuts = 0
    // HARK_BENCH_PROMPT="Hey Hark.": as after a wake phrase (`WakePhrase.recognizerPrompt`).
    let prompt = ProcessInfo.processInfo.environment["HARK_BENCH_PROMPT"]
    // HARK_BENCH_FAST_WINDOW=4: another shortened window for the fast decode (seconds, at least).
    let fastWindow = Int(ProcessInfo.processInfo.environment["HARK_BENCH_FAST_WINDOW"] ?? "") ?? ListenerConfig.fastPauseDecodeOptions.shortenedWindowMinimumSeconds
    let verbose = ProcessInfo.processInfo.environment["HARK_BENCH_VERBOSE"] == "1"
    func complete(_ text: String) -> ParsedIntent? {
        responder.intentAnswerableOnPause(text)
    }
    func same(_ a: ParsedIntent?, _ b: ParsedIntent?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.means(sameAs: b)
    }
    func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "'") }).map(String.init)
    }
    func fastDecode(_ audio: [Float], window: Int, tokens: Int) throws -> Outcome {
        var fast = ListenerConfig.fastPauseDecodeOptions
        fast.shortenedWindowMinimumSeconds = window
        fast.initialPrompt = prompt
        fast.maxNewTokens = tokens
        let clock = ContinuousClock.now
        let transcript = try transcriber.recognize(audio, options: fast)
        let seconds = (ContinuousClock.now - clock).seconds
        // What the listener reports: segments with likely words or a low no-speech probability.
        let text = transcript.segments.filter { listening.isSpeech($0, sureWordsOutweighNoSpeech: true) }.map(\.text).joined()
        return Outcome(intent: complete(text), words: words(text),
                       minLogProb: transcript.segments.compactMap(\.minTokenLogProb).min() ?? -.infinity, seconds: seconds)
    }
    func count(_ tally: inout Tally, answered intent: ParsedIntent?, truth: ParsedIntent?, example: String) {
        guard let intent else { return }
        tally.answered += 1
        if !same(intent, truth) { tally.wrong += 1; tally.examples.append(example) }
    }
    for (name, clip, said) in clips {
        guard let lastLoud = clip.lastIndex(where: { abs($0) > 0.00316 }) else { continue }
        let tail = [Float](repeating: 0, count: tailSamples)
        func cut(lead: Int) -> [Float] { [Float](repeating: 0, count: lead) + clip[...lastLoud] + tail }
        var careful = ListenerConfig.defaultFinalOptions
        careful.initialPrompt = prompt
        careful.maxNewTokens = 16 + Int((Double(clip.count + 4800) / 16000 * 6).rounded(.up))
        let clock = ContinuousClock.now
        let reference = try transcriber.recognize(cut(lead: 4800), options: careful).text
        carefulSeconds.append((ContinuousClock.now - clock).seconds)
        // The intent of the words said (the careful decode's when unknown: the coffee orders).
        let truth = complete(said ?? reference)
        if let intent = complete(reference) { carefulAnswered += 1; if !same(intent, truth) { carefulWrong += 1 } }
        var line = "  \(name): careful \"\(reference)\""
        for lead in leads {
            cuts += 1
            let primary = try fastDecode(cut(lead: lead), window: fastWindow, tokens: careful.maxNewTokens!)
            fastSeconds.append(primary.seconds)
            let said = "\(name) lead \(lead): \(primary.words.joined(separator: " "))"
            count(&alone, answered: primary.intent, truth: truth, example: said)
            line += String(format: " | lead %d \"%@\" min %.2f%@", lead, primary.words.joined(separator: " "), primary.minLogProb,
                           primary.intent == nil ? "" : (same(primary.intent, truth) ? " ok" : " WRONG"))
            for (k, checker) in checkers.enumerated() {
                let other = try fastDecode(cut(lead: max(0, lead + checker.extraLead)), window: checker.window, tokens: careful.maxNewTokens!)
                let example = said + " / " + other.words.joined(separator: " ")
                count(&agreeWords[k], answered: other.words == primary.words ? primary.intent : nil, truth: truth, example: example)
                count(&agreeIntent[k], answered: other.intent != nil && same(other.intent, primary.intent) ? primary.intent : nil,
                      truth: truth, example: example)
                line += " [\(other.words.joined(separator: " "))]"
            }
        }
        if verbose { print(line) }
    }
    // Non-speech (category C, the first 5 s of each): a fast decode must not make a command of it,
    // even when its no-speech probability is overruled by likely words (as the listener does).
    var noiseCommands: [String] = []
    var noiseClips = 0
    for line in manifest.split(separator: "\n").dropFirst() {
        let fields: [Substring] = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count > 6 && fields[5] == "C" else { continue }
        let samples = try AudioClip.load(corpus.appendingPathComponent(String(fields[0])).path, sampleRate: 16000).samples.prefix(80000)
        var fast = ListenerConfig.fastPauseDecodeOptions
        fast.shortenedWindowMinimumSeconds = fastWindow
        fast.maxNewTokens = 48
        fast.initialPrompt = prompt
        let transcript = try transcriber.recognize(Array(samples), options: fast)
        noiseClips += 1
        let text = transcript.segments.filter { listening.isSpeech($0, sureWordsOutweighNoSpeech: true) }.map(\.text).joined()
        if complete(text) != nil { noiseCommands.append("\(fields[0]): \(text)") }
        if verbose { print("  \(fields[0]): fast \"\(transcript.text)\" \(transcript.segments.map { String(format: "nsp %.2f avg %.2f min %.2f", $0.noSpeechProb, $0.avgLogProb, $0.minTokenLogProb ?? 0) })") }
    }
    print("non-speech (category C): \(noiseClips) clips, fast decodes that would answer a command: \(noiseCommands.count) \(noiseCommands)")
    print("pause decodes of \(clips.count) command clips, \(tailSamples / 16) ms of quiet after the last loud sample (70 corpus B, \(clips.count - 70) espeak-ng) x \(leads.count) lead-ins = \(cuts) cuts, tiny.en"
          + (prompt.map { ", prompt \"\($0)\"" } ?? ""))
    print(String(format: "  careful decode (beam 5, full window, lead 300 ms): median %.0f ms, %d of %d clips answered, %d wrong",
                 median(carefulSeconds) * 1000, carefulAnswered, clips.count, carefulWrong))
    print(String(format: "  fast decode (greedy, window >= %d s): median %.0f ms", fastWindow, median(fastSeconds) * 1000))
    func report(_ label: String, _ tally: Tally) {
        print("  \(label): \(tally.answered) of \(cuts) cuts answered, \(tally.wrong) wrong" + (tally.examples.isEmpty ? "" : " \(tally.examples)"))
    }
    report("fast alone", alone)
    for (k, checker) in checkers.enumerated() {
        report("fast + checker (\(checker.name)) agreeing on the words", agreeWords[k])
        report("fast + checker (\(checker.name)) agreeing on the intent", agreeIntent[k])
    }
}

private func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    return values.sorted()[values.count / 2]
}
