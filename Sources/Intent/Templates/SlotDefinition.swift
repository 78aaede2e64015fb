/// What a slot accepts. Declared under `slots:` in an intent file, or implied by a built-in type
/// name (`{duration}`, `{number}`, `{time}`, `{date}`, `{message}`, `{expression}`).
public enum SlotType: Sendable, Equatable {
    /// A closed list of values, each with synonyms: `kitchen: [kitchen, cooking area]`.
    case list([ListValue])
    /// Free text, optionally limited in words ("remind me to {message}").
    case text(maxWords: Int?)
    /// A whole number in words or digits, optionally within a range.
    case integer(ClosedRange<Double>?)
    /// Any number ("two and a half", "3.5"), optionally within a range.
    case decimal(ClosedRange<Double>?)
    case duration
    case timeOfDay
    case date
    /// Spoken arithmetic ("twelve times fourteen"), evaluated by `ExpressionParser`.
    case expression
}

/// One entry of a value list: the canonical value and the word sequences that name it.
public struct ListValue: Sendable, Equatable {
    public var value: String
    public var synonyms: [[String]]
    public init(value: String, synonyms: [[String]]) { self.value = value; self.synonyms = synonyms }
}

/// A named slot kind; `key` is unique within an `IntentSet` and keys the per-utterance cache.
public struct SlotDefinition: Sendable, Equatable {
    public var key: String
    public var type: SlotType
    public init(key: String, type: SlotType) { self.key = key; self.type = type }

    /// Types usable without a declaration, by name.
    public static let builtInTypes: [String: SlotType] = [
        "number": .decimal(nil), "decimal": .decimal(nil), "integer": .integer(nil),
        "duration": .duration, "time": .timeOfDay, "date": .date,
        "text": .text(maxWords: nil), "message": .text(maxWords: nil), "expression": .expression,
    ]

    /// Longest span of words this slot can take.
    var maxWords: Int {
        switch type {
        case let .list(values): return (values.flatMap { $0.synonyms.map(\.count) }.max() ?? 1) + 1
        case let .text(limit): return limit ?? 40
        case .integer, .decimal: return 8
        case .duration: return 12
        case .timeOfDay: return 8
        case .date: return 7
        case .expression: return 40
        }
    }
}
