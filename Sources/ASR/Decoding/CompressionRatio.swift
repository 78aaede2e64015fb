import CZlib
import Foundation

/// UTF-8 length of `text` over its zlib-compressed length (level 6, as Python's `zlib.compress`):
/// Whisper's repetition detector, a ratio above 2.4 means the decoder looped.
public func compressionRatio(_ text: String) -> Double {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty else { return 0 }
    var size = compressBound(uLong(bytes.count))
    var out = [UInt8](repeating: 0, count: Int(size))
    let rc = out.withUnsafeMutableBufferPointer { o in
        bytes.withUnsafeBufferPointer { b in compress2(o.baseAddress, &size, b.baseAddress, uLong(bytes.count), Z_DEFAULT_COMPRESSION) }
    }
    // compressBound guarantees room, so compress2 cannot fail for lack of space.
    precondition(rc == Z_OK, "compress2 failed: \(rc)")
    return Double(bytes.count) / Double(size)
}
