import CKernels
import COpenBLAS
import Foundation

/// Speech to text with Whisper: log-mel features, the encoder, and the decoding rules of
/// faster-whisper (window by window with seek, temperature fallback, no-speech detection,
/// conditioning on the previous text).
///
/// ```swift
/// let transcriber = try WhisperTranscriber(modelDirectory: URL(fileURLWithPath: "models/whisper-tiny.en"))
/// let transcript = try await transcriber.transcribe(samples)   // 16 kHz mono
/// print(transcript.text)
/// ```
/// Immutable and `Sendable`: one instance transcribes several recordings at once (each call
/// makes its own decoder session).
public final class WhisperTranscriber: Sendable {
    public let model: WhisperModel
    public let tokenizer: WhisperTokenizer
    public let specialTokens: WhisperSpecialTokens
    private let features: LogMelSpectrogram
    /// For decodes on a shortened window.
    private let loopGuard: LoopGuard

    public static let sampleRate = LogMelSpectrogram.sampleRate
    /// Mel frames per 30 s window.
    static let windowFrames = LogMelSpectrogram.framesPerChunk
    /// Mel frames per encoder output position (conv2 has stride 2).
    static let inputStride = 2
    static let secondsPerFrame = Double(LogMelSpectrogram.hopLength) / Double(LogMelSpectrogram.sampleRate)

    public init(modelDirectory: URL) throws {
        model = try WhisperModel(modelDirectory: modelDirectory)
        tokenizer = try WhisperTokenizer(modelDirectory: modelDirectory)
        specialTokens = WhisperSpecialTokens(tokenizer: tokenizer, vocabularySize: model.dimensions.vocabularySize)
        features = LogMelSpectrogram(melBins: model.dimensions.melBins)
        // "Ġ" is the byte-level alphabet's space.
        loopGuard = LoopGuard(startsWord: tokenizer.tokens.map { $0.hasPrefix("\u{0120}") })
    }

    /// Transcribes 16 kHz mono `samples`. `progress` gets the fraction done (0...1) after each window.
    public func transcribe(_ samples: [Float], options: TranscriptionOptions = .default,
                           progress: (@Sendable (Double) -> Void)? = nil) async throws -> Transcript {
        try transcribeSync(samples, options: options, progress: progress)
    }

