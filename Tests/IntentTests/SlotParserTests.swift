import Foundation
import Testing
import Intent

private func toks(_ s: String) -> [String] { Normalizer().tokens(s, removeFillers: false) }

struct NumberParserTests {
    @Test(arguments: [
        ("zero", 0.0), ("five", 5), ("twelve", 12), ("twenty five", 25), ("twenty-five", 25), ("25", 25),
        ("ninety nine", 99), ("one hundred", 100), ("a hundred", 100), ("one hundred and five", 105),
        ("three hundred twenty one", 321), ("two thousand", 2000), ("a thousand", 1000),
        ("two thousand three hundred and forty five", 2345), ("one million", 1_000_000), ("1,000", 1000),
        ("2.5", 2.5), ("two and a half", 2.5), ("one and a quarter", 1.25), ("three and three quarters", 3.75),
        ("three point one four", 3.14), ("zero point five", 0.5), ("minus five", -5), ("negative twelve", -12),
        ("2 thousand", 2000), ("fifteen hundred", 1500), ("007", 7),
    ])
    func parsesNumbers(_ text: String, _ expected: Double) {
        #expect(NumberParser.parseWhole(toks(text)[...]) == expected, "\(text)")
    }

    @Test(arguments: ["", "five five", "twenty twenty", "hundred", "and", "five and", "point five", "twelve ten", "thousand thousand", "1.2.3", "minus", "apple"])
    func rejectsNonNumbers(_ text: String) {
        #expect(NumberParser.parseWhole(toks(text)[...]) == nil, "\(text)")
    }

    @Test func fractionWordsOnlyWhenAllowed() {
        #expect(NumberParser.parseWhole(["half"]) == nil)
        #expect(NumberParser.parseWhole(["a", "half"], fractions: true) == 0.5)
        #expect(NumberParser.parseWhole(["a", "quarter"], fractions: true) == 0.25)
    }
}

struct DurationParserTests {
    @Test(arguments: [
        ("five minutes", 300.0), ("5 minutes", 300), ("a minute", 60), ("one minute", 60), ("90 seconds", 90),
        ("an hour", 3600), ("an hour and a half", 5400), ("one and a half hours", 5400), ("half an hour", 1800),
        ("a quarter of an hour", 900), ("quarter of an hour", 900), ("2 hours", 7200), ("1 hour 30 minutes", 5400),
        ("1 hour and 30 minutes", 5400), ("two hours, ten minutes and five seconds", 7805), ("twenty five minutes", 1500),
        ("2 and a half minutes", 150), ("a couple of minutes", 120), ("5 mins", 300), ("10 secs", 10), ("3 hrs", 10800),
        ("a minute and a half", 90), ("half a minute", 30), ("1 day", 86400), ("forty five seconds", 45),
    ])
    func parsesDurations(_ text: String, _ seconds: Double) {
        #expect(DurationParser.parse(toks(text)[...]) == seconds, "\(text)")
    }

    @Test(arguments: ["minutes", "five", "five apples", "and five minutes", "0 minutes", "an", "half", "five minutes and", "minute five"])
    func rejectsNonDurations(_ text: String) {
        #expect(DurationParser.parse(toks(text)[...]) == nil, "\(text)")
    }

    @Test func spokenForm() {
        #expect(DurationParser.spoken(300) == "5 minutes")
        #expect(DurationParser.spoken(5400) == "1 hour and 30 minutes")
        #expect(DurationParser.spoken(3661) == "1 hour, 1 minute and 1 second")
    }
}

