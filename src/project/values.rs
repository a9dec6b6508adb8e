//! The values mechanism: layers are merged key by key (mappings merge,
//! everything else replaces), and `--set a.b.c=v` is a one-key layer.

use serde_json::{Map, Value};

/// Merges `over` into `base`: mappings recursively, other values replace.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Turns `a.b.c=value` into the YAML text `{"a": {"b": {"c": value}}}`, so the
/// typed YAML reader checks it exactly like a file. The value is YAML when it
/// is a plain scalar or a `[...]` list, and a literal string otherwise.
pub fn set_arg_to_yaml(arg: &str) -> Result<String, String> {
    let (path, raw) = arg
        .split_once('=')
        .ok_or_else(|| format!("`{arg}` is not key=value (e.g. services.backend.replicas=3)"))?;
    let keys: Vec<&str> = path.split('.').collect();
    if keys.iter().any(|k| k.trim().is_empty()) {
        return Err(format!(
            "`{path}` is not a key path (e.g. services.backend.replicas)"
        ));
    }
    let value = if is_plain_yaml(raw) {
        raw.to_string()
    } else {
        Value::String(raw.to_string()).to_string()
    };
    let mut out = value;
    for key in keys.iter().rev() {
        out = format!("{{{}: {out}}}", Value::String(key.trim().to_string()));
    }
    Ok(out)
}

fn is_plain_yaml(raw: &str) -> bool {
    if raw.trim().is_empty() {
        return false;
    }
    match serde_saphyr::from_str::<Value>(raw) {
        Ok(Value::Object(_)) | Err(_) => false,
        Ok(Value::Array(_)) => raw.trim_start().starts_with('['),
        Ok(_) => !raw.contains(['{', '}', ',', '#']),
    }
}

/// Replaces the values of secret-looking keys, anywhere in the tree.
pub fn redact_secret_keys(v: &mut Value) {
    match v {
        Value::Object(map) => redact_map(map),
        Value::Array(items) => items.iter_mut().for_each(redact_secret_keys),
        _ => {}
    }
}

fn redact_map(map: &mut Map<String, Value>) {
    for (k, v) in map.iter_mut() {
        if crate::project::secrets::looks_secret(k) && v.is_string() {
            *v = Value::String(crate::project::secrets::REDACTED.into());
        } else {
            redact_secret_keys(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mappings_merge_and_scalars_and_lists_replace() {
        let mut base = json!({"a": {"x": 1, "y": [1, 2]}, "b": 1});
        merge(&mut base, json!({"a": {"y": [3], "z": true}, "b": 2}));
        assert_eq!(base, json!({"a": {"x": 1, "y": [3], "z": true}, "b": 2}));
    }

    #[test]
    fn set_args_become_nested_yaml() {
        let table = [
            ("database=in-cluster", r#"{"database": in-cluster}"#),
            (
                "services.backend.replicas=3",
                r#"{"services": {"backend": {"replicas": 3}}}"#,
            ),
            (
                "cluster.addons=[ingress]",
                r#"{"cluster": {"addons": [ingress]}}"#,
            ),
            (
                "services.backend.env.X=a: b",
                r#"{"services": {"backend": {"env": {"X": "a: b"}}}}"#,
            ),
            ("namespace=", r#"{"namespace": ""}"#),
        ];
        for (arg, want) in table {
            assert_eq!(set_arg_to_yaml(arg).unwrap(), want, "{arg}");
        }
        assert!(set_arg_to_yaml("novalue").is_err());
        assert!(set_arg_to_yaml("a..b=1").is_err());
    }
}
