import Foundation

/// Reads and evaluates spoken arithmetic: "twelve times fourteen", "square root of 81",
/// "15 percent of 80", "2 to the power of 10", "add 5 and 7", "100 divided by 8", "9 squared".
/// Recursive descent with the usual precedence; at least one operator is required so that a
/// bare number is not mistaken for a calculation.
public enum ExpressionParser {
    /// The value of exactly these tokens, or nil when they are not an expression.
    public static func evaluate(_ span: ArraySlice<String>) -> Double? {
        var p = State(t: Array(span))
        guard p.t.count >= 2, p.t.count <= 40, let v = p.top(), p.i == p.t.count, p.operators > 0 else { return nil }
        return v
    }

    struct State {
        let t: [String]
        var i = 0
        var operators = 0
        var depth = 0

        mutating func accept(_ words: String...) -> Bool {
            guard i + words.count <= t.count, Array(t[i..<(i + words.count)]) == words else { return false }
            i += words.count
            return true
        }

        mutating func top() -> Double? {
            // Verb forms: "add 5 and 7", "subtract 3 from 10", "multiply 6 by 7", "divide 10 by 4".
            let start = i
            for (verb, joiners) in [("add", ["and", "to"]), ("subtract", ["from"]), ("multiply", ["by", "and"]), ("divide", ["by"])] {
                if accept(verb) {
                    guard let a = expression() else { i = start; return nil }
                    guard let joiner = joiners.first(where: { accept($0) }) else { i = start; return nil }
                    guard let b = expression() else { i = start; return nil }
                    operators += 1
                    switch verb {
                    case "add": return a + b
                    case "subtract": return b - a
                    case "multiply": return a * b
                    default: return joiner == "by" ? a / b : nil
                    }
                }
            }
            return expression()
        }

        mutating func expression() -> Double? {
            guard var value = term() else { return nil }
            while true {
                if accept("plus") {
                    guard let r = term() else { return nil }
                    value += r; operators += 1
                } else if accept("minus") {
                    guard let r = term() else { return nil }
                    value -= r; operators += 1
                } else {
                    return value
                }
            }
        }

        mutating func term() -> Double? {
            guard var value = unary() else { return nil }
            while true {
                // "time" is how recognizers often hear "times" between two numbers.
                if accept("times") || accept("time") || accept("multiplied", "by") || accept("x") || accept("into") {
                    guard let r = unary() else { return nil }
                    value *= r; operators += 1
                } else if accept("divided", "by") || accept("over") || accept("divide", "by") {
                    guard let r = unary() else { return nil }
                    value /= r; operators += 1
                } else if accept("mod") || accept("modulo") {
                    guard let r = unary(), r != 0 else { return nil }
                    value = value.truncatingRemainder(dividingBy: r); operators += 1
                } else {
                    return value
                }
            }
        }

        mutating func unary() -> Double? {
            depth += 1
            defer { depth -= 1 }
            guard depth < 32 else { return nil }
            _ = accept("the")
            if accept("minus") || accept("negative") {
                guard let v = unary() else { return nil }
                return -v
            }
            // "route" is a common mishearing of "root".
            if accept("square", "root", "of") || accept("square", "root") || accept("root", "of") || accept("square", "route", "of") {
                guard let v = unary() else { return nil }
                operators += 1
                return v.squareRoot()
            }
            if accept("cube", "root", "of") || accept("cube", "root") {
                guard let v = unary() else { return nil }
                operators += 1
                return Foundation.cbrt(v)
            }
            if accept("half", "of") {
                guard let v = unary() else { return nil }
                operators += 1
                return v / 2
            }
            return power()
        }

        mutating func power() -> Double? {
            guard var value = primary() else { return nil }
            if accept("squared") { operators += 1; value *= value }
            else if accept("cubed") { operators += 1; value = value * value * value }
            else if accept("to", "the", "power", "of") || accept("to", "the", "power") || accept("raised", "to", "the", "power", "of") || accept("raised", "to") {
                guard let e = primary() else { return nil }
                operators += 1
                value = Foundation.pow(value, e)
            }
            return value
        }

        mutating func primary() -> Double? {
            guard i < t.count, let (v, e) = NumberParser.parse(t, from: i), t[i] != "minus" else { return nil }
            i = e
            if accept("percent", "of") {
                guard let base = unary() else { return nil }
                operators += 1
                return v / 100 * base
            }
            if accept("percent") { operators += 1; return v / 100 }
            return v
        }
    }
}
