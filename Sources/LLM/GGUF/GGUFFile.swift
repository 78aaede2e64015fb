import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A memory-mapped GGUF file (format: ggml's `docs/gguf.md`, versions 2 and 3).
///
/// The whole file is mapped read-only; tensor data is never copied: `data(for:)` returns a
/// pointer into the mapping, valid as long as this object lives.
///
/// Threading: immutable after `init`; share it freely between threads.
///
/// ```swift
/// let file = try GGUFFile(url: modelURL)
/// let arch = try file.string("general.architecture")
/// let embd = try file.tensor("token_embd.weight")
/// ```
public final class GGUFFile: @unchecked Sendable {
    /// The GGUF magic, "GGUF" read as a little-endian UInt32.
    public static let magic: UInt32 = 0x4655_4747
    /// The data alignment when `general.alignment` is absent.
    public static let defaultAlignment = 32

    public let url: URL
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    public let tensors: [String: GGUFTensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    /// `general.alignment` or 32.
    public let alignment: Int
    /// Offset of the tensor data section.
    public let dataOffset: Int
    public let fileSize: Int

    private let mapping: UnsafeRawPointer
    private let mappedSize: Int

    /// Maps and parses the file at `url`. Throws `LLMError` for unreadable, truncated or corrupt
    /// files and for tensor types this module does not support.
    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw LLMError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw LLMError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        fileSize = size
        if size == 0 { throw LLMError.truncated(path: path, what: "magic", offset: 0, needed: 4, fileSize: 0) }
        guard let raw = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), raw != MAP_FAILED else {
            throw LLMError.cannotOpen(path: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        mapping = UnsafeRawPointer(raw)
        mappedSize = size
        do {
            var parser = GGUFParser(base: mapping, size: size, path: path)
            let parsed = try parser.parse()
            version = parsed.version
            metadata = parsed.metadata
            tensors = parsed.tensors
            tensorNames = parsed.order
            alignment = parsed.alignment
            dataOffset = parsed.dataOffset
        } catch {
            munmap(raw, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: mapping), mappedSize) }

    /// The info of tensor `name`, or `LLMError.missingTensor`.
    public func tensor(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensors[name] else { throw LLMError.missingTensor(name: name) }
        return info
    }

    /// A pointer to the raw (possibly quantized) bytes of `tensor`, valid while `self` lives.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        mapping + tensor.fileOffset
    }

    /// The raw bytes of tensor `name`.
    public func data(for name: String) throws -> UnsafeRawBufferPointer {
        let info = try tensor(name)
        return UnsafeRawBufferPointer(start: data(for: info), count: info.byteCount)
    }

    // MARK: Typed metadata accessors

    private func value(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else { throw LLMError.missingMetadata(key: key) }
        return v
    }

    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard let s = v.stringValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "string", found: v.typeName) }
        return s
    }

    /// Any integer-typed value as `Int`.
    public func int(_ key: String) throws -> Int {
        let v = try value(key)
        if case .bool = v { throw LLMError.metadataTypeMismatch(key: key, expected: "integer", found: v.typeName) }
        guard let i = v.intValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "integer", found: v.typeName) }
        return i
    }

    /// A float (or integer) value as `Float`.
    public func float(_ key: String) throws -> Float {
        let v = try value(key)
        if case .bool = v { throw LLMError.metadataTypeMismatch(key: key, expected: "float", found: v.typeName) }
        guard let d = v.doubleValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "float", found: v.typeName) }
        return Float(d)
    }

    public func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard let b = v.boolValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "bool", found: v.typeName) }
        return b
    }

    public func stringArray(_ key: String) throws -> [String] {
        let v = try value(key)
        guard let a = v.arrayValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "array of string", found: v.typeName) }
        return try a.map {
            guard let s = $0.stringValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "array of string", found: v.typeName) }
            return s
        }
    }

    public func floatArray(_ key: String) throws -> [Float] {
        let v = try value(key)
        guard let a = v.arrayValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "array of float", found: v.typeName) }
        return try a.map {
            guard let d = $0.doubleValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "array of float", found: v.typeName) }
            return Float(d)
        }
    }

    public func intArray(_ key: String) throws -> [Int] {
        let v = try value(key)
        guard let a = v.arrayValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "array of integer", found: v.typeName) }
        return try a.map {
            guard let i = $0.intValue else { throw LLMError.metadataTypeMismatch(key: key, expected: "array of integer", found: v.typeName) }
            return i
        }
    }

    /// The value of `key` when present and an integer; nil when absent (type errors still throw).
    public func optionalInt(_ key: String) throws -> Int? { metadata[key] == nil ? nil : try int(key) }
    public func optionalFloat(_ key: String) throws -> Float? { metadata[key] == nil ? nil : try float(key) }
    public func optionalString(_ key: String) throws -> String? { metadata[key] == nil ? nil : try string(key) }
    public func optionalBool(_ key: String) throws -> Bool? { metadata[key] == nil ? nil : try bool(key) }
}

