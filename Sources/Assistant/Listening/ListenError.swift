/// Why listening could not start or continue.
public enum ListenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The voice activity detector expects another sample rate than the audio source delivers.
    case sampleRateMismatch(detector: Int, audio: Int)

    public var description: String {
        switch self {
        case let .sampleRateMismatch(detector, audio):
            return "the voice activity detector runs at \(detector) Hz but the audio source delivers \(audio) Hz"
        }
    }
}
