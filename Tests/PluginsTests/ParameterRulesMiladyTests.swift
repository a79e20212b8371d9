import JSON
import Testing
@testable import Plugins

/// What Milady's own tests assert about values and keys (docs/milady-compatibility.md).
@Suite struct ParameterRulesMiladyTests {
    /// Only whitespace is no value: it clears, as "" and null do; anything with content is kept as sent.
    @Test func whitespaceOnlyClears() throws {
        for blank in ["   ", " \t ", "\n"] {
            #expect(try ParameterRules.canonical(.string(blank), as: .string) == nil)
            #expect(try ParameterRules.canonical(.string(blank), as: .number) == nil)
        }
        #expect(try ParameterRules.canonical(.string(" key "), as: .string) == " key ")
    }

    /// Keys the hosting infrastructure injects are recognised whatever their case; ordinary keys are not.
    @Test func injectedKeys() {
        #expect(ParameterRules.isInjected("VERCEL_OIDC_TOKEN") && ParameterRules.isInjected("vercel_oidc_token"))
        #expect(!ParameterRules.isInjected("AI_GATEWAY_API_KEY"))
    }
}
