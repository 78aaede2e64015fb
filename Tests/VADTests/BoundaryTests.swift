import Foundation
import HarkTestSupport
import Testing
import VAD

/// Where speech really is inside a clip, measured by energy: 10 ms windows at least 15 dB
/// above the clip's noise floor (its 10th-percentile window), in runs of at least 20 ms (so
/// a lone click does not count, while a plosive release such as the "t" of "it" does).
func speechExtent(of clip: [Float]) -> Range<Int> {
    let window = 160
    let levels = stride(from: 0, to: clip.count - window + 1, by: window).map { rmsDecibels(Array(clip[$0..<$0 + window])) }
    let floor = levels.sorted()[levels.count / 10]
    let loud = levels.map { $0 > floor + 15 }
    let runs = loud.indices.filter { $0 + 1 < loud.count && loud[$0] && loud[$0 + 1] }
    guard let first = runs.first, let last = runs.last else { return 0..<0 }
    return first * window..<(last + 2) * window
}

/// Speech clips laid end to end over seeded low-level white noise, with known silences.
struct SyntheticRecording {
    var samples: [Float] = []
    /// Where each clip's speech (trimmed by energy) lies in `samples`.
    var truth: [Range<Int>] = []

    init(clips: [String], gapsSeconds: [Double], noiseDbfs: Float, seed: UInt64) throws {
        try self.init(clipURLs: clips.map { ProjectPaths.corpus.appendingPathComponent($0) }, gapsSeconds: gapsSeconds,
                      noiseDbfs: noiseDbfs, seed: seed)
    }

    init(clipURLs clips: [URL], gapsSeconds: [Double], noiseDbfs: Float, seed: UInt64) throws {
        precondition(gapsSeconds.count == clips.count + 1)
        var generator = SeededGenerator(seed: seed)
        let noiseRMS = powf(10, noiseDbfs / 20)
        for (index, url) in clips.enumerated() {
            samples += [Float](repeating: 0, count: Int(gapsSeconds[index] * 16000))
            let (clip, rate) = try readPCM16Wav(url)
            precondition(rate == 16000, "\(url.path) is \(rate) Hz")
            let extent = speechExtent(of: clip)
            truth.append((samples.count + extent.lowerBound)..<(samples.count + extent.upperBound))
            samples += clip
        }
        samples += [Float](repeating: 0, count: Int(gapsSeconds.last! * 16000))
        // Uniform noise with the requested RMS (uniform in -a...a has RMS a / sqrt(3)).
        let amplitude = noiseRMS * 3.0.squareRoot().floatValue
        for k in samples.indices { samples[k] += Float.random(in: -amplitude...amplitude, using: &generator) }
    }
}

extension Double { var floatValue: Float { Float(self) } }

@Suite struct BoundaryTests {
    /// Clips with their own leading and trailing silence (so the energy truth is measurable) and
    /// no internal pause near the 600 ms trailing-silence setting ("one two three" has a 540 ms
    /// pause, which makes one or two utterances equally right, so it is not used here).
    static let clips = ["A_dictation/cmu_arctic_aew_a0001.wav", "B_commands/pocketsphinx__goforward.wav",
                        "A_dictation/cmu_arctic_axb_a0005.wav", "A_dictation/cmu_arctic_aew_a0003.wav",
                        "A_dictation/cmu_arctic_axb_a0004.wav"]
    static let gaps = [1.0, 1.5, 2.0, 1.2, 1.5, 1.5]
    /// Padding off so detected boundaries compare with the speech itself.
    static let unpadded = EndpointerConfig(padBeforeMs: 0, padAfterMs: 0)
    static let tolerance = 1600  // 100 ms

    func errors(_ detected: [Range<Int>], _ truth: [Range<Int>]) -> [(start: Int, end: Int)] {
        zip(detected, truth).map { ($0.lowerBound - $1.lowerBound, $0.upperBound - $1.upperBound) }
    }

