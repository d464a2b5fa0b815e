// Logical data types of Kyma columns and the schema values built from them.

/// The logical type of a column. Raw values are stable: they are stored in catalogs and formats.
public enum DataType: String, Sendable, Hashable, Codable, CaseIterable {
    case bool
    case int64
    case float64
    /// Nanoseconds since the Unix epoch, UTC.
    case timestamp
    case string
    case binary
    /// A fixed-dimension vector of float32; the dimension lives in the `Field`.
    case float32Vector = "float32_vector"
}

/// One named, typed column of a schema.
public struct Field: Sendable, Hashable, Codable {
    public var name: String
    public var type: DataType
    public var nullable: Bool
    /// Dimension of a `float32Vector` column; nil for every other type.
    public var vectorDimension: Int?

    public init(name: String, type: DataType, nullable: Bool = true, vectorDimension: Int? = nil) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.vectorDimension = vectorDimension
    }
}

/// An ordered list of uniquely named fields.
public struct Schema: Sendable, Hashable, Codable {
    public private(set) var fields: [Field]

    /// Throws `KymaCoreError.duplicateField` when two fields share a name.
    public init(_ fields: [Field]) throws(KymaCoreError) {
        var seen = Set<String>()
        for field in fields {
            guard !field.name.isEmpty else { throw .invalidFieldName(field.name) }
            guard seen.insert(field.name).inserted else { throw .duplicateField(field.name) }
        }
        self.fields = fields
    }

    private init(validated fields: [Field]) { self.fields = fields }

    public static let empty = Schema(validated: [])

    public func field(named name: String) -> Field? {
        fields.first { $0.name == name }
    }

    public func index(of name: String) -> Int? {
        fields.firstIndex { $0.name == name }
    }
}
