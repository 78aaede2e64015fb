import CKernels
import COpenBLAS
import Foundation

/// The mutable state of decoding one audio window: the cross-attention keys/values computed once
/// from the encoder output, per-hypothesis self-attention caches, and the scratch of a step.
/// Owned by one task at a time (not `Sendable`); many sessions can share one `WhisperModel`.
///
/// A step is bound by memory traffic, so its layout serves the kernels (`hark_decoder.h`): keys
/// are stored transposed per head ([head][headDim][position]) and values per head
/// ([head][position][headDim]), so that scores and weighted sums stream memory in order, and all
/// hypotheses' queries go through the audio keys together (read once per step, not once per
/// hypothesis). Buffers are kept between steps: a step allocates only the arrays it returns.
public final class DecoderSession {
    public let model: WhisperModel
    /// Hypotheses decoded side by side (1 for greedy, the beam size for beam search).
    public private(set) var batch: Int
    /// Positions already in the self-attention caches.
    public private(set) var length = 0
    /// Decoder passes run so far (steps, however many tokens each): what a draft saves.
    public private(set) var passes = 0

    private let audioFrames: Int
    private let heads: Int
    private let headDim: Int
    private let width: Int
    private let context: Int
    private let crossKT: [FloatBuffer]   // per layer [heads][headDim][audioFrames]
    private let crossV: [FloatBuffer]    // per layer [heads][audioFrames][headDim]
    /// Self-attention caches, per layer [capacity hypotheses][heads][headDim][context] (keys) and
    /// [capacity][heads][context][headDim] (values); `spare` holds the few hypotheses that
    /// reordering overwrites while another hypothesis still continues from them (allocated when
    /// first needed, as many slots as the largest such set).
    private var selfKT: [FloatBuffer]
    private var selfV: [FloatBuffer]
    private var spareKT: [FloatBuffer]
    private var spareV: [FloatBuffer]
    private var spareSlots: Int
    private var capacity: Int
    private var scratch = Scratch(rows: 0, outputs: 0, scores: 0, width: 0, ffnWidth: 0, vocabulary: 0)

    /// When set, called with (layer, head, weights[queries, audioFrames]) for each cross-attention
    /// head during `forward`; used for word timestamps.
    var crossAttentionObserver: ((Int, Int, UnsafePointer<Float>, Int) -> Void)?

    public init(model: WhisperModel, encoderOutput: EncoderOutput, batch: Int = 1) {
        self.model = model
        self.batch = batch
        let dims = model.dimensions
        audioFrames = encoderOutput.frames
        heads = dims.heads
        headDim = dims.headDim
        width = dims.width
        context = dims.textContext
        let frames = encoderOutput.frames, d = dims.width
        var keys: [FloatBuffer] = []
        var values: [FloatBuffer] = []
        let kv = FloatBuffer(uninitializedCount: frames * 2 * d)
        // A burst of products with serial gaps (the re-layout): keep the workers awake for it.
        let threads = Int(gemmThreads)
        hark_workers_hold(threads)
        defer { hark_workers_release(threads) }
        encoderOutput.values.withUnsafeBufferPointer { enc in
            for block in model.decoderBlocks {
                block.crossKV(enc.baseAddress!, rows: frames, into: kv.pointer)
                let kt = FloatBuffer(uninitializedCount: frames * d), v = FloatBuffer(uninitializedCount: frames * d)
                hark_cross_kv_layout(kv.constant, frames, d, dims.heads, kt.pointer, v.pointer, Int32(threads))
                keys.append(kt)
                values.append(v)
            }
        }
        crossKT = keys
        crossV = values
        capacity = batch
        let cacheSize = batch * dims.textContext * d
        selfKT = model.decoderBlocks.map { _ in FloatBuffer(count: cacheSize) }
        selfV = model.decoderBlocks.map { _ in FloatBuffer(count: cacheSize) }
        spareKT = []
        spareV = []
        spareSlots = 0
    }

    /// Forgets the decoded tokens (keeps the audio) and sets the number of hypotheses.
    public func reset(batch newBatch: Int? = nil) {
        length = 0
        if let newBatch {
            ensureCapacity(newBatch)
            batch = newBatch
        }
    }

