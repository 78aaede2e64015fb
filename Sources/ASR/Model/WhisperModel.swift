import CKernels
import COpenBLAS
import Foundation

/// The sizes of a Whisper network, read from the shapes in its model file.
public struct WhisperDimensions: Sendable, Equatable {
    /// Mel bins of the input features (80, or 128 for large-v3).
    public var melBins: Int
    /// Encoder output positions for a full 30 s window (1500).
    public var audioContext: Int
    /// Maximum decoder positions (448).
    public var textContext: Int
    /// Model width d.
    public var width: Int
    public var heads: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var vocabularySize: Int
    public var headDim: Int { width / heads }
}

struct EncoderBlock: Sendable {
    let attentionNorm: LayerNorm
    let qkv: Linear
    let attentionOut: Linear
    let ffnNorm: LayerNorm
    let ffnIn: Linear
    let ffnOut: Linear
}

/// A decoder layer. The products run per decoded token go through `DecoderLinear` (half-float
/// weights); the cross-attention keys/values, computed once per window from the 1500 audio
/// frames, use the packed float product.
struct DecoderBlock: Sendable {
    let selfNorm: LayerNorm
    let selfQKV: DecoderLinear
    let selfOut: DecoderLinear
    let crossNorm: LayerNorm
    let crossQuery: DecoderLinear
    let crossKV: Linear
    let crossOut: DecoderLinear
    let ffnNorm: LayerNorm
    let ffnIn: DecoderLinear
    let ffnOut: DecoderLinear
}

/// The encoder's output for one window: `frames` rows of `width` values.
public struct EncoderOutput: Sendable {
    public let frames: Int
    public let width: Int
    /// Row-major [frames, width].
    public let values: [Float]
}

/// A loaded Whisper network (CTranslate2 `WhisperSpec` weights). Immutable and `Sendable`: load
/// once, then encode and decode from any number of tasks, each with its own `DecoderSession`.
///
/// Encoder weights are converted from f16 to f32 once at load, so the matrix products (`hark_sgemm`
/// in CKernels: packed AVX-512/AVX2 kernels, faster here than Debian's OpenBLAS, which does not
/// know every CPU and spin-waits around one-row products) run with no per-call conversion (the
/// encoder's products have 1500 rows: conversion per call would be paid for every window). A
/// decoder step is the opposite case: a few rows against every decoder weight, bound by memory
/// traffic, so the decoder layers keep half-float weights (packed for `hark_dec_linear`), and the
/// tied embedding / output projection, the largest matrix (20M of tiny's 39M parameters), stays
/// half precision in the memory-mapped file (`hark_dec_logits`): half the bytes per token, and no
/// 80 MB float copy. Both widen to f32 in registers, so the arithmetic is f32 as before.
public final class WhisperModel: Sendable {
    public let dimensions: WhisperDimensions
    public let config: WhisperModelConfig

    let conv1: Linear // [width, melBins * 3] over im2col rows
    let conv2: Linear // [width, width * 3]
    let encoderPositions: FloatBuffer
    let encoderBlocks: [EncoderBlock]
    let encoderNorm: LayerNorm
    /// Token embeddings [vocab, width], also the output projection: kept as the file's half
    /// floats (zero-copy from the mapping) when the model is f16, otherwise as floats.
    let embeddings: EmbeddingMatrix
    let decoderPositions: FloatBuffer
    let decoderBlocks: [DecoderBlock]
    let decoderNorm: LayerNorm

    /// Loads `model.bin` and `config.json` from a CTranslate2 Whisper folder.
    public convenience init(modelDirectory: URL) throws {
        let file = try CTranslate2ModelFile(url: modelDirectory.appendingPathComponent("model.bin"))
        let configURL = modelDirectory.appendingPathComponent("config.json")
        let config = FileManager.default.fileExists(atPath: configURL.path)
            ? try WhisperModelConfig.load(configURL) : WhisperModelConfig()
        try self.init(file: file, config: config)
    }

