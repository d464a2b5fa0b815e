// Chunks by property (every character covered, in order, none longer than asked, each next one
// starting `overlap` back or less), and readable text of HTML and Markdown against hand-written
// expectations.

@testable import KymaBuckets
import Testing

@Suite("Chunks and readable text")
struct ChunkerTests {
    /// A deterministic text of words and paragraph breaks.
    static func text(seed: UInt64, words: Int) -> String {
        var state = seed
        var out = ""
        for i in 0..<words {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let length = Int(state >> 60) + 1
            out += String(repeating: Character(Unicode.Scalar(UInt8(97 + Int((state >> 40) % 26)))), count: length)
            out += (i % 37 == 36) ? "\n\n" : (state >> 20) % 11 == 0 ? "é " : " "
        }
        return out
    }

    @Test(arguments: [(100, 0), (100, 20), (250, 99), (1000, 100), (60, 59)])
    func chunksCoverTheTextInOrderWithinTheirBounds(size: Int, overlap: Int) {
        for seed in UInt64(1)...8 {
            let text = Self.text(seed: seed, words: Int(seed) * 120)
            let scalars = Array(text.unicodeScalars)
            let chunks = Chunker.chunks(text, size: size, overlap: overlap)
            #expect(chunks.first?.offset == 0)
            var coveredTo = 0
            for (position, chunk) in chunks.enumerated() {
                let length = chunk.text.unicodeScalars.count
                #expect(chunk.index == position)
                #expect(length >= 1 && length <= size, "chunk \(position) has \(length) characters")
                #expect(Array(chunk.text.unicodeScalars) == Array(scalars[chunk.offset..<(chunk.offset + length)]), "a chunk is a slice of the text")
                #expect(chunk.offset <= coveredTo, "no gap before chunk \(position)")
                if position > 0 {
                    #expect(chunk.offset > chunks[position - 1].offset, "chunks move forward")
                    #expect(coveredTo - chunk.offset <= overlap, "chunk \(position) repeats at most the overlap")
                }
                coveredTo = chunk.offset + length
            }
            #expect(coveredTo == scalars.count, "the last chunk ends the text")
        }
    }

    @Test func boundariesFallOnWhitespaceWhenThereIsSome() {
        let chunks = Chunker.chunks(Self.text(seed: 3, words: 400), size: 200, overlap: 0)
        for chunk in chunks.dropLast() {
            #expect(chunk.text.unicodeScalars.last?.properties.isWhitespace == true, "\(chunk.text.suffix(10))")
        }
    }

    @Test func blankTextHasNoChunks() {
        #expect(Chunker.chunks("", size: 100, overlap: 10).isEmpty)
        #expect(Chunker.chunks(" \n\t \n", size: 100, overlap: 10).isEmpty)
        #expect(Chunker.chunks("short", size: 100, overlap: 10).map(\.text) == ["short"])
    }

    @Test func htmlKeepsTheTextAReaderSees() {
        let html = """
        <!DOCTYPE html><html><head><title>Wing flutter</title><style>p { color: red }</style>
        <script>var x = "<p>not text</p>";</script></head>
        <body><!-- a <b>comment</b> --><h1>Flutter &amp; divergence</h1><p>At M&#x3D;0.8 the wing&nbsp;twists.</p>
        <P>Second&#46; paragraph &lt;here&gt;</P></body></html>
        """
        let text = DocumentText.readable(html, kind: .html)
        let words = text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        #expect(words == "Wing flutter Flutter & divergence At M=0.8 the wing twists. Second. paragraph <here>")
        #expect(text.contains("divergence\n"), "a block tag ends a line")
    }

    @Test func markdownLosesItsMarkup() {
        let markdown = """
        # Heat transfer
        > A **quoted** line with `code`
        - see [the paper](http://example.com/p.pdf) and ![a figure](f.png)
        ```
        let x = 1
        ```
        """
        #expect(DocumentText.readable(markdown, kind: .markdown) == " Heat transfer\nA quoted line with code\nsee the paper and a figure\nlet x = 1")
    }

    @Test func theKindComesFromTheOptionThenTheTypeThenTheName() {
        #expect(DocumentKind.of(key: "a.txt", contentType: "text/html", option: "markdown") == .markdown)
        #expect(DocumentKind.of(key: "a.txt", contentType: "text/html; charset=utf-8", option: nil) == .html)
        #expect(DocumentKind.of(key: "docs/a.md.gz", contentType: nil, option: nil) == .markdown)
        #expect(DocumentKind.of(key: "a.HTM", contentType: "application/octet-stream", option: nil) == .html)
        #expect(DocumentKind.of(key: "a", contentType: nil, option: nil) == .text)
    }
}
