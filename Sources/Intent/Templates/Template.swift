/// A sentence template such as `(turn | switch) on [the] {room} lights`, compiled into a small
/// acyclic graph whose edges are words, slots or empty moves. Node ids grow along every edge, so
/// id order is a topological order and matching is one forward pass (see `TemplateMatcher`).
public struct Template: Sendable {
    /// The template as written.
    public let text: String
    /// Line in its file (nil for templates built in code).
    public let line: Int?

    enum Edge: Sendable, Equatable {
        case word(String)
        case slot(name: String, definition: SlotDefinition)
        case empty
    }
    struct Arc: Sendable { let edge: Edge; let to: Int }

    /// `arcs[node]` leaves `node`; node 0 starts, `accept` ends.
    let arcs: [[Arc]]
    let accept: Int

    /// Parse `text`. `resolveSlot(name, definitionName)` returns the definition of `{name}` or
    /// `{name:definitionName}`, or nil if there is none.
    public init(_ text: String, line: Int? = nil, resolveSlot: (String, String) -> SlotDefinition?) throws(TemplateSyntaxError) {
        self.text = text
        self.line = line
        var lexer = Lexer(chars: Array(text))
        let tree = try lexer.sequence(depth: 0)
        if lexer.i < lexer.chars.count { throw TemplateSyntaxError("unexpected '\(lexer.chars[lexer.i])' at column \(lexer.i + 1)") }
        var builder = GraphBuilder()
        let end = try builder.build(tree, from: 0, resolveSlot: resolveSlot)
        self.arcs = builder.arcs
        self.accept = end
        if Self.matchesEmpty(arcs: arcs, accept: end) { throw TemplateSyntaxError("the template can match an empty sentence") }
    }

    static func matchesEmpty(arcs: [[Arc]], accept: Int) -> Bool {
        var reach = [Bool](repeating: false, count: arcs.count)
        reach[0] = true
        for n in 0..<arcs.count where reach[n] {
            for a in arcs[n] where a.edge == .empty { reach[a.to] = true }
        }
        return reach[accept]
    }

    /// Slot names this template can fill.
    public var slotNames: Set<String> {
        var names = Set<String>()
        for list in arcs { for a in list { if case let .slot(name, _) = a.edge { names.insert(name) } } }
        return names
    }

    /// The slots this template can fill, by slot name.
    public var slotDefinitions: [String: SlotDefinition] {
        var out: [String: SlotDefinition] = [:]
        for list in arcs { for a in list { if case let .slot(name, d) = a.edge { out[name] = d } } }
        return out
    }

    /// Literal words of the template.
    public var words: Set<String> {
        var words = Set<String>()
        for list in arcs { for a in list { if case let .word(w) = a.edge { words.insert(w) } } }
        return words
    }

    /// Up to `limit` sentences this template accepts, slots filled with `sample(definition)`.
    func expansions(limit: Int, sample: (SlotDefinition) -> String) -> [String] {
        var out: [String] = []
        func walk(_ node: Int, _ words: [String]) {
            if out.count >= limit { return }
            if node == accept { out.append(words.joined(separator: " ")); return }
            for a in arcs[node] {
                switch a.edge {
                case let .word(w): walk(a.to, words + [w])
                case let .slot(_, d): walk(a.to, words + [sample(d)])
                case .empty: walk(a.to, words)
                }
            }
        }
        walk(0, [])
        return out
    }
}

/// Why a template does not parse.
public struct TemplateSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let problem: String
    init(_ problem: String) { self.problem = problem }
    public var description: String { problem }
}

/// Template syntax tree.
indirect enum TemplatePart {
    case words(String)
    case slot(name: String, definition: String)
    case alternatives([[TemplatePart]])
    case optional([[TemplatePart]])
}

struct Lexer {
    let chars: [Character]
    var i = 0
    static let maxDepth = 16

    mutating func skipSpace() { while i < chars.count, chars[i].isWhitespace { i += 1 } }

