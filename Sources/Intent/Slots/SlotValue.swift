import Foundation

/// A time of day as spoken: "half past seven" is 07:30, ambiguous about morning or evening.
public struct TimeOfDay: Sendable, Codable, Equatable, Hashable {
    public var hour: Int
    public var minute: Int
    /// True when the speaker gave no am/pm and the hour is 1...12 ("seven thirty").
    public var ambiguous: Bool
    public init(hour: Int, minute: Int, ambiguous: Bool = false) {
        self.hour = hour; self.minute = minute; self.ambiguous = ambiguous
    }
    /// "07:30" (24-hour).
    public var canonical: String { String(format: "%02d:%02d", hour, minute) }
    /// "7:30 AM" for replies.
    public var spoken: String {
        if ambiguous { return minute == 0 ? "\(hour)" + ":00" : "\(hour):" + String(format: "%02d", minute) }
        let h12 = hour % 12 == 0 ? 12 : hour % 12
        return "\(h12):" + String(format: "%02d", minute) + (hour < 12 ? " AM" : " PM")
    }

    /// The next moment after `now` showing this time (for ambiguous hours, the earlier of the
    /// morning and evening readings).
    public func nextOccurrence(after now: Date, calendar: Calendar) -> Date {
        var candidates = [hour]
        if ambiguous && hour < 12 { candidates.append(hour + 12) }
        if ambiguous && hour == 12 { candidates = [12, 0] }
        return candidates.compactMap { h -> Date? in
            var parts = calendar.dateComponents([.year, .month, .day], from: now)
            parts.hour = h; parts.minute = minute; parts.second = 0
            guard let today = calendar.date(from: parts) else { return nil }
            return today > now ? today : calendar.date(byAdding: .day, value: 1, to: today)
        }.min() ?? now
    }
}

/// A spoken date, kept symbolic until a skill resolves it against the clock.
public enum DateSpec: Sendable, Equatable, Hashable {
    /// today (0), tomorrow (1), yesterday (-1), "in 3 days" (3).
    case relativeDays(Int)
    /// A weekday, 1 = Sunday ... 7 = Saturday (Calendar numbering); `next` for "next friday".
    case weekday(Int, next: Bool)
    /// "march 3rd", optionally with a year.
    case monthDay(month: Int, day: Int, year: Int?)

    static let weekdayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    /// "day+1", "friday", "next friday", "03-03", "2027-03-03".
    public var canonical: String {
        switch self {
        case let .relativeDays(n): return n >= 0 ? "day+\(n)" : "day\(n)"
        case let .weekday(w, next): return (next ? "next " : "") + Self.weekdayNames[w - 1]
        case let .monthDay(m, d, y):
            return (y.map { String(format: "%04d-", $0) } ?? "") + String(format: "%02d-%02d", m, d)
        }
    }

    init?(canonical: String) {
        if canonical.hasPrefix("day"), let n = Int(canonical.dropFirst(3).replacingOccurrences(of: "+", with: "")) {
            self = .relativeDays(n); return
        }
        let next = canonical.hasPrefix("next ")
        let name = next ? String(canonical.dropFirst(5)) : canonical
        if let i = Self.weekdayNames.firstIndex(of: name) { self = .weekday(i + 1, next: next); return }
        let parts = canonical.split(separator: "-").compactMap { Int($0) }
        if parts.count == 2 { self = .monthDay(month: parts[0], day: parts[1], year: nil); return }
        if parts.count == 3 { self = .monthDay(month: parts[1], day: parts[2], year: parts[0]); return }
        return nil
    }

    /// The calendar day this names, seen from `now` (start of that day).
    public func resolve(from now: Date, calendar: Calendar) -> Date {
        let today = calendar.startOfDay(for: now)
        switch self {
        case let .relativeDays(n):
            return calendar.date(byAdding: .day, value: n, to: today) ?? today
        case let .weekday(w, next):
            let current = calendar.component(.weekday, from: today)
            var delta = (w - current + 7) % 7
            if next && delta == 0 { delta = 7 }
            return calendar.date(byAdding: .day, value: delta, to: today) ?? today
        case let .monthDay(m, d, y):
            var parts = DateComponents()
            parts.year = y ?? calendar.component(.year, from: today); parts.month = m; parts.day = d
            guard var date = calendar.date(from: parts) else { return today }
            if y == nil && date < today, let later = calendar.date(byAdding: .year, value: 1, to: date) { date = later }
            return date
        }
    }
}

/// The typed value of one slot together with the words it was read from.
public enum SlotPayload: Sendable, Equatable {
    /// A value-list entry (canonical name) or free text (the words).
    case text(String)
    case number(Double)
    /// Seconds.
    case duration(Double)
    case time(TimeOfDay)
    case date(DateSpec)
    /// An arithmetic expression and its value ("twelve times fourteen" = 168).
    case expression(Double)
}

/// One filled slot: its typed value and the words of the utterance it came from.
public struct SlotValue: Sendable, Equatable, Codable {
    public var payload: SlotPayload
    /// The normalised words the slot matched.
    public var text: String

    public init(_ payload: SlotPayload, text: String) { self.payload = payload; self.text = text }

    /// The value as a string for comparisons and logs: "168", "300" (seconds), "07:30", "day+1".
    public var canonical: String {
        switch payload {
        case let .text(s): return s
        case let .number(x), let .duration(x), let .expression(x): return Self.format(x)
        case let .time(t): return t.canonical
        case let .date(d): return d.canonical
        }
    }

    public var kind: String {
        switch payload {
        case .text: return "text"
        case .number: return "number"
        case .duration: return "duration"
        case .time: return "time"
        case .date: return "date"
        case .expression: return "expression"
        }
    }

    /// Numbers without a trailing ".0" and without float noise.
    public static func format(_ x: Double) -> String {
        if x.isNaN || x.isInfinite { return String(x) }
        if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
        var s = String(format: "%.6f", x)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    public var number: Double? {
        switch payload {
        case let .number(x), let .duration(x), let .expression(x): return x
        default: return nil
        }
    }

    enum CodingKeys: String, CodingKey { case kind, value, text }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        if let x = number { try c.encode(x, forKey: .value) } else { try c.encode(canonical, forKey: .value) }
        try c.encode(text, forKey: .text)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        text = try c.decode(String.self, forKey: .text)
        switch kind {
        case "number": payload = .number(try c.decode(Double.self, forKey: .value))
        case "duration": payload = .duration(try c.decode(Double.self, forKey: .value))
        case "expression": payload = .expression(try c.decode(Double.self, forKey: .value))
        case "time":
            let s = try c.decode(String.self, forKey: .value)
            let p = s.split(separator: ":").compactMap { Int($0) }
            guard p.count == 2 else { throw DecodingError.dataCorruptedError(forKey: .value, in: c, debugDescription: "time \(s)") }
            payload = .time(TimeOfDay(hour: p[0], minute: p[1]))
        case "date":
            let s = try c.decode(String.self, forKey: .value)
            guard let d = DateSpec(canonical: s) else { throw DecodingError.dataCorruptedError(forKey: .value, in: c, debugDescription: "date \(s)") }
            payload = .date(d)
        default: payload = .text(try c.decode(String.self, forKey: .value))
        }
    }
}
