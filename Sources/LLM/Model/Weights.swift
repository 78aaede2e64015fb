import CKernels
import Foundation

/// One allocation holding the packed copies (`hark_pack`) of a model's matrices - one region,
/// so that huge pages can cover it (`hark_packed_alloc`) - freed when no matrix uses it.
final class PackedArena: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    init?(byteCount: Int) {
        guard byteCount > 0, let memory = hark_packed_alloc(byteCount) else { return nil }
        base = memory
        self.byteCount = byteCount
    }

    deinit { hark_packed_free(base, byteCount) }

    /// Bytes a packed copy of `w` takes in an arena (0: no packed form on this machine).
    static func footprint(_ w: WeightMatrix) -> Int {
        let size = hark_packed_size(Int32(w.type.rawValue), Int32(w.rows), Int32(w.columns))
        return (size + 63) / 64 * 64
    }

    /// Packs every matrix that has a packed form into one arena and returns them with their
    /// packed copies set (the others unchanged). `releaseOriginal`: the matrices' mapped
    /// originals are no longer read in full, so their pages are handed back to the page cache
    /// (rows read later fault back in), which keeps the resident size near one copy.
    static func pack(_ matrices: [WeightMatrix], releaseOriginal: Bool) -> [WeightMatrix] {
        let sizes = matrices.map(footprint)
        guard let arena = PackedArena(byteCount: sizes.reduce(0, +)) else { return matrices }
        var offset = 0
        return zip(matrices, sizes).map { w, size in
            guard size > 0 else { return w }
            let target = arena.base + offset
            offset += size
            guard hark_pack(Int32(w.type.rawValue), w.base, w.rowBytes, Int32(w.rows), Int32(w.columns), target) != 0 else {
                return w
            }
            var copy = w
            copy.packed = UnsafeRawPointer(target)
            copy.packedArena = arena
            if releaseOriginal { copy.releaseMappedPages() }
            return copy
        }
    }
}

/// A weight matrix left in its GGUF encoding: `rows` rows of `columns` elements, each row
/// `rowBytes` long, inside the memory-mapped file.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    /// Points into the `GGUFFile` mapping, which the owning `LLMModel` keeps alive.
    let base: UnsafeRawPointer
    /// The packed copy the matrix products use when this machine has packed kernels, and
    /// the arena that keeps it alive.
    fileprivate(set) var packed: UnsafeRawPointer?
    fileprivate var packedArena: PackedArena?

    init(file: GGUFFile, name: String, rows: Int, columns: Int) throws {
        let info = try file.tensor(name)
        guard info.shape.count <= 2, info.rowLength == columns, info.rowCount == rows else {
            throw LLMError.tensorShapeMismatch(name: name, expected: [columns, rows], found: info.shape)
        }
        guard hark_llm_type_supported(Int32(info.type.rawValue)) != 0 else {
            throw LLMError.unsupportedTensorType(tensor: name, typeCode: info.type.rawValue)
        }
        guard info.type == .f32 || info.type == .f16 || info.type == .bf16 || columns % 32 == 0 else {
            throw LLMError.tensorShapeMismatch(name: name, expected: [columns / 32 * 32, rows], found: info.shape)
        }
        self.name = name
        type = info.type
        self.rows = rows
        self.columns = columns
        rowBytes = info.type.rowBytes(columns)
        base = file.data(for: info)
    }

    var isQuantized: Bool { !(type == .f32 || type == .f16 || type == .bf16) }

    /// Hands the pages of this matrix's mapped bytes back to the page cache (they fault back
    /// in when read again): for matrices only read through their packed copy.
    func releaseMappedPages() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + rows * rowBytes) / page * page
        if end > start, let p = UnsafeMutableRawPointer(bitPattern: start) {
            madvise(p, end - start, Int32(MADV_DONTNEED))
        }
    }

    /// Row `index` as floats (dequantized).
    func row(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        hark_dequantize_row(Int32(type.rawValue), base + index * rowBytes, out, Int32(columns))
    }
}

/// A 1-D float vector (norm weights, biases), copied out of the file as `[Float]`.
func floatVector(_ file: GGUFFile, _ name: String, count: Int) throws -> [Float] {
    let info = try file.tensor(name)
    guard info.elementCount == count, info.shape.count == 1 else {
        throw LLMError.tensorShapeMismatch(name: name, expected: [count], found: info.shape)
    }
    guard info.type == .f32 || info.type == .f16 || info.type == .bf16 else {
        throw LLMError.tensorTypeMismatch(name: name, role: "vector", type: "\(info.type)")
    }
    var out = [Float](repeating: 0, count: count)
    out.withUnsafeMutableBufferPointer {
        hark_dequantize_row(Int32(info.type.rawValue), file.data(for: info), $0.baseAddress!, Int32(count))
    }
    return out
}

