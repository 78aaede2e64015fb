import CALSA
import Foundation

/// Records from an ALSA capture device, one period at a time.
///
/// ```swift
/// let capture = try AudioCapture(device: "default")          // 16 kHz mono, 100 ms periods
/// while let chunk = try capture.read() { detector.feed(chunk) }
/// ```
///
/// Opening negotiates interleaved S16_LE (else S32_LE, else FLOAT_LE) at the requested channel
/// count and rate, or the nearest the device offers; `read()` converts whatever the device
/// delivers to `sampleRate` and `channels` (averaging/duplicating channels, windowed-sinc
/// resampling), so callers always get what they asked for. `deviceFormat` tells what the device
/// actually runs at.
///
/// Each `read()` is one `snd_pcm_readi` of one device period (the `file` plugin returns no file
/// data for reads larger than its buffer, and a period keeps latency low). An overrun (`-EPIPE`:
/// the caller read too slowly) or a suspend (`-ESTRPIPE`) is recovered with `snd_pcm_recover`
/// and counted in `overruns`; a vanished device throws `AudioError.deviceLost`.
///
/// End of stream: a live device never ends, so `read()` returns nil only when the device is
/// ALSA's `file` plugin (defined in the `configuration`) reading raw samples from an `infile`,
/// after that file's frames have been delivered. Everything ALSA delivers after the infile runs
/// out would be the slave's silence.
///
/// Threading: all methods lock an internal mutex, so a capture may be shared between tasks;
/// `read()` blocks its caller for up to one period (on hardware) while holding that lock. The
/// handle is closed (`snd_pcm_close`) when the object is released.
public final class AudioCapture: @unchecked Sendable {
    /// The ALSA name it was opened with.
    public let device: String
    /// Rate of the samples `read()` returns, in Hz.
    public let sampleRate: Int
    /// Channels (interleaved) of the samples `read()` returns.
    public let channels: Int
    /// What the device negotiated.
    public let deviceFormat: PCMFormat
    /// Frames the file plugin's infile holds (see "End of stream"), nil for live devices.
    public let inputFrameLimit: Int?

    private let handle: PCMHandle
    private var converter: StreamConverter
    private let lock = NSLock()
    private var framesRead = 0
    private var finished = false
    private var buffer: [UInt8]
    private var overrunCount = 0

    /// Opens `device` (`default`, `hw:1,0`, `plughw:1,0`, or a name defined in `configuration`).
    /// - Parameters:
    ///   - periodFrames: frames per `read()` at `sampleRate` (1600 = 100 ms at 16 kHz).
    ///   - configuration: an in-memory ALSA configuration to resolve `device` in (see
    ///     `ALSAConfiguration`); nil uses the system configuration.
    /// - Throws: `AudioError.deviceUnavailable` for an unknown or busy device,
    ///   `.deviceFormatUnsupported` when it offers nothing usable, `.invalidArgument`.
    public convenience init(device: String, sampleRate: Int = 16000, channels: Int = 1, periodFrames: Int = 1600,
                            configuration: ALSAConfiguration? = nil) throws {
        try self.init(device: device, sampleRate: sampleRate, channels: channels, periodFrames: periodFrames,
                      configuration: configuration, sampleFormats: nil)
    }

    /// `sampleFormats` restricts the device formats tried, and `deviceRate`/`deviceChannels`
    /// ask the device for something other than what the caller gets: tests use them to exercise
    /// each decoder and the conversion path through the file plugin.
    init(device: String, sampleRate: Int, channels: Int, periodFrames: Int, configuration: ALSAConfiguration?,
         sampleFormats: [String]?, deviceRate: Int? = nil, deviceChannels: Int? = nil) throws {
        try PCMHandle.validate(sampleRate: sampleRate, channels: channels, periodFrames: periodFrames)
        let rate = deviceRate ?? sampleRate
        let handle = try PCMHandle(device: device, stream: SND_PCM_STREAM_CAPTURE, sampleRate: rate,
                                   channels: deviceChannels ?? channels,
                                   periodFrames: max(1, periodFrames * rate / max(1, sampleRate)),
                                   configuration: configuration, sampleFormats: sampleFormats)
        self.handle = handle
        self.device = device
        self.sampleRate = sampleRate
        self.channels = channels
        deviceFormat = handle.format
        converter = try StreamConverter(fromRate: handle.format.sampleRate, fromChannels: handle.format.channels,
                                        toRate: sampleRate, toChannels: channels)
        buffer = [UInt8](repeating: 0, count: handle.format.periodFrames * handle.format.channels * handle.bytesPerSample)
        inputFrameLimit = configuration.flatMap {
            AudioCapture.infileFrames(device: device, configuration: $0,
                                      bytesPerFrame: handle.format.channels * handle.bytesPerSample)
        }
    }

    /// Overruns and suspends recovered from so far.
    public var overruns: Int { lock.withLock { overrunCount } }

    /// Reads one period and returns it converted to `sampleRate`/`channels`, interleaved, in
    /// -1..<1. Returns nil at the end of a file-plugin stream. With resampling, the first reads
    /// may return fewer samples (the filter's look-ahead); the stream's end flushes the rest.
    public func read() throws -> [Float]? {
        try lock.withLock {
            if finished { return nil }
            var frames = deviceFormat.periodFrames
            if let limit = inputFrameLimit {
                frames = min(frames, limit - framesRead)
                if frames <= 0 {
                    finished = true
                    let tail = converter.finish()
                    return tail.isEmpty ? nil : tail
                }
            }
            let got = try readFrames(frames)
            framesRead += got
            let samples = buffer.withUnsafeBytes { handle.decode($0, samples: got * deviceFormat.channels) }
            return converter.process(samples)
        }
    }

    /// Reads up to `frames` device frames into `buffer`, recovering from overruns/suspends.
    private func readFrames(_ frames: Int) throws -> Int {
        while true {
            ALSA.clearDiagnostic()
            let rc = buffer.withUnsafeMutableBytes { snd_pcm_readi(handle.pcm, $0.baseAddress, snd_pcm_uframes_t(frames)) }
            if rc >= 0 { return rc }
            try recover(Int32(truncatingIfNeeded: rc))
        }
    }

    /// Recovers from `-EPIPE` (overrun), `-ESTRPIPE` (suspend) and `-EINTR` with
    /// `snd_pcm_recover`; throws for anything else (a lost device as `deviceLost`).
    func recover(_ rc: Int32) throws {
        switch -rc {
        case EPIPE, ESTRPIPE, EINTR:
            if -rc != EINTR { overrunCount += 1 }
            try ALSA.check(snd_pcm_recover(handle.pcm, rc, 1), "snd_pcm_recover", device: device)
        case EAGAIN:
            return
        default:
            throw ALSA.error(rc, "snd_pcm_readi", device: device)
        }
    }

    /// Test seam: feeds `rc` to the recovery path as if `snd_pcm_readi` had returned it.
    func simulateReadError(_ rc: Int32) throws { try lock.withLock { try recover(rc) } }

    /// For a `type file` PCM with a raw `infile`, the whole frames that file holds.
    static func infileFrames(device: String, configuration: ALSAConfiguration, bytesPerFrame: Int) -> Int? {
        let key = "pcm.\(device)"
        guard configuration.string(at: key + ".type") == "file",
              let infile = configuration.string(at: key + ".infile") else { return nil }
        if let format = configuration.string(at: key + ".format"), format != "raw" { return nil }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: infile),
              let size = (attributes[.size] as? NSNumber)?.intValue else { return nil }
        return size / bytesPerFrame
    }
}

extension NSLock {
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
