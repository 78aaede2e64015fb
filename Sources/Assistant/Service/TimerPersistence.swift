import Foundation
import Intent

/// Pending timers and alarms on disk, so they survive a restart: `timers.json` in the state
/// folder, replaced atomically (written to a temporary file in the same folder, then renamed over
/// the old one), so a crash mid-write leaves the previous complete file, never half of one.
///
/// Format: `{"version": 1, "timers": [{"id", "kind", "name", "deadline", "duration"}]}` with
/// `deadline` in seconds since 1970.
public struct TimerStore: Sendable {
    public let url: URL

    public init(directory: String) {
        url = URL(fileURLWithPath: directory).appendingPathComponent("timers.json")
    }

    private struct File: Codable {
        var version = 1
        var timers: [SavedTimer]
    }

    /// Replaces the file with `timers` (write temp + rename).
    public func save(_ timers: [SavedTimer]) throws {
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .secondsSince1970
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(File(timers: timers))
            let temporary = folder.appendingPathComponent(".timers.json.\(getpid()).tmp")
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                let code = errno
                try? FileManager.default.removeItem(at: temporary)
                throw AssistantError.timerState(path: url.path, problem: "rename failed: \(String(cString: strerror(code)))")
            }
        } catch let error as AssistantError {
            throw error
        } catch {
            throw AssistantError.timerState(path: url.path, problem: "cannot write: \(error.localizedDescription)")
        }
    }

    /// The saved timers; none when there is no file yet.
    public func load() throws -> [SavedTimer] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .secondsSince1970
            let file = try decoder.decode(File.self, from: Data(contentsOf: url))
            guard file.version == 1 else {
                throw AssistantError.timerState(path: url.path, problem: "unknown version \(file.version) (this hark reads version 1)")
            }
            return file.timers
        } catch let error as AssistantError {
            throw error
        } catch {
            throw AssistantError.timerState(path: url.path, problem: "not a timers file hark wrote (\(error))")
        }
    }
}

/// A pending timer or alarm as saved: when it goes off, and the length it was set for.
public struct SavedTimer: Sendable, Codable, Equatable {
    public var id: Int
    public var kind: ActiveTimer.Kind
    public var name: String?
    public var deadline: Date
    /// Seconds the timer was set for (0 for alarms); kept across restarts for the alert's text.
    public var duration: TimeInterval

    public init(id: Int, kind: ActiveTimer.Kind, name: String?, deadline: Date, duration: TimeInterval) {
        self.id = id
        self.kind = kind
        self.name = name
        self.deadline = deadline
        self.duration = duration
    }

    public init(_ timer: ActiveTimer, duration: TimeInterval? = nil) {
        self.init(id: timer.id, kind: timer.kind, name: timer.name, deadline: timer.deadline, duration: duration ?? timer.duration)
    }
}

/// A timer or alarm that went off, as the service announces it.
public struct RungTimer: Sendable, Equatable {
    public var timer: ActiveTimer
    /// Seconds after its deadline it rang (large when it ran out while the service was stopped).
    public var lateBy: TimeInterval
    /// The length the timer was set for (a restored timer's own `duration` is what was left).
    public var duration: TimeInterval

    /// Rung this late or later, it ran out while the service was not running.
    public static let lateThreshold: TimeInterval = 5
    public var isLate: Bool { lateBy >= Self.lateThreshold }

    /// What Hark says: the pipeline's alert ("Your pasta timer is done."), and for a late one
    /// that it ran out while Hark was not running.
    public var announcement: String {
        let alert = timer.kind == .timer && timer.name == nil
            ? "Your timer for \(DurationParser.spoken(duration)) is done." : TimerAlarms.alert(for: timer)
        return isLate ? alert + " It ran out while Hark was not running." : alert
    }

    /// The pipeline's `timer` event (`fired: true`) with the alert text and lateness added.
    public var event: [String: any Sendable] {
        var event: [String: any Sendable] = ["event": "timer", "id": timer.id, "kind": timer.kind.rawValue, "fired": true,
                                             "text": announcement, "late": isLate,
                                             "late_seconds": (lateBy * 1000).rounded() / 1000]
        if let name = timer.name { event["name"] = name }
        return event
    }
}

/// Owns the service's `TimerCenter` together with its file: restores it at start, saves it
/// whenever what is pending changes (checked after every command and on every tick of the
/// service's timer loop), and hands out what has come due.
///
/// Restored entries keep their deadline (and name). Entries whose deadline passed while the
/// service was stopped ring at once on the first tick, marked late ("It ran out while Hark was
/// not running."): a missed alarm is still worth hearing about.
public actor TimerKeeper {
    nonisolated public let center: TimerCenter
    nonisolated public let store: TimerStore
    private var saved: [SavedTimer] = []
    /// Set lengths of restored timers, by their id in the center.
    private var setLengths: [Int: TimeInterval] = [:]

    public init(center: TimerCenter, store: TimerStore) {
        self.center = center
        self.store = store
    }

    /// Loads the file into the center; returns how many entries came back. Call once, at start.
    @discardableResult
    public func restore() async throws -> Int {
        let entries = try store.load()
        let now = await center.now
        for entry in entries {
            switch entry.kind {
            case .timer:
                let timer = await center.startTimer(duration: entry.deadline.timeIntervalSince(now), name: entry.name)
                setLengths[timer.id] = entry.duration
            case .alarm: _ = await center.setAlarm(at: entry.deadline, name: entry.name)
            }
        }
        saved = []
        try await saveIfChanged()
        return entries.count
    }

    /// Everything pending, soonest first.
    public func pending() async -> [SavedTimer] {
        let all = await center.list(.timer) + center.list(.alarm)
        return all.sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
            .map { SavedTimer($0, duration: setLengths[$0.id]) }
    }

    /// Writes the file when the pending set differs from what was last written.
    public func saveIfChanged() async throws {
        let now = await pending()
        guard now != saved else { return }
        try store.save(now)
        saved = now
    }

    /// Removes and returns what has come due (then saves).
    public func ringDue() async throws -> [RungTimer] {
        let now = await center.now
        let due = await center.fireDue()
        try await saveIfChanged()
        return due.map { timer in
            RungTimer(timer: timer, lateBy: max(0, now.timeIntervalSince(timer.deadline)),
                      duration: setLengths.removeValue(forKey: timer.id) ?? timer.duration)
        }
    }
}
