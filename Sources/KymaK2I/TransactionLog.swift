// The transaction log: an append-only local file of the raw records in the hot buffer, so a
// restarted k2i refills its buffer without reading them from Kafka again. It is a cache: the
// offsets in the Iceberg table are the truth, deleting the file loses nothing. When a commit
// starts, the records logged so far are sealed into a side file, deleted once the commit has
// made them durable. Each record is [length u32][CRC-32C u32][payload]; a torn or
// damaged tail (a crash mid-write) is detected by length and checksum and cut off.
//
// Appends are written on the log's own serial queue, so the consuming thread does not wait for
// the file system (a tenth of k2i's CPU time went to encoding and writing the log on it). The
// queue keeps every operation in order, so the file is always a prefix of what was appended, in
// order, per partition too: a crash loses at most the newest appends, which Kafka still holds.

import Foundation
import KymaKernels
import KymaKafka
import Synchronization

public final class TransactionLog: @unchecked Sendable {
    // @unchecked: `handle` and `frames` are touched only on `writer`; the rest is immutable or
    // behind a lock.
    public let path: String
    private var handle: FileHandle
    /// The frames of one append, kept between appends so its pages are not faulted in anew each
    /// time (a poll round is about a megabyte).
    private var frames: [UInt8] = []
    /// Where the file operations run, one at a time, in the order they were asked for.
    private let writer = DispatchQueue(label: "k2i.transaction-log")
    /// Appends queued but not yet written: at most this many rounds of records are held for it.
    private let slots = DispatchSemaphore(value: 4)
    /// The first failed background write: reported by the next call, after which the log refuses
    /// appends (a log with a gap would refill the buffer with a hole in it).
    private let failure = Mutex<K2IError?>(nil)
    /// A failed seal or delete of sealed records, reported once by the next `seal` or
    /// `waitForWrites`. Harmless to what comes back: recovery skips what the table holds.
    private let housekeepingFailure = Mutex<K2IError?>(nil)

