import Foundation

/// Candidate tokens for the next position, with their logits (and, after `softmax`,
/// probabilities). Samplers narrow and reshape it; the last one picks a token.
public struct TokenCandidates: Sendable {
    public var ids: [Int32]
    public var logits: [Float]
    /// True when sorted by decreasing logit.
    public var isSorted: Bool

    /// All tokens of a vocabulary-sized logit vector.
    public init(logits: [Float]) {
        self.logits = logits
        ids = (0..<Int32(logits.count)).map { $0 }
        isSorted = false
    }

    public init(ids: [Int32], logits: [Float], isSorted: Bool = false) {
        self.ids = ids
        self.logits = logits
        self.isSorted = isSorted
    }

    public var count: Int { ids.count }

    /// Sorts by decreasing logit, keeping only the best `limit` (all when nil).
    public mutating func sort(keeping limit: Int? = nil) {
        let k = min(limit ?? count, count)
        if isSorted {
            let drop = count - k
            ids.removeLast(drop)
            logits.removeLast(drop)
            return
        }
        var order: [Int]
        if k < count / 4 {
            // Partial selection: one pass keeping a sorted top-k.
            order = []
            order.reserveCapacity(k + 1)
            for i in 0..<count {
                let v = logits[i]
                if order.count == k, let last = order.last, logits[last] >= v { continue }
                var lo = 0, hi = order.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if logits[order[mid]] >= v { lo = mid + 1 } else { hi = mid }
                }
                order.insert(i, at: lo)
                if order.count > k { order.removeLast() }
            }
        } else {
            order = Array(0..<count)
            order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            order.removeLast(count - k)
        }
        ids = order.map { ids[$0] }
        logits = order.map { logits[$0] }
        isSorted = true
    }

    /// Probabilities (softmax of the logits), in candidate order.
    public func probabilities() -> [Float] {
        guard let maxLogit = logits.max() else { return [] }
        var p = logits.map { expf($0 - maxLogit) }
        let sum = p.reduce(0, +)
        for i in p.indices { p[i] /= sum }
        return p
    }
}

/// One step of the sampling chain: narrows or reshapes the candidates.
public protocol TokenSampling: Sendable {
    /// `history`: the tokens of the conversation so far (prompt and generated).
    func apply(_ candidates: inout TokenCandidates, history: [Int32])
}

/// Penalises tokens among the last `window` of the history (CTRL paper, Keskar et al. 2019):
/// positive logits are divided by `penalty`, negative ones multiplied.
public struct RepetitionPenaltySampler: TokenSampling {
    public var penalty: Float
    public var window: Int
    public init(penalty: Float, window: Int = 64) { self.penalty = penalty; self.window = window }

    public func apply(_ candidates: inout TokenCandidates, history: [Int32]) {
        guard penalty != 1, window > 0, !history.isEmpty else { return }
        let seen = Set(history.suffix(window))
        if !candidates.isSorted && candidates.count > 0 && Int(candidates.ids[candidates.count - 1]) == candidates.count - 1 {
            // Full vocabulary in id order: index by id.
            for id in seen where Int(id) < candidates.count { penalise(&candidates.logits[Int(id)]) }
        } else {
            for i in 0..<candidates.count where seen.contains(candidates.ids[i]) { penalise(&candidates.logits[i]) }
            candidates.isSorted = false
        }
    }

    private func penalise(_ logit: inout Float) { logit = logit > 0 ? logit / penalty : logit * penalty }
}

/// Keeps the `k` most likely tokens.
public struct TopKSampler: TokenSampling {
    public var k: Int
    public init(k: Int) { self.k = k }
    public func apply(_ candidates: inout TokenCandidates, history: [Int32]) {
        candidates.sort(keeping: k > 0 ? k : nil)
    }
}

/// Keeps the smallest set of most likely tokens whose probability reaches `p` (nucleus sampling).
public struct TopPSampler: TokenSampling {
    public var p: Float
    public init(p: Float) { self.p = p }
    public func apply(_ candidates: inout TokenCandidates, history: [Int32]) {
        guard p < 1 else { return }
        candidates.sort()
        let probs = candidates.probabilities()
        var cumulative: Float = 0
        var keep = candidates.count
        for (i, q) in probs.enumerated() {
            cumulative += q
            if cumulative >= p { keep = i + 1; break }
        }
        candidates.sort(keeping: keep)
    }
}

/// Drops tokens whose probability is below `minP` times the best token's.
public struct MinPSampler: TokenSampling {
    public var minP: Float
    public init(minP: Float) { self.minP = minP }
    public func apply(_ candidates: inout TokenCandidates, history: [Int32]) {
        guard minP > 0, candidates.count > 1 else { return }
        candidates.sort()
        // p_i / p_max = exp(l_i - l_max) >= minP  <=>  l_i >= l_max + log(minP)
        let threshold = candidates.logits[0] + logf(minP)
        let keep = max(1, candidates.logits.firstIndex { $0 < threshold } ?? candidates.count)
        candidates.sort(keeping: keep)
    }
}

/// Divides the logits by the temperature.
public struct TemperatureSampler: TokenSampling {
    public var temperature: Float
    public init(temperature: Float) { self.temperature = temperature }
    public func apply(_ candidates: inout TokenCandidates, history: [Int32]) {
        guard temperature > 0, temperature != 1 else { return }
        for i in candidates.logits.indices { candidates.logits[i] /= temperature }
    }
}

/// A small deterministic random generator (SplitMix64): the same seed gives the same tokens.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The chain: penalties, top-k, top-p, min-p, temperature, then a pick: the best token when
/// greedy, else a draw from the softmax with the seeded generator (llama.cpp's default order).
public struct SamplerChain: Sendable {
    public var samplers: [any TokenSampling]
    public let greedy: Bool
    private var rng: SeededGenerator

    public init(samplers: [any TokenSampling], greedy: Bool, seed: UInt64) {
        self.samplers = samplers
        self.greedy = greedy
        rng = SeededGenerator(seed: seed)
    }

    public init(config: GenerationConfig) {
        var chain: [any TokenSampling] = []
        if config.repetitionPenalty != 1 {
            chain.append(RepetitionPenaltySampler(penalty: config.repetitionPenalty, window: config.repetitionWindow))
        }
        if !config.isGreedy {
            chain.append(TopKSampler(k: config.topK))
            chain.append(TopPSampler(p: config.topP))
            chain.append(MinPSampler(minP: config.minP))
            chain.append(TemperatureSampler(temperature: config.temperature))
        }
        self.init(samplers: chain, greedy: config.isGreedy, seed: config.seed ?? UInt64.random(in: .min ... .max))
    }

    /// Picks the next token from vocabulary-sized `logits`.
    public mutating func sample(logits: [Float], history: [Int32]) -> Int32 {
        var candidates = TokenCandidates(logits: logits)
        for sampler in samplers { sampler.apply(&candidates, history: history) }
        if greedy || candidates.count == 1 {
            var best = 0
            for i in candidates.logits.indices where candidates.logits[i] > candidates.logits[best] { best = i }
            return candidates.ids[best]
        }
        let probs = candidates.probabilities()
        let r = Float(Double(rng.next() >> 11) / Double(1 << 53))
        var cumulative: Float = 0
        for (i, p) in probs.enumerated() {
            cumulative += p
            if r < cumulative { return candidates.ids[i] }
        }
        return candidates.ids[candidates.count - 1]
    }
}
