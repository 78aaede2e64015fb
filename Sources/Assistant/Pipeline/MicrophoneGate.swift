import Foundation

/// Decides when captured audio reaches the recognizer. Closed while Hark speaks and for a short
/// tail after (room echo, the device's playback latency), so Hark never hears itself as a
/// command; in push-to-talk mode also closed unless the user is talking; closed while muted.
///
/// Threading: every method locks; called from the capture thread and any task.
public final class MicrophoneGate: @unchecked Sendable {
    /// How long the gate stays closed after speech ends.
    public let tail: Duration
    /// Push-to-talk: open only between `setTalking(true)` and `setTalking(false)`.
    public let pushToTalk: Bool

    private let lock = NSLock()
    private var speakers = 0
    private var reopenAt: ContinuousClock.Instant?
    private var talking = false
    private var muted = false
    private let clock = ContinuousClock()

    public init(tail: Duration = .milliseconds(400), pushToTalk: Bool = false) {
        self.tail = tail
        self.pushToTalk = pushToTalk
    }

    /// Whether captured audio passes now.
    public var isOpen: Bool {
        lock.withLock {
            if muted || speakers > 0 || (pushToTalk && !talking) { return false }
            if let reopenAt, clock.now < reopenAt { return false }
            return true
        }
    }

    /// Hark starts speaking (calls nest: the gate reopens after the last one ends, plus the tail).
    public func speakingStarted() { lock.withLock { speakers += 1 } }

    public func speakingEnded() {
        lock.withLock {
            speakers = max(0, speakers - 1)
            if speakers == 0 { reopenAt = clock.now + tail }
        }
    }

    /// Push-to-talk: the user started (true) or stopped (false) talking.
    public func setTalking(_ value: Bool) { lock.withLock { talking = value } }

    /// Push-to-talk: flips talking and returns the new state (one key for start and stop).
    @discardableResult
    public func toggleTalking() -> Bool { lock.withLock { talking.toggle(); return talking } }

    public var isTalking: Bool { lock.withLock { talking } }

    /// Muted: nothing is heard until unmuted.
    public func setMuted(_ value: Bool) { lock.withLock { muted = value } }
    public var isMuted: Bool { lock.withLock { muted } }
}

/// Another source's audio with silence (zeros) in place of every chunk read while `gate` is
/// closed. The stream keeps its length, so the listener's times stay those of the microphone.
public final class GatedAudioSource: AudioSourcing, @unchecked Sendable {
    public let inner: any AudioSourcing
    public let gate: MicrophoneGate
    public var sampleRate: Int { inner.sampleRate }

    public init(_ inner: any AudioSourcing, gate: MicrophoneGate) {
        self.inner = inner
        self.gate = gate
    }

    public func read() throws -> [Float]? {
        guard let chunk = try inner.read() else { return nil }
        return gate.isOpen ? chunk : [Float](repeating: 0, count: chunk.count)
    }
}
