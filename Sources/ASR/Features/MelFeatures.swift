/// Log-mel features in Whisper's layout: `bins` rows of `frames` values each.
public struct MelFeatures: Sendable, Equatable {
    /// Number of mel bins (80, or 128 for large-v3).
    public let bins: Int
    /// Number of 10 ms frames (3000 for a 30 s window).
    public let frames: Int
    /// Bin-major values, `values[bin * frames + frame]`: Whisper's `[n_mels, n_frames]` tensor.
    public var values: [Float]

    public init(bins: Int, frames: Int, values: [Float]) {
        precondition(values.count == bins * frames, "MelFeatures: \(values.count) values for \(bins) x \(frames)")
        self.bins = bins
        self.frames = frames
        self.values = values
    }

    /// The value of `bin` at `frame`.
    public subscript(bin: Int, frame: Int) -> Float {
        values[bin * frames + frame]
    }
}
