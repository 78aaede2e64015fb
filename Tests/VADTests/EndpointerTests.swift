import Foundation
import HarkTestSupport
import Testing
import VAD

/// A fake detector session: a frame's probability is its first sample, so test audio can
/// script the probabilities frame by frame (and chunking cannot change them).
struct ScriptedSession: VoiceActivitySession {
    let frameSize: Int
    /// When set, frame k scores `script[k]` whatever the audio (to test energy refinement).
    var script: [Float]? = nil
    var framesSeen = 0
    mutating func probability(of frame: [Float]) -> Float {
        defer { framesSeen += 1 }
        if let script { return framesSeen < script.count ? script[framesSeen] : 0 }
        return frame[0]
    }
    mutating func reset() { framesSeen = 0 }
}

/// Audio whose 10 ms frames carry the given probabilities.
func scriptedAudio(_ runs: [(probability: Float, frames: Int)], frameSize: Int = 160) -> [Float] {
    runs.flatMap { run in [Float](repeating: run.probability, count: run.frames * frameSize) }
}

@Suite struct EndpointerTests {
    static let frame = 160  // 10 ms at 16 kHz keeps the arithmetic readable

    /// The scripted audio is DC, whose "energy" says nothing: refinement off unless a test turns it on.
    static let plain = EndpointerConfig(energyRefinementMs: 0)

    func run(_ audio: [Float], config: EndpointerConfig = plain) throws -> [Endpointer.Event] {
        var endpointer = try Endpointer(session: ScriptedSession(frameSize: Self.frame), config: config)
        return endpointer.process(audio) + endpointer.flush()
    }

    @Test func oneUtteranceWithPaddingAndTrailingSilence() throws {
        // 1 s silence, 1 s speech, 1 s silence. Speech starts at frame 100 (sample 16000),
        // is confirmed after 250 ms, its last frame ends at 32000, and 600 ms of silence ends it.
        var endpointer = try Endpointer(session: ScriptedSession(frameSize: Self.frame))
        let audio = scriptedAudio([(0, 100), (0.9, 100), (0, 100)])
        var events: [(at: Int, event: Endpointer.Event)] = []
        for start in stride(from: 0, to: audio.count, by: 160) {
            for event in endpointer.process(Array(audio[start..<start + 160])) { events.append((endpointer.position, event)) }
        }
        #expect(events.map(\.event) == [.speechStart(sample: 16000 - 3200), .speechEnd(startSample: 12800, endSample: 32000 + 3200)])
        // Emitted when decided: start after 250 ms of speech, end after 600 ms of silence.
        #expect(events.map(\.at) == [16000 + 4000, 32000 + 9600])
        #expect(endpointer.flush().isEmpty)
    }

    @Test func hysteresisKeepsSpeechBetweenThresholds() throws {
        // 0.4 is below start (0.5) but above end (0.35): it continues speech, never starts it.
        let events = try run(scriptedAudio([(0.4, 50), (0.9, 30), (0.4, 100), (0.1, 70), (0.4, 100)]))
        // Starts at frame 50 (8000), stays through the 0.4 frames (last ends at 28800), ends after 600 ms of 0.1.
        #expect(events == [.speechStart(sample: 8000 - 3200), .speechEnd(startSample: 4800, endSample: 28800 + 3200)])
    }

    @Test func shortBlipsAndDipsDoNotMakeUtterances() throws {
        // 240 ms of speech is below the 250 ms minimum; a dip below end threshold restarts the count.
        #expect(try run(scriptedAudio([(0, 50), (0.9, 24), (0, 100)])).isEmpty)
        #expect(try run(scriptedAudio([(0, 50), (0.9, 20), (0.2, 1), (0.9, 20), (0, 100)])).isEmpty)
        #expect(try run(scriptedAudio([(0, 50), (0.9, 25), (0, 100)])).count == 2)
    }

