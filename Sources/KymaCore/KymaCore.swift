// KymaCore: the engine's vocabulary. Schemas and data types, scalar values, time ranges and the
// offload of blocking system calls. It depends on nothing but the standard library and Dispatch,
// so every other module can use it without pulling in an implementation.

/// The version of the Kyma engine, printed by `kyma --version` and recorded in catalogs.
public enum KymaVersion {
    public static let string = "0.1.0"
}
