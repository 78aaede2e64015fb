import Foundation
import HarkTestSupport

/// Reads a 16-bit PCM mono WAV (the corpus format) into floats in -1...1 (sample / 32768).
/// A few lines on purpose: the VAD tests need exactly the samples the Python reference read.
func readPCM16Wav(_ url: URL) throws -> (samples: [Float], sampleRate: Int) {
    let data = try Data(contentsOf: url)
    struct BadWav: Error, CustomStringConvertible { let description: String }
    func u32(_ at: Int) -> Int { data.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self))) } }
    func u16(_ at: Int) -> Int { data.withUnsafeBytes { Int(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt16.self))) } }
    guard data.count >= 12, String(decoding: data[0..<4], as: UTF8.self) == "RIFF",
          String(decoding: data[8..<12], as: UTF8.self) == "WAVE" else { throw BadWav(description: "\(url.path): not RIFF/WAVE") }
    var offset = 12
    var sampleRate = 0, channels = 0, bits = 0
    while offset + 8 <= data.count {
        let id = String(decoding: data[offset..<offset + 4], as: UTF8.self)
        let size = u32(offset + 4)
        let body = offset + 8
        if id == "fmt " {
            channels = u16(body + 2); sampleRate = u32(body + 4); bits = u16(body + 14)
        } else if id == "data" {
            guard channels == 1, bits == 16 else { throw BadWav(description: "\(url.path): \(channels) ch \(bits) bit, want mono 16-bit") }
            let count = min(size, data.count - body) / 2
            let samples = data.withUnsafeBytes { raw in
                (0..<count).map { Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: body + 2 * $0, as: Int16.self))) / 32768 }
            }
            return (samples, sampleRate)
        }
        offset = body + size + (size & 1)
    }
    throw BadWav(description: "\(url.path): no data chunk")
}

/// Splits samples into 512-sample frames, zero-padding the last partial one (as the reference does).
func frames(of samples: [Float], size: Int = 512) -> [[Float]] {
    stride(from: 0, to: samples.count, by: size).map { start in
        var frame = Array(samples[start..<min(start + size, samples.count)])
        if frame.count < size { frame += [Float](repeating: 0, count: size - frame.count) }
        return frame
    }
}

/// A clip of the shared corpus.
func corpusClip(_ relativePath: String) throws -> [Float] {
    let (samples, rate) = try readPCM16Wav(ProjectPaths.corpus.appendingPathComponent(relativePath))
    precondition(rate == 16000, "\(relativePath) is \(rate) Hz")
    return samples
}
