import Assistant
import Foundation
import HarkTestSupport
import Testing

@Suite struct ServiceConfigTests {
    private func parse(_ yaml: String) throws -> ServiceConfig {
        try ServiceConfig.parse(yaml: yaml, source: "test.yaml")
    }

    /// The error text of parsing `yaml`, which must fail.
    private func problem(_ yaml: String) -> String {
        do {
            _ = try parse(yaml)
            return "parsed without an error"
        } catch {
            return "\(error)"
        }
    }

    @Test func missingDefaultFileMeansDefaultsButANamedFileMustExist() throws {
        let dir = try TemporaryDirectory()
        let absent = dir.file("config.yaml").path
        #expect(try ServiceConfig.load(path: absent, mustExist: false) == .default)
        #expect(throws: AssistantError.self) { try ServiceConfig.load(path: absent, mustExist: true) }
        #expect(try parse("") == .default)
        #expect(ServiceConfig.default.history == false) // privacy: nothing on disk unless asked
        #expect(ServiceConfig.default.mode == .wake)
    }

    @Test func readsEverySetting() throws {
        let config = try parse("""
            mode: always
            wake_phrase: okay computer
            answer_on_pause: false
            speak: no
            input_device: plughw:1,0
            output_device: hw:0,0
            models:
              whisper: /m/whisper-base
              vad: /m/vad.safetensors
              llm: ~/m/model.gguf
            llm:
              enabled: false
              max_tokens: 40
              temperature: 0
              threads: 1
            socket: /tmp/x/hark.sock
            state_dir: /tmp/x/state
            history: true
            log_level: debug
            """)
        #expect(config.mode == .always)
        #expect(config.wakePhrase == "okay computer")
        #expect(config.answerOnPause == false && ServiceConfig.default.answerOnPause)
        #expect(config.speak == false)
        #expect(config.inputDevice == "plughw:1,0")
        #expect(config.outputDevice == "hw:0,0")
        #expect(config.models.whisper == "/m/whisper-base")
        #expect(config.models.vad == "/m/vad.safetensors")
        #expect(config.models.llm == FileManager.default.homeDirectoryForCurrentUser.path + "/m/model.gguf")
        #expect(config.llm == {
            var llm = ServiceConfig.LanguageModel()
            llm.enabled = false; llm.maxTokens = 40; llm.temperature = 0; llm.threads = 1
            return llm
        }())
        #expect(config.resolvedSocket == "/tmp/x/hark.sock")
        #expect(config.resolvedStateDirectory == "/tmp/x/state")
        #expect(config.history)
        #expect(config.logLevel == .debug)
    }

    @Test func theExampleConfigInContribIsValidAndMatchesTheDefaults() throws {
        let url = ProjectPaths.root.appendingPathComponent("contrib/config.example.yaml")
        let config = try ServiceConfig.load(path: url.path, mustExist: true)
        #expect(config == .default)
    }

    @Test func unknownKeysAreErrorsNamingTheKey() {
        #expect(problem("colour: blue").contains("colour unknown setting"))
        #expect(problem("llm:\n  max_tokns: 5").contains("llm.max_tokns unknown setting"))
        #expect(problem("llm:\n  max_tokns: 5").contains("llm.max_tokens")) // lists what is known
        #expect(problem("models:\n  whisperr: /x").contains("models.whisperr"))
    }

    @Test func badValuesAreErrorsNamingTheKey() {
        #expect(problem("llm:\n  max_tokens: lots").contains("llm.max_tokens must be a whole number, found 'lots'"))
        #expect(problem("llm:\n  max_tokens: 0").contains("llm.max_tokens must be in 1...4096"))
        #expect(problem("llm:\n  temperature: hot").contains("llm.temperature must be a number"))
        #expect(problem("speak: perhaps").contains("speak must be true or false, found 'perhaps'"))
        #expect(problem("mode: sometimes").contains("mode must be one of wake, always"))
        #expect(problem("log_level: loud").contains("log_level must be one of"))
        #expect(problem("llm: 3").contains("llm must be a mapping"))
        #expect(problem("wake_phrase: '123'").contains("wake_phrase must contain words"))
        #expect(problem("- a\n- b").contains("expected a mapping"))
        #expect(problem("mode: [unclosed").contains("not valid YAML"))
        #expect(problem("mode: wake\nmode: always").contains("mode"))
    }

    @Test func fuzzedConfigsNeverCrash() {
        var random = SplitMix64(seed: 7)
        let pieces = ["mode", ":", " ", "\n", "  ", "llm", "max_tokens", "-", "[", "]", "{", "}", "'", "\"", "wake",
                      "12", "true", "#", "models", "\t", "&a", "*a", "!!int", "~", "é", "\u{0}"]
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 1...20, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            do { _ = try ServiceConfig.parse(yaml: text, source: "fuzz") } catch {
                #expect(error is AssistantError, "\(text.debugDescription) gave \(error)")
            }
        }
    }
}
