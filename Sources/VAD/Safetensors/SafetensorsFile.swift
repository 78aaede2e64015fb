import Foundation

/// A safetensors file: an 8-byte little-endian header length N, N bytes of JSON mapping each
/// tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the
/// data section that follows the header) plus an optional `"__metadata__"` string map, then
/// the raw little-endian tensor bytes. Format: https://github.com/huggingface/safetensors
///
/// The file is memory-mapped once; the header is fully validated on open (every tensor's
/// byte range must lie inside the data section and match its dtype and shape), so reading a
/// tensor afterwards cannot go out of bounds. Immutable and safe to share between threads.
///
/// ```swift
/// let file = try SafetensorsFile(contentsOf: url)
/// let weight = try file.floats("conv1.weight", shape: [128, 129, 3])
/// ```
public struct SafetensorsFile: Sendable {
    /// Element types defined by the format, with their sizes in bytes.
    public enum DType: String, Sendable, CaseIterable {
        case bool = "BOOL", u8 = "U8", i8 = "I8", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
        case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
        case i32 = "I32", u32 = "U32", f32 = "F32", i64 = "I64", u64 = "U64", f64 = "F64"

        public var byteSize: Int {
            switch self {
            case .bool, .u8, .i8, .f8e4m3, .f8e5m2: return 1
            case .i16, .u16, .f16, .bf16: return 2
            case .i32, .u32, .f32: return 4
            case .i64, .u64, .f64: return 8
            }
        }
    }

    /// One tensor's header entry.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let dataOffsets: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// Largest header accepted (the format's reference implementation uses 100 MB).
    public static let maximumHeaderBytes = 100_000_000

    /// The file's path, used in error messages.
    public let path: String
    /// Tensor entries by name.
    public let tensors: [String: TensorInfo]
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]

    private let bytes: Data
    private let dataStart: Int

    /// Maps and validates the file at `url`.
    public init(contentsOf url: URL) throws(VADError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .unreadableFile(path: url.path, reason: (error as NSError).localizedDescription)
        }
        try self.init(bytes: data, path: url.path)
    }

    /// Validates safetensors bytes already in memory; `path` only names them in errors.
    public init(bytes: Data, path: String) throws(VADError) {
        self.path = path
        self.bytes = bytes
        guard bytes.count >= 8 else {
            throw .truncated(path: path, what: "the 8-byte header length", needed: 8, available: bytes.count)
        }
        let headerLength64 = bytes.withUnsafeBytes { raw -> UInt64 in
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        }
        guard headerLength64 <= UInt64(Self.maximumHeaderBytes) else {
            throw .corruptHeader(path: path, headerLength: Int(clamping: headerLength64),
                                 reason: "header length \(headerLength64) exceeds the \(Self.maximumHeaderBytes)-byte limit")
        }
        let headerLength = Int(headerLength64)
        guard bytes.count - 8 >= headerLength else {
            throw .truncated(path: path, what: "the JSON header", needed: 8 + headerLength, available: bytes.count)
        }
        dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart
        let base = bytes.startIndex
        let headerBytes = bytes.subdata(in: (base + 8)..<(base + dataStart))

        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw .corruptHeader(path: path, headerLength: headerLength, reason: "not valid JSON")
        }
        guard let entries = json as? [String: Any] else {
            throw .corruptHeader(path: path, headerLength: headerLength, reason: "the header is not a JSON object")
        }

        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw .corruptHeader(path: path, headerLength: headerLength, reason: "__metadata__ is not an object")
                }
                for (key, item) in map {
                    guard let text = item as? String else {
                        throw .corruptHeader(path: path, headerLength: headerLength, reason: "__metadata__['\(key)'] is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            tensors[name] = try Self.parseEntry(name: name, value: value, path: path, dataSize: dataSize)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func parseEntry(name: String, value: Any, path: String, dataSize: Int) throws(VADError) -> TensorInfo {
        guard let entry = value as? [String: Any] else {
            throw .badTensorEntry(path: path, tensor: name, reason: "entry is not a JSON object")
        }
        guard let dtypeName = entry["dtype"] as? String else {
            throw .badTensorEntry(path: path, tensor: name, reason: "missing or non-string dtype")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw .badTensorEntry(path: path, tensor: name, reason: "unknown dtype '\(dtypeName)'")
        }
        guard let shapeItems = entry["shape"] as? [Any] else {
            throw .badTensorEntry(path: path, tensor: name, reason: "missing or non-array shape")
        }
        var shape: [Int] = []
        var elements = 1
        for item in shapeItems {
            guard let dim = nonNegativeInteger(item) else {
                throw .badTensorEntry(path: path, tensor: name, reason: "shape \(shapeItems) holds a value that is not a non-negative integer")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= Int(Int32.max) * 64 else {
                throw .badTensorEntry(path: path, tensor: name, reason: "shape \(shapeItems) is too large")
            }
            elements = product
            shape.append(dim)
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = nonNegativeInteger(offsets[0]), let end = nonNegativeInteger(offsets[1]) else {
            throw .badTensorEntry(path: path, tensor: name, reason: "data_offsets must be two non-negative integers")
        }
        guard begin <= end, end <= dataSize else {
            throw .tensorOutOfBounds(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        let expectedBytes = elements * dtype.byteSize
        guard end - begin == expectedBytes else {
            throw .badTensorEntry(path: path, tensor: name,
                                  reason: "data_offsets [\(begin), \(end)] span \(end - begin) bytes but \(dtype.rawValue) \(shape) needs \(expectedBytes)")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// JSON numbers arrive as NSNumber (integer or floating); accept exact integers only.
    /// (JSON `true`/`false` also bridge to NSNumber 1/0; the size checks still apply to them.)
    private static func nonNegativeInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.isFinite, double >= 0, double <= 9.0e15, double == double.rounded(.towardZero) else { return nil }
        let integer = number.int64Value
        guard integer >= 0, Double(integer) == double else { return nil }
        return Int(integer)
    }

    /// The entry named `name`.
    public func info(_ name: String) throws(VADError) -> TensorInfo {
        guard let info = tensors[name] else { throw .missingTensor(path: path, tensor: name) }
        return info
    }

    /// The tensor `name` converted to `Float` (from F32, F16 or BF16), row-major.
    /// When `shape` is given, the tensor must have exactly that shape.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws(VADError) -> [Float] {
        let info = try info(name)
        if let expected, expected != info.shape {
            throw .shapeMismatch(path: path, tensor: name, expected: expected, found: info.shape)
        }
        let count = info.elementCount
        let start = dataStart + info.dataOffsets.lowerBound
        switch info.dtype {
        case .f32:
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * $0, as: UInt32.self))) }
            }
        case .f16:
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Self.floatFromHalf(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * $0, as: UInt16.self))) }
            }
        case .bf16:
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * $0, as: UInt16.self))) << 16) }
            }
        default:
            throw .unsupportedDType(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
    }

    /// IEEE 754 binary16 to binary32, exact (subnormals, infinities and NaN included).
    /// Written out because Swift's `Float16` is unavailable on some platforms and is a
    /// software routine on baseline x86-64 anyway; this runs once per weight at load.
    public static func floatFromHalf(_ half: UInt16) -> Float {
        let sign = UInt32(half & 0x8000) << 16
        let exponent = Int((half >> 10) & 0x1F)
        let mantissa = UInt32(half & 0x03FF)
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24, exactly representable in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}