    /// The blocking form of `transcribe`. `isCancelled` is asked between the encoder's blocks and
    /// before each decoder step: when it answers true, the call throws `CancellationError` (a
    /// live listener stops decoding a pause the speaker has already talked through).
    public func transcribeSync(_ samples: [Float], options: TranscriptionOptions = .default,
                               progress: (@Sendable (Double) -> Void)? = nil,
                               isCancelled: (@Sendable () -> Bool)? = nil) throws -> Transcript {
        guard options.beamSize >= 1 else { throw ASRError.invalidInput(reason: "beam size must be at least 1") }
        guard !options.temperatures.isEmpty else { throw ASRError.invalidInput(reason: "no temperatures to decode at") }
        if let maxNewTokens = options.maxNewTokens, maxNewTokens < 1 {
            throw ASRError.invalidInput(reason: "maxNewTokens must be at least 1 (got \(maxNewTokens))")
        }
        if let draft = options.draftTokens, let bad = draft.first(where: { $0 < 0 || $0 >= model.dimensions.vocabularySize }) {
            throw ASRError.invalidInput(reason: "draft token \(bad) is outside the vocabulary (0..<\(model.dimensions.vocabularySize))")
        }
        // The thread count is this decode's only: other decodes may run on other threads at the
        // same time (the listener's fast pause decode and its check).
        let previousThreads = hark_workers_caller_threads()
        if let threads = options.threads {
            guard threads >= 1 else { throw ASRError.invalidInput(reason: "threads must be at least 1") }
            hark_workers_set_caller_threads(Int32(threads))
        }
        defer { hark_workers_set_caller_threads(previousThreads) }
        let tokens = specialTokens
        if options.task == .translate && !tokens.isMultilingual {
            throw ASRError.invalidInput(reason: "this model is English-only: it cannot translate")
        }
        if let language = options.language, tokens.isMultilingual, tokens.languages[language] == nil {
            throw ASRError.invalidInput(reason: "unknown language '\(language)'")
        }
        // Features as faster-whisper (the reference) computes them: the log-mel of the whole
        // recording plus one hop of zeros; each window is cut from it and zero-padded (in the
        // feature domain) to 30 s.
        let mel = features.compute(samples + [Float](repeating: 0, count: LogMelSpectrogram.hopLength), padToSeconds: nil)
        let contentFrames = max(0, mel.frames - 1)
        let shortWindow = options.shortenedEncoderWindow
        var language = options.language ?? "en"
        var languageDetected = options.language != nil || !tokens.isMultilingual
        var allTokens: [Int] = []
        if let prompt = options.initialPrompt?.trimmingCharacters(in: .whitespacesAndNewlines), !prompt.isEmpty {
            allTokens += tokenizer.encode(" " + prompt)
        }
        var promptResetSince = 0
        var segments: [TranscriptSegment] = []
        var seek = 0
        var lastSpeechTimestamp = 0.0
        let suppress = suppressedTokens(options)
        while seek < contentFrames {
            let timeOffset = Double(seek) * Self.secondsPerFrame
            let segmentSize = min(Self.windowFrames, contentFrames - seek)
            let segmentDuration = Double(segmentSize) * Self.secondsPerFrame
            let encoderFrames: Int
            if shortWindow {
                // Rounded up to a whole second (100 frames), so the window keeps a little silence.
                encoderFrames = min(Self.windowFrames, max(100 * options.shortenedWindowMinimumSeconds, (segmentSize + 99) / 100 * 100 + 100))
            } else {
                encoderFrames = Self.windowFrames
            }
            let window = Self.slice(mel, from: seek, count: segmentSize, frames: encoderFrames)
            let encoded = try model.encode(mel: window, frames: encoderFrames, isCancelled: isCancelled)
            let session = DecoderSession(model: model, encoderOutput: encoded)
            if !languageDetected {
                language = try detectLanguage(session)
                languageDetected = true
            }
            var prompt: [Int] = []
            let previous = Array(allTokens[promptResetSince...])
            if !previous.isEmpty {
                prompt.append(tokens.startOfPrevious)
                prompt += previous.suffix(model.dimensions.textContext / 2 - 1)
            }
            prompt.append(tokens.startOfTranscript)
            if tokens.isMultilingual, let languageToken = tokens.languages[language] {
                prompt += [languageToken, options.task == .translate ? tokens.translate : tokens.transcribe]
            }
            if options.withoutTimestamps { prompt.append(tokens.noTimestamps) }

            let filters = LogitFilters(
                tokens: tokens, suppress: suppress,
                suppressAtBegin: options.suppressBlank ? model.config.suppressIDsBegin.nilIfEmpty ?? [tokenizer.encode(" ").first ?? 220, tokens.endOfText] : [],
                timestamps: !options.withoutTimestamps,
                maxInitialTimestampIndex: Int((options.maxInitialTimestamp / WhisperSpecialTokens.secondsPerTimestamp).rounded()))
            let decoder = WindowDecoder(session: session, tokens: tokens)
            let (result, compression) = try decodeWithFallback(decoder, prompt: prompt, filters: filters, options: options,
                                                               seek: seek, isCancelled: isCancelled)

            if Self.isSilence(result, options) {
                seek += segmentSize
                progress?(min(1, Double(seek) / Double(max(contentFrames, 1))))
                continue
            }
            var split = splitByTimestamps(result.tokens, timeOffset: timeOffset, segmentSize: segmentSize,
                                          segmentDuration: segmentDuration, seek: seek)
            var words: [[TranscriptWord]]? = nil
            if options.wordTimestamps {
                words = try wordTimes(session: session, encoderFrames: encoded.frames, segments: &split.segments,
                                      melFrames: segmentSize, timeOffset: timeOffset, language: language,
                                      task: options.task, lastSpeech: &lastSpeechTimestamp)
                // faster-whisper seeks to the end of the last word rather than the last timestamp.
                if !split.singleTimestampEnding,
                   let lastEnd = words?.last(where: { !$0.isEmpty })?.last?.end ?? split.segments.last?.end,
                   lastEnd > timeOffset {
                    split.seek = Int((lastEnd / Self.secondsPerFrame).rounded(.toNearestOrEven))
                }
                if let lastEnd = words?.last(where: { !$0.isEmpty })?.last?.end ?? split.segments.last?.end {
                    lastSpeechTimestamp = lastEnd
                }
            }
            seek = split.seek
            for (index, piece) in split.segments.enumerated() {
                let text = tokenizer.decode(piece.tokens)
                if piece.start == piece.end || text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
                allTokens += piece.tokens
                segments.append(TranscriptSegment(
                    start: piece.start, end: piece.end, text: text, tokens: piece.tokens,
                    avgLogProb: result.avgLogProb, noSpeechProb: result.noSpeechProb,
                    temperature: result.temperature, compressionRatio: compression,
                    words: words?[index], minTokenLogProb: result.minTokenLogProb))
            }
            if !options.conditionOnPreviousText || result.temperature > options.promptResetOnTemperature {
                promptResetSince = allTokens.count
            }
            progress?(min(1, Double(seek) / Double(max(contentFrames, 1))))
        }
        let text = segments.map(\.text).joined().trimmingCharacters(in: .whitespaces)
        return Transcript(segments: segments, text: text, language: language)
    }