    /// Forgets every position from `newLength` on (keeps the audio and the first `newLength`
    /// positions of every hypothesis): the next step writes its positions there. Verifying a
    /// draft feeds several tokens at once and keeps only those the model agrees with.
    public func truncate(to newLength: Int) {
        precondition(newLength >= 0 && newLength <= length, "truncate(to: \(newLength)) outside 0...\(length)")
        length = newLength
    }

    /// Grows a one-hypothesis session to `count` copies of it (after the prompt, for beam search).
    public func expand(to count: Int) {
        precondition(batch == 1)
        if count == 1 { return }
        select([Int](repeating: 0, count: count))
    }

    /// Keeps the hypotheses `sources` (in that order), shrinking or growing the batch.
    public func select(_ sources: [Int]) {
        precondition(sources.allSatisfy { $0 >= 0 && $0 < batch })
        ensureCapacity(sources.count)
        // In place: only slots that change are written; a slot that is both overwritten and read
        // by another slot is saved to the spare buffer first.
        let moved = sources.indices.filter { sources[$0] != $0 }
        let overwritten = Set(moved)
        let saved = Set(moved.map { sources[$0] }).intersection(overwritten).sorted()
        if saved.count > spareSlots {
            let size = saved.count * context * width
            spareKT = selfKT.map { _ in FloatBuffer(count: size) }
            spareV = selfV.map { _ in FloatBuffer(count: size) }
            spareSlots = saved.count
        }
        for layer in 0..<selfKT.count {
            for (index, slot) in saved.enumerated() {
                copySlot(from: selfKT[layer], selfV[layer], slot, to: spareKT[layer], spareV[layer], index)
            }
            for slot in moved {
                let source = sources[slot]
                if let index = saved.firstIndex(of: source) {
                    copySlot(from: spareKT[layer], spareV[layer], index, to: selfKT[layer], selfV[layer], slot)
                } else {
                    copySlot(from: selfKT[layer], selfV[layer], source, to: selfKT[layer], selfV[layer], slot)
                }
            }
        }
        batch = sources.count
    }

    /// Copies the first `length` positions of hypothesis `source`'s caches to hypothesis `target`.
    private func copySlot(from kt: FloatBuffer, _ v: FloatBuffer, _ source: Int,
                          to targetKT: FloatBuffer, _ targetV: FloatBuffer, _ target: Int) {
        let stride = context * width
        for row in 0..<(heads * headDim) {
            (targetKT.pointer + target * stride + row * context).update(from: kt.pointer + source * stride + row * context, count: length)
        }
        for h in 0..<heads {
            (targetV.pointer + target * stride + h * context * headDim).update(from: v.pointer + source * stride + h * context * headDim,
                                                                               count: length * headDim)
        }
    }

    /// Reorders the hypotheses' caches: hypothesis i continues from old hypothesis `sources[i]`.
    public func reorder(_ sources: [Int]) {
        precondition(sources.count == batch)
        select(sources)
    }

    /// Makes room for `count` hypotheses, keeping the current ones.
    private func ensureCapacity(_ count: Int) {
        guard count > capacity else { return }
        let size = count * context * width
        let keep = batch * context * width
        selfKT = selfKT.map { old in let grown = FloatBuffer(count: size); grown.pointer.update(from: old.pointer, count: keep); return grown }
        selfV = selfV.map { old in let grown = FloatBuffer(count: size); grown.pointer.update(from: old.pointer, count: keep); return grown }
        capacity = count
    }

    /// Scratch buffers of a step, grown when a step needs more.
    private struct Scratch {
        let rows: Int, outputs: Int, scores: Int
        let x, normed, qkv, attended, hidden, scoreBuffer, picked, logits: FloatBuffer

        /// `rows` positions in a step, `outputs` rows of logits (hypotheses plus the extra one).
        init(rows: Int, outputs: Int, scores: Int, width: Int, ffnWidth: Int, vocabulary: Int) {
            self.rows = rows
            self.outputs = outputs
            self.scores = scores
            x = FloatBuffer(count: rows * width)
            normed = FloatBuffer(count: rows * width)
            qkv = FloatBuffer(count: rows * 3 * width)
            attended = FloatBuffer(count: rows * width)
            hidden = FloatBuffer(count: rows * ffnWidth)
            scoreBuffer = FloatBuffer(count: scores)
            picked = FloatBuffer(count: outputs * width)
            logits = FloatBuffer(count: outputs * vocabulary)
        }
    }

