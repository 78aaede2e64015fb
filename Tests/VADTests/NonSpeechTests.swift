import Foundation
import HarkTestSupport
import Testing
import VAD

/// Corpus category C (manifest.tsv): sounds that are not speech must not become utterances.
@Suite struct NonSpeechTests {
    static let clips: [String] = {
        let folder = ProjectPaths.corpus.appendingPathComponent("C_nonspeech")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".wav") }.sorted()
    }()

    /// Known exception, measured and kept visible: whale song (humpback, 30 s) has voice-like
    /// harmonic sweeps; Silero scores one stretch at up to 0.74 and the endpointer reports one
    /// utterance of about 0.65 s (1.72-2.38 s). Anything beyond that one short stretch fails.
    static let sileroKnownFalseAlarms: [String: Int] = ["librosa_data__glacier-bay-humpback.wav": 1]

    /// Stationary sounds an energy detector must also ignore (music, birdsong and whale song
    /// are loud non-stationary sounds: the energy detector fires on them by design).
    static let stationary = ["gen_brown_noise_-25dBFS_10s.wav", "gen_digital_silence_30s.wav", "gen_digital_silence_5s.wav",
                             "gen_dither_-80dBFS_10s.wav", "gen_hum_50Hz_harmonics_10s.wav", "gen_pink_noise_-30dBFS_10s.wav",
                             "gen_tone_1kHz_5s.wav", "gen_white_noise_-20dBFS_10s.wav", "gen_white_noise_-40dBFS_10s.wav",
                             "ha_speech_to_phrase__background_noise.wav", "picovoice_leopard__empty.wav"]

    @Test func corpusHasTheNonSpeechClips() {
        #expect(Self.clips.count >= 14)
    }

    @Test(arguments: clips)
    func sileroFindsNoUtteranceInNonSpeech(clip: String) throws {
        let model = try #require(sileroModel)
        let audio = try corpusClip("C_nonspeech/" + clip)
        for session in [GatedVoiceActivityDetector(inner: model).makeSession() as any VoiceActivitySession, model.makeSession()] {
            let utterances = try Endpointer.utterances(in: audio, session: session)
            let allowed = Self.sileroKnownFalseAlarms[clip] ?? 0
            #expect(utterances.count <= allowed, "\(clip): \(utterances.map { "\($0.lowerBound / 16)-\($0.upperBound / 16) ms" })")
            #expect(utterances.allSatisfy { $0.count < 16000 }, "\(clip): false alarm longer than 1 s")
        }
    }

    @Test(arguments: stationary)
    func energyDetectorIgnoresStationarySound(clip: String) throws {
        let audio = try corpusClip("C_nonspeech/" + clip)
        let utterances = try Endpointer.utterances(in: audio, session: EnergyVoiceActivityDetector().makeSession())
        #expect(utterances.isEmpty, "\(clip): \(utterances)")
    }

    @Test func pureSilenceHasNoUtterance() throws {
        let silence = [Float](repeating: 0, count: 16000 * 10)
        if let model = sileroModel {
            #expect(try Endpointer.utterances(in: silence, session: model.makeSession()).isEmpty)
        }
        #expect(try Endpointer.utterances(in: silence, session: EnergyVoiceActivityDetector().makeSession()).isEmpty)
    }

    @Test func energyGateSkipsTheModelOnNearSilence() throws {
        let model = try #require(sileroModel)
        var session = GatedVoiceActivityDetector(inner: model).makeSession()
        let dither = frames(of: try corpusClip("C_nonspeech/gen_dither_-80dBFS_10s.wav"))
        let scores = dither.map { session.probability(of: $0) }
        // The gate closes after 320 ms (10 frames) of quiet; from then on the model is skipped.
        #expect(session.innerFrames == 10 && session.gatedFrames == dither.count - 10)
        #expect(scores.dropFirst(10).allSatisfy { $0 == 0 })
        for frame in frames(of: try corpusClip("A_dictation/cmu_arctic_aew_a0001.wav")) { _ = session.probability(of: frame) }
        #expect(session.innerFrames > 100)
    }

    @Test func defaultDetectorFallsBackToEnergyOnlyWhenTheFileIsMissing() throws {
        let missing = try VoiceActivityDetectors.makeDefault(sileroModel: URL(fileURLWithPath: "/nonexistent/silero_vad_16k.safetensors"))
        #expect(missing is EnergyVoiceActivityDetector)
        #expect(missing.frameSize == 512 && missing.sampleRate == 16000)
        let directory = try TemporaryDirectory()
        let corrupt = directory.file("silero_vad_16k.safetensors")
        try Data("not a model".utf8).write(to: corrupt)
        #expect(throws: VADError.self) { try VoiceActivityDetectors.makeDefault(sileroModel: corrupt) }
        if sileroModel != nil {
            let real = try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD)
            #expect(real is GatedVoiceActivityDetector<SileroVADModel>)
            var session = real.makeSession()
            let silence = (0..<11).map { _ in session.probability(of: [Float](repeating: 0, count: 512)) }
            #expect(silence.last == 0)  // gated once 320 ms of quiet have passed
            var endpointer = try Endpointer(detector: real)
            #expect(endpointer.sampleRate == 16000 && endpointer.frameSize == 512)
            let speech = try corpusClip("A_dictation/cmu_arctic_axb_a0005.wav")
            let events = endpointer.process(speech) + endpointer.flush()
            #expect(events.count == 2)
        }
    }
}
