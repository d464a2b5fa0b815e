// Key patterns of bucket rules: `*` matches within one path segment (no '/'), `**` matches
// across segments (any run, '/' included), `?` matches one character other than '/', anything
// else matches itself. `logs/**/*.json` matches `logs/a.json` and `logs/2026/12/a.json`.

public struct KeyPattern: Sendable, Hashable {
    enum Token: Sendable, Hashable {
        case literal(Character)
        case one
        case segment
        case any
        /// After `**/`: a segment starts here (after a '/', or at the key's start).
        case segmentStart
    }

    public let text: String
    let tokens: [Token]

    public init(_ text: String) {
        self.text = text
        var tokens: [Token] = []
        var characters = Array(text)[...]
        while let c = characters.popFirst() {
            switch c {
            case "*":
                if characters.first == "*" {
                    characters = characters.dropFirst()
                    // `**/` also matches no segment at all: `a/**/b` matches `a/b`.
                    if characters.first == "/" {
                        characters = characters.dropFirst()
                        tokens.append(.any)
                        tokens.append(.segmentStart)
                    } else {
                        tokens.append(.any)
                    }
                } else {
                    tokens.append(.segment)
                }
            case "?": tokens.append(.one)
            default: tokens.append(.literal(c))
            }
        }
        self.tokens = tokens
    }

    public func matches(_ key: String) -> Bool {
        let characters = Array(key)
        // Memoized backtracking over (token, character) positions: linear in their product.
        var failed = Set<Int>()
        func match(_ t: Int, _ k: Int) -> Bool {
            if t == tokens.count { return k == characters.count }
            let state = t * (characters.count + 1) + k
            if failed.contains(state) { return false }
            var result = false
            switch tokens[t] {
            case .segmentStart: result = (k == 0 || characters[k - 1] == "/") && match(t + 1, k)
            case .literal(let c): result = k < characters.count && characters[k] == c && match(t + 1, k + 1)
            case .one: result = k < characters.count && characters[k] != "/" && match(t + 1, k + 1)
            case .segment:
                var end = k
                while true {
                    if match(t + 1, end) { result = true; break }
                    guard end < characters.count, characters[end] != "/" else { break }
                    end += 1
                }
            case .any:
                for end in k...characters.count where match(t + 1, end) {
                    result = true
                    break
                }
            }
            if !result { failed.insert(state) }
            return result
        }
        return match(0, 0)
    }
}
