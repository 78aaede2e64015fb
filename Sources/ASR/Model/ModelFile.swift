import CKernels
import Foundation

/// Element types of a CTranslate2 variable, as numbered in the `model.bin` format
/// (CTranslate2 `python/ctranslate2/specs/model_spec.py`, `_dtype_to_type_id`).
public enum ModelDataType: UInt8, Sendable {
    case float32 = 0, int8 = 1, int16 = 2, int32 = 3, float16 = 4, bfloat16 = 5

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: return 4
        case .int16, .float16, .bfloat16: return 2
        case .int8: return 1
        }
    }
}

/// One named array in a model file: where its bytes are and how to read them.
public struct ModelVariable: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let dataType: ModelDataType
    /// Byte offset of the data from the start of the file.
    public let offset: Int
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A read-only memory mapping of a whole file, unmapped in `deinit` (the one owner of the mapping).
final class MemoryMappedFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only (PROT_READ) and never changes after init.
    let base: UnsafeRawPointer?
    let count: Int

    /// Maps `path` with `open` + `fstat` + `mmap(PROT_READ, MAP_PRIVATE)`.
    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ASRError.cannotOpenModel(path: path, call: "open", errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ASRError.cannotOpenModel(path: path, call: "fstat", errno: errno) }
        count = Int(info.st_size)
        if count == 0 {
            base = nil
            return
        }
        guard let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw ASRError.cannotOpenModel(path: path, call: "mmap", errno: errno)
        }
        base = UnsafeRawPointer(mapped)
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}

/// A CTranslate2 `model.bin`, memory-mapped. Layout (little-endian), format version 6:
/// u32 version, u16-length-prefixed spec name, u32 revision, u32 variable count; per variable a
/// u16-length-prefixed NUL-terminated name, u8 rank, u32 dims, u8 dtype, u32 byte count and the
/// data; then u32 alias count and (name, target) pairs of u16-length-prefixed strings.
///
/// Every read is bounds-checked: a damaged file gives an `ASRError` naming the variable and byte
/// offset. Immutable after `init`, so one instance can be read from many threads.
public final class CTranslate2ModelFile: Sendable {
    public static let supportedVersion: UInt32 = 6

    public let path: String
    public let specName: String
    public let revision: UInt32
    /// Variables in file order.
    public let variables: [ModelVariable]
    /// Alias name -> target variable name.
    public let aliases: [String: String]
    private let index: [String: Int]
    private let file: MemoryMappedFile

    public convenience init(url: URL) throws {
        try self.init(file: MemoryMappedFile(path: url.path), path: url.path)
    }

