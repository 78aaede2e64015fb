import CKernels
import Foundation

/// The outcome of decoding one 30 s window once (one temperature).
public struct WindowDecoding: Sendable, Equatable {
    /// Generated tokens, without the prompt and without the final end of text.
    public var tokens: [Int]
    /// Sum of the chosen tokens' log-probabilities, end of text included.
    public var sumLogProb: Float
    /// `sumLogProb / tokens.count`: CTranslate2's length-normalised score.
    public var score: Float { sumLogProb / Float(max(tokens.count, 1)) }
    /// `sumLogProb / (tokens.count + 1)`, as faster-whisper reports it.
    public var avgLogProb: Float { sumLogProb / Float(tokens.count + 1) }
    /// Probability of the no-speech token at the start-of-transcript position.
    public var noSpeechProb: Float
    public var temperature: Float
    /// The lowest log-probability among the chosen text tokens (greedy and sampled decodes;
    /// nil for beam search): one doubtful word shows here where the average hides it.
    public var minTokenLogProb: Float? = nil
}

/// How one window is decoded.
public struct WindowDecodingOptions: Sendable {
    public var beamSize: Int
    public var patience: Float
    /// 0 decodes greedily or by beam search; above 0 samples from softmax(logits / temperature).
    public var temperature: Float
    /// At most this many new tokens; nil means CTranslate2's min(448 / 2, 448 - prompt length).
    public var maxNewTokens: Int?
    public var filters: LogitFilters
    /// Seed of the sampler (temperature > 0), for reproducible transcripts.
    public var seed: UInt64
    /// When set, greedy decoding stops where the text starts to loop (see `LoopGuard`).
    public var loopGuard: LoopGuard?
    /// Tokens expected to begin the decode (for example an earlier decode of the same speech):
    /// greedy decoding at temperature 0 feeds them through the decoder in one pass and keeps
    /// those the model would have chosen itself (and feeds the draft's rest again where the
    /// model's tokens meet it after a difference), so the result is plain greedy's (up to
    /// float rounding of the rows computed together), in fewer decoder passes. Ignored by
    /// sampling and beam search.
    public var draft: [Int] = []
    /// Asked before each decoder step: a true answer stops the decode with `CancellationError`.
    public var isCancelled: (@Sendable () -> Bool)? = nil

    public init(beamSize: Int = 5, patience: Float = 1, temperature: Float = 0, maxNewTokens: Int? = nil,
                filters: LogitFilters, seed: UInt64 = 0) {
        self.beamSize = beamSize
        self.patience = patience
        self.temperature = temperature
        self.maxNewTokens = maxNewTokens
        self.filters = filters
        self.seed = seed
    }
}

/// Greedy, sampling and beam search over one window, following CTranslate2's `Whisper.generate`
/// (`src/decoding.cc`: GreedySearch, BeamSearch with 2 x beam candidates per step and
/// length-normalised final scores).
public struct WindowDecoder {
    public let session: DecoderSession
    public let tokens: WhisperSpecialTokens

    public init(session: DecoderSession, tokens: WhisperSpecialTokens) {
        self.session = session
        self.tokens = tokens
    }

    /// Decodes one window after `prompt` (for example `[sot]` or `[sot, notimestamps]`).
    public func decode(prompt: [Int], options: WindowDecodingOptions) throws -> WindowDecoding {
        let context = session.model.dimensions.textContext
        let maxNew = options.maxNewTokens ?? min(context / 2, context - prompt.count)
        guard maxNew > 0 else { throw ASRError.invalidInput(reason: "prompt of \(prompt.count) tokens leaves no room to decode") }
        let sotIndex = prompt.lastIndex(of: tokens.startOfTranscript) ?? (prompt.count - 1)
        session.reset(batch: 1)
        let draftCount = min(options.draft.count, maxNew - 1, session.model.dimensions.textContext - prompt.count)
        if options.temperature == 0, options.beamSize <= 1, draftCount > 1 {
            // The prompt and the draft in one pass: the draft's rows serve if the first token
            // chosen is the draft's (else they are dropped).
            let vocab = session.model.dimensions.vocabularySize
            let rows = try session.step([prompt + options.draft.prefix(draftCount)], allPositions: true)
            let noSpeech = softmaxProbability(Array(UnsafeBufferPointer(start: rows + sotIndex * vocab, count: vocab)), at: tokens.noSpeech)
            let first = Array(UnsafeBufferPointer(start: rows + (prompt.count - 1) * vocab, count: vocab))
            let pass = DraftPass(rows: rows + prompt.count * vocab, count: draftCount, start: prompt.count, first: 0, generated: 1)
            return try greedy(first: first, maxNew: maxNew, options: options, noSpeech: noSpeech, pass: pass)
        }
        let first = try session.forward([prompt], extraPosition: sotIndex)
        let noSpeech = softmaxProbability(first.extra ?? first.last[0], at: tokens.noSpeech)
        if options.temperature > 0 || options.beamSize <= 1 {
            return try greedy(first: first.last[0], maxNew: maxNew, options: options, noSpeech: noSpeech)
        }
        return try beamSearch(first: first.last[0], maxNew: maxNew, options: options, noSpeech: noSpeech)
    }

