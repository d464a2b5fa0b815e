// Regular expressions in RE2's syntax (what DuckDB's regexp functions take), matched by a Pike
// VM: every position is tried with all threads in lock step, so matching is O(text × program)
// whatever the pattern — a hostile pattern such as `(a*)*b` cannot make a query hang.
//
// Supported: literals and escapes (`\.` `\\` `\n` `\t` `\r` `\f` `\v` `\x{hh}` `\xhh`), `.`,
// classes `[a-z0-9_]` `[^...]` with `\d \w \s` and POSIX `[[:alpha:]]`-style names, `\d \D \w \W
// \s \S`, anchors `^ $ \A \z \b \B`, groups `(...)` `(?:...)` `(?P<name>...)` `(?<name>...)`,
// flags `(?i) (?s) (?m) (?U)` and `(?i:...)`, alternation `|`, quantifiers `* + ? {n} {n,} {n,m}`
// (lazy forms accepted; matching only asks whether a match exists). Case folding is simple
// (lowercase of each code point). Back-references and look-around are not RE2 and are errors.

import KymaCore
import Synchronization

public struct RegularExpression: Sendable {
    /// Counted repetition above this is an error (RE2's limit).
    public static let maxRepeat = 1000
    /// Programs above this many instructions are an error.
    public static let maxInstructions = 20_000

    enum Instruction: Sendable {
        case scalar(UInt32)
        case set(CharacterSet_)
        case any  // any code point
        case anyButNewline
        case split(Int, Int)
        case jump(Int)
        case assertBegin, assertEnd, assertLineBegin, assertLineEnd, assertWordBoundary, assertNotWordBoundary
        case match
    }

    let program: [Instruction]
    /// The pattern starts with `^`/`\A` (outside multiline mode): only position 0 can match.
    let anchoredAtStart: Bool

    /// Compiles `pattern`; `options` as DuckDB's (`i` ignore case, `c` case-sensitive, `s` dot
    /// matches newline, `m`/`n`/`p` multiline anchors, `l` the pattern is a literal, `g` ignored).
    public init(_ pattern: String, options: String = "") throws(QueryError) {
        var flags = RegexFlags()
        var literal = false
        for option in options {
            switch option {
            case "i": flags.ignoreCase = true
            case "c": flags.ignoreCase = false
            case "s": flags.dotAll = true
            case "m", "n", "p": flags.multiline = true; flags.dotAll = false
            case "l": literal = true
            case "g": break
            default: throw .semantic("unknown regular expression option '\(option)' (have i, c, s, m, n, p, l, g)", at: nil)
            }
        }
        var parser = RegexParser(Array(pattern.unicodeScalars), literal: literal)
        let tree = try parser.parse(flags)
        var compiler = RegexCompiler()
        try compiler.emit(tree)
        compiler.append(.match)
        program = compiler.program
        if case .concat(let parts) = tree, case .assertBegin? = parts.first { anchoredAtStart = true }
        else if case .assertBegin = tree { anchoredAtStart = true }
        else { anchoredAtStart = false }
    }

    /// Whether the pattern matches somewhere in `text` (or, with `whole`, all of it).
    public func matches(_ text: String, whole: Bool = false) -> Bool {
        let scalars = Array(text.unicodeScalars.map(\.value))
        var current = ThreadList(capacity: program.count)
        var next = ThreadList(capacity: program.count)
        for position in 0...scalars.count {
            if position == 0 || (!anchoredAtStart && !whole) {
                if addThread(&current, 0, scalars, position, whole: whole) { return true }
            }
            if current.count == 0 { if anchoredAtStart || whole { return false } else { continue } }
            guard position < scalars.count else { break }
            let c = scalars[position]
            next.clear()
            for k in 0..<current.count {
                let pc = current.items[k]
                let advances: Bool
                switch program[pc] {
                case .scalar(let s): advances = s == c
                case .set(let set): advances = set.contains(c)
                case .any: advances = true
                case .anyButNewline: advances = c != 10
                default: advances = false
                }
                if advances, addThread(&next, pc + 1, scalars, position + 1, whole: whole) { return true }
            }
            swap(&current, &next)
        }
        return false
    }

