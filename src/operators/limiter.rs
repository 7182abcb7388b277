//! IG's `limiter` operator (`pkg/operators/limiter/limiter.go`, array subscription priority
//! 9600): `--max-entries N` (every array DS) or `--max-entries ds:N,ds2:M`; default `-1`
//! (off). Arrays longer than the limit are cut to their first N elements.

use std::collections::BTreeMap;

use crate::datasource::{Record, Schema};
use crate::operators::filter::{go_parse_int, go_quote};

/// Priority of IG's limiter subscription.
pub const PRIORITY: i32 = 9600;
/// Param key (`--max-entries`).
pub const PARAM_MAX_ENTRIES: &str = "max-entries";
/// Default value of the param.
pub const DEFAULT_MAX_ENTRIES: &str = "-1";

/// IG's `apihelpers.GetStringValuesPerDataSource`: `value` or `ds:value,ds2:value` (split on
/// `,`, empty parts skipped, each part split at its first `:`; a later duplicate wins). The
/// plain form is stored under `""`; mixing both forms is an error.
pub fn string_values_per_ds(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut res = BTreeMap::new();
    for part in s.split(',') {
        if part.is_empty() {
            continue;
        }
        match part.split_once(':') {
            Some((ds, v)) => res.insert(ds.to_string(), v.to_string()),
            None => res.insert(String::new(), part.to_string()),
        };
    }
    if res.contains_key("") && res.len() > 1 {
        return Err("mixed values with and without specifying data source".into());
    }
    Ok(res)
}

/// IG's `GetIntValuesPerDataSource` plus the limiter's own checks, with its error strings
/// (`parsing max-entries ("x"): converting x to int: strconv.Atoi: parsing "x": invalid
/// syntax`, `invalid value for max-entries: ,`). Values are Go `int` (64-bit).
///
/// IG converts the values in map order; with several bad values the one reported may differ
/// there (here: the first by DS name).
pub fn parse_max_entries(value: &str) -> Result<BTreeMap<String, i64>, String> {
    let wrap = |e: String| format!("parsing {PARAM_MAX_ENTRIES} ({}): {e}", go_quote(value));
    let m = string_values_per_ds(value)
        .map_err(|e| wrap(format!("getting string values per data source: {e}")))?;
    let mut res = BTreeMap::new();
    for (k, v) in m {
        let n = go_parse_int(&v, 64, "Atoi").map_err(|e| wrap(format!("converting {v} to int: {e}")))?;
        res.insert(k, n);
    }
    if res.is_empty() {
        return Err(format!("invalid value for {PARAM_MAX_ENTRIES}: {value}"));
    }
    Ok(res)
}

/// The limit of each data source `(name, is_array)` for a `--max-entries` value, in the given
/// order (`None`: not limited). Mirrors IG's `InstantiateDataOperator` + `PreStart`:
/// - no array DS at all: the operator is not instantiated, nothing is parsed (all `None`);
/// - plain form: `-1` disables everything, `N` limits every array DS, `< -1` is an error
///   (`invalid value of max-entries for data source "ds": -5`, reported for the first array DS);
/// - per-DS form: a listed non-array DS is an error (`max-entries can only be used on array
///   data sources`), a listed `-1` is off, and — IG quirk — an array DS that is *not listed*
///   gets limit 0 (its arrays become empty). Unlisted single DSes are unaffected.
pub fn limits_for(value: &str, dses: &[(&str, bool)]) -> Result<Vec<Option<usize>>, String> {
    let mut out = vec![None; dses.len()];
    if !dses.iter().any(|&(_, arr)| arr) {
        return Ok(out);
    }
    let limits = parse_max_entries(value)?;
    if limits.get("") == Some(&-1) {
        return Ok(out);
    }
    for (i, &(name, is_array)) in dses.iter().enumerate() {
        let max = if let Some(&v) = limits.get("") {
            if !is_array {
                continue;
            }
            v
        } else if let Some(&v) = limits.get(name) {
            if !is_array {
                return Err(format!("{PARAM_MAX_ENTRIES} can only be used on array data sources"));
            }
            if v == -1 {
                continue;
            }
            v
        } else {
            0
        };
        if max < -1 {
            return Err(format!(
                "invalid value of {PARAM_MAX_ENTRIES} for data source {}: {max}",
                go_quote(name)
            ));
        }
        // IG's SubscribeArray fails (error ignored) on single data sources.
        if is_array {
            out[i] = Some(max as usize);
        }
    }
    Ok(out)
}

/// [`limits_for`] with schemas.
pub fn limits_for_schemas(value: &str, schemas: &[&Schema]) -> Result<Vec<Option<usize>>, String> {
    let d: Vec<(&str, bool)> = schemas.iter().map(|s| (s.name.as_str(), s.is_array())).collect();
    limits_for(value, &d)
}

/// Cuts an array to its first `n` records (IG `limiterFn` / `Resize`).
pub fn limit(records: &mut Vec<Record>, n: usize) {
    records.truncate(n);
}

