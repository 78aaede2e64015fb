import Foundation

/// Units the converter knows, by the canonical ids used in `en.yaml`'s `unit` slot.
public enum UnitCatalog {
    public enum Dimension: String, Sendable { case length, mass, volume, temperature, speed }

    public struct Unit: Sendable {
        public let id: String
        public let dimension: Dimension
        /// Multiply by this to reach the base unit (meter, kilogram, liter, meter per second);
        /// temperatures use `toKelvin` instead.
        public let toBase: Double
        public let singular: String
        public let plural: String
    }

    static let list: [Unit] = [
        .init(id: "meter", dimension: .length, toBase: 1, singular: "meter", plural: "meters"),
        .init(id: "kilometer", dimension: .length, toBase: 1000, singular: "kilometer", plural: "kilometers"),
        .init(id: "centimeter", dimension: .length, toBase: 0.01, singular: "centimeter", plural: "centimeters"),
        .init(id: "millimeter", dimension: .length, toBase: 0.001, singular: "millimeter", plural: "millimeters"),
        .init(id: "mile", dimension: .length, toBase: 1609.344, singular: "mile", plural: "miles"),
        .init(id: "yard", dimension: .length, toBase: 0.9144, singular: "yard", plural: "yards"),
        .init(id: "foot", dimension: .length, toBase: 0.3048, singular: "foot", plural: "feet"),
        .init(id: "inch", dimension: .length, toBase: 0.0254, singular: "inch", plural: "inches"),
        .init(id: "gram", dimension: .mass, toBase: 0.001, singular: "gram", plural: "grams"),
        .init(id: "kilogram", dimension: .mass, toBase: 1, singular: "kilogram", plural: "kilograms"),
        .init(id: "milligram", dimension: .mass, toBase: 1e-6, singular: "milligram", plural: "milligrams"),
        .init(id: "pound", dimension: .mass, toBase: 0.45359237, singular: "pound", plural: "pounds"),
        .init(id: "ounce", dimension: .mass, toBase: 0.028349523125, singular: "ounce", plural: "ounces"),
        .init(id: "stone", dimension: .mass, toBase: 6.35029318, singular: "stone", plural: "stone"),
        .init(id: "tonne", dimension: .mass, toBase: 1000, singular: "tonne", plural: "tonnes"),
        .init(id: "liter", dimension: .volume, toBase: 1, singular: "liter", plural: "liters"),
        .init(id: "milliliter", dimension: .volume, toBase: 0.001, singular: "milliliter", plural: "milliliters"),
        .init(id: "gallon", dimension: .volume, toBase: 3.785411784, singular: "US gallon", plural: "US gallons"),
        .init(id: "quart", dimension: .volume, toBase: 0.946352946, singular: "US quart", plural: "US quarts"),
        .init(id: "pint", dimension: .volume, toBase: 0.473176473, singular: "US pint", plural: "US pints"),
        .init(id: "cup", dimension: .volume, toBase: 0.2365882365, singular: "cup", plural: "cups"),
        .init(id: "fluid_ounce", dimension: .volume, toBase: 0.0295735295625, singular: "fluid ounce", plural: "fluid ounces"),
        .init(id: "tablespoon", dimension: .volume, toBase: 0.01478676478125, singular: "tablespoon", plural: "tablespoons"),
        .init(id: "teaspoon", dimension: .volume, toBase: 0.00492892159375, singular: "teaspoon", plural: "teaspoons"),
        .init(id: "celsius", dimension: .temperature, toBase: 1, singular: "degree Celsius", plural: "degrees Celsius"),
        .init(id: "fahrenheit", dimension: .temperature, toBase: 1, singular: "degree Fahrenheit", plural: "degrees Fahrenheit"),
        .init(id: "kelvin", dimension: .temperature, toBase: 1, singular: "kelvin", plural: "kelvins"),
        .init(id: "kilometers_per_hour", dimension: .speed, toBase: 1 / 3.6, singular: "kilometer per hour", plural: "kilometers per hour"),
        .init(id: "miles_per_hour", dimension: .speed, toBase: 0.44704, singular: "mile per hour", plural: "miles per hour"),
        .init(id: "meters_per_second", dimension: .speed, toBase: 1, singular: "meter per second", plural: "meters per second"),
        .init(id: "knot", dimension: .speed, toBase: 1852.0 / 3600.0, singular: "knot", plural: "knots"),
    ]

    public static let units: [String: Unit] = Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })

    /// Why a conversion is impossible.
    public enum ConversionProblem: Error, Equatable, Sendable {
        case unknownUnit(String)
        case incompatible(from: Dimension, to: Dimension)
        case belowAbsoluteZero
    }

    /// `value` in `from` expressed in `to`.
    public static func convert(_ value: Double, from: String, to: String) -> Result<Double, ConversionProblem> {
        guard let f = units[from] else { return .failure(.unknownUnit(from)) }
        guard let t = units[to] else { return .failure(.unknownUnit(to)) }
        guard f.dimension == t.dimension else { return .failure(.incompatible(from: f.dimension, to: t.dimension)) }
        if f.dimension == .temperature {
            let kelvin: Double
            switch from {
            case "celsius": kelvin = value + 273.15
            case "fahrenheit": kelvin = (value - 32) * 5 / 9 + 273.15
            default: kelvin = value
            }
            guard kelvin >= -1e-9 else { return .failure(.belowAbsoluteZero) }
            switch to {
            case "celsius": return .success(kelvin - 273.15)
            case "fahrenheit": return .success((kelvin - 273.15) * 9 / 5 + 32)
            default: return .success(kelvin)
            }
        }
        return .success(value * f.toBase / t.toBase)
    }
}

/// "Convert 5 kilometers to miles", "how many feet in a mile", "100 fahrenheit in celsius".
public struct UnitConversionSkill: Skill {
    public init() {}
    public var intentNames: Set<String> { ["ConvertUnit"] }

    /// Four significant digits, no exponent for everyday magnitudes: 3.107, 5280, 0.0005.
    static func format(_ x: Double) -> String {
        if x == 0 { return "0" }
        let magnitude = Int(floor(log10(abs(x))))
        let decimals = max(0, 3 - magnitude)
        let scale = pow(10, Double(min(decimals, 9)))
        return SlotValue.format((x * scale).rounded() / scale)
    }

    public func handle(_ intent: ParsedIntent, context: SkillContext) async -> SkillReply {
        guard case let .text(from)? = intent.slots["from"]?.payload, case let .text(to)? = intent.slots["to"]?.payload else {
            return .failure("Which units should I convert between?", error: "missing_unit")
        }
        let value = intent.slots["value"]?.number ?? 1
        switch UnitCatalog.convert(value, from: from, to: to) {
        case let .success(result):
            let f = UnitCatalog.units[from]!, t = UnitCatalog.units[to]!
            let v = Self.format(value), r = Self.format(result)
            return SkillReply("\(v) \(value == 1 ? f.singular : f.plural) is \(r) \(result == 1 ? t.singular : t.plural).",
                              data: ["value": r, "unit": to])
        case let .failure(problem):
            switch problem {
            case let .incompatible(a, b):
                return .failure("I can't convert \(a.rawValue) to \(b.rawValue).", error: "incompatible_units")
            case .belowAbsoluteZero:
                return .failure("That is below absolute zero.", error: "below_absolute_zero")
            case let .unknownUnit(u):
                return .failure("I don't know the unit \(u).", error: "unknown_unit")
            }
        }
    }
}
