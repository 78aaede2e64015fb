import CKernels
import COpenBLAS
import Foundation

/// The mutable state of decoding one audio window: the cross-attention keys/values computed once
/// from the encoder output, and per-hypothesis self-attention caches. Owned by one task at a time
/// (not `Sendable`); many sessions can share one `WhisperModel`.
public final class DecoderSession {
    public let model: WhisperModel
    /// Hypotheses decoded side by side (1 for greedy, the beam size for beam search).
    public private(set) var batch: Int
    /// Positions already in the self-attention caches.
    public private(set) var length = 0

    private let audioFrames: Int
    private let crossKV: [FloatBuffer]   // per layer [audioFrames, 2d]: keys then values per row
    private var selfK: [FloatBuffer]      // per layer [batch, textContext, d]
    private var selfV: [FloatBuffer]

    /// When set, called with (layer, head, weights[queries, audioFrames]) for each cross-attention
    /// head during `forward`; used for word timestamps.
    var crossAttentionObserver: ((Int, Int, UnsafePointer<Float>, Int) -> Void)?

    public init(model: WhisperModel, encoderOutput: EncoderOutput, batch: Int = 1) {
        self.model = model
        self.batch = batch
        audioFrames = encoderOutput.frames
        let d = model.dimensions.width
        crossKV = encoderOutput.values.withUnsafeBufferPointer { enc in
            model.decoderBlocks.map { block in
                let kv = FloatBuffer(count: encoderOutput.frames * 2 * d)
                block.crossKV(enc.baseAddress!, rows: encoderOutput.frames, into: kv.pointer)
                return kv
            }
        }
        let cacheSize = batch * model.dimensions.textContext * d
        selfK = model.decoderBlocks.map { _ in FloatBuffer(count: cacheSize) }
        selfV = model.decoderBlocks.map { _ in FloatBuffer(count: cacheSize) }
    }

    /// Forgets the decoded tokens (keeps the audio) and sets the number of hypotheses.
    public func reset(batch newBatch: Int? = nil) {
        length = 0
        if let newBatch, newBatch != batch {
            batch = newBatch
            let cacheSize = newBatch * model.dimensions.textContext * model.dimensions.width
            selfK = model.decoderBlocks.map { _ in FloatBuffer(count: cacheSize) }
            selfV = model.decoderBlocks.map { _ in FloatBuffer(count: cacheSize) }
        }
    }

    /// Grows a one-hypothesis session to `count` copies of it (after the prompt, for beam search).
    public func expand(to count: Int) {
        precondition(batch == 1)
        if count == 1 { return }
        let d = model.dimensions.width
        let stride = model.dimensions.textContext * d
        let used = length * d
        let grown = (selfK + selfV).map { cache -> FloatBuffer in
            let copy = FloatBuffer(count: count * stride)
            for b in 0..<count { (copy.pointer + b * stride).update(from: cache.pointer, count: used) }
            return copy
        }
        selfK = Array(grown[0..<selfK.count])
        selfV = Array(grown[selfK.count...])
        batch = count
    }

    /// Keeps the hypotheses `sources` (in that order), shrinking or growing the batch.
    public func select(_ sources: [Int]) {
        let d = model.dimensions.width
        let stride = model.dimensions.textContext * d
        let used = length * d
        let picked = (selfK + selfV).map { cache -> FloatBuffer in
            let copy = FloatBuffer(count: sources.count * stride)
            for (b, source) in sources.enumerated() { (copy.pointer + b * stride).update(from: cache.pointer + source * stride, count: used) }
            return copy
        }
        selfK = Array(picked[0..<selfK.count])
        selfV = Array(picked[selfK.count...])
        batch = sources.count
    }

    /// Reorders the hypotheses' caches: hypothesis i continues from old hypothesis `sources[i]`.
    public func reorder(_ sources: [Int]) {
        precondition(sources.count == batch)
        if sources == Array(0..<batch) { return }
        let d = model.dimensions.width
        let stride = model.dimensions.textContext * d
        let used = length * d
        for buffers in [selfK, selfV] {
            for cache in buffers {
                let copy = FloatBuffer(count: batch * used)
                for b in 0..<batch { (copy.pointer + b * used).update(from: cache.pointer + b * stride, count: used) }
                for (b, source) in sources.enumerated() {
                    (cache.pointer + b * stride).update(from: copy.pointer + source * used, count: used)
                }
            }
        }
    }

