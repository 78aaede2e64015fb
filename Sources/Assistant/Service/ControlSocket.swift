import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Errors of the assistant service and its local API.
public enum AssistantError: Error, Sendable, CustomStringConvertible {
    case socket(path: String, operation: String, errno: Int32)
    case socketPathTooLong(String)
    case alreadyRunning(path: String)
    case notRunning(path: String)
    case badReply(String)
    /// A bad service config file; `key` is the dotted setting name ("llm.max_tokens") when known.
    case config(file: String, key: String?, problem: String)
    /// The pending-timers file could not be written or read.
    case timerState(path: String, problem: String)

    public var description: String {
        switch self {
        case .socket(let path, let operation, let code):
            "\(operation) failed on \(path): \(String(cString: strerror(code)))"
        case .socketPathTooLong(let path):
            "socket path is too long for a Unix domain socket (\(path.utf8.count) bytes, at most 107): \(path)"
        case .alreadyRunning(let path):
            "another hark service is already listening on \(path)"
        case .notRunning(let path):
            "no hark service is listening on \(path) (start one with `hark serve`)"
        case .badReply(let line):
            "the service sent a reply that is not JSON: \(line.prefix(200))"
        case .config(let file, let key, let problem):
            "config \(file): " + (key.map { "\($0) " } ?? "") + problem
        case .timerState(let path, let problem):
            "timer state \(path): \(problem)"
        }
    }
}

/// A request line of the local API: one JSON object per line, `{"cmd": "...", ...}`.
public struct ServiceRequest: Sendable, Codable, Equatable {
    public var cmd: String
    public var text: String?
    /// `ask` only: send the reply's pieces as `{"event":"piece","text":...}` lines as they are
    /// generated, before the final reply line.
    public var stream: Bool?
    /// `advance` only (services started with a test clock): seconds to move the clock.
    public var seconds: Double?
    public init(cmd: String, text: String? = nil, stream: Bool? = nil, seconds: Double? = nil) {
        self.cmd = cmd
        self.text = text
        self.stream = stream
        self.seconds = seconds
    }
}

/// Answers API requests. `subscribe` is handled by the server itself (it streams `EventHub` events).
public protocol ServiceRequestHandling: Sendable {
    /// The reply object for one request (it becomes one JSON line). Throwing gives an error reply.
    func reply(to request: ServiceRequest) async throws -> [String: any Sendable]
    /// Like `reply(to:)`, sending progress lines (streamed reply pieces) through `progress` first.
    func reply(to request: ServiceRequest, progress: @escaping @Sendable ([String: any Sendable]) -> Void) async throws -> [String: any Sendable]
}

extension ServiceRequestHandling {
    public func reply(to request: ServiceRequest, progress: @escaping @Sendable ([String: any Sendable]) -> Void) async throws -> [String: any Sendable] {
        try await reply(to: request)
    }
}

/// Fans events (wake, partial, final, intent, reply, timer) out to every subscribed client.
public final class EventHub: @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [UUID: @Sendable (Data) -> Bool] = [:]

    public init() {}

    /// Sends `event` (a JSON object) to every subscriber; subscribers whose socket is gone are dropped.
    public func publish(_ event: [String: any Sendable]) {
        guard let line = try? JSONLine.encode(event) else { return }
        publish(line: line)
    }

    /// Sends one already encoded JSON line (ending with a newline) to every subscriber.
    public func publish(line: Data) {
        lock.lock()
        let current = subscribers
        lock.unlock()
        for (id, send) in current where !send(line) {
            remove(id)
        }
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return subscribers.count
    }

    func add(_ send: @escaping @Sendable (Data) -> Bool) -> UUID {
        let id = UUID()
        lock.lock()
        subscribers[id] = send
        lock.unlock()
        return id
    }

    func remove(_ id: UUID) {
        lock.lock()
        subscribers[id] = nil
        lock.unlock()
    }
}

enum JSONLine {
    static func encode(_ object: [String: any Sendable]) throws -> Data {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        data.append(0x0A)
        return data
    }
}

