import ASR
import ArgumentParser
import Assistant
import Audio
import Foundation
import Intent
import VAD

/// `hark assist`: the voice assistant in the foreground, with a readable transcript.
struct AssistCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assist",
        abstract: "Run the voice assistant in the foreground: wake phrase, command, spoken answer.",
        discussion: """
            Listens to an ALSA capture device (or a WAV file played in real time), waits for the \
            wake phrase, transcribes the command with Whisper, answers it with the offline skills \
            (time, timers, calculator, conversions, notes, volume, your intent hooks) or, when no \
            intent matches, the local language model, and speaks the answer with espeak-ng. The \
            conversation is printed as it happens:

              you: Hey Hark, what time is it?
              hark: It's 5:04 PM.

            Modes (--mode):
              wake    (default) say the wake phrase first: "hey hark, what time is it", or \
            "hey hark", a pause, then the command within --follow-on seconds. Near misses \
            ("hey mark", "hey hart", "a hark") are accepted.
              always  every utterance is a command (a quiet room, or a headset).
              ptt     push-to-talk: press Enter to start talking and Enter again to stop; only \
            what is said in between is heard (a terminal cannot see a key being held, so it is \
            press-to-start, press-to-stop).

            While Hark speaks it does not listen: the microphone is replaced by silence until the \
            reply has played, plus a short tail, so its own voice never becomes a command. Timers \
            ring with a spoken alert while `hark assist` runs. Nothing is written to disk.

            A command the skills understand as a whole ("set a timer for ten minutes", not "set a \
            timer for") is answered as soon as you pause (as your voice fades, a fast decode \
            that a second decode on another window must read alike), without waiting for the \
            600 ms of silence that ends an utterance; questions for the \
            language model and commands with free text ("remind me to ...") wait for it. \
            --wait-for-endpoint always waits.

            Examples:
              hark assist                                   # default devices, wake phrase "hey hark"
              hark assist --device plughw:1,0 --output-device plughw:1,0
              hark assist --mode always --no-llm            # skills only, no wake phrase
              hark assist --wake-phrase "ok computer"
              hark assist --input question.wav --no-speak   # a recording, played in real time
              hark assist --input question.wav --json       # one JSON object per event
              hark assist --mode ptt

            --json events: wake, partial, final, intent, replyPiece, reply, timer, speaking, error \
            (the same lines `hark serve` sends to subscribers).
            """)

    @Option(help: "ALSA capture device (default, plughw:1,0, or a name from --alsa-config).")
    var device: String = "default"

    @Option(help: "Listen to this WAV file instead of a device.")
    var input: String?

    @Flag(inversion: .prefixedNo, help: "Pace --input in real time, as a microphone would deliver it.")
    var realtime = true

    @Option(help: "ALSA configuration file defining --device and/or --output-device (e.g. the file plugin).")
    var alsaConfig: String?

    @Option(help: "ALSA playback device for the spoken replies.")
    var outputDevice: String = "default"

    @Option(help: "wake (say the wake phrase first), always (every utterance is a command), or ptt (push-to-talk with Enter).")
    var mode: AssistantConfig.Mode = .wake

    @Option(help: "The wake phrase (one to four words).")
    var wakePhrase: String = WakePhrase.defaultText

    @Option(help: "Seconds after the wake phrase said alone in which the next utterance is the command.")
    var followOn: Double = AssistantConfig.default.followOnSeconds

    @Flag(help: "Answer only after the utterance has ended (its trailing silence), never on a pause.")
    var waitForEndpoint = false

    @Flag(help: "Print and report replies, but do not speak them.")
    var noSpeak = false

    @Flag(help: "Skills only: do not load the language model (questions no intent covers get a short refusal).")
    var noLlm = false

    @Option(name: .customLong("intents"), help: "Extra intent file (YAML); repeatable.")
    var intentFiles: [String] = []

    @Flag(help: "Print one JSON object per event instead of the transcript.")
    var json = false

    @Option(help: "Whisper model folder. Default: the installed whisper-tiny.en.")
    var whisperModel: String?

    @Option(help: "Silero VAD safetensors file. Default: the installed one; without it, an energy detector.")
    var vadModel: String?

    @Option(help: "espeak-ng voice for the replies (see `espeak-ng --voices`).")
    var voice: String = SpeechSynthesizer.Voice.default.name

    @Option(help: "Speaking rate in words per minute (80...450).")
    var wordsPerMinute: Int = SpeechSynthesizer.Voice.default.wordsPerMinute

    @OptionGroup(title: "Language model (answers what no intent covers)") var languageModel: LanguageModelOptions

    func validate() throws {
        guard (try? WakePhrase(wakePhrase)) != nil else {
            throw ValidationError("--wake-phrase needs one to four words, e.g. \"hey hark\"")
        }
        guard followOn >= 0, followOn.isFinite else { throw ValidationError("--follow-on must be 0 or more seconds") }
        guard (80...450).contains(wordsPerMinute) else { throw ValidationError("--words-per-minute must be in 80...450") }
        if let input, !FileManager.default.fileExists(atPath: input) {
            throw ValidationError("--input '\(input)' does not exist.")
        }
    }

    var assistantConfig: AssistantConfig {
        var config = AssistantConfig.default
        config.mode = mode
        config.wakePhrase = wakePhrase
        config.followOnSeconds = followOn
        config.answersOnPause = !waitForEndpoint
        return config
    }

    func run() async throws {
        let whisperURL = try ModelLocator.resolve(whisperModel, default: ModelLocator.whisperTinyEn, kind: "Whisper model folder")
        let vadURL = vadModel.map { URL(fileURLWithPath: $0) } ?? ModelLocator.locate(ModelLocator.sileroVAD)
        if vadModel != nil, !FileManager.default.fileExists(atPath: vadURL.path) {
            throw ValidationError("VAD model '\(vadURL.path)' does not exist.")
        }
        let alsa = try alsaConfig.map { try ALSAConfiguration(contentsOf: URL(fileURLWithPath: $0)) }

        var source: any AudioSourcing
        var paced = realtime
        if let input {
            source = try SamplesAudioSource(wavPath: input)
        } else {
            source = try CaptureAudioSource(device: device, configuration: alsa)
            paced = realtime && alsa != nil  // a real device paces itself
        }
        if paced { source = PacedAudioSource(source) }

        let printer = TranscriptPrinter(json: json)
        var host: LanguageModelHost?
        if !noLlm {
            do {
                host = LanguageModelHost(modelURL: try languageModel.modelURL(), threads: languageModel.threads)
            } catch where languageModel.model == nil {
                // Not installed: the skills still work.
                printer.note("\(ModelLocator.smolLM2) is not installed (scripts/setup); answering with the skills only.")
            }
        }
        var responderOptions = CommandResponder.Options()
        responderOptions.useLanguageModel = host != nil
        responderOptions.generation = languageModel.generationConfig
        if let host {
            // Loaded while the user speaks, so the first question is not slowed by it.
            Thread { _ = try? host.load() }.start()
        }
        let timers = TimerCenter()
        let responder = CommandResponder(
            intents: try IntentSet.standard(extraFiles: intentFiles.map { URL(fileURLWithPath: $0) }),
            timers: timers, languageModel: host, options: responderOptions)
        let speech: any SpeechOutput = noSpeak ? SilentSpeechOutput()
            : SpeakerOutput(device: outputDevice, configuration: alsa,
                            voice: .init(name: voice, wordsPerMinute: wordsPerMinute))
        let pipeline = try AssistantPipeline(
            recognizer: try WhisperTranscriber(modelDirectory: whisperURL),
            detector: try VoiceActivityDetectors.makeDefault(sileroModel: vadURL),
            responder: responder, speech: speech, config: assistantConfig) { printer.show($0) }

        if !json {
            let source = input.map { "'\($0)'" } ?? "ALSA device '\(device)'"
            switch mode {
            case .wake: printer.note("Listening to \(source); say \"\(pipeline.wakePhrase.text)\" and a command.")
            case .always: printer.note("Listening to \(source); every utterance is a command.")
            case .pushToTalk: printer.note("Listening to \(source); press Enter to talk, Enter again to stop.")
            }
        }
        if mode == .pushToTalk { startPushToTalk(pipeline.gate, printer: printer) }
        try await pipeline.run(from: source, lossless: input != nil && !paced)
        let pending = await timers.list(.timer).count + timers.list(.alarm).count
        if pending > 0 { printer.note("\(pending) timer(s) or alarm(s) still pending were dropped (the input ended).") }
    }

    /// Enter toggles talking; the prompt says which state the user is in.
    private func startPushToTalk(_ gate: MicrophoneGate, printer: TranscriptPrinter) {
        let thread = Thread {
            while readLine() != nil {
                printer.note(gate.toggleTalking() ? "Talking... press Enter to stop." : "Stopped; press Enter to talk.")
            }
        }
        thread.name = "hark.assist.push-to-talk"
        thread.start()
    }
}