/// [`limit`], returning the removed records to the schema's pool.
pub fn limit_recycle(schema: &Schema, records: &mut Vec<Record>, n: usize) {
    if records.len() > n {
        schema.pool.put_many(records.drain(n..));
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    /// From Go: IG's GetIntValuesPerDataSource (verbatim) + the limiter's wrapping.
    #[allow(clippy::type_complexity)]
    const MAX_ENTRIES: &[(&str, Result<&[(&str, i64)], &str>)] = &[
        ("-1", Ok(&[("", -1), ])),
        ("5", Ok(&[("", 5), ])),
        ("0", Ok(&[("", 0), ])),
        ("-2", Ok(&[("", -2), ])),
        ("ds:3", Ok(&[("ds", 3), ])),
        ("ds:3,ds2:-1", Ok(&[("ds", 3), ("ds2", -1), ])),
        ("ds:3,4", Err("parsing max-entries (\"ds:3,4\"): getting string values per data source: mixed values with and without specifying data source")),
        (",", Err("invalid value for max-entries: ,")),
        ("", Err("invalid value for max-entries: ")),
        ("x", Err("parsing max-entries (\"x\"): converting x to int: strconv.Atoi: parsing \"x\": invalid syntax")),
        ("ds:x", Err("parsing max-entries (\"ds:x\"): converting x to int: strconv.Atoi: parsing \"x\": invalid syntax")),
        ("ds:", Err("parsing max-entries (\"ds:\"): converting  to int: strconv.Atoi: parsing \"\": invalid syntax")),
        ("a:b:c", Err("parsing max-entries (\"a:b:c\"): converting b:c to int: strconv.Atoi: parsing \"b:c\": invalid syntax")),
        ("ds:1,ds:2", Ok(&[("ds", 2), ])),
        ("99999999999999999999", Err("parsing max-entries (\"99999999999999999999\"): converting 99999999999999999999 to int: strconv.Atoi: parsing \"99999999999999999999\": value out of range")),
        ("+7", Ok(&[("", 7), ])),
        (" 7", Err("parsing max-entries (\" 7\"): converting  7 to int: strconv.Atoi: parsing \" 7\": invalid syntax")),
    ];

    #[test]
    fn parse_matches_ig() {
        for &(v, want) in MAX_ENTRIES {
            let got = parse_max_entries(v);
            match want {
                Ok(m) => {
                    let m: BTreeMap<String, i64> = m.iter().map(|(k, n)| (k.to_string(), *n)).collect();
                    assert_eq!(got, Ok(m), "{v:?}");
                }
                Err(e) => assert_eq!(got, Err(e.to_string()), "{v:?}"),
            }
        }
    }

    #[test]
    fn limits_per_data_source() {
        let ds = [("a", true), ("s", false), ("b", true)];
        assert_eq!(limits_for("-1", &ds).unwrap(), vec![None, None, None]);
        assert_eq!(limits_for("3", &ds).unwrap(), vec![Some(3), None, Some(3)]);
        assert_eq!(limits_for("0", &ds).unwrap(), vec![Some(0), None, Some(0)]);
        assert_eq!(
            limits_for("-2", &ds).unwrap_err(),
            "invalid value of max-entries for data source \"a\": -2"
        );
        // per-DS form: unlisted arrays get 0 (IG quirk), -1 is off, single DS untouched
        assert_eq!(limits_for("a:5", &ds).unwrap(), vec![Some(5), None, Some(0)]);
        assert_eq!(limits_for("a:-1", &ds).unwrap(), vec![None, None, Some(0)]);
        assert_eq!(limits_for("a:-1,b:-1", &ds).unwrap(), vec![None, None, None]);
        assert_eq!(limits_for("x:4", &ds).unwrap(), vec![Some(0), None, Some(0)]);
        assert_eq!(
            limits_for("s:5", &ds).unwrap_err(),
            "max-entries can only be used on array data sources"
        );
        assert_eq!(
            limits_for("b:-3", &ds).unwrap_err(),
            "invalid value of max-entries for data source \"b\": -3"
        );
        assert_eq!(limits_for("x", &ds).unwrap_err(), "parsing max-entries (\"x\"): converting x to int: strconv.Atoi: parsing \"x\": invalid syntax");
        // no array DS: not instantiated, nothing parsed
        assert_eq!(limits_for("garbage", &[("s", false)]).unwrap(), vec![None]);
    }

    #[test]
    fn limit_cuts() {
        let mut v: Vec<Record> = (0..5u8).map(|i| vec![vec![i]]).collect();
        limit(&mut v, 10);
        assert_eq!(v.len(), 5);
        limit(&mut v, 3);
        assert_eq!(v, vec![vec![vec![0]], vec![vec![1]], vec![vec![2]]]);
        let s = Schema::new("a", crate::datasource::TYPE_ARRAY);
        limit_recycle(&s, &mut v, 0);
        assert!(v.is_empty());
        assert_eq!(s.pool.len(), 3);
    }
}
