import ASR
import Assistant
import Foundation
import HarkTestSupport
import Intent
import Testing
import VAD

/// Answering on a pause: the listener's `.pause` transcripts and the pipeline's rule for acting
/// on them, without models. A recognizer that "hears" the loud bursts in its audio stands in for
/// Whisper, so what it writes depends on how much of the utterance the decode was given.
@Suite struct PauseAnswerTests {
    /// Writes `phrases[n - 1]` for audio holding n loud bursts (counted as runs of loud 10 ms
    /// windows), and counts its decodes.
    final class BurstRecognizer: SpeechRecognizing, @unchecked Sendable {
        let phrases: [String]
        private let lock = NSLock()
        /// What greedy decodes (beam 1: the partials' and fast pause options) write, if given.
        let greedyPhrases: [String]?
        /// What check decodes (greedy on a window of at least `checkWindow` seconds) write.
        let checkPhrases: [String]?
        static let checkWindow = 10
        private var calls = 0, greedyCalls = 0, checkCalls = 0, threadCounts: [Int?] = [], draftLog: [(check: Bool, draft: [Int]?)] = []
        private var silenceLog: [Int] = []
        init(_ phrases: [String], greedy: [String]? = nil, check: [String]? = nil) {
            self.phrases = phrases
            greedyPhrases = greedy
            checkPhrases = check
        }
        var decodes: Int { lock.withLock { calls } }
        var greedyDecodes: Int { lock.withLock { greedyCalls } }
        var checkDecodes: Int { lock.withLock { checkCalls } }
        /// `options.threads` of each decode, in call order.
        var threads: [Int?] { lock.withLock { threadCounts } }
        /// Each greedy decode's draft, in call order, and whether it was a check.
        var drafts: [(check: Bool, draft: [Int]?)] { lock.withLock { draftLog } }
        /// How many samples of digital silence (exact zeros) end each decode's audio, in call order.
        var trailingSilence: [Int] { lock.withLock { silenceLog } }
        /// The tokens "decoded" for `text`: one per word (its length), so drafts can be traced.
        static func tokens(_ text: String) -> [Int] { text.split(separator: " ").map(\.count) }

        func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript {
            let isCheck = options.beamSize == 1 && options.shortenedWindowMinimumSeconds >= Self.checkWindow
            lock.withLock {
                calls += 1
                if options.beamSize == 1 { greedyCalls += 1 }
                if isCheck { checkCalls += 1 }
                threadCounts.append(options.threads)
                if options.beamSize == 1 { draftLog.append((isCheck, options.draftTokens)) }
                silenceLog.append(samples.reversed().prefix { $0 == 0 }.count)
            }
            let phrases = isCheck ? checkPhrases ?? phrases : options.beamSize == 1 ? greedyPhrases ?? phrases : phrases
            var bursts = 0, loud = false
            for start in stride(from: 0, to: samples.count - 160, by: 160) {
                let rms = (samples[start..<start + 160].map { $0 * $0 }.reduce(0, +) / 160).squareRoot()
                if rms > 0.05 && !loud { bursts += 1 }
                loud = rms > 0.05
            }
            let text = bursts == 0 ? "" : phrases[min(bursts, phrases.count) - 1]
            let segment: [String: Any] = ["start": 0, "end": Double(samples.count) / 16000, "text": " " + text, "tokens": Self.tokens(text),
                                          "avgLogProb": -0.2, "noSpeechProb": 0.01, "temperature": 0, "compressionRatio": 1]
            let object: [String: Any] = ["segments": [segment], "text": text, "language": "en"]
            return try JSONDecoder().decode(Transcript.self, from: JSONSerialization.data(withJSONObject: object))
        }
    }

    /// Quiet noise with loud bursts of `length` seconds at `starts`, then `tail` seconds of quiet.
    func recording(bursts starts: [Double], length: Double = 0.6, total: Double) -> [Float] {
        var rng = SplitMix64(seed: 11)
        let count = Int(total * 16000)
        var samples = (0..<count).map { _ in Float(Double(rng.next() % 2000) / 2000 - 0.5) * 0.002 }
        for start in starts {
            for i in Int(start * 16000)..<min(count, Int((start + length) * 16000)) {
                samples[i] = Float(Double(rng.next() % 2000) / 2000 - 0.5) * 0.5
            }
        }
        return samples
    }