    private func softmaxProbability(_ logits: [Float], at index: Int) -> Float {
        guard index < logits.count else { return 0 }
        return expf(logSoftmax(logits)[index])
    }

    /// A pass over draft tokens being verified: `count` tokens from draft[first], fed at session
    /// length `start` when the decode had `generated` tokens (the last of them draft[first]).
    /// Its logits rows stay in the session's scratch: row i follows draft[first + i].
    private struct DraftPass {
        let rows: UnsafeMutablePointer<Float>
        let count: Int, start: Int, first: Int, generated: Int
    }

    /// Greedy or sampled decoding from the logits after the prompt (`first`); `pass`, when the
    /// prompt's pass also fed the draft.
    private func greedy(first: [Float], maxNew: Int, options: WindowDecodingOptions, noSpeech: Float,
                        pass: DraftPass? = nil) throws -> WindowDecoding {
        var rng = SplitMix64(seed: options.seed)
        let vocab = first.count
        // The logits of each step stay in the session's scratch and are filtered in place; a
        // greedy step needs only the best token and the softmax denominator, a sampled one the
        // whole log-probability row (in one buffer reused for every step).
        let firstLogits = FloatBuffer(first)
        let logProbBuffer = FloatBuffer(count: options.temperature > 0 ? vocab : 0)
        let logProbs = logProbBuffer.pointer
        var logits = firstLogits.pointer
        var generated: [Int] = []
        var stepLogProbs: [Float] = []
        var sum: Float = 0
        // Draft verification (greedy only): the draft tokens from `draftFrom` on are unused.
        let draft = options.temperature == 0 ? options.draft : []
        var draftFrom = 0
        var verifying = pass
        for step in 0..<maxNew {
            if options.isCancelled?() == true { throw CancellationError() }
            options.filters.apply(UnsafeMutableBufferPointer(start: logits, count: vocab), generated: generated)
            let next: Int
            let logProb: Float
            if options.temperature > 0 {
                hark_log_softmax(logits, logProbs, vocab)
                next = sample(Array(UnsafeBufferPointer(start: logProbs, count: vocab)), temperature: options.temperature, rng: &rng)
                logProb = logProbs[next]
            } else {
                var best: Int32 = 0
                var found = 0
                let logSum = hark_logsumexp_top_k(logits, vocab, 1, &best, &found)
                // No finite logit: token 0 at -inf, as an argmax over an all -inf row gives.
                next = found > 0 ? Int(best) : 0
                logProb = found > 0 ? logits[next] - logSum : -.infinity
            }
            if next == tokens.endOfText { sum += logProb; break }
            generated.append(next)
            stepLogProbs.append(logProb)
            if let period = options.loopGuard?.period(of: generated) {
                generated.removeLast(period)
                stepLogProbs.removeLast(period)
                break
            }
            if step == maxNew - 1 { break }
            if let pass = verifying {
                // The rows of the pass hold the logits after each fed draft token: the next row
                // serves while the tokens chosen are the draft's.
                let row = generated.count - pass.generated
                if row >= 0, row < pass.count, next == draft[pass.first + row] {
                    logits = pass.rows + row * vocab
                    continue
                }
                // The model parts from the draft (or the pass ends): forget the rest of the pass.
                session.truncate(to: pass.start + row)
                draftFrom = pass.first + row
                verifying = nil
            }
            // The token just chosen is in the draft's unused part (its first token at the start;
            // after the model parted from it, where they meet again): feed it and the draft's
            // tokens after it in one pass, for as many tokens as may still be generated.
            if draftFrom + 1 < draft.count, let first = draft[draftFrom..<(draft.count - 1)].firstIndex(of: next) {
                let start = session.length
                let count = min(draft.count - first, maxNew - generated.count, session.model.dimensions.textContext - start)
                if count > 1 {
                    let rows = try session.step([Array(draft[first..<(first + count)])], allPositions: true)
                    verifying = DraftPass(rows: rows, count: count, start: start, first: first, generated: generated.count)
                    logits = rows
                    continue
                }
            }
            logits = try session.step([[next]])
        }
        // Summed in token order (the end of text last), whether or not a loop was cut.
        sum = stepLogProbs.reduce(0, +) + sum
        var result = WindowDecoding(tokens: generated, sumLogProb: sum, noSpeechProb: noSpeech, temperature: options.temperature)
        result.minTokenLogProb = zip(generated, stepLogProbs).filter { $0.0 < tokens.endOfText }.map(\.1).min()
        return result
    }

    private func sample(_ logProbs: [Float], temperature: Float, rng: inout SplitMix64) -> Int {
        let scaled = logSoftmax(logProbs.map { $0 / temperature })
        var u = Float.random(in: 0..<1, using: &rng)
        for (i, lp) in scaled.enumerated() where lp > -.infinity {
            u -= expf(lp)
            if u <= 0 { return i }
        }
        return scaled.indices.max(by: { scaled[$0] < scaled[$1] }) ?? tokens.endOfText
    }

