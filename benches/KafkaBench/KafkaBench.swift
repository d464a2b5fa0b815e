// KafkaBench consume BOOTSTRAP TOPIC COUNT: the upper bound for k2i's consume rate, a librdkafka
// consumer (through KymaKafka) that does nothing with the records. It polls as k2i does (rounds
// of up to 1,000 records, their bytes left in librdkafka's buffers) and only counts them. Prints
// one JSON object: the seconds from the first record to the COUNT-th, and records/s and MB/s
// over that span.

import Foundation
import KymaKafka

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 4, arguments[0] == "consume", let count = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: KafkaBench consume BOOTSTRAP TOPIC COUNT\n".utf8))
    exit(2)
}
let consumer = try KafkaConsumer(["bootstrap.servers": arguments[1], "group.id": "raw-\(UUID().uuidString)", "auto.offset.reset": "earliest",
                                  "fetch.wait.max.ms": "100"])
try consumer.subscribe([arguments[2]])
var seen = 0, bytes = 0
var first: Date? = nil
let deadline = Date().addingTimeInterval(120)
while seen < count, Date() < deadline {
    let messages = try consumer.poll(max: 1000, timeoutMillis: 100)
    if first == nil, !messages.isEmpty { first = Date() }
    seen += messages.count
    for message in messages { bytes += message.value.count }
}
let seconds = Date().timeIntervalSince(first ?? Date())
consumer.close()
let result: [String: Any] = ["records": seen, "bytes": bytes, "seconds": seconds, "records_per_s": Double(seen) / max(seconds, 1e-9), "mb_per_s": Double(bytes) / 1e6 / max(seconds, 1e-9)]
print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
