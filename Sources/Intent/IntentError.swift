import Foundation

/// Everything that can go wrong in the Intent module, with the payload needed to fix it.
public enum IntentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An intent file could not be read from disk.
    case unreadableFile(path: String, reason: String)
    /// The YAML itself is malformed (Yams/libyaml reported `problem` at `line`).
    case invalidYAML(file: String, line: Int?, problem: String)
    /// The YAML is well formed but does not describe intents the way Hark expects.
    case invalidIntentFile(file: String, line: Int?, problem: String)
    /// A sentence template does not parse or refers to something undefined.
    case invalidTemplate(file: String, line: Int?, intent: String, template: String, problem: String)
    /// An ALSA mixer call failed (`function` returned `code`).
    case mixer(device: String, function: String, code: Int32, message: String)
    /// The mixer opened but has none of the playback controls we know how to drive.
    case mixerControlMissing(device: String, tried: [String])
    /// The notes/reminders file could not be read or written.
    case notesFile(path: String, reason: String)
    /// A user command hook could not be started or did not finish in time.
    case hookFailed(command: String, reason: String)
    /// An evaluation manifest is malformed.
    case manifest(path: String, line: Int, problem: String)

    public var description: String {
        func at(_ file: String, _ line: Int?) -> String { line.map { "\(file):\($0)" } ?? file }
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read intent file \(path): \(reason)"
        case let .invalidYAML(file, line, problem):
            return "\(at(file, line)): invalid YAML: \(problem)"
        case let .invalidIntentFile(file, line, problem):
            return "\(at(file, line)): \(problem)"
        case let .invalidTemplate(file, line, intent, template, problem):
            return "\(at(file, line)): intent \(intent), template \"\(template)\": \(problem)"
        case let .mixer(device, function, code, message):
            return "mixer \(device): \(function) failed (\(code)): \(message)"
        case let .mixerControlMissing(device, tried):
            return "mixer \(device) has no playback volume control (tried \(tried.joined(separator: ", ")))"
        case let .notesFile(path, reason):
            return "notes file \(path): \(reason)"
        case let .hookFailed(command, reason):
            return "command hook `\(command)`: \(reason)"
        case let .manifest(path, line, problem):
            return "\(path):\(line): \(problem)"
        }
    }
}
