import Assistant
import Foundation
import HarkTestSupport
import Intent
import Testing

/// `CommandResponder`: text to intent, skill and reply events; the local model when no intent matches.
@Suite struct PipelineResponderTests {
    static let start = Date(timeIntervalSince1970: 1_790_000_000) // a fixed instant
    static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    func responder(_ dir: TemporaryDirectory, timers: TimerCenter?, languageModel: LanguageModelHost? = nil,
                   options: CommandResponder.Options = .default) throws -> CommandResponder {
        let context = SkillContext(now: { Self.start }, calendar: Self.utc, notes: NoteStore(url: dir.file("notes.json")))
        return CommandResponder(intents: try IntentSet.builtIn(), timers: timers, context: context,
                                languageModel: languageModel, options: options)
    }

    func events(_ responder: CommandResponder, _ text: String) async throws -> [AssistantEvent] {
        var all: [AssistantEvent] = []
        for try await event in responder.respond(to: text) { all.append(event) }
        return all
    }

    @Test func timeQuestionRunsTheTimeSkill() async throws {
        let dir = try TemporaryDirectory()
        let all = try await events(try responder(dir, timers: nil), "what time is it")
        // 1_790_000_000 s is 2026-09-21 14:13:20 UTC.
        #expect(all.count == 3)
        guard case let .intent(name, _, confidence) = all.first else { Issue.record("no intent: \(all)"); return }
        #expect(name == "GetTime" && confidence >= 0.75)
        #expect(all[1] == .replyPiece(text: "It's 2:13 PM.", source: .skill))
        #expect(all[2] == .reply(text: "It's 2:13 PM.", source: .skill, succeeded: true))
    }

    @Test func calculatorAnswers() async throws {
        let dir = try TemporaryDirectory()
        let all = try await events(try responder(dir, timers: nil), "what's twelve times fourteen")
        guard case let .intent(name, slots, _) = all.first else { Issue.record("no intent: \(all)"); return }
        #expect(name == "Calculate" && slots["expression"] != nil)
        guard case let .reply(text, source, succeeded) = all.last else { Issue.record("no reply: \(all)"); return }
        #expect(text.contains("168") && source == .skill && succeeded)
    }

    @Test func timerGoesIntoTheGivenCenterAndFiresOnItsClock() async throws {
        let dir = try TemporaryDirectory()
        let clock = ManualClock(Self.start)
        let center = TimerCenter(clock: clock)
        let all = try await events(try responder(dir, timers: center), "set a timer for ten seconds")
        #expect(all.map(\.name) == ["intent", "timer", "replyPiece", "reply"])
        guard case let .intent(name, slots, _) = all[0] else { Issue.record("no intent"); return }
        #expect(name == "SetTimer" && slots["duration"] == "10")
        guard case let .timer(id, kind, _, wasFired) = all[1] else { Issue.record("no timer event"); return }
        #expect(kind == "timer" && !wasFired)
        #expect(all[3] == .reply(text: "Timer set for 10 seconds.", source: .skill, succeeded: true))
        let pending = await center.list(.timer)
        #expect(pending.map(\.id) == [id] && pending.first?.deadline == Self.start + 10)

        // Nothing fires before the clock reaches the deadline; then the watcher reports it.
        let firings = TimerAlarms.firings(of: center, pollInterval: .milliseconds(20))
        let watcher = Task { () -> ActiveTimer? in
            for await fired in firings { return fired }
            return nil
        }
        try await Task.sleep(for: .milliseconds(150))
        #expect(await center.list(.timer).count == 1)
        clock.advance(by: 10)
        let fired = try #require(await watcher.value)
        #expect(fired.id == id)
        #expect(TimerAlarms.event(for: fired) == .timer(id: id, kind: "timer", name: nil, fired: true))
        #expect(TimerAlarms.alert(for: fired) == "Your timer for 10 seconds is done.")
    }

