import Foundation

/// Writes mono WAV files: 16-bit PCM or 32-bit IEEE float.
public enum WAVWriter {
    /// Writes `clip` to `url` atomically: the bytes go to a temporary file in the same folder,
    /// which is then renamed over `url`, so a reader never sees half a file.
    ///
    /// With `.pcm16`, samples are scaled by 32768, rounded and clipped to the 16-bit range (NaN
    /// becomes 0), so 16-bit audio read by `WAVReader` is written back bit for bit.
    public static func write(_ clip: AudioClip, to url: URL, encoding: WAVEncoding = .pcm16) throws {
        let data = try encode(clip, encoding: encoding)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw AudioError.unwritable(file: url.path, reason: WAVReader.describe(error))
        }
    }

    /// The bytes of a mono WAV file holding `clip`.
    public static func encode(_ clip: AudioClip, encoding: WAVEncoding = .pcm16) throws -> Data {
        let bytesPerSample = encoding == .pcm16 ? 2 : 4
        guard clip.sampleRate > 0 else {
            throw AudioError.invalidArgument(name: "sample rate", value: String(clip.sampleRate),
                                             reason: "a WAV file needs a positive sample rate")
        }
        let dataSize = clip.samples.count * bytesPerSample
        // The RIFF size field is 32-bit: refuse what it cannot describe rather than wrap.
        guard dataSize <= Int(UInt32.max) - 44 else {
            throw AudioError.invalidArgument(name: "clip length", value: "\(clip.samples.count) samples",
                                             reason: "a WAV file holds at most 4 GiB of audio")
        }
        guard clip.sampleRate <= Int(UInt32.max) / bytesPerSample else {
            throw AudioError.invalidArgument(name: "sample rate", value: String(clip.sampleRate),
                                             reason: "too large for a WAV header")
        }
        var out = Data(capacity: 44 + dataSize)
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func put16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        out.append(contentsOf: Array("RIFF".utf8))
        put32(UInt32(36 + dataSize))
        out.append(contentsOf: Array("WAVEfmt ".utf8))
        put32(16)
        put16(encoding == .pcm16 ? WAVFormatTag.pcm : WAVFormatTag.ieeeFloat)
        put16(1)
        put32(UInt32(clip.sampleRate))
        put32(UInt32(clip.sampleRate * bytesPerSample))
        put16(UInt16(bytesPerSample))
        put16(UInt16(bytesPerSample * 8))
        out.append(contentsOf: Array("data".utf8))
        put32(UInt32(dataSize))
        switch encoding {
        case .pcm16:
            var pcm = [Int16](repeating: 0, count: clip.samples.count)
            PCMConversion.toInt16(clip.samples, into: &pcm)
            pcm.withUnsafeBytes { out.append(contentsOf: $0) }  // host is little-endian (x86-64, arm64)
        case .float32:
            clip.samples.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }
}

/// Float <-> 16-bit integer sample conversion shared by WAV and ALSA.
enum PCMConversion {
    static func toInt16(_ src: [Float], into dst: inout [Int16]) {
        precondition(dst.count >= src.count)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                for i in 0..<s.count { d[i] = int16(s[i]) }
            }
        }
    }

    /// Scales by 32768 (the inverse of `toFloat`, so 16-bit audio round-trips exactly), rounds,
    /// and clips to Int16's range; NaN becomes 0.
    @inline(__always)
    static func int16(_ x: Float) -> Int16 {
        let scaled = (x * 32768).rounded()
        if scaled >= 32767 { return 32767 }
        if scaled <= -32768 { return -32768 }
        return scaled == scaled ? Int16(scaled) : 0
    }

    /// 16-bit integer to Float in -1..<1 (divides by 32768, the inverse WAV readers use).
    static func toFloat(_ src: UnsafeBufferPointer<Int16>) -> [Float] {
        src.map { Float($0) / 32768 }
    }
}
