import Foundation

/// A mono recording: float samples nominally in -1...1 at `sampleRate` Hz.
///
/// This is the currency between Hark's stages: the recogniser wants a 16 kHz clip, which
/// `AudioClip.load(_:)` produces from any WAV file.
public struct AudioClip: Sendable, Equatable {
    /// The samples, one per frame (mono).
    public var samples: [Float]
    /// Frames per second.
    public var sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Length in seconds.
    public var duration: Double {
        sampleRate > 0 ? Double(samples.count) / Double(sampleRate) : 0
    }
}

extension AudioClip {
    /// The sample rate Hark's speech models expect, in Hz.
    public static let speechSampleRate = 16_000

    /// Reads a WAV file, downmixes it to mono and resamples it to `sampleRate`.
    ///
    /// - Parameters:
    ///   - path: a file path, or `-` for standard input.
    ///   - sampleRate: the rate of the result in Hz; `nil` keeps the file's own rate.
    /// - Throws: `AudioError` naming the file and what is wrong with it.
    ///
    /// ```swift
    /// let clip = try AudioClip.load("question.wav")        // 16 kHz mono
    /// let native = try AudioClip.load("-", sampleRate: nil) // stdin, file's rate
    /// ```
    public static func load(_ path: String, sampleRate: Int? = 16000) throws -> AudioClip {
        let file: WAVFile
        if path == "-" {
            file = try WAVReader.read(data: FileHandle.standardInput.readDataToEndOfFile(), source: "standard input")
        } else {
            file = try WAVReader.read(contentsOf: URL(fileURLWithPath: path))
        }
        let clip = file.mono()
        guard let sampleRate else { return clip }
        return try clip.resampled(to: sampleRate)
    }

    /// This clip at another sample rate (windowed-sinc, see `Resampler`). Returns `self` when
    /// the rate already matches.
    public func resampled(to newRate: Int) throws -> AudioClip {
        if newRate == sampleRate { return self }
        let resampler = try Resampler(inputRate: sampleRate, outputRate: newRate)
        return AudioClip(samples: resampler.resample(samples), sampleRate: newRate)
    }
}
