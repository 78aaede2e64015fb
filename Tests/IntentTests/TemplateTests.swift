import Foundation
import HarkTestSupport
import Testing
import Intent

private let roomsYAML = """
slots:
  room:
    values:
      kitchen: [kitchen, cooking area]
      living_room: [living room, lounge]
  level: {type: integer, range: [0, 100]}
intents:
  LightsOn:
    templates:
      - "(turn | switch) on [the] {room} lights"
      - "lights on"
  Brightness:
    - "set [the] brightness to {level} [percent]"
  Wait:
    - "wait [for] {duration}"
"""

struct TemplateLanguageTests {
    let recognizer: IntentRecognizer

    init() throws {
        recognizer = IntentRecognizer(intents: try IntentSet.parse(yaml: roomsYAML, source: "rooms.yaml"))
    }

    @Test(arguments: [
        ("turn on the kitchen lights", "LightsOn", ["room": "kitchen"]),
        ("switch on kitchen lights", "LightsOn", ["room": "kitchen"]),
        ("turn on the cooking area lights", "LightsOn", ["room": "kitchen"]),
        ("switch on the lounge lights", "LightsOn", ["room": "living_room"]),
        ("turn on the living room lights", "LightsOn", ["room": "living_room"]),
        ("lights on", "LightsOn", [:]),
        ("set the brightness to 40 percent", "Brightness", ["level": "40"]),
        ("set brightness to forty", "Brightness", ["level": "40"]),
        ("wait for five minutes", "Wait", ["duration": "300"]),
        ("wait 90 seconds", "Wait", ["duration": "90"]),
    ] as [(String, String, [String: String])])
    func matches(_ text: String, _ intent: String, _ slots: [String: String]) throws {
        let parsed = try #require(recognizer.recognize(text).intent, "\(text)")
        #expect(parsed.name == intent)
        #expect(parsed.slots.mapValues(\.canonical) == slots)
        #expect(parsed.confidence == 1)
    }

    @Test(arguments: ["turn on the garage lights", "set the brightness to 140 percent", "lights", "wait for", "hello there"])
    func rejectsOutsideTheLanguage(_ text: String) {
        #expect(recognizer.recognize(text).intent == nil, "\(text)")
    }

    @Test func toleratesRecognizerErrors() throws {
        // Misspelled value, near-homophone literal, dropped article.
        #expect(recognizer.recognize("turn on the kitchin lights").intent?.slots["room"]?.canonical == "kitchen")
        #expect(recognizer.recognize("turn of the kitchen lights").intent?.name == "LightsOn")
        let fuzzy = try #require(recognizer.recognize("switch on the kitchen light").intent)
        #expect(fuzzy.confidence < 1 && fuzzy.confidence > 0.75)
    }

    @Test func rejectionCarriesTheBestCandidate() throws {
        let result = recognizer.recognize("turn on the garage lights")
        #expect(result.intent == nil)
        #expect(result.best?.name == "LightsOn")
        #expect((result.best?.confidence ?? 1) < RecognizerOptions.default.threshold)
    }

