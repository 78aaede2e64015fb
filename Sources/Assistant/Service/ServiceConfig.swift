import Foundation
import Yams

/// The background service's settings, read from YAML (`$XDG_CONFIG_HOME/hark/config.yaml`, or
/// `hark serve --config FILE`). Every field has a default, so a missing file means "defaults".
/// Unknown keys and bad values are errors that name the key (`llm.max_tokens must be a positive
/// whole number, found 'lots'`), never silently ignored. See `contrib/config.example.yaml`.
public struct ServiceConfig: Sendable, Equatable {
    /// When audio counts as a command.
    public enum Mode: String, Sendable, CaseIterable {
        /// Only after the wake phrase (default).
        case wake
        /// Every utterance is a command.
        case always
    }

    /// Model files; nil means "the installed default" (the CLI resolves it).
    public struct Models: Sendable, Equatable {
        public var whisper: String?
        public var vad: String?
        public var llm: String?
        public init() {}
    }

    /// The local language model that answers what no intent covers.
    public struct LanguageModel: Sendable, Equatable {
        public var enabled = true
        public var maxTokens = 96
        public var temperature: Float = 0.2
        public var threads = 2
        public init() {}
    }

    public enum LogLevel: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public var mode: Mode = .wake
    public var wakePhrase = "hey hark"
    /// Answer a complete command when the speaker pauses instead of after the utterance's
    /// trailing silence (`AssistantConfig.answersOnPause`).
    public var answerOnPause = true
    /// Speak replies and timer alerts (false: replies go to the API and log only).
    public var speak = true
    /// ALSA capture device.
    public var inputDevice = "default"
    /// ALSA playback device for spoken replies.
    public var outputDevice = "default"
    public var models = Models()
    public var llm = LanguageModel()
    /// The API socket; nil means `ControlSocketServer.defaultPath` (`$XDG_RUNTIME_DIR/hark/hark.sock`).
    public var socket: String?
    /// Where pending timers (and the history, when on) are kept; nil means `$XDG_STATE_HOME/hark`.
    public var stateDirectory: String?
    /// Keep a transcript history (`history.jsonl` in the state folder). Off by default: nothing
    /// heard or said is written to disk unless the user asks for it.
    public var history = false
    public var logLevel: LogLevel = .info

    public init() {}
    public static let `default` = ServiceConfig()

    /// Every key the file may hold (nested keys with a dot), for messages and the example file.
    public static let knownKeys = [
        "mode", "wake_phrase", "answer_on_pause", "speak", "input_device", "output_device",
        "models.whisper", "models.vad", "models.llm",
        "llm.enabled", "llm.max_tokens", "llm.temperature", "llm.threads",
        "socket", "state_dir", "history", "log_level",
    ]

    /// `$XDG_CONFIG_HOME/hark/config.yaml` (default `~/.config/hark/config.yaml`).
    public static var defaultPath: String {
        xdgDirectory("XDG_CONFIG_HOME", fallback: ".config") + "/hark/config.yaml"
    }

    /// `$XDG_STATE_HOME/hark` (default `~/.local/state/hark`).
    public static var defaultStateDirectory: String {
        xdgDirectory("XDG_STATE_HOME", fallback: ".local/state") + "/hark"
    }

    static func xdgDirectory(_ variable: String, fallback: String) -> String {
        if let value = ProcessInfo.processInfo.environment[variable], value.hasPrefix("/") { return value }
        return FileManager.default.homeDirectoryForCurrentUser.path + "/" + fallback
    }

    /// The state folder in use.
    public var resolvedStateDirectory: String { stateDirectory ?? Self.defaultStateDirectory }
    /// The socket in use.
    public var resolvedSocket: String { socket ?? ControlSocketServer.defaultPath }

