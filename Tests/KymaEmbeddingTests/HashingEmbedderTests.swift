// The hashing embedder against independent facts: FNV-1a's published test values, unit length,
// determinism, and that shared words mean closer vectors than no shared words.

@testable import KymaEmbedding
import Testing

@Suite("Hashing embedder")
struct HashingEmbedderTests {
    @Test func fnv1aMatchesThePublishedValues() {
        // From the FNV reference (Fowler, Noll, Vo): FNV-1a 64 of "" and of "a".
        #expect(HashingEmbedder.fnv1a([]) == 0xcbf2_9ce4_8422_2325)
        #expect(HashingEmbedder.fnv1a(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(HashingEmbedder.fnv1a(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
    }

    @Test func wordsAreLowercasedRunsOfLettersAndDigits() {
        let words = HashingEmbedder.words("Boundary-layer FLOW, at Mach 2.5!").map { String(decoding: $0, as: UTF8.self) }
        #expect(words == ["boundary", "layer", "flow", "at", "mach", "2", "5"])
    }

    @Test func vectorsHaveUnitLengthAndTheAskedDimension() async throws {
        let embedder = HashingEmbedder(dimension: 64)
        let vectors = try await embedder.embed(["supersonic flow over a wedge", "heat transfer in laminar boundary layers", "x"])
        #expect(vectors.count == 3)
        for vector in vectors {
            #expect(vector.count == 64)
            let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
        #expect(try await embedder.embed([]).isEmpty)
        #expect(embedder.vector("  ,;  ").allSatisfy { $0 == 0 }, "a text without words has no direction")
    }

    @Test func theSameTextGivesTheSameVectorAcrossInstances() async throws {
        let a = try await HashingEmbedder(dimension: 128).embed(["the pressure distribution on a cone"])
        let b = try await HashingEmbedder(dimension: 128).embed(["the pressure distribution on a cone"])
        #expect(a == b)
    }

    @Test func sharedWordsAreCloserThanNone() {
        let embedder = HashingEmbedder()
        func cosine(_ x: [Float], _ y: [Float]) -> Float { zip(x, y).reduce(0) { $0 + $1.0 * $1.1 } }
        let query = embedder.vector("boundary layer transition")
        let related = embedder.vector("transition of the laminar boundary layer at high speed")
        let unrelated = embedder.vector("the structural weight of wings made of aluminium")
        #expect(cosine(query, related) > cosine(query, unrelated) + 0.2)
    }
}