/// The service's local API: JSON lines over a Unix domain socket (never an internet socket),
/// created with mode 0600 in a 0700 folder so only the user can talk to the assistant.
///
/// Threading: `start()` spawns one accept thread and one thread per client; the handler is called
/// from those threads through Swift concurrency. `stop()` closes the listening socket and unlinks it.
public final class ControlSocketServer: @unchecked Sendable {
    /// Longest request line accepted; longer lines get an error reply and are discarded.
    public static let maximumLineBytes = 64 * 1024

    public let path: String
    public let events: EventHub
    private let handler: any ServiceRequestHandling
    private let lock = NSLock()
    private var listener: Int32 = -1

    public init(path: String, handler: any ServiceRequestHandling, events: EventHub = EventHub()) {
        self.path = path
        self.handler = handler
        self.events = events
    }

    /// The default socket: `$XDG_RUNTIME_DIR/hark/hark.sock` (or `/tmp/hark-<uid>/hark.sock`).
    public static var defaultPath: String {
        let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        let folder = runtime.map { $0 + "/hark" } ?? "/tmp/hark-\(getuid())"
        return folder + "/hark.sock"
    }

    /// Binds and starts accepting clients in the background.
    public func start() throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        if FileManager.default.fileExists(atPath: path) {
            if (try? UnixSocket.connect(path)).map({ close($0) }) != nil {
                throw AssistantError.alreadyRunning(path: path)
            }
            unlink(path) // stale socket from a crashed service
        }
        let fd = try UnixSocket.listen(path)
        guard chmod(path, 0o600) == 0 else {
            let code = errno
            close(fd)
            throw AssistantError.socket(path: path, operation: "chmod", errno: code)
        }
        lock.lock()
        listener = fd
        lock.unlock()
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "hark-api-accept"
        thread.start()
    }

    /// Stops accepting clients and removes the socket file.
    public func stop() {
        lock.lock()
        let fd = listener
        listener = -1
        lock.unlock()
        guard fd >= 0 else { return }
        // Only wake the accept thread here: it closes the descriptor itself once `accept` fails,
        // so the number cannot be reused by another socket while that thread still accepts on it.
        shutdown(fd, Int32(SHUT_RDWR))
        unlink(path)
    }

    deinit { stop() }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                close(fd) // shut down by stop()
                return
            }
            let thread = Thread { [self] in serve(client) }
            thread.name = "hark-api-client"
            thread.start()
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var reader = LineReader(fd: client, maximum: Self.maximumLineBytes)
        while let line = reader.next() {
            switch line {
            case .tooLong:
                guard send(["ok": false, "error": "request line longer than \(Self.maximumLineBytes) bytes"], to: client) else { return }
            case .line(let data):
                if data.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                guard let request = try? JSONDecoder().decode(ServiceRequest.self, from: data) else {
                    guard send(["ok": false, "error": "malformed request: expected a JSON object with a \"cmd\" string"], to: client) else { return }
                    continue
                }
                if request.cmd == "subscribe" {
                    streamEvents(to: client)
                    return
                }
                let reply = blockingReply(to: request) { [self] line in _ = send(line, to: client) }
                guard send(reply, to: client) else { return }
            }
        }
    }

    /// Streams events until the client hangs up (the read side returns 0) or a write fails.
    private func streamEvents(to client: Int32) {
        // Registered before the acknowledgement, so every event published after the client has
        // read it reaches the client.
        // A publish may be under way on another thread when the client leaves: the gate makes
        // sure no write reaches the descriptor after this thread stops serving it (and closes it).
        let gate = SubscriberGate(fd: client)
        let id = events.add { line in gate.write(line) }
        defer {
            events.remove(id)
            gate.close()
        }
        guard gate.write(try! JSONLine.encode(["ok": true, "subscribed": true])) else { return }
        var byte: UInt8 = 0
        while true {
            let n = read(client, &byte, 1)
            if n > 0 { continue } // input after subscribe is ignored
            if n < 0 && errno == EINTR { continue }
            return
        }
    }

    private func blockingReply(to request: ServiceRequest, progress: @escaping @Sendable ([String: any Sendable]) -> Void) -> [String: any Sendable] {
        let box = ReplyBox()
        let semaphore = DispatchSemaphore(value: 0)
        let handler = self.handler
        Task {
            do {
                var reply = try await handler.reply(to: request, progress: progress)
                if reply["ok"] == nil { reply["ok"] = true }
                box.value = reply
            } catch {
                box.value = ["ok": false, "error": "\(error)"]
            }
            semaphore.signal()
        }
        semaphore.wait()
        return box.value
    }

    private func send(_ object: [String: any Sendable], to client: Int32) -> Bool {
        guard let line = try? JSONLine.encode(object) else { return false }
        return UnixSocket.writeAll(client, line)
    }
}

