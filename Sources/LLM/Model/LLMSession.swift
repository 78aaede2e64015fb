import CKernels
import Foundation

/// How the key/value cache stores its numbers.
public enum KVCachePrecision: Sendable {
    /// IEEE half floats, rounded like llama.cpp's default cache (half the memory and bandwidth of
    /// `.f32`; greedy output equal to llama.cpp's).
    case f16
    /// Single floats.
    case f32

    var bytes: Int { self == .f16 ? 2 : 4 }
}

/// The mutable state of one conversation with an `LLMModel`: the key/value cache, the
/// position, scratch buffers and the worker threads for its matrix products.
///
/// Threading: a session is used by one task at a time (it is `Sendable` so it can move to
/// that task); many sessions may share one model.
public final class LLMSession: @unchecked Sendable {
    public let model: LLMModel
    /// Tokens already in the cache, in order.
    public private(set) var tokens: [Int] = []
    /// Positions the cache may hold (the model's context length, or less if asked).
    public let contextLimit: Int
    /// Prompt tokens evaluated per batch.
    public let batchCapacity: Int
    /// How keys and values are stored.
    public let kvPrecision: KVCachePrecision

    private let pool: OpaquePointer
    private let hp: LLMHyperParameters
    private var cacheCapacity = 0
    /// Per layer: positions x kvWidth numbers of `kvPrecision`.
    private var keyCache: [UnsafeMutableRawPointer] = []
    private var valueCache: [UnsafeMutableRawPointer] = []

    // Scratch, sized for `batchCapacity` tokens.
    private let x, norm, q, k, v, attn, tmp, gate, up: UnsafeMutablePointer<Float>
    private let quantized: UnsafeMutablePointer<hark_q8_block>
    private let logits: UnsafeMutablePointer<Float>
    private var attentionScratch: UnsafeMutablePointer<Float>
    private var attentionScratchCount = 0

    /// - Parameters:
    ///   - threads: threads for matrix products (the caller's thread counts as one).
    ///   - contextLimit: maximum conversation length in tokens (default: the model's).
    ///   - kvPrecision: how the key/value cache stores its numbers.
    public init(model: LLMModel, threads: Int = 1, contextLimit: Int? = nil, batchCapacity: Int = 64,
                kvPrecision: KVCachePrecision = .f16) throws {
        guard threads >= 1, threads <= 64 else { throw LLMError.invalidArgument(name: "threads", reason: "\(threads) is not in 1...64") }
        guard batchCapacity >= 1 else { throw LLMError.invalidArgument(name: "batchCapacity", reason: "must be positive") }
        self.model = model
        hp = model.hyperParameters
        self.contextLimit = min(contextLimit ?? hp.contextLength, hp.contextLength)
        self.batchCapacity = batchCapacity
        self.kvPrecision = kvPrecision
        guard hp.headDim <= 512 else {
            throw LLMError.invalidArgument(name: "model", reason: "head dimension \(hp.headDim) is above the 512 the attention supports")
        }
        guard let pool = hark_pool_create(Int32(threads)) else {
            throw LLMError.invalidArgument(name: "threads", reason: "could not start \(threads) threads")
        }
        self.pool = pool
        let b = batchCapacity, e = hp.embeddingLength, f = hp.feedForwardLength
        let qWidth = hp.headCount * hp.headDim
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        x = alloc(b * e)
        norm = alloc(b * max(e, qWidth))
        q = alloc(b * qWidth)
        k = alloc(b * hp.kvWidth)
        v = alloc(b * hp.kvWidth)
        attn = alloc(b * qWidth)
        tmp = alloc(b * e)
        gate = alloc(b * f)
        up = alloc(b * f)
        quantized = .allocate(capacity: b * (max(e, f, qWidth) + 31) / 32)
        logits = alloc(hp.vocabularySize)
        attentionScratch = alloc(1)
        attentionScratchCount = 1
    }

    deinit {
        hark_pool_destroy(pool)
        for p in keyCache { p.deallocate() }
        for p in valueCache { p.deallocate() }
        for p in [x, norm, q, k, v, attn, tmp, gate, up, logits, attentionScratch] { p.deallocate() }
        quantized.deallocate()
    }

    /// Number of worker threads actually running (including the caller).
    public var threads: Int { Int(hark_pool_threads(pool)) }

    /// Forgets the conversation (keeps the allocated cache).
    public func reset() { tokens.removeAll(keepingCapacity: true) }

    /// Drops cached tokens after the first `count` (to re-evaluate from there).
    public func truncate(to count: Int) {
        if count < tokens.count { tokens.removeLast(tokens.count - count) }
    }

