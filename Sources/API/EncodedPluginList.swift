import JSON
import Plugins

/// Every plugin's entry encoded once, in the list's order, inside the whole list's body (`{"plugins":[...]}`), with
/// where each entry lies in it: a filtered list joins some of them and one plugin's details wrap one.
///
/// A config write changes the stamp of every answer made from the plugins; each plugin's details had been encoded
/// again from the board on its next request, besides the list: a hundred encodings per write where one does. And a
/// write changes one plugin's entry or a few: the others' bytes are copied from the list before it.
struct EncodedPluginList: Sendable {
    /// The whole list's body.
    let body: [UInt8]
    private let entries: [Entry]
    private let positions: [String: Int]

    private struct Entry {
        let value: PluginEntry
        let range: Range<Int>
    }

    private static let listHead = Array(#"{"plugins":["#.utf8)
    private static let listTail = Array("]}".utf8)
    private static let detailsHead = Array(#"{"plugin":"#.utf8)
    private static let detailsTail = Array("}".utf8)

    /// The entries encoded, each equal to one of `previous` copied from it instead. Equal is Swift's: text compares by
    /// canonical equivalence, so a value changed only from one Unicode normal form to another (it reads the same)
    /// keeps the bytes it had.
    init(_ keyed: [(key: String, entry: PluginEntry)], reusing previous: EncodedPluginList? = nil) throws {
        var body = Self.listHead
        body.reserveCapacity(previous?.body.count ?? 0)
        var entries: [Entry] = []
        var positions: [String: Int] = [:]
        entries.reserveCapacity(keyed.count)
        for (index, item) in keyed.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            let start = body.count
            if let previous, let old = previous.positions[item.key].map({ previous.entries[$0] }), old.value == item.entry {
                body.append(contentsOf: previous.body[old.range])
            } else {
                body.append(contentsOf: try JSONEncoding.bytes(item.entry))
            }
            entries.append(Entry(value: item.entry, range: start..<body.count))
            positions[item.key] = index
        }
        body.append(contentsOf: Self.listTail)
        self.body = body
        self.entries = entries
        self.positions = positions
    }

    /// The list, or only the entries `filter` keeps.
    func list(_ filter: PluginFilter) -> [UInt8] {
        if filter.keepsAll { return body }
        var out = Self.listHead
        var first = true
        for entry in entries where filter.keeps(category: entry.value.category, enabled: entry.value.enabled) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: body[entry.range])
        }
        out.append(contentsOf: Self.listTail)
        return out
    }

    /// `{"plugin": ...}` for the plugin under `key`; nil when this list does not hold it.
    func details(_ key: String) -> [UInt8]? {
        guard let index = positions[key] else { return nil }
        return Self.detailsHead + body[entries[index].range] + Self.detailsTail
    }
}
