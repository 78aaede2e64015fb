import ASR
import Foundation
import VAD

/// Speech to text for one utterance at a time; `WhisperTranscriber` is the real one, tests
/// may pass a fake.
public protocol SpeechRecognizing: Sendable {
    func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript
    /// `recognize`, stopping early (throwing `CancellationError`) once `isCancelled` answers
    /// true. The default ignores it: the decode runs to its end.
    func recognize(_ samples: [Float], options: TranscriptionOptions,
                   isCancelled: @escaping @Sendable () -> Bool) throws -> Transcript
}

extension SpeechRecognizing {
    public func recognize(_ samples: [Float], options: TranscriptionOptions,
                          isCancelled: @escaping @Sendable () -> Bool) throws -> Transcript {
        try recognize(samples, options: options)
    }
}

extension WhisperTranscriber: SpeechRecognizing {
    public func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript {
        try transcribeSync(samples, options: options)
    }

    public func recognize(_ samples: [Float], options: TranscriptionOptions,
                          isCancelled: @escaping @Sendable () -> Bool) throws -> Transcript {
        try transcribeSync(samples, options: options, isCancelled: isCancelled)
    }
}

/// How the listener decodes and when it speaks up. All fields have defaults.
public struct ListenerConfig: Sendable, Codable, Equatable {
    /// Utterance boundaries (thresholds, trailing silence, padding).
    public var endpointer: EndpointerConfig = .default
    /// Re-decode the growing utterance for a partial at most this often (seconds of audio).
    public var partialInterval: Double = 0.4
    /// Show partials at all.
    public var partials = true
    /// Decoding of partials: greedy, no timestamps, the encoder window cut to the audio.
    public var partialOptions: TranscriptionOptions = ListenerConfig.defaultPartialOptions
    /// Decoding of each utterance's final transcript.
    public var finalOptions: TranscriptionOptions = ListenerConfig.defaultFinalOptions
    /// Token budget of a decode, per second of audio (plus `tokenMargin`), when the options do
    /// not set `maxNewTokens`. Speech needs about 3-4 tokens per second; the budget only stops
    /// hallucination loops (which otherwise run to 224 tokens, seconds of decoding).
    public var tokensPerSecond: Double = 6
    /// Tokens allowed beyond `tokensPerSecond` (timestamps, very short utterances).
    public var tokenMargin: Int = 16
    /// Prompt each final with the previous utterance's text when it ended at most this many
    /// seconds before (continuity of dictation); nil never prompts.
    public var promptWithPreviousWithinSeconds: Double? = nil
    /// Start the final decode early, on its own thread, once the speaker has been quiet for
    /// `pauseMs`: the rest of the trailing silence then overlaps the decode. Used when the
    /// utterance does end there (speech that resumes makes a new guess).
    public var speculativeFinals = true
    /// Quiet (voice activity below the end threshold) after which the speaker counts as
    /// pausing: the early final decode starts, on the audio up to that point. Shorter than the
    /// end padding (`endpointer.padAfterMs`): the quiet audio the decode lacks changes nothing
    /// Whisper writes, and every millisecond here is a millisecond of latency.
    public var pauseMs = 128
    /// Start the early decodes sooner, on the frame where the voice detector's probability
    /// drops below this, even if it is still above the end threshold: as speech ends the
    /// detector's probability falls over a frame or two (1.00, 0.61, 0.16), and waiting for a
    /// quiet frame costs one frame more. Such a decode reads silence in place of that frame
    /// (`pauseAudio`), and counts only once `pauseMs` of quiet follow its audio with no voiced
    /// frame; a dip inside speech starts a decode that the next voiced frame cancels. nil:
    /// decodes start after `pauseMs` of quiet.
    public var pauseStartThreshold: Float? = nil
    /// Report each early decode that finishes while the speaker is still quiet as a `.pause`
    /// event (the assistant acts on a complete command without waiting for the endpoint).
    public var pauseTranscripts = true
    /// Decoding of the first `.pause` transcript, when it should come sooner than the early
    /// final decode can give it (e.g. `defaultPartialOptions`: greedy on a shortened encoder
    /// window). The early final decode then starts once this one is done (one decode at a
    /// time: they share the CPU) and is reported as a second `.pause` if the speaker is still
    /// quiet. nil: the early final decode is the only pause transcript.
    public var pauseOptions: TranscriptionOptions? = nil
    /// A second decode of the fast pause decode's audio (`pauseOptions`), run right after it: its
    /// text goes with the `.pause` as an alternative reading, and the assistant acts only
    /// when both mean the same command. A fast decode can mishear with confidence where the
    /// utterance happens to be cut ("set a Tyler 410 seconds"); a decode on another window
    /// rarely makes the same mistake. nil: no check.
    public var pauseCheckOptions: TranscriptionOptions? = nil
    /// An early decode counts for the utterance when it was taken in the same pause (no speech
    /// since) and its audio ends within this much of the endpointer's end.
    public var speculationToleranceMs = 250
    /// An utterance whose every segment has a no-speech probability above this gives no final.
    public var noSpeechThreshold: Float = 0.6
    /// Audio the ring buffer between capture and recognition holds, in seconds.
    public var bufferSeconds: Double = 60
    /// Warn when a final transcript arrives more than this many seconds after the audio that
    /// ended its utterance (once per episode: the next warning needs a prompt final first).
    public var behindWarningSeconds: Double = 3