    /// Whisper's no-speech rule (no-speech probability above the threshold, unless the text is
    /// likely enough), then Hark's gate (very low speech confidence, or a somewhat likely
    /// no-speech window with unlikely text).
    static func isSilence(_ result: WindowDecoding, _ options: TranscriptionOptions) -> Bool {
        if let noSpeechThreshold = options.noSpeechThreshold, result.noSpeechProb > noSpeechThreshold,
           !(options.logProbThreshold.map { result.avgLogProb > $0 } ?? false) {
            return true
        }
        if let minimum = options.minimumSpeechConfidence, speechConfidence(result) < minimum {
            return true
        }
        if let noSpeech = options.gateNoSpeechThreshold, result.noSpeechProb > noSpeech,
           result.avgLogProb < options.gateLogProbThreshold {
            return true
        }
        return false
    }

    /// (1 - no-speech probability) x exp(average log-probability).
    static func speechConfidence(_ result: WindowDecoding) -> Float {
        (1 - result.noSpeechProb) * expf(result.avgLogProb)
    }

    /// faster-whisper's `get_suppressed_tokens`: -1 expands to the model's non-speech set, and the
    /// task, start and no-speech tokens are always suppressed.
    private func suppressedTokens(_ options: TranscriptionOptions) -> [Int] {
        var ids = Set<Int>()
        for id in options.suppressTokens {
            if id == -1 { ids.formUnion(model.config.suppressIDs) } else if id >= 0 { ids.insert(id) }
        }
        let t = specialTokens
        ids.formUnion([t.transcribe, t.translate, t.startOfTranscript, t.startOfPrevious, t.startOfLM, t.noSpeech])
        return ids.sorted()
    }

    /// Decodes at each temperature until the result is neither repetitive nor unlikely
    /// (faster-whisper `generate_with_fallback`).
    private func decodeWithFallback(_ decoder: WindowDecoder, prompt: [Int], filters: LogitFilters,
                                    options: TranscriptionOptions, seek: Int,
                                    isCancelled: (@Sendable () -> Bool)?) throws -> (WindowDecoding, Double) {
        var all: [(WindowDecoding, Double)] = []
        var belowCompressionThreshold: [(WindowDecoding, Double)] = []
        for temperature in options.temperatures {
            var windowOptions = WindowDecodingOptions(
                beamSize: temperature > 0 ? 1 : options.beamSize, temperature: temperature,
                maxNewTokens: options.maxNewTokens.map { min($0, model.dimensions.textContext - prompt.count) },
                filters: filters, seed: UInt64(seek) &* 0x9E37_79B9 &+ UInt64(temperature * 1000))
            if options.shortenedEncoderWindow { windowOptions.loopGuard = loopGuard }
            // The draft is of the transcript's beginning: the first window's.
            if seek == 0 { windowOptions.draft = options.draftTokens ?? [] }
            windowOptions.isCancelled = isCancelled
            let result = try decoder.decode(prompt: prompt, options: windowOptions)
            let text = tokenizer.decode(result.tokens).trimmingCharacters(in: .whitespacesAndNewlines)
            let ratio = compressionRatio(text)
            all.append((result, ratio))
            var needsFallback = false
            if let threshold = options.compressionRatioThreshold {
                if ratio > threshold { needsFallback = true } else { belowCompressionThreshold.append((result, ratio)) }
            }
            if let threshold = options.logProbThreshold, result.avgLogProb < threshold { needsFallback = true }
            if let noSpeech = options.noSpeechThreshold, let threshold = options.logProbThreshold,
               result.noSpeechProb > noSpeech, result.avgLogProb < threshold {
                needsFallback = false // silence: no point in trying harder
            }
            if !needsFallback { return (result, ratio) }
        }
        let pool = belowCompressionThreshold.isEmpty ? all : belowCompressionThreshold
        return pool.max(by: { $0.0.avgLogProb < $1.0.avgLogProb })!
    }

