/// ``WhisperTranscriber`` seen as a ``SpeechTranscribing`` stage: the transcript's text with
/// fixed decoding options.
public struct WhisperSpeechTranscriber: SpeechTranscribing {
    public let transcriber: WhisperTranscriber
    public let options: TranscriptionOptions

    public init(_ transcriber: WhisperTranscriber, options: TranscriptionOptions = .default) {
        self.transcriber = transcriber
        self.options = options
    }

    public func transcribe(_ samples: [Float]) async throws -> String {
        try await transcriber.transcribe(samples, options: options).text
    }
}
