import Foundation

/// A bounded FIFO of samples between the capture thread (one writer) and the recognizer
/// (one reader). Writing never waits on the reader unless asked to (`blockWhenFull`, for
/// unpaced files where no audio may be lost and none arrives in real time); a live writer that
/// finds the buffer full drops the oldest samples and counts them, so the reader can say so.
///
/// Threading: every method takes an internal condition lock; safe from any thread.
public final class SampleRingBuffer: @unchecked Sendable {
    public let capacity: Int
    public let blockWhenFull: Bool
    private var storage: [Float]
    private var head = 0          // index of the oldest sample
    private var count = 0
    private var closed = false
    private var wakeRequested = false
    private let condition = NSCondition()
    private var dropped = 0
    private var written = 0
    /// Samples dropped because the reader fell more than `capacity` behind.
    public var droppedSamples: Int { condition.withLock { dropped } }
    /// Samples written in all (read + dropped + waiting).
    public var writtenSamples: Int { condition.withLock { written } }

    public init(capacity: Int, blockWhenFull: Bool = false) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
        self.blockWhenFull = blockWhenFull
        storage = [Float](repeating: 0, count: capacity)
    }

    /// Samples waiting to be read.
    public var backlog: Int { condition.withLock { count } }

    /// Appends `samples`; see the type's note on what happens when full.
    public func write(_ samples: [Float]) {
        condition.lock()
        defer { condition.unlock() }
        var offset = 0
        while offset < samples.count {
            if count == capacity {
                if blockWhenFull && !closed {
                    condition.wait()
                    continue
                }
                // Drop the oldest to make room (counted).
                let drop = min(capacity, samples.count - offset)
                head = (head + drop) % capacity
                count -= drop
                dropped += drop
            }
            let n = min(capacity - count, samples.count - offset)
            for i in 0..<n { storage[(head + count + i) % capacity] = samples[offset + i] }
            count += n
            offset += n
            written += n
            condition.broadcast()
        }
    }

    /// Marks the end of the stream: readers get what is left, then nil.
    public func close() {
        condition.withLock { closed = true; condition.broadcast() }
    }

    /// Makes a reader waiting on an empty buffer return `[]` once (or the next read, if none
    /// waits now): the reader has other work that became ready.
    public func wakeReader() {
        condition.withLock { wakeRequested = true; condition.broadcast() }
    }

    /// Waits until samples are available (or the stream is closed, or `wakeReader()` was
    /// called: then `[]`) and takes up to `maxCount`. Returns nil once closed and drained.
    public func read(maxCount: Int) -> [Float]? {
        condition.lock()
        defer { condition.unlock() }
        while count == 0 && !closed && !wakeRequested { condition.wait() }
        if count == 0 && !closed && wakeRequested {
            wakeRequested = false
            return []
        }
        wakeRequested = false
        if count == 0 { return nil }
        let n = min(maxCount, count)
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = storage[(head + i) % capacity] }
        head = (head + n) % capacity
        count -= n
        condition.broadcast()
        return out
    }
}