    /// Follows jumps, splits and assertions from `pc` at `position`; true when `match` is reached
    /// (for a whole match, only at the end of the text).
    private func addThread(_ list: inout ThreadList, _ start: Int, _ text: [UInt32], _ position: Int, whole: Bool) -> Bool {
        var stack = [start]
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            switch program[pc] {
            case .jump(let target): stack.append(target)
            case .split(let a, let b):
                stack.append(b)
                stack.append(a)
            case .assertBegin: if position == 0 { stack.append(pc + 1) }
            case .assertEnd: if position == text.count { stack.append(pc + 1) }
            case .assertLineBegin: if position == 0 || text[position - 1] == 10 { stack.append(pc + 1) }
            case .assertLineEnd: if position == text.count || text[position] == 10 { stack.append(pc + 1) }
            case .assertWordBoundary, .assertNotWordBoundary:
                let before = position > 0 && Self.isWord(text[position - 1])
                let after = position < text.count && Self.isWord(text[position])
                var wanted = true
                if case .assertNotWordBoundary = program[pc] { wanted = false }
                if (before != after) == wanted { stack.append(pc + 1) }
            case .match:
                if !whole || position == text.count { return true }
            case .scalar, .set, .any, .anyButNewline: break
            }
        }
        return false
    }

    static func isWord(_ c: UInt32) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95
    }

    // MARK: - Compiled patterns kept between rows

    private static let cache = Mutex<[String: RegularExpression]>([:])

    /// `RegularExpression(pattern, options:)`, compiled once and kept (up to 256 patterns).
    public static func cached(_ pattern: String, options: String = "") throws(QueryError) -> RegularExpression {
        let key = options + "\u{0}" + pattern
        if let found = cache.withLock({ $0[key] }) { return found }
        let compiled = try RegularExpression(pattern, options: options)
        cache.withLock { entries in
            if entries.count >= 256 { entries.removeAll() }
            entries[key] = compiled
        }
        return compiled
    }
}

/// A set of code points: sorted, non-overlapping closed ranges, optionally negated.
struct CharacterSet_: Sendable {
    var ranges: [(UInt32, UInt32)]
    var negated: Bool

    func contains(_ c: UInt32) -> Bool {
        var low = 0, high = ranges.count - 1
        var found = false
        while low <= high {
            let mid = (low + high) / 2
            if c < ranges[mid].0 { high = mid - 1 } else if c > ranges[mid].1 { low = mid + 1 } else { found = true; break }
        }
        return found != negated
    }

    static func normalised(_ ranges: [(UInt32, UInt32)], negated: Bool) -> CharacterSet_ {
        let sorted = ranges.sorted { $0.0 < $1.0 }
        var merged: [(UInt32, UInt32)] = []
        for range in sorted {
            if let last = merged.last, range.0 <= last.1 &+ 1 {
                merged[merged.count - 1].1 = max(last.1, range.1)
            } else {
                merged.append(range)
            }
        }
        return CharacterSet_(ranges: merged, negated: negated)
    }
}

/// The sparse set of program counters alive at one position (insertion order kept).
struct ThreadList {
    var items: [Int]
    var dense: [Int]
    var sparse: [Int]
    var count = 0

    init(capacity: Int) {
        items = [Int](repeating: 0, count: capacity)
        dense = [Int](repeating: 0, count: capacity)
        sparse = [Int](repeating: 0, count: capacity)
    }

    /// Adds `pc`; false when it was there. Every pc is recorded (for de-duplication); only
    /// consuming instructions matter to the caller's step, which reads `items`.
    mutating func insert(_ pc: Int) -> Bool {
        let slot = sparse[pc]
        if slot < count, dense[slot] == pc { return false }
        sparse[pc] = count
        dense[count] = pc
        items[count] = pc
        count += 1
        return true
    }

    mutating func clear() { count = 0 }
}

struct RegexFlags {
    var ignoreCase = false
    var dotAll = false
    var multiline = false
}

indirect enum RegexNode {
    case empty
    case set(CharacterSet_)
    case any(dotAll: Bool)
    case concat([RegexNode])
    case alternate([RegexNode])
    case repeated(RegexNode, min: Int, max: Int?)
    case assertBegin, assertEnd, assertLineBegin, assertLineEnd, assertWordBoundary, assertNotWordBoundary
}

struct RegexParser {
    let pattern: [Unicode.Scalar]
    let literal: Bool
    var position = 0
    var depth = 0

    init(_ pattern: [Unicode.Scalar], literal: Bool) {
        self.pattern = pattern
        self.literal = literal
    }

    func fail(_ message: String) -> QueryError {
        .semantic("invalid regular expression at offset \(position): \(message)", at: nil)
    }

    mutating func parse(_ flags: RegexFlags) throws(QueryError) -> RegexNode {
        if literal { return .concat(pattern.map { scalarNode($0.value, flags) }) }
        var flags = flags
        let node = try alternation(&flags)
        guard position == pattern.count else { throw fail("unmatched ')'") }
        return node
    }