    public init() {}
    /// For commands: an utterance ends after 600 ms of silence, so the answer comes quickly.
    public static let `default` = ListenerConfig()
    /// For spoken commands to the assistant (`AssistantPipeline`): as the voice fades (a frame
    /// below 0.9, `pauseStartThreshold`) or after 32 ms of quiet, a fast decode
    /// (`fastPauseDecodeOptions`) and then its check (`fastPauseCheckOptions`) run, and a
    /// complete command that both read alike is answered at once; then the final's careful
    /// decode runs in the same pause and answers what they could not. A pause decode only
    /// counts while the speaker stays quiet, so the short pause costs extra decodes (11 pauses
    /// inside 70 corpus commands, against 7 at 64 ms: `scripts/bench pause-timing`), not early
    /// answers. The careful decode has no temperature fallback: on a command read with little
    /// confidence ("Off.", average log-probability -1.24) the fallback's five sampled decodes
    /// doubled its time, and on the corpus (76 command and 15 dictation clips) it changed no
    /// transcript. Starting as the voice fades puts the decoded audio's end 36 ms after the end
    /// of speech at the median, against 68 ms after a quiet frame (`scripts/bench pause-timing`).
    /// Measure it with `scripts/bench assistant` and `scripts/bench pause-decode`.
    public static let commands: ListenerConfig = {
        var config = ListenerConfig()
        config.pauseMs = 32
        config.pauseStartThreshold = 0.9
        config.pauseOptions = fastPauseDecodeOptions
        config.pauseCheckOptions = fastPauseCheckOptions
        config.finalOptions.temperatures = [0]
        return config
    }()
    /// The fast pause decode: greedy on a shortened window of at least 6 s (about 70 ms; windows
    /// of 2 s answered fewer one-word commands: "Yes, yes,").
    public static var fastPauseDecodeOptions: TranscriptionOptions {
        var fast = defaultPartialOptions
        fast.shortenedWindowMinimumSeconds = 6
        // Hark's silence gates are for whole recordings; here the voice detector has heard
        // speech, and on a shortened window they dropped one-word commands ("up", "right").
        // Whisper's own no-speech rule stays, and the careful final keeps every gate.
        fast.minimumSpeechConfidence = nil
        fast.gateNoSpeechThreshold = nil
        return fast
    }
    /// The fast pause decode's check: the same on a window of at least 10 s. Alone, the fast
    /// decode heard "Set a Tyler 410 seconds" (espeak-ng, after "Hey Hark.") when the cut began
    /// 128 ms before the speech, more confidently (lowest token log-probability -1.6) than it
    /// heard the right words on other cuts; the 10 s window read "Set a timer for 10 seconds" on
    /// every cut (`scripts/bench pause-cuts`).
    public static var fastPauseCheckOptions: TranscriptionOptions {
        var check = fastPauseDecodeOptions
        check.shortenedWindowMinimumSeconds = 10
        return check
    }
    /// For dictation: an utterance ends after 1.2 s of silence. Phrases separated by a breath
    /// stay one utterance, and Whisper transcribes each phrase with the others as context (a
    /// short phrase alone is misheard more often: on the corpus, "And so, my fellow Americans"
    /// becomes "And so am I fellow Americans"). Finals come 0.6 s later than with `.default`.
    public static let dictation: ListenerConfig = {
        var config = ListenerConfig()
        config.endpointer.trailingSilenceMs = dictationTrailingSilenceMs
        return config
    }()
    /// The trailing silence of `.dictation`, milliseconds.
    public static let dictationTrailingSilenceMs = 1200

    public static var defaultPartialOptions: TranscriptionOptions {
        var o = TranscriptionOptions()
        o.beamSize = 1
        o.temperatures = [0]
        o.withoutTimestamps = true
        o.shortenedEncoderWindow = true
        o.conditionOnPreviousText = false
        return o
    }

    public static var defaultFinalOptions: TranscriptionOptions {
        var o = TranscriptionOptions()
        o.conditionOnPreviousText = false
        return o
    }

    /// Whether Whisper's `segment` holds speech: its no-speech probability is at most
    /// `noSpeechThreshold`, or, with `sureWordsOutweighNoSpeech`, its words are likely (Whisper's
    /// own rule: average log-probability above -1). The latter is for decodes on a shortened
    /// window, whose no-speech probability runs high on one-word commands ("up" at 0.76, "left"
    /// at 0.69, where the full window gives 0.23).
    public func isSpeech(_ segment: TranscriptSegment, sureWordsOutweighNoSpeech: Bool) -> Bool {
        segment.noSpeechProb <= noSpeechThreshold || (sureWordsOutweighNoSpeech && segment.avgLogProb > -1)
    }

    /// `options` for `samples` of audio: `maxNewTokens` from the token budget unless set.
    public func bounded(_ options: TranscriptionOptions, samples: Int, sampleRate: Int) -> TranscriptionOptions {
        var o = options
        if o.maxNewTokens == nil {
            o.maxNewTokens = tokenMargin + Int((Double(samples) / Double(sampleRate) * tokensPerSecond).rounded(.up))
        }
        return o
    }
}

