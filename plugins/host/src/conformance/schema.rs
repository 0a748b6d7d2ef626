//! Checks of a manifest and its parameter schema beyond what the handshake requires: a
//! semantic version, a description, and a parameter schema a frontend can render as a form
//! (every parameter typed and described, every default valid for its own schema).

use entmoot_plugin_sdk::Manifest;
use serde_json::{Map, Value};

/// JSON Schema's type names.
const TYPES: &[&str] = &[
    "null", "boolean", "object", "array", "number", "integer", "string",
];

/// Checks the manifest fields; `Ok` carries a one-line summary, `Err` every problem found.
pub fn check_manifest(m: &Manifest) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    if !is_semver(&m.version) {
        problems.push(format!(
            "manifest.version: {:?} is not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])",
            m.version
        ));
    }
    if m.description.trim().is_empty() {
        problems.push("manifest.description: is empty (users pick a strategy by it)".into());
    }
    for (i, a) in m.authors.iter().enumerate() {
        if a.trim().is_empty() {
            problems.push(format!("manifest.authors[{i}]: is empty"));
        }
    }
    if let Some(license) = &m.license {
        let ok = !license.trim().is_empty()
            && license
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " .+-()".contains(c));
        if !ok {
            problems.push(format!(
                "manifest.license: {license:?} is not an SPDX expression"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let c = m.capabilities;
    let caps: Vec<&str> = [
        (c.rotations, "rotations"),
        (c.alternatives, "alternatives"),
        (c.terrain_aware, "terrain-aware"),
        (c.deterministic, "deterministic"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    Ok(format!(
        "{} {}, licence {}, by {}; capabilities: {}",
        m.name,
        m.version,
        m.license.as_deref().unwrap_or("not declared"),
        if m.authors.is_empty() {
            "(no authors listed)".to_string()
        } else {
            m.authors.join(", ")
        },
        if caps.is_empty() {
            "none".to_string()
        } else {
            caps.join(", ")
        }
    ))
}

/// `MAJOR.MINOR.PATCH` with optional `-prerelease` and `+build` parts.
pub fn is_semver(v: &str) -> bool {
    let (core, build) = match v.split_once('+') {
        Some((core, build)) => (core, Some(build)),
        None => (v, None),
    };
    let (core, pre) = match core.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (core, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let number_ok = |n: &&str| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && (n.len() == 1 || !n.starts_with('0'))
    };
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    numbers.len() == 3
        && numbers.iter().all(number_ok)
        && pre.is_none_or(ident_ok)
        && build.is_none_or(ident_ok)
}

/// Checks the parameter schema; `Ok` carries a one-line summary, `Err` every problem found.
pub fn check_parameter_schema(schema: &Value) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    let Some(root) = schema.as_object() else {
        return Err(vec!["parameters: must be a JSON Schema object".into()]);
    };
    if root.get("type") != Some(&Value::String("object".into())) {
        problems.push(r#"parameters.type: must be "object""#.into());
    }
    if let Some(s) = root.get("$schema")
        && !s.is_string()
    {
        problems.push("parameters.$schema: must be a string (a meta-schema URI)".into());
    }
    let empty = Map::new();
    let properties = match root.get("properties") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => {
            problems.push("parameters.properties: must be an object".into());
            &empty
        }
    };
    let mut with_default = 0;
    for (name, property) in properties {
        let path = format!("parameters.properties.{name}");
        let Some(p) = property.as_object() else {
            problems.push(format!("{path}: must be a schema object"));
            continue;
        };
        check_property(&path, p, &mut problems);
        if p.contains_key("default") {
            with_default += 1;
        }
    }
    match root.get("required") {
        None => {}
        Some(Value::Array(names)) => {
            for (i, n) in names.iter().enumerate() {
                match n.as_str() {
                    Some(n) if properties.contains_key(n) => {}
                    Some(n) => problems.push(format!(
                        "parameters.required[{i}]: {n:?} is not a declared property"
                    )),
                    None => problems.push(format!("parameters.required[{i}]: must be a string")),
                }
            }
        }
        Some(_) => problems.push("parameters.required: must be an array of names".into()),
    }
    let closed = match root.get("additionalProperties") {
        None => false,
        Some(Value::Bool(b)) => !b,
        Some(Value::Object(_)) => false,
        Some(_) => {
            problems.push(
                "parameters.additionalProperties: must be a boolean or a schema object".into(),
            );
            false
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let names: Vec<&str> = properties.keys().map(String::as_str).collect();
    Ok(format!(
        "{} parameter(s){}, {with_default} with a default, every one typed and described; {}",
        names.len(),
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        },
        if closed {
            "unknown parameters forbidden"
        } else {
            "unknown parameters allowed"
        }
    ))
}

/// The `default` of every property that has one, as a parameters object.
pub fn schema_defaults(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter_map(|(name, p)| p.get("default").map(|d| (name.clone(), d.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the schema forbids properties it does not declare.
pub fn forbids_unknown(schema: &Value) -> bool {
    schema.get("additionalProperties") == Some(&Value::Bool(false))
}

/// A value of the wrong type for the first property with a simple scalar `type`, if any.
pub fn wrongly_typed_parameter(schema: &Value) -> Option<(String, Value)> {
    let props = schema.get("properties")?.as_object()?;
    props.iter().find_map(|(name, p)| {
        let wrong = match p.get("type")?.as_str()? {
            "number" | "integer" => Value::String("not a number".into()),
            "boolean" => Value::String("not a boolean".into()),
            "string" => Value::Array(vec![]),
            _ => return None,
        };
        Some((name.clone(), wrong))
    })
}

fn check_property(path: &str, p: &Map<String, Value>, problems: &mut Vec<String>) {
    match p.get("description") {
        Some(Value::String(d)) if !d.trim().is_empty() => {}
        Some(Value::String(_)) | None => problems.push(format!(
            "{path}.description: missing (a form needs help text for every parameter)"
        )),
        Some(_) => problems.push(format!("{path}.description: must be a string")),
    }
    let types: Option<Vec<&str>> = match p.get("type") {
        None => None,
        Some(Value::String(t)) => Some(vec![t.as_str()]),
        Some(Value::Array(ts)) => Some(ts.iter().filter_map(Value::as_str).collect()),
        Some(_) => {
            problems.push(format!(
                "{path}.type: must be a type name or an array of them"
            ));
            return;
        }
    };
    match &types {
        Some(ts) if ts.is_empty() => problems.push(format!("{path}.type: is empty")),
        Some(ts) => {
            for t in ts {
                if !TYPES.contains(t) {
                    problems.push(format!(
                        "{path}.type: {t:?} is not a JSON Schema type ({})",
                        TYPES.join(", ")
                    ));
                }
            }
        }
        None => {
            if !["enum", "const", "oneOf", "anyOf", "$ref"]
                .iter()
                .any(|k| p.contains_key(*k))
            {
                problems.push(format!(
                    "{path}: has no type (nor enum, const, oneOf, anyOf or $ref), so no form can be drawn for it"
                ));
            }
        }
    }
    for k in [
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ] {
        if let Some(v) = p.get(k)
            && !v.is_number()
        {
            problems.push(format!("{path}.{k}: must be a number"));
        }
    }
    if let Some(m) = p.get("multipleOf").and_then(Value::as_f64)
        && m <= 0.0
    {
        problems.push(format!("{path}.multipleOf: must be > 0"));
    }
    if let (Some(lo), Some(hi)) = (
        p.get("minimum").and_then(Value::as_f64),
        p.get("maximum").and_then(Value::as_f64),
    ) && lo > hi
    {
        problems.push(format!(
            "{path}: minimum {lo} is above maximum {hi}: no value is valid"
        ));
    }
    if let Some(e) = p.get("enum") {
        match e.as_array() {
            Some(values) if !values.is_empty() => {}
            _ => problems.push(format!("{path}.enum: must be a non-empty array")),
        }
    }
    if let Some(default) = p.get("default") {
        for reason in value_problems(default, p, types.as_deref()) {
            problems.push(format!("{path}.default: {default} {reason}"));
        }
    }
}

/// Why `v` does not satisfy the simple keywords of schema `p` (types, enum, const, bounds,
/// lengths).
fn value_problems(v: &Value, p: &Map<String, Value>, types: Option<&[&str]>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(ts) = types
        && !ts.iter().any(|t| has_type(v, t))
    {
        out.push(format!("is not of type {}", ts.join(" or ")));
        return out;
    }
    if let Some(values) = p.get("enum").and_then(Value::as_array)
        && !values.contains(v)
    {
        out.push("is not one of the enum values".into());
    }
    if let Some(c) = p.get("const")
        && c != v
    {
        out.push(format!("differs from const {c}"));
    }
    if let Some(x) = v.as_f64() {
        let bound = |k: &str| p.get(k).and_then(Value::as_f64);
        if let Some(b) = bound("minimum")
            && x < b
        {
            out.push(format!("is below the minimum {b}"));
        }
        if let Some(b) = bound("maximum")
            && x > b
        {
            out.push(format!("is above the maximum {b}"));
        }
        if let Some(b) = bound("exclusiveMinimum")
            && x <= b
        {
            out.push(format!("is not above the exclusive minimum {b}"));
        }
        if let Some(b) = bound("exclusiveMaximum")
            && x >= b
        {
            out.push(format!("is not below the exclusive maximum {b}"));
        }
    }
    let length = |k: &str| p.get(k).and_then(Value::as_u64);
    if let Some(s) = v.as_str() {
        let n = s.chars().count() as u64;
        if length("minLength").is_some_and(|m| n < m) || length("maxLength").is_some_and(|m| n > m)
        {
            out.push("has a length outside minLength..maxLength".into());
        }
    }
    if let Some(a) = v.as_array() {
        let n = a.len() as u64;
        if length("minItems").is_some_and(|m| n < m) || length("maxItems").is_some_and(|m| n > m) {
            out.push("has a number of items outside minItems..maxItems".into());
        }
    }
    out
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|x| x.fract() == 0.0),
        "string" => v.is_string(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn semantic_versions() {
        for ok in ["0.1.0", "1.2.3-beta.1", "10.0.0+build.5", "1.0.0-rc-1+x"] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in ["1.0", "v1.0.0", "1.0.0.0", "01.0.0", "1.0.0-", "", "1.x.0"] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn a_good_schema_is_summarised() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "step_m": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                           "description": "scan step"},
                "mode": {"enum": ["a", "b"], "default": "a", "description": "mode"}
            }
        });
        let summary = check_parameter_schema(&schema).unwrap();
        assert!(
            summary.contains("2 parameter(s) (mode, step_m)"),
            "{summary}"
        );
        assert!(summary.contains("2 with a default"), "{summary}");
        assert!(
            summary.contains("unknown parameters forbidden"),
            "{summary}"
        );
        assert_eq!(
            Value::Object(schema_defaults(&schema)),
            json!({"step_m": 1.0, "mode": "a"})
        );
        assert!(forbids_unknown(&schema));
        assert_eq!(
            wrongly_typed_parameter(&schema),
            Some(("step_m".into(), json!("not a number")))
        );
    }

    #[test]
    fn every_schema_problem_is_named() {
        let schema = json!({
            "type": "object",
            "required": ["missing"],
            "properties": {
                "a": {"type": "number", "exclusiveMinimum": 0, "default": 0},
                "b": {"description": "untyped"},
                "c": {"type": "float", "description": "bad type"},
                "d": {"type": "integer", "minimum": 5, "maximum": 1, "description": "empty range"},
                "e": {"type": "string", "enum": ["x"], "default": "y", "description": "enum"}
            }
        });
        let problems = check_parameter_schema(&schema).unwrap_err();
        let text = problems.join("\n");
        for needle in [
            "parameters.properties.a.description: missing",
            "parameters.properties.a.default: 0 is not above the exclusive minimum 0",
            "parameters.properties.b: has no type",
            r#"parameters.properties.c.type: "float" is not a JSON Schema type"#,
            "parameters.properties.d: minimum 5 is above maximum 1",
            r#"parameters.properties.e.default: "y" is not one of the enum values"#,
            r#"parameters.required[0]: "missing" is not a declared property"#,
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(problems.len(), 7, "{text}");
        assert_eq!(
            check_parameter_schema(&json!({"type": "array"})).unwrap_err(),
            vec![r#"parameters.type: must be "object""#.to_string()]
        );
    }
}
