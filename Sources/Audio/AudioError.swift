import Foundation

/// Everything that can go wrong in the Audio module: bad files, bad devices, bad arguments.
///
/// Each case carries the facts needed to act on it (which file, which byte offset, which ALSA
/// call and code); `description` only formats them.
public enum AudioError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or read at all (missing, permission, I/O error).
    case unreadable(file: String, reason: String)
    /// The file could not be written.
    case unwritable(file: String, reason: String)
    /// The bytes are not a RIFF/WAVE file; `found` describes what the first bytes look like.
    case notWAV(file: String, found: String)
    /// The file ends inside a header structure that must be complete.
    case truncated(file: String, offset: Int, expected: String)
    /// A chunk the format requires is absent (`fmt ` or `data`).
    case missingChunk(file: String, chunk: String)
    /// The WAV holds a codec we do not decode (MP3, mu-law, A-law, ADPCM, ...).
    case unsupportedEncoding(file: String, formatTag: UInt16, name: String)
    /// A header field holds a value that cannot describe audio (zero channels, zero rate, 12-bit
    /// float, ...).
    case invalidHeader(file: String, offset: Int, field: String, value: Int, reason: String)
    /// An argument to an Audio API makes no sense (non-positive rate, zero channels, ...).
    case invalidArgument(name: String, value: String, reason: String)
    /// An ALSA device name that ALSA does not know, or a device that cannot be opened.
    case deviceUnavailable(device: String, code: Int32, message: String)
    /// An ALSA call failed on an open device; `call` is the C function, `code` its return code.
    case deviceFailure(device: String, call: String, code: Int32, message: String)
    /// The device disappeared while in use (unplugged, driver gone).
    case deviceLost(device: String, code: Int32, message: String)
    /// The device accepted none of the formats/rates/channel counts we can work with.
    case deviceFormatUnsupported(device: String, detail: String)
    /// An in-memory ALSA configuration text or file could not be parsed.
    case invalidALSAConfiguration(source: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "Cannot read '\(file)': \(reason)."
        case let .unwritable(file, reason):
            return "Cannot write '\(file)': \(reason)."
        case let .notWAV(file, found):
            return "'\(file)' is not a WAV file (expected a RIFF/WAVE header, found \(found))."
        case let .truncated(file, offset, expected):
            return "'\(file)' is truncated: it ends at byte \(offset) where \(expected) should be."
        case let .missingChunk(file, chunk):
            return "'\(file)' has no '\(chunk)' chunk, so it holds no usable audio."
        case let .unsupportedEncoding(file, tag, name):
            let hex = String(tag, radix: 16, uppercase: true)
            return "'\(file)' holds \(name) audio (WAV format tag 0x\(hex)); Hark reads only PCM "
                + "integer (8/16/24/32-bit) and IEEE float (32/64-bit) WAV. Convert it first, "
                + "e.g. `sox in.wav -b 16 -e signed-integer out.wav`."
        case let .invalidHeader(file, offset, field, value, reason):
            return "'\(file)' has an invalid WAV header: \(field) is \(value) at byte \(offset) (\(reason))."
        case let .invalidArgument(name, value, reason):
            return "Invalid \(name) \(value): \(reason)."
        case let .deviceUnavailable(device, code, message):
            return "Cannot open audio device '\(device)': \(message) (ALSA error \(code)). "
                + "Run `hark devices` to list the capture devices this machine has."
        case let .deviceFailure(device, call, code, message):
            return "Audio device '\(device)': \(call) failed: \(message) (ALSA error \(code))."
        case let .deviceLost(device, code, message):
            return "Audio device '\(device)' was lost while in use: \(message) (ALSA error \(code)). "
                + "Was it unplugged?"
        case let .deviceFormatUnsupported(device, detail):
            return "Audio device '\(device)' supports no usable format: \(detail)."
        case let .invalidALSAConfiguration(source, code, message):
            return "Invalid ALSA configuration in \(source): \(message) (ALSA error \(code))."
        }
    }
}
