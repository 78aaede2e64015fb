import Audio
import Foundation
import HarkTestSupport
import Testing
@testable import ASR

/// The decoder session's batched forward (every position's logits) and truncation, on the tiny
/// random-weight Whisper: what verifying a draft in one pass relies on.
@Suite struct DraftSessionTests {
    static func session() throws -> DecoderSession {
        let model = try ModelNetworkTests.model.get()
        let encoded = try model.encode(mel: ModelNetworkTests.randomMel(frames: 400, seed: 11), frames: 400)
        return DecoderSession(model: model, encoderOutput: encoded)
    }

    @Test func everyPositionOfOnePassMatchesFeedingTokensOneByOne() throws {
        let prompt = [50257, 50362]
        let draft = [440, 2068, 7586, 1, 440, 50256, 13]
        let batched = try Self.session()
        _ = try batched.forward([prompt])
        let rows = try batched.forwardAll(draft)
        #expect(rows.count == draft.count)
        #expect(batched.length == prompt.count + draft.count)
        let stepwise = try Self.session()
        _ = try stepwise.forward([prompt])
        for (i, token) in draft.enumerated() {
            let expected = try stepwise.forward([[token]]).last[0]
            #expect(ModelNetworkTests.close(rows[i], expected), "position \(i)")
        }
        // The rows differ from each other (each is its own position's, not one row repeated).
        #expect(!ModelNetworkTests.close(rows[0], rows[1]))
    }

    @Test func truncatingForgetsTheDroppedTokens() throws {
        let prompt = [50257, 50362]
        let session = try Self.session()
        _ = try session.forward([prompt])
        _ = try session.forwardAll([11, 22, 33, 44])
        session.truncate(to: prompt.count + 1)
        #expect(session.length == prompt.count + 1)
        let afterTruncation = try session.forward([[55, 66]]).last[0]
        let fresh = try Self.session()
        let expected = try fresh.forward([prompt + [11, 55, 66]]).last[0]
        #expect(ModelNetworkTests.close(afterTruncation, expected))
        // Without the truncation the dropped tokens would be seen.
        let kept = try Self.session()
        _ = try kept.forward([prompt + [11, 22, 33, 44]])
        #expect(!ModelNetworkTests.close(try kept.forward([[55, 66]]).last[0], expected))
        // Truncating to 0 starts over.
        session.truncate(to: 0)
        #expect(ModelNetworkTests.close(try session.forward([prompt + [11, 55, 66]]).last[0], expected))
    }
}

