// Key patterns against a hand-checked table: `*` stays in a segment, `**` crosses them (and
// `**/` may match no segment), `?` is one character but never '/'.

import KymaBuckets
import Testing

@Suite struct KeyPatternTests {
    static let cases: [(String, String, Bool)] = [
        ("*.log", "a.log", true), ("*.log", "dir/a.log", false), ("*.log", ".log", true),
        ("logs/*.json", "logs/x.json", true), ("logs/*.json", "logs/2026/x.json", false),
        ("logs/**/*.json", "logs/x.json", true), ("logs/**/*.json", "logs/2026/12/x.json", true), ("logs/**/*.json", "logsx.json", false),
        ("logs/**", "logs/a/b/c", true), ("logs/**", "logs", false), ("**", "", true), ("**/*.gz", "a.gz", true), ("**/*.gz", "x/y/a.gz", true),
        ("a?c", "abc", true), ("a?c", "a/c", false), ("a?c", "ac", false),
        ("Apache/*", "Apache/Apache_2k.log", true), ("Apache/*", "Linux/Linux_2k.log", false),
        ("exact", "exact", true), ("exact", "exact2", false), ("*", "", true), ("a*b*c", "aXbYc", true), ("a*b*c", "aXbY/c", false),
        ("ünï/*", "ünï/cödé", true),
    ]

    @Test(arguments: cases) func matches(_ pattern: String, _ key: String, _ expected: Bool) {
        #expect(KeyPattern(pattern).matches(key) == expected, "\(pattern) ~ \(key)")
    }

    @Test func manyStarsStayFast() {
        // Memoized: a pattern of many wildcards against a long key that fails late.
        let key = String(repeating: "a", count: 2000) + "b"
        #expect(!KeyPattern(String(repeating: "*a", count: 30) + "c").matches(key))
        #expect(!KeyPattern(String(repeating: "**a", count: 30) + "c").matches(key))
    }
}
