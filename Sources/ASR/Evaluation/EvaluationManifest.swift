import Foundation

/// An evaluation manifest: a tab-separated file with a header row naming at least the columns
/// `file` (audio path, relative to the manifest's folder unless absolute) and `transcript`
/// (reference text, empty for non-speech); an optional `category` column; other columns are
/// ignored. No quoting; blank lines are skipped. `../shared/corpus/manifest.tsv` is one.
public struct EvaluationManifest: Sendable {
    /// One row of the manifest.
    public struct Entry: Sendable, Equatable, Codable {
        /// The `file` field as written.
        public let path: String
        /// The audio file, resolved against the manifest's folder.
        public let url: URL
        /// The reference transcript (may be empty: non-speech).
        public let transcript: String
        /// The `category` field, nil if the manifest has no such column.
        public let category: String?
        /// 1-based line number in the manifest.
        public let line: Int

        public init(path: String, url: URL, transcript: String, category: String?, line: Int) {
            self.path = path
            self.url = url
            self.transcript = transcript
            self.category = category
            self.line = line
        }
    }

    /// Where the manifest was read from.
    public let url: URL
    public let entries: [Entry]

    /// Reads and parses the manifest at `url`.
    /// - Throws: `ASRError.fileUnreadable`, `.manifestMissingColumn`, `.manifestBadRow`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ASRError.fileUnreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ASRError.fileUnreadable(path: url.path, reason: "not valid UTF-8 text")
        }
        try self.init(text: text, url: url)
    }

    /// Parses manifest `text`; relative paths resolve against `url`'s folder.
    public init(text: String, url: URL) throws {
        self.url = url
        let base = url.deletingLastPathComponent()
        // Split on scalars: "\r\n" is one Character, so String-level splitting would miss it.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var view = String.UnicodeScalarView(line)
            if view.last == "\r" { view.removeLast() }
            return String(view)
        }
        if text.hasPrefix("\u{FEFF}"), !lines.isEmpty { lines[0].removeFirst() }
        guard let headerIndex = lines.firstIndex(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
            throw ASRError.manifestMissingColumn(path: url.path, column: "file", found: [])
        }
        let header = lines[headerIndex].components(separatedBy: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let fileColumn = header.firstIndex(of: "file") else {
            throw ASRError.manifestMissingColumn(path: url.path, column: "file", found: header)
        }
        guard let transcriptColumn = header.firstIndex(of: "transcript") else {
            throw ASRError.manifestMissingColumn(path: url.path, column: "transcript", found: header)
        }
        let categoryColumn = header.firstIndex(of: "category")
        var entries: [Entry] = []
        for index in (headerIndex + 1)..<lines.count {
            let line = lines[index]
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = line.components(separatedBy: "\t")
            let needed = max(fileColumn, transcriptColumn) + 1
            guard fields.count >= needed else {
                throw ASRError.manifestBadRow(path: url.path, line: index + 1,
                    reason: "\(fields.count) tab-separated field(s), the header needs at least \(needed) (file and transcript)")
            }
            let path = fields[fileColumn].trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else {
                throw ASRError.manifestBadRow(path: url.path, line: index + 1, reason: "empty 'file' field")
            }
            let file = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
            let category = categoryColumn.map { $0 < fields.count ? fields[$0].trimmingCharacters(in: .whitespaces) : "" }
            entries.append(Entry(path: path, url: file, transcript: fields[transcriptColumn], category: category, line: index + 1))
        }
        self.entries = entries
    }

    /// The entries of one category (all of them when `category` is nil).
    public func entries(category: String?) -> [Entry] {
        guard let category else { return entries }
        return entries.filter { $0.category == category }
    }
}
