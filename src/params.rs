//! Declared gadget params (gadget.yaml `params.wasm`, eBPF `GADGET_PARAM`s with
//! `params.ebpf` overrides), their values and validation against type hints.

use std::collections::BTreeMap;

use crate::error::{err, Error, ErrorCode, Result};

/// Which side of the gadget a param belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamSide {
    Wasm,
    Ebpf,
    /// A built-in operator's param (`filter`, `sort`, `max-entries`, `fields`).
    Operator,
    /// gadget.yaml `params.custom.<key>`: patches the gadget's configuration at start.
    Custom,
}

impl ParamSide {
    pub fn name(self) -> &'static str {
        match self {
            ParamSide::Wasm => "wasm",
            ParamSide::Ebpf => "ebpf",
            ParamSide::Operator => "operator",
            ParamSide::Custom => "custom",
        }
    }
}

/// A declared param.
#[derive(Clone, Debug)]
pub struct ParamDecl {
    /// User-facing key (`-p key=value`).
    pub key: String,
    pub side: ParamSide,
    /// For eBPF params: the C variable written into `.rodata`.
    pub var: Option<String>,
    pub description: String,
    pub default_value: String,
    pub type_hint: String,
    pub title: String,
    pub alias: String,
    pub mandatory: bool,
    pub possible_values: Vec<String>,
}

impl ParamDecl {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "key": self.key, "side": self.side.name(), "description": self.description,
            "defaultValue": self.default_value, "typeHint": self.type_hint, "title": self.title,
            "alias": self.alias, "isMandatory": self.mandatory, "possibleValues": self.possible_values,
            "variable": self.var,
        })
    }
}

/// Declared params and the values set by the embedder.
#[derive(Clone, Debug, Default)]
pub struct Params {
    decls: Vec<ParamDecl>,
    values: BTreeMap<String, String>,
    /// A gadget without any metadata accepts undeclared wasm params.
    open: bool,
    /// Values of the built-in operators' params, by short key (`filter.open`, `sort`, …).
    operator: BTreeMap<String, String>,
}

/// The short key of a built-in operator param (IG's flag names, with or without the
/// `operator.<op>.` prefix of IG's API): `filter`, `filter.<ds>`, `filter-expr`,
/// `filter-expr.<ds>`, `sort`, `max-entries`, `fields`, … and LocalManager's `host` and
/// container selectors (IG `GetContainerSelectorParams(false)`: `containername`, with its
/// alternative key `runtime-containername` and alias `c`, `runtime-containerimage-id`,
/// `runtime-containerimage-digest`, `k8s-namespace`, `k8s-podname`, `k8s-containername`,
/// `k8s-selector`), and the oci handler's `annotate`.
pub fn operator_key(key: &str) -> Option<String> {
    let k = [
        "operator.filter.",
        "operator.sort.",
        "operator.limiter.",
        "operator.cli.",
        "operator.ebpf.",
        "operator.ustack.",
        "operator.otel-metrics.",
        "operator.LocalManager.",
        "operator.oci.",
    ]
        .iter()
        .find_map(|p| key.strip_prefix(p))
        .unwrap_or(key);
    let base = k.split('.').next().unwrap_or(k);
    match base {
        "filter" | "filter-expr" => Some(k.to_string()),
        "sort" | "max-entries" | "fields" | "statistics-interval" | "gadgets-only" | "symbolizers"
        | "otel-metrics-print-interval" | "host" | "containername" | "runtime-containerimage-id"
        | "runtime-containerimage-digest" | "k8s-namespace" | "k8s-podname" | "k8s-containername"
        | "k8s-selector" | "annotate"
            if !k.contains('.') =>
        {
            Some(k.to_string())
        }
        "runtime-containername" | "c" if !k.contains('.') => Some("containername".to_string()),
        _ => None,
    }
}

fn s(v: Option<&serde_yaml::Value>) -> String {
    v.and_then(crate::host::yaml_scalar).unwrap_or_default()
}

