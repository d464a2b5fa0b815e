// Errors of the core vocabulary.

public enum KymaCoreError: Error, Sendable, Hashable, CustomStringConvertible {
    case duplicateField(String)
    case invalidFieldName(String)

    public var description: String {
        switch self {
        case .duplicateField(let name): "duplicate field '\(name)' in schema"
        case .invalidFieldName(let name): "invalid field name '\(name)'"
        }
    }
}
