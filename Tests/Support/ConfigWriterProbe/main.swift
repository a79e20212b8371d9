// A second process for the agent-config tests: adds `count` keys `env.<prefix>_<i>`, one locked update each.
import Foundation
import JSON
import Stores

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: config-writer-probe CONFIG PREFIX COUNT\n".utf8))
    exit(2)
}
let file = AgentConfigFile(path: arguments[1])
for i in 0..<count {
    try file.update { document in
        var env = document["env"]?.objectValue ?? JSONObject()
        env["\(arguments[2])_\(i)"] = .string("\(i)")
        document["env"] = .object(env)
    }
}
