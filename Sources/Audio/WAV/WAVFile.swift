import Foundation

/// A decoded WAV file: its format fields and its samples, interleaved, as Float.
///
/// Integer PCM is scaled to -1..<1 (8-bit is unsigned around 128, the others signed); float
/// data is kept as stored.
public struct WAVFile: Sendable, Equatable {
    /// The format tag of the `fmt ` chunk: 1 (PCM), 3 (IEEE float) or 0xFFFE (extensible).
    public var formatTag: UInt16
    /// For WAVE_FORMAT_EXTENSIBLE, the format tag its sub-format GUID carries (1 or 3);
    /// otherwise equal to `formatTag`.
    public var effectiveFormatTag: UInt16
    /// Interleaved channels per frame.
    public var channels: Int
    /// Frames per second.
    public var sampleRate: Int
    /// Bits per sample of the container (8, 16, 24, 32 or 64).
    public var bitsPerSample: Int
    /// Interleaved samples: frame 0 channel 0, frame 0 channel 1, ...
    public var samples: [Float]
    /// True when the `data` length came from the end of the input rather than the header
    /// (a streamed header with size 0 or 0xFFFFFFFF, or a size larger than the file).
    public var dataSizeFromEndOfInput: Bool

    public init(formatTag: UInt16, effectiveFormatTag: UInt16? = nil, channels: Int, sampleRate: Int,
                bitsPerSample: Int, samples: [Float], dataSizeFromEndOfInput: Bool = false) {
        self.formatTag = formatTag
        self.effectiveFormatTag = effectiveFormatTag ?? formatTag
        self.channels = channels
        self.sampleRate = sampleRate
        self.bitsPerSample = bitsPerSample
        self.samples = samples
        self.dataSizeFromEndOfInput = dataSizeFromEndOfInput
    }

    /// True for IEEE float data.
    public var isFloatingPoint: Bool { effectiveFormatTag == WAVFormatTag.ieeeFloat }

    /// Number of whole frames.
    public var frameCount: Int { channels > 0 ? samples.count / channels : 0 }

    /// Length in seconds.
    public var duration: Double { sampleRate > 0 ? Double(frameCount) / Double(sampleRate) : 0 }

    /// The channels averaged into one, at the file's own sample rate.
    public func mono() -> AudioClip {
        if channels == 1 { return AudioClip(samples: samples, sampleRate: sampleRate) }
        let frames = frameCount
        let count = channels
        var out = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(count)
        samples.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for frame in 0..<frames {
                    var sum: Float = 0
                    let base = frame * count
                    for channel in 0..<count { sum += src[base + channel] }
                    dst[frame] = sum * scale
                }
            }
        }
        return AudioClip(samples: out, sampleRate: sampleRate)
    }

    /// The samples of one channel.
    public func channel(_ index: Int) -> [Float] {
        precondition(index >= 0 && index < channels, "channel \(index) out of 0..<\(channels)")
        return stride(from: index, to: frameCount * channels, by: channels).map { samples[$0] }
    }
}

/// WAV format tags (Microsoft `mmreg.h` registry) that Hark reads or names in errors.
public enum WAVFormatTag {
    public static let pcm: UInt16 = 0x0001
    public static let ieeeFloat: UInt16 = 0x0003
    public static let extensible: UInt16 = 0xFFFE

    /// A human name for a format tag, for error messages.
    public static func name(_ tag: UInt16) -> String {
        switch tag {
        case 0x0001: return "PCM"
        case 0x0002: return "Microsoft ADPCM"
        case 0x0003: return "IEEE float"
        case 0x0006: return "A-law"
        case 0x0007: return "mu-law"
        case 0x0011: return "IMA ADPCM"
        case 0x0031: return "GSM 6.10"
        case 0x0050: return "MPEG audio"
        case 0x0055: return "MP3"
        case 0x00FF, 0x1610: return "AAC"
        case 0x0161, 0x0162, 0x0163: return "Windows Media Audio"
        case 0x2000: return "AC-3"
        case 0xF1AC: return "FLAC"
        case 0x6750, 0x674F, 0x6751: return "Ogg Vorbis"
        case 0xFFFE: return "extensible"
        default: return "an unknown codec"
        }
    }
}

/// How `WAVWriter` stores samples.
public enum WAVEncoding: Sendable, Equatable, CaseIterable {
    /// 16-bit signed integer PCM (format tag 1); samples are clipped to -1...1 and rounded.
    case pcm16
    /// 32-bit IEEE float (format tag 3); samples are stored exactly.
    case float32
}
