import Foundation
import Testing
@testable import ASR

/// Whisper's token rules, checked by hand on a small made-up vocabulary layout.
@Suite struct DecodingRulesTests {
    // Text ids 0..<10, eot 10, sot 11, transcribe 12, translate 13, startoflm 14, startofprev 15,
    // nospeech 16, notimestamps 17, timestamps 18...27 (<|0.00|> ... <|0.18|>).
    static let tokens = WhisperSpecialTokens(endOfText: 10, startOfTranscript: 11, transcribe: 12, translate: 13,
                                             startOfLM: 14, startOfPrevious: 15, noSpeech: 16, noTimestamps: 17,
                                             timestampBegin: 18, timestampEnd: 27, languages: [:])
    static let filters = LogitFilters(tokens: tokens, suppress: [3], suppressAtBegin: [0, 10], timestamps: true,
                                      maxInitialTimestampIndex: 2)

    static func allowed(after generated: [Int], logits: [Float] = [Float](repeating: 0, count: 28),
                        filters: LogitFilters = filters) -> Set<Int> {
        var logits = logits
        filters.apply(&logits, generated: generated)
        return Set(logits.indices.filter { logits[$0] > -.infinity })
    }

    @Test func firstTokenIsAnEarlyTimestamp() {
        #expect(Self.allowed(after: []) == [18, 19, 20])
    }

    @Test func timestampsComeInIncreasingPairs() {
        // Text tokens likely enough that the timestamp-mass rule stays out of the way.
        var textLikely = [Float](repeating: 0, count: 28)
        for i in 0...10 { textLikely[i] = 3 }
        let nonTimestamps = Set(0..<18).subtracting([3, 17])
        // After a text token following <|0.02|>: text, eot, or a timestamp later than 0.02.
        #expect(Self.allowed(after: [19, 5], logits: textLikely) == nonTimestamps.union(20...27))
        // After text then a timestamp: close the pair (same time or later) or end (the
        // rule masks only text below end of text; the specials are masked by `suppress` in use).
        #expect(Self.allowed(after: [19, 5, 22], logits: textLikely) == Set(Array(10...16) + Array(22...27)))
        // After a closed pair: text or end, no timestamp.
        #expect(Self.allowed(after: [19, 5, 22, 22], logits: textLikely) == nonTimestamps)
        // A first token that is a timestamp opens a pair: text must follow.
        #expect(Self.allowed(after: [18], logits: textLikely) == nonTimestamps)
    }

    @Test func timestampMassAboveEveryTextTokenForcesATimestamp() {
        var logits = [Float](repeating: 0, count: 28)
        logits[5] = 2.0                       // best single token is text...
        for i in 20...27 { logits[i] = 1.5 }  // ...but timestamps together are likelier
        #expect(Self.allowed(after: [19, 5], logits: logits) == Set(20...27))
        logits[5] = 5.0
        #expect(Self.allowed(after: [19, 5], logits: logits).contains(5))
    }

    @Test func withoutTimestampsOnlySuppressionApplies() {
        let plain = LogitFilters(tokens: Self.tokens, suppress: [3], suppressAtBegin: [0, 10], timestamps: false)
        #expect(Self.allowed(after: [], filters: plain) == Set(0..<28).subtracting([0, 3, 10]))
        #expect(Self.allowed(after: [5], filters: plain) == Set(0..<28).subtracting([3]))
    }

    @Test func compressionRatioFlagsRepetition() {
        #expect(compressionRatio(String(repeating: "thank you ", count: 20)) > 2.4)
        #expect(compressionRatio("And so, my fellow Americans ask not what your country can do for you.") < 2.4)
        #expect(compressionRatio("") == 0)
    }

    /// Tokens 1, 2, 5 start a word (a leading space); 3, 4 continue one.
    static let loopGuard = LoopGuard(startsWord: [false, true, true, false, false, true])

    @Test func aLoopIsCutWhenARunOfWholeWordsComesTwice() {
        #expect(Self.loopGuard.period(of: [1, 3, 2, 1, 3]) == nil, "the repeat has not completed")
        #expect(Self.loopGuard.period(of: [1, 3, 2, 1, 3, 2]) == 3, "\"what time? what time?\": the second run goes")
        #expect(Self.loopGuard.period(of: [2, 5, 5]) == 1, "one word twice")
        #expect(Self.loopGuard.period(of: [1]) == nil && Self.loopGuard.period(of: []) == nil)
    }

    @Test func runsInsideAWordAreNotLoops() {
        // "1,000,000": ",000" twice, but ",000" does not start a word.
        #expect(Self.loopGuard.period(of: [1, 3, 4, 3, 4]) == nil)
        #expect(Self.loopGuard.period(of: [1, 4, 4]) == nil)
        // Ids outside the table (timestamps) never start a run.
        #expect(Self.loopGuard.period(of: [1, 40, 40]) == nil)
    }
}