    /// Parts up to a closing bracket or '|' (not consumed).
    mutating func sequence(depth: Int) throws(TemplateSyntaxError) -> [TemplatePart] {
        guard depth < Self.maxDepth else { throw TemplateSyntaxError("brackets nested too deeply") }
        var parts: [TemplatePart] = []
        while true {
            skipSpace()
            guard i < chars.count else { return parts }
            let c = chars[i]
            switch c {
            case ")", "]", "|":
                return parts
            case "(", "[":
                let close: Character = c == "(" ? ")" : "]"
                i += 1
                var branches: [[TemplatePart]] = []
                while true {
                    branches.append(try sequence(depth: depth + 1))
                    guard i < chars.count else { throw TemplateSyntaxError("'\(c)' at column \(i) is never closed") }
                    if chars[i] == "|" { i += 1; continue }
                    guard chars[i] == close else { throw TemplateSyntaxError("expected '\(close)' at column \(i + 1), found '\(chars[i])'") }
                    i += 1
                    break
                }
                if c == "(" {
                    if branches.allSatisfy({ $0.isEmpty }) { throw TemplateSyntaxError("empty alternatives '()'") }
                    parts.append(.alternatives(branches))
                } else {
                    if branches.allSatisfy({ $0.isEmpty }) { throw TemplateSyntaxError("empty optional '[]'") }
                    parts.append(.optional(branches))
                }
            case "{":
                i += 1
                var body = ""
                while i < chars.count, chars[i] != "}" {
                    guard chars[i] != "{" else { throw TemplateSyntaxError("'{' inside a slot") }
                    body.append(chars[i]); i += 1
                }
                guard i < chars.count else { throw TemplateSyntaxError("slot '{\(body)' is never closed") }
                i += 1
                let pieces = body.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pieces.count <= 2, let name = pieces.first, !name.isEmpty,
                      name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw TemplateSyntaxError("bad slot '{\(body)}': write {name} or {name:slot_definition}")
                }
                let definition = pieces.count == 2 ? pieces[1] : name
                guard !definition.isEmpty else { throw TemplateSyntaxError("bad slot '{\(body)}': empty definition name") }
                parts.append(.slot(name: name, definition: definition))
            case "}":
                throw TemplateSyntaxError("'}' at column \(i + 1) without '{'")
            default:
                var word = ""
                while i < chars.count, !"()[]{}|".contains(chars[i]), !chars[i].isWhitespace { word.append(chars[i]); i += 1 }
                parts.append(.words(word))
            }
        }
    }
}

import Foundation

struct GraphBuilder {
    var arcs: [[Template.Arc]] = [[]]
    static let maxNodes = 4096
    let normalizer = Normalizer()

    mutating func newNode() throws(TemplateSyntaxError) -> Int {
        guard arcs.count < Self.maxNodes else { throw TemplateSyntaxError("template too large") }
        arcs.append([])
        return arcs.count - 1
    }

    mutating func build(_ parts: [TemplatePart], from start: Int, resolveSlot: (String, String) -> SlotDefinition?) throws(TemplateSyntaxError) -> Int {
        var current = start
        for part in parts {
            switch part {
            case let .words(raw):
                for w in normalizer.tokens(raw, removeFillers: false) {
                    let next = try newNode()
                    arcs[current].append(.init(edge: .word(w), to: next))
                    current = next
                }
            case let .slot(name, definitionName):
                guard let definition = resolveSlot(name, definitionName) else {
                    throw TemplateSyntaxError("unknown slot '\(definitionName)': declare it under slots: or use a built-in type (\(SlotDefinition.builtInTypes.keys.sorted().joined(separator: ", ")))")
                }
                let next = try newNode()
                arcs[current].append(.init(edge: .slot(name: name, definition: definition), to: next))
                current = next
            case let .alternatives(branches), let .optional(branches):
                var ends: [Int] = []
                for branch in branches { ends.append(try build(branch, from: current, resolveSlot: resolveSlot)) }
                let join = try newNode()
                for e in ends { arcs[e].append(.init(edge: .empty, to: join)) }
                if case .optional = part { arcs[current].append(.init(edge: .empty, to: join)) }
                current = join
            }
        }
        return current
    }
}