/// One subscriber's descriptor, written only while it is open.
private final class SubscriberGate: @unchecked Sendable {
    private let lock = NSLock()
    private let fd: Int32
    private var open = true
    init(fd: Int32) { self.fd = fd }
    func write(_ line: Data) -> Bool { lock.withLock { open && UnixSocket.writeAll(fd, line) } }
    func close() { lock.withLock { open = false } }
}

private final class ReplyBox: @unchecked Sendable {
    var value: [String: any Sendable] = [:]
}

/// Reads newline-terminated lines from a socket, refusing lines over `maximum` bytes.
struct LineReader {
    enum Line { case line(Data), tooLong }
    let fd: Int32
    let maximum: Int
    private var buffer = Data()
    private var discarding = false

    init(fd: Int32, maximum: Int) {
        self.fd = fd
        self.maximum = maximum
    }

    mutating func next() -> Line? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[(newline + 1)...])
                if discarding || line.count > maximum {
                    discarding = false
                    return .tooLong
                }
                return .line(Data(line))
            }
            if buffer.count > maximum {
                buffer.removeAll()
                discarding = true
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}

/// Thin wrappers over the socket calls (AF_UNIX only: the service never opens an internet socket).
enum UnixSocket {
    static func address(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw AssistantError.socketPathTooLong(path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    static func listen(_ path: String) throws -> Int32 {
        var address = try address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AssistantError.socket(path: path, operation: "socket", errno: errno) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw AssistantError.socket(path: path, operation: "bind/listen", errno: code)
        }
        return fd
    }

    static func connect(_ path: String) throws -> Int32 {
        var address = try address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AssistantError.socket(path: path, operation: "socket", errno: errno) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            if code == ENOENT || code == ECONNREFUSED { throw AssistantError.notRunning(path: path) }
            throw AssistantError.socket(path: path, operation: "connect", errno: code)
        }
        return fd
    }

    /// Writes every byte; false when the peer is gone (MSG_NOSIGNAL: no SIGPIPE).
    static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }
}

/// A client of the local API (`hark status`, `hark query`, `hark say`, `hark events`).
public final class ControlSocketClient {
    private let fd: Int32
    private var reader: LineReader
    public let path: String

    public init(path: String = ControlSocketServer.defaultPath) throws {
        self.path = path
        fd = try UnixSocket.connect(path)
        reader = LineReader(fd: fd, maximum: 16 << 20)
    }

    deinit { close(fd) }

    /// Sends one request line.
    public func send(_ request: ServiceRequest) throws {
        var data = try JSONEncoder().encode(request)
        data.append(0x0A)
        guard UnixSocket.writeAll(fd, data) else { throw AssistantError.socket(path: path, operation: "send", errno: errno) }
    }

    /// Makes `receive()` give up (return nil) after `seconds` without data (`SO_RCVTIMEO`).
    public func setReceiveTimeout(_ seconds: Double) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends raw bytes (for tests of malformed input).
    public func sendRaw(_ data: Data) -> Bool { UnixSocket.writeAll(fd, data) }

    /// The next reply or event line as a JSON object, or nil when the service closed the connection.
    public func receive() throws -> [String: Any]? {
        guard case .line(let data)? = reader.next() else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw AssistantError.badReply(String(decoding: data, as: UTF8.self))
        }
        return object
    }

    /// One request, one reply.
    public func request(_ request: ServiceRequest) throws -> [String: Any] {
        try send(request)
        guard let reply = try receive() else { throw AssistantError.notRunning(path: path) }
        return reply
    }
}
