import JSON
import Testing
@testable import Plugins

@Suite struct MaskingTests {
    /// Under 16 Unicode scalars the whole value is hidden; from 16 on, 3 first and 4 last show.
    @Test(arguments: [
        ("", "****"), ("a", "****"), ("abcdefghijklmno", "****"), ("abcdefghijklmnop", "abc****...mnop"),
        ("sk-ant-api03-verylongsecretvalue-xxxx", "sk-****...xxxx"),
        ("ééééééééééééééé", "****"), ("éééééééééééééééé", "ééé****...éééé"), ("🔑🔑🔑abcdefghij🔒🔒🔒🔒", "🔑🔑🔑****...🔒🔒🔒🔒"),
    ])
    func mask(_ value: String, _ expected: String) {
        #expect(ParameterRules.mask(value) == expected)
    }
}

@Suite struct BlockedKeyTests {
    /// The contract's list, in any case, and the DYLD_/NPM_CONFIG_/PLUGIND_ families.
    @Test(arguments: ["NODE_OPTIONS", "node_options", "Node_Path", "NODE_EXTRA_CA_CERTS", "NODE_TLS_REJECT_UNAUTHORIZED", "LD_PRELOAD",
                      "ld_library_path", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "dyld_anything", "PATH", "HOME", "SHELL", "BUN_OPTIONS",
                      "BUN_INSTALL", "NPM_CONFIG_REGISTRY", "npm_config_userconfig", "PYTHONPATH", "PLUGIND_STATE_DIR", "MILADY_API_TOKEN",
                      "ELIZA_SERVER_AUTH_TOKEN"])
    func blocked(_ key: String) {
        #expect(ParameterRules.isBlocked(key))
    }

    /// The families issue 16 added, each in two cases: what a shell, git, TLS, a proxy or Node itself reads.
    @Test(arguments: ["BASH_ENV", "bash_env", "ENV", "env", "GIT_SSH_COMMAND", "git_dir", "GIT_CONFIG_GLOBAL", "HTTP_PROXY", "http_proxy",
                      "HTTPS_PROXY", "Https_Proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "FTP_PROXY", "ftp_proxy",
                      "SSL_CERT_FILE", "ssl_cert_file", "SSL_CERT_DIR", "Ssl_Cert_Dir", "LD_BIND_NOW", "ld_debug", "DYLD_LIBRARY_PATH",
                      "NODE_ENV", "node_debug", "NODE_REPL_HISTORY", "NPM_CONFIG_GIT", "npm_config_script_shell"])
    func blockedFamilies(_ key: String) {
        #expect(ParameterRules.isBlocked(key))
    }

    /// Plugin credentials are what plugins need: not blocked.
    @Test(arguments: ["EVM_PRIVATE_KEY", "SOLANA_PRIVATE_KEY", "GITHUB_TOKEN", "DATABASE_URL", "PATHS", "HOMEPAGE_URL", "EDGE_TTS_PROXY",
                      "MY_HTTP_PROXY", "ENVIRONMENT", "GITHUB_API_URL", "LDAP_URL", "NODES", "SSL_CERT"])
    func notBlocked(_ key: String) {
        #expect(!ParameterRules.isBlocked(key))
    }
}

@Suite struct CanonicalValueTests {
    func canonical(_ value: JSONValue, _ type: ParameterType) -> String?? {
        do { return .some(try ParameterRules.canonical(value, as: type)) } catch { return .none }
    }

    /// Values are stored as canonical strings.
    @Test func canonicalStrings() {
        #expect(canonical(.number("42"), .number) == "42")
        #expect(canonical(.number("4.50"), .number) == "4.5")
        #expect(canonical(.number("1e3"), .number) == "1000")
        #expect(canonical(.string(" 7 "), .number) == "7")
        #expect(canonical(.number("-0.25"), .number) == "-0.25")
        #expect(canonical(.bool(true), .boolean) == "true")
        #expect(canonical(.string("FALSE"), .boolean) == "false")
        #expect(canonical(.string("a, b ,,c"), .array) == "a,b,c")
        #expect(canonical(.string(#"{ "a" : [1, 2] }"#), .json) == #"{"a":[1,2]}"#)
        #expect(canonical(.number("5"), .string) == "5")
        #expect(canonical(.string("x"), .string) == "x")
    }

