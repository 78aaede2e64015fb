import ASR
import Foundation
import HarkTestSupport
import Testing
import VAD
@testable import Assistant

/// A recognizer that takes `delay` seconds per call (a model slower than real time) and
/// records the options of every call.
final class SlowRecognizer: SpeechRecognizing, @unchecked Sendable {
    let delay: Double
    private let lock = NSLock()
    private var recorded: [(samples: Int, options: TranscriptionOptions)] = []

    init(delay: Double) { self.delay = delay }

    var calls: [(samples: Int, options: TranscriptionOptions)] { lock.withLock { recorded } }

    func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript {
        lock.withLock { recorded.append((samples.count, options)) }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        return try FixedRecognizer().recognize(samples, options: options)
    }
}

/// Loud harmonic bursts (`on` seconds) separated by `off` seconds over -60 dBFS seeded noise,
/// after `lead` seconds of noise: utterances any detector finds. Returns the samples and each
/// burst's sample range.
func burstRecording(lead: Double, on: Double, off: Double, count: Int) -> (samples: [Float], bursts: [Range<Int>]) {
    let rate = 16000
    var samples = [Float](repeating: 0, count: Int((lead + Double(count) * (on + off)) * Double(rate)))
    var bursts: [Range<Int>] = []
    for k in 0..<count {
        let start = Int((lead + Double(k) * (on + off)) * Double(rate))
        let range = start..<(start + Int(on * Double(rate)))
        for i in range {
            let t = Double(i) / Double(rate)
            samples[i] = Float(0.15 * (sin(2 * .pi * 180 * t) + 0.6 * sin(2 * .pi * 360 * t) + 0.3 * sin(2 * .pi * 540 * t)))
        }
        bursts.append(range)
    }
    var rng = SplitMix64(seed: 7)
    for i in samples.indices { samples[i] += Float.random(in: -0.0017...0.0017, using: &rng) }
    return (samples, bursts)
}

func warnings(_ events: [ListenEvent]) -> [String] {
    events.compactMap { if case let .warning(message) = $0 { return message } else { return nil } }
}

@Suite(.serialized) struct ListenerLoadTests {
    /// Recognition much slower than the audio: the 1 s ring buffer overflows. Every dropped
    /// sample is reported in a warning and counted; nothing goes missing unaccounted.
    @Test func aSlowRecognizerForcesDropsThatAreReportedAndCounted() async throws {
        let recording = burstRecording(lead: 0.5, on: 0.8, off: 1.0, count: 6)
        var config = ListenerConfig.default
        config.bufferSeconds = 1
        config.partials = false
        let recognizer = SlowRecognizer(delay: 0.6)
        let listener = Listener(recognizer: recognizer, detector: EnergyVoiceActivityDetector(), config: config)
        let statistics = ListenStatistics()
        // Four times real time: 11.3 s of audio in about 2.8 s, while each final takes 0.6 s.
        let source = PacedAudioSource(SamplesAudioSource(samples: recording.samples, periodFrames: 512), speed: 4)
        var events: [ListenEvent] = []
        for try await event in listener.events(from: source, statistics: statistics) { events.append(event) }

        let dropWarnings = warnings(events).filter { $0.contains("dropped") }
        #expect(statistics.droppedSamples > 16000, "dropped \(statistics.droppedSamples)")
        #expect(!dropWarnings.isEmpty)
        #expect(dropWarnings.count == statistics.dropWarnings)
        #expect(statistics.capturedSamples == recording.samples.count)
        #expect(statistics.processedSamples + statistics.droppedSamples == statistics.capturedSamples)
        // The warnings' amounts add up to everything dropped ("... 0.52 s of audio were dropped").
        let reported = dropWarnings.compactMap { message -> Double? in
            guard let range = message.range(of: #"[0-9.]+(?= s of audio were dropped)"#, options: .regularExpression) else { return nil }
            return Double(message[range])
        }.reduce(0, +)
        #expect(abs(reported - Double(statistics.droppedSamples) / 16000) < 0.01 * Double(dropWarnings.count) + 0.001)
    }

    /// Finals that keep arriving late against real time give one warning for the episode, not
    /// one per final, and the episode is counted.
    @Test func lateFinalsWarnOncePerEpisode() async throws {
        let recording = burstRecording(lead: 0.5, on: 0.5, off: 1.2, count: 3)
        var config = ListenerConfig.default
        config.partials = false
        config.behindWarningSeconds = 0.15
        // 0.9 s per decode: the speculative start (0.4 s before the decision) cannot hide it.
        let listener = Listener(recognizer: SlowRecognizer(delay: 0.9), detector: EnergyVoiceActivityDetector(), config: config)
        let statistics = ListenStatistics()
        let source = PacedAudioSource(SamplesAudioSource(samples: recording.samples, periodFrames: 512))
        var events: [ListenEvent] = []
        for try await event in listener.events(from: source, statistics: statistics) { events.append(event) }

        let finals = events.filter { if case .final = $0 { true } else { false } }
        #expect(finals.count == 3)
        #expect(statistics.utterances.allSatisfy { $0.decisionToFinalSeconds >= 0.3 }, "\(statistics.utterances)")
        let behind = warnings(events).filter { $0.contains("behind real time") }
        #expect(behind.count == 1, "\(warnings(events))")
        #expect(statistics.behindEpisodes == 1)
        #expect(statistics.droppedSamples == 0)
    }

    /// Every decode gets a token budget from its audio's length; no partial starts once the
    /// speaker has paused (the final would have to wait behind it); the final decode starts
    /// during the trailing silence and is the one used when the utterance ends there.
    @Test func decodesAreBudgetedAndNoPartialStartsInTheTrailingSilence() async throws {
        let recording = burstRecording(lead: 0.5, on: 1.6, off: 1.2, count: 2)
        var config = ListenerConfig.default
        config.endpointer.padBeforeMs = 0
        config.endpointer.padAfterMs = 0
        let recognizer = SlowRecognizer(delay: 0)
        let listener = Listener(recognizer: recognizer, detector: EnergyVoiceActivityDetector(), config: config)
        let statistics = ListenStatistics()
        // Paced (partials run only while recognition keeps up with a live source), 4x real time.
        let source = PacedAudioSource(SamplesAudioSource(samples: recording.samples, periodFrames: 512), speed: 4)
        var events: [ListenEvent] = []
        for try await event in listener.events(from: source, statistics: statistics) { events.append(event) }
        #expect(events.filter { if case .final = $0 { true } else { false } }.count == 2)
        #expect(statistics.speculations == 2)
        #expect(statistics.utterances.count == 2 && statistics.utterances.allSatisfy(\.speculative), "\(statistics.utterances)")

        let calls = recognizer.calls
        let partials = calls.filter { $0.options.withoutTimestamps }
        let finals = calls.filter { !$0.options.withoutTimestamps }
        #expect(finals.count == 2)
        #expect(partials.count >= 4, "partials \(partials.map(\.samples))")
        for call in calls {
            let expected = config.tokenMargin + Int((Double(call.samples) / 16000 * config.tokensPerSecond).rounded(.up))
            #expect(call.options.maxNewTokens == expected)
        }
        // A partial covers at most the burst (1.6 s) plus the chunk and frame in which it ended.
        for partial in partials {
            #expect(Double(partial.samples) / 16000 <= 1.6 + 0.15, "partial of \(Double(partial.samples) / 16000) s")
        }
    }
}