    @Test(arguments: [-60, -50] as [Float])
    func sileroBoundariesWithin100ms(noiseDbfs: Float) throws {
        let model = try #require(sileroModel)
        let recording = try SyntheticRecording(clips: Self.clips, gapsSeconds: Self.gaps, noiseDbfs: noiseDbfs, seed: 11)
        let detected = try Endpointer.utterances(in: recording.samples, session: GatedVoiceActivityDetector(inner: model).makeSession(),
                                                 config: Self.unpadded)
        #expect(detected.count == recording.truth.count, "detected \(detected) truth \(recording.truth)")
        let offsets = errors(detected, recording.truth)
        for (index, offset) in offsets.enumerated() {
            #expect(abs(offset.start) <= Self.tolerance, "clip \(index): start off by \(offset.start / 16) ms")
            #expect(abs(offset.end) <= (Self.sileroEndAllowance[index] ?? Self.tolerance),
                    "clip \(index): end off by \(offset.end / 16) ms")
        }
    }

    /// Known deviation, kept visible rather than tuned away: "go forward ten meters" fades out
    /// in a 160 ms breathy "s" 20-25 dB below its vowels (-38..-46 dBFS over a -60 floor).
    /// Energy counts it; Silero drops below 0.35 as it starts (0.29, then 0.11), so the
    /// detected end is 162 ms early (226 ms in -40 dBFS noise). The default 200 ms of padding
    /// after covers it at -60 and -50 dBFS.
    static let sileroEndAllowance = [1: 3200]

    /// espeak-ng sentences (committed fixtures, see scripts/reference/vad_reference.py).
    @Test(arguments: [-60, -50, -40] as [Float])
    func sileroBoundariesOnSyntheticSpeech(noiseDbfs: Float) throws {
        let model = try #require(sileroModel)
        let names = ["espeak_lights", "espeak_weather", "espeak_timer", "espeak_lights"]
        let urls = names.map { ProjectPaths.fixtures.appendingPathComponent("vad/\($0).wav") }
        let recording = try SyntheticRecording(clipURLs: urls, gapsSeconds: [0.7, 1.0, 0.8, 2.5, 1.0], noiseDbfs: noiseDbfs, seed: 5)
        let detected = try Endpointer.utterances(in: recording.samples, session: GatedVoiceActivityDetector(inner: model).makeSession(),
                                                 config: Self.unpadded)
        #expect(detected.count == recording.truth.count, "detected \(detected) truth \(recording.truth)")
        for (index, offset) in errors(detected, recording.truth).enumerated() {
            #expect(abs(offset.start) <= Self.tolerance, "clip \(index): start off by \(offset.start / 16) ms")
            #expect(abs(offset.end) <= Self.tolerance, "clip \(index): end off by \(offset.end / 16) ms")
        }
    }

    @Test func paddingIsAppliedAroundDetectedSpeech() throws {
        let model = try #require(sileroModel)
        let recording = try SyntheticRecording(clips: Self.clips, gapsSeconds: Self.gaps, noiseDbfs: -60, seed: 11)
        let bare = try Endpointer.utterances(in: recording.samples, session: model.makeSession(), config: Self.unpadded)
        let padded = try Endpointer.utterances(in: recording.samples, session: model.makeSession())
        #expect(padded.count == bare.count)
        for (p, b) in zip(padded, bare) {
            #expect(p.lowerBound == max(0, b.lowerBound - 3200))
            #expect(p.upperBound == b.upperBound + 3200)
        }
    }

    @Test func energyFallbackFindsTheSameUtterances() throws {
        let recording = try SyntheticRecording(clips: Self.clips, gapsSeconds: Self.gaps, noiseDbfs: -60, seed: 11)
        let detected = try Endpointer.utterances(in: recording.samples, session: EnergyVoiceActivityDetector().makeSession(),
                                                 config: Self.unpadded)
        #expect(detected.count == recording.truth.count, "detected \(detected) truth \(recording.truth)")
        // The energy fallback is coarser at the end of speech (fading consonants sink into the
        // floor, or the slowly rising floor swallows them): starts within 100 ms, ends within 150 ms.
        for (index, offset) in errors(detected, recording.truth).enumerated() {
            #expect(abs(offset.start) <= Self.tolerance, "clip \(index): start off by \(offset.start / 16) ms")
            #expect(abs(offset.end) <= 2400, "clip \(index): end off by \(offset.end / 16) ms")
        }
    }
}