struct TimeOfDayParserTests {
    @Test(arguments: [
        ("7:30 pm", 19, 30, false), ("7:30", 7, 30, true), ("7 pm", 19, 0, false), ("7pm", 19, 0, false), ("7 am", 7, 0, false),
        ("7 a.m.", 7, 0, false), ("half past seven", 7, 30, true), ("quarter past eight", 8, 15, true),
        ("quarter to eight", 7, 45, true), ("ten past six", 6, 10, true), ("twenty five to nine", 8, 35, true),
        ("noon", 12, 0, false), ("midnight", 0, 0, false), ("seven thirty", 7, 30, true), ("seven oh five", 7, 5, true),
        ("seven o'clock", 7, 0, true), ("19:45", 19, 45, false), ("nineteen forty five", 19, 45, false),
        ("6 in the evening", 18, 0, false), ("5 in the morning", 5, 0, false), ("10 at night", 22, 0, false),
        ("12 am", 0, 0, false), ("12 pm", 12, 0, false), ("seven", 7, 0, true), ("half past seven pm", 19, 30, false),
        ("6.45", 6, 45, true), ("730", 7, 30, true), ("quarter to midnight", 23, 45, false),
    ])
    func parsesTimes(_ text: String, _ hour: Int, _ minute: Int, _ ambiguous: Bool) {
        let t = TimeOfDayParser.parse(toks(text)[...])
        #expect(t == TimeOfDay(hour: hour, minute: minute, ambiguous: ambiguous), "\(text): \(String(describing: t))")
    }

    @Test(arguments: ["25:00", "7:75", "seven five", "half to seven", "13 pm", "pm", "o'clock", "banana", "seventy", "noon pm"])
    func rejectsNonTimes(_ text: String) {
        #expect(TimeOfDayParser.parse(toks(text)[...]) == nil, "\(text)")
    }

    @Test func nextOccurrence() throws {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = try #require(TimeZone(identifier: "UTC"))
        let now = try #require(cal.date(from: DateComponents(year: 2026, month: 11, day: 28, hour: 14, minute: 0)))
        // 7:30 ambiguous at 14:00 -> 19:30 today; 7:30 am -> tomorrow.
        let evening = TimeOfDay(hour: 7, minute: 30, ambiguous: true).nextOccurrence(after: now, calendar: cal)
        #expect(cal.dateComponents([.day, .hour, .minute], from: evening) == DateComponents(day: 28, hour: 19, minute: 30))
        let morning = TimeOfDay(hour: 7, minute: 30).nextOccurrence(after: now, calendar: cal)
        #expect(cal.dateComponents([.day, .hour], from: morning) == DateComponents(day: 29, hour: 7))
    }
}

struct DateParserTests {
    @Test(arguments: [
        ("today", "day+0"), ("tomorrow", "day+1"), ("yesterday", "day-1"), ("the day after tomorrow", "day+2"),
        ("in 3 days", "day+3"), ("in three days", "day+3"), ("in a week", "day+7"), ("in two weeks", "day+14"),
        ("next week", "day+7"), ("friday", "friday"), ("on friday", "friday"), ("next friday", "next friday"),
        ("this monday", "monday"), ("the coming sunday", "next sunday"), ("march 3rd", "03-03"), ("march third", "03-03"),
        ("march 3", "03-03"), ("the 3rd of march", "03-03"), ("3rd march", "03-03"), ("the third of march", "03-03"),
        ("on the twenty first of june", "06-21"), ("december 25th 2027", "2027-12-25"), ("july fourth", "07-04"),
        ("jan 1st", "01-01"), ("february 29th", "02-29"),
    ])
    func parsesDates(_ text: String, _ canonical: String) {
        #expect(DateParser.parse(toks(text)[...])?.canonical == canonical, "\(text)")
    }

    @Test(arguments: ["march", "the 40th of march", "february 30th", "next", "in days", "tomorrow tomorrow", "funday", "march 0"])
    func rejectsNonDates(_ text: String) {
        #expect(DateParser.parse(toks(text)[...]) == nil, "\(text)")
    }

    @Test func resolvesAgainstClock() throws {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = try #require(TimeZone(identifier: "UTC"))
        // Saturday 28 November 2026.
        let now = try #require(cal.date(from: DateComponents(year: 2026, month: 11, day: 28, hour: 10)))
        func ymd(_ d: DateSpec) -> DateComponents { cal.dateComponents([.year, .month, .day], from: d.resolve(from: now, calendar: cal)) }
        #expect(ymd(.relativeDays(1)) == DateComponents(year: 2026, month: 11, day: 29))
        #expect(ymd(.weekday(6, next: false)) == DateComponents(year: 2026, month: 12, day: 4))  // friday
        #expect(ymd(.weekday(7, next: false)) == DateComponents(year: 2026, month: 11, day: 28)) // saturday = today
        #expect(ymd(.weekday(7, next: true)) == DateComponents(year: 2026, month: 12, day: 5))   // next saturday
        #expect(ymd(.monthDay(month: 3, day: 3, year: nil)) == DateComponents(year: 2027, month: 3, day: 3))
        #expect(ymd(.monthDay(month: 12, day: 25, year: nil)) == DateComponents(year: 2026, month: 12, day: 25))
    }
}