    init(file: MemoryMappedFile, path: String) throws {
        self.file = file
        self.path = path
        var reader = HeaderReader(bytes: file.bytes, path: path)
        let version = try reader.u32("format version")
        guard version == Self.supportedVersion else {
            throw ASRError.unsupportedModelVersion(path: path, found: version, supported: Self.supportedVersion)
        }
        specName = try reader.string("spec name")
        revision = try reader.u32("spec revision")
        let count = Int(try reader.u32("variable count"))
        // Each variable needs at least 2 + 1 + 1 + 4 header bytes: reject absurd counts early.
        guard count <= file.count / 8 else {
            throw ASRError.invalidModelData(path: path, offset: reader.offset - 4, variable: nil,
                                            reason: "variable count \(count) cannot fit in \(file.count) bytes")
        }
        var variables: [ModelVariable] = []
        variables.reserveCapacity(count)
        var index: [String: Int] = [:]
        for number in 0..<count {
            let name = try reader.string("name of variable #\(number)")
            reader.variable = name
            let rankOffset = reader.offset
            let rank = Int(try reader.u8("rank"))
            guard rank <= 8 else {
                throw ASRError.invalidModelData(path: path, offset: rankOffset, variable: name, reason: "rank \(rank) > 8")
            }
            var shape: [Int] = []
            for axis in 0..<rank { shape.append(Int(try reader.u32("dimension \(axis)"))) }
            let typeOffset = reader.offset
            let typeID = try reader.u8("data type")
            guard let dataType = ModelDataType(rawValue: typeID) else {
                throw ASRError.invalidModelData(path: path, offset: typeOffset, variable: name,
                                                reason: "unknown data type id \(typeID) (known: 0...5)")
            }
            let sizeOffset = reader.offset
            let byteCount = Int(try reader.u32("byte count"))
            var elements = 1
            for dim in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow, product <= Int(UInt32.max) else {
                    throw ASRError.invalidModelData(path: path, offset: rankOffset, variable: name, reason: "shape \(shape) is too large")
                }
                elements = product
            }
            guard byteCount == elements * dataType.size else {
                throw ASRError.invalidModelData(
                    path: path, offset: sizeOffset, variable: name,
                    reason: "byte count \(byteCount) does not match shape \(shape) of \(dataType) (\(elements * dataType.size) bytes)")
            }
            let dataOffset = reader.offset
            try reader.skip(byteCount, "data")
            guard index[name] == nil else {
                throw ASRError.invalidModelData(path: path, offset: dataOffset, variable: name, reason: "duplicate variable name")
            }
            index[name] = variables.count
            variables.append(ModelVariable(name: name, shape: shape, dataType: dataType, offset: dataOffset, byteCount: byteCount))
            reader.variable = nil
        }
        var aliases: [String: String] = [:]
        // Files written before aliases existed simply end here.
        if reader.offset < file.count {
            let aliasCount = Int(try reader.u32("alias count"))
            guard aliasCount <= file.count / 4 else {
                throw ASRError.invalidModelData(path: path, offset: reader.offset - 4, variable: nil,
                                                reason: "alias count \(aliasCount) cannot fit in the file")
            }
            for number in 0..<aliasCount {
                let alias = try reader.string("name of alias #\(number)")
                let targetOffset = reader.offset
                let target = try reader.string("target of alias '\(alias)'")
                guard index[target] != nil else {
                    throw ASRError.invalidModelData(path: path, offset: targetOffset, variable: alias,
                                                    reason: "alias target '\(target)' is not a variable")
                }
                aliases[alias] = target
            }
        }
        self.variables = variables
        self.index = index
        self.aliases = aliases
    }

    /// The variable called `name` (following an alias), or `ASRError.missingVariable`.
    public func variable(_ name: String) throws -> ModelVariable {
        let resolved = aliases[name] ?? name
        guard let position = index[resolved] else { throw ASRError.missingVariable(name: name, path: path) }
        return variables[position]
    }

    public func contains(_ name: String) -> Bool { index[aliases[name] ?? name] != nil }

    /// The variable's values as `Float` (converting f16/bf16/integers), checking its shape when
    /// `shape` is given.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        let variable = try variable(name)
        if let expected, expected != variable.shape {
            throw ASRError.shapeMismatch(variable: name, expected: expected, found: variable.shape)
        }
        let count = variable.elementCount
        let source = file.bytes.baseAddress! + variable.offset
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            let out = buffer.baseAddress!
            switch variable.dataType {
            case .float32:
                memcpy(out, source, count * 4)
            case .float16:
                hark_f16_to_f32(source.assumingMemoryBound(to: UInt16.self), out, count)
            case .bfloat16:
                let bits = source.assumingMemoryBound(to: UInt16.self)
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bits[i])) << 16) }
            case .int8:
                let values = source.assumingMemoryBound(to: Int8.self)
                for i in 0..<count { out[i] = Float(values[i]) }
            case .int16:
                for i in 0..<count { out[i] = Float(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
            case .int32:
                for i in 0..<count { out[i] = Float(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            }
            initialized = count
        }
    }

    /// A scalar integer variable (such as `encoder/num_heads`).
    public func integer(_ name: String) throws -> Int {
        let values = try floats(name)
        guard values.count == 1 else { throw ASRError.shapeMismatch(variable: name, expected: [], found: try variable(name).shape) }
        return Int(values[0])
    }

    /// The raw f16 bits of a float16 variable (for kernels that convert on the fly).
    func withFloat16Bits<R>(_ name: String, _ body: (UnsafePointer<UInt16>) throws -> R) throws -> R {
        let variable = try variable(name)
        guard variable.dataType == .float16 else {
            throw ASRError.invalidModelData(path: path, offset: variable.offset, variable: name, reason: "expected float16 data, found \(variable.dataType)")
        }
        return try body((file.bytes.baseAddress! + variable.offset).assumingMemoryBound(to: UInt16.self))
    }
}

/// A bounds-checked cursor over the model header; errors name the field, variable and offset.
struct HeaderReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0
    var variable: String?

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    private func require(_ size: Int, _ field: String) throws {
        guard size >= 0, bytes.count - offset >= size else {
            throw ASRError.truncatedModel(path: path, offset: offset, variable: variable, field: field)
        }
    }

    mutating func u8(_ field: String) throws -> UInt8 {
        try require(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16(_ field: String) throws -> UInt16 {
        try require(2, field)
        defer { offset += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    mutating func u32(_ field: String) throws -> UInt32 {
        try require(4, field)
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func skip(_ count: Int, _ field: String) throws {
        try require(count, field)
        offset += count
    }

    /// A u16-length-prefixed string; a trailing NUL (as CTranslate2 writes) is dropped.
    mutating func string(_ field: String) throws -> String {
        let length = Int(try u16("length of \(field)"))
        try require(length, field)
        var slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        if let last = slice.last, last == 0 { slice = UnsafeRawBufferPointer(rebasing: slice.dropLast()) }
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw ASRError.invalidModelData(path: path, offset: offset, variable: variable, reason: "\(field) is not UTF-8")
        }
        offset += length
        return text
    }
}
