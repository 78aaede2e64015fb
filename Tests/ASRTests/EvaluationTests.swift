import ASR
import Foundation
import HarkTestSupport
import Testing

@Suite struct EvaluationTests {
    static let normalizer = EnglishTextNormalizer()

    static let normalizerCases: [(String, String)] = [
        ("Hello, World!", "hello world"),
        ("  Multiple   spaces\tand\nlines ", "multiple spaces and lines"),
        ("Go forward ten meters.", "go forward 10 meters"),
        ("Go forward 10 meters", "go forward 10 meters"),
        ("twenty five", "25"),
        ("Twenty-five", "25"),
        ("one hundred and five", "105"),
        ("two thousand and twenty", "2020"),
        ("three thousand four hundred fifty six", "3456"),
        ("a million", "a 1000000"),
        ("one million two hundred thousand", "1200000"),
        ("nineteen ninety nine", "1999"),
        ("twenty twenty", "2020"),
        ("two nine three four zero", "29340"),
        ("One, two, three.", "123"),
        ("1, 2, 3", "123"),
        ("five five", "55"),
        ("room 5 and 6", "room 5 and 6"),
        ("twenty five six", "25 6"),
        ("For the twentieth time", "for the 20th time"),
        ("For the 20th time", "for the 20th time"),
        ("the twenty first century", "the 21st century"),
        ("the first and second", "the 1st and 2nd"),
        ("eleventh hour", "11th hour"),
        ("the nineties", "the 90s"),
        ("the 1990's", "the 1990s"),
        ("three point one four", "3.14"),
        ("3.14", "3.14"),
        ("1,000,000 people", "1000000 people"),
        ("$5", "5 dollars"),
        ("50% off", "50 percent off"),
        ("rock & roll", "rock and roll"),
        ("Don't stop", "do not stop"),
        ("I can't, won't, shouldn't", "i can not will not should not"),
        ("I cannot", "i can not"),
        ("I'm sure you'll see they're here and we've won", "i am sure you will see they are here and we have won"),
        ("she'd go", "she would go"),
        ("It's John's dog", "it is johns dog"),
        ("Let's go", "let us go"),
        ("God bless 'em", "god bless them"),
        ("Don\u{2019}t", "do not"),
        ("cold-hearted and ill-disposed", "cold hearted and ill disposed"),
        ("well\u{2014}maybe", "well maybe"),
        ("Mr. John Dashwood", "mister john dashwood"),
        ("Dr. Who, etc.", "doctor who et cetera"),
        ("the U.S. army", "the us army"),
        ("OK", "okay"),
        ("no one", "no 1"),
        ("\"Quoted\" (parenthetical) [bracket]", "quoted parenthetical bracket"),
        ("Ünïcödé Café", "ünïcödé café"),
        ("", ""),
        ("...", ""),
    ]

    @Test func normalizerTable() {
        for (input, expected) in Self.normalizerCases {
            #expect(Self.normalizer.normalize(input) == expected, "\(input.debugDescription)")
        }
    }