    /// Segments from timestamp pairs and the next seek (faster-whisper `_split_segments_by_timestamps`).
    private func splitByTimestamps(_ tokens: [Int], timeOffset: Double, segmentSize: Int, segmentDuration: Double,
                                   seek: Int) -> (segments: [(start: Double, end: Double, tokens: [Int])], seek: Int, singleTimestampEnding: Bool) {
        let begin = specialTokens.timestampBegin
        let precision = WhisperSpecialTokens.secondsPerTimestamp
        let singleTimestampEnding = tokens.count >= 2 && tokens[tokens.count - 2] < begin && tokens[tokens.count - 1] >= begin
        let consecutive = tokens.indices.filter { $0 > 0 && tokens[$0] >= begin && tokens[$0 - 1] >= begin }
        var segments: [(start: Double, end: Double, tokens: [Int])] = []
        var seek = seek
        if !consecutive.isEmpty {
            var slices = consecutive
            if singleTimestampEnding { slices.append(tokens.count) }
            var lastSlice = 0
            for current in slices {
                let sliced = Array(tokens[lastSlice..<current])
                let start = timeOffset + Double(sliced[0] - begin) * precision
                let end = timeOffset + Double(sliced[sliced.count - 1] - begin) * precision
                segments.append((start, end, sliced))
                lastSlice = current
            }
            if singleTimestampEnding {
                seek += segmentSize
            } else {
                seek += (tokens[lastSlice - 1] - begin) * Self.inputStride
            }
        } else {
            var duration = segmentDuration
            if let last = tokens.last(where: { $0 >= begin }), last != begin {
                duration = Double(last - begin) * precision
            }
            segments.append((timeOffset, timeOffset + duration, tokens))
            seek += segmentSize
        }
        return (segments, seek, singleTimestampEnding)
    }

    /// Word times for the segments of one window (faster-whisper `add_word_timestamps`): aligns
    /// the window's text once, then hands the words to the segments and moves segment times to
    /// their words.
    private func wordTimes(session: DecoderSession, encoderFrames: Int,
                           segments: inout [(start: Double, end: Double, tokens: [Int])],
                           melFrames: Int, timeOffset: Double, language: String, task: TranscriptionTask,
                           lastSpeech: inout Double) throws -> [[TranscriptWord]] {
        let heads = model.config.alignmentHeads.compactMap { $0.count == 2 ? (layer: $0[0], head: $0[1]) : nil }
        guard !heads.isEmpty else {
            throw ASRError.invalidInput(reason: "this model's config.json has no alignment_heads: word timestamps need them")
        }
        let tokens = specialTokens
        var startSequence = [tokens.startOfTranscript]
        if tokens.isMultilingual, let languageToken = tokens.languages[language] {
            startSequence += [languageToken, task == .translate ? tokens.translate : tokens.transcribe]
        }
        let text = segments.flatMap { $0.tokens.filter { $0 < tokens.endOfText } }
        let aligner = WordAligner(session: session, tokens: tokens, tokenizer: tokenizer, heads: heads, encoderFrames: encoderFrames)
        var aligned = try aligner.align(startSequence: startSequence, text: text, melFrames: melFrames, language: language)
        let limits = WordTimingAdjustment.durationLimits(aligned)
        WordTimingAdjustment.adjust(&aligned, maxDuration: limits.max)
        return WordTimingAdjustment.distribute(aligned, limits: limits, segments: &segments, timeOffset: timeOffset,
                                               endOfText: tokens.endOfText, lastSpeech: &lastSpeech)
    }

    /// The most likely language token after `<|startoftranscript|>` (multilingual models).
    private func detectLanguage(_ session: DecoderSession) throws -> String {
        session.reset(batch: 1)
        let logits = try session.forward([[specialTokens.startOfTranscript]]).last[0]
        var best: (String, Float) = ("en", -.infinity)
        for (code, id) in specialTokens.languages where logits[id] > best.1 { best = (code, logits[id]) }
        return best.0
    }

    /// `count` columns of `mel` from column `start`, zero-padded to `frames` columns, bin-major.
    static func slice(_ mel: MelFeatures, from start: Int, count: Int, frames: Int) -> [Float] {
        var out = [Float](repeating: 0, count: mel.bins * frames)
        let available = max(0, min(frames, count, mel.frames - start))
        mel.values.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for bin in 0..<mel.bins where available > 0 {
                    (target.baseAddress! + bin * frames).update(from: source.baseAddress! + bin * mel.frames + start, count: available)
                }
            }
        }
        return out
    }
}

extension Array {
    var nilIfEmpty: Self? { isEmpty ? nil : self }
}

/// `WhisperTranscriber` as the evaluation seam (`SpeechTranscribing`): the text only, decoded
/// with fixed options. A separate type rather than a second `transcribe(_:)` overload on
/// `WhisperTranscriber`, so `transcriber.transcribe(samples)` always means the full `Transcript`.
///
/// ```swift
/// var options = TranscriptionOptions.default
/// options.beamSize = beamSize
/// let speech = WhisperSpeechTranscriber(try WhisperTranscriber(modelDirectory: url), options: options)
/// let report = try await ASREvaluation().run(entries, transcriber: speech, loadAudio: load)
/// ```
public struct WhisperSpeechTranscriber: SpeechTranscribing {
    public let transcriber: WhisperTranscriber
    public let options: TranscriptionOptions

    public init(_ transcriber: WhisperTranscriber, options: TranscriptionOptions = .default) {
        self.transcriber = transcriber
        self.options = options
    }

    public func transcribe(_ samples: [Float]) async throws -> String {
        try await transcriber.transcribe(samples, options: options, progress: nil).text
    }
}