impl Params {
    /// Reads `params.wasm` from gadget.yaml.
    pub fn from_metadata(meta: &serde_yaml::Value) -> Params {
        let mut p = Params { open: meta.is_null(), ..Default::default() };
        if let Some(m) = meta.get("params").and_then(|p| p.get("wasm")).and_then(|w| w.as_mapping()) {
            for (name, d) in m {
                let Some(name) = name.as_str() else { continue };
                let key = match s(d.get("key")) {
                    k if k.is_empty() => name.to_string(),
                    k => k,
                };
                p.decls.push(ParamDecl {
                    key,
                    side: ParamSide::Wasm,
                    var: None,
                    description: s(d.get("description")),
                    default_value: s(d.get("defaultValue")),
                    type_hint: s(d.get("typeHint")),
                    title: s(d.get("title")),
                    alias: s(d.get("alias")),
                    mandatory: d.get("isMandatory").and_then(|v| v.as_bool()).unwrap_or(false),
                    possible_values: d
                        .get("possibleValues")
                        .and_then(|v| v.as_sequence())
                        .map(|s| s.iter().filter_map(crate::host::yaml_scalar).collect())
                        .unwrap_or_default(),
                });
            }
        }
        for c in crate::operators::collector::custom_params(meta) {
            p.decls.push(ParamDecl {
                key: c.key,
                side: ParamSide::Custom,
                var: None,
                description: c.description,
                default_value: c.default_value,
                type_hint: String::new(),
                title: String::new(),
                alias: c.alias,
                mandatory: false,
                possible_values: c.possible_values,
            });
        }
        p
    }

    /// The values of the custom params (defaults included), keyed `custom.<key>` as IG's
    /// config patching expects.
    pub fn custom_values(&self) -> BTreeMap<String, String> {
        self.decls
            .iter()
            .filter(|d| d.side == ParamSide::Custom)
            .map(|d| (format!("custom.{}", d.key), self.values.get(&d.key).cloned().unwrap_or_else(|| d.default_value.clone())))
            .collect()
    }

    /// Makes undeclared keys an error even without metadata.
    pub fn refuse_undeclared(&mut self) {
        self.open = false;
    }

    /// Adds the eBPF side's declared params.
    pub fn add_ebpf(&mut self, decls: Vec<ParamDecl>) {
        self.decls.extend(decls);
    }

    pub fn decls(&self) -> &[ParamDecl] {
        &self.decls
    }

    fn find(&self, key: &str) -> Option<&ParamDecl> {
        // Accept the bare key, the alias, and IG's prefixed forms.
        let bare = key
            .strip_prefix("operator.oci.wasm.")
            .or_else(|| key.strip_prefix("operator.oci.ebpf."))
            .unwrap_or(key);
        self.decls
            .iter()
            .find(|d| d.key == bare)
            .or_else(|| self.decls.iter().find(|d| !d.alias.is_empty() && d.alias == bare))
    }