/// One decoder block's weights (llama.cpp tensor names `blk.N.*`).
struct LayerWeights: Sendable {
    var attentionNorm: [Float]
    var query: WeightMatrix
    var key: WeightMatrix
    var value: WeightMatrix
    var output: WeightMatrix
    var queryBias: [Float]?
    var keyBias: [Float]?
    var valueBias: [Float]?
    var ffnNorm: [Float]
    var gate: WeightMatrix
    var up: WeightMatrix
    var down: WeightMatrix
}

/// All weights of a llama-family decoder.
struct DecoderWeights: Sendable {
    var tokenEmbedding: WeightMatrix
    var layers: [LayerWeights]
    var outputNorm: [Float]
    /// `output.weight`, or the token embedding when the model ties them.
    var output: WeightMatrix

    /// GGUF tensor names (llama.cpp `LLM_TENSOR_NAMES`).
    enum Name {
        static let tokenEmbedding = "token_embd.weight"
        static let outputNorm = "output_norm.weight"
        static let output = "output.weight"
        static func block(_ i: Int, _ part: String) -> String { "blk.\(i).\(part)" }
    }

    /// Loads the standard llama-family tensors; `biases` says whether Q/K/V biases are required.
    static func load(_ file: GGUFFile, _ hp: LLMHyperParameters, biases: Bool) throws -> DecoderWeights {
        let e = hp.embeddingLength, f = hp.feedForwardLength, qWidth = hp.headCount * hp.headDim
        let embedding = try WeightMatrix(file: file, name: Name.tokenEmbedding, rows: hp.vocabularySize, columns: e)
        var layers: [LayerWeights] = []
        for i in 0..<hp.blockCount {
            func m(_ part: String, _ rows: Int, _ cols: Int) throws -> WeightMatrix {
                try WeightMatrix(file: file, name: Name.block(i, part), rows: rows, columns: cols)
            }
            func v(_ part: String, _ n: Int) throws -> [Float] { try floatVector(file, Name.block(i, part), count: n) }
            func bias(_ part: String, _ n: Int) throws -> [Float]? {
                if biases { return try v(part, n) }
                return file.tensors[Name.block(i, part)] == nil ? nil : try v(part, n)
            }
            layers.append(LayerWeights(
                attentionNorm: try v("attn_norm.weight", e),
                query: try m("attn_q.weight", qWidth, e),
                key: try m("attn_k.weight", hp.kvWidth, e),
                value: try m("attn_v.weight", hp.kvWidth, e),
                output: try m("attn_output.weight", e, qWidth),
                queryBias: try bias("attn_q.bias", qWidth),
                keyBias: try bias("attn_k.bias", hp.kvWidth),
                valueBias: try bias("attn_v.bias", hp.kvWidth),
                ffnNorm: try v("ffn_norm.weight", e),
                gate: try m("ffn_gate.weight", f, e),
                up: try m("ffn_up.weight", f, e),
                down: try m("ffn_down.weight", e, f)))
        }
        var output = file.tensors[Name.output] == nil
            ? embedding
            : try WeightMatrix(file: file, name: Name.output, rows: hp.vocabularySize, columns: e)
        // Packed copies for the matrix products, in one arena (the embedding table itself is
        // read row by row and keeps its file encoding; with tied embeddings the output
        // projection packs a copy of it).
        var all = layers.flatMap { [$0.query, $0.key, $0.value, $0.output, $0.gate, $0.up, $0.down] } + [output]
        all = PackedArena.pack(all, releaseOriginal: true)
        for i in layers.indices {
            let m = all[(7 * i)..<(7 * i + 7)].map { $0 }
            layers[i].query = m[0]; layers[i].key = m[1]; layers[i].value = m[2]; layers[i].output = m[3]
            layers[i].gate = m[4]; layers[i].up = m[5]; layers[i].down = m[6]
        }
        output = all[all.count - 1]
        return DecoderWeights(tokenEmbedding: embedding, layers: layers,
                              outputNorm: try floatVector(file, Name.outputNorm, count: e), output: output)
    }
}
