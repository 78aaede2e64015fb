import Foundation

/// One labelled utterance of an evaluation manifest.
public struct LabelledUtterance: Sendable, Equatable {
    /// 1-based line in the manifest.
    public var line: Int
    /// The text, or nil for audio rows (`file` column) that need the speech recognizer.
    public var text: String?
    public var audioFile: String?
    /// Expected intent name, or nil for "NONE" (must be rejected).
    public var intent: String?
    /// Expected slot values: numbers as Double, everything else as String.
    public var slots: [String: ExpectedSlot]
}

/// An expected slot value from the manifest's JSON.
public enum ExpectedSlot: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case text(String)
    public var description: String {
        switch self {
        case let .number(x): return SlotValue.format(x)
        case let .text(s): return s
        }
    }
    /// Whether `actual` has this value (numbers within 1e-6 relative; text ignoring case).
    public func matches(_ actual: SlotValue) -> Bool {
        switch self {
        case let .number(x):
            guard let y = actual.number ?? Double(actual.canonical) else { return false }
            return abs(x - y) <= 1e-6 * max(1, abs(x))
        case let .text(s):
            return s.lowercased() == actual.canonical.lowercased()
        }
    }
}

/// Reads `text|file <TAB> intent <TAB> slots` manifests and scores a recognizer on them.
public enum IntentEvaluation {
    /// Parses a manifest. The first non-comment line is the header; it must name `intent` and
    /// `text` or `file`; `slots` is optional. `NONE` (or empty) as intent means "must be rejected".
    public static func parseManifest(_ content: String, path: String) throws -> [LabelledUtterance] {
        var rows: [LabelledUtterance] = []
        var header: [String]? = nil
        for (index, rawLine) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let columns = header else {
                header = cells.map { $0.lowercased() }
                guard header!.contains("intent"), header!.contains("text") || header!.contains("file") else {
                    throw IntentError.manifest(path: path, line: lineNumber, problem: "header must name columns 'intent' and 'text' or 'file' (tab-separated), found \(cells)")
                }
                continue
            }
            guard cells.count <= columns.count else {
                throw IntentError.manifest(path: path, line: lineNumber, problem: "\(cells.count) columns but the header has \(columns.count)")
            }
            func cell(_ name: String) -> String? {
                guard let i = columns.firstIndex(of: name), i < cells.count, !cells[i].isEmpty else { return nil }
                return cells[i]
            }
            let intent = cell("intent")
            var slots: [String: ExpectedSlot] = [:]
            if let json = cell("slots") {
                guard let data = json.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw IntentError.manifest(path: path, line: lineNumber, problem: "slots must be a JSON object, found \(json)")
                }
                for (key, value) in object {
                    if let n = value as? NSNumber { slots[key] = .number(n.doubleValue) }
                    else if let s = value as? String { slots[key] = .text(s) }
                    else { throw IntentError.manifest(path: path, line: lineNumber, problem: "slot \(key) must be a number or a string") }
                }
            }
            let text = cell("text"), file = cell("file")
            guard text != nil || file != nil else {
                throw IntentError.manifest(path: path, line: lineNumber, problem: "row has neither text nor file")
            }
            rows.append(LabelledUtterance(line: lineNumber, text: text, audioFile: file,
                                          intent: intent == nil || intent == "NONE" ? nil : intent, slots: slots))
        }
        guard header != nil else { throw IntentError.manifest(path: path, line: 1, problem: "empty manifest") }
        return rows
    }

    /// One scored row.
    public struct Outcome: Sendable, Codable {
        public var line: Int
        public var text: String
        public var expectedIntent: String?
        public var predictedIntent: String?
        /// Confidence of the best candidate, accepted or not.
        public var confidence: Double?
        /// The best candidate's intent when it was rejected.
        public var rejectedCandidate: String?
        public var intentCorrect: Bool
        public var exact: Bool
        /// Slot differences, e.g. "duration: expected 300, got 240".
        public var problems: [String]
    }

    /// Scores for a manifest.
    public struct Report: Sendable, Codable {
        public var total: Int
        public var intentCorrect: Int
        public var exactCorrect: Int
        public var inDomain: Int
        public var inDomainExact: Int
        public var outOfDomain: Int
        public var outOfDomainAccepted: Int
        /// Audio rows that could not be scored (no speech recognizer wired in here yet).
        public var skippedAudio: [Int]
        public var misses: [Outcome]

        public var intentAccuracy: Double { total == 0 ? 0 : Double(intentCorrect) / Double(total) }
        public var exactAccuracy: Double { total == 0 ? 0 : Double(exactCorrect) / Double(total) }
        public var inDomainExactAccuracy: Double { inDomain == 0 ? 0 : Double(inDomainExact) / Double(inDomain) }
        public var outOfDomainAcceptRate: Double { outOfDomain == 0 ? 0 : Double(outOfDomainAccepted) / Double(outOfDomain) }
    }

    /// Runs `recognizer` over the text rows.
    public static func evaluate(_ rows: [LabelledUtterance], recognizer: IntentRecognizer) -> Report {
        var report = Report(total: 0, intentCorrect: 0, exactCorrect: 0, inDomain: 0, inDomainExact: 0,
                            outOfDomain: 0, outOfDomainAccepted: 0, skippedAudio: [], misses: [])
        for row in rows {
            guard let text = row.text else { report.skippedAudio.append(row.line); continue }
            let result = recognizer.recognize(text)
            let predicted = result.intent
            report.total += 1
            let intentCorrect = predicted?.name == row.intent
            var problems: [String] = []
            if intentCorrect, let predicted {
                for (name, expected) in row.slots.sorted(by: { $0.key < $1.key }) {
                    guard let actual = predicted.slots[name] else { problems.append("\(name): expected \(expected), missing"); continue }
                    if !expected.matches(actual) { problems.append("\(name): expected \(expected), got \(actual.canonical)") }
                }
                for name in predicted.slots.keys.sorted() where row.slots[name] == nil {
                    problems.append("\(name): unexpected \(predicted.slots[name]!.canonical)")
                }
            }
            let exact = intentCorrect && problems.isEmpty
            if intentCorrect { report.intentCorrect += 1 }
            if exact { report.exactCorrect += 1 }
            if row.intent == nil {
                report.outOfDomain += 1
                if predicted != nil { report.outOfDomainAccepted += 1 }
            } else {
                report.inDomain += 1
                if exact { report.inDomainExact += 1 }
            }
            if !exact {
                report.misses.append(Outcome(line: row.line, text: text, expectedIntent: row.intent, predictedIntent: predicted?.name,
                                             confidence: result.best?.confidence,
                                             rejectedCandidate: predicted == nil ? result.best?.name : nil, intentCorrect: intentCorrect, exact: exact, problems: problems))
            }
        }
        return report
    }
}
