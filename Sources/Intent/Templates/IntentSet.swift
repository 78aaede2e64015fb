import Foundation
import Yams

/// One intent: its name, sentence templates and, for user intents, the command hook it runs.
public struct IntentDefinition: Sendable {
    public var name: String
    public var templates: [Template]
    /// Shell command run by `CommandHookSkill`; slots arrive as `HARK_SLOT_<NAME>`.
    public var command: String?
    /// Seconds the command may run before it is killed.
    public var timeout: Double
    /// Reply spoken after the command succeeds; `{slot}` is replaced by the slot's words.
    public var reply: String?
    /// The file it came from (for messages).
    public var source: String

    /// Slots of free text ("remind me to {message}"): the speaker may still be adding words.
    public var freeTextSlots: Set<String> {
        var names = Set<String>()
        for template in templates {
            for (name, definition) in template.slotDefinitions {
                if case .text = definition.type { names.insert(name) }
            }
        }
        return names
    }
}

/// A set of intents: the built-in English file plus user files.
///
/// ```swift
/// let intents = try IntentSet.standard(extraFiles: [URL(fileURLWithPath: "home.yaml")])
/// let result = IntentRecognizer(intents: intents).recognize("set a timer for five minutes")
/// ```
public struct IntentSet: Sendable {
    public private(set) var intents: [IntentDefinition]

    public init(intents: [IntentDefinition] = []) { self.intents = intents }

    /// Intent names, in file order.
    public var names: [String] { intents.map(\.name) }

    public func intent(named name: String) -> IntentDefinition? { intents.first { $0.name == name } }

    /// Adds `other`'s intents; an intent with a name already present replaces it.
    public func merging(_ other: IntentSet) -> IntentSet {
        var merged = self
        for definition in other.intents {
            if let i = merged.intents.firstIndex(where: { $0.name == definition.name }) { merged.intents[i] = definition }
            else { merged.intents.append(definition) }
        }
        return merged
    }

    /// The built-in English intents (`Resources/en.yaml`, shipped as a SwiftPM resource).
    public static func builtIn() throws -> IntentSet {
        let url = try builtInURL()
        return try load(file: url)
    }

    static func builtInURL() throws -> URL {
        // Next to the executable first (an installed `hark` with its resource bundle), then
        // SwiftPM's accessor, which also knows the build folder.
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            let beside = exe.appendingPathComponent("Hark_Intent.resources/en.yaml")
            if FileManager.default.fileExists(atPath: beside.path) { return beside }
        }
        guard let url = Bundle.module.url(forResource: "en", withExtension: "yaml") else {
            throw IntentError.unreadableFile(path: "en.yaml", reason: "the built-in intent file is missing from the resource bundle")
        }
        return url
    }

    /// `$XDG_CONFIG_HOME/hark/intents` (default `~/.config/hark/intents`).
    public static func userDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config")
        return base.appendingPathComponent("hark/intents")
    }

    /// Built-in intents, then every `*.yaml` in the user directory (sorted by name), then `extraFiles`.
    public static func standard(extraFiles: [URL] = [], userDirectory: URL? = IntentSet.userDirectory()) throws -> IntentSet {
        var set = try builtIn()
        var isDirectory: ObjCBool = false
        if let dir = userDirectory, FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: dir.path) }
            catch { throw IntentError.unreadableFile(path: dir.path, reason: (error as NSError).localizedDescription) }
            for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                set = set.merging(try load(file: dir.appendingPathComponent(name)))
            }
        }
        for file in extraFiles { set = set.merging(try load(file: file)) }
        return set
    }

    /// Loads one intent file.
    public static func load(file: URL) throws -> IntentSet {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) }
        catch { throw IntentError.unreadableFile(path: file.path, reason: (error as NSError).localizedDescription) }
        return try parse(yaml: text, source: file.path)
    }

    /// Parses intent-file YAML; `source` names it in errors.
    ///
    /// Format:
    /// ```yaml
    /// slots:
    ///   room: {values: {kitchen: [kitchen, cooking area], living_room: [living room, lounge]}}
    ///   level: {type: integer, range: [0, 100]}
    /// intents:
    ///   LightsOn:
    ///     templates: ["(turn | switch) on [the] {room} lights"]
    ///     command: "my-lights on $HARK_SLOT_ROOM"
    ///     timeout: 5
    ///     reply: "Lights on in the {room}."
    /// ```
    public static func parse(yaml text: String, source: String) throws -> IntentSet {
        try IntentFileParser(source: source).parse(text)
    }
}

struct IntentFileParser {
    let source: String

    func fail(_ node: Node?, _ problem: String) -> IntentError {
        .invalidIntentFile(file: source, line: node?.mark?.line, problem: problem)
    }

