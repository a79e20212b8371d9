import JSON

/// Typed reads of a request body's fields, each failing with a 400 that names the field.
extension JSONObject {
    public func requiredString(_ field: String, _ what: String) throws(APIError) -> String {
        guard let value = self[field] else { throw .badRequest("\(field) is required: \(what).") }
        guard let text = value.stringValue else { throw .badRequest("\(field) must be a non-empty string, not \(value.kindName).") }
        guard !text.isEmpty else { throw .badRequest("\(field) must not be empty: \(what).") }
        return text
    }

    public func optionalString(_ field: String) throws(APIError) -> String? {
        guard let value = self[field], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw .badRequest("\(field) must be a string, not \(value.kindName).") }
        return text
    }

    public func optionalBool(_ field: String) throws(APIError) -> Bool? {
        guard let value = self[field], !value.isNull else { return nil }
        guard let flag = value.boolValue else { throw .badRequest("\(field) must be true or false, not \(value.kindName).") }
        return flag
    }
}