    public init(file: CTranslate2ModelFile, config: WhisperModelConfig) throws {
        self.config = config
        let conv1Shape = try file.variable("encoder/conv1/weight").shape
        guard conv1Shape.count == 3, conv1Shape[2] == 3 else {
            throw ASRError.shapeMismatch(variable: "encoder/conv1/weight", expected: [-1, -1, 3], found: conv1Shape)
        }
        let width = conv1Shape[0], melBins = conv1Shape[1]
        let heads = try file.integer("encoder/num_heads")
        guard heads > 0, width % heads == 0 else {
            throw ASRError.invalidModelData(path: file.path, offset: try file.variable("encoder/num_heads").offset,
                                            variable: "encoder/num_heads", reason: "\(heads) heads do not divide width \(width)")
        }
        let encoderPositionShape = try file.variable("encoder/position_encodings/encodings").shape
        let decoderPositionShape = try file.variable("decoder/position_encodings/encodings").shape
        let embeddingShape = try file.variable("decoder/embeddings/weight").shape
        guard encoderPositionShape.count == 2, encoderPositionShape[1] == width else {
            throw ASRError.shapeMismatch(variable: "encoder/position_encodings/encodings", expected: [-1, width], found: encoderPositionShape)
        }
        guard decoderPositionShape.count == 2, decoderPositionShape[1] == width else {
            throw ASRError.shapeMismatch(variable: "decoder/position_encodings/encodings", expected: [-1, width], found: decoderPositionShape)
        }
        guard embeddingShape.count == 2, embeddingShape[1] == width else {
            throw ASRError.shapeMismatch(variable: "decoder/embeddings/weight", expected: [-1, width], found: embeddingShape)
        }
        func countLayers(_ prefix: String) -> Int {
            var n = 0
            while file.contains("\(prefix)/layer_\(n)/ffn/linear_0/weight") { n += 1 }
            return n
        }
        let dims = WhisperDimensions(
            melBins: melBins, audioContext: encoderPositionShape[0], textContext: decoderPositionShape[0],
            width: width, heads: heads, encoderLayers: countLayers("encoder"), decoderLayers: countLayers("decoder"),
            vocabularySize: embeddingShape[0])
        guard dims.encoderLayers > 0, dims.decoderLayers > 0 else {
            throw ASRError.missingVariable(name: dims.encoderLayers == 0 ? "encoder/layer_0" : "decoder/layer_0", path: file.path)
        }
        dimensions = dims

        // Conv weights [out, in, k] flatten to [out, in*k]: exactly an im2col matrix product.
        conv1 = Linear(weight: try file.floats("encoder/conv1/weight", shape: [width, melBins, 3]),
                       bias: try file.floats("encoder/conv1/bias", shape: [width]), inputs: melBins * 3, outputs: width)
        conv2 = Linear(weight: try file.floats("encoder/conv2/weight", shape: [width, width, 3]),
                       bias: try file.floats("encoder/conv2/bias", shape: [width]), inputs: width * 3, outputs: width)
        encoderPositions = FloatBuffer(try file.floats("encoder/position_encodings/encodings"))
        let ffnWidth = try file.variable("encoder/layer_0/ffn/linear_0/weight").shape.first ?? 4 * width
        encoderBlocks = try (0..<dims.encoderLayers).map { i in
            let p = "encoder/layer_\(i)"
            return EncoderBlock(
                attentionNorm: try LayerNorm(file, "\(p)/self_attention/layer_norm", dim: width),
                qkv: try Linear(file, "\(p)/self_attention/linear_0", inputs: width, outputs: 3 * width),
                attentionOut: try Linear(file, "\(p)/self_attention/linear_1", inputs: width, outputs: width),
                ffnNorm: try LayerNorm(file, "\(p)/ffn/layer_norm", dim: width),
                ffnIn: try Linear(file, "\(p)/ffn/linear_0", inputs: width, outputs: ffnWidth),
                ffnOut: try Linear(file, "\(p)/ffn/linear_1", inputs: ffnWidth, outputs: width))
        }
        encoderNorm = try LayerNorm(file, "encoder/layer_norm", dim: width)
        if try file.variable("decoder/embeddings/weight").dataType == .float16 {
            embeddings = .half(try file.withFloat16Bits("decoder/embeddings/weight") { HalfMatrix(pointer: $0, owner: file) })
        } else {
            embeddings = .float(FloatBuffer(try file.floats("decoder/embeddings/weight")))
        }
        decoderPositions = FloatBuffer(try file.floats("decoder/position_encodings/encodings"))
        decoderBlocks = try (0..<dims.decoderLayers).map { i in
            let p = "decoder/layer_\(i)"
            return DecoderBlock(
                selfNorm: try LayerNorm(file, "\(p)/self_attention/layer_norm", dim: width),
                selfQKV: try DecoderLinear(file, "\(p)/self_attention/linear_0", inputs: width, outputs: 3 * width),
                selfOut: try DecoderLinear(file, "\(p)/self_attention/linear_1", inputs: width, outputs: width),
                crossNorm: try LayerNorm(file, "\(p)/attention/layer_norm", dim: width),
                crossQuery: try DecoderLinear(file, "\(p)/attention/linear_0", inputs: width, outputs: width),
                crossKV: try Linear(file, "\(p)/attention/linear_1", inputs: width, outputs: 2 * width),
                crossOut: try DecoderLinear(file, "\(p)/attention/linear_2", inputs: width, outputs: width),
                ffnNorm: try LayerNorm(file, "\(p)/ffn/layer_norm", dim: width),
                ffnIn: try DecoderLinear(file, "\(p)/ffn/linear_0", inputs: width, outputs: ffnWidth),
                ffnOut: try DecoderLinear(file, "\(p)/ffn/linear_1", inputs: ffnWidth, outputs: width))
        }
        decoderNorm = try LayerNorm(file, "decoder/layer_norm", dim: width)
    }

