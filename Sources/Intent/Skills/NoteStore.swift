import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file's contents so that a crash at any moment leaves either the old or the new
/// contents, never a torn file: write a temporary file in the same folder, fsync it, rename it
/// over the target (atomic on POSIX file systems), then fsync the folder so the rename persists.
public enum AtomicFile {
    /// Writes `data` to `url` atomically. `beforeRename` runs after the temporary file is durable
    /// and before the rename: tests use it to simulate a crash at the worst moment.
    public static func write(_ data: Data, to url: URL, beforeRename: () throws -> Void = {}) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temp.path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw error("open", temp) }
        var ok = false
        defer { if !ok { unlink(temp.path) } }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 { if errno == EINTR { continue }; throw error("write", temp) }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw error("fsync", temp) }
        }
        try beforeRename()
        guard rename(temp.path, url.path) == 0 else { throw error("rename", url) }
        ok = true
        let dirfd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 { _ = fsync(dirfd); close(dirfd) }
    }

    static func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(fd, p, n)
        #else
        return Darwin.write(fd, p, n)
        #endif
    }

    static func error(_ call: String, _ url: URL) -> IntentError {
        .notesFile(path: url.path, reason: "\(call): \(String(cString: strerror(errno)))")
    }
}

/// A note or a reminder as stored.
public struct NoteEntry: Sendable, Codable, Equatable {
    public var id: Int
    public var text: String
    public var created: Date
    /// When a reminder is due (nil for notes and for reminders without a time).
    public var due: Date?
}

/// The notes file's contents.
public struct NotesFile: Sendable, Codable, Equatable {
    public var notes: [NoteEntry] = []
    public var reminders: [NoteEntry] = []
    public var nextID = 1
    public init() {}
}

/// Notes and reminders in one JSON file under the user's data folder
/// (`$XDG_DATA_HOME/hark/notes.json`, default `~/.local/share/hark/notes.json`), replaced
/// atomically on every change.
public struct NoteStore: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> NoteStore {
        let base = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share")
        return NoteStore(url: base.appendingPathComponent("hark/notes.json"))
    }

    /// The stored notes (empty if the file does not exist yet).
    public func load() throws -> NotesFile {
        guard FileManager.default.fileExists(atPath: url.path) else { return NotesFile() }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw IntentError.notesFile(path: url.path, reason: "cannot read: \(error.localizedDescription)") }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(NotesFile.self, from: data)
        } catch {
            throw IntentError.notesFile(path: url.path, reason: "not a valid notes file (\(error)); fix or move it")
        }
    }

    /// Loads, applies `change`, writes back atomically; returns what `change` returned.
    @discardableResult
    public func update<T>(beforeRename: () throws -> Void = {}, _ change: (inout NotesFile) -> T) throws -> T {
        var file = try load()
        let result = change(&file)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(file), to: url, beforeRename: beforeRename)
        return result
    }

    /// Adds a note and returns it.
    @discardableResult
    public func addNote(_ text: String, at date: Date, beforeRename: () throws -> Void = {}) throws -> NoteEntry {
        try update(beforeRename: beforeRename) { file in
            let entry = NoteEntry(id: file.nextID, text: text, created: date, due: nil)
            file.nextID += 1
            file.notes.append(entry)
            return entry
        }
    }

    /// Adds a reminder and returns it.
    @discardableResult
    public func addReminder(_ text: String, due: Date?, at date: Date) throws -> NoteEntry {
        try update { file in
            let entry = NoteEntry(id: file.nextID, text: text, created: date, due: due)
            file.nextID += 1
            file.reminders.append(entry)
            return entry
        }
    }
}

/// Notes and reminders: add, read back, delete.
public struct NotesSkill: Skill {
    public init() {}
    public var intentNames: Set<String> { ["AddNote", "ListNotes", "DeleteNotes", "AddReminder", "ListReminders", "DeleteReminders"] }

    public func handle(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply {
        do {
            return try run(intent, context: context)
        } catch {
            return .failure("I couldn't use your notes file: \(error)", error: "notes_file")
        }
    }

    func run(_ intent: ParsedIntent, context: SkillContext) throws -> SkillReply {
        let store = context.notes
        let now = context.now()
        let message: String? = { if case let .text(m)? = intent.slots["message"]?.payload { return m }; return nil }()
        switch intent.name {
        case "AddNote":
            guard let message else { return .failure("What should the note say?", error: "missing_message") }
            let entry = try store.addNote(message, at: now)
            return SkillReply("Noted: \(message).", data: ["id": String(entry.id)])
        case "ListNotes":
            let notes = try store.load().notes
            if notes.isEmpty { return SkillReply("You have no notes.", data: ["count": "0"]) }
            return SkillReply("You have \(notes.count) note\(notes.count == 1 ? "" : "s"): " + notes.map(\.text).joined(separator: "; ") + ".",
                              data: ["count": String(notes.count)])
        case "DeleteNotes":
            let n = try store.update { file -> Int in let n = file.notes.count; file.notes = []; return n }
            return SkillReply(n == 0 ? "You had no notes." : "Deleted \(n) note\(n == 1 ? "" : "s").", data: ["deleted": String(n)])
        case "AddReminder":
            guard let message else { return .failure("What should I remind you of?", error: "missing_message") }
            let due = dueDate(intent, now: now, calendar: context.calendar)
            let entry = try store.addReminder(message, due: due, at: now)
            var text = "I'll remind you to \(message)"
            if let due { text += ", " + TimeDateSkill.formatter("EEEE 'at' h:mm a", context.calendar).string(from: due) }
            var data = ["id": String(entry.id)]
            if let due { data["due"] = ISO8601DateFormatter().string(from: due) }
            return SkillReply(text + ".", data: data)
        case "ListReminders":
            let reminders = try store.load().reminders
            if reminders.isEmpty { return SkillReply("You have no reminders.", data: ["count": "0"]) }
            let f = TimeDateSkill.formatter("EEEE 'at' h:mm a", context.calendar)
            let items = reminders.map { r in r.text + (r.due.map { " (\(f.string(from: $0)))" } ?? "") }
            return SkillReply("You have \(reminders.count) reminder\(reminders.count == 1 ? "" : "s"): " + items.joined(separator: "; ") + ".",
                              data: ["count": String(reminders.count)])
        default: // DeleteReminders
            let n = try store.update { file -> Int in let n = file.reminders.count; file.reminders = []; return n }
            return SkillReply(n == 0 ? "You had no reminders." : "Deleted \(n) reminder\(n == 1 ? "" : "s").", data: ["deleted": String(n)])
        }
    }

    /// When a reminder is due from its date, time or duration slots (nil if none given).
    func dueDate(_ intent: ParsedIntent, now: Date, calendar: Calendar) -> Date? {
        if let seconds = intent.slots["duration"]?.number { return now + seconds }
        let time: TimeOfDay? = { if case let .time(t)? = intent.slots["time"]?.payload { return t }; return nil }()
        let date: DateSpec? = { if case let .date(d)? = intent.slots["date"]?.payload { return d }; return nil }()
        if date == nil, let time { return time.nextOccurrence(after: now, calendar: calendar) }
        guard let date else { return nil }
        let day = date.resolve(from: now, calendar: calendar)
        var parts = calendar.dateComponents([.year, .month, .day], from: day)
        let t = time ?? TimeOfDay(hour: 9, minute: 0)
        parts.hour = t.ambiguous && t.hour >= 1 && t.hour < 7 ? t.hour + 12 : t.hour
        parts.minute = t.minute
        return calendar.date(from: parts)
    }
}
