/// Turns a stream of audio into utterance boundaries: feeds fixed-size frames to a voice
/// activity session and applies hysteresis, a minimum speech length, a trailing-silence
/// timeout, padding and a maximum utterance length. Positions are sample indices from the
/// start of the stream; padding is already applied to the positions reported.
///
/// ```swift
/// var endpointer = try Endpointer(detector: model)    // or session: model.makeSession()
/// for chunk in microphoneChunks {                  // any sizes; buffered into frames
///     for event in endpointer.process(chunk) {
///         switch event {
///         case .speechStart(let sample): ...
///         case .speechEnd(let start, let end): ...  // transcribe samples start..<end
///         }
///     }
/// }
/// let last = endpointer.flush()                    // end of stream: closes an open utterance
/// ```
///
/// `speechStart` is emitted once speech has lasted `minSpeechMs`, so it arrives that late;
/// `speechEnd` arrives `trailingSilenceMs` after the last speech frame. Before padding, each
/// boundary is refined by energy (up to `energyRefinementMs`: quiet 8 ms blocks at the edge
/// are trimmed), because a frame detector marks whole 32 ms frames and lags the end of speech.
/// One owner at a time.
public struct Endpointer: Sendable {
    /// A boundary of an utterance.
    public enum Event: Sendable, Equatable {
        /// An utterance began at `sample` (padding before included).
        case speechStart(sample: Int)
        /// The utterance covering samples `startSample..<endSample` ended.
        case speechEnd(startSample: Int, endSample: Int)
    }

    public let config: EndpointerConfig
    public let sampleRate: Int
    public let frameSize: Int

    private var session: any VoiceActivitySession
    private var pending: [Float] = []
    /// Samples consumed into whole frames so far (the end of the last frame).
    public private(set) var position = 0
    /// Probability of the last frame.
    public private(set) var lastProbability: Float = 0
    private var state: State = .silence
    /// End of the previous utterance: padding never reaches back past it.
    private var previousEnd = 0

    private enum State: Sendable, Equatable {
        case silence
        case candidate(start: Int)
        case speech(start: Int, paddedStart: Int, lastSpeechEnd: Int)
    }

    /// Noise floor for boundary refinement, and levels of recent 8 ms blocks (a ring).
    private var floorTracker: EnergyVADSession
    private var blockLevels: [Float]
    private var blocksSeen = 0
    private let blockSize: Int
    private let refinementBlocks: Int
    private static let blockRingCapacity = 1024
    /// Refinement waits until the floor has seen this many samples (320 ms).
    private let floorWarmupSamples: Int

    private let minSpeechSamples: Int
    private let trailingSilenceSamples: Int
    private let padBeforeSamples: Int
    private let padAfterSamples: Int
    private let maxUtteranceSamples: Int

    /// - Parameters:
    ///   - session: a fresh detector session (owned by this endpointer from now on).
    ///   - sampleRate: samples per second of the audio fed in (16000 for Silero).
    ///   - config: thresholds and durations; validated here.
    public init(session: any VoiceActivitySession, sampleRate: Int = 16000, config: EndpointerConfig = .default) throws(VADError) {
        try config.validate()
        guard sampleRate > 0 else {
            throw .invalidConfiguration(field: "sampleRate", value: "\(sampleRate)", reason: "must be positive")
        }
        self.session = session
        self.config = config
        self.sampleRate = sampleRate
        frameSize = session.frameSize
        func samples(ms: Int) -> Int { ms * sampleRate / 1000 }
        minSpeechSamples = samples(ms: config.minSpeechMs)
        trailingSilenceSamples = samples(ms: config.trailingSilenceMs)
        padBeforeSamples = samples(ms: config.padBeforeMs)
        padAfterSamples = samples(ms: config.padAfterMs)
        maxUtteranceSamples = max(frameSize, Int(config.maxUtteranceSeconds * Double(sampleRate)))
        var energyConfig = EnergyDetectorConfig()
        energyConfig.frameSize = frameSize
        energyConfig.sampleRate = sampleRate
        floorTracker = EnergyVADSession(config: energyConfig)
        blockSize = frameSize % 4 == 0 ? frameSize / 4 : frameSize
        refinementBlocks = samples(ms: config.energyRefinementMs) / blockSize
        blockLevels = [Float](repeating: 0, count: refinementBlocks > 0 ? Self.blockRingCapacity : 0)
        floorWarmupSamples = samples(ms: 320)
    }

    /// An endpointer over a fresh session of `detector`, at the detector's sample rate.
    public init(detector: some VoiceActivityDetecting, config: EndpointerConfig = .default) throws(VADError) {
        try self.init(session: detector.makeSession(), sampleRate: detector.sampleRate, config: config)
    }

    /// True between `speechStart` and `speechEnd`.
    public var isSpeaking: Bool {
        if case .speech = state { return true }
        return false
    }

    /// Feeds the next samples of the stream (any count); returns the events they complete.
    public mutating func process(_ samples: [Float]) -> [Event] {
        var events: [Event] = []
        var offset = 0
        if !pending.isEmpty {
            let needed = frameSize - pending.count
            pending += samples.prefix(needed)
            offset = min(needed, samples.count)
            guard pending.count == frameSize else { return events }
            events += step(frame: pending)
            pending.removeAll(keepingCapacity: true)
        }
        while samples.count - offset >= frameSize {
            events += step(frame: Array(samples[offset..<offset + frameSize]))
            offset += frameSize
        }
        pending += samples[offset...]
        return events
    }

