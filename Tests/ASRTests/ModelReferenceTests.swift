import Audio
import Foundation
import HarkTestSupport
import Testing
import ASR

/// The real tiny.en against CTranslate2's outputs on the same weights
/// (`Tests/Fixtures/asr/encoder_reference.json`, `decode_reference.json`).
@Suite struct ModelReferenceTests {
    struct EncoderClip: Decodable { let file: String; let shape: [Int]; let mean: Double; let std: Double; let indices: [Int]; let values: [Float] }
    struct EncoderReference: Decodable { let clips: [EncoderClip] }
    struct Decoded: Decodable { let prompt: [Int]; let tokens: [Int]; let score: Float; let noSpeechProb: Float }
    struct DecodeClip: Decodable { let file: String; let greedyNoTimestamps: Decoded; let greedyTimestamps: Decoded }
    struct DecodeReference: Decodable { let clips: [DecodeClip] }

    static let model = Result { try WhisperModel(modelDirectory: ProjectPaths.whisperTinyEn) }

    static func tinyTokens(_ model: WhisperModel) throws -> WhisperSpecialTokens {
        try testSpecialTokens(model.dimensions.vocabularySize)
    }

    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: ProjectPaths.fixtures.appendingPathComponent("asr/\(name)")))
    }

    static func encoderOutput(_ model: WhisperModel, file: String) throws -> EncoderOutput {
        let clip = try AudioClip.load(ProjectPaths.corpus.appendingPathComponent(file).path)
        let mel = LogMelSpectrogram().compute(clip.samples)
        return try model.encode(mel: mel.values, frames: mel.frames)
    }

    @Test func encoderMatchesCTranslate2() throws {
        let model = try Self.model.get()
        let reference = try Self.load("encoder_reference.json", as: EncoderReference.self)
        for clip in reference.clips {
            let output = try Self.encoderOutput(model, file: clip.file)
            #expect([output.frames, output.width] == clip.shape)
            let values = output.values
            let mean = values.reduce(0, { $0 + Double($1) }) / Double(values.count)
            let std = (values.reduce(0, { $0 + (Double($1) - mean) * (Double($1) - mean) }) / Double(values.count)).squareRoot()
            #expect(abs(mean - clip.mean) < 1e-3, "\(clip.file) mean \(mean) vs \(clip.mean)")
            #expect(abs(std - clip.std) < 1e-3, "\(clip.file) std \(std) vs \(clip.std)")
            var maxDiff: Float = 0
            for (index, value) in zip(clip.indices, clip.values) { maxDiff = max(maxDiff, abs(values[index] - value)) }
            // fp16 weights widened to f32 on both sides; differences come from summation order
            // and the mel front end (1e-4).
            #expect(maxDiff < 2e-2, "\(clip.file): max abs difference \(maxDiff)")
        }
    }

    @Test func greedyTokensMatchCTranslate2() throws {
        let model = try Self.model.get()
        let tokens = try Self.tinyTokens(model)
        let reference = try Self.load("decode_reference.json", as: DecodeReference.self)
        for clip in reference.clips {
            let output = try Self.encoderOutput(model, file: clip.file)
            let session = DecoderSession(model: model, encoderOutput: output)
            let decoder = WindowDecoder(session: session, tokens: tokens)
            for (expected, timestamps) in [(clip.greedyNoTimestamps, false), (clip.greedyTimestamps, true)] {
                let filters = LogitFilters(tokens: tokens, suppress: model.config.suppressIDs,
                                           suppressAtBegin: model.config.suppressIDsBegin,
                                           timestamps: timestamps, maxInitialTimestampIndex: 50)
                let result = try decoder.decode(prompt: expected.prompt,
                                                options: WindowDecodingOptions(beamSize: 1, filters: filters))
                #expect(result.tokens == expected.tokens, "\(clip.file) timestamps=\(timestamps)")
                #expect(abs(result.score - expected.score) < 1e-2, "\(clip.file) score \(result.score) vs \(expected.score)")
                #expect(abs(result.noSpeechProb - expected.noSpeechProb) < 5e-3)
            }
        }
    }
}

/// tiny.en's special tokens, read from its tokenizer.json added-token table.
func testSpecialTokens(_ vocabularySize: Int) throws -> WhisperSpecialTokens {
    let url = ProjectPaths.whisperTinyEn.appendingPathComponent("tokenizer.json")
    struct Added: Decodable { let id: Int; let content: String }
    struct File: Decodable { let added_tokens: [Added] }
    let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    return try WhisperSpecialTokens(named: Dictionary(file.added_tokens.map { ($0.content, $0.id) }, uniquingKeysWith: { a, _ in a }),
                                    vocabularySize: vocabularySize, path: url.path)
}