    /// Spoken and written forms meet in the middle.
    @Test func spokenAndWrittenFormsAgree() {
        let pairs = [
            ("Go forward ten meters", "Go forward 10 meters."),
            ("For the twentieth time", "For the 20th time"),
            ("I don't know", "I do not know"),
            ("twenty five degrees", "25 degrees"),
            ("and mister john dashwood", "And Mr. John Dashwood"),
            ("one two three", "1, 2, 3"),
            ("two nine three four zero", "29340."),
        ]
        for (a, b) in pairs { #expect(Self.normalizer.normalize(a) == Self.normalizer.normalize(b), "\(a) / \(b)") }
    }

    static func counts(_ r: String, _ h: String) -> WordErrorCounts {
        WordErrorCounts(reference: r.split(separator: " ").map(String.init), hypothesis: h.split(separator: " ").map(String.init))
    }

    @Test func wordErrorRateHandComputed() {
        #expect(Self.counts("a b c", "a b c") == WordErrorCounts(referenceWords: 3, hypothesisWords: 3))
        #expect(Self.counts("a b c", "a x c") == WordErrorCounts(substitutions: 1, referenceWords: 3, hypothesisWords: 3))
        #expect(Self.counts("a b c", "a c") == WordErrorCounts(deletions: 1, referenceWords: 3, hypothesisWords: 2))
        #expect(Self.counts("a b c", "a b x c") == WordErrorCounts(insertions: 1, referenceWords: 3, hypothesisWords: 4))
        #expect(Self.counts("a b c", "") == WordErrorCounts(deletions: 3, referenceWords: 3))
        #expect(Self.counts("", "a b") == WordErrorCounts(insertions: 2, hypothesisWords: 2))
        #expect(Self.counts("", "") == WordErrorCounts())
        // "the cat sat on the mat" -> "the cat sit on mat please": 3 edits (S sat->sit, D the,
        // I please; or three substitutions: ties prefer substitutions).
        let c = Self.counts("the cat sat on the mat", "the cat sit on mat please")
        #expect(c.errors == 3 && c.substitutions == 3)
        #expect(abs(c.wordErrorRate - 0.5) < 1e-12)
        // "a b c d e" -> "a c d e f": D(b) + I(f) = 2 beats 4 substitutions.
        #expect(Self.counts("a b c d e", "a c d e f") == WordErrorCounts(deletions: 1, insertions: 1, referenceWords: 5, hypothesisWords: 5))
        // Shifted words: "a b c d" -> "b c d e": D(a) + I(e) = 2, not 4 substitutions.
        #expect(Self.counts("a b c d", "b c d e").errors == 2)
        #expect(Self.counts("x y", "a b c d").errors == 4)
        #expect(Self.counts("a", "b").wordErrorRate == 1)
        #expect(Self.counts("", "x").wordErrorRate == .infinity)
        let total = Self.counts("a b", "a") + Self.counts("c d e", "c d e f")
        #expect(total == WordErrorCounts(deletions: 1, insertions: 1, referenceWords: 5, hypothesisWords: 5))
        #expect(abs(total.wordErrorRate - 0.4) < 1e-12)
    }

    static let manifestURL = URL(fileURLWithPath: "/data/set/manifest.tsv")

    @Test func manifestParsing() throws {
        let text = "file\tduration_s\ttranscript\tcategory\textra\r\nA/one.wav\t1.0\tHello there\tA\tx\n\n"
            + "B/two.wav\t2\t\tC\n/abs/three.wav\t3\tThree\tA\n"
        let manifest = try EvaluationManifest(text: text, url: Self.manifestURL)
        #expect(manifest.entries.count == 3)
        #expect(manifest.entries[0].path == "A/one.wav")
        #expect(manifest.entries[0].url.path == "/data/set/A/one.wav")
        #expect(manifest.entries[0].transcript == "Hello there")
        #expect(manifest.entries[0].category == "A")
        #expect(manifest.entries[0].line == 2)
        #expect(manifest.entries[1].transcript == "" && manifest.entries[1].category == "C" && manifest.entries[1].line == 4)
        #expect(manifest.entries[2].url.path == "/abs/three.wav")
        #expect(manifest.entries(category: "A").map(\.path) == ["A/one.wav", "/abs/three.wav"])
        #expect(manifest.entries(category: nil).count == 3)
        #expect(manifest.entries(category: "Z").isEmpty)
        // No category column: categories are nil; minimal two columns in any order.
        let plain = try EvaluationManifest(text: "transcript\tfile\nhi\tx.wav\n", url: Self.manifestURL)
        #expect(plain.entries == [.init(path: "x.wav", url: URL(fileURLWithPath: "/data/set/x.wav"), transcript: "hi", category: nil, line: 2)])
    }

    @Test func manifestErrorsNameTheProblem() throws {
        func error(_ text: String) -> String {
            do {
                _ = try EvaluationManifest(text: text, url: Self.manifestURL)
                return "no error"
            } catch let e as ASRError {
                return e.description
            } catch {
                return "wrong error type \(error)"
            }
        }
        #expect(error("").contains("no 'file' column"))
        #expect(error("path\ttranscript\na\tb\n").contains("no 'file' column"))
        #expect(error("path\ttranscript\na\tb\n").contains("path, transcript"))
        #expect(error("file\ttext\na\tb\n").contains("no 'transcript' column"))
        let short = error("file\tduration\ttranscript\na.wav\t1\tok\nb.wav\t2\n")
        #expect(short.contains("line 3") && short.contains("2 tab-separated field(s)"), "\(short)")
        #expect(error("file\ttranscript\n\thello\n").contains("line 2: empty 'file' field"))
        #expect(throws: ASRError.self) { try EvaluationManifest(contentsOf: URL(fileURLWithPath: "/nonexistent/manifest.tsv")) }
        let dir = try TemporaryDirectory()
        try Data([0xFF, 0xFE, 0x00, 0x41]).write(to: dir.file("bad.tsv"))
        #expect(throws: ASRError.self) { try EvaluationManifest(contentsOf: dir.file("bad.tsv")) }
    }

    /// The real corpus manifest parses, with the categories its README describes.
    @Test func corpusManifest() throws {
        let manifest = try EvaluationManifest(contentsOf: ProjectPaths.corpus.appendingPathComponent("manifest.tsv"))
        #expect(manifest.entries(category: "A").count == 15)
        #expect(manifest.entries(category: "C").count == 14)
        #expect(manifest.entries(category: "C").allSatisfy { $0.transcript.isEmpty })
        #expect(manifest.entries.allSatisfy { FileManager.default.fileExists(atPath: $0.url.path) })
    }

    struct FakeTranscriber: SpeechTranscribing {
        let answers: [Int: String]  // keyed by sample count
        func transcribe(_ samples: [Float]) async throws -> String { answers[samples.count] ?? "" }
    }

    @Test func evaluationWithAFakeTranscriber() async throws {
        let text = "file\ttranscript\tcategory\na.wav\tTen of clubs\tB\nb.wav\tgo forward\tB\nc.wav\t\tC\nd.wav\t\tC\n"
        let entries = try EvaluationManifest(text: text, url: Self.manifestURL).entries
        let lengths = ["a.wav": 1, "b.wav": 2, "c.wav": 3, "d.wav": 4]
        let fake = FakeTranscriber(answers: [1: "10 of clubs.", 2: "go backward now", 3: "", 4: "You you"])
        var seen: [String] = []
        let report = try await ASREvaluation().run(entries, transcriber: fake,
            loadAudio: { [Float](repeating: 0, count: lengths[$0.lastPathComponent]!) }, progress: { seen.append($0.file) })
        #expect(seen == ["a.wav", "b.wav", "c.wav", "d.wav"])
        #expect(report.rows[0].counts.errors == 0)
        #expect(report.rows[1].counts == WordErrorCounts(substitutions: 1, insertions: 1, referenceWords: 2, hypothesisWords: 3))
        #expect(report.total == WordErrorCounts(substitutions: 1, insertions: 1, referenceWords: 5, hypothesisWords: 6))
        #expect(abs(report.total.wordErrorRate - 0.4) < 1e-12)
        #expect(report.nonSpeechRows == 2)
        #expect(report.nonSpeechWords == 2)
        #expect(report.rows[2].wordErrorRate == nil)
        // JSON round trip keeps the rows; totals are written alongside.
        let data = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(ASREvaluation.Report.self, from: data) == report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["nonSpeechWords"] as? Int == 2)
        #expect(abs((object["wordErrorRate"] as? Double ?? -1) - 0.4) < 1e-12)
    }