    /// Ends the stream: scores the buffered partial frame (zero-padded), closes an open
    /// utterance at the last speech plus padding (never past the audio given), drops speech
    /// not yet confirmed (shorter than `minSpeechMs`), and resets for a new stream whose
    /// positions start at 0 again.
    public mutating func flush() -> [Event] {
        var events: [Event] = []
        let total = position + pending.count
        if !pending.isEmpty {
            let frame = pending + [Float](repeating: 0, count: frameSize - pending.count)
            pending.removeAll()
            events += step(frame: frame).map { clamp($0, to: total) }
        }
        if case let .speech(start, paddedStart, lastSpeechEnd) = state {
            let end = refinedEnd(lastSpeechEnd, notBefore: start)
            events.append(.speechEnd(startSample: paddedStart, endSample: min(total, end + padAfterSamples)))
        }
        reset()
        return events
    }

    /// Forgets the stream (and resets the detector session) without emitting anything.
    public mutating func reset() {
        session.reset()
        pending.removeAll()
        floorTracker.reset()
        blocksSeen = 0
        position = 0
        previousEnd = 0
        lastProbability = 0
        state = .silence
    }

    private func clamp(_ event: Event, to total: Int) -> Event {
        switch event {
        case let .speechStart(sample): return .speechStart(sample: min(sample, total))
        case let .speechEnd(start, end): return .speechEnd(startSample: min(start, total), endSample: min(end, total))
        }
    }

    private mutating func step(frame: [Float]) -> [Event] {
        let probability = session.probability(of: frame)
        if refinementBlocks > 0 {
            _ = floorTracker.probability(of: frame)
            for start in stride(from: 0, to: frameSize, by: blockSize) {
                blockLevels[blocksSeen % Self.blockRingCapacity] = rmsDecibels(frame[start..<start + blockSize])
                blocksSeen += 1
            }
        }
        return advance(probability: probability)
    }

    /// Level of block `index` if it is still in the ring.
    private func blockLevel(_ index: Int) -> Float? {
        guard index >= 0, index < blocksSeen, index >= blocksSeen - Self.blockRingCapacity else { return nil }
        return blockLevels[index % Self.blockRingCapacity]
    }

    /// The silence threshold for refinement, once the noise floor is known.
    private func refinementThreshold(before sample: Int) -> Float? {
        guard refinementBlocks > 0, sample >= floorWarmupSamples, let floor = floorTracker.noiseFloorDbfs else { return nil }
        return floor + config.refinementMarginDb
    }

    /// Moves a detected start later past quiet blocks (at most `energyRefinementMs`, never to `limit`).
    private func refinedStart(_ start: Int, limit: Int) -> Int {
        guard let threshold = refinementThreshold(before: start) else { return start }
        var block = start / blockSize
        var moved = 0
        while moved < refinementBlocks, (block + 1) * blockSize < limit, let level = blockLevel(block), level < threshold {
            block += 1
            moved += 1
        }
        return block * blockSize
    }

    /// Moves a detected end earlier past quiet blocks (at most `energyRefinementMs`, never to `start`).
    private func refinedEnd(_ end: Int, notBefore start: Int) -> Int {
        guard let threshold = refinementThreshold(before: start) else { return end }
        var block = end / blockSize - 1
        var moved = 0
        while moved < refinementBlocks, block * blockSize > start, let level = blockLevel(block), level < threshold {
            block -= 1
            moved += 1
        }
        return (block + 1) * blockSize
    }

    /// The state machine, one frame at a time.
    private mutating func advance(probability: Float) -> [Event] {
        lastProbability = probability
        let frameStart = position
        let frameEnd = position + frameSize
        position = frameEnd
        var events: [Event] = []

        switch state {
        case .silence:
            if probability >= config.startThreshold {
                state = .candidate(start: frameStart)
                events += confirmIfLongEnough(start: frameStart, frameEnd: frameEnd)
            }
        case let .candidate(start):
            if probability >= config.endThreshold {
                events += confirmIfLongEnough(start: start, frameEnd: frameEnd)
            } else {
                state = .silence
            }
        case let .speech(start, paddedStart, lastSpeechEnd):
            if probability >= config.endThreshold {
                if frameEnd - start >= maxUtteranceSamples {
                    // Too long: cut here; speech continuing will start a new utterance.
                    events.append(.speechEnd(startSample: paddedStart, endSample: frameEnd))
                    previousEnd = frameEnd
                    state = .silence
                } else {
                    state = .speech(start: start, paddedStart: paddedStart, lastSpeechEnd: frameEnd)
                }
            } else if frameEnd - lastSpeechEnd >= trailingSilenceSamples {
                let end = min(refinedEnd(lastSpeechEnd, notBefore: start) + padAfterSamples, frameEnd)
                events.append(.speechEnd(startSample: paddedStart, endSample: end))
                previousEnd = end
                state = .silence
            }
        }
        return events
    }

    private mutating func confirmIfLongEnough(start: Int, frameEnd: Int) -> [Event] {
        guard frameEnd - start >= minSpeechSamples else { return [] }
        let paddedStart = max(0, previousEnd, refinedStart(start, limit: frameEnd) - padBeforeSamples)
        state = .speech(start: start, paddedStart: paddedStart, lastSpeechEnd: frameEnd)
        return [.speechStart(sample: paddedStart)]
    }
}

extension Endpointer {
    /// Runs a whole recording through a fresh endpointer and returns the utterances as
    /// sample ranges (every `speechEnd`, flushed at the end).
    public static func utterances(in samples: [Float], session: any VoiceActivitySession, sampleRate: Int = 16000,
                                  config: EndpointerConfig = .default) throws(VADError) -> [Range<Int>] {
        var endpointer = try Endpointer(session: session, sampleRate: sampleRate, config: config)
        let events = endpointer.process(samples) + endpointer.flush()
        return events.compactMap {
            if case let .speechEnd(start, end) = $0 { return start..<end }
            return nil
        }
    }
}
