import Foundation

/// A source of the current time, injectable so tests can move time by hand.
public protocol TimerClock: Sendable {
    var now: Date { get }
}

/// The wall clock.
public struct SystemClock: TimerClock {
    public init() {}
    public var now: Date { Date() }
}

/// A clock that only moves when told to (tests, simulations).
public final class ManualClock: TimerClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    public init(_ start: Date) { current = start }
    public var now: Date { lock.withLock { current } }
    public func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// A running timer or a set alarm.
public struct ActiveTimer: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case timer, alarm }
    public let id: Int
    public let kind: Kind
    /// The user's name for it ("pasta"), if given.
    public let name: String?
    /// When it goes off.
    public let deadline: Date
    /// Length of a timer in seconds (0 for alarms).
    public let duration: TimeInterval
}

/// Keeps timers and alarms. The background service owns one and calls `fireDue()` when
/// `nextDeadline()` passes (or polls it); skills only add, cancel and query.
///
/// ```swift
/// let center = TimerCenter(clock: SystemClock())
/// _ = await center.startTimer(duration: 300, name: "pasta")
/// // service loop: sleep until await center.nextDeadline(), then
/// for fired in await center.fireDue() { announce(fired) }
/// ```
public actor TimerCenter {
    let clock: any TimerClock
    private var active: [ActiveTimer] = []
    private var nextID = 1

    public init(clock: any TimerClock = SystemClock()) { self.clock = clock }

    /// Now, by this center's clock.
    public var now: Date { clock.now }

    /// Starts a timer of `duration` seconds.
    public func startTimer(duration: TimeInterval, name: String?) -> ActiveTimer {
        add(.timer, name: name, deadline: clock.now + duration, duration: duration)
    }

    /// Sets an alarm at `date`.
    public func setAlarm(at date: Date, name: String? = nil) -> ActiveTimer {
        add(.alarm, name: name, deadline: date, duration: 0)
    }

    private func add(_ kind: ActiveTimer.Kind, name: String?, deadline: Date, duration: TimeInterval) -> ActiveTimer {
        let t = ActiveTimer(id: nextID, kind: kind, name: name, deadline: deadline, duration: duration)
        nextID += 1
        active.append(t)
        active.sort { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
        return t
    }

    /// Timers or alarms, soonest first; `name` filters timers by name.
    public func list(_ kind: ActiveTimer.Kind, name: String? = nil) -> [ActiveTimer] {
        active.filter { $0.kind == kind && (name == nil || $0.name == name) }
    }

    /// Seconds left on a timer (negative never: fired timers are gone after `fireDue`).
    public func remaining(_ timer: ActiveTimer) -> TimeInterval { max(0, timer.deadline.timeIntervalSince(clock.now)) }

    /// Cancels matching entries and returns them. `where` selects which.
    @discardableResult
    public func cancel(_ kind: ActiveTimer.Kind, where matches: @Sendable (ActiveTimer) -> Bool = { _ in true }) -> [ActiveTimer] {
        let gone = active.filter { $0.kind == kind && matches($0) }
        active.removeAll { $0.kind == kind && matches($0) }
        return gone
    }

    /// Removes and returns everything whose deadline has passed, in deadline order.
    public func fireDue() -> [ActiveTimer] {
        let now = clock.now
        let due = active.filter { $0.deadline <= now }
        active.removeAll { $0.deadline <= now }
        return due
    }

    /// The next deadline, if anything is pending.
    public func nextDeadline() -> Date? { active.first?.deadline }
}

/// Timers and alarms: set, cancel, how long is left, list.
public struct TimerSkill: Skill {
    public init() {}
    public var intentNames: Set<String> { ["SetTimer", "CancelTimer", "TimerRemaining", "SetAlarm", "CancelAlarm", "ListAlarms"] }

    static let needsService = SkillReply.failure(
        "Timers and alarms need Hark's background service (hark serve, coming soon) to keep running; a one-shot command can't keep time.",
        error: "needs_service")

    func name(_ intent: ParsedIntent) -> String? {
        guard case let .text(n)? = intent.slots["name"]?.payload else { return nil }
        return n
    }

    public func handle(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply {
        guard let center = context.timers else { return Self.needsService }
        switch intent.name {
        case "SetTimer":
            guard let seconds = intent.slots["duration"]?.number, seconds > 0 else {
                return .failure("How long should the timer run?", error: "missing_duration")
            }
            let t = await center.startTimer(duration: seconds, name: name(intent))
            let label = t.name.map { "\($0.capitalizedFirst) timer" } ?? "Timer"
            return SkillReply("\(label) set for \(DurationParser.spoken(seconds)).",
                              data: ["id": String(t.id), "seconds": SlotValue.format(seconds)])
        case "CancelTimer":
            let n = name(intent)
            let gone = await center.cancel(.timer) { n == nil || $0.name == n }
            if gone.isEmpty { return .failure(n.map { "There is no \($0) timer." } ?? "There are no timers running.", error: "no_timer") }
            return SkillReply(gone.count == 1 ? "Timer cancelled." : "\(gone.count) timers cancelled.", data: ["cancelled": String(gone.count)])
        case "TimerRemaining":
            let timers = await center.list(.timer, name: name(intent))
            if timers.isEmpty { return .failure("There are no timers running.", error: "no_timer") }
            var parts: [String] = []
            var data: [String: String] = [:]
            for t in timers {
                let left = await center.remaining(t)
                parts.append("\(DurationParser.spoken(left)) left" + (t.name.map { " on the \($0) timer" } ?? ""))
                data["timer\(t.id)"] = SlotValue.format(left.rounded())
            }
            return SkillReply(parts.joined(separator: "; ").capitalizedFirst + ".", data: data)
        case "SetAlarm":
            guard case let .time(time)? = intent.slots["time"]?.payload else {
                return .failure("What time should the alarm go off?", error: "missing_time")
            }
            let now = await center.now
            var when = time.nextOccurrence(after: now, calendar: context.calendar)
            if case let .date(spec)? = intent.slots["date"]?.payload {
                let day = spec.resolve(from: now, calendar: context.calendar)
                var parts = context.calendar.dateComponents([.year, .month, .day], from: day)
                // With a date and no am/pm, 1...6 reads as afternoon ("tomorrow at 5"), 7...12 as morning.
                parts.hour = time.ambiguous && time.hour >= 1 && time.hour < 7 ? time.hour + 12 : time.hour
                parts.minute = time.minute
                when = context.calendar.date(from: parts) ?? when
            }
            let t = await center.setAlarm(at: when)
            let f = TimeDateSkill.formatter("EEEE 'at' h:mm a", context.calendar)
            return SkillReply("Alarm set for \(f.string(from: when)).", data: ["id": String(t.id), "at": ISO8601DateFormatter().string(from: when)])
        case "CancelAlarm":
            let time: TimeOfDay? = { if case let .time(t)? = intent.slots["time"]?.payload { return t }; return nil }()
            let cal = context.calendar
            let gone = await center.cancel(.alarm) { alarm in
                guard let time else { return true }
                let c = cal.dateComponents([.hour, .minute], from: alarm.deadline)
                return c.minute == time.minute && (c.hour == time.hour || (time.ambiguous && c.hour == time.hour + 12))
            }
            if gone.isEmpty { return .failure("There is no alarm to cancel.", error: "no_alarm") }
            return SkillReply(gone.count == 1 ? "Alarm cancelled." : "\(gone.count) alarms cancelled.", data: ["cancelled": String(gone.count)])
        default: // ListAlarms
            let alarms = await center.list(.alarm)
            if alarms.isEmpty { return SkillReply("You have no alarms set.", data: ["count": "0"]) }
            let f = TimeDateSkill.formatter("EEEE 'at' h:mm a", context.calendar)
            return SkillReply("Alarms: " + alarms.map { f.string(from: $0.deadline) }.joined(separator: ", ") + ".", data: ["count": String(alarms.count)])
        }
    }
}
