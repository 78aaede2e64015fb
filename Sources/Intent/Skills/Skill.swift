import Foundation

/// What a skill says back: a short sentence for the user and a structured result.
public struct SkillReply: Sendable, Codable, Equatable {
    /// One or two sentences to speak or print ("Timer set for 5 minutes.").
    public var text: String
    /// Machine-readable result ("result": "168", "error": "needs_service", ...).
    public var data: [String: String]
    /// False when the skill could not do what was asked (the text says why).
    public var succeeded: Bool

    public init(_ text: String, data: [String: String] = [:], succeeded: Bool = true) {
        self.text = text; self.data = data; self.succeeded = succeeded
    }

    static func failure(_ text: String, error: String, data: [String: String] = [:]) -> SkillReply {
        var d = data
        d["error"] = error
        return SkillReply(text, data: d, succeeded: false)
    }
}

/// Everything a skill may touch, injected so tests control the clock, files and devices.
public struct SkillContext: Sendable {
    /// The current time.
    public var now: @Sendable () -> Date
    /// Calendar (time zone, locale) for spoken times and dates.
    public var calendar: Calendar
    /// The timer host; nil in the one-shot CLI, where timers cannot run.
    public var timers: TimerCenter?
    /// Notes and reminders.
    public var notes: NoteStore
    /// Opens the system mixer on demand (only volume intents pay for it).
    public var openMixer: @Sendable () throws -> any VolumeControlling

    public init(now: @escaping @Sendable () -> Date = { Date() },
                calendar: Calendar = .current,
                timers: TimerCenter? = nil,
                notes: NoteStore = .standard(),
                openMixer: @escaping @Sendable () throws -> any VolumeControlling = { try ALSAMixer() }) {
        self.now = now; self.calendar = calendar; self.timers = timers; self.notes = notes; self.openMixer = openMixer
    }
}

/// An offline action for one or more intents.
public protocol Skill: Sendable {
    /// Intent names handled.
    var intentNames: Set<String> { get }
    /// Runs the action; failures come back as a reply with `succeeded == false`, never a throw,
    /// because the user must hear something either way.
    func handle(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply
}

extension String {
    /// "twelve times fourteen" -> "Twelve times fourteen".
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

/// Sends each recognised intent to the skill that handles it; intents with a `command:` in
/// their file go to the command hook.
public struct SkillRouter: Sendable {
    public let skills: [any Skill]
    public let intents: IntentSet
    let hooks: CommandHookSkill

    public init(intents: IntentSet, skills: [any Skill] = SkillRouter.builtInSkills) {
        self.intents = intents
        self.skills = skills
        self.hooks = CommandHookSkill(intents: intents)
    }

    /// The built-in skills.
    public static let builtInSkills: [any Skill] = [
        TimeDateSkill(), TimerSkill(), CalculatorSkill(), UnitConversionSkill(), NotesSkill(), VolumeSkill(),
    ]

    /// The skill for `name`, if any (command hooks first: a user file may take over a built-in).
    func skill(for name: String) -> (any Skill)? {
        if intents.intent(named: name)?.command != nil { return hooks }
        return skills.first { $0.intentNames.contains(name) }
    }

    /// Runs the intent's skill.
    public func run(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply {
        guard let skill = skill(for: intent.name) else {
            return .failure("I understood \(intent.name), but no skill is set up to handle it.", error: "no_skill")
        }
        return await skill.handle(intent, context: context)
    }
}

/// Text in, reply out: recognise, then run the skill. Returns nil when no intent matches, so
/// the caller can hand the question to another responder (the local LLM).
public struct IntentResponder: Sendable {
    public let recognizer: IntentRecognizer
    public let router: SkillRouter

    public init(intents: IntentSet, options: RecognizerOptions = .default) {
        recognizer = IntentRecognizer(intents: intents, options: options)
        router = SkillRouter(intents: intents)
    }

    /// The matched intent and its skill's reply, or nil if no intent was accepted.
    public func respond(to text: String, context: SkillContext) async -> (intent: ParsedIntent, reply: SkillReply)? {
        guard let intent = recognizer.recognize(text).intent else { return nil }
        return (intent, await router.run(intent, context: context))
    }
}