struct ExpressionParserTests {
    @Test(arguments: [
        ("twelve times fourteen", 168.0), ("12 times 14", 168), ("square root of 81", 9), ("the square root of 2", 2.0.squareRoot()),
        ("15 percent of 80", 12), ("15 % of 80", 12), ("7 plus 8", 15), ("100 divided by 4", 25), ("2 to the power of 10", 1024),
        ("9 squared", 81), ("three cubed", 27), ("1000 minus 1", 999), ("two plus two times three", 8), ("10 minus 2 minus 3", 5),
        ("add 5 and 7", 12), ("subtract 3 from 10", 7), ("multiply 6 by 7", 42), ("divide 10 by 4", 2.5), ("18 over 3", 6),
        ("12 x 12", 144), ("twelve time fourteen", 168), ("square route of 81", 9), ("cube root of 27", 3), ("half of 90", 45), ("minus five plus 8", 3), ("3.5 times 2", 7),
        ("one hundred and five minus five", 100), ("17 mod 5", 2), ("two and a half times four", 10), ("5 + 3", 8), ("10 ÷ 4", 2.5),
    ])
    func evaluates(_ text: String, _ expected: Double) throws {
        let value = try #require(ExpressionParser.evaluate(toks(text)[...]), "\(text)")
        #expect(abs(value - expected) < 1e-9, "\(text) = \(value)")
    }

    @Test(arguments: ["five", "times", "12 times", "plus plus", "the capital of france", "square root", "7 plus", "what is", "percent of 5"])
    func rejectsNonExpressions(_ text: String) {
        #expect(ExpressionParser.evaluate(toks(text)[...]) == nil, "\(text)")
    }

    @Test func divisionByZeroIsInfiniteNotACrash() {
        #expect(ExpressionParser.evaluate(["5", "divided", "by", "0"])?.isInfinite == true)
    }
}

struct NormalizerTests {
    @Test(arguments: [
        ("What's the time?", "what is the time"), ("Hey Hark, could you set a timer please", "set a timer"),
        ("TURN OFF the lights!", "turn off the lights"), ("it's 7pm", "it is 7 pm"), ("15% of 80", "15 percent of 80"), ("15 per cent of 80", "15 percent of 80"),
        ("5+3", "5 plus 3"), ("1,000", "1000"), ("twenty-five", "twenty five"), ("set a timer for 5 mins, thanks", "set a timer for 5 minutes"),
        ("um, uh, what time is it", "what time is it"), ("7:30 a.m.", "7:30 am"), ("don't let me forget", "do not let me forget"),
        ("today’s date", "todays date"), ("10/4", "10 divided by 4"), ("-5 plus 3", "minus 5 plus 3"), ("", ""), ("!!!", ""),
    ])
    func normalises(_ input: String, _ expected: String) {
        #expect(Normalizer().tokens(input).joined(separator: " ") == expected, "\(input)")
    }

    @Test func phoneticKeysGroupSoundAlikes() {
        #expect(WordSimilarity.phoneticKey("phone") == WordSimilarity.phoneticKey("fone"))
        #expect(WordSimilarity.phoneticKey("knight") == WordSimilarity.phoneticKey("night"))
        #expect(WordSimilarity.similarity("timer", "time") > 0.6)
        #expect(WordSimilarity.similarity("off", "of") > 0.8)
        #expect(WordSimilarity.similarity("two", "to") >= 0.9)
        #expect(WordSimilarity.similarity("kitchen", "bedroom") < 0.5)
        #expect(WordSimilarity.similarity("a", "the") < 0.5)
    }
}
