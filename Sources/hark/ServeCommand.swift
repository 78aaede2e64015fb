import ASR
import ArgumentParser
import Assistant
import Audio
import Foundation
import Intent
import LLM
import Logging
import VAD

/// `hark serve`: the assistant as a background service with a local JSON-lines API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the assistant in the background: listen, answer, keep timers, serve the local API.",
        discussion: """
            Reads its settings from $XDG_CONFIG_HOME/hark/config.yaml (or --config; see \
            contrib/config.example.yaml), listens on the configured ALSA device, and answers on a \
            Unix socket ($XDG_RUNTIME_DIR/hark/hark.sock, mode 0600): `hark status`, `hark query`, \
            `hark say`, `hark events`. Pending timers are kept in $XDG_STATE_HOME/hark/timers.json \
            and come back after a restart (ones that ran out meanwhile ring at once). SIGTERM or \
            Ctrl-C finishes the reply being spoken, saves the timers, removes the socket and exits 0.
            No network is used; nothing heard is written to disk unless `history: true`.

            Examples:
              hark serve
              hark serve --config ~/hark.yaml --no-speak
              hark serve --input test.wav                       # a WAV played in real time as the microphone
              hark serve --alsa-config file.conf --device harkfile
            """)

    @Option(help: "Config file (YAML). Default: $XDG_CONFIG_HOME/hark/config.yaml, defaults when absent.")
    var config: String?

    @Option(help: "ALSA capture device (overrides input_device).")
    var device: String?

    @Option(help: "Listen to this WAV file (played in real time) instead of a device; the service keeps running after it ends.")
    var input: String?

    @Option(help: "ALSA configuration file defining --device (e.g. the file plugin).")
    var alsaConfig: String?

    @Flag(inversion: .prefixedNo, help: "Pace --input and devices from --alsa-config in real time, as a microphone would.")
    var realtime = true

    @Flag(help: "Do not speak (overrides speak: true).")
    var noSpeak = false

    @Option(help: "Socket path (overrides socket).")
    var socket: String?

    @Option(help: "State folder for timers.json (overrides state_dir).")
    var stateDir: String?

    @Flag(help: "Testing: the timer clock starts at the current time and only moves with the API's `advance` request.")
    var testClock = false

    func validate() throws {
        if input != nil && alsaConfig != nil { throw ValidationError("--input and --alsa-config exclude each other") }
    }

    func run() async throws {
        var settings = try ServiceConfig.load(path: config ?? ServiceConfig.defaultPath, mustExist: config != nil)
        if let device { settings.inputDevice = device }
        if noSpeak { settings.speak = false }
        if let socket { settings.socket = socket }
        if let stateDir { settings.stateDirectory = stateDir }
        let level = Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "hark.serve")

        // Models: the config's, else the installed defaults.
        let whisperURL = try ModelLocator.resolve(settings.models.whisper, default: ModelLocator.whisperTinyEn, kind: "Whisper model folder (models.whisper)")
        let vadURL = settings.models.vad.map { URL(fileURLWithPath: $0) } ?? ModelLocator.locate(ModelLocator.sileroVAD)
        if settings.models.vad != nil, !FileManager.default.fileExists(atPath: vadURL.path) {
            throw ValidationError("VAD model '\(vadURL.path)' (models.vad) does not exist.")
        }
        let llmURL = settings.llm.enabled
            ? try ModelLocator.resolve(settings.models.llm, default: ModelLocator.smolLM2, kind: "Language model file (models.llm)") : nil
        var models = ["whisper": whisperURL.lastPathComponent,
                      "vad": FileManager.default.fileExists(atPath: vadURL.path) ? vadURL.lastPathComponent : "energy"]
        models["llm"] = llmURL?.lastPathComponent ?? "off"

        // Timers: restored before anything can set new ones.
        let clock = testClock ? ManualClock(Date()) : nil
        let center = TimerCenter(clock: clock ?? SystemClock())
        let keeper = TimerKeeper(center: center, store: TimerStore(directory: settings.resolvedStateDirectory))
        let restored = try await keeper.restore()
        if restored > 0 { logger.info("restored \(restored) pending timer(s) from \(keeper.store.url.path)") }

        var options = CommandResponder.Options()
        options.useLanguageModel = settings.llm.enabled
        var generation = settings.llm.temperature == 0 ? GenerationConfig.greedy : GenerationConfig(temperature: settings.llm.temperature)
        generation.maxTokens = settings.llm.maxTokens
        options.generation = generation
        let languageModel = llmURL.map { LanguageModelHost(modelURL: $0, threads: settings.llm.threads) }
        let responder = CommandResponder(intents: try IntentSet.standard(), timers: center,
                                         languageModel: languageModel,
                                         options: options)
        var assistantConfig = AssistantConfig()
        assistantConfig.mode = settings.mode == .always ? .always : .wake
        assistantConfig.wakePhrase = settings.wakePhrase
        assistantConfig.answersOnPause = settings.answerOnPause
        assistantConfig.announcesTimers = false // the service rings (and saves) them
        let speech: any SpeechOutput = settings.speak ? SpeakerOutput(device: settings.outputDevice) : SilentSpeechOutput()
        let relay = ServiceEventRelay(events: EventHub(),
                                      historyFile: settings.history ? settings.resolvedStateDirectory + "/history.jsonl" : nil)
        var listenerConfig = ListenerConfig.commands
        listenerConfig.partials = true
        let pipeline = try AssistantPipeline(
            recognizer: try WhisperTranscriber(modelDirectory: whisperURL),
            detector: try VoiceActivityDetectors.makeDefault(sileroModel: vadURL),
            listenerConfig: listenerConfig, responder: responder, speech: speech, config: assistantConfig,
            onEvent: relay.handle)
        let service = AssistantService(settings: .init(config: settings, models: models, testClock: clock),
                                       pipeline: pipeline, keeper: keeper, relay: relay, logger: logger)

        // Signals are handled by a dispatch source, not an async-unsafe handler.
        let stop = ShutdownSignal()
        for signalNumber in [SIGTERM, SIGINT] { stop.watch(signalNumber) }

        let server = ControlSocketServer(path: settings.resolvedSocket, handler: service, events: relay.events)
        try server.start()
        logger.notice("listening for API clients on \(server.path) (mode \(settings.mode.rawValue), models \(models.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))")

        let timers = Task { await service.runTimers() }
        let source = try audioSource(device: settings.inputDevice)
        let voice = Task {
            service.setVoiceState("listening")
            do {
                try await pipeline.run(from: source, lossless: !realtime && (input != nil || alsaConfig != nil))
                logger.notice("audio input ended; still serving the API")
                service.setVoiceState("ended")
            } catch is CancellationError {
                service.setVoiceState("off")
            } catch {
                logger.error("listening stopped: \(error)")
                service.setVoiceState("failed: \(error)")
            }
        }

        let signalName = await stop.wait()
        logger.notice("\(signalName): finishing the current reply, then stopping")
        pipeline.gate.setMuted(true) // no new spoken commands
        await service.finishCurrentReplies(timeout: 60)
        voice.cancel()
        timers.cancel()
        server.stop()
        do { try await keeper.saveIfChanged() } catch { logger.error("could not save the timers: \(error)") }
        logger.notice("stopped")
    }

    private func audioSource(device: String) throws -> any AudioSourcing {
        let source: any AudioSourcing
        if let input {
            source = try SamplesAudioSource(wavPath: input)
        } else if let alsaConfig {
            source = try CaptureAudioSource(device: device, configuration: try ALSAConfiguration(contentsOf: URL(fileURLWithPath: alsaConfig)))
        } else {
            return try CaptureAudioSource(device: device) // a sound card paces itself
        }
        return realtime ? PacedAudioSource(source) : source
    }
}

/// SIGTERM/SIGINT as an awaitable event (dispatch sources: the handler runs on a queue, not in
/// signal context).
final class ShutdownSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var received: String?
    private var waiter: CheckedContinuation<String, Never>?
    private var sources: [DispatchSourceSignal] = []

    func watch(_ number: Int32) {
        signal(number, SIG_IGN) // the dispatch source sees it instead of the default action
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        let name = number == SIGTERM ? "SIGTERM" : number == SIGINT ? "SIGINT" : "signal \(number)"
        source.setEventHandler { [self] in fire(name) }
        source.resume()
        lock.withLock { sources.append(source) }
    }

    private func fire(_ name: String) {
        let waiting: CheckedContinuation<String, Never>? = lock.withLock {
            guard received == nil else { return nil }
            received = name
            defer { waiter = nil }
            return waiter
        }
        waiting?.resume(returning: name)
    }

    /// The name of the first signal received.
    func wait() async -> String {
        await withCheckedContinuation { continuation in
            let already: String? = lock.withLock {
                if let received { return received }
                waiter = continuation
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }
}
