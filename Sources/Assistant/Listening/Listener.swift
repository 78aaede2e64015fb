import ASR
import Foundation
import VAD

/// Speech to text for one utterance at a time; `WhisperTranscriber` is the real one, tests
/// may pass a fake.
public protocol SpeechRecognizing: Sendable {
    func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript
}

extension WhisperTranscriber: SpeechRecognizing {
    public func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript {
        try transcribeSync(samples, options: options)
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
    /// Decoding of each utterance's final transcript (beam search by default).
    public var finalOptions: TranscriptionOptions = ListenerConfig.defaultFinalOptions
    /// An utterance whose every segment has a no-speech probability above this gives no final.
    public var noSpeechThreshold: Float = 0.6
    /// Audio the ring buffer between capture and recognition holds, in seconds.
    public var bufferSeconds: Double = 60
    /// Warn when recognition is this many seconds behind the capture.
    public var behindWarningSeconds: Double = 3

    public init() {}
    public static let `default` = ListenerConfig()

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
/// it reads from the buffer. If recognition falls `behindWarningSeconds` behind, a `.warning`
/// says so; if it falls a whole buffer behind, the oldest audio is dropped and a `.warning`
/// says how much (never silently). Cancelling the consumer of the stream stops both threads.
/// With `lossless: true` (files read faster than real time) the capture waits instead.
public final class Listener: Sendable {
    public let recognizer: any SpeechRecognizing
    public let detector: any VoiceActivityDetecting
    public let config: ListenerConfig

    public init(recognizer: any SpeechRecognizing, detector: any VoiceActivityDetecting, config: ListenerConfig = .default) {
        self.recognizer = recognizer
        self.detector = detector
        self.config = config
    }

    /// Listens to `source` until it ends (or the stream's consumer stops).
    /// - Parameter lossless: capture waits for recognition when the buffer is full (for unpaced
    ///   files); a live source must not wait, so the default drops (and reports) instead.
    public func events(from source: any AudioSourcing, lossless: Bool = false) -> AsyncThrowingStream<ListenEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<ListenEvent, Error>.makeStream()
        let sampleRate = source.sampleRate
        let ring = SampleRingBuffer(capacity: max(sampleRate, Int(config.bufferSeconds * Double(sampleRate))),
                                    blockWhenFull: lossless)
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
                var worker = try RecognitionWorker(listener: self, sampleRate: sampleRate, ring: ring)
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
    var endpointer: Endpointer
    /// Recent audio; `history[0]` is sample `historyStart` of the stream.
    var history: [Float] = []
    var historyStart = 0
    var utteranceStart: Int?
    var lastPartialEnd = 0
    var stabilizer = PartialStabilizer()
    var lastPartialText = ""
    var dropsReported = 0
    var behind = false
    /// Warnings issued (falling behind, drops).
    var warnings = 0

    init(listener: Listener, sampleRate: Int, ring: SampleRingBuffer) throws {
        self.listener = listener
        config = listener.config
        self.sampleRate = sampleRate
        self.ring = ring
        endpointer = try Endpointer(detector: listener.detector, config: listener.config.endpointer)
        guard endpointer.sampleRate == sampleRate else {
            throw ListenError.sampleRateMismatch(detector: endpointer.sampleRate, audio: sampleRate)
        }
    }

    func seconds(_ sample: Int) -> Double { Double(sample) / Double(sampleRate) }

    mutating func run(stop: StopFlag, emit: (ListenEvent) -> Void) throws {
        let chunkLimit = sampleRate / 10
        while !stop.isSet, let chunk = ring.read(maxCount: chunkLimit) {
            history += chunk
            reportBacklog(emit: emit)
            for event in endpointer.process(chunk) { try handle(event, emit: emit) }
            let position = historyStart + history.count
            // Partials are best effort: skipped while recognition is behind, so finals stay prompt.
            if config.partials, let start = utteranceStart, endpointer.isSpeaking,
               ring.backlog < sampleRate / 4,
               seconds(position - max(lastPartialEnd, start)) >= config.partialInterval {
                try partial(from: start, to: position, emit: emit)
            }
            if utteranceStart == nil { trimHistory() }
        }
        if stop.isSet { return }
        for event in endpointer.flush() { try handle(event, emit: emit) }
    }

    mutating func reportBacklog(emit: (ListenEvent) -> Void) {
        let dropped = ring.droppedSamples
        if dropped > dropsReported {
            warnings += 1
            emit(.warning(String(format: "recognition fell %.1f s behind the microphone: %.2f s of audio were dropped (warning %d)",
                                 config.bufferSeconds, seconds(dropped - dropsReported), warnings)))
            dropsReported = dropped
        }
        let backlog = seconds(ring.backlog)
        if !behind && backlog >= config.behindWarningSeconds && !ring.blockWhenFull {
            behind = true
            warnings += 1
            emit(.warning(String(format: "recognition is %.1f s behind real time (warning %d)", backlog, warnings)))
        } else if behind && backlog < config.behindWarningSeconds / 2 {
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

    mutating func handle(_ event: Endpointer.Event, emit: (ListenEvent) -> Void) throws {
        switch event {
        case let .speechStart(sample):
            utteranceStart = sample
            lastPartialEnd = sample
            stabilizer.reset()
            lastPartialText = ""
            emit(.speechStart(time: seconds(sample)))
        case let .speechEnd(start, end):
            let transcript = try listener.recognizer.recognize(audio(start, end), options: config.finalOptions)
            let text = spokenText(transcript)
            if !text.isEmpty { emit(.final(text: text, start: seconds(start), end: seconds(end))) }
            emit(.speechEnd(start: seconds(start), end: seconds(end)))
            utteranceStart = nil
        }
    }

    mutating func partial(from start: Int, to end: Int, emit: (ListenEvent) -> Void) throws {
        lastPartialEnd = end
        let transcript = try listener.recognizer.recognize(audio(start, end), options: config.partialOptions)
        // Greedy decoding of a cut-off utterance on a short window can loop ("and so, and so,
        // ..."): keep no more words than anyone speaks in that time.
        let budget = 3 + Int(seconds(end - start) * Self.maxWordsPerSecond)
        let words = withoutRepeatedPrefix(spokenText(transcript).split(whereSeparator: \.isWhitespace).map(String.init)).prefix(budget)
        guard !words.isEmpty else { return }
        let shown = stabilizer.update(words.joined(separator: " "))
        if shown != lastPartialText {
            lastPartialText = shown
            emit(.partial(text: shown, committedWords: stabilizer.committed.count))
        }
    }

    /// Cuts a decoding loop that restarts the utterance ("and so my fellow, and so my fellow"):
    /// the words before the first place where at least two of the opening words come again.
    func withoutRepeatedPrefix(_ words: [String]) -> [String] {
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
    /// nothing spoken remains (only punctuation or annotations like "[music]").
    func spokenText(_ transcript: Transcript) -> String {
        let kept = transcript.segments.filter { $0.noSpeechProb <= config.noSpeechThreshold && containsSpokenWords($0.text) }
        let text = kept.map(\.text).joined().trimmingCharacters(in: .whitespacesAndNewlines)
        return containsSpokenWords(text) ? text : ""
    }
}