/// A bounds-checked little-endian cursor over the mapped bytes. Every read checks the
/// remaining length first, so no input can make it read outside the mapping.
struct GGUFParser {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    var offset = 0

    /// Arrays nest at most this deep (the spec allows nesting; real files use one level).
    static let maxNesting = 8
    static let maxDimensions = 4

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    struct Parsed {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var tensors: [String: GGUFTensorInfo]
        var order: [String]
        var alignment: Int
        var dataOffset: Int
    }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > size - offset {
            throw LLMError.truncated(path: path, what: what(), offset: offset, needed: n, fileSize: size)
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    /// A count stored as u64 that must fit in the rest of the file at `minBytesEach` bytes each.
    mutating func readCount(_ what: String, minBytesEach: Int) throws -> Int {
        let at = offset
        let raw = try read(UInt64.self, what)
        let remaining = UInt64(size - offset)
        if raw > remaining / UInt64(max(minBytesEach, 1)) {
            throw LLMError.corrupt(path: path, what: what, offset: at, reason: "count \(raw) cannot fit in the \(remaining) bytes left")
        }
        return Int(raw)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let at = offset
        let length = try read(UInt64.self, what())
        if length > UInt64(size - offset) {
            throw LLMError.truncated(path: path, what: what(), offset: at, needed: Int(clamping: length) &+ 8, fileSize: size)
        }
        let n = Int(length)
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: n)
        offset += n
        // GGUF strings are UTF-8; invalid sequences are repaired rather than rejected
        // (some vocabularies hold raw byte tokens).
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func readValue(type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, key))
        case .int8: return .int8(try read(Int8.self, key))
        case .uint16: return .uint16(try read(UInt16.self, key))
        case .int16: return .int16(try read(Int16.self, key))
        case .uint32: return .uint32(try read(UInt32.self, key))
        case .int32: return .int32(try read(Int32.self, key))
        case .uint64: return .uint64(try read(UInt64.self, key))
        case .int64: return .int64(try read(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, key)))
        case .bool:
            let at = offset
            let b = try read(UInt8.self, key)
            guard b <= 1 else { throw LLMError.corrupt(path: path, what: "metadata '\(key)'", offset: at, reason: "bool byte \(b)") }
            return .bool(b == 1)
        case .string: return .string(try readString("metadata '\(key)'"))
        case .array:
            let at = offset
            guard depth < Self.maxNesting else {
                throw LLMError.corrupt(path: path, what: "metadata '\(key)'", offset: at, reason: "arrays nested deeper than \(Self.maxNesting)")
            }
            let code = try read(UInt32.self, "metadata '\(key)' array type")
            guard let elementType = GGUFValueType(rawValue: code) else {
                throw LLMError.corrupt(path: path, what: "metadata '\(key)' array type", offset: at, reason: "unknown value type \(code)")
            }
            let minEach = elementType.fixedSize ?? (elementType == .string ? 8 : 12)
            let count = try readCount("metadata '\(key)' array length", minBytesEach: minEach)
            var values: [GGUFValue] = []
            values.reserveCapacity(count)
            if let fixed = elementType.fixedSize {
                try need(count * fixed, "metadata '\(key)' array")
            }
            for _ in 0..<count {
                values.append(try readValue(type: elementType, key: key, depth: depth + 1))
            }
            return .array(elementType: elementType, values: values)
        }
    }

    mutating func parse() throws -> Parsed {
        let magic = try read(UInt32.self, "magic")
        guard magic == GGUFFile.magic else { throw LLMError.notGGUF(path: path, foundMagic: magic) }
        let version = try read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw LLMError.unsupportedVersion(path: path, version: version) }
        // A tensor info takes at least 8 (name) + 4 + 8 + 4 + 8 bytes; a key-value at least 8 + 4 + 1.
        let tensorCount = try readCount("tensor count", minBytesEach: 32)
        let kvCount = try readCount("metadata count", minBytesEach: 13)

        var metadata: [String: GGUFValue] = [:]
        for index in 0..<kvCount {
            let keyAt = offset
            let key = try readString("metadata key #\(index)")
            let typeAt = offset
            let code = try read(UInt32.self, "type of metadata '\(key)'")
            guard let type = GGUFValueType(rawValue: code) else {
                throw LLMError.corrupt(path: path, what: "metadata '\(key)'", offset: typeAt, reason: "unknown value type \(code)")
            }
            if metadata[key] != nil {
                throw LLMError.corrupt(path: path, what: "metadata '\(key)'", offset: keyAt, reason: "duplicate key")
            }
            metadata[key] = try readValue(type: type, key: key, depth: 0)
        }

        var alignment = GGUFFile.defaultAlignment
        if let a = metadata["general.alignment"] {
            guard let value = a.intValue, value > 0, value & (value - 1) == 0, value <= 1 << 20 else {
                throw LLMError.corrupt(path: path, what: "metadata 'general.alignment'", offset: 0, reason: "\(a) is not a power of two")
            }
            alignment = value
        }

        struct Pending { var name: String; var shape: [Int]; var type: GGMLType; var relative: Int; var infoAt: Int }
        var pending: [Pending] = []
        pending.reserveCapacity(tensorCount)
        var seen = Set<String>()
        for index in 0..<tensorCount {
            let infoAt = offset
            let name = try readString("name of tensor #\(index)")
            let dimsAt = offset
            let dims = try read(UInt32.self, "dimensions of tensor '\(name)'")
            guard dims >= 1, dims <= UInt32(Self.maxDimensions) else {
                throw LLMError.corrupt(path: path, what: "tensor '\(name)'", offset: dimsAt, reason: "\(dims) dimensions (1-\(Self.maxDimensions) allowed)")
            }
            var shape: [Int] = []
            var elements: UInt64 = 1
            for d in 0..<Int(dims) {
                let at = offset
                let n = try read(UInt64.self, "dimension \(d) of tensor '\(name)'")
                let (product, overflow) = elements.multipliedReportingOverflow(by: n)
                guard n > 0, !overflow, product <= UInt64(1) << 40 else {
                    throw LLMError.corrupt(path: path, what: "tensor '\(name)'", offset: at, reason: "dimension \(d) = \(n) is not a sane size")
                }
                elements = product
                shape.append(Int(n))
            }
            let typeAt = offset
            let code = try read(UInt32.self, "type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: code), type.isSupported else {
                if GGMLType(rawValue: code) == nil && code > 64 {
                    throw LLMError.corrupt(path: path, what: "tensor '\(name)' type", offset: typeAt, reason: "unknown ggml type \(code)")
                }
                throw LLMError.unsupportedTensorType(tensor: name, typeCode: code)
            }
            guard shape[0] % type.blockSize == 0 else {
                throw LLMError.corrupt(path: path, what: "tensor '\(name)'", offset: dimsAt, reason: "row length \(shape[0]) is not a multiple of the \(type) block size \(type.blockSize)")
            }
            let relAt = offset
            let relative = try read(UInt64.self, "offset of tensor '\(name)'")
            guard relative % UInt64(alignment) == 0, relative < UInt64(size) else {
                throw LLMError.corrupt(path: path, what: "tensor '\(name)' offset", offset: relAt, reason: "data offset \(relative) is misaligned or beyond the file")
            }
            guard seen.insert(name).inserted else {
                throw LLMError.corrupt(path: path, what: "tensor '\(name)'", offset: infoAt, reason: "duplicate tensor name")
            }
            pending.append(Pending(name: name, shape: shape, type: type, relative: Int(relative), infoAt: infoAt))
        }

        let dataOffset = (offset + alignment - 1) / alignment * alignment
        var tensors: [String: GGUFTensorInfo] = [:]
        for p in pending {
            let elements = p.shape.reduce(1, *)
            let bytes = elements / p.type.blockSize * p.type.bytesPerBlock
            let start = dataOffset + p.relative
            if start > size || bytes > size - start {
                throw LLMError.truncated(path: path, what: "data of tensor '\(p.name)'", offset: start, needed: bytes, fileSize: size)
            }
            tensors[p.name] = GGUFTensorInfo(name: p.name, shape: p.shape, type: p.type, fileOffset: start, byteCount: bytes)
        }
        return Parsed(version: version, metadata: metadata, tensors: tensors, order: pending.map(\.name),
                      alignment: alignment, dataOffset: dataOffset)
    }
}
