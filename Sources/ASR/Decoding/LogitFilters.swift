import CKernels
import Foundation

/// Whisper's rules on which token may come next, applied to one hypothesis's logits before the
/// log-softmax, in CTranslate2's order: suppressed tokens, suppressed-at-start tokens (the blank and
/// end of text), then the timestamp rules. Follows openai-whisper `decoding.py`
/// (`SuppressTokens`, `SuppressBlank`, `ApplyTimestampRules`) as CTranslate2 implements them.
public struct LogitFilters: Sendable {
    public var tokens: WhisperSpecialTokens
    /// Suppressed at every step.
    public var suppress: [Int]
    /// Suppressed at the first generated position only.
    public var suppressAtBegin: [Int]
    /// Whether timestamp tokens are generated (the timestamp rules apply).
    public var timestamps: Bool
    /// Largest first timestamp, in timestamp steps (50 = 1.0 s).
    public var maxInitialTimestampIndex: Int

    public init(tokens: WhisperSpecialTokens, suppress: [Int], suppressAtBegin: [Int], timestamps: Bool, maxInitialTimestampIndex: Int = 50) {
        self.tokens = tokens
        self.suppress = suppress
        self.suppressAtBegin = suppressAtBegin
        self.timestamps = timestamps
        self.maxInitialTimestampIndex = maxInitialTimestampIndex
    }

    /// Sets forbidden logits to -inf. `generated` are the tokens after the prompt.
    public func apply(_ logits: inout [Float], generated: [Int]) {
        logits.withUnsafeMutableBufferPointer { apply($0, generated: generated) }
    }

    /// `apply` in place on a step's logits.
    func apply(_ l: UnsafeMutableBufferPointer<Float>, generated: [Int]) {
        let step = generated.count
        for id in suppress where id < l.count { l[id] = -.infinity }
        if step == 0 { for id in suppressAtBegin where id < l.count { l[id] = -.infinity } }
        guard timestamps else { return }
        let begin = tokens.timestampBegin
        let end = min(tokens.timestampEnd, l.count - 1)
        l[tokens.noTimestamps] = -.infinity
        var checkTimestampMass = false
        if step == 0 {
            for i in 0..<begin { l[i] = -.infinity }
            let maxInitial = begin + maxInitialTimestampIndex
            if maxInitial + 1 <= end { for i in (maxInitial + 1)...end { l[i] = -.infinity } }
        } else {
            let last = generated[step - 1]
            if last >= begin {
                let penultimate = step >= 2 ? generated[step - 2] : last
                if penultimate >= begin {
                    // A closed pair: text (or end of text) must follow.
                    for i in begin...end { l[i] = -.infinity }
                } else {
                    // An open timestamp: close it (same or later time) or end.
                    for i in 0..<tokens.endOfText { l[i] = -.infinity }
                    if last > begin { for i in begin..<last { l[i] = -.infinity } }
                    checkTimestampMass = true
                }
            } else {
                checkTimestampMass = true
                // Timestamps must increase.
                if let previous = generated.last(where: { $0 >= begin }) {
                    for i in begin...previous { l[i] = -.infinity }
                }
            }
        }
        if checkTimestampMass {
            // If all timestamps together are likelier than any single text token, take a timestamp.
            // Both sides are log-probabilities less the same softmax denominator, so the logits
            // compare as they are: the largest text logit against the timestamps' log-sum-exp.
            let maxText = hark_max(l.baseAddress!, begin)
            let timestampMass = hark_logsumexp_top_k(l.baseAddress! + begin, end - begin + 1, 0, nil, nil)
            if timestampMass > maxText { for i in 0..<begin { l[i] = -.infinity } }
        }
    }
}

/// log(softmax(x)), stable.
func logSoftmax(_ x: [Float]) -> [Float] {
    let m = x.max() ?? 0
    guard m.isFinite else { return x.map { _ in -.infinity } }
    var sum: Float = 0
    for v in x { sum += expf(v - m) }
    let logSum = m + logf(sum)
    return x.map { $0 - logSum }
}

func logSumExp<C: Collection>(_ x: C) -> Float where C.Element == Float {
    let m = x.max() ?? -.infinity
    guard m.isFinite else { return -.infinity }
    var sum: Float = 0
    for v in x { sum += expf(v - m) }
    return m + logf(sum)
}

/// A small deterministic random generator (SplitMix64) so sampled decodes are reproducible.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
