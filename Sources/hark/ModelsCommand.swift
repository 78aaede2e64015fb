import ArgumentParser
import Foundation

/// `hark models`: what is installed, where, and whether each file matches its catalog checksum.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Show which models are installed, where, and whether their checksums hold.",
        discussion: """
            Reads the catalog (models/catalog.tsv) that scripts/setup installs from, and checks \
            every installed file against its sha256. Required models are fetched by \
            `scripts/setup`; optional ones (Whisper base, Qwen2.5-Coder) by `scripts/setup --all`.

            Examples:
              hark models               check everything (hashes about 170 MB; a second or two)
              hark models --quick       compare sizes only
              HARK_MODELS=/data/hark hark models
            """
    )

    @Flag(help: "Compare file sizes only; skip the sha256 check.")
    var quick = false

    @Flag(help: "Print one JSON object per model file.")
    var json = false

    func run() throws {
        guard let catalogURL = ModelLocator.searchPath
            .map({ $0.appendingPathComponent("catalog.tsv") })
            .first(where: { FileManager.default.fileExists(atPath: $0.path) })
        else {
            throw ValidationError("No model catalog found. Run hark from a Hark checkout or set HARK_MODELS to a folder filled by scripts/setup.")
        }
        let folder = catalogURL.deletingLastPathComponent()
        let entries = try ModelCatalog.read(catalogURL)
        var problems = 0
        if !json { print("Models in \(folder.path):") }
        for entry in entries {
            let url = folder.appendingPathComponent(entry.file)
            let status = check(entry, at: url)
            if status.isProblem && entry.required { problems += 1 }
            if json {
                let object: [String: Any] = [
                    "file": entry.file, "path": url.path, "required": entry.required,
                    "status": status.word, "size": entry.size, "sha256": entry.sha256,
                    "license": entry.license, "source": entry.requirements.joined(separator: " "),
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let tag = entry.required ? "" : " (optional)"
                print("  \(status.symbol) \(entry.file)\(tag)  \(formatSize(entry.size))  \(status.word)")
                print("      \(entry.description); \(entry.license); from \(entry.requirements.joined(separator: " + "))")
            }
        }
        if problems > 0 {
            if !json { print("\(problems) required file(s) missing or damaged: run scripts/setup.") }
            throw ExitCode(1)
        }
    }

    private enum Status {
        case ok, verifiedSize, missing, wrongSize(Int), wrongChecksum(String)
        var isProblem: Bool { switch self { case .ok, .verifiedSize: false; default: true } }
        var symbol: String { isProblem ? "✗" : "✓" }
        var word: String {
            switch self {
            case .ok: "checksum ok"
            case .verifiedSize: "size ok (checksum not checked)"
            case .missing: "not installed"
            case .wrongSize(let size): "wrong size (\(size) bytes): damaged or truncated"
            case .wrongChecksum(let sha): "checksum mismatch (got \(sha.prefix(12))...)"
            }
        }
    }

    private func check(_ entry: ModelCatalog.Entry, at url: URL) -> Status {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              let size = (attributes[.size] as? NSNumber)?.intValue
        else { return .missing }
        if size != entry.size { return .wrongSize(size) }
        if quick { return .verifiedSize }
        guard let digest = try? SHA256.hexDigest(ofFileAt: url) else { return .missing }
        return digest == entry.sha256 ? .ok : .wrongChecksum(digest)
    }

    private func formatSize(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MB", Double(bytes) / 1e6) : String(format: "%.1f kB", Double(bytes) / 1e3)
    }
}

/// The rows of models/catalog.tsv (see its header for the columns).
enum ModelCatalog {
    struct Entry {
        var file: String, sha256: String, required: Bool, license: String, size: Int
        var requirements: [String], members: [String], description: String
    }

    static func read(_ url: URL) throws -> [Entry] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var entries: [Entry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard columns.count == 8, let size = Int(columns[4]) else {
                throw ValidationError("\(url.path):\(index + 1): expected 8 tab-separated columns with a size in bytes")
            }
            entries.append(Entry(
                file: columns[0], sha256: columns[1], required: columns[2] == "required", license: columns[3],
                size: size, requirements: columns[5].split(separator: " ").map(String.init),
                members: columns[6].split(separator: " ").map(String.init), description: columns[7]))
        }
        return entries
    }
}