    /// Reads `path`; a missing file gives the defaults only when `mustExist` is false (the
    /// default path may be absent, a path the user named may not).
    public static func load(path: String, mustExist: Bool) throws -> ServiceConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            if mustExist { throw AssistantError.config(file: path, key: nil, problem: "the file does not exist") }
            return .default
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw AssistantError.config(file: path, key: nil, problem: "cannot be read as UTF-8 text (\(error.localizedDescription))")
        }
        return try parse(yaml: text, source: path)
    }

    /// Parses the YAML text of a config file; `source` names it in errors.
    public static func parse(yaml text: String, source: String) throws -> ServiceConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            let first = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw AssistantError.config(file: source, key: nil, problem: "not valid YAML: \(first)")
        }
        var config = ServiceConfig()
        guard let root else { return config } // an empty file: defaults
        guard let top = root.mapping else {
            throw AssistantError.config(file: source, key: nil, problem: "expected a mapping of settings (key: value)")
        }
        var reader = ConfigReader(source: source)
        for (keyNode, value) in top {
            let key = try reader.key(keyNode, prefix: "")
            switch key {
            case "mode":
                let name = try reader.string(value, key)
                guard let mode = Mode(rawValue: name) else {
                    throw reader.fail(key, "must be one of \(Mode.allCases.map(\.rawValue).joined(separator: ", ")), found '\(name)'")
                }
                config.mode = mode
            case "wake_phrase":
                config.wakePhrase = try reader.string(value, key)
                guard config.wakePhrase.contains(where: \.isLetter) else { throw reader.fail(key, "must contain words") }
            case "answer_on_pause": config.answerOnPause = try reader.bool(value, key)
            case "speak": config.speak = try reader.bool(value, key)
            case "input_device": config.inputDevice = try reader.string(value, key)
            case "output_device": config.outputDevice = try reader.string(value, key)
            case "models":
                for (k, v) in try reader.mapping(value, key) {
                    let sub = try reader.key(k, prefix: "models.")
                    let path = try reader.path(v, sub)
                    switch sub {
                    case "models.whisper": config.models.whisper = path
                    case "models.vad": config.models.vad = path
                    default: config.models.llm = path
                    }
                }
            case "llm":
                for (k, v) in try reader.mapping(value, key) {
                    let sub = try reader.key(k, prefix: "llm.")
                    switch sub {
                    case "llm.enabled": config.llm.enabled = try reader.bool(v, sub)
                    case "llm.max_tokens": config.llm.maxTokens = try reader.integer(v, sub, in: 1...4096)
                    case "llm.threads": config.llm.threads = try reader.integer(v, sub, in: 1...64)
                    default:
                        let t = try reader.number(v, sub)
                        guard t >= 0, t <= 5 else { throw reader.fail(sub, "must be between 0 and 5, found \(t)") }
                        config.llm.temperature = Float(t)
                    }
                }
            case "socket": config.socket = try reader.path(value, key)
            case "state_dir": config.stateDirectory = try reader.path(value, key)
            case "history": config.history = try reader.bool(value, key)
            default: // log_level
                let name = try reader.string(value, key)
                guard let level = LogLevel(rawValue: name) else {
                    throw reader.fail(key, "must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")), found '\(name)'")
                }
                config.logLevel = level
            }
        }
        return config
    }
}

/// Typed reads of YAML nodes with errors naming the key.
private struct ConfigReader {
    let source: String
    var seen: Set<String> = []

    func fail(_ key: String, _ problem: String) -> AssistantError {
        .config(file: source, key: key, problem: problem)
    }

    /// The full dotted name of a key, checked to be known and not repeated.
    mutating func key(_ node: Node, prefix: String) throws -> String {
        guard let name = node.scalar?.string else {
            throw AssistantError.config(file: source, key: nil, problem: "keys must be plain words (line \((node.mark?.line).map(String.init) ?? "?"))")
        }
        let full = prefix + name
        // At the top level a section name ("llm") counts as known; inside one, its dotted keys.
        let sectionNames = Set(prefix.isEmpty ? ServiceConfig.knownKeys.map { String($0.split(separator: ".")[0]) }
                                              : ServiceConfig.knownKeys.filter { $0.hasPrefix(prefix) })
        guard sectionNames.contains(full) else {
            let expected = sectionNames.sorted().joined(separator: ", ")
            throw fail(full, "unknown setting (line \((node.mark?.line).map(String.init) ?? "?")); known here: \(expected)")
        }
        guard seen.insert(full).inserted else { throw fail(full, "is set twice") }
        return full
    }

    /// A section's settings; an empty section (every line commented out) has none.
    func mapping(_ node: Node, _ key: String) throws -> [(key: Node, value: Node)] {
        if let scalar = node.scalar, ["", "~", "null"].contains(scalar.string) { return [] }
        guard let map = node.mapping else { throw fail(key, "must be a mapping of settings") }
        return Array(map)
    }

    func string(_ node: Node, _ key: String) throws -> String {
        guard let text = node.scalar?.string, !text.isEmpty else { throw fail(key, "must be text") }
        return text
    }

    /// A path; `~/` expands to the home folder.
    func path(_ node: Node, _ key: String) throws -> String {
        let text = try string(node, key)
        if text.hasPrefix("~/") { return FileManager.default.homeDirectoryForCurrentUser.path + text.dropFirst(1) }
        return text
    }

    func bool(_ node: Node, _ key: String) throws -> Bool {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(key, "must be true or false, found '\(node.scalar?.string ?? "a non-scalar value")'")
        }
    }

    func number(_ node: Node, _ key: String) throws -> Double {
        guard let text = node.scalar?.string, let value = Double(text), value.isFinite else {
            throw fail(key, "must be a number, found '\(node.scalar?.string ?? "a non-scalar value")'")
        }
        return value
    }

    func integer(_ node: Node, _ key: String, in range: ClosedRange<Int>) throws -> Int {
        guard let text = node.scalar?.string, let value = Int(text) else {
            throw fail(key, "must be a whole number, found '\(node.scalar?.string ?? "a non-scalar value")'")
        }
        guard range.contains(value) else { throw fail(key, "must be in \(range.lowerBound)...\(range.upperBound), found \(value)") }
        return value
    }
}