extension AssistantConfig.Mode: ExpressibleByArgument {}

/// Prints the conversation ("you: ...", "hark: ...") or one JSON line per event.
final class TranscriptPrinter: @unchecked Sendable {
    let json: Bool
    private let lock = NSLock()
    private var replyOpen = false

    init(json: Bool) { self.json = json }

    func show(_ event: AssistantEvent) {
        lock.withLock {
            if json { return write(event.json + "\n") }
            switch event {
            case .wake:
                write("(listening)\n")
            case let .final(text, _, _):
                write("you: \(text)\n")
            case let .replyPiece(piece, _):
                var text = piece
                if !replyOpen {
                    write("hark: ")
                    replyOpen = true
                    text = String(piece.drop(while: \.isWhitespace))
                }
                write(text)
            case .reply:
                if replyOpen { write("\n") }
                replyOpen = false
            case let .timer(id, kind, name, fired) where fired:
                write("(\(kind) \(id)\(name.map { " '\($0)'" } ?? "") is ringing)\n")
            case let .error(message):
                FileHandle.standardError.write(Data("hark: \(message)\n".utf8))
            default:
                break
            }
        }
    }

    /// A line about the session (on standard error, so the transcript stays clean).
    func note(_ text: String) {
        guard !json else { return }
        FileHandle.standardError.write(Data("hark: \(text)\n".utf8))
    }

    /// Unbuffered, so streamed replies appear as they are generated.
    private func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
}
