import Foundation

/// Reads RIFF/WAVE files (Microsoft "Multimedia Programming Interface and Data Specifications
/// 1.0", 1991, plus the WAVE_FORMAT_EXTENSIBLE addendum).
///
/// Reads PCM integer 8/16/24/32-bit and IEEE float 32/64-bit, plain or extensible, any channel
/// count and sample rate. Unknown chunks are skipped (with their pad byte when the size is odd).
/// A `data` chunk whose size is 0xFFFFFFFF, larger than what follows, or 0 with audio bytes
/// behind it (streamed writers fill sizes in later, or never) is read to the end of the input,
/// in whole frames. Sizes are never trusted for allocation: memory is bounded by the input.
public enum WAVReader {
    /// Reads and decodes the WAV file at `url`.
    public static func read(contentsOf url: URL) throws -> WAVFile {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw AudioError.unreadable(file: url.path, reason: describe(error))
        }
        return try read(data: data, source: url.path)
    }

    /// Decodes WAV bytes; `source` names them in errors (a path, "standard input", ...).
    public static func read(data: Data, source: String) throws -> WAVFile {
        try data.withUnsafeBytes { raw in
            try Parser(bytes: raw, source: source).parse()
        }
    }

    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileReadNoSuchFileError: return "no such file"
            case NSFileReadNoPermissionError: return "permission denied"
            default: break
            }
        }
        return ns.localizedDescription
    }
}

/// The format fields of a `fmt ` chunk after validation.
struct WAVFormatFields {
    var formatTag: UInt16
    var effectiveTag: UInt16
    var channels: Int
    var sampleRate: Int
    var bitsPerSample: Int
    var bytesPerSample: Int { bitsPerSample / 8 }
    var bytesPerFrame: Int { bytesPerSample * channels }
}

private struct Parser {
    let bytes: UnsafeRawBufferPointer
    let source: String