    @Test func pauseShorterThanTrailingSilenceKeepsOneUtterance() throws {
        let events = try run(scriptedAudio([(0, 50), (0.9, 50), (0, 59), (0.9, 50), (0, 100)]))
        #expect(events == [.speechStart(sample: 8000 - 3200), .speechEnd(startSample: 4800, endSample: 209 * 160 + 3200)])
        let split = try run(scriptedAudio([(0, 50), (0.9, 50), (0, 60), (0.9, 50), (0, 100)]))
        // Second start is padded back 200 ms but not into the first utterance's padded end.
        #expect(split == [.speechStart(sample: 4800), .speechEnd(startSample: 4800, endSample: 16000 + 3200),
                          .speechStart(sample: 25600 - 3200), .speechEnd(startSample: 22400, endSample: 33600 + 3200)])
        let tight = try run(scriptedAudio([(0, 50), (0.9, 50), (0, 60), (0.9, 50), (0, 100)]),
                            config: EndpointerConfig(padBeforeMs: 500, padAfterMs: 500, energyRefinementMs: 0))
        #expect(tight[2] == .speechStart(sample: 16000 + 8000))
        #expect(tight[1] == .speechEnd(startSample: 0, endSample: 16000 + 8000))
    }

    @Test func energyRefinementTrimsQuietEdgesOnly() throws {
        // 1 s of -60 dBFS noise, 1 s of a loud tone, 1 s of noise. The detector (scripted) says
        // speech starts 40 ms early and lasts 80 ms too long; energy moves both edges back to the
        // tone, to the 8 ms block (40 = 5 blocks of 40 samples at frameSize 160).
        var generator = SeededGenerator(seed: 3)
        var audio = (0..<48000).map { _ in Float.random(in: -0.0017...0.0017, using: &generator) }
        for k in 16000..<32000 { audio[k] += 0.3 * sinf(Float(k) * 0.2) }
        var script = [Float](repeating: 0, count: 300)
        for k in 96..<208 { script[k] = 0.9 }
        let config = EndpointerConfig(padBeforeMs: 0, padAfterMs: 0)
        var endpointer = try Endpointer(session: ScriptedSession(frameSize: Self.frame, script: script), config: config)
        let events = endpointer.process(audio) + endpointer.flush()
        #expect(events == [.speechStart(sample: 16000), .speechEnd(startSample: 16000, endSample: 32000)])
        // Limited to energyRefinementMs: with 40 ms allowed, the end moves back only 40 ms.
        var limited = try Endpointer(session: ScriptedSession(frameSize: Self.frame, script: script),
                                     config: EndpointerConfig(padBeforeMs: 0, padAfterMs: 0, energyRefinementMs: 40))
        let limitedEvents = limited.process(audio) + limited.flush()
        #expect(limitedEvents == [.speechStart(sample: 16000), .speechEnd(startSample: 16000, endSample: 33280 - 640)])
        // Off: the detector's own frames.
        var off = try Endpointer(session: ScriptedSession(frameSize: Self.frame, script: script),
                                 config: EndpointerConfig(padBeforeMs: 0, padAfterMs: 0, energyRefinementMs: 0))
        #expect(off.process(audio) + off.flush() == [.speechStart(sample: 15360), .speechEnd(startSample: 15360, endSample: 33280)])
    }

    @Test func chunkSizesDoNotChangeEvents() throws {
        let audio = scriptedAudio([(0, 30), (0.8, 80), (0.1, 70), (0.6, 40), (0.36, 20), (0, 90), (0.9, 33)])
        let whole = try run(audio)
        #expect(whole.count == 6)
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<20 {
            var endpointer = try Endpointer(session: ScriptedSession(frameSize: Self.frame))
            var events: [Endpointer.Event] = []
            var offset = 0
            while offset < audio.count {
                let size = min(audio.count - offset, Int.random(in: 0...700, using: &generator))
                events += endpointer.process(Array(audio[offset..<offset + size]))
                offset += size
            }
            events += endpointer.flush()
            #expect(events == whole)
        }
    }

    @Test func maximumUtteranceLengthCutsAndRestarts() throws {
        let events = try run(scriptedAudio([(0, 10), (0.9, 250), (0, 100)]), config: EndpointerConfig(maxUtteranceSeconds: 1, energyRefinementMs: 0))
        // Cut when 1 s of speech is reached (frame ending at 1600 + 16000), again 1 s later, then the
        // rest ends normally (last speech frame ends at 41600) and is not cut during its trailing silence.
        #expect(events == [.speechStart(sample: 0), .speechEnd(startSample: 0, endSample: 17600),
                           .speechStart(sample: 17600), .speechEnd(startSample: 17600, endSample: 33600),
                           .speechStart(sample: 33600), .speechEnd(startSample: 33600, endSample: 41600 + 3200)])
    }

    @Test func flushClosesOpenUtteranceAtTheEndOfAudio() throws {
        // Speech running into the end of the stream, with a partial last frame of 50 samples.
        let audio = scriptedAudio([(0, 20), (0.9, 40)]) + [Float](repeating: 0.9, count: 50)
        var endpointer = try Endpointer(session: ScriptedSession(frameSize: Self.frame))
        let started = endpointer.process(audio)
        #expect(started == [.speechStart(sample: 0)])
        #expect(endpointer.isSpeaking)
        #expect(endpointer.flush() == [.speechEnd(startSample: 0, endSample: audio.count)])
        #expect(!endpointer.isSpeaking)
        #expect(endpointer.position == 0)
    }

    @Test func invalidConfigurationsAreRejected() {
        #expect(throws: VADError.self) { try Endpointer(session: ScriptedSession(frameSize: 160), config: EndpointerConfig(startThreshold: 0.3, endThreshold: 0.5)) }
        #expect(throws: VADError.self) { try Endpointer(session: ScriptedSession(frameSize: 160), config: EndpointerConfig(trailingSilenceMs: -1)) }
        #expect(throws: VADError.self) { try Endpointer(session: ScriptedSession(frameSize: 160), config: EndpointerConfig(maxUtteranceSeconds: 0)) }
        #expect(throws: VADError.self) { try Endpointer(session: ScriptedSession(frameSize: 160), sampleRate: 0) }
        let config = EndpointerConfig.default
        #expect(config.trailingSilenceMs == 600 && config.startThreshold == 0.5 && config.endThreshold == 0.35)
    }

    @Test func configRoundTripsThroughJSON() throws {
        let config = EndpointerConfig(trailingSilenceMs: 800, maxUtteranceSeconds: 12.5)
        let decoded = try JSONDecoder().decode(EndpointerConfig.self, from: JSONEncoder().encode(config))
        #expect(decoded == config)
        let partial = try JSONDecoder().decode(EndpointerConfig.self, from: Data(#"{"trailingSilenceMs": 900}"#.utf8))
        #expect(partial == EndpointerConfig(trailingSilenceMs: 900))
    }
}