    var atEnd: Bool { position >= pattern.count }
    var peek: UInt32? { atEnd ? nil : pattern[position].value }

    mutating func alternation(_ flags: inout RegexFlags) throws(QueryError) -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= QueryLimits.maxExpressionDepth else { throw fail("nested deeper than \(QueryLimits.maxExpressionDepth) groups") }
        var branches = [try sequence(&flags)]
        while peek == 0x7C {  // |
            position += 1
            branches.append(try sequence(&flags))
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    mutating func sequence(_ flags: inout RegexFlags) throws(QueryError) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek, c != 0x7C, c != 0x29 {  // | )
            var atom = try self.atom(&flags)
            guard let node = atom else { continue }  // a flag group such as (?i)
            atom = try quantified(node)
            items.append(atom!)
        }
        return items.count == 1 ? items[0] : .concat(items)
    }

    mutating func quantified(_ node: RegexNode) throws(QueryError) -> RegexNode {
        var node = node
        var applied = 0
        while let c = peek {
            var bounds: (Int, Int?)
            switch c {
            case 0x2A: bounds = (0, nil); position += 1  // *
            case 0x2B: bounds = (1, nil); position += 1  // +
            case 0x3F: bounds = (0, 1); position += 1  // ?
            case 0x7B:  // {
                guard let counted = try counted() else { return node }
                bounds = counted
            default: return node
            }
            if peek == 0x3F { position += 1 }  // lazy: same set of matches
            // RE2 refuses `a**` (`a*?` was consumed above as one lazy operator; `(a*)*` is fine).
            guard applied == 0 else { throw fail("bad repetition operator") }
            applied += 1
            node = .repeated(node, min: bounds.0, max: bounds.1)
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}`; nil (and nothing consumed) when the brace is a literal.
    mutating func counted() throws(QueryError) -> (Int, Int?)? {
        let start = position
        position += 1
        func number() -> Int? {
            var value = 0, digits = 0
            while let c = peek, c >= 0x30, c <= 0x39 {
                value = min(value * 10 + Int(c - 0x30), 1_000_000)
                digits += 1
                position += 1
            }
            return digits > 0 ? value : nil
        }
        guard let low = number() else { position = start; return nil }
        var high: Int? = low
        if peek == 0x2C {  // ,
            position += 1
            high = number()
        }
        guard peek == 0x7D else { position = start; return nil }
        position += 1
        if low > RegularExpression.maxRepeat || (high ?? 0) > RegularExpression.maxRepeat {
            throw fail("repetition count over \(RegularExpression.maxRepeat)")
        }
        if let high, high < low { throw fail("repetition {\(low),\(high)} has its bounds reversed") }
        return (low, high)
    }

    func scalarNode(_ c: UInt32, _ flags: RegexFlags) -> RegexNode {
        .set(CharacterSet_.normalised(Self.folded(c, flags.ignoreCase).map { ($0, $0) }, negated: false))
    }

    static func folded(_ c: UInt32, _ ignoreCase: Bool) -> [UInt32] {
        guard ignoreCase, let scalar = Unicode.Scalar(c) else { return [c] }
        var out: Set<UInt32> = [c]
        for variant in [String(scalar).lowercased(), String(scalar).uppercased()] {
            let scalars = Array(variant.unicodeScalars)
            if scalars.count == 1 { out.insert(scalars[0].value) }
        }
        return Array(out)
    }

    mutating func atom(_ flags: inout RegexFlags) throws(QueryError) -> RegexNode? {
        guard let c = peek else { throw fail("unexpected end") }
        position += 1
        switch c {
        case 0x2E: return .any(dotAll: flags.dotAll)  // .
        case 0x5E: return flags.multiline ? .assertLineBegin : .assertBegin  // ^
        case 0x24: return flags.multiline ? .assertLineEnd : .assertEnd  // $
        case 0x5B: return .set(try characterClass(flags))  // [
        case 0x5C: return try escape(flags, inClass: false)  // \
        case 0x2A, 0x2B, 0x3F: throw fail("missing argument to repetition operator")
        case 0x28:  // (
            var inner = flags
            if peek == 0x3F {  // (?
                position += 1
                if peek == 0x50 || peek == 0x3C {  // (?P<name> or (?<name>
                    if peek == 0x50 { position += 1 }
                    guard peek == 0x3C else { throw fail("bad group name") }
                    while let n = peek, n != 0x3E { position += 1 }
                    guard peek == 0x3E else { throw fail("unterminated group name") }
                    position += 1
                } else {
                    var on = true
                    var setFlags = flags
                    while let f = peek, f != 0x3A, f != 0x29 {  // : )
                        position += 1
                        switch f {
                        case 0x2D: on = false  // -
                        case 0x69: setFlags.ignoreCase = on  // i
                        case 0x73: setFlags.dotAll = on  // s
                        case 0x6D: setFlags.multiline = on  // m
                        case 0x55: break  // U (ungreedy): the same matches
                        default: throw fail("unknown or unsupported group flag (look-around and back-references are not RE2)")
                        }
                    }
                    guard let end = peek else { throw fail("missing ')'") }
                    position += 1
                    if end == 0x29 {  // (?i) applies to the rest of the enclosing group
                        flags = setFlags
                        return nil
                    }
                    inner = setFlags
                }
            }
            let node = try alternation(&inner)
            guard peek == 0x29 else { throw fail("missing ')'") }
            position += 1
            return node
        default:
            return scalarNode(c, flags)
        }
    }

    static let digit: [(UInt32, UInt32)] = [(48, 57)]
    static let word: [(UInt32, UInt32)] = [(48, 57), (65, 90), (95, 95), (97, 122)]
    static let space: [(UInt32, UInt32)] = [(9, 10), (12, 13), (32, 32)]

    mutating func escape(_ flags: RegexFlags, inClass: Bool) throws(QueryError) -> RegexNode {
        guard let c = peek else { throw fail("trailing backslash") }
        position += 1
        switch c {
        case 0x64: return .set(CharacterSet_.normalised(Self.digit, negated: false))  // d
        case 0x44: return .set(CharacterSet_.normalised(Self.digit, negated: true))
        case 0x77: return .set(CharacterSet_.normalised(Self.word, negated: false))  // w
        case 0x57: return .set(CharacterSet_.normalised(Self.word, negated: true))
        case 0x73: return .set(CharacterSet_.normalised(Self.space, negated: false))  // s
        case 0x53: return .set(CharacterSet_.normalised(Self.space, negated: true))
        case 0x62 where !inClass: return .assertWordBoundary  // b
        case 0x42 where !inClass: return .assertNotWordBoundary
        case 0x41 where !inClass: return .assertBegin  // A
        case 0x7A where !inClass: return .assertEnd  // z
        case 0x6E: return scalarNode(10, flags)
        case 0x74: return scalarNode(9, flags)
        case 0x72: return scalarNode(13, flags)
        case 0x66: return scalarNode(12, flags)
        case 0x76: return scalarNode(11, flags)
        case 0x78:  // x
            var value: UInt32 = 0
            if peek == 0x7B {
                position += 1
                var digits = 0
                while let h = peek, h != 0x7D {
                    guard let v = Self.hexValue(h), digits < 8 else { throw fail("bad \\x{...}") }
                    value = value * 16 + v
                    digits += 1
                    position += 1
                }
                guard peek == 0x7D, digits > 0 else { throw fail("bad \\x{...}") }
                position += 1
            } else {
                for _ in 0..<2 {
                    guard let h = peek, let v = Self.hexValue(h) else { throw fail("bad \\xhh") }
                    value = value * 16 + v
                    position += 1
                }
            }
            guard value <= 0x10FFFF else { throw fail("code point out of range") }
            return scalarNode(value, flags)
        default:
            if (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) {
                throw fail("unsupported escape \\\(Unicode.Scalar(c).map { String($0) } ?? "?") (back-references and \\p classes are not supported)")
            }
            return scalarNode(c, flags)
        }
    }

    static func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    static let posixClasses: [String: [(UInt32, UInt32)]] = [
        "alpha": [(65, 90), (97, 122)], "digit": [(48, 57)], "alnum": [(48, 57), (65, 90), (97, 122)],
        "upper": [(65, 90)], "lower": [(97, 122)], "space": [(9, 13), (32, 32)], "blank": [(9, 9), (32, 32)],
        "punct": [(33, 47), (58, 64), (91, 96), (123, 126)], "xdigit": [(48, 57), (65, 70), (97, 102)],
        "word": [(48, 57), (65, 90), (95, 95), (97, 122)], "cntrl": [(0, 31), (127, 127)], "print": [(32, 126)],
        "graph": [(33, 126)], "ascii": [(0, 127)],
    ]

    mutating func characterClass(_ flags: RegexFlags) throws(QueryError) -> CharacterSet_ {
        var negated = false
        if peek == 0x5E { negated = true; position += 1 }
        var ranges: [(UInt32, UInt32)] = []
        var first = true
        while true {
            guard let c = peek else { throw fail("missing ']'") }
            if c == 0x5D, !first { position += 1; break }  // ] (a leading ] is literal)
            first = false
            var low: UInt32
            if c == 0x5B, position + 1 < pattern.count, pattern[position + 1].value == 0x3A {  // [:name:]
                let start = position + 2
                guard let close = (start..<pattern.count).first(where: { pattern[$0].value == 0x3A }), close + 1 < pattern.count,
                      pattern[close + 1].value == 0x5D else { throw fail("bad POSIX class") }
                var name = String(String.UnicodeScalarView(pattern[start..<close]))
                var negatedClass = false
                if name.hasPrefix("^") { negatedClass = true; name.removeFirst() }
                guard let members = Self.posixClasses[name] else { throw fail("unknown POSIX class [:\(name):]") }
                ranges += negatedClass ? Self.complement(members) : members
                position = close + 2
                continue
            }
            if c == 0x5C {  // \
                position += 1
                switch try escape(flags, inClass: true) {
                case .set(let set) where set.negated: ranges += Self.complement(set.ranges); continue
                case .set(let set) where set.ranges.count != 1 || set.ranges[0].0 != set.ranges[0].1:
                    ranges += set.ranges
                    continue
                case .set(let set): low = set.ranges[0].0
                default: throw fail("bad escape in a class")
                }
            } else {
                position += 1
                low = c
            }
            var high = low
            if peek == 0x2D, position + 1 < pattern.count, pattern[position + 1].value != 0x5D {  // a-b
                position += 1
                guard let h = peek else { throw fail("missing ']'") }
                position += 1
                if h == 0x5C {
                    guard case .set(let set) = try escape(flags, inClass: true), set.ranges.count == 1, set.ranges[0].0 == set.ranges[0].1 else {
                        throw fail("bad range end")
                    }
                    high = set.ranges[0].0
                } else {
                    high = h
                }
                guard high >= low else { throw fail("range out of order") }
            }
            ranges.append((low, high))
            if flags.ignoreCase, high - low < 0x3000 {
                for v in low...high { for f in Self.folded(v, true) where f != v { ranges.append((f, f)) } }
            }
        }
        return CharacterSet_.normalised(ranges, negated: negated)
    }

    static func complement(_ ranges: [(UInt32, UInt32)]) -> [(UInt32, UInt32)] {
        let sorted = CharacterSet_.normalised(ranges, negated: false).ranges
        var out: [(UInt32, UInt32)] = []
        var next: UInt32 = 0
        for (low, high) in sorted {
            if low > next { out.append((next, low - 1)) }
            next = high &+ 1
        }
        if next <= 0x10FFFF { out.append((next, 0x10FFFF)) }
        return out
    }
}

struct RegexCompiler {
    var program: [RegularExpression.Instruction] = []

    mutating func append(_ instruction: RegularExpression.Instruction) {
        program.append(instruction)
    }

    mutating func emit(_ node: RegexNode) throws(QueryError) {
        guard program.count <= RegularExpression.maxInstructions else {
            throw .semantic("regular expression too large (over \(RegularExpression.maxInstructions) instructions)", at: nil)
        }
        switch node {
        case .empty: break
        case .set(let set):
            if !set.negated, set.ranges.count == 1, set.ranges[0].0 == set.ranges[0].1 { append(.scalar(set.ranges[0].0)) } else { append(.set(set)) }
        case .any(let dotAll): append(dotAll ? .any : .anyButNewline)
        case .assertBegin: append(.assertBegin)
        case .assertEnd: append(.assertEnd)
        case .assertLineBegin: append(.assertLineBegin)
        case .assertLineEnd: append(.assertLineEnd)
        case .assertWordBoundary: append(.assertWordBoundary)
        case .assertNotWordBoundary: append(.assertNotWordBoundary)
        case .concat(let parts): for part in parts { try emit(part) }
        case .alternate(let branches):
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = program.count
                    append(.split(split + 1, 0))
                    try emit(branch)
                    jumps.append(program.count)
                    append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { program[jump] = .jump(program.count) }
        case .repeated(let inner, let minimum, let maximum):
            for _ in 0..<minimum { try emit(inner) }
            if let maximum {
                // Optional copies: each may be skipped to the end.
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(program.count)
                    append(.split(program.count + 1, 0))
                    try emit(inner)
                }
                for split in splits { program[split] = .split(split + 1, program.count) }
            } else {
                let loop = program.count
                append(.split(loop + 1, 0))
                try emit(inner)
                append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        }
    }
}