/// What one listening run did: per-utterance timings and the warning counters. The listener
/// fills it as it goes; read it at any time (thread-safe), complete once the stream has ended.
public final class ListenStatistics: @unchecked Sendable {
    /// One utterance the endpointer closed.
    public struct Utterance: Sendable, Equatable {
        /// Stream seconds of the utterance (padding included).
        public var start: Double
        public var end: Double
        /// Stream seconds at which the endpointer decided the utterance was over (end of the
        /// trailing silence).
        public var decision: Double
        /// Wall seconds the final decode took.
        public var recognitionSeconds: Double
        /// Wall seconds from the moment the deciding audio was captured to the final transcript
        /// (waiting behind a partial or a backlog included). Meaningful for live (paced) sources.
        public var decisionToFinalSeconds: Double
        /// The final came from a decode started before the decision (`speculativeFinals`).
        public var speculative: Bool
        /// For a speculative final: wall seconds from the capture of the audio that made the
        /// pause (`pauseMs` of quiet) to the start of its decode (the recognition thread busy
        /// with a partial, or a backlog); 0 otherwise.
        public var speculationDelaySeconds: Double = 0
        /// The final's text ("" when the utterance held no words).
        public var text: String
        /// Tokens the final decode produced and the budget it had.
        public var tokens: Int
        public var tokenBudget: Int
    }

    /// One early decode reported as a `.pause`.
    public struct PauseDecode: Sendable, Equatable {
        /// Stream seconds where its audio ends.
        public var end: Double
        /// Wall seconds from the capture of that audio to the decode's start.
        public var startDelaySeconds: Double
        /// Wall seconds from its start to its `.pause` (a check decode included).
        public var seconds: Double
        /// Decoded with `pauseOptions` (else the final's careful decode).
        public var fast: Bool
        /// Wall seconds of its check decode, when one ran.
        public var checkSeconds: Double? = nil
        /// What it read, and what its check read (when one ran).
        public var text = "", checkText: String? = nil
    }

    private let lock = NSLock()
    private var _utterances: [Utterance] = []
    private var _pauseDecodes: [PauseDecode] = []
    private var _partials = 0
    private var _partialSeconds = 0.0
    private var _speculations = 0
    private var _pauses = 0
    private var _behindEpisodes = 0
    private var _worstLag = 0.0
    private var _dropWarnings = 0
    private var _droppedSamples = 0
    private var _capturedSamples = 0
    private var _processedSamples = 0
    private var _sampleRate = 16_000

    public init() {}

    public var utterances: [Utterance] { lock.withLock { _utterances } }
    /// Partial decodes run, and the wall seconds they took.
    public var partials: Int { lock.withLock { _partials } }
    public var partialSeconds: Double { lock.withLock { _partialSeconds } }
    /// Speculative final decodes started (used or not).
    public var speculations: Int { lock.withLock { _speculations } }
    /// `.pause` transcripts reported (early decodes that finished while the speaker was quiet).
    public var pauses: Int { lock.withLock { _pauses } }
    /// When each reported pause transcript's decode started and how long it took.
    public var pauseDecodes: [PauseDecode] { lock.withLock { _pauseDecodes } }
    /// Times finals fell more than `behindWarningSeconds` behind real time (one per episode).
    public var behindEpisodes: Int { lock.withLock { _behindEpisodes } }
    /// The largest decision-to-final delay seen, seconds.
    public var worstLagSeconds: Double { lock.withLock { _worstLag } }
    /// Samples the ring buffer dropped because recognition fell a whole buffer behind (each
    /// drop was reported by a `.warning`).
    public var droppedSamples: Int { lock.withLock { _droppedSamples } }
    public var dropWarnings: Int { lock.withLock { _dropWarnings } }
    /// Samples the capture delivered, and samples recognition read (captured = processed +
    /// dropped once the stream has ended).
    public var capturedSamples: Int { lock.withLock { _capturedSamples } }
    public var processedSamples: Int { lock.withLock { _processedSamples } }
    /// Warnings issued in all.
    public var warnings: Int { lock.withLock { _behindEpisodes + _dropWarnings } }

    /// One line for people: utterances, partial cost, lag episodes and drops.
    public var summary: String {
        lock.withLock {
            String(format: "%d utterances, %d partial decodes (%.2f s), finals behind real time in %d episode(s) (worst %.2f s), %.2f s of audio dropped",
                   _utterances.count, _partials, _partialSeconds, _behindEpisodes, _worstLag,
                   Double(_droppedSamples) / Double(_sampleRate))
        }
    }

    func record(_ utterance: Utterance) { lock.withLock { _utterances.append(utterance); _worstLag = max(_worstLag, utterance.decisionToFinalSeconds) } }
    func recordPartial(seconds: Double) { lock.withLock { _partials += 1; _partialSeconds += seconds } }
    func recordSpeculation() { lock.withLock { _speculations += 1 } }
    func recordPause(_ decode: PauseDecode) { lock.withLock { _pauses += 1; _pauseDecodes.append(decode) } }
    func recordBehindEpisode() { lock.withLock { _behindEpisodes += 1 } }
    func recordDrop(samples: Int) { lock.withLock { _droppedSamples += samples; _dropWarnings += 1 } }
    func setTotals(captured: Int, processed: Int, sampleRate: Int) {
        lock.withLock { _capturedSamples = captured; _processedSamples = processed; _sampleRate = sampleRate }
    }
}