    @Test func transcriberErrorsPropagate() async throws {
        struct Broken: SpeechTranscribing {
            struct Failure: Error {}
            func transcribe(_ samples: [Float]) async throws -> String { throw Failure() }
        }
        let entries = try EvaluationManifest(text: "file\ttranscript\na.wav\thi\n", url: Self.manifestURL).entries
        await #expect(throws: Broken.Failure.self) {
            _ = try await ASREvaluation().run(entries, transcriber: Broken(), loadAudio: { _ in [0] })
        }
    }

    /// The committed reference WER (faster-whisper on category A) equals what this normaliser and
    /// alignment compute from the committed transcripts, so the model tests compare like with like.
    @Test func referenceWERFixtureIsConsistent() throws {
        let asr = ProjectPaths.fixtures.appendingPathComponent("asr")
        let corpus = try EvaluationManifest(contentsOf: ProjectPaths.corpus.appendingPathComponent("manifest.tsv"))
        let transcripts = try EvaluationManifest(contentsOf: asr.appendingPathComponent("reference_transcripts.tsv"))
        let hypotheses = Dictionary(uniqueKeysWithValues: transcripts.entries.map { ($0.path, $0.transcript) })
        let report = try ASREvaluation().score(corpus.entries(category: "A"), hypotheses: hypotheses, source: "reference_transcripts.tsv")
        let stored = try JSONDecoder().decode(ASREvaluation.Report.self, from: Data(contentsOf: asr.appendingPathComponent("reference_wer.json")))
        #expect(report == stored)
        #expect(report.rows.count == 15)
        #expect(report.total.wordErrorRate < 0.10)
        #expect(throws: ASRError.self) {
            try ASREvaluation().score(corpus.entries(category: "B"), hypotheses: hypotheses, source: "reference_transcripts.tsv")
        }
    }
}