    /// Sets a value after validating it against the declaration's type hint.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if self.find(key).is_none() {
            if let Some(k) = operator_key(key) {
                self.operator.insert(k, value.to_string());
                return Ok(());
            }
        }
        match self.find(key).cloned() {
            Some(d) => {
                validate(&d, value)?;
                self.values.insert(d.key.clone(), value.to_string());
                Ok(())
            }
            None if self.open => {
                self.values.insert(key.to_string(), value.to_string());
                Ok(())
            }
            None => {
                let known: Vec<&str> = self.decls.iter().map(|d| d.key.as_str()).collect();
                err(ErrorCode::Param, format!("unknown param {key:?} (declared: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") }))
            }
        }
    }

    /// The current value: the set value, else the default.
    /// The built-in operators' param values, by short key.
    pub fn operator_values(&self) -> &BTreeMap<String, String> {
        &self.operator
    }

    pub fn get(&self, key: &str) -> Result<String> {
        if self.find(key).is_none() {
            if let Some(k) = operator_key(key) {
                return Ok(self.operator.get(&k).cloned().unwrap_or_default());
            }
        }
        if let Some(d) = self.find(key) {
            return Ok(self.values.get(&d.key).cloned().unwrap_or_else(|| d.default_value.clone()));
        }
        self.values
            .get(key)
            .cloned()
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("unknown param {key:?}")))
    }

    /// Whether a value was set explicitly.
    pub fn is_set(&self, key: &str) -> bool {
        self.find(key).map(|d| self.values.contains_key(&d.key)).unwrap_or(false)
    }

    /// Mandatory params with neither a value nor a default.
    pub fn missing_mandatory(&self) -> Vec<String> {
        self.decls
            .iter()
            .filter(|d| d.mandatory && !self.values.contains_key(&d.key) && d.default_value.is_empty())
            .map(|d| d.key.clone())
            .collect()
    }

    /// Values the wasm side sees through `getParamValue` (defaults included).
    pub fn wasm_values(&self) -> BTreeMap<String, String> {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        for d in self.decls.iter().filter(|d| d.side == ParamSide::Wasm) {
            m.insert(d.key.clone(), self.values.get(&d.key).cloned().unwrap_or_else(|| d.default_value.clone()));
        }
        for (k, v) in &self.values {
            if self.find(k).is_none() {
                m.insert(k.clone(), v.clone());
            }
        }
        m
    }

    /// eBPF params with their current values, keyed by C variable.
    pub fn ebpf_values(&self) -> Vec<(ParamDecl, String)> {
        self.decls
            .iter()
            .filter(|d| d.side == ParamSide::Ebpf)
            .map(|d| (d.clone(), self.values.get(&d.key).cloned().unwrap_or_else(|| d.default_value.clone())))
            .collect()
    }
}

/// Checks `value` against a type hint (int8…uint64, bool, float32/64, string, duration, ip …).
pub fn validate(d: &ParamDecl, value: &str) -> Result<()> {
    let bad = |what: &str| Error::new(ErrorCode::Param, format!("param {:?}: {value:?} is not a valid {what}", d.key));
    let ok = match d.type_hint.as_str() {
        "int8" => value.parse::<i8>().is_ok(),
        "int16" => value.parse::<i16>().is_ok(),
        "int32" | "int" => value.parse::<i32>().is_ok(),
        "int64" => value.parse::<i64>().is_ok(),
        "uint8" => value.parse::<u8>().is_ok(),
        "uint16" => value.parse::<u16>().is_ok(),
        "uint32" | "uint" => value.parse::<u32>().is_ok(),
        "uint64" => value.parse::<u64>().is_ok(),
        "bool" => matches!(value, "true" | "false" | "1" | "0" | "TRUE" | "FALSE" | "True" | "False" | "t" | "f" | "T" | "F"),
        "float32" | "float64" => value.parse::<f64>().is_ok(),
        "ip" => value.parse::<std::net::IpAddr>().is_ok(),
        _ => true,
    };
    if !ok {
        return Err(bad(&d.type_hint));
    }
    if !d.possible_values.is_empty() && !d.possible_values.iter().any(|p| p == value) {
        return Err(Error::new(
            ErrorCode::Param,
            format!("param {:?}: {value:?} is not one of {}", d.key, d.possible_values.join(", ")),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_params_validate_and_default() {
        let y: serde_yaml::Value = serde_yaml::from_str(
            "params:\n  wasm:\n    param-key:\n      key: param-key\n      defaultValue: dv\n      typeHint: string\n    n:\n      typeHint: uint8\n      isMandatory: true\n",
        )
        .unwrap();
        let mut p = Params::from_metadata(&y);
        assert_eq!(p.get("param-key").unwrap(), "dv");
        assert_eq!(p.missing_mandatory(), vec!["n".to_string()]);
        assert_eq!(p.set("n", "300").unwrap_err().code, ErrorCode::Param);
        p.set("operator.oci.wasm.n", "7").unwrap();
        assert!(p.missing_mandatory().is_empty());
        assert_eq!(p.set("nope", "1").unwrap_err().code, ErrorCode::Param);
        assert_eq!(p.wasm_values().get("n").map(String::as_str), Some("7"));
    }
}