    @Test func tiesResolveByFileOrderDeterministically() throws {
        let yaml = """
        intents:
          First: ["do the thing"]
          Second: ["do the thing"]
        """
        let r = IntentRecognizer(intents: try IntentSet.parse(yaml: yaml, source: "t.yaml"))
        for _ in 0..<5 { #expect(r.recognize("do the thing").intent?.name == "First") }
    }

    @Test func userFilesOverrideByName() throws {
        let a = try IntentSet.parse(yaml: "intents:\n  A: [\"alpha\"]\n  B: [\"beta\"]", source: "a")
        let b = try IntentSet.parse(yaml: "intents:\n  A: [\"gamma\"]", source: "b")
        let merged = a.merging(b)
        #expect(merged.names == ["A", "B"])
        #expect(IntentRecognizer(intents: merged).recognize("gamma").intent?.name == "A")
        #expect(IntentRecognizer(intents: merged).recognize("alpha").intent == nil)
    }

    @Test func samplePhrasesAndVocabulary() throws {
        let set = try IntentSet.parse(yaml: roomsYAML, source: "rooms.yaml")
        let phrases = set.samplePhrases(limit: 20)
        #expect(!phrases.isEmpty && phrases.count <= 20 && phrases.count == Set(phrases).count)
        #expect(phrases.contains("turn on the kitchen lights"))
        #expect(phrases.contains("lights on"))
        // Every sample phrase is recognised.
        for p in phrases { #expect(recognizer.recognize(p).intent != nil, "\(p)") }
        let vocab = set.vocabulary
        #expect(vocab.contains("lounge") && vocab.contains("brightness") && vocab.contains("switch"))
        #expect(vocab == vocab.sorted())
    }

    @Test func builtInSamplePhrasesAreRecognisedAsTheirIntent() throws {
        let set = try IntentSet.builtIn()
        let r = IntentRecognizer(intents: set)
        for definition in set.intents {
            let one = IntentSet(intents: [definition])
            for phrase in one.samplePhrases(limit: 5) {
                #expect(r.recognize(phrase).intent?.name == definition.name, "\(phrase)")
            }
        }
    }
}

struct IntentFileErrorTests {
    func error(_ yaml: String) -> IntentError? {
        do { _ = try IntentSet.parse(yaml: yaml, source: "bad.yaml"); return nil } catch let e as IntentError { return e } catch { return nil }
    }

    @Test func templateErrorsNameFileLineAndTemplate() throws {
        let yaml = "intents:\n  Good: [\"hello\"]\n  Bad:\n    - \"ok\"\n    - \"(turn | switch on the lights\"\n"
        let e = try #require(error(yaml))
        guard case let .invalidTemplate(file, line, intent, template, problem) = e else { Issue.record("got \(e)"); return }
        #expect(file == "bad.yaml" && line == 5 && intent == "Bad" && template == "(turn | switch on the lights")
        #expect(problem.contains("never closed"))
        #expect(e.description.contains("bad.yaml:5"))
    }

    @Test(arguments: [
        ("intents:\n  X: [\"set {nothing}\"]", "unknown slot"),
        ("intents:\n  X: [\"[the]\"]", "empty sentence"),
        ("intents:\n  X: [\"a ] b\"]", "unexpected"),
        ("intents:\n  X: [\"{bad name}\"]", "bad slot"),
        ("intents:\n  X: [\"()\"]", "empty alternatives"),
        ("intents:\n  X: [\"a } b\"]", "without"),
        ("intents:\n  X: [\"{a:}\"]", "empty definition"),
    ])
    func badTemplates(_ yaml: String, _ fragment: String) throws {
        let e = try #require(error(yaml))
        #expect(e.description.contains(fragment), "\(e)")
    }

    @Test(arguments: [
        ("intents: [1, 2]", 1), ("foo: 1\nintents: {}", 1), ("slots:\n  s: {type: banana}\nintents: {}", 2),
        ("slots:\n  s: {type: integer, range: [5, 1]}\nintents: {}", 2), ("intents:\n  X: {templates: [\"a\"], timeout: -1}", 2),
        ("intents:\n  X: {sentences: [\"a\"]}", 2), ("intents:\n  X: [\"a\", [\"b\"]]", 2), ("{", nil), ("intents:\n  X: [\"a\"\n", nil),
        ("", nil), ("slots:\n  s: {values: []}\nintents: {}", 2),
    ] as [(String, Int?)])
    func badFiles(_ yaml: String, _ line: Int?) throws {
        let e = try #require(error(yaml), "\(yaml)")
        switch e {
        case let .invalidYAML(file, l, _), let .invalidIntentFile(file, l, _):
            #expect(file == "bad.yaml")
            if let line { #expect(l == line, "\(e)") }
        default: Issue.record("unexpected \(e)")
        }
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: IntentError.self) { try IntentSet.load(file: URL(fileURLWithPath: "/nonexistent/hark.yaml")) }
    }

    @Test func userDirectoryFilesAreLoaded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hark-intents-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "intents:\n  Coffee: [\"make (me | us) [a] coffee\"]\n".write(to: dir.appendingPathComponent("coffee.yaml"), atomically: true, encoding: .utf8)
        let set = try IntentSet.standard(userDirectory: dir)
        #expect(IntentRecognizer(intents: set).recognize("make me a coffee").intent?.name == "Coffee")
        #expect(set.names.contains("SetTimer"))
        #expect(IntentSet.userDirectory(environment: ["XDG_CONFIG_HOME": "/x"]).path == "/x/hark/intents")
        // A broken user file stops loading with its name and line, rather than being skipped.
        try "intents:\n  Broken: [\"(oops\"]\n".write(to: dir.appendingPathComponent("zz.yaml"), atomically: true, encoding: .utf8)
        do {
            _ = try IntentSet.standard(userDirectory: dir)
            Issue.record("broken file accepted")
        } catch let error as IntentError {
            #expect(error.description.contains("zz.yaml:2") && error.description.contains("(oops"))
        }
    }
}

struct FuzzTests {
    static let alphabet = Array("abc xyz{}[]()|:-\n\t#'\"0123456789,.%?!&*/^é😀")