/// Streaming recognition: capture -> ring buffer -> VAD + endpointer -> partial and final
/// transcripts, reported as an `AsyncThrowingStream<ListenEvent, Error>`.
///
/// ```swift
/// let listener = Listener(recognizer: try WhisperTranscriber(modelDirectory: whisperDir),
///                         detector: try VoiceActivityDetectors.makeDefault(sileroModel: vadFile))
/// for try await event in listener.events(from: try CaptureAudioSource(device: "default")) {
///     if case let .final(text, start, end) = event { print(start, end, text) }
/// }
/// ```
///
/// Threading: `events(from:)` starts two threads, one reading the source into a
/// `SampleRingBuffer` (it never waits for recognition) and one running VAD and Whisper on what
/// it reads from the buffer. Recognition runs one decode at a time, so a final could wait
/// behind a partial: partials are therefore skipped once the speaker has paused (the end may
/// be near) and while audio is waiting, and every decode has a token budget bounded by the
/// audio's length. If a final transcript arrives more than `behindWarningSeconds` after the
/// audio that ended its utterance, a `.warning` says so (once per episode); if recognition
/// falls a whole buffer behind, the oldest audio is dropped and a `.warning` says how much
/// (never silently; at most one such warning per second of audio, and any drop not yet
/// reported is reported when the stream ends). Cancelling the consumer of the stream stops
/// both threads. With `lossless: true` (files read faster than real time) the capture waits
/// instead of dropping, and there is no real time to fall behind.
public final class Listener: Sendable {
    public let recognizer: any SpeechRecognizing
    public let detector: any VoiceActivityDetecting
    public let config: ListenerConfig
    /// Whether the consumer could act on a fast pause transcript (the assistant: when it is a
    /// complete command). Only those get the check decode (`ListenerConfig.pauseCheckOptions`);
    /// for the others the early final decode starts at once, since only it can answer. nil:
    /// every fast pause transcript is checked.
    public let actionable: (@Sendable (String) -> Bool)?

    public init(recognizer: any SpeechRecognizing, detector: any VoiceActivityDetecting, config: ListenerConfig = .default,
                actionable: (@Sendable (String) -> Bool)? = nil) {
        self.recognizer = recognizer
        self.detector = detector
        self.config = config
        self.actionable = actionable
    }