    /// Feeds `tokens[b]` (the same count for every hypothesis) and returns the log-softmax-free
    /// logits, [batch][vocab], at the last new position; and at `extraPosition` (an index into
    /// the new tokens) of hypothesis 0 too, when asked (the no-speech probability reads the logits
    /// at the start-of-transcript token).
    public func forward(_ tokens: [[Int]], extraPosition: Int? = nil) throws -> (last: [[Float]], extra: [Float]?) {
        let vocab = model.dimensions.vocabularySize
        let logits = try step(tokens, extraPosition: extraPosition)
        let last = (0..<batch).map { Array(UnsafeBufferPointer(start: logits + $0 * vocab, count: vocab)) }
        let extra = extraPosition.map { _ in Array(UnsafeBufferPointer(start: logits + batch * vocab, count: vocab)) }
        return (last, extra)
    }

    /// Feeds `tokens` (one hypothesis) and returns the logits at every new position,
    /// [tokens.count][vocab]: row i is what `forward` returns after `tokens[...i]`, up to float
    /// rounding (the rows go through the matrix products together).
    public func forwardAll(_ tokens: [Int]) throws -> [[Float]] {
        let vocab = model.dimensions.vocabularySize
        let logits = try step([tokens], allPositions: true)
        return (0..<tokens.count).map { Array(UnsafeBufferPointer(start: logits + $0 * vocab, count: vocab)) }
    }