    struct Run {
        let log: EventLog
        let statistics: AssistantStatistics
        let listening: ListenStatistics
        let decodes: Int
        let greedyDecodes: Int
        let checkDecodes: Int
        let threads: [Int?]
        let drafts: [(check: Bool, draft: [Int]?)]
    }

    /// The pipeline in always-listening mode over `samples`, played 2x faster than real time (a
    /// live source: early decodes finish while the audio goes on).
    func run(_ phrases: [String], _ samples: [Float], answersOnPause: Bool = true, greedy: [String]? = nil,
             check: [String]? = nil, pauseOptions: TranscriptionOptions? = nil,
             pauseCheckOptions: TranscriptionOptions? = nil, partials: Bool = false) async throws -> Run {
        let dir = try TemporaryDirectory()
        let log = EventLog()
        var config = AssistantConfig()
        config.mode = .always
        config.answersOnPause = answersOnPause
        var listening = ListenerConfig()
        listening.partials = partials
        listening.pauseOptions = pauseOptions
        listening.pauseCheckOptions = pauseCheckOptions
        let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: TimerCenter(),
                                         context: SkillContext(notes: NoteStore(url: dir.file("n.json"))), languageModel: nil)
        let recognizer = BurstRecognizer(phrases, greedy: greedy, check: check)
        let pipeline = try AssistantPipeline(recognizer: recognizer, detector: EnergyVoiceActivityDetector(),
                                             listenerConfig: listening, responder: responder, speech: SilentSpeechOutput(),
                                             config: config) { log.append($0) }
        let statistics = AssistantStatistics(), listenStatistics = ListenStatistics()
        try await pipeline.run(from: PacedAudioSource(SamplesAudioSource(samples: samples), speed: 2),
                               statistics: statistics, listenStatistics: listenStatistics)
        return Run(log: log, statistics: statistics, listening: listenStatistics, decodes: recognizer.decodes,
                   greedyDecodes: recognizer.greedyDecodes, checkDecodes: recognizer.checkDecodes, threads: recognizer.threads,
                   drafts: recognizer.drafts)
    }

    @Test func aCompleteCommandIsAnsweredOnThePauseAndTheEarlyDecodeIsTheFinal() async throws {
        let r = try await run(["What time is it?"], recording(bursts: [1], total: 3))
        #expect(r.log.names == ["final", "intent", "reply"])
        #expect(r.log.intents == ["GetTime"])
        #expect(r.statistics.earlyAnswers == 1 && r.statistics.endpointAnswers == 0)
        #expect(r.listening.pauses == 1)
        // One decode served the pause and the final (the endpoint did not decode again).
        #expect(r.decodes == 1)
        let utterance = try #require(r.listening.utterances.first)
        #expect(utterance.speculative && utterance.text == "What time is it?")
        // The early final ends in the pause, before the endpointer's padded end.
        guard case let .final(_, _, end) = r.log.events.first else { Issue.record("no final first"); return }
        #expect(end > 1.6 && end <= utterance.end + 0.001)
    }

    @Test func aFastPauseDecodeAnswersAndTheFinalDecodeFollowsIt() async throws {
        let r = try await run(["What time is it?"], recording(bursts: [1], total: 3), greedy: ["what time is it"],
                              pauseOptions: ListenerConfig.defaultPartialOptions)
        #expect(r.log.names == ["final", "intent", "reply"], "the same words: no corrected final")
        #expect(r.log.finals == ["what time is it"], "the early final is the fast decode's")
        #expect(r.statistics.earlyAnswers == 1)
        // One fast decode for the pause, then one final decode started in the same pause.
        #expect(r.greedyDecodes == 1 && r.decodes == 2)
        let utterance = try #require(r.listening.utterances.first)
        #expect(utterance.speculative && utterance.text == "What time is it?")

        let misheard = try await run(["What is the date?"], recording(bursts: [1], total: 3), greedy: ["what time is it"],
                                     pauseOptions: ListenerConfig.defaultPartialOptions)
        #expect(misheard.log.finals == ["what time is it", "What is the date?"])
        #expect(misheard.log.intents == ["GetTime"], "answered once, on the pause")
        #expect(misheard.statistics.earlyMismatches == 1)
    }

    @Test func whenTheFastDecodeIsNoCommandTheFinalDecodeAnswersInTheSamePause() async throws {
        let r = try await run(["What is the date?"], recording(bursts: [1], total: 3), greedy: ["what's not ate today"],
                              pauseOptions: ListenerConfig.defaultPartialOptions)
        #expect(r.log.intents == ["GetDate"])
        #expect(r.statistics.earlyAnswers == 1 && r.statistics.endpointAnswers == 0, "answered on the pause, not at the endpoint")
        #expect(r.listening.pauses == 2, "both early decodes were reported")
        #expect(r.greedyDecodes == 1 && r.decodes == 2, "the endpoint did not decode again")
        #expect(r.log.finals == ["What is the date?"])
    }

    /// The fast pause decode's check: greedy on a window the recognizer above tells apart.
    var checkOptions: TranscriptionOptions {
        var check = ListenerConfig.defaultPartialOptions
        check.shortenedWindowMinimumSeconds = BurstRecognizer.checkWindow
        return check
    }

    @Test func aFastDecodeIsAnsweredOnlyWhenItsCheckReadsTheSameCommand() async throws {
        // The fast decode misheard ("set a timer for 410 seconds"); its check did not: no answer
        // from the fast decode, and the careful decode answers in the same pause.
        let r = try await run(["set a timer for ten minutes"], recording(bursts: [1], total: 3),
                              greedy: ["set a timer for 410 seconds"], check: ["set a timer for ten minutes"],
                              pauseOptions: ListenerConfig.defaultPartialOptions, pauseCheckOptions: checkOptions)
        #expect(r.statistics.disputedPauses == 1)
        #expect(r.log.intents == ["SetTimer"])
        guard case let .intent(_, slots, _)? = r.log.events.first(where: { $0.name == "intent" }) else { return }
        #expect(slots["duration"] == "600", "the careful decode's ten minutes, not 410 seconds")
        #expect(r.statistics.earlyAnswers == 1, "still answered in the pause, by the careful decode")
        #expect(r.log.finals == ["set a timer for ten minutes"])
        // The two fast decodes ran one after the other, each on every core.
        #expect(r.greedyDecodes == 2 && r.checkDecodes == 1)
        #expect(Array(r.threads.prefix(2)) == [nil, nil])

        // The same command in other words ("10" and "ten"): answered at once.
        let same = try await run(["set a timer for ten minutes"], recording(bursts: [1], total: 3),
                                 greedy: ["Set a timer for 10 minutes."], check: ["set a timer for ten minutes"],
                                 pauseOptions: ListenerConfig.defaultPartialOptions, pauseCheckOptions: checkOptions)
        #expect(same.statistics.disputedPauses == 0 && same.statistics.earlyAnswers == 1)
        #expect(same.log.finals.first == "Set a timer for 10 minutes.", "answered from the fast decode")

        // A check that hears no command at all also stops the fast answer.
        let none = try await run(["what time is it"], recording(bursts: [1], total: 3),
                                 greedy: ["what time is it"], check: ["what"],
                                 pauseOptions: ListenerConfig.defaultPartialOptions, pauseCheckOptions: checkOptions)
        #expect(none.statistics.disputedPauses == 1 && none.log.intents == ["GetTime"])
    }

    @Test func theCheckReadsTheFastDecodesTokensAsItsDraft() async throws {
        let r = try await run(["what time is it"], recording(bursts: [1], total: 3),
                              greedy: ["what time is it now"], check: ["what time is it"],
                              pauseOptions: ListenerConfig.defaultPartialOptions, pauseCheckOptions: checkOptions)
        let fast = try #require(r.drafts.first), check = try #require(r.drafts.first { $0.check })
        #expect(!fast.check && fast.draft == [], "no partials: the fast decode has no draft")
        #expect(check.draft == BurstRecognizer.tokens("what time is it now"), "the check's draft is the fast decode's tokens")

        // With partials, the fast decode's draft is the last partial's tokens.
        let withPartials = try await run(["what time is it"], recording(bursts: [1], length: 1.2, total: 3),
                                         greedy: ["what time is it now"], check: ["what time is it"],
                                         pauseOptions: ListenerConfig.defaultPartialOptions, pauseCheckOptions: checkOptions,
                                         partials: true)
        let partialCount = withPartials.listening.partials
        try #require(partialCount >= 1 && withPartials.drafts.count > partialCount)
        #expect(withPartials.drafts[partialCount].draft == BurstRecognizer.tokens("what time is it now"),
                "the fast decode after \(partialCount) partial(s) got the last one's tokens: \(withPartials.drafts)")
    }

    @Test func aFastDecodeThatIsNoCommandIsNotChecked() async throws {
        // Only the careful decode can answer then: it starts right after the fast one.
        let r = try await run(["What is the date?"], recording(bursts: [1], total: 3), greedy: ["what's not ate today"],
                              pauseOptions: ListenerConfig.defaultPartialOptions, pauseCheckOptions: checkOptions)
        #expect(r.checkDecodes == 0 && r.greedyDecodes == 1 && r.decodes == 2)
        #expect(r.statistics.disputedPauses == 0, "nothing to dispute")
        #expect(r.log.intents == ["GetDate"] && r.statistics.earlyAnswers == 1, "the careful decode answered in the pause")
    }

    /// Greedy decodes take `seconds` unless cancelled (checked every 5 ms); others as `inner`.
    final class SlowGreedyRecognizer: SpeechRecognizing, @unchecked Sendable {
        let inner: BurstRecognizer
        let seconds: Double
        private let lock = NSLock()
        private var cancelledCount = 0
        var cancellations: Int { lock.withLock { cancelledCount } }
        init(_ inner: BurstRecognizer, seconds: Double) { self.inner = inner; self.seconds = seconds }

        func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript {
            try recognize(samples, options: options, isCancelled: { false })
        }

        func recognize(_ samples: [Float], options: TranscriptionOptions,
                       isCancelled: @escaping @Sendable () -> Bool) throws -> Transcript {
            if options.beamSize == 1 {
                for _ in 0..<Int(seconds / 0.005) {
                    if isCancelled() {
                        lock.withLock { cancelledCount += 1 }
                        throw CancellationError()
                    }
                    Thread.sleep(forTimeInterval: 0.005)
                }
            }
            return try inner.recognize(samples, options: options)
        }
    }

    @Test func pauseDecodesStopWhenTheSpeakerGoesOn() async throws {
        // One utterance with a pause inside: the fast decode taken in that pause is still running
        // when the speech goes on, and is cancelled (it would have taken 1.5 s).
        let recognizer = SlowGreedyRecognizer(BurstRecognizer(["what time is it"]), seconds: 1.5)
        var listening = ListenerConfig()
        listening.partials = false
        listening.pauseMs = 32
        listening.pauseOptions = ListenerConfig.defaultPartialOptions
        let listener = Listener(recognizer: recognizer, detector: EnergyVoiceActivityDetector(), config: listening)
        let samples = recording(bursts: [1, 1.9], total: 4)
        var finals: [String] = []
        for try await event in listener.events(from: PacedAudioSource(SamplesAudioSource(samples: samples), speed: 4)) {
            if case let .final(text, _, _) = event { finals.append(text) }
        }
        #expect(finals == ["what time is it"], "one utterance")
        #expect(recognizer.cancellations >= 1, "the decode of the pause inside the utterance was stopped")
    }

    /// A detector that reads a frame's loudness as the probability a voice detector gives: 1 for
    /// speech, 0.6 for the frame where speech fades (Silero's probability falls like this over
    /// the frame after speech), 0 for the quiet.
    struct FadeDetector: VoiceActivityDetecting {
        struct Session: VoiceActivitySession {
            var frameSize: Int { 512 }
            mutating func probability(of frame: [Float]) -> Float {
                let rms = (frame.map { $0 * $0 }.reduce(0, +) / Float(frame.count)).squareRoot()
                return rms > 0.1 ? 1 : rms > 0.01 ? 0.6 : 0
            }
            mutating func reset() {}
        }
        var sampleRate: Int { 16000 }
        var frameSize: Int { 512 }
        func makeSession() -> Session { Session() }
    }

    /// Quiet noise with loud speech over `loud` frames (512 samples each) and one fading frame
    /// (probability 0.6) at each of `fading`.
    func frames(total: Int, loud: [Range<Int>], fading: [Int]) -> [Float] {
        var rng = SplitMix64(seed: 5)
        func noise(_ amplitude: Float) -> Float { Float(Double(rng.next() % 2000) / 2000 - 0.5) * amplitude }
        var samples = (0..<total * 512).map { _ in noise(0.002) }
        for range in loud { for i in range.lowerBound * 512..<range.upperBound * 512 { samples[i] = noise(0.5) } }
        for frame in fading { for i in frame * 512..<(frame + 1) * 512 { samples[i] = noise(0.05) } }
        return samples
    }

    /// The ends (in frames) of the listener's `.pause` transcripts, its finals, and the silence
    /// that ends the audio of its first decode.
    func pausesAndFinals(_ samples: [Float], startBelow threshold: Float?) async throws -> (pauses: [Int], finals: [String], firstSilence: Int?) {
        var listening = ListenerConfig()
        listening.partials = false
        listening.pauseMs = 32
        listening.pauseStartThreshold = threshold
        listening.pauseOptions = ListenerConfig.defaultPartialOptions
        let recognizer = BurstRecognizer(["set a timer for", "set a timer for ten minutes"])
        let listener = Listener(recognizer: recognizer, detector: FadeDetector(), config: listening)
        var pauses: [Int] = [], finals: [String] = []
        for try await event in listener.events(from: PacedAudioSource(SamplesAudioSource(samples: samples, periodFrames: 512), speed: 2)) {
            if case let .pause(_, _, end, _) = event { pauses.append(Int((end * 16000 / 512).rounded())) }
            if case let .final(text, _, _) = event { finals.append(text) }
        }
        return (pauses, finals, recognizer.trailingSilence.first)
    }

    @Test func aDecodeStartsOnTheFrameWhereTheVoiceFades() async throws {
        // Speech over frames 30..<50, fading in frame 50, quiet from frame 51.
        let samples = frames(total: 120, loud: [30..<50], fading: [50])
        let fading = try await pausesAndFinals(samples, startBelow: 0.9)
        #expect(fading.pauses.first == 51, "the decode's audio ends with the fading frame")
        #expect(fading.firstSilence == 512, "and silence stands in for the quiet frame it has not heard")
        #expect(fading.finals == ["set a timer for"])
        let quiet = try await pausesAndFinals(samples, startBelow: nil)
        #expect(quiet.pauses.first == 52, "without the threshold it waits for the quiet frame")
        #expect(quiet.firstSilence == 0, "whose audio it has")
    }

    @Test func aDecodeStartedOnADipInsideSpeechNeverCounts() async throws {
        // The voice dips in frame 45 and goes on: the decode started there (on audio holding one
        // of the two bursts) is done at once, but no quiet follows it, so it is never reported.
        let samples = frames(total: 120, loud: [30..<45, 46..<60], fading: [45, 60])
        let run = try await pausesAndFinals(samples, startBelow: 0.9)
        #expect(!run.pauses.isEmpty && run.pauses.allSatisfy { $0 == 61 }, "only decodes taken as the voice faded at the end (the fast one, then the final's)")
        #expect(run.finals == ["set a timer for ten minutes"])
    }

    @Test func theAssistantsListeningPresetAnswersFromCheckedFastDecodes() {
        let commands = ListenerConfig.commands
        #expect(commands.pauseMs < ListenerConfig.default.pauseMs)
        #expect(commands.pauseStartThreshold.map { $0 > commands.endpointer.endThreshold } == true, "decodes start as the voice fades")
        #expect(commands.pauseOptions == ListenerConfig.fastPauseDecodeOptions, "a fast decode first")
        #expect(commands.pauseCheckOptions == ListenerConfig.fastPauseCheckOptions, "checked by a second one")
        var careful = ListenerConfig.default.finalOptions
        #expect(commands.finalOptions.temperatures == [0], "no fallback: a command's answer must not wait for it")
        careful.temperatures = [0]
        #expect(commands.finalOptions == careful, "otherwise finals are decoded as carefully as ever")
        let fast = ListenerConfig.fastPauseDecodeOptions
        #expect(fast.beamSize == 1 && fast.shortenedEncoderWindow && fast.shortenedWindowMinimumSeconds >= 6)
        let check = ListenerConfig.fastPauseCheckOptions
        #expect(check.shortenedWindowMinimumSeconds > fast.shortenedWindowMinimumSeconds, "the check reads another window")
    }

    @Test func anIncompleteCommandWaitsForTheRest() async throws {
        // "set a timer for" (pause of 0.4 s: shorter than the 600 ms trailing silence) "ten minutes".
        let r = try await run(["set a timer for", "set a timer for ten minutes"], recording(bursts: [1, 2], total: 4))
        #expect(r.listening.pauses >= 1, "the pause after the first part was decoded and reported")
        #expect(r.log.intents == ["SetTimer"])
        #expect(r.log.finals == ["set a timer for ten minutes"])
        guard case let .intent(_, slots, _)? = r.log.events.first(where: { $0.name == "intent" }) else { return }
        #expect(slots["duration"] == "600")
        #expect(r.statistics.earlyAnswers + r.statistics.endpointAnswers == 1)
    }

    @Test func wordsAddedAfterAnEarlyAnswerAreAnsweredOnlyWhenTheyAreACommandToo() async throws {
        // Hark answers "what time is it" on the pause; the speaker goes on (no gate: silent output).
        let r = try await run(["what time is it", "what time is it in the kitchen"], recording(bursts: [1, 2], total: 4))
        #expect(r.log.intents == ["GetTime"], "answered once")
        #expect(r.log.finals == ["what time is it", "what time is it in the kitchen"], "the corrected final is reported")
        #expect(r.statistics.earlyAnswers == 1 && r.statistics.followOnAnswers == 0)

        let both = try await run(["what time is it", "what time is it set a timer for ten minutes"], recording(bursts: [1, 2], total: 4))
        #expect(both.log.intents == ["GetTime", "SetTimer"])
        #expect(both.statistics.earlyAnswers == 1 && both.statistics.followOnAnswers == 1)
    }

    @Test func changedWordsAreNotAnsweredTwice() async throws {
        let r = try await run(["what time is it", "what is the date"], recording(bursts: [1, 2], total: 4))
        #expect(r.log.intents == ["GetTime"])
        #expect(r.statistics.earlyMismatches == 1)
    }

    @Test func questionsWithoutAnIntentWaitForTheEndpoint() async throws {
        let r = try await run(["why is the sky blue"], recording(bursts: [1], total: 3))
        #expect(r.listening.pauses == 1)
        #expect(r.statistics.earlyAnswers == 0 && r.statistics.endpointAnswers == 1)
        #expect(r.log.names == ["final", "reply"], "no intent: the refusal (the model is off), at the endpoint")
    }

    @Test func freeTextWaitsForTheEndpoint() async throws {
        // "take a note buy" (pause) "milk and eggs": a complete AddNote at the pause, but its
        // message may go on, so Hark waits and notes all of it once.
        let r = try await run(["take a note buy", "take a note buy milk and eggs"], recording(bursts: [1, 2], total: 4))
        #expect(r.listening.pauses >= 1)
        #expect(r.statistics.earlyAnswers == 0 && r.statistics.endpointAnswers == 1)
        #expect(r.log.intents == ["AddNote"])
        guard case let .intent(_, slots, _)? = r.log.events.first(where: { $0.name == "intent" }) else { return }
        #expect(slots["message"] == "buy milk and eggs")
    }

    @Test func offItAnswersAtTheEndpoint() async throws {
        let r = try await run(["What time is it?"], recording(bursts: [1], total: 3), answersOnPause: false)
        #expect(r.log.intents == ["GetTime"])
        #expect(r.statistics.earlyAnswers == 0 && r.statistics.endpointAnswers == 1)
    }
}