    /// Listens to `source` until it ends (or the stream's consumer stops).
    /// - Parameters:
    ///   - lossless: capture waits for recognition when the buffer is full (for unpaced files);
    ///     a live source must not wait, so the default drops (and reports) instead.
    ///   - statistics: filled with per-utterance timings and warning counts, if given.
    public func events(from source: any AudioSourcing, lossless: Bool = false,
                       statistics: ListenStatistics? = nil) -> AsyncThrowingStream<ListenEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<ListenEvent, Error>.makeStream()
        let sampleRate = source.sampleRate
        let ring = SampleRingBuffer(capacity: max(sampleRate, Int(config.bufferSeconds * Double(sampleRate))),
                                    blockWhenFull: lossless)
        let statistics = statistics ?? ListenStatistics()
        let stop = StopFlag()
        continuation.onTermination = { _ in
            stop.set()
            ring.close()
        }
        let captureError = ErrorBox()
        let capture = Thread {
            do {
                while !stop.isSet, let chunk = try source.read() { ring.write(chunk) }
            } catch {
                captureError.set(error)
            }
            ring.close()
        }
        capture.name = "hark.listen.capture"
        let recognition = Thread { [self] in
            do {
                var worker = try RecognitionWorker(listener: self, sampleRate: sampleRate, ring: ring, statistics: statistics)
                try worker.run(stop: stop) { continuation.yield($0) }
                if let error = captureError.error { throw error }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        recognition.name = "hark.listen.recognition"
        recognition.start()
        capture.start()
        return stream
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? { lock.withLock { stored } }
    func set(_ error: Error) { lock.withLock { stored = error } }
}

/// The recognizer thread's state: VAD, the audio of the open utterance, partial stabilization.
struct RecognitionWorker {
    let listener: Listener
    let config: ListenerConfig
    let sampleRate: Int
    let ring: SampleRingBuffer
    let statistics: ListenStatistics
    var endpointer: Endpointer
    /// Recent audio; `history[0]` is sample `historyStart` of the stream.
    var history: [Float] = []
    var historyStart = 0
    var utteranceStart: Int?
    var lastPartialEnd = 0
    var stabilizer = PartialStabilizer()
    var lastPartialText = ""
    /// The tokens of the open utterance's latest greedy decode (a partial or a fast pause
    /// decode): the draft of the next fast pause decode, which then decodes only what is new.
    var draft: (tokens: [Int], end: Int) = ([], 0)
    /// When the newest sample read so far was captured (estimated from the backlog).
    var newestCaptured = ContinuousClock.now
    /// Drops already reported, and the stream position of the last drop warning.
    var dropsReported = 0
    var lastDropWarning: Int?
    /// Inside an episode of late finals (warned once; ends with a prompt final).
    var behind = false
    /// End of the last frame the detector heard as speech in the open utterance.
    var lastVoiced = 0
    /// The final decode started early for the open utterance, if any.
    var speculation: BackgroundDecode?
    /// The pause transcript's own decode (`pauseOptions`), if any.
    var pauseDecode: BackgroundDecode?
    /// The previous final, for prompting the next one.
    var previousText = ""
    var previousEnd = 0

    init(listener: Listener, sampleRate: Int, ring: SampleRingBuffer, statistics: ListenStatistics = ListenStatistics()) throws {
        self.listener = listener
        config = listener.config
        self.sampleRate = sampleRate
        self.ring = ring
        self.statistics = statistics
        endpointer = try Endpointer(detector: listener.detector, config: listener.config.endpointer)
        guard endpointer.sampleRate == sampleRate else {
            throw ListenError.sampleRateMismatch(detector: endpointer.sampleRate, audio: sampleRate)
        }
    }

    func seconds(_ sample: Int) -> Double { Double(sample) / Double(sampleRate) }

    /// `config.pauseMs` in samples.
    var pauseSamples: Int { config.pauseMs * sampleRate / 1000 }

    mutating func run(stop: StopFlag, emit: (ListenEvent) -> Void) throws {
        // One VAD frame per read, so the worker sees where speech stopped to the frame.
        let chunkLimit = endpointer.frameSize
        while !stop.isSet, let chunk = ring.read(maxCount: chunkLimit) {
            // An early decode finishing wakes the read with no samples: report it at once
            // rather than up to a frame later.
            if chunk.isEmpty {
                reportPause(emit: emit)
                speculate(position: historyStart + history.count)
                continue
            }
            // A live source writes in real time, so what is still waiting was captured after this
            // chunk: the chunk's last sample is `backlog` samples old.
            let waiting = ring.backlog
            newestCaptured = ContinuousClock.now - .microseconds(Int64(waiting) * 1_000_000 / Int64(sampleRate))
            history += chunk
            reportDrops(final: false, emit: emit)
            for event in endpointer.process(chunk) { try handle(event, emit: emit) }
            let position = historyStart + history.count
            if endpointer.isSpeaking && endpointer.lastProbability >= config.endpointer.endThreshold {
                lastVoiced = endpointer.position
                // The speaker talked through the pause: its decodes can no longer count, and
                // would only slow the next ones down.
                for stale in [pauseDecode, speculation] where stale?.voicedEnd != lastVoiced { stale?.cancel() }
            }
            speculate(position: position)
            reportPause(emit: emit)
            // Partials are best effort. Skipped while audio waits (finals stay prompt) and once
            // the speaker pauses: the utterance may be about to end, and a final must not wait
            // behind a partial nobody will see.
            if config.partials, let start = utteranceStart, endpointer.isSpeaking,
               endpointer.lastProbability >= config.endpointer.endThreshold,
               waiting < sampleRate / 10, speculation?.isFinished ?? true, pauseDecode?.isFinished ?? true,
               seconds(position - max(lastPartialEnd, start)) >= config.partialInterval {
                try partial(from: start, to: position, emit: emit)
            }
            if utteranceStart == nil { trimHistory() }
        }
        if stop.isSet { return }
        for event in endpointer.flush() { try handle(event, emit: emit) }
        reportDrops(final: true, emit: emit)
        statistics.setTotals(captured: ring.writtenSamples, processed: historyStart + history.count, sampleRate: sampleRate)
    }

    /// Reports samples the ring buffer dropped: at most one warning per second of audio while
    /// it keeps dropping, and whatever is left unreported at the end of the stream.
    mutating func reportDrops(final: Bool, emit: (ListenEvent) -> Void) {
        let dropped = ring.droppedSamples
        guard dropped > dropsReported else { return }
        let position = historyStart + history.count
        if !final, let last = lastDropWarning, position - last < sampleRate { return }
        let amount = dropped - dropsReported
        statistics.recordDrop(samples: amount)
        emit(.warning(String(format: "recognition fell %.0f s (the whole buffer) behind the audio: %.2f s of audio were dropped (%.2f s in all)",
                             config.bufferSeconds, seconds(amount), seconds(dropped))))
        dropsReported = dropped
        lastDropWarning = position
    }

    /// Warns (once per episode) when a final arrived late against real time.
    mutating func checkLag(_ lag: Double, emit: (ListenEvent) -> Void) {
        guard !ring.blockWhenFull else { return }      // a lossless file run has no real time
        if !behind && lag > config.behindWarningSeconds {
            behind = true
            statistics.recordBehindEpisode()
            emit(.warning(String(format: "recognition is behind real time: a final transcript came %.1f s after its utterance ended (episode %d)",
                                 lag, statistics.behindEpisodes)))
        } else if behind && lag < config.behindWarningSeconds / 2 {
            behind = false
        }
    }

    /// Keeps only what a coming utterance's padding could reach back to.
    mutating func trimHistory() {
        let keep = Int(Double(sampleRate) * 2) + (config.endpointer.padBeforeMs + config.endpointer.minSpeechMs) * sampleRate / 1000
        if history.count > 2 * keep {
            let cut = history.count - keep
            history.removeFirst(cut)
            historyStart += cut
        }
    }

    func audio(_ start: Int, _ end: Int) -> [Float] {
        let lo = max(0, start - historyStart), hi = min(history.count, max(lo, end - historyStart))
        return Array(history[lo..<hi])
    }

    /// The final decode's options for `samples` of audio ending at `start` of the stream.
    func finalOptions(samples: Int, start: Int) -> TranscriptionOptions {
        var options = config.bounded(config.finalOptions, samples: samples, sampleRate: sampleRate)
        if let within = config.promptWithPreviousWithinSeconds, !previousText.isEmpty,
           seconds(start - previousEnd) <= within, options.initialPrompt == nil {
            options.initialPrompt = previousText
        }
        return options
    }

    mutating func handle(_ event: Endpointer.Event, emit: (ListenEvent) -> Void) throws {
        switch event {
        case let .speechStart(sample):
            utteranceStart = sample
            lastPartialEnd = sample
            lastVoiced = endpointer.position
            stabilizer.reset()
            lastPartialText = ""
            draft = ([], 0)
            emit(.speechStart(time: seconds(sample)))
        case let .speechEnd(start, end):
            let decision = endpointer.position
            let decidedAt = newestCaptured
            let samples = audio(start, end)
            var options = finalOptions(samples: samples.count, start: start)
            let clock = ContinuousClock()
            var began = clock.now
            let transcript: Transcript
            let tolerance = config.speculationToleranceMs * sampleRate / 1000
            // The early decode counts if it was taken in this utterance's final pause (no voiced
            // frame since: what it lacks or has more than the endpointer's cut is quiet audio).
            let early = speculation.flatMap {
                $0.start == start && $0.voicedEnd == lastVoiced && abs($0.end - end) <= tolerance ? $0 : nil
            }
            speculation = nil
            pauseDecode = nil
            if let early {
                transcript = try early.wait()
                began = early.began
                options = early.options
            } else {
                transcript = try listener.recognizer.recognize(samples, options: options)
            }
            let text = config.spokenText(transcript)
            if !text.isEmpty { emit(.final(text: text, start: seconds(start), end: seconds(end))) }
            let finished = clock.now
            emit(.speechEnd(start: seconds(start), end: seconds(end)))
            let lag = (finished - decidedAt).seconds
            statistics.record(.init(start: seconds(start), end: seconds(end), decision: seconds(decision),
                                    recognitionSeconds: (finished - began).seconds, decisionToFinalSeconds: lag,
                                    speculative: early != nil, speculationDelaySeconds: early?.delaySeconds ?? 0, text: text,
                                    tokens: transcript.segments.map(\.tokens.count).reduce(0, +),
                                    tokenBudget: options.maxNewTokens ?? 0))
            checkLag(lag, emit: emit)
            if !text.isEmpty { previousText = text; previousEnd = end }
            utteranceStart = nil
        }
    }

    /// Starts the final decode of the open utterance in the background once the speaker has
    /// been quiet for `pauseMs` or the voice fades (`pauseStartThreshold`), on the audio so far
    /// (the endpointer will most likely cut there).
    mutating func speculate(position: Int) {
        guard config.speculativeFinals, let start = utteranceStart, endpointer.isSpeaking, position > start else { return }
        let quiet = endpointer.lastProbability < config.endpointer.endThreshold && position - lastVoiced >= pauseSamples
        let fading = config.pauseStartThreshold.map { endpointer.lastProbability < $0 } ?? false
        guard quiet || fading else { return }
        let ring = ring
        if config.pauseTranscripts, let options = config.pauseOptions {
            // The fast pause transcript first, then the final's decode.
            if pauseDecode?.voicedEnd != lastVoiced {
                let samples = pauseAudio(start, position)
                // The fast decode of an earlier pause in this utterance, if it heard more than the partials.
                if let earlier = pauseDecode, earlier.end > draft.end, earlier.isFinished, let transcript = try? earlier.wait() {
                    draft = (transcript.tokens, earlier.end)
                }
                var options = config.bounded(options, samples: samples.count, sampleRate: sampleRate)
                if options.beamSize <= 1 && options.draftTokens == nil { options.draftTokens = draft.tokens }
                let fast = options, config = config, actionable = listener.actionable
                pauseDecode = BackgroundDecode(recognizer: listener.recognizer, samples: samples, options: fast,
                                               checkOptions: config.pauseCheckOptions.map {
                                                   config.bounded($0, samples: samples.count, sampleRate: sampleRate)
                                               },
                                               needsCheck: { actionable?(config.pauseText($0, options: fast)) ?? true },
                                               start: start, end: position, voicedEnd: lastVoiced,
                                               captured: newestCaptured) { ring.wakeReader() }
                return
            }
            guard pauseDecode?.isFinished ?? true else { return }
        }
        if let running = speculation {
            // Already guessed this pause, or a guess for an earlier pause still holds the CPU.
            guard running.voicedEnd != lastVoiced, running.isFinished else { return }
        }
        let samples = pauseAudio(start, position)
        statistics.recordSpeculation()
        speculation = BackgroundDecode(recognizer: listener.recognizer, samples: samples,
                                       options: finalOptions(samples: samples.count, start: start),
                                       start: start, end: position, voicedEnd: lastVoiced,
                                       captured: newestCaptured) { ring.wakeReader() }
    }

    /// The audio of an early decode: `start..<position`, and silence to make up `pauseMs` after
    /// the last voiced frame when the decode starts as the voice fades. Whisper misreads audio
    /// that stops on a sound (the features end there): with no quiet after the last loud sample,
    /// "what is twelve times fourteen" was read as "what is 12 times 40", check and all; with 32
    /// ms of it, no command was misread (`HARK_BENCH_PAUSE_TAIL_MS=0` and `=32 scripts/bench
    /// pause-decode`).
    func pauseAudio(_ start: Int, _ position: Int) -> [Float] {
        let quiet = position - lastVoiced
        return audio(start, position) + [Float](repeating: 0, count: max(0, pauseSamples - quiet))
    }

    /// Reports each early decode (the fast pause decode, then the early final decode) as a
    /// `.pause` once it is done, if the speaker is still quiet (no voiced frame since the pause
    /// began) and the utterance still open.
    mutating func reportPause(emit: (ListenEvent) -> Void) {
        guard config.pauseTranscripts, endpointer.isSpeaking else { return }
        for running in [pauseDecode, speculation].compactMap({ $0 }) {
            // `pauseMs` of quiet after its audio, for a decode started as the voice faded.
            guard !running.reported, running.voicedEnd == lastVoiced, historyStart + history.count - lastVoiced >= pauseSamples,
                  running.isFinished else { continue }
            running.reported = true
            // A failed decode is reported by the final, which decodes again.
            guard let transcript = try? running.wait() else { continue }
            let text = config.pauseText(transcript, options: running.options)
            guard !text.isEmpty else { continue }
            // A failed or skipped check reads as no words: the consumer then finds no agreement.
            let alternatives = running.checkOptions.map { options in
                [(try? running.checkResult?.get()).map { config.pauseText($0, options: options) } ?? ""]
            } ?? []
            statistics.recordPause(.init(end: seconds(running.end), startDelaySeconds: running.delaySeconds,
                                         seconds: (ContinuousClock.now - running.began).seconds, fast: running === pauseDecode,
                                         checkSeconds: running.checkSeconds, text: text,
                                         checkText: running.checkResult == nil ? nil : alternatives.first))
            emit(.pause(text: text, start: seconds(running.start), end: seconds(running.end), alternatives: alternatives))
        }
    }

    mutating func partial(from start: Int, to end: Int, emit: (ListenEvent) -> Void) throws {
        lastPartialEnd = end
        let clock = ContinuousClock()
        let began = clock.now
        let samples = audio(start, end)
        var options = config.bounded(config.partialOptions, samples: samples.count, sampleRate: sampleRate)
        // Each partial reads the previous one's tokens as its draft: it blocks this thread (and
        // so a pause decode that comes meanwhile) for less time.
        let greedy = options.beamSize <= 1
        if greedy && options.draftTokens == nil { options.draftTokens = draft.tokens }
        let transcript = try listener.recognizer.recognize(samples, options: options)
        statistics.recordPartial(seconds: (clock.now - began).seconds)
        if greedy { draft = (transcript.tokens, end) }
        // Greedy decoding of a cut-off utterance on a short window can loop ("and so, and so,
        // ..."): keep no more words than anyone speaks in that time.
        let budget = 3 + Int(seconds(end - start) * ListenerConfig.maxWordsPerSecond)
        let words = ListenerConfig.withoutRepeatedPrefix(config.spokenText(transcript).split(whereSeparator: \.isWhitespace).map(String.init)).prefix(budget)
        guard !words.isEmpty else { return }
        let shown = stabilizer.update(words.joined(separator: " "))
        if shown != lastPartialText {
            lastPartialText = shown
            emit(.partial(text: shown, committedWords: stabilizer.committed.count))
        }
    }
}

/// How the listener reads a transcript: the spoken words it keeps.
extension ListenerConfig {
    /// The spoken text of an early decode for a `.pause`.
    func pauseText(_ transcript: Transcript, options: TranscriptionOptions) -> String {
        let text = spokenText(transcript, sureWordsOutweighNoSpeech: options.shortenedEncoderWindow)
        guard options.shortenedEncoderWindow else { return text }
        // A fast decode (greedy, short window) may loop like a partial's: the decoder's
        // `LoopGuard` stops most loops; this also cuts ones that change case or punctuation.
        return Self.withoutRepeatedPrefix(text.split(whereSeparator: \.isWhitespace).map(String.init)).joined(separator: " ")
    }

    /// Cuts a decoding loop that restarts the utterance ("and so my fellow, and so my fellow"):
    /// the words before the first place where at least two of the opening words come again.
    static func withoutRepeatedPrefix(_ words: [String]) -> [String] {
        func key(_ w: String) -> String { w.lowercased().filter { $0.isLetter || $0.isNumber } }
        let keys = words.map(key)
        for k in stride(from: 1, to: keys.count, by: 1) {
            let span = min(keys.count, 2 * k) - k
            if span >= 2 && Array(keys[k..<k + span]) == Array(keys[0..<span]) { return Array(words[0..<k]) }
        }
        return words
    }

    /// Faster than anyone speaks (about 4 words/s is fast speech).
    static let maxWordsPerSecond = 5.0

    /// The transcript's text without segments Whisper judged to be no speech, or "" when
    /// nothing spoken remains (only punctuation or annotations like "[music]");
    /// `sureWordsOutweighNoSpeech`: see `ListenerConfig.isSpeech`.
    func spokenText(_ transcript: Transcript, sureWordsOutweighNoSpeech: Bool = false) -> String {
        let kept = transcript.segments.filter {
            isSpeech($0, sureWordsOutweighNoSpeech: sureWordsOutweighNoSpeech) && containsSpokenWords($0.text)
        }
        let text = kept.map(\.text).joined().trimmingCharacters(in: .whitespacesAndNewlines)
        return containsSpokenWords(text) ? text : ""
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// One decode on its own thread, and optionally a second decode of the same audio with
/// `checkOptions` right after it on the same thread (when `needsCheck` says the first one's
/// transcript needs it); `wait()` gives the first's result once both are done.
final class BackgroundDecode: @unchecked Sendable {
    /// Stream samples decoded: `start..<end`.
    let start: Int
    let end: Int
    /// End of the last voiced frame when the decode began: the pause it was taken in.
    let voicedEnd: Int
    let options: TranscriptionOptions
    let checkOptions: TranscriptionOptions?
    let began = ContinuousClock.now
    /// Wall seconds from the capture of the audio that ends `start..<end` to the decode's start.
    let delaySeconds: Double
    /// Reported as a `.pause` already (touched by the recognition thread only).
    var reported = false
    private let condition = NSCondition()
    private var result: Result<Transcript, Error>?
    private var check: Result<Transcript, Error>?
    private var checkSkipped = false
    private var checkDuration: Double?
    private let cancelled = StopFlag()

    /// Decodes on a new thread, then the check (with `checkOptions`) on the same thread if
    /// `needsCheck` holds for the first transcript, each on every core the options allow;
    /// `finished` runs once the results are stored. `captured`: when the audio's last sample
    /// was captured.
    init(recognizer: any SpeechRecognizing, samples: [Float], options: TranscriptionOptions,
         checkOptions: TranscriptionOptions? = nil, needsCheck: @escaping @Sendable (Transcript) -> Bool = { _ in true },
         start: Int, end: Int, voicedEnd: Int, captured: ContinuousClock.Instant,
         finished: @escaping @Sendable () -> Void = {}) {
        self.start = start
        self.end = end
        self.voicedEnd = voicedEnd
        delaySeconds = (began - captured).seconds
        self.options = options
        self.checkOptions = checkOptions
        // One after the other, each on both cores, rather than side by side on one core each:
        // the check can then read the fast decode's tokens as its draft, and is not run at all
        // when the fast decode heard nothing to act on (only the careful decode can answer then,
        // and it starts at once).
        let thread = Thread { [self, cancelled] in
            let isCancelled = { @Sendable in cancelled.isSet }
            let outcome = Result { try recognizer.recognize(samples, options: options, isCancelled: isCancelled) }
            condition.withLock { result = outcome; condition.broadcast() }
            if var checkOptions, let transcript = try? outcome.get(), needsCheck(transcript) {
                // The check reads the fast decode's words in one decoder pass where it agrees.
                if checkOptions.beamSize <= 1 && checkOptions.draftTokens == nil {
                    checkOptions.draftTokens = transcript.tokens
                }
                let checkBegan = ContinuousClock.now
                let checked = Result { try recognizer.recognize(samples, options: checkOptions, isCancelled: isCancelled) }
                let seconds = (ContinuousClock.now - checkBegan).seconds
                condition.withLock { check = checked; checkDuration = seconds; condition.broadcast() }
            } else if checkOptions != nil {
                condition.withLock { checkSkipped = true; condition.broadcast() }
            }
            finished()
        }
        thread.name = "hark.listen.final"
        thread.start()
    }

    /// Stops the decodes early (they then fail with `CancellationError`): the speaker talked
    /// through the pause they were taken in.
    func cancel() { cancelled.set() }

    /// Every decode has stored its outcome (read with `condition` held).
    private var complete: Bool { result != nil && (checkOptions == nil || check != nil || checkSkipped) }

    var isFinished: Bool { condition.withLock { complete } }

    /// The first decode's transcript, once every decode is done.
    func wait() throws -> Transcript {
        condition.lock()
        defer { condition.unlock() }
        while !complete { condition.wait() }
        return try result!.get()
    }

    /// The check decode's outcome (once finished), if `checkOptions` were given and it ran.
    var checkResult: Result<Transcript, Error>? { condition.withLock { check } }

    /// Wall seconds the check decode took, once it has run.
    var checkSeconds: Double? { condition.withLock { checkDuration } }
}