    private func beamSearch(first: [Float], maxNew: Int, options: WindowDecodingOptions, noSpeech: Float) throws -> WindowDecoding {
        let beam = options.beamSize
        let candidatesPerStep = 2 * beam
        let maxHypotheses = max(1, Int((Float(beam) * options.patience).rounded()))
        // The first step expands the single prompt hypothesis (as CTranslate2 does).
        var beams: [(tokens: [Int], score: Float)] = [([], 0)]
        let vocab = first.count
        // Each step's logits [beams][vocab] stay in the session's scratch, filtered in place; a
        // beam needs only its best `candidatesPerStep` tokens and its softmax denominator.
        let firstLogits = FloatBuffer(first)
        var beamLogits = firstLogits.pointer
        var best = [Int32](repeating: 0, count: candidatesPerStep)
        var finished: [(tokens: [Int], sum: Float)] = []
        for step in 0..<maxNew {
            if options.isCancelled?() == true { throw CancellationError() }
            var candidates: [(score: Float, beam: Int, token: Int)] = []
            for (b, hypothesis) in beams.enumerated() {
                let logits = beamLogits + b * vocab
                options.filters.apply(UnsafeMutableBufferPointer(start: logits, count: vocab), generated: hypothesis.tokens)
                // This beam's best `candidatesPerStep` tokens (enough for the global top-k).
                var found = 0
                let logSum = hark_logsumexp_top_k(logits, vocab, candidatesPerStep, &best, &found)
                for token in best.prefix(found).map(Int.init) {
                    candidates.append((hypothesis.score + (logits[token] - logSum), b, token))
                }
            }
            candidates.sort { $0.score > $1.score }
            candidates = Array(candidates.prefix(candidatesPerStep))
            let isLastStep = step == maxNew - 1
            var next: [(tokens: [Int], score: Float, source: Int, token: Int)] = []
            var secondary = beam
            for k in 0..<min(beam, candidates.count) {
                var chosen = candidates[k]
                if chosen.token == tokens.endOfText || isLastStep {
                    let body = beams[chosen.beam].tokens + (chosen.token == tokens.endOfText ? [] : [chosen.token])
                    finished.append((body, chosen.score))
                    // Continue with the next candidate that does not end.
                    while secondary < candidates.count {
                        let candidate = candidates[secondary]
                        secondary += 1
                        if candidate.token != tokens.endOfText { chosen = candidate; break }
                    }
                    if chosen.token == tokens.endOfText { continue }
                }
                next.append((beams[chosen.beam].tokens + [chosen.token], chosen.score, chosen.beam, chosen.token))
            }
            if isLastStep || finished.count >= maxHypotheses || next.isEmpty { break }
            if step == 0 {
                session.expand(to: next.count)
                session.reorder(next.map(\.source))
            } else if next.count != session.batch {
                session.select(next.map(\.source))
            } else {
                session.reorder(next.map(\.source))
            }
            beams = next.map { ($0.tokens, $0.score) }
            beamLogits = try session.step(next.map { [$0.token] })
        }
        guard let best = finished.max(by: { $0.sum / Float(max($0.tokens.count, 1)) < $1.sum / Float(max($1.tokens.count, 1)) }) else {
            return WindowDecoding(tokens: [], sumLogProb: -.infinity, noSpeechProb: noSpeech, temperature: options.temperature)
        }
        return WindowDecoding(tokens: best.tokens, sumLogProb: best.sum, noSpeechProb: noSpeech, temperature: options.temperature)
    }
}

/// Stops a greedy decode that has started to loop: when the tokens end with the same run of
/// whole words twice in a row, the second run is dropped and decoding ends there.
///
/// Why: on an encoder window cut short (`TranscriptionOptions.shortenedEncoderWindow`), Whisper
/// often repeats the utterance until the token budget runs out ("What time is it? What time is
/// it? ..."; 1-second "yes" clips become "yes yes yes ..."). Runs must start at a word (a token
/// with a leading space), so "1,000,000" or a word split into repeated pieces is never cut.
/// The cost: a word really said twice in a row ("no no") keeps one.
public struct LoopGuard: Sendable {
    /// Per token id: whether its text starts with a space (a new word).
    let startsWord: [Bool]

    public init(startsWord: [Bool]) { self.startsWord = startsWord }

    /// The length of the run that `tokens` ends with twice in a row, or nil.
    func period(of tokens: [Int]) -> Int? {
        let count = tokens.count
        guard count >= 2 else { return nil }
        for period in 1...(count / 2) {
            let start = count - period
            guard tokens[start] < startsWord.count, startsWord[tokens[start]] else { continue }
            if tokens[(start - period)..<start].elementsEqual(tokens[start...]) { return period }
        }
        return nil
    }
}
