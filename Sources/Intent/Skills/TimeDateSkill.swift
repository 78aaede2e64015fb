import Foundation

/// "What time is it", "what's the date", "what day is next friday".
public struct TimeDateSkill: Skill {
    public init() {}
    public var intentNames: Set<String> { ["GetTime", "GetDate"] }

    static func formatter(_ format: String, _ calendar: Calendar) -> DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.calendar = calendar
        f.timeZone = calendar.timeZone
        f.dateFormat = format
        return f
    }

    public func handle(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply {
        let now = context.now()
        let cal = context.calendar
        if intent.name == "GetTime" {
            let text = Self.formatter("h:mm a", cal).string(from: now)
            return SkillReply("It's \(text).", data: ["time": Self.formatter("HH:mm", cal).string(from: now)])
        }
        let day: Date
        var subject = "Today"
        if case let .date(spec)? = intent.slots["date"]?.payload {
            day = spec.resolve(from: now, calendar: cal)
            subject = (intent.slots["date"]?.text ?? "").replacingOccurrences(of: "on ", with: "").capitalizedFirst
            if spec == .relativeDays(0) { subject = "Today" }
        } else {
            day = now
        }
        let spoken = Self.formatter("EEEE, MMMM d, yyyy", cal).string(from: day)
        let verb = day < cal.startOfDay(for: now) ? "was" : "is"
        return SkillReply("\(subject) \(verb) \(spoken).", data: ["date": Self.formatter("yyyy-MM-dd", cal).string(from: day)])
    }
}

/// "What's twelve times fourteen", "square root of 81", "15 percent of 80".
public struct CalculatorSkill: Skill {
    public init() {}
    public var intentNames: Set<String> { ["Calculate"] }

    public func handle(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply {
        guard let slot = intent.slots["expression"], let value = slot.number else {
            return .failure("I didn't catch the calculation.", error: "no_expression")
        }
        if value.isInfinite { return .failure("I can't divide by zero.", error: "division_by_zero") }
        if value.isNaN { return .failure("That has no real answer.", error: "not_a_number") }
        let result = Self.format(value)
        return SkillReply("\(slot.text.capitalizedFirst) is \(result).", data: ["result": result])
    }

    /// Up to 6 decimals, no trailing zeros: 168, 0.333333, 12.5.
    static func format(_ x: Double) -> String {
        if abs(x) >= 1e15 { return String(format: "%.6g", x) }
        let rounded = (x * 1e6).rounded() / 1e6
        return SlotValue.format(rounded == 0 ? 0 : rounded)
    }
}