    func u16(_ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func u32(_ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    func fourCC(_ offset: Int) -> String {
        let chars = (0..<4).map { i -> String in
            let b = bytes[offset + i]
            return (0x20..<0x7F).contains(b) ? String(UnicodeScalar(b)) : "\\x" + String(format: "%02X", b)
        }
        return chars.joined()
    }

    func need(_ count: Int, at offset: Int, _ what: String) throws {
        if offset + count > bytes.count {
            throw AudioError.truncated(file: source, offset: bytes.count, expected: what)
        }
    }

    func parse() throws -> WAVFile {
        if bytes.count == 0 { throw AudioError.notWAV(file: source, found: "an empty file") }
        if bytes.count < 12 {
            if bytes.count >= 4, fourCC(0) == "RIFF" {
                throw AudioError.truncated(file: source, offset: bytes.count, expected: "the WAVE form type")
            }
            throw AudioError.notWAV(file: source, found: "only \(bytes.count) bytes")
        }
        let magic = fourCC(0)
        switch magic {
        case "RIFF": break
        case "RIFX":
            throw AudioError.notWAV(file: source, found: "a big-endian RIFX file, which Hark does not read")
        case "RF64":
            throw AudioError.notWAV(file: source, found: "an RF64 (64-bit RIFF) file, which Hark does not read")
        default:
            throw AudioError.notWAV(file: source, found: sniff())
        }
        guard fourCC(8) == "WAVE" else {
            throw AudioError.notWAV(file: source, found: "a RIFF '\(fourCC(8))' form instead of 'WAVE'")
        }

        var format: WAVFormatFields?
        var dataChunk: (offset: Int, size: Int)?
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = fourCC(offset)
            let size = Int(u32(offset + 4))
            let body = offset + 8
            let available = bytes.count - body
            switch id {
            case "fmt ":
                format = try parseFormat(at: body, size: min(size, available), declaredSize: size)
            case "data":
                if let format { return decode(format: format, dataOffset: body, declaredSize: size) }
                // `data` before `fmt `: legal if unusual; remember it and keep walking.
                if dataChunk == nil { dataChunk = (body, size) }
            default:
                break
            }
            // Skip the chunk and its pad byte; a size past the end simply ends the walk.
            let next = body + size + (size & 1)
            if next > bytes.count { break }
            offset = next
        }
        if let format, let dataChunk {
            return decode(format: format, dataOffset: dataChunk.offset, declaredSize: dataChunk.size)
        }
        if offset < bytes.count, offset + 8 > bytes.count {
            throw AudioError.truncated(file: source, offset: bytes.count,
                                       expected: format == nil ? "the 'fmt ' chunk" : "the 'data' chunk")
        }
        throw AudioError.missingChunk(file: source, chunk: format == nil ? "fmt " : "data")
    }

    /// Describes non-WAV input by its signature, for the error message.
    func sniff() -> String {
        let b = bytes
        if b[0] == 0x49, b[1] == 0x44, b[2] == 0x33 { return "an MP3 file with an ID3 tag" }
        if b[0] == 0xFF, b[1] & 0xE0 == 0xE0 { return "an MPEG audio (MP3) frame" }
        switch fourCC(0) {
        case "OggS": return "an Ogg file"
        case "fLaC": return "a FLAC file"
        case "FORM": return "an AIFF/IFF file"
        case ".snd": return "a Sun/NeXT .au file"
        default: return "'\(fourCC(0))'"
        }
    }

    func parseFormat(at offset: Int, size: Int, declaredSize: Int) throws -> WAVFormatFields {
        guard size >= 16 else {
            if declaredSize >= 16 {
                throw AudioError.truncated(file: source, offset: bytes.count, expected: "the 16-byte 'fmt ' chunk")
            }
            throw AudioError.invalidHeader(file: source, offset: offset - 4, field: "fmt chunk size",
                                           value: declaredSize, reason: "it must be at least 16 bytes")
        }
        let tag = u16(offset)
        let channels = Int(u16(offset + 2))
        let rate = Int(u32(offset + 4))
        let bits = Int(u16(offset + 14))
        var effective = tag
        if tag == WAVFormatTag.extensible {
            // cbSize(2) validBits(2) channelMask(4) subFormat GUID(16): the GUID's first two
            // bytes are the plain format tag.
            guard size >= 40 else {
                if declaredSize >= 40 {
                    throw AudioError.truncated(file: source, offset: bytes.count, expected: "the extensible format fields")
                }
                throw AudioError.invalidHeader(file: source, offset: offset - 4, field: "fmt chunk size",
                                               value: declaredSize, reason: "WAVE_FORMAT_EXTENSIBLE needs 40 bytes")
            }
            effective = u16(offset + 24)
        }
        guard effective == WAVFormatTag.pcm || effective == WAVFormatTag.ieeeFloat else {
            throw AudioError.unsupportedEncoding(file: source, formatTag: effective, name: WAVFormatTag.name(effective))
        }
        guard channels > 0 else {
            throw AudioError.invalidHeader(file: source, offset: offset + 2, field: "channel count",
                                           value: channels, reason: "a WAV needs at least one channel")
        }
        guard rate > 0 else {
            throw AudioError.invalidHeader(file: source, offset: offset + 4, field: "sample rate",
                                           value: rate, reason: "the rate must be positive")
        }
        let valid: Set<Int> = effective == WAVFormatTag.pcm ? [8, 16, 24, 32] : [32, 64]
        guard valid.contains(bits) else {
            let kind = effective == WAVFormatTag.pcm ? "PCM integer" : "IEEE float"
            let allowed = valid.sorted().map(String.init).joined(separator: "/")
            throw AudioError.invalidHeader(file: source, offset: offset + 14, field: "bits per sample",
                                           value: bits, reason: "\(kind) data must be \(allowed)-bit")
        }
        return WAVFormatFields(formatTag: tag, effectiveTag: effective, channels: channels,
                               sampleRate: rate, bitsPerSample: bits)
    }

    func decode(format: WAVFormatFields, dataOffset: Int, declaredSize: Int) -> WAVFile {
        let available = bytes.count - dataOffset
        var size = declaredSize
        var fromEnd = false
        if declaredSize == 0xFFFF_FFFF || declaredSize > available {
            size = available
            fromEnd = true
        } else if declaredSize == 0, available > 0, !looksLikeChunkHeader(at: dataOffset) {
            size = available
            fromEnd = true
        }
        let frames = size / format.bytesPerFrame
        let count = frames * format.channels
        let samples = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            let src = UnsafeRawBufferPointer(rebasing: bytes[dataOffset..<(dataOffset + count * format.bytesPerSample)])
            SampleDecoding.decode(src, into: out.baseAddress!, count: count,
                                  bits: format.bitsPerSample, float: format.effectiveTag == WAVFormatTag.ieeeFloat)
            initialized = count
        }
        return WAVFile(formatTag: format.formatTag, effectiveFormatTag: format.effectiveTag,
                       channels: format.channels, sampleRate: format.sampleRate,
                       bitsPerSample: format.bitsPerSample, samples: samples,
                       dataSizeFromEndOfInput: fromEnd)
    }

    /// A plausible chunk header: four printable ASCII bytes and a size that fits the input.
    func looksLikeChunkHeader(at offset: Int) -> Bool {
        guard offset + 8 <= bytes.count else { return false }
        for i in 0..<4 where !(0x20..<0x7F).contains(bytes[offset + i]) { return false }
        return Int(u32(offset + 4)) <= bytes.count - offset - 8
    }
}

/// Little-endian sample decoding to Float.
enum SampleDecoding {
    static func decode(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<Float>, count: Int,
                       bits: Int, float: Bool) {
        guard count > 0, let base = src.baseAddress else { return }
        switch (bits, float) {
        case (8, false):
            for i in 0..<count { dst[i] = (Float(base.load(fromByteOffset: i, as: UInt8.self)) - 128) / 128 }
        case (16, false):
            for i in 0..<count {
                dst[i] = Float(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) / 32768
            }
        case (24, false):
            for i in 0..<count {
                let p = 3 * i
                let raw = Int32(base.load(fromByteOffset: p, as: UInt8.self))
                    | Int32(base.load(fromByteOffset: p + 1, as: UInt8.self)) << 8
                    | Int32(base.load(fromByteOffset: p + 2, as: UInt8.self)) << 16
                dst[i] = Float((raw << 8) >> 8) / 8_388_608
            }
        case (32, false):
            for i in 0..<count {
                dst[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) / 2_147_483_648
            }
        case (32, true):
            for i in 0..<count {
                dst[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case (64, true):
            for i in 0..<count {
                dst[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        default:
            preconditionFailure("unvalidated sample format: \(bits)-bit, float \(float)")
        }
    }
}
