import Assistant
import Foundation
import HarkTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

private func leaveStaleSocket(at path: String) {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: Array(path.utf8) + [0])
    }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    close(fd)
}

/// A three-line fake of the assistant: `status`, `ask` (echo) and nothing else.
private struct EchoHandler: ServiceRequestHandling {
    struct UnknownCommand: Error, CustomStringConvertible {
        let name: String
        var description: String { "unknown command '\(name)'" }
    }
    func reply(to request: ServiceRequest) async throws -> [String: any Sendable] {
        switch request.cmd {
        case "status": return ["state": "listening"]
        case "ask": return ["reply": "you said: \(request.text ?? "")"]
        default: throw UnknownCommand(name: request.cmd)
        }
    }
}

/// Runs blocking socket code on its own thread: the server answers through Swift concurrency,
/// so a test must not hold the (small, per-core) cooperative pool while it waits on a socket.
private func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
        Thread {
            do {
                try body()
                continuation.resume()
            } catch {
                continuation.resume(throwing: error)
            }
        }.start()
    }
}

private func withServer(_ body: @escaping @Sendable (ControlSocketServer) throws -> Void) async throws {
    let folder = try TemporaryDirectory()
    let server = ControlSocketServer(path: folder.file("run/hark.sock").path, handler: EchoHandler())
    try server.start()
    defer { server.stop() }
    try await onThread { try body(server) }
}

@Suite struct ControlSocketTests {

    @Test func answersRequestsAndKeepsTheSocketPrivate() async throws {
        try await withServer { server in
            let attributes = try FileManager.default.attributesOfItem(atPath: server.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let client = try ControlSocketClient(path: server.path)
            let status = try client.request(ServiceRequest(cmd: "status"))
            #expect(status["ok"] as? Bool == true)
            #expect(status["state"] as? String == "listening")
            let answer = try client.request(ServiceRequest(cmd: "ask", text: "what time is it"))
            #expect(answer["reply"] as? String == "you said: what time is it")
        }
    }

    @Test func badInputGetsErrorRepliesAndTheConnectionSurvives() async throws {
        try await withServer { server in
            let client = try ControlSocketClient(path: server.path)
            #expect(client.sendRaw(Data("{not json\n".utf8)))
            let malformed = try #require(try client.receive())
            #expect(malformed["ok"] as? Bool == false)
            #expect((malformed["error"] as? String)?.contains("malformed") == true)

            let unknown = try client.request(ServiceRequest(cmd: "dance"))
            #expect(unknown["ok"] as? Bool == false)
            #expect((unknown["error"] as? String)?.contains("dance") == true)

            let huge = Data(repeating: UInt8(ascii: "a"), count: ControlSocketServer.maximumLineBytes * 2) + Data("\n".utf8)
            #expect(client.sendRaw(huge))
            let tooLong = try #require(try client.receive())
            #expect(tooLong["ok"] as? Bool == false)
            #expect((tooLong["error"] as? String)?.contains("longer") == true)

            let stillThere = try client.request(ServiceRequest(cmd: "status"))
            #expect(stillThere["ok"] as? Bool == true)
        }
    }

    @Test func subscribersReceiveEventsAndMayHangUpMidStream() async throws {
        try await withServer { server in
            let subscriber = try ControlSocketClient(path: server.path)
            let ack = try subscriber.request(ServiceRequest(cmd: "subscribe"))
            #expect(ack["subscribed"] as? Bool == true)
            server.events.publish(["event": "wake", "phrase": "hey hark"])
            let event = try #require(try subscriber.receive())
            #expect(event["event"] as? String == "wake")

            var leaving: ControlSocketClient? = try ControlSocketClient(path: server.path)
            _ = try leaving?.request(ServiceRequest(cmd: "subscribe"))
            leaving = nil // hangs up without a word
            for index in 0..<50 { server.events.publish(["event": "partial", "n": index]) }
            var received = 0
            while received < 50, let line = try subscriber.receive() {
                if line["event"] as? String == "partial" { received += 1 }
            }
            #expect(received == 50)
            let status = try ControlSocketClient(path: server.path).request(ServiceRequest(cmd: "status"))
            #expect(status["ok"] as? Bool == true)
        }
    }

    @Test func refusesASecondServiceButReplacesAStaleSocket() async throws {
        try await withServer { server in
            let second = ControlSocketServer(path: server.path, handler: EchoHandler())
            #expect(throws: AssistantError.self) { try second.start() }
        }
        let folder = try TemporaryDirectory()
        let path = folder.file("hark.sock").path
        // What a crashed service leaves: a bound socket file nobody listens on.
        leaveStaleSocket(at: path)
        #expect(FileManager.default.fileExists(atPath: path))
        let next = ControlSocketServer(path: path, handler: EchoHandler())
        try next.start()
        defer { next.stop() }
        try await onThread {
            let reply = try ControlSocketClient(path: path).request(ServiceRequest(cmd: "status"))
            #expect(reply["ok"] as? Bool == true)
        }
    }

    @Test func clientSaysClearlyWhenNoServiceRuns() throws {
        let folder = try TemporaryDirectory()
        #expect {
            _ = try ControlSocketClient(path: folder.file("none.sock").path)
        } throws: { error in
            "\(error)".contains("no hark service is listening")
        }
    }
}