    /// Runs the encoder on log-mel features `mel` (bin-major [melBins, frames]). `frames` is 3000
    /// for a full 30 s window; an even number below that encodes a shortened window.
    /// `isCancelled` is asked before each block: a true answer throws `CancellationError`.
    public func encode(mel: [Float], frames: Int, isCancelled: (() -> Bool)? = nil) throws -> EncoderOutput {
        let dims = dimensions
        guard frames > 0, frames % 2 == 0, frames <= 2 * dims.audioContext else {
            throw ASRError.invalidInput(reason: "encoder needs an even number of frames up to \(2 * dims.audioContext), got \(frames)")
        }
        guard mel.count == dims.melBins * frames else {
            throw ASRError.invalidInput(reason: "mel features hold \(mel.count) values; expected \(dims.melBins) x \(frames)")
        }
        let d = dims.width
        let outFrames = frames / 2
        // The pass is a burst of products with short serial gaps: keep the workers awake for it.
        let threads = Int(gemmThreads)
        hark_workers_hold(threads)
        defer { hark_workers_release(threads) }
        // conv1 (kernel 3, padding 1) as im2col rows [frames, melBins*3] times W^T.
        let cols1 = FloatBuffer(uninitializedCount: frames * dims.melBins * 3)
        mel.withUnsafeBufferPointer { m in
            hark_conv3_columns(m.baseAddress!, frames, 1, dims.melBins, frames, 1, frames, cols1.pointer, Int32(threads))
        }
        let h1 = FloatBuffer(uninitializedCount: frames * d)
        conv1(cols1.constant, rows: frames, into: h1.pointer, gelu: true)
        // conv2 (kernel 3, stride 2, padding 1): input row-major [frames, d].
        let cols2 = FloatBuffer(uninitializedCount: outFrames * d * 3)
        hark_conv3_columns(h1.constant, 1, d, d, frames, 2, outFrames, cols2.pointer, Int32(threads))
        let x = FloatBuffer(uninitializedCount: outFrames * d)
        conv2(cols2.constant, rows: outFrames, into: x.pointer, gelu: true)
        for i in 0..<(outFrames * d) { x.pointer[i] += encoderPositions.pointer[i] }

        let normed = FloatBuffer(uninitializedCount: outFrames * d)
        let qkv = FloatBuffer(uninitializedCount: outFrames * 3 * d)
        let attended = FloatBuffer(uninitializedCount: outFrames * d)
        let ffnWidth = encoderBlocks[0].ffnIn.outputs
        let hidden = FloatBuffer(uninitializedCount: outFrames * ffnWidth)
        for block in encoderBlocks {
            if isCancelled?() == true { throw CancellationError() }
            block.attentionNorm(x.constant, rows: outFrames, into: normed.pointer)
            block.qkv(normed.constant, rows: outFrames, into: qkv.pointer)
            guard hark_unmasked_attention(qkv.constant, 3 * d, qkv.constant + d, 3 * d, qkv.constant + 2 * d, 3 * d,
                                 attended.pointer, d, outFrames, outFrames, dims.heads, dims.headDim,
                                 1 / Float(dims.headDim).squareRoot(), gemmThreads) != 0 else {
                throw ASRError.outOfMemory(what: "encoder attention scores")
            }
            block.attentionOut.accumulate(attended.constant, rows: outFrames, into: x.pointer)
            block.ffnNorm(x.constant, rows: outFrames, into: normed.pointer)
            block.ffnIn(normed.constant, rows: outFrames, into: hidden.pointer, gelu: true)
            block.ffnOut.accumulate(hidden.constant, rows: outFrames, into: x.pointer)
        }
        let output = [Float](unsafeUninitializedCapacity: outFrames * d) { buffer, initialized in
            encoderNorm(x.constant, rows: outFrames, into: buffer.baseAddress!)
            initialized = outFrames * d
        }
        return EncoderOutput(frames: outFrames, width: d, values: output)
    }
}

/// A half-float matrix inside a memory-mapped model file; `owner` keeps the mapping alive.
struct HalfMatrix: @unchecked Sendable {
    // @unchecked: points into a read-only mapping owned (and kept alive) by `owner`.
    let pointer: UnsafePointer<UInt16>
    let owner: CTranslate2ModelFile
}

enum EmbeddingMatrix: Sendable {
    case half(HalfMatrix)
    case float(FloatBuffer)

    /// Writes row `token` (width `d`) as floats to `out`.
    func row(_ token: Int, width d: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case let .half(matrix): hark_f16_to_f32(matrix.pointer + token * d, out, d)
        case let .float(buffer): out.update(from: buffer.pointer + token * d, count: d)
        }
    }

    /// logits[b, v] = dot(row v, x[b]) for `batch` rows of x, split over `threads` threads.
    func project(_ x: UnsafePointer<Float>, batch: Int, width d: Int, vocabulary: Int,
                 into logits: UnsafeMutablePointer<Float>, threads: Int) {
        switch self {
        case let .half(matrix):
            hark_dec_logits(matrix.pointer, vocabulary, d, x, batch, logits, vocabulary, Int32(threads))
        case let .float(buffer):
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(vocabulary), Int32(d),
                        1, x, Int32(d), buffer.constant, Int32(d), 0, logits, Int32(vocabulary))
        }
    }
}
