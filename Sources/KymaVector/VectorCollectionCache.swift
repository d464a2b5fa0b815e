// The collections a process has loaded, by name: a cache kept current with the catalog. Before
// each use a loaded collection applies what other processes registered since (`refresh`), so a
// server node answers as the writer would and a worker appends to the latest state.

import KymaCatalog
import KymaObjectStore

public actor VectorCollectionCache {
    let catalog: any Catalog
    let store: any ObjectStore
    private var loaded: [String: VectorCollection] = [:]

    public init(catalog: any Catalog, store: any ObjectStore) {
        self.catalog = catalog
        self.store = store
    }

    /// The collection, current with the catalog.
    public func collection(_ name: String) async throws(VectorError) -> VectorCollection {
        if let collection = loaded[name] {
            // Dropped and made again under the same name: a new id, so load afresh.
            let current: VectorCollectionInfo?
            do { current = try await catalog.vectorCollection(named: name) } catch { throw .catalog(error) }
            if current?.id == collection.info.id {
                try await collection.refresh()
                return collection
            }
            loaded[name] = nil
        }
        let collection = try await VectorCollection.open(name: name, catalog: catalog, store: store)
        loaded[name] = collection
        return collection
    }

    /// The collection, made from `definition` first when none has its name (a concurrent maker
    /// winning the race is no error: its collection is used).
    public func collection(creatingIfMissing definition: VectorCollectionDefinition) async throws(VectorError) -> VectorCollection {
        do {
            return try await collection(definition.name)
        } catch .unknownCollection {
            do {
                _ = try await VectorCollection.create(definition, catalog: catalog)
            } catch .collectionExists {
                // made meanwhile by another process
            }
            return try await collection(definition.name)
        }
    }

    public func forget(_ name: String) { loaded[name] = nil }
}
