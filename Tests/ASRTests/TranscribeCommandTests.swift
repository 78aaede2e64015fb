import Foundation
import HarkTestSupport
import Testing

/// `hark transcribe` as a user runs it: the built executable (next to the test bundle), on real
/// corpus audio with the real tiny.en model.
@Suite(.serialized) struct TranscribeCommandTests {
    static let jfk = ProjectPaths.corpus.appendingPathComponent("A_dictation/whisper__jfk.wav").path

    struct Run { let status: Int32; let stdout: String; let stderr: String }

    /// The `hark` built with these tests (`swift test` builds every product into the same folder).
    static var hark: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("hark")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return ProjectPaths.root.appendingPathComponent(".build/release/hark")
    }

    /// Runs `executable` on its own thread (never blocking the test pool), stdout and stderr to files.
    static func run(_ executable: String, _ arguments: [String], stdin: String? = nil) async throws -> Run {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hark-cli-\(UUID().uuidString)")
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    defer { try? FileManager.default.removeItem(at: dir) }
                    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
                    FileManager.default.createFile(atPath: out.path, contents: nil)
                    FileManager.default.createFile(atPath: err.path, contents: nil)
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable)
                    process.arguments = arguments
                    process.standardOutput = try FileHandle(forWritingTo: out)
                    process.standardError = try FileHandle(forWritingTo: err)
                    if let stdin { process.standardInput = FileHandle(forReadingAtPath: stdin) }
                    try process.run()
                    process.waitUntilExit()
                    continuation.resume(returning: Run(status: process.terminationStatus,
                                                       stdout: try String(contentsOf: out, encoding: .utf8),
                                                       stderr: try String(contentsOf: err, encoding: .utf8)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }

    static func transcribe(_ arguments: [String], stdin: String? = nil) async throws -> Run {
        let run = try await run(hark.path, ["transcribe"] + arguments, stdin: stdin)
        #expect(run.status == 0, "hark transcribe \(arguments): \(run.stderr)")
        return run
    }

    @Test func standardInputGivesTheSameTextAsTheFile() async throws {
        let fromFile = try await Self.transcribe(["--beam-size", "1", Self.jfk])
        let fromStdin = try await Self.transcribe(["--beam-size", "1", "-"], stdin: Self.jfk)
        #expect(fromStdin.stdout == fromFile.stdout)
        #expect(fromFile.stdout.contains("ask not what your country can do for you"))
    }

    /// Subtitle cues: (index line for srt), "start --> end", text, blank line.
    static func cues(_ text: String, srt: Bool) -> [(index: Int?, start: Double, end: Double, text: String)] {
        let separator = srt ? "," : "."
        let pattern = try! NSRegularExpression(pattern: "^(\\d\\d):(\\d\\d):(\\d\\d)\\\(separator)(\\d\\d\\d) --> (\\d\\d):(\\d\\d):(\\d\\d)\\\(separator)(\\d\\d\\d)$")
        var body = text
        if !srt { body = String(text.dropFirst("WEBVTT\n\n".count)) }
        return body.components(separatedBy: "\n\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }.compactMap { block in
            var lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let index = srt ? Int(lines.removeFirst()) : nil
            guard lines.count >= 2, let match = pattern.firstMatch(in: lines[0], range: NSRange(lines[0].startIndex..., in: lines[0])) else { return nil }
            func field(_ i: Int) -> Double { Double((lines[0] as NSString).substring(with: match.range(at: i)))! }
            let start = field(1) * 3600 + field(2) * 60 + field(3) + field(4) / 1000
            let end = field(5) * 3600 + field(6) * 60 + field(7) + field(8) / 1000
            return (index, start, end, lines[1])
        }
    }

    static func blockCount(_ text: String, srt: Bool) -> Int {
        (srt ? text : String(text.dropFirst("WEBVTT\n\n".count))).components(separatedBy: "\n\n")
            .filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }.count
    }

    @Test func subtitlesParseBackWithOrderedTimes() async throws {
        for format in ["srt", "vtt"] {
            let srt = format == "srt"
            let output = try await Self.transcribe(["--format", format, Self.jfk]).stdout
            if !srt { #expect(output.hasPrefix("WEBVTT\n\n")) }
            let cues = Self.cues(output, srt: srt)
            #expect(cues.count == Self.blockCount(output, srt: srt), "every block parses: \(output)")
            #expect(cues.count >= 2)
            if srt { #expect(cues.map(\.index) == Array(1...cues.count)) }
            var previous = 0.0
            for cue in cues {
                #expect(cue.start >= previous && cue.end > cue.start && cue.end <= 11.0, "\(cue)")
                previous = cue.end
            }
            #expect(cues.map(\.text).joined(separator: " ").contains("ask what you can do for your country"))
            // One cue per word with --word-cues.
            let words = try await Self.transcribe(["--format", format, "--word-timestamps", "--word-cues", Self.jfk]).stdout
            let wordCues = Self.cues(words, srt: srt)
            #expect(wordCues.count == 22 && wordCues.count == Self.blockCount(words, srt: srt), "\(words)")
            #expect(wordCues.first?.text == "And" && wordCues.last?.text == "country.")
            for (a, b) in zip(wordCues, wordCues.dropFirst()) { #expect(b.start >= a.start && a.end >= a.start) }
        }
    }

    @Test func jsonHasWordsOnlyWhenAsked() async throws {
        struct Output: Decodable {
            struct Segment: Decodable { let start: Double; let end: Double; let words: [Word]? }
            struct Word: Decodable { let start: Double; let end: Double; let word: String; let probability: Float }
            let segments: [Segment]
        }
        let plain = try JSONDecoder().decode(Output.self, from: Data(try await Self.transcribe(["--format", "json", Self.jfk]).stdout.utf8))
        #expect(!plain.segments.isEmpty && plain.segments.allSatisfy { $0.words == nil })
        let timed = try JSONDecoder().decode(Output.self, from: Data(try await Self.transcribe(["--format", "json", "--word-timestamps", Self.jfk]).stdout.utf8))
        let words = timed.segments.flatMap { $0.words ?? [] }
        #expect(words.map(\.word).joined() == " And so, my fellow Americans ask not what your country can do for you ask what you can do for your country.")
        let bad = try await Self.run(Self.hark.path, ["transcribe", "--word-cues", Self.jfk])
        #expect(bad.status != 0 && bad.stderr.contains("--word-cues needs --word-timestamps"))
    }

    /// A progress bar for audio over 30 s only when standard error is a terminal: none when piped,
    /// and drawn up to 100 % under a pseudo-terminal (`script`).
    @Test func progressBarOnlyOnATerminal() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hark-progress-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let long = dir.appendingPathComponent("long.wav").path
        let sox = try await Self.run("/usr/bin/sox", [Self.jfk, Self.jfk, Self.jfk, long])
        #expect(sox.status == 0, "\(sox.stderr)")
        let piped = try await Self.transcribe(["--beam-size", "1", long])
        #expect(!piped.stderr.contains("%") && !piped.stderr.contains("#"), "\(piped.stderr)")
        #expect(piped.stdout.contains("Americans"))
        let command = "'\(Self.hark.path)' transcribe --beam-size 1 '\(long)'"
        let terminal = try await Self.run("/usr/bin/script", ["-qec", command, "/dev/null"])
        #expect(terminal.status == 0, "\(terminal.stdout) \(terminal.stderr)")
        #expect(terminal.stdout.contains("100%") && terminal.stdout.contains("[" + String(repeating: "#", count: 30) + "]"), "\(terminal.stdout)")
        // Short audio gets no bar even on a terminal.
        let short = try await Self.run("/usr/bin/script", ["-qec", "'\(Self.hark.path)' transcribe --beam-size 1 '\(Self.jfk)'", "/dev/null"])
        #expect(!short.stdout.contains("%") && short.stdout.contains("Americans"))
    }
}
