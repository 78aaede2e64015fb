import ArgumentParser

/// The `hark` command line. Each subcommand lives in its own file and stays thin:
/// parse, validate, build a configuration, call the library, format the result.
@main
struct Hark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hark",
        abstract: "An offline voice assistant: speech in, answers out, nothing leaves this machine.",
        discussion: """
            Everything runs locally: ALSA capture, Whisper speech recognition, intent matching, \
            offline skills and a small local language model. Models live in the models folder \
            that `scripts/setup` fills (see `hark models`); set HARK_MODELS to use another one.
            """,
        version: "0.1.0",
        subcommands: [
            TranscribeCommand.self,
            ListenCommand.self,
            AskCommand.self,
            AssistCommand.self,
            ChatCommand.self,
            IntentCommand.self,
            EvalCommand.self,
            DevicesCommand.self,
            RecordCommand.self,
            PlayCommand.self,
            ModelsCommand.self,
            ServeCommand.self,
            StatusCommand.self,
            QueryCommand.self,
            SayCommand.self,
            EventsCommand.self,
        ]
    )
}
