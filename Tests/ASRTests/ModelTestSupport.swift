import HarkTestSupport
import Foundation
@testable import ASR

/// Writes CTranslate2 `model.bin` files for tests (format version 6).
struct ModelBinWriter {
    struct Variable {
        var name: String
        var shape: [Int]
        var dtype: UInt8
        var data: Data
    }
    var specName = "WhisperSpec"
    var revision: UInt32 = 3
    var variables: [Variable] = []
    var aliases: [(String, String)] = []

    mutating func add(_ name: String, _ shape: [Int], f16 values: [Float]) {
        var data = Data(capacity: values.count * 2)
        for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        variables.append(Variable(name: name, shape: shape, dtype: 4, data: data))
    }

    mutating func add(_ name: String, f32 values: [Float], shape: [Int]) {
        var data = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        variables.append(Variable(name: name, shape: shape, dtype: 0, data: data))
    }

    mutating func addScalar(_ name: String, int16 value: Int16) {
        variables.append(Variable(name: name, shape: [], dtype: 2, data: withUnsafeBytes(of: value.littleEndian) { Data($0) }))
    }

    func data() -> Data {
        var out = Data()
        func u8(_ v: UInt8) { out.append(v) }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { let bytes = Array(s.utf8) + [0]; u16(UInt16(bytes.count)); out.append(contentsOf: bytes) }
        u32(6)
        string(specName)
        u32(revision)
        u32(UInt32(variables.count))
        for v in variables {
            string(v.name)
            u8(UInt8(v.shape.count))
            for d in v.shape { u32(UInt32(d)) }
            u8(v.dtype)
            u32(UInt32(v.data.count))
            out.append(v.data)
        }
        u32(UInt32(aliases.count))
        for (alias, target) in aliases { string(alias); string(target) }
        return out
    }
}

/// A random-weight Whisper small enough for unit tests: width 8, 2 heads, one layer each side,
/// the full tiny.en vocabulary size (51864) so token ids are realistic.
enum TinyWhisper {
    static let width = 8, heads = 2, melBins = 80, audioContext = 1500, textContext = 448, vocabulary = 51864, ffn = 16

    static func write(to url: URL, seed: UInt64 = 1) throws {
        var rng = HarkTestSupport.SplitMix64(seed: seed)
        func random(_ n: Int, scale: Float = 0.3) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) } }
        var w = ModelBinWriter()
        let d = width
        w.add("encoder/conv1/weight", [d, melBins, 3], f16: random(d * melBins * 3, scale: 0.1))
        w.add("encoder/conv1/bias", [d], f16: random(d))
        w.add("encoder/conv2/weight", [d, d, 3], f16: random(d * d * 3))
        w.add("encoder/conv2/bias", [d], f16: random(d))
        w.add("encoder/position_encodings/encodings", [audioContext, d], f16: random(audioContext * d))
        w.addScalar("encoder/num_heads", int16: Int16(heads))
        func block(_ p: String, cross: Bool) {
            w.add("\(p)/self_attention/layer_norm/gamma", [d], f16: [Float](repeating: 1, count: d))
            w.add("\(p)/self_attention/layer_norm/beta", [d], f16: [Float](repeating: 0, count: d))
            w.add("\(p)/self_attention/linear_0/weight", [3 * d, d], f16: random(3 * d * d))
            w.add("\(p)/self_attention/linear_0/bias", [3 * d], f16: random(3 * d))
            w.add("\(p)/self_attention/linear_1/weight", [d, d], f16: random(d * d))
            w.add("\(p)/self_attention/linear_1/bias", [d], f16: random(d))
            if cross {
                w.add("\(p)/attention/layer_norm/gamma", [d], f16: [Float](repeating: 1, count: d))
                w.add("\(p)/attention/layer_norm/beta", [d], f16: [Float](repeating: 0, count: d))
                w.add("\(p)/attention/linear_0/weight", [d, d], f16: random(d * d))
                w.add("\(p)/attention/linear_0/bias", [d], f16: random(d))
                w.add("\(p)/attention/linear_1/weight", [2 * d, d], f16: random(2 * d * d))
                w.add("\(p)/attention/linear_1/bias", [2 * d], f16: random(2 * d))
                w.add("\(p)/attention/linear_2/weight", [d, d], f16: random(d * d))
                w.add("\(p)/attention/linear_2/bias", [d], f16: random(d))
            }
            w.add("\(p)/ffn/layer_norm/gamma", [d], f16: [Float](repeating: 1, count: d))
            w.add("\(p)/ffn/layer_norm/beta", [d], f16: [Float](repeating: 0, count: d))
            w.add("\(p)/ffn/linear_0/weight", [ffn, d], f16: random(ffn * d))
            w.add("\(p)/ffn/linear_0/bias", [ffn], f16: random(ffn))
            w.add("\(p)/ffn/linear_1/weight", [d, ffn], f16: random(ffn * d))
            w.add("\(p)/ffn/linear_1/bias", [d], f16: random(d))
        }
        block("encoder/layer_0", cross: false)
        w.add("encoder/layer_norm/gamma", [d], f16: [Float](repeating: 1, count: d))
        w.add("encoder/layer_norm/beta", [d], f16: [Float](repeating: 0, count: d))
        w.add("decoder/embeddings/weight", [vocabulary, d], f16: random(vocabulary * d))
        w.add("decoder/position_encodings/encodings", [textContext, d], f16: random(textContext * d))
        w.addScalar("decoder/num_heads", int16: Int16(heads))
        block("decoder/layer_0", cross: true)
        w.add("decoder/layer_norm/gamma", [d], f16: [Float](repeating: 1, count: d))
        w.add("decoder/layer_norm/beta", [d], f16: [Float](repeating: 0, count: d))
        w.aliases = [("decoder/projection/weight", "decoder/embeddings/weight")]
        try w.data().write(to: url)
    }
}
