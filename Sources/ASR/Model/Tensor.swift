import CKernels
import COpenBLAS
import Foundation

/// A fixed-size array with a stable, 64-byte aligned address (what the packed matrix kernels
/// load from), zero-filled, freed in `deinit`. Weights use it read-only (and so are shared
/// across threads); sessions use it for scratch and caches.
final class Buffer<Element: Numeric>: @unchecked Sendable {
    // @unchecked: weight buffers are written only during model loading, before being shared;
    // scratch buffers belong to one session, which one task owns.
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Element>.stride, alignment: 64)
            .bindMemory(to: Element.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Scratch that every user writes before reading: no zero fill (an encoder pass allocates
    /// megabytes of it).
    init(uninitializedCount count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Element>.stride, alignment: 64)
            .bindMemory(to: Element.self, capacity: max(count, 1))
    }

    convenience init(_ values: [Element]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    var constant: UnsafePointer<Element> { UnsafePointer(pointer) }
}

typealias FloatBuffer = Buffer<Float>
/// Half floats as their bit patterns (packed decoder weights).
typealias HalfBuffer = Buffer<UInt16>

/// Threads for the matrix products and attention of a decode: `TranscriptionOptions.threads` of
/// the decode running on this thread, else OpenBLAS's count (`OPENBLAS_NUM_THREADS`), so one
/// setting governs both.
var gemmThreads: Int32 {
    let asked = hark_workers_caller_threads()
    return asked > 0 ? asked : openblas_get_num_threads()
}

/// A dense layer y = x W^T + b with W stored [outputs, inputs] as CTranslate2 does, run on many
/// rows at once (the encoder's frames). W is kept only as `hark_sgemm_pack` lays it out for the
/// product's kernels, packed once here instead of in every product.
struct Linear: Sendable {
    let packedWeight: FloatBuffer
    /// The kernel path the packing is for (`hark_sgemm_pack`).
    let path: Int32
    let bias: FloatBuffer?
    let inputs: Int
    let outputs: Int

    init(weight: [Float], bias: [Float]?, inputs: Int, outputs: Int) {
        precondition(weight.count == inputs * outputs)
        packedWeight = FloatBuffer(count: hark_sgemm_packed_count(outputs, inputs))
        path = hark_sgemm_pack(1, outputs, inputs, weight, inputs, packedWeight.pointer)
        self.bias = bias.map { FloatBuffer($0) }
        self.inputs = inputs
        self.outputs = outputs
    }

    init(_ file: CTranslate2ModelFile, _ prefix: String, inputs: Int, outputs: Int, bias hasBias: Bool = true) throws {
        self.init(weight: try file.floats(prefix + "/weight", shape: [outputs, inputs]),
                  bias: hasBias ? try file.floats(prefix + "/bias", shape: [outputs]) : nil, inputs: inputs, outputs: outputs)
    }

    /// out[rows, outputs] = x[rows, inputs] W^T + b, then GELU when `gelu` (x and out with row
    /// strides `xStride`, `outStride`). The bias and GELU are applied by the product's threads
    /// (`hark_sgemm_packed_fused`), with the bits of separate passes.
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>,
                        xStride: Int? = nil, outStride: Int? = nil, gelu: Bool = false) {
        hark_sgemm_packed_fused(path, rows, outputs, inputs, x, xStride ?? inputs, packedWeight.constant, bias?.constant,
                                0, gelu ? 1 : 0, out, outStride ?? outputs, gemmThreads)
    }

    /// out += x W^T + b: the residual connection fused into the matrix product.
    func accumulate(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        hark_sgemm_packed_fused(path, rows, outputs, inputs, x, inputs, packedWeight.constant, bias?.constant,
                                1, 0, out, outputs, gemmThreads)
    }
}

/// Layer normalisation over the last axis, epsilon 1e-5 as in Whisper.
struct LayerNorm: Sendable {
    let gamma: FloatBuffer
    let beta: FloatBuffer
    let dim: Int
    static let epsilon: Float = 1e-5

    init(_ file: CTranslate2ModelFile, _ prefix: String, dim: Int) throws {
        gamma = FloatBuffer(try file.floats(prefix + "/gamma", shape: [dim]))
        beta = FloatBuffer(try file.floats(prefix + "/beta", shape: [dim]))
        self.dim = dim
    }

    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        hark_layer_norm_threads(x, out, rows, dim, gamma.constant, beta.constant, Self.epsilon, gemmThreads)
    }
}

/// A dense layer of the decoder, y = x W^T + b, run a few rows at a time (one per hypothesis).
///
/// A decoder step reads every weight once for a handful of rows, so it is bound by memory
/// traffic: an f16 model's weights stay half floats, packed in panels that the step streams in
/// order (`hark_dec_linear`, widened in registers), half the bytes of a float copy. An f32 model
/// keeps float weights and the general product.
struct DecoderLinear: Sendable {
    enum Weights: Sendable {
        case half(HalfBuffer)
        case float(FloatBuffer)
    }

    let weights: Weights
    let bias: FloatBuffer?
    let inputs: Int
    let outputs: Int

    init(_ file: CTranslate2ModelFile, _ prefix: String, inputs: Int, outputs: Int) throws {
        let name = prefix + "/weight"
        let variable = try file.variable(name)
        if variable.dataType == .float16 {
            guard variable.shape == [outputs, inputs] else {
                throw ASRError.shapeMismatch(variable: name, expected: [outputs, inputs], found: variable.shape)
            }
            let packed = HalfBuffer(count: hark_dec_packed_count(outputs, inputs))
            try file.withFloat16Bits(name) { hark_dec_pack($0, outputs, inputs, packed.pointer) }
            weights = .half(packed)
        } else {
            weights = .float(FloatBuffer(try file.floats(name, shape: [outputs, inputs])))
        }
        bias = file.contains(prefix + "/bias") ? FloatBuffer(try file.floats(prefix + "/bias", shape: [outputs])) : nil
        self.inputs = inputs
        self.outputs = outputs
    }

    /// y = x W^T + b, added to y when `accumulate` (the residual connection), then GELU when
    /// `gelu` (not with `accumulate`). x and y have row strides `ldx` and `ldy`.
    func callAsFunction(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into y: UnsafeMutablePointer<Float>,
                        ldy: Int? = nil, accumulate: Bool = false, gelu: Bool = false) {
        let ldx = ldx ?? inputs, ldy = ldy ?? outputs
        switch weights {
        case let .half(packed):
            hark_dec_linear(packed.pointer, outputs, inputs, bias?.constant, x, ldx, rows, y, ldy,
                            accumulate ? 1 : 0, gelu ? 1 : 0, gemmThreads)
        case let .float(weight):
            for r in 0..<rows {
                let row = y + r * ldy
                if let bias {
                    if accumulate { for c in 0..<outputs { row[c] += bias.pointer[c] } } else { row.update(from: bias.constant, count: outputs) }
                } else if !accumulate {
                    row.update(repeating: 0, count: outputs)
                }
            }
            hark_sgemm(1, rows, outputs, inputs, 1, x, ldx, weight.constant, inputs, 1, y, ldy, gemmThreads)
            if gelu { for r in 0..<rows { hark_gelu(y + r * ldy, outputs) } }
        }
    }
}