    /// `forward` without copying: the logits [batch (+1 with `extraPosition`)][vocab] stay in the
    /// session's scratch, valid until the next step. With `allPositions`, the logits of every new
    /// position instead, [batch][tokens per hypothesis][vocab]: one output projection over all
    /// the rows (one pass over the embedding), where feeding them one at a time makes one each.
    func step(_ tokens: [[Int]], extraPosition: Int? = nil, allPositions: Bool = false) throws -> UnsafeMutablePointer<Float> {
        let dims = model.dimensions
        let d = width
        guard tokens.count == batch, let n = tokens.first?.count, n > 0, tokens.allSatisfy({ $0.count == n }) else {
            throw ASRError.invalidInput(reason: "decoder needs \(batch) token lists of one non-zero length")
        }
        guard length + n <= context else {
            throw ASRError.invalidInput(reason: "decoder context is full (\(context) positions)")
        }
        for list in tokens { for t in list where t < 0 || t >= dims.vocabularySize {
            throw ASRError.invalidInput(reason: "token id \(t) is outside the vocabulary (\(dims.vocabularySize))")
        } }
        if let extraPosition, extraPosition < 0 || extraPosition >= n {
            throw ASRError.invalidInput(reason: "extra position \(extraPosition) is outside the \(n) new tokens")
        }
        let rows = batch * n
        let keys = length + n
        let ffnWidth = model.decoderBlocks[0].ffnIn.outputs
        let scoreCount = max(batch * heads * n * keys, heads * rows * audioFrames)
        let outputs = allPositions ? rows : batch + 1
        if scratch.rows < rows || scratch.outputs < outputs || scratch.scores < scoreCount {
            scratch = Scratch(rows: max(rows, scratch.rows), outputs: max(outputs, scratch.outputs),
                              scores: max(scoreCount, scratch.scores, heads * audioFrames * 8),
                              width: d, ffnWidth: ffnWidth, vocabulary: dims.vocabularySize)
        }
        let s = scratch
        let x = s.x.pointer, normed = s.normed.pointer, qkv = s.qkv.pointer, attended = s.attended.pointer
        for b in 0..<batch {
            for i in 0..<n {
                let dst = x + (b * n + i) * d
                model.embeddings.row(tokens[b][i], width: d, into: dst)
                let pos = model.decoderPositions.pointer + (length + i) * d
                for c in 0..<d { dst[c] += pos[c] }
            }
        }
        let stride = context * d
        let scale = 1 / Float(headDim).squareRoot()
        // Causal mask for several new positions: query i sees keys 0...length+i.
        let valid: [Int32]? = n > 1 ? (0..<n).map { Int32(length + $0 + 1) } : nil
        for (layer, block) in model.decoderBlocks.enumerated() {
            // Self-attention over the cache plus the new positions.
            block.selfNorm(x, rows: rows, into: normed)
            block.selfQKV(normed, rows: rows, into: qkv)
            let kt = selfKT[layer].pointer, v = selfV[layer].pointer
            for b in 0..<batch {
                for i in 0..<n {
                    let row = qkv + (b * n + i) * 3 * d
                    let t = length + i
                    for h in 0..<heads {
                        let keyBase = kt + b * stride + h * headDim * context + t
                        for j in 0..<headDim { keyBase[j * context] = row[d + h * headDim + j] }
                        (v + b * stride + (h * context + t) * headDim).update(from: row + 2 * d + h * headDim, count: headDim)
                    }
                }
            }
            runAttention(valid: valid) { valid in
                hark_dec_attention_job(
                    groups: batch, heads: heads, rows: n, keys: keys, head_dim: headDim, scale: scale,
                    q: qkv, q_group: n * 3 * d, ldq: 3 * d,
                    kt: kt, kt_group: stride, kt_head: headDim * context, ldkt: context,
                    v: v, v_group: stride, v_head: context * headDim,
                    valid: valid, scores: s.scoreBuffer.pointer, out: attended, out_group: n * d, ldo: d)
            }
            block.selfOut(attended, rows: rows, into: x, accumulate: true)
            // Cross-attention over the audio: every hypothesis's queries in one pass.
            block.crossNorm(x, rows: rows, into: normed)
            block.crossQuery(normed, rows: rows, into: qkv)
            runAttention(valid: nil) { _ in
                hark_dec_attention_job(
                    groups: 1, heads: heads, rows: rows, keys: audioFrames, head_dim: headDim, scale: scale,
                    q: qkv, q_group: 0, ldq: d,
                    kt: crossKT[layer].pointer, kt_group: 0, kt_head: headDim * audioFrames, ldkt: audioFrames,
                    v: crossV[layer].pointer, v_group: 0, v_head: audioFrames * headDim,
                    valid: nil, scores: s.scoreBuffer.pointer, out: attended, out_group: 0, ldo: d)
            }
            if let observe = crossAttentionObserver {
                // Hypothesis 0's queries are the first n rows of each head's scores.
                for h in 0..<heads { observe(layer, h, s.scoreBuffer.pointer + h * rows * audioFrames, n) }
            }
            block.crossOut(attended, rows: rows, into: x, accumulate: true)
            block.ffnNorm(x, rows: rows, into: normed)
            block.ffnIn(normed, rows: rows, into: s.hidden.pointer, gelu: true)
            block.ffnOut(s.hidden.pointer, rows: rows, into: x, accumulate: true)
        }
        length += n
        passes += 1
        // Final norm and the tied output projection, only for the rows we need.
        var wanted = 0
        func pick(_ row: Int) {
            model.decoderNorm(x + row * d, rows: 1, into: s.picked.pointer + wanted * d)
            wanted += 1
        }
        if allPositions {
            model.decoderNorm(x, rows: rows, into: s.picked.pointer)
            wanted = rows
        } else {
            for b in 0..<batch { pick(b * n + n - 1) }
            if let extraPosition { pick(extraPosition) }
        }
        model.embeddings.project(s.picked.pointer, batch: wanted, width: d, vocabulary: dims.vocabularySize,
                                 into: s.logits.pointer, threads: Int(gemmThreads))
        return s.logits.pointer
    }

    private func runAttention(valid: [Int32]?, _ makeJob: (UnsafePointer<Int32>?) -> hark_dec_attention_job) {
        if let valid {
            valid.withUnsafeBufferPointer { pointer in
                var job = makeJob(pointer.baseAddress)
                hark_dec_attention(&job, gemmThreads)
            }
        } else {
            var job = makeJob(nil)
            hark_dec_attention(&job, gemmThreads)
        }
    }
}
