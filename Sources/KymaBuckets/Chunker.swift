// Splits a document's text into chunks of at most `size` characters (Unicode scalars) where
// each next chunk starts `overlap` characters before the previous one ended, so a sentence cut
// by a boundary is whole in one of the two. A boundary moves back to the last paragraph break,
// else the last whitespace, in the chunk's final fifth, so words are not cut when avoidable.

public struct TextChunk: Sendable, Hashable {
    /// Position among the document's chunks, from 0.
    public var index: Int
    /// Offset of the first character in the readable text, in Unicode scalars.
    public var offset: Int
    public var text: String
}

public enum Chunker {
    /// The chunks of `text`; none for a text of only whitespace. Requires size > 0 and
    /// 0 <= overlap < size (the pipeline's options are checked so).
    public static func chunks(_ text: String, size: Int, overlap: Int) -> [TextChunk] {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains(where: { !$0.properties.isWhitespace }), size > 0 else { return [] }
        let overlap = min(max(0, overlap), size - 1)
        var chunks: [TextChunk] = []
        var start = 0
        while start < scalars.count {
            var end = min(scalars.count, start + size)
            if end < scalars.count {
                let floor = end - max(1, size / 5)
                if let paragraph = (max(start + 1, floor)..<end).reversed().first(where: { scalars[$0] == "\n" && scalars[$0 - 1] == "\n" }) {
                    end = paragraph + 1
                } else if let space = (max(start + 1, floor)..<end).reversed().first(where: { scalars[$0].properties.isWhitespace }) {
                    end = space + 1
                }
            }
            chunks.append(TextChunk(index: chunks.count, offset: start, text: String(String.UnicodeScalarView(scalars[start..<end]))))
            if end == scalars.count { break }
            // Always move forward, by at least one character.
            start = max(start + 1, end - overlap)
        }
        return chunks
    }
}