    /// Keeps the longest cached prefix of `conversation` (dropping the rest of the cache) and
    /// returns the tokens still to evaluate - at least the last one, whose logits are needed.
    public func reuseCache(for conversation: [Int]) -> [Int] {
        var common = 0
        while common < min(tokens.count, conversation.count - 1) && tokens[common] == conversation[common] { common += 1 }
        truncate(to: common)
        return Array(conversation[common...])
    }

    /// Appends `newTokens` to the conversation, evaluating them in batches, and returns the
    /// logits (vocabulary-sized) predicting the token after the last one.
    public func evaluate(_ newTokens: [Int]) throws -> [Float] {
        guard !newTokens.isEmpty else { throw LLMError.invalidArgument(name: "tokens", reason: "nothing to evaluate") }
        let needed = tokens.count + newTokens.count
        guard needed <= contextLimit else { throw LLMError.contextFull(limit: contextLimit, needed: needed) }
        for t in newTokens where t < 0 || t >= hp.vocabularySize {
            throw LLMError.invalidToken(id: t, vocabularySize: hp.vocabularySize)
        }
        reserveCache(needed)
        var start = 0
        while start < newTokens.count {
            let end = min(start + batchCapacity, newTokens.count)
            forward(Array(newTokens[start..<end]), computeLogits: end == newTokens.count)
            start = end
        }
        return Array(UnsafeBufferPointer(start: logits, count: hp.vocabularySize))
    }

