import Foundation
import Intent

/// Watches a `TimerCenter` and reports timers and alarms as they go off. The center's clock
/// decides when (a `ManualClock` in tests); the watcher only sleeps in real time between looks,
/// at most `pollInterval`, so a timer set or a clock moved meanwhile is noticed promptly.
///
/// ```swift
/// for await fired in TimerAlarms.firings(of: center) { try await speech.speak(TimerAlarms.alert(for: fired)) }
/// ```
public enum TimerAlarms {
    /// Fired timers and alarms, in deadline order, until the consumer stops.
    public static func firings(of center: TimerCenter, pollInterval: Duration = .milliseconds(250)) -> AsyncStream<ActiveTimer> {
        let (stream, continuation) = AsyncStream<ActiveTimer>.makeStream()
        let task = Task {
            while !Task.isCancelled {
                for fired in await center.fireDue() { continuation.yield(fired) }
                var wait = pollInterval
                if let next = await center.nextDeadline() {
                    let left = next.timeIntervalSince(await center.now)
                    wait = min(wait, .milliseconds(Int64(max(0, left) * 1000)))
                }
                try? await Task.sleep(for: max(wait, .milliseconds(10)))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// What Hark says when `timer` goes off.
    public static func alert(for timer: ActiveTimer) -> String {
        switch timer.kind {
        case .timer:
            if let name = timer.name { return "Your \(name) timer is done." }
            return "Your timer for \(DurationParser.spoken(timer.duration)) is done."
        case .alarm:
            return timer.name.map { "It's time: \($0)." } ?? "This is your alarm."
        }
    }

    /// The `timer` event for a firing.
    public static func event(for timer: ActiveTimer) -> AssistantEvent {
        .timer(id: timer.id, kind: timer.kind.rawValue, name: timer.name, fired: true)
    }
}