    public init(directory: String, name: String) throws(K2IError) {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .transactionLog("cannot create \(directory): \(error.localizedDescription)")
        }
        path = directory + "/" + name + ".k2ilog"
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forUpdatingAtPath: path) else { throw .transactionLog("cannot open \(path)") }
        self.handle = handle
        _ = try? handle.seekToEnd()
    }

    // No wait for the writer here: every queued write holds the log, so none is left when this
    // runs (and the last one to let go may be a write, on the writer itself).
    deinit { try? handle.close() }

    /// Waits for the queued appends, seals and deletes to reach the file system, then reports a
    /// failed one.
    public func waitForWrites() throws(K2IError) {
        writer.sync {}
        try reportFailure()
        try reportHousekeeping()
    }

    private func reportHousekeeping() throws(K2IError) {
        if let error = housekeepingFailure.withLock({ error in defer { error = nil }; return error }) { throw error }
    }

    /// Runs `body` on the writer after what is queued, without waiting; its error is kept for
    /// `reportHousekeeping`.
    private func inBackground(_ body: @escaping @Sendable () throws(K2IError) -> Void) {
        writer.async { [self] in
            do throws(K2IError) { try body() } catch { housekeepingFailure.withLock { $0 = $0 ?? error } }
        }
    }

    private func reportFailure() throws(K2IError) {
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Runs `body` on the writer after the queued appends, and returns its result.
    private func onWriter<R>(_ body: () throws(K2IError) -> R) throws(K2IError) -> R {
        let result: Result<R, K2IError> = writer.sync { Result { () throws(K2IError) in try body() } }
        return try result.get()
    }

    /// Records of the rows being committed: moved aside by `seal`, deleted by `dropSealed`.
    var sealedPath: String { path + ".sealed" }

    /// Queues the records to be written in one write (not synced: the log is a cache, Kafka keeps
    /// the data) and returns; waits only while four earlier appends are still queued. Throws the
    /// error of an earlier append that failed.
    public func append(_ messages: [KafkaMessage]) throws(K2IError) {
        try reportFailure()
        guard !messages.isEmpty else { return }
        slots.wait()
        writer.async { [self] in
            defer { slots.signal() }
            guard failure.withLock({ $0 }) == nil else { return }
            do throws(K2IError) { try write(messages) } catch { failure.withLock { $0 = error } }
        }
    }

    /// One `writev` per 512 records or so: each frame's head (length, checksum and the record's
    /// fields up to its value) from `heads`, then the value from where it is (librdkafka's fetch
    /// buffer): the values are not copied here, only checksummed.
    private func write(_ messages: [KafkaMessage]) throws(K2IError) {
        var heads = frames
        frames = []
        heads.removeAll(keepingCapacity: true)
        defer { if heads.capacity <= 16 << 20 { frames = heads } }  // a rare huge round is not kept
        // The values' memory, taken once: the records (and so their rounds' buffers) stay alive
        // in `messages` until this returns. Records are read in place, never copied (a copy
        // retains the round's buffers, an atomic shared with the decoding threads).
        var values: [UnsafeRawBufferPointer] = []
        values.reserveCapacity(messages.count)
        var ends: [Int] = []
        ends.reserveCapacity(messages.count)
        for k in messages.indices {
            let start = heads.count
            heads.append(contentsOf: repeatElement(0, count: 8))  // length and checksum, filled in below
            Self.encodeHead(messages[k], into: &heads)
            let value = UnsafeRawBufferPointer(start: messages[k].value.baseAddress, count: messages[k].value.count)
            values.append(value)
            heads.withUnsafeMutableBytes { head in
                let crc = CRC32C.checksum(value, initial: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: head[(start + 8)...])))
                head.storeBytes(of: UInt32(head.count - start - 8 + value.count).littleEndian, toByteOffset: start, as: UInt32.self)
                head.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self)
            }
            ends.append(heads.count)
        }
        let fd = handle.fileDescriptor
        let failed: String? = withExtendedLifetime(messages) {
            heads.withUnsafeBytes { head -> String? in
                var vectors: [iovec] = []
                vectors.reserveCapacity(1024)
                for k in values.indices {
                    let start = k == 0 ? 0 : ends[k - 1]
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: head.baseAddress! + start), iov_len: ends[k] - start))
                    if let value = values[k].baseAddress { vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: value), iov_len: values[k].count)) }
                    if vectors.count >= 1023 || k == values.count - 1 {
                        if let error = Self.writeAll(fd, &vectors) { return error }
                        vectors.removeAll(keepingCapacity: true)
                    }
                }
                return nil
            }
        }
        if let failed { throw .transactionLog("write \(path): \(failed)") }
    }

    /// Writes every byte `vectors` name (a short write continues where it stopped); the reason
    /// on failure.
    private static func writeAll(_ fd: Int32, _ vectors: inout [iovec]) -> String? {
        var next = 0
        while next < vectors.count {
            let written = vectors[next...].withUnsafeBufferPointer { writev(fd, $0.baseAddress, Int32($0.count)) }
            if written < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            var left = written
            while next < vectors.count, left >= vectors[next].iov_len {
                left -= vectors[next].iov_len
                next += 1
            }
            if left > 0 {
                vectors[next].iov_base += left
                vectors[next].iov_len -= left
            }
        }
        return nil
    }

    /// Moves the records logged so far aside (onto those a failed commit left there): they
    /// belong to the rows a commit is writing; records appended later start a fresh log. Queued
    /// behind the appends, not waited for (the consuming thread waited up to a millisecond per
    /// commit); throws a failure of an earlier seal or delete.
    public func seal() throws(K2IError) {
        try reportHousekeeping()
        inBackground { [self] () throws(K2IError) in try sealNow() }
    }

    private func sealNow() throws(K2IError) {
        do {
            if FileManager.default.fileExists(atPath: sealedPath) {
                let current = try Data(contentsOf: URL(fileURLWithPath: path))
                guard let sealed = FileHandle(forWritingAtPath: sealedPath) else { throw K2IError.transactionLog("cannot open \(sealedPath)") }
                defer { try? sealed.close() }
                try sealed.seekToEnd()
                try sealed.write(contentsOf: current)
            } else {
                try FileManager.default.moveItem(atPath: path, toPath: sealedPath)
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                try handle.close()
                guard let fresh = FileHandle(forUpdatingAtPath: path) else { throw K2IError.transactionLog("cannot open \(path)") }
                handle = fresh
                return
            }
            try handle.truncate(atOffset: 0)
            try handle.seek(toOffset: 0)
        } catch let error as K2IError {
            throw error
        } catch {
            throw .transactionLog("seal \(path): \(error.localizedDescription)")
        }
    }

    /// Deletes the sealed records (a commit made them durable in the table), in the background
    /// (unlinking a file of a flush's records took up to a millisecond); a failure shows at the
    /// next `seal`.
    public func dropSealed() {
        inBackground { [self] () throws(K2IError) in try dropSealedNow() }
    }

    private func dropSealedNow() throws(K2IError) {
        guard FileManager.default.fileExists(atPath: sealedPath) else { return }
        do { try FileManager.default.removeItem(atPath: sealedPath) } catch { throw .transactionLog("delete \(sealedPath): \(error.localizedDescription)") }
    }

    /// Empties the log, sealed records included.
    public func truncate() throws(K2IError) {
        try onWriter { () throws(K2IError) in try truncateNow() }
    }

    private func truncateNow() throws(K2IError) {
        try dropSealedNow()
        do {
            try handle.truncate(atOffset: 0)
            try handle.seek(toOffset: 0)
        } catch {
            throw .transactionLog("truncate \(path): \(error.localizedDescription)")
        }
    }

    /// The intact records, in order: the sealed ones, then the later ones, read as one log. The
    /// log ends at the first torn or damaged record (the rest is cut off, the later file too when
    /// the damage is in the sealed one), so what comes back never skips a record in between. A
    /// record seen twice (a crash while `seal` copied the log onto the sealed records) comes back
    /// once.
    public func recover() throws(K2IError) -> [KafkaMessage] {
        try onWriter { () throws(K2IError) in try recoverNow() }
    }

    private func recoverNow() throws(K2IError) -> [KafkaMessage] {
        var records: [KafkaMessage] = []
        var intact = true
        if FileManager.default.fileExists(atPath: sealedPath) {
            let bytes = try read(sealedPath)
            let (sealed, end) = Self.records(bytes)
            records = sealed
            if end < bytes.count {
                intact = false
                try cut(sealedPath, at: end)
            }
        }
        let bytes = try read(path)
        let (later, end) = intact ? Self.records(bytes) : ([], 0)
        records += later
        if end < bytes.count {
            do {
                try handle.truncate(atOffset: UInt64(end))
                try handle.seekToEnd()
            } catch {
                throw .transactionLog("cut the torn tail of \(path): \(error.localizedDescription)")
            }
        }
        var next: [TopicPartition: Int64] = [:]
        return records.filter { m in
            guard m.offset >= next[m.topicPartition] ?? Int64.min else { return false }
            next[m.topicPartition] = m.offset + 1
            return true
        }
    }

    private func read(_ file: String) throws(K2IError) -> [UInt8] {
        do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: file))) } catch { throw .transactionLog("read \(file): \(error.localizedDescription)") }
    }

    private func cut(_ file: String, at end: Int) throws(K2IError) {
        do {
            let other = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            defer { try? other.close() }
            try other.truncate(atOffset: UInt64(end))
        } catch {
            throw .transactionLog("cut the torn tail of \(file): \(error.localizedDescription)")
        }
    }

    /// The intact records at the start of `bytes`, and where they end.
    static func records(_ bytes: [UInt8]) -> (records: [KafkaMessage], end: Int) {
        var out: [KafkaMessage] = []
        var p = 0
        while p + 8 <= bytes.count {
            let length = Int(UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
            let crc = UInt32(bytes[p + 4]) | UInt32(bytes[p + 5]) << 8 | UInt32(bytes[p + 6]) << 16 | UInt32(bytes[p + 7]) << 24
            guard length <= bytes.count - p - 8 else { break }
            let payload = Array(bytes[(p + 8)..<(p + 8 + length)])
            guard payload.withUnsafeBytes({ CRC32C.checksum($0) }) == crc, let message = Self.decode(payload) else { break }
            out.append(message)
            p += 8 + length
        }
        return (out, p)
    }

    /// A record's payload up to its value (which follows it in the frame): topic, partition, offset, timestamp, key, value length.
    static func encodeHead(_ m: KafkaMessage, into out: inout [UInt8]) {
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        u32(UInt32(m.topic.utf8.count)); out.append(contentsOf: m.topic.utf8)
        u32(UInt32(bitPattern: m.partition))
        i64(m.offset)
        i64(m.timestampMillis ?? Int64.min)
        if let key = m.key { u32(UInt32(key.count)); out.append(contentsOf: key) } else { u32(UInt32.max) }
        u32(UInt32(m.value.count))
    }

    static func decode(_ b: [UInt8]) -> KafkaMessage? {
        var p = 0
        func u32() -> UInt32? {
            guard p + 4 <= b.count else { return nil }
            defer { p += 4 }
            return UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3]) << 24
        }
        func i64() -> Int64? {
            guard p + 8 <= b.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(b[p + k]) << UInt64(8 * k) }
            p += 8
            return Int64(bitPattern: v)
        }
        func bytes(_ n: Int) -> [UInt8]? {
            guard n >= 0, p + n <= b.count else { return nil }
            defer { p += n }
            return Array(b[p..<p + n])
        }
        guard let topicLength = u32(), let topic = bytes(Int(topicLength)), let partition = u32(), let offset = i64(), let stamp = i64(),
              let keyLength = u32() else { return nil }
        var key: [UInt8]? = nil
        if keyLength != UInt32.max { guard let k = bytes(Int(keyLength)) else { return nil }; key = k }
        guard let valueLength = u32(), let value = bytes(Int(valueLength)), p == b.count else { return nil }
        return KafkaMessage(topic: String(decoding: topic, as: UTF8.self), partition: Int32(bitPattern: partition), offset: offset, key: key,
                            value: value, timestampMillis: stamp == Int64.min ? nil : stamp)
    }
}