    private func reserveCache(_ positions: Int) {
        guard positions > cacheCapacity else { return }
        let newCapacity = min(max(positions, cacheCapacity * 2, 256), contextLimit)
        let rowBytes = hp.kvWidth * kvPrecision.bytes
        let used = tokens.count * rowBytes
        func grow(_ old: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: newCapacity * rowBytes, alignment: 64)
            if let old {
                p.copyMemory(from: old, byteCount: used)
                old.deallocate()
            }
            return p
        }
        if keyCache.isEmpty {
            keyCache = (0..<hp.blockCount).map { _ in grow(nil) }
            valueCache = (0..<hp.blockCount).map { _ in grow(nil) }
        } else {
            keyCache = keyCache.map { grow($0) }
            valueCache = valueCache.map { grow($0) }
        }
        cacheCapacity = newCapacity
    }

    /// Whether `quantized` holds the current input of the matrix products in progress.
    private var quantizedInputValid = false

    /// `output = input * w^T` for `count` tokens. `fresh`: the input changed since the previous
    /// product (otherwise its quantized copy is reused, e.g. for Q, K and V).
    private func matmul(_ w: WeightMatrix, input: UnsafeMutablePointer<Float>, fresh: Bool, count: Int,
                        output: UnsafeMutablePointer<Float>) {
        if fresh { quantizedInputValid = false }
        if w.isQuantized && !quantizedInputValid {
            hark_quantize_q8(input, quantized, Int32(count * w.columns))
            quantizedInputValid = true
        }
        if let packed = w.packed,
           hark_matmul_packed(pool, Int32(w.type.rawValue), packed, Int32(w.rows), Int32(w.columns),
                              quantized, Int32(count), output, Int32(w.rows)) != 0 {
            return
        }
        hark_matmul(pool, Int32(w.type.rawValue), w.base, w.rowBytes, Int32(w.rows), Int32(w.columns),
                    input, quantized, Int32(count), output, Int32(w.rows))
    }

    /// `outputs[i] = input * ws[i]^T` for matrices that read the same (fresh) input: with
    /// packed weights in one pass of the worker pool (one wake-up and join instead of one per
    /// matrix), else one product after the other.
    private func matmulSharingInput(_ ws: [WeightMatrix], input: UnsafeMutablePointer<Float>, count: Int,
                                    outputs: [UnsafeMutablePointer<Float>]) {
        let packed = ws.compactMap { $0.packed }
        if packed.count == ws.count, ws.allSatisfy({ $0.columns == ws[0].columns }) {
            hark_quantize_q8(input, quantized, Int32(count * ws[0].columns))
            quantizedInputValid = true
            let types = ws.map { Int32($0.type.rawValue) }, rows = ws.map { Int32($0.rows) }
            let ys: [UnsafeMutablePointer<Float>?] = outputs
            let done = packed.map { Optional($0) }.withUnsafeBufferPointer { p in
                hark_matmul_packed_many(pool, Int32(ws.count), types, p.baseAddress, rows, Int32(ws[0].columns),
                                        quantized, Int32(count), ys, rows)
            }
            if done != 0 { return }
        }
        for (i, w) in ws.enumerated() {
            matmul(w, input: input, fresh: i == 0, count: count, output: outputs[i])
        }
    }

    private func forward(_ batch: [Int], computeLogits: Bool) {
        let n = batch.count, e = hp.embeddingLength, f = hp.feedForwardLength
        let qWidth = hp.headCount * hp.headDim, kvWidth = hp.kvWidth
        let pos0 = tokens.count
        let weights = model.weights
        for (i, token) in batch.enumerated() {
            weights.tokenEmbedding.row(token, into: x + i * e)
        }
        let scratchNeeded = threads * Int(hark_attention_f16_scratch(Int32(n), Int32(pos0), Int32(hp.headDim)))
        if scratchNeeded > attentionScratchCount {
            attentionScratch.deallocate()
            attentionScratch = .allocate(capacity: scratchNeeded * 2)
            attentionScratchCount = scratchNeeded * 2
        }
        let neox: Int32 = hp.ropeStyle == .neox ? 1 : 0
        for (l, layer) in weights.layers.enumerated() {
            layer.attentionNorm.withUnsafeBufferPointer {
                hark_rmsnorm(x, $0.baseAddress, norm, Int32(e), Int32(n), hp.rmsNormEpsilon)
            }
            matmulSharingInput([layer.query, layer.key, layer.value], input: norm, count: n, outputs: [q, k, v])
            addBias(layer.queryBias, q, qWidth, n)
            addBias(layer.keyBias, k, kvWidth, n)
            addBias(layer.valueBias, v, kvWidth, n)
            for i in 0..<n {
                hark_rope(q + i * qWidth, Int32(hp.headCount), Int32(hp.headDim), Int32(hp.ropeDimensions),
                          Int32(pos0 + i), hp.ropeFreqBase, neox)
                hark_rope(k + i * kvWidth, Int32(hp.kvHeadCount), Int32(hp.headDim), Int32(hp.ropeDimensions),
                          Int32(pos0 + i), hp.ropeFreqBase, neox)
            }
            attend(layer: l, count: n, pos0: pos0)
            matmul(layer.output, input: attn, fresh: true, count: n, output: tmp)
            add(tmp, into: x, n * e)

            layer.ffnNorm.withUnsafeBufferPointer {
                hark_rmsnorm(x, $0.baseAddress, norm, Int32(e), Int32(n), hp.rmsNormEpsilon)
            }
            matmulSharingInput([layer.gate, layer.up], input: norm, count: n, outputs: [gate, up])
            hark_swiglu(gate, up, gate, Int32(n * f))
            matmul(layer.down, input: gate, fresh: true, count: n, output: tmp)
            add(tmp, into: x, n * e)
        }
        tokens.append(contentsOf: batch)
        guard computeLogits else { return }
        weights.outputNorm.withUnsafeBufferPointer {
            hark_rmsnorm(x + (n - 1) * e, $0.baseAddress, norm, Int32(e), 1, hp.rmsNormEpsilon)
        }
        matmul(weights.output, input: norm, fresh: true, count: 1, output: logits)
    }

    /// Appends the new keys and values (`k`, `v`) to layer `l`'s cache and writes the
    /// attention of the new queries (`q`) into `attn`.
    private func attend(layer l: Int, count n: Int, pos0: Int) {
        let kvWidth = hp.kvWidth, heads = Int32(hp.headCount), kvHeads = Int32(hp.kvHeadCount), headDim = Int32(hp.headDim)
        switch kvPrecision {
        case .f16:
            let keys = keyCache[l].assumingMemoryBound(to: UInt16.self), values = valueCache[l].assumingMemoryBound(to: UInt16.self)
            hark_fp32_to_fp16_row(k, keys + pos0 * kvWidth, Int32(n * kvWidth))
            hark_fp32_to_fp16_row(v, values + pos0 * kvWidth, Int32(n * kvWidth))
            hark_attention_f16(pool, q, keys, values, attn, Int32(n), Int32(pos0), heads, kvHeads, headDim, attentionScratch)
        case .f32:
            let keys = keyCache[l].assumingMemoryBound(to: Float.self), values = valueCache[l].assumingMemoryBound(to: Float.self)
            (keys + pos0 * kvWidth).update(from: k, count: n * kvWidth)
            (values + pos0 * kvWidth).update(from: v, count: n * kvWidth)
            hark_attention(pool, q, keys, values, attn, Int32(n), Int32(pos0), heads, kvHeads, headDim, attentionScratch)
        }
    }

    private func addBias(_ bias: [Float]?, _ y: UnsafeMutablePointer<Float>, _ width: Int, _ n: Int) {
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for i in 0..<n {
                let row = y + i * width
                for j in 0..<width { row[j] += b[j] }
            }
        }
    }

    private func add(_ source: UnsafeMutablePointer<Float>, into target: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count { target[i] += source[i] }
    }
}