    @Test func withoutTimersTheSkillSaysTheyNeedTheService() async throws {
        let dir = try TemporaryDirectory()
        let all = try await events(try responder(dir, timers: nil), "set a timer for ten seconds")
        #expect(!all.contains { $0.name == "timer" })
        guard case let .reply(_, _, succeeded) = all.last else { Issue.record("no reply"); return }
        #expect(!succeeded)
    }

    @Test func noIntentAndNoModelIsAPoliteRefusal() async throws {
        let dir = try TemporaryDirectory()
        let all = try await events(try responder(dir, timers: nil), "why is the sky blue")
        #expect(all == [.replyPiece(text: "Sorry, I can't help with that.", source: .skill),
                        .reply(text: "Sorry, I can't help with that.", source: .skill, succeeded: false)])
    }

    @Test func eventsRoundTripThroughJSONLines() throws {
        let events: [AssistantEvent] = [
            .wake(phrase: "Hey Mark", time: 1.2345), .partial(text: "what time"),
            .final(text: "What time is it?", start: 0.5, end: 2.25),
            .intent(name: "SetTimer", slots: ["duration": "600"], confidence: 0.9),
            .replyPiece(text: " Paris", source: .llm), .reply(text: "It's \"Paris\".", source: .llm, succeeded: true),
            .timer(id: 3, kind: "timer", name: "pasta", fired: true), .timer(id: 4, kind: "alarm", name: nil, fired: false),
            .speaking(started: true), .error(message: "microphone gone"),
        ]
        for event in events {
            #expect(!event.json.contains("\n"))
            var expected = event
            if case let .wake(phrase, _) = event { expected = .wake(phrase: phrase, time: 1.235) }
            #expect(try AssistantEvent(json: event.json) == expected, "\(event.json)")
        }
        #expect(throws: PipelineError.self) { try AssistantEvent(json: "{\"event\":\"nope\"}") }
        #expect(throws: PipelineError.self) { try AssistantEvent(json: "{\"event\":\"final\",\"text\":\"x\"}") }
        #expect(throws: PipelineError.self) { try AssistantEvent(json: "not json") }
    }

    @Test func speakableTextDropsMarkdown() {
        #expect(SpeakerOutput.speakable("**Paris** is the\n capital. `x`") == "Paris is the capital. x")
    }
}

/// The local model behind the responder (release: loads SmolLM2-135M).
@Suite(.serialized) struct PipelineLanguageModelTests {
    @Test func questionNoIntentCoversGoesToTheModelStreamed() async throws {
        let dir = try TemporaryDirectory()
        var options = CommandResponder.Options()
        options.generation = .greedy
        options.generation.maxTokens = 24
        let host = LanguageModelHost(modelURL: ProjectPaths.smolLM2)
        let context = SkillContext(notes: NoteStore(url: dir.file("notes.json")))
        let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: nil, context: context,
                                         languageModel: host, options: options)
        var pieces: [String] = []
        var final: AssistantEvent?
        for try await event in responder.respond(to: "what is the capital of France") {
            switch event {
            case let .replyPiece(text, source): #expect(source == .llm); pieces.append(text)
            case .reply: final = event
            case .intent: Issue.record("an intent matched: \(event)")
            default: break
            }
        }
        #expect(pieces.count > 1, "the answer should stream in pieces")
        guard case let .reply(text, source, succeeded)? = final else { Issue.record("no reply"); return }
        #expect(source == .llm && succeeded)
        #expect(text.contains("Paris"), "reply: \(text)")
        // The done event is the streamed text, trimmed (and cut to whole sentences at the limit).
        #expect(pieces.joined().trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix(text))

        // Loaded once: a second question reuses the same model object.
        let first = try host.load()
        for try await _ in responder.respond(to: "why is the sky blue") {}
        #expect(try host.load() === first)
    }

    @Test func limitCutsTheReplyToWholeSentences() {
        #expect(LanguageModelHost.completeSentences("It is blue. Because the light") == "It is blue.")
        #expect(LanguageModelHost.completeSentences("No end here") == "No end here")
    }
}