    func parse(_ text: String) throws -> IntentSet {
        let root: Node?
        do { root = try Yams.compose(yaml: text) }
        catch let error as YamlError {
            var line: Int? = nil
            switch error {
            case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): line = mark.line
            default: break
            }
            throw IntentError.invalidYAML(file: source, line: line, problem: Self.shortProblem(error))
        } catch {
            throw IntentError.invalidYAML(file: source, line: nil, problem: String(describing: error))
        }
        guard let root, let top = root.mapping else { throw fail(root, "expected a mapping with 'intents:' (and optionally 'slots:')") }
        for (key, _) in top where !["intents", "slots", "language", "version"].contains(key.string ?? "") {
            throw fail(key, "unknown top-level key '\(key.string ?? "?")' (expected intents, slots, language, version)")
        }
        var slots: [String: SlotDefinition] = [:]
        if let slotsNode = top["slots"] {
            guard let map = slotsNode.mapping else { throw fail(slotsNode, "'slots' must be a mapping of slot name to definition") }
            for (key, value) in map {
                guard let name = key.string, !name.isEmpty else { throw fail(key, "slot name must be text") }
                slots[name] = SlotDefinition(key: "\(source)#\(name)", type: try slotType(name, value))
            }
        }
        guard let intentsNode = top["intents"], let intentsMap = intentsNode.mapping else {
            throw fail(top["intents"] ?? root, "missing 'intents:' mapping")
        }
        var intents: [IntentDefinition] = []
        for (key, value) in intentsMap {
            guard let name = key.string, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw fail(key, "intent name must be letters, digits, '_' or '.'")
            }
            intents.append(try intent(name, value, slots: slots))
        }
        return IntentSet(intents: intents)
    }

    static func shortProblem(_ error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, _, _), let .parser(context, problem, _, _), let .composer(context, problem, _, _):
            return [context.map { "\($0)" }, problem].compactMap { $0 }.joined(separator: ": ")
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
    }

    func strings(_ node: Node, what: String) throws -> [String] {
        if let s = node.scalar?.string { return [s] }
        guard let seq = node.sequence else { throw fail(node, "\(what) must be text or a list of text") }
        return try seq.map { item in
            guard let s = item.scalar?.string else { throw fail(item, "\(what) must be text") }
            return s
        }
    }

    func number(_ node: Node, what: String) throws -> Double {
        guard let s = node.scalar?.string, let v = Double(s), v.isFinite else { throw fail(node, "\(what) must be a number") }
        return v
    }

    func slotType(_ name: String, _ node: Node) throws -> SlotType {
        // Shorthand: `room: [kitchen, bedroom]`
        if node.sequence != nil {
            return .list(try listValues(node))
        }
        guard let map = node.mapping else { throw fail(node, "slot '\(name)' must be a mapping (type/values) or a list of values") }
        for (key, _) in map where !["type", "values", "range", "max_words"].contains(key.string ?? "") {
            throw fail(key, "slot '\(name)': unknown key '\(key.string ?? "?")' (expected type, values, range, max_words)")
        }
        let typeName = map["type"]?.string ?? (map["values"] != nil ? "list" : "")
        var range: ClosedRange<Double>? = nil
        if let r = map["range"] {
            guard let seq = r.sequence, seq.count == 2 else { throw fail(r, "slot '\(name)': range must be [low, high]") }
            let lo = try number(seq[0], what: "range"), hi = try number(seq[1], what: "range")
            guard lo <= hi else { throw fail(r, "slot '\(name)': range low \(lo) is above high \(hi)") }
            range = lo...hi
        }
        switch typeName {
        case "list":
            guard let values = map["values"] else { throw fail(node, "slot '\(name)': a list slot needs values") }
            return .list(try listValues(values))
        case "integer": return .integer(range)
        case "number", "decimal": return .decimal(range)
        case "duration": return .duration
        case "time": return .timeOfDay
        case "date": return .date
        case "expression": return .expression
        case "text":
            var limit: Int? = nil
            if let m = map["max_words"] {
                let v = try number(m, what: "max_words")
                guard v >= 1, v <= 100, v == v.rounded() else { throw fail(m, "slot '\(name)': max_words must be 1...100") }
                limit = Int(v)
            }
            return .text(maxWords: limit)
        case "": throw fail(node, "slot '\(name)' needs a type (list, integer, number, duration, time, date, text, expression) or values")
        default: throw fail(map["type"], "slot '\(name)': unknown type '\(typeName)' (list, integer, number, duration, time, date, text, expression)")
        }
    }

    func listValues(_ node: Node) throws -> [ListValue] {
        let normalizer = Normalizer()
        func words(_ s: String, _ at: Node) throws -> [String] {
            let w = normalizer.tokens(s, removeFillers: false)
            guard !w.isEmpty else { throw fail(at, "value '\(s)' has no words") }
            return w
        }
        var values: [ListValue] = []
        if let seq = node.sequence {
            for item in seq {
                guard let s = item.scalar?.string else { throw fail(item, "list values must be text") }
                values.append(ListValue(value: s, synonyms: [try words(s, item)]))
            }
        } else if let map = node.mapping {
            for (key, value) in map {
                guard let canonical = key.string, !canonical.isEmpty else { throw fail(key, "value name must be text") }
                var synonyms = try strings(value, what: "synonyms of '\(canonical)'").map { try words($0, value) }
                if synonyms.isEmpty { synonyms = [try words(canonical, key)] }
                values.append(ListValue(value: canonical, synonyms: synonyms))
            }
        } else {
            throw fail(node, "values must be a list or a mapping of value to synonyms")
        }
        guard !values.isEmpty else { throw fail(node, "a list slot needs at least one value") }
        return values
    }

    func intent(_ name: String, _ node: Node, slots: [String: SlotDefinition]) throws -> IntentDefinition {
        var templateNodes: [Node]
        var command: String? = nil, reply: String? = nil
        var timeout = 10.0
        if let seq = node.sequence {
            templateNodes = Array(seq)
        } else if let map = node.mapping {
            for (key, _) in map where !["templates", "command", "timeout", "reply"].contains(key.string ?? "") {
                throw fail(key, "intent \(name): unknown key '\(key.string ?? "?")' (expected templates, command, timeout, reply)")
            }
            guard let t = map["templates"] else { throw fail(node, "intent \(name) has no templates") }
            if t.scalar != nil { templateNodes = [t] } else if let s = t.sequence { templateNodes = Array(s) } else {
                throw fail(t, "intent \(name): templates must be a list of sentences")
            }
            if let c = map["command"] {
                guard let s = c.scalar?.string, !s.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail(c, "intent \(name): command must be text") }
                command = s
            }
            if let r = map["reply"] {
                guard let s = r.scalar?.string else { throw fail(r, "intent \(name): reply must be text") }
                reply = s
            }
            if let t = map["timeout"] {
                timeout = try number(t, what: "timeout")
                guard timeout > 0, timeout <= 3600 else { throw fail(t, "intent \(name): timeout must be in (0, 3600] seconds") }
            }
        } else {
            throw fail(node, "intent \(name) must be a mapping with templates, or a list of templates")
        }
        guard !templateNodes.isEmpty else { throw fail(node, "intent \(name) has no templates") }
        var templates: [Template] = []
        for t in templateNodes {
            guard let text = t.scalar?.string else { throw fail(t, "intent \(name): each template must be text") }
            do {
                templates.append(try Template(text, line: t.mark?.line) { slotName, definitionName in
                    if let d = slots[definitionName] { return d }
                    if let type = SlotDefinition.builtInTypes[definitionName] { return SlotDefinition(key: "builtin#\(definitionName)", type: type) }
                    _ = slotName
                    return nil
                })
            } catch {
                throw IntentError.invalidTemplate(file: source, line: t.mark?.line, intent: name, template: text, problem: error.problem)
            }
        }
        return IntentDefinition(name: name, templates: templates, command: command, timeout: timeout, reply: reply, source: source)
    }
}