/// Draft-verified greedy decoding with the real tiny.en: whatever the draft, the tokens are
/// plain greedy's; a right draft saves decoder passes.
@Suite(.serialized) struct DraftDecodingTests {
    static let transcriber = Result { try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn) }

    static let commands = ["set a timer for ten seconds", "what time is it",
                           "make me a double shot medium roast cappuccino with a lot of cream"]

    /// espeak-ng speech with a little silence before and after.
    static let speech: Result<[(String, [Float])], Error> = Result {
        let dir = try TemporaryDirectory()
        return try commands.enumerated().map { index, text in
            let url = dir.file("command\(index).wav")
            try synthesizeSpeech(text, to: url)
            let samples = try AudioClip.load(url.path).samples
            return (text, [Float](repeating: 0, count: 3200) + samples + [Float](repeating: 0, count: 4800))
        }
    }

    /// The listener's fast pause decode (greedy, no timestamps, shortened window of 6 s or more).
    static var fastOptions: TranscriptionOptions {
        var o = TranscriptionOptions()
        o.beamSize = 1
        o.temperatures = [0]
        o.withoutTimestamps = true
        o.shortenedEncoderWindow = true
        o.shortenedWindowMinimumSeconds = 6
        o.conditionOnPreviousText = false
        o.minimumSpeechConfidence = nil
        o.gateNoSpeechThreshold = nil
        return o
    }

    /// Drafts that are right, partly right, or wrong, for a decode that gave `tokens`.
    static func drafts(for tokens: [Int], earlier: [Int], seed: UInt64) -> [(String, [Int])] {
        var rng = HarkTestSupport.SplitMix64(seed: seed)
        var wrongInMiddle = tokens
        if !tokens.isEmpty { wrongInMiddle[tokens.count / 2] = tokens[tokens.count / 2] == 1396 ? 1397 : 1396 }
        var wrongFirst = tokens
        if !tokens.isEmpty { wrongFirst[0] = tokens[0] == 1396 ? 1397 : 1396 }
        var missing = tokens
        if !tokens.isEmpty { missing.remove(at: tokens.count / 2) }
        var extra = tokens
        extra.insert(1396, at: tokens.count / 2)
        return [
            ("perfect", tokens),
            ("token missing in the middle", missing),
            ("extra token in the middle", extra),
            ("the same twice", tokens + tokens),
            ("wrong token in the middle", wrongInMiddle),
            ("wrong first token", wrongFirst),
            ("cut short", Array(tokens.prefix(tokens.count / 2))),
            ("longer than the answer", tokens + tokens + [13, 314, 481]),
            ("empty", []),
            ("garbage", (0..<12).map { _ in Int.random(in: 0..<50256, using: &rng) }),
            ("decode of the audio 0.4 s shorter", earlier),
        ]
    }

    static func transcriptTokens(_ transcript: Transcript) -> [Int] { transcript.segments.flatMap(\.tokens) }

    @Test func anyDraftGivesPlainGreedysTranscript() async throws {
        let transcriber = try Self.transcriber.get()
        var withTimestamps = TranscriptionOptions()
        withTimestamps.beamSize = 1
        withTimestamps.temperatures = [0]
        withTimestamps.conditionOnPreviousText = false
        for (text, samples) in try Self.speech.get() {
            for (name, options) in [("fast", Self.fastOptions), ("timestamps", withTimestamps)] {
                let plain = try await transcriber.transcribe(samples, options: options)
                let tokens = Self.transcriptTokens(plain)
                #expect(tokens.count >= 3, "\(text): \(plain.text)")
                let earlier = Self.transcriptTokens(try await transcriber.transcribe(Array(samples.dropLast(6400)), options: options))
                for (kind, draft) in Self.drafts(for: tokens, earlier: earlier, seed: UInt64(tokens.count)) {
                    var drafted = options
                    drafted.draftTokens = draft
                    let result = try await transcriber.transcribe(samples, options: drafted)
                    let context = "\(text) [\(name)] draft \(kind): \(result.text) vs \(plain.text)"
                    #expect(Self.transcriptTokens(result) == tokens, "\(context)")
                    #expect(result.text == plain.text, "\(context)")
                    #expect(result.segments.count == plain.segments.count, "\(context)")
                    for (a, b) in zip(result.segments, plain.segments) {
                        #expect(abs(a.avgLogProb - b.avgLogProb) < 1e-3, "\(context): \(a.avgLogProb) vs \(b.avgLogProb)")
                        #expect(abs((a.minTokenLogProb ?? 0) - (b.minTokenLogProb ?? 0)) < 1e-3, "\(context)")
                        #expect(abs(a.noSpeechProb - b.noSpeechProb) < 1e-5, "\(context)")
                    }
                }
            }
        }
    }

    /// One window decoded directly: the sum of log-probabilities, the token budget and the
    /// number of decoder passes.
    @Test func aRightDraftSavesPassesAndKeepsTheScore() throws {
        let transcriber = try Self.transcriber.get()
        let model = transcriber.model
        let tokens = transcriber.specialTokens
        let (_, samples) = try Self.speech.get()[2]
        let mel = LogMelSpectrogram(melBins: model.dimensions.melBins).compute(samples, padToSeconds: nil)
        let encoded = try model.encode(mel: WhisperTranscriber.slice(mel, from: 0, count: mel.frames, frames: 600), frames: 600)
        let filters = LogitFilters(tokens: tokens, suppress: model.config.suppressIDs, suppressAtBegin: model.config.suppressIDsBegin,
                                   timestamps: false)
        let prompt = [tokens.startOfTranscript, tokens.noTimestamps]
        func decode(draft: [Int], maxNewTokens: Int? = nil) throws -> (WindowDecoding, passes: Int) {
            let session = DecoderSession(model: model, encoderOutput: encoded)
            var options = WindowDecodingOptions(beamSize: 1, maxNewTokens: maxNewTokens, filters: filters)
            options.draft = draft
            let result = try WindowDecoder(session: session, tokens: tokens).decode(prompt: prompt, options: options)
            return (result, session.passes)
        }
        let plain = try decode(draft: [])
        let answer = plain.0.tokens
        #expect(answer.count >= 10, "\(transcriber.tokenizer.decode(answer))")
        // Plain greedy: the prompt, then one pass per generated token.
        #expect(plain.passes == 1 + answer.count)
        let drafted = try decode(draft: answer)
        #expect(drafted.0.tokens == answer)
        #expect(abs(drafted.0.sumLogProb - plain.0.sumLogProb) < 1e-3, "\(drafted.0.sumLogProb) vs \(plain.0.sumLogProb)")
        #expect(drafted.0.minTokenLogProb != nil)
        #expect(abs((drafted.0.minTokenLogProb ?? 0) - (plain.0.minTokenLogProb ?? 0)) < 1e-3)
        #expect(abs(drafted.0.noSpeechProb - plain.0.noSpeechProb) < 1e-5)
        // The prompt and the whole draft: one pass.
        #expect(drafted.passes == 1)
        // Right for its first half: the prompt and the draft, then one pass per token after it.
        let half = answer.count / 2
        let halfDrafted = try decode(draft: Array(answer.prefix(half)))
        #expect(halfDrafted.0.tokens == answer)
        #expect(halfDrafted.passes == 1 + (answer.count - half))
        // A draft whose first token is wrong: its pass with the prompt gives the first token
        // and the rest is verified from where greedy meets it (the second token).
        var wrongFirst = answer
        wrongFirst[0] = answer[0] == 1396 ? 1397 : 1396
        try #require(!answer.dropFirst().contains(answer[0]) && answer[1] != wrongFirst[0])
        let firstCorrected = try decode(draft: wrongFirst)
        #expect(firstCorrected.0.tokens == answer)
        #expect(firstCorrected.passes == 3)
        // A wrong token at `half`: the pass with the draft keeps its first `half` tokens; one
        // step gives the model's token there; the one after it is the draft's again, so one
        // more pass verifies the rest.
        var wrong = answer
        wrong[half] = answer[half] == 1396 ? 1397 : 1396
        try #require(!answer[(half + 1)...].contains(answer[half]) && answer[half + 1] != wrong[half])
        let corrected = try decode(draft: wrong)
        #expect(corrected.0.tokens == answer)
        #expect(corrected.passes == 3)
        // The token budget holds whatever the draft's length.
        for budget in [1, 2, 5] {
            let bounded = try decode(draft: answer, maxNewTokens: budget)
            #expect(bounded.0.tokens == Array(answer.prefix(budget)), "budget \(budget)")
            #expect(bounded.0.tokens == (try decode(draft: [], maxNewTokens: budget)).0.tokens)
        }
    }

    @Test func draftTokensOutsideTheVocabularyAreAClearError() async throws {
        let transcriber = try Self.transcriber.get()
        var options = Self.fastOptions
        options.draftTokens = [440, 60000]
        await #expect(throws: ASRError.self) { try await transcriber.transcribe([Float](repeating: 0, count: 16000), options: options) }
        do {
            _ = try await transcriber.transcribe([Float](repeating: 0, count: 16000), options: options)
        } catch {
            #expect("\(error)".contains("60000"))
        }
    }
}