    @Test func yamlLoaderNeverCrashesOnMutatedFiles() throws {
        let base = try String(contentsOf: BuiltInFile.url, encoding: .utf8)
        var rng = SplitMix64(seed: 42)
        var rejected = 0
        for _ in 0..<150 {
            var chars = Array(base.prefix(4000))
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let i = Int.random(in: 0..<chars.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: chars[i] = Self.alphabet.randomElement(using: &rng)!
                case 1: chars.remove(at: i)
                default: chars.insert(Self.alphabet.randomElement(using: &rng)!, at: i)
                }
            }
            do { _ = try IntentSet.parse(yaml: String(chars), source: "fuzz") } catch is IntentError { rejected += 1 }
        }
        #expect(rejected > 0)  // some mutations must be reported as errors
    }

    @Test func yamlLoaderNeverCrashesOnRandomText() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let text = String((0..<Int.random(in: 0...200, using: &rng)).map { _ in Self.alphabet.randomElement(using: &rng)! })
            do { _ = try IntentSet.parse(yaml: text, source: "fuzz") } catch is IntentError {} catch { Issue.record("non-IntentError \(error)") }
        }
    }

    @Test func templateParserNeverCrashes() {
        var rng = SplitMix64(seed: 99)
        let pieces = ["(", ")", "[", "]", "|", "{room}", "{duration}", "{x:y}", "{", "}", "turn", "on", " ", "the", "lights", ":"]
        var parsed = 0
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0...14, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            if (try? Template(text, resolveSlot: { _, def in SlotDefinition.builtInTypes[def].map { SlotDefinition(key: def, type: $0) } })) != nil { parsed += 1 }
        }
        #expect(parsed > 0 && parsed < 500)
    }

    @Test func recognizerNeverCrashesOnRandomAndMutatedInput() throws {
        let recognizer = IntentRecognizer(intents: try IntentSet.builtIn())
        var rng = SplitMix64(seed: 2026)
        let words = ["set", "a", "timer", "for", "five", "minutes", "what", "time", "is", "it", "percent", "of", "square", "root",
                     "remind", "me", "to", "at", "7:30", "pm", "tomorrow", "half", "past", "and", "minus", "divided", "by", "0",
                     "convert", "km", "miles", "volume", "99999999999999999999", "1e308", ".", "%", "-", "😀", "", "point", "hundred"]
        for _ in 0..<300 {
            let text = (0..<Int.random(in: 0...20, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            if let c = recognizer.recognize(text).best?.confidence { #expect(c >= 0 && c <= 1) }
        }
        // Very long input is rejected rather than matched.
        #expect(recognizer.recognize(String(repeating: "set a timer ", count: 200)).intent == nil)
        for _ in 0..<100 {
            let text = String((0..<Int.random(in: 0...60, using: &rng)).map { _ in Self.alphabet.randomElement(using: &rng)! })
            _ = recognizer.recognize(text)
        }
    }
}

/// The built-in file in the source tree (the same file the resource bundle ships).
enum BuiltInFile {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/Intent/Resources/en.yaml")
}