    /// Feeds `tokens[b]` (the same count for every hypothesis) and returns the log-softmax-free
    /// logits, [batch][vocab], at the last new position; and at `extraPosition` (an index into
    /// the new tokens) of hypothesis 0 too, when asked (the no-speech probability reads the logits
    /// at the start-of-transcript token).
    public func forward(_ tokens: [[Int]], extraPosition: Int? = nil) throws -> (last: [[Float]], extra: [Float]?) {
        let dims = model.dimensions
        let d = dims.width
        guard tokens.count == batch, let n = tokens.first?.count, n > 0, tokens.allSatisfy({ $0.count == n }) else {
            throw ASRError.invalidInput(reason: "decoder needs \(batch) token lists of one non-zero length")
        }
        guard length + n <= dims.textContext else {
            throw ASRError.invalidInput(reason: "decoder context is full (\(dims.textContext) positions)")
        }
        for list in tokens { for t in list where t < 0 || t >= dims.vocabularySize {
            throw ASRError.invalidInput(reason: "token id \(t) is outside the vocabulary (\(dims.vocabularySize))")
        } }
        let rows = batch * n
        let x = FloatBuffer(count: rows * d)
        for b in 0..<batch {
            for i in 0..<n {
                let dst = x.pointer + (b * n + i) * d
                model.embeddings.row(tokens[b][i], width: d, into: dst)
                let pos = model.decoderPositions.pointer + (length + i) * d
                for c in 0..<d { dst[c] += pos[c] }
            }
        }
        let normed = FloatBuffer(count: rows * d)
        let qkv = FloatBuffer(count: rows * 3 * d)
        let attended = FloatBuffer(count: rows * d)
        let ffnWidth = model.decoderBlocks[0].ffnIn.outputs
        let hidden = FloatBuffer(count: rows * ffnWidth)
        let scores = FloatBuffer(count: n * max(length + n, audioFrames))
        let cacheStride = dims.textContext * d
        for (layer, block) in model.decoderBlocks.enumerated() {
            // Self-attention over the cache plus the new positions (causal).
            block.selfNorm(x.constant, rows: rows, into: normed.pointer)
            block.selfQKV(normed.constant, rows: rows, into: qkv.pointer)
            for b in 0..<batch {
                let kCache = selfK[layer].pointer + b * cacheStride
                let vCache = selfV[layer].pointer + b * cacheStride
                for i in 0..<n {
                    let row = qkv.pointer + (b * n + i) * 3 * d
                    (kCache + (length + i) * d).update(from: row + d, count: d)
                    (vCache + (length + i) * d).update(from: row + 2 * d, count: d)
                }
                multiHeadAttention(q: qkv.constant + b * n * 3 * d, qStride: 3 * d, k: kCache, kStride: d,
                                   v: vCache, vStride: d, out: attended.pointer + b * n * d, outStride: d,
                                   queries: n, keys: length + n, heads: dims.heads, headDim: dims.headDim,
                                   causalStart: length, scores: scores.pointer)
            }
            block.selfOut.accumulate(attended.constant, rows: rows, into: x.pointer)
            // Cross-attention over the audio.
            block.crossNorm(x.constant, rows: rows, into: normed.pointer)
            block.crossQuery(normed.constant, rows: rows, into: qkv.pointer, outStride: d)
            let kv = crossKV[layer].constant
            for b in 0..<batch {
                let observer = crossAttentionObserver
                multiHeadAttention(q: qkv.constant + b * n * d, qStride: d, k: kv, kStride: 2 * d,
                                   v: kv + d, vStride: 2 * d, out: attended.pointer + b * n * d, outStride: d,
                                   queries: n, keys: audioFrames, heads: dims.heads, headDim: dims.headDim,
                                   causalStart: nil, scores: scores.pointer,
                                   headWeights: observer.map { observe in { head, weights in
                                       if b == 0 { observe(layer, head, weights, n) }
                                   } })
            }
            block.crossOut.accumulate(attended.constant, rows: rows, into: x.pointer)
            block.ffnNorm(x.constant, rows: rows, into: normed.pointer)
            block.ffnIn(normed.constant, rows: rows, into: hidden.pointer)
            hark_gelu(hidden.pointer, rows * ffnWidth)
            block.ffnOut.accumulate(hidden.constant, rows: rows, into: x.pointer)
        }
        length += n
        // Final norm and the tied output projection, only for the rows we need.
        var wanted = (0..<batch).map { $0 * n + n - 1 }
        if let extraPosition { wanted.append(extraPosition) }
        let picked = FloatBuffer(count: wanted.count * d)
        for (r, row) in wanted.enumerated() {
            model.decoderNorm(x.constant + row * d, rows: 1, into: picked.pointer + r * d)
        }
        let vocab = dims.vocabularySize
        let logits = FloatBuffer(count: wanted.count * vocab)
        model.embeddings.project(picked.constant, batch: wanted.count, width: d, vocabulary: vocab,
                                 into: logits.pointer, threads: Int(openblas_get_num_threads()))
        let last = (0..<batch).map { Array(UnsafeBufferPointer(start: logits.pointer + $0 * vocab, count: vocab)) }
        let extra = extraPosition.map { _ in Array(UnsafeBufferPointer(start: logits.pointer + batch * vocab, count: vocab)) }
        return (last, extra)
    }
}
