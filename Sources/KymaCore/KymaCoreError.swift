// Errors of the core vocabulary.

public enum KymaCoreError: Error, Sendable, Hashable, CustomStringConvertible {
    case duplicateField(String)
    case invalidFieldName(String)
    case columnLength(name: String, expected: Int, actual: Int)
    case typeMismatch(expected: DataType, actual: DataType?)
    /// A value JSON text cannot hold (named).
    case notJSON(String)

    public var description: String {
        switch self {
        case .duplicateField(let name): "duplicate field '\(name)' in schema"
        case .invalidFieldName(let name): "invalid field name '\(name)'"
        case .columnLength(let name, let expected, let actual): "column '\(name)' has \(actual) rows, the batch has \(expected)"
        case .typeMismatch(let expected, let actual): "expected a \(expected.rawValue) value, got \(actual?.rawValue ?? "null")"
        case .notJSON(let what): "JSON cannot hold \(what)"
        }
    }
}