// MARK: - Phrases and vocabulary for biasing the recognizer

extension IntentSet {
    /// Up to `limit` example sentences the set accepts, spread over intents and templates
    /// (slots filled with a typical value), for prompting or constraining the speech recognizer.
    public func samplePhrases(limit: Int) -> [String] {
        guard limit > 0 else { return [] }
        var perTemplate: [[String]] = []
        let templateCount = max(1, intents.reduce(0) { $0 + $1.templates.count })
        let each = max(1, limit / templateCount + 1)
        for definition in intents {
            for template in definition.templates {
                perTemplate.append(template.expansions(limit: each, sample: Self.sampleValue))
            }
        }
        // Round-robin so every template contributes before any contributes twice.
        var out: [String] = []
        var seen = Set<String>()
        var round = 0
        while out.count < limit {
            var added = false
            for list in perTemplate where round < list.count {
                added = true
                if seen.insert(list[round]).inserted { out.append(list[round]) }
                if out.count == limit { break }
            }
            if !added { break }
            round += 1
        }
        return out
    }

    /// Every word the templates and value lists contain, sorted: the in-domain vocabulary.
    public var vocabulary: [String] {
        var words = Set<String>()
        for definition in intents {
            for template in definition.templates {
                words.formUnion(template.words)
                for list in template.arcs {
                    for arc in list {
                        if case let .slot(_, d) = arc.edge, case let .list(values) = d.type {
                            for v in values { for s in v.synonyms { words.formUnion(s) } }
                        }
                    }
                }
            }
        }
        return words.sorted()
    }

    static func sampleValue(_ d: SlotDefinition) -> String {
        switch d.type {
        case let .list(values): return values.first?.synonyms.first?.joined(separator: " ") ?? ""
        case .text: return "buy milk"
        case .integer, .decimal: return "five"
        case .duration: return "five minutes"
        case .timeOfDay: return "seven thirty"
        case .date: return "tomorrow"
        case .expression: return "twelve times fourteen"
        }
    }
}