    /// null and "" clear.
    @Test func clears() {
        for type in [ParameterType.string, .number, .boolean, .array, .json] {
            #expect(canonical(.null, type) == .some(nil))
            #expect(canonical(.string(""), type) == .some(nil))
        }
    }

    /// Values that do not parse as the type are refused.
    @Test func refusals() {
        #expect(canonical(.string("abc"), .number) == nil)
        #expect(canonical(.string("NaN"), .number) == nil)
        #expect(canonical(.string("inf"), .number) == nil)
        #expect(canonical(.bool(true), .number) == nil)
        #expect(canonical(.string("yes"), .boolean) == nil)
        #expect(canonical(.number("1"), .boolean) == nil)
        #expect(canonical(.string("{"), .json) == nil)
        #expect(canonical(.array([]), .string) == nil)
        #expect(canonical(.object(JSONObject()), .string) == nil)
    }

    /// Sensitivity by key name when a declaration says nothing.
    @Test func sensitiveByName() {
        for key in ["OPENAI_API_KEY", "BOT_TOKEN", "CLIENT_SECRET", "DB_PASSWORD", "EVM_PRIVATE_KEY", "SIGNING_SALT", "ENCRYPTION_SEED"] {
            #expect(ParameterRules.looksSensitive(key), "\(key)")
        }
        for key in ["OPENAI_BASE_URL", "MODEL", "TIMEOUT"] { #expect(!ParameterRules.looksSensitive(key), "\(key)") }
        // Any case, anywhere in the key, including the marker at either end; a marker cut short is not one.
        for key in ["apiKey", "x-Token", "mySecret", "password", "keystore_path", "PRIVATE", "tokenizer"] {
            #expect(ParameterRules.looksSensitive(key), "\(key)")
        }
        for key in ["", "K", "KE", "TOKE", "SECRE_T", "PASS_WORD", "monkey_id".replacingOccurrences(of: "key", with: "kee")] {
            #expect(!ParameterRules.looksSensitive(key), "\(key)")
        }
        // Keys beyond ASCII follow Unicode's case mapping: the long s upper-cases to S, the dotless i to I.
        #expect(ParameterRules.looksSensitive("\u{17F}ecret_value"))
        #expect(ParameterRules.looksSensitive("pr\u{131}vate_seed"))
        #expect(ParameterRules.looksSensitive("cl\u{E9}_API_KEY"))
        #expect(!ParameterRules.looksSensitive("mod\u{E8}le"))
    }

    /// agentConfig declarations: optional, missing required/sensitive, minLength and unknown attributes.
    @Test func declarations() throws {
        let declared = try JSONParser.parse(#"""
            {"A_TOKEN": {"type": "string", "optional": true, "minLength": 3},
             "B": {"type": "integer", "optional": false, "default": 30},
             "C": {"type": "boolean", "default": false, "sensitive": true},
             "D": {"type": "string", "options": ["x", {"value": "y", "label": "Why"}]},
             "E": {"description": "plain"}}
            """#).objectValue!
        let parameters = declared.map { PluginParameter(key: $0.key, declaration: $0.value) }
        #expect(parameters[0].required == false && parameters[0].sensitive == true)
        #expect(parameters[1].required == true && parameters[1].type == .number && parameters[1].defaultValue == "30")
        #expect(parameters[2].sensitive == true && parameters[2].defaultValue == "false")
        #expect(parameters[3].options == ["x", "y"])
        #expect(parameters[4].type == .string && parameters[4].required == false && parameters[4].sensitive == false)
    }
}
