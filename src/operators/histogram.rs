//! IG's `otel-metrics` histogram printing (operators spec §2.11) for fields tagged
//! `type:gadget_histogram_slot__u32` / `__u64` (ArrayOf(Uint32|Uint64)).
//!
//! What IG v0.55.0 does (`pkg/operators/otel-metrics/otel-metrics.go`, `pkg/histogram`,
//! otel SDK `go.opentelemetry.io/otel/sdk/metric` v1.43.0):
//!
//! * The field becomes an OTel Int64Histogram named `metrics.name` (else the field's full name),
//!   with unit `metrics.unit` (else empty) and explicit bounds `1, 2, 4, …, 2^(n−1)` for an
//!   n-slot array (these override any `metrics.boundaries`).
//! * Per event, slot i holding c records the value 2^i c times. The SDK puts a value v in the
//!   first bucket whose bound is ≥ v (`sort.SearchFloat64s`, upper-inclusive), so 2^i lands in
//!   bucket i; the extra +Inf bucket (index n) never receives anything from slot arrays.
//! * A data point exists per distinct attribute set (the values of the DS fields annotated
//!   `metrics.type: key`), created by its first `Record` — an event whose slots are all zero
//!   records nothing and creates no data point. Counts are cumulative over the run.
//! * Each print tick, for each metric with ≥ 1 data point: `<name>\n`, then per data point the
//!   bcc-style text of `pkg/histogram` for the n explicit buckets (+Inf not shown), then `\n`.
//!   Attribute values are never printed. The SDK keeps data points in a Go map, so with several
//!   keys IG's data point order is random; here it is first-recorded order.

/// One histogram metric (one `gadget_histogram_slot` field) with its data points.
#[derive(Debug, Clone)]
pub struct HistogramMetric {
    /// Explicit bounds 1, 2, 4, …, 2^(n−1) as u64 (the labels; IG converts the float bound
    /// with `uint64(high)`).
    bounds: Vec<u64>,
    /// (attribute-set key, per-bucket cumulative counts incl. the +Inf bucket).
    points: Vec<(Vec<u8>, Vec<u64>)>,
}

impl HistogramMetric {
    /// A histogram for an array field of `slots` elements (`f.Size() / elemSize`).
    pub fn new(slots: usize) -> HistogramMetric {
        // IG: int64(1 << i); only exact for i < 63 (real gadgets use 27 slots).
        let bounds = (0..slots).map(|i| 1u64 << i.min(63)).collect();
        HistogramMetric { bounds, points: Vec::new() }
    }

    /// Number of explicit bounds (= array length).
    pub fn slots(&self) -> usize {
        self.bounds.len()
    }

    /// Records one event's slots into the data point without key fields.
    pub fn record(&mut self, slots: &[u64]) {
        self.record_keyed(&[], slots);
    }

    /// Records one event's slots into the data point of `key` (an encoding, chosen by the
    /// caller, of the event's `metrics.type: key` field values; equal encodings = same point).
    pub fn record_keyed(&mut self, key: &[u8], slots: &[u64]) {
        if slots.iter().take(self.bounds.len()).all(|&c| c == 0) {
            return; // no Record call, no data point
        }
        let nbuckets = self.bounds.len() + 1;
        let idx = match self.points.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.points.push((key.to_vec(), vec![0; nbuckets]));
                self.points.len() - 1
            }
        };
        let counts = &mut self.points[idx].1;
        for (i, &c) in slots.iter().take(self.bounds.len()).enumerate() {
            if c == 0 {
                continue;
            }
            let bucket = bucket_of(&self.bounds, i);
            counts[bucket] = counts[bucket].wrapping_add(c);
        }
    }

    /// Whether any data point exists (otherwise the metric is not printed at all).
    pub fn has_data_points(&self) -> bool {
        !self.points.is_empty()
    }

    /// Appends this metric's part of the print text: nothing without data points; else
    /// `<name>\n`, then for each data point its histogram text followed by an empty line.
    pub fn render(&self, name: &str, unit: &str, out: &mut String) {
        if self.points.is_empty() {
            return;
        }
        out.push_str(name);
        out.push('\n');
        for (_, counts) in &self.points {
            let mut last = 0u64;
            let intervals: Vec<Interval> = self
                .bounds
                .iter()
                .enumerate()
                .map(|(i, &high)| {
                    let iv = Interval { count: counts[i], start: last, end: high };
                    last = high;
                    iv
                })
                .collect();
            render_intervals(unit, &intervals, out);
            out.push('\n');
        }
    }
}

/// Bucket index of value 2^i (SDK: first bound >= value, else the +Inf bucket): always i.
fn bucket_of(bounds: &[u64], i: usize) -> usize {
    let v = 1u64 << i.min(63);
    bounds.iter().position(|&b| b >= v).unwrap_or(bounds.len())
}

/// `histogram.Interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub count: u64,
    pub start: u64,
    pub end: u64,
}

/// `histogram.Histogram.String()` (bcc's `print_log2_hist`): `""` without intervals; else the
/// header `%8s%-16s : count    distribution` (unit padded to 16 runes) and one
/// `%10d -> %-10d : %-8d |<40>|` line per interval, each ending in `\n`.
pub fn render_intervals(unit: &str, intervals: &[Interval], out: &mut String) {
    if intervals.is_empty() {
        return;
    }
    let max = intervals.iter().map(|b| b.count).max().unwrap_or(0);
    out.push_str("        ");
    out.push_str(unit);
    for _ in unit.chars().count()..16 {
        out.push(' ');
    }
    out.push_str(" : count    distribution\n");
    for b in intervals {
        out.push_str(&format!("{:>10} -> {:<10} : {:<8} |", b.start, b.end, b.count));
        push_stars(b.count, max, 40, out);
        out.push_str("|\n");
    }
}

/// `starsToString`: `val*width/max` stars then spaces to `width`; all spaces when max is 0.
fn push_stars(val: u64, max: u64, width: u64, out: &mut String) {
    if max == 0 {
        out.extend(std::iter::repeat_n(' ', width as usize));
        return;
    }
    let stars = (val.wrapping_mul(width) / max).min(width);
    out.extend(std::iter::repeat_n('*', stars as usize));
    out.extend(std::iter::repeat_n(' ', (width - stars) as usize));
}

/// The otel SDK's instrument name check (`validateInstrumentName`): IG fails PreStart with
/// `adding histogram for "<field>": adding metric histogram for "<name>": <this error>`.
pub fn validate_instrument_name(name: &str) -> Result<(), String> {
    const E: &str = "invalid instrument name";
    if name.is_empty() {
        return Err(format!("{E}: {name}: is empty"));
    }
    if name.len() > 255 {
        return Err(format!("{E}: {name}: longer than 255 characters"));
    }
    if !name.chars().next().unwrap().is_ascii_alphabetic() {
        return Err(format!("{E}: {name}: must start with a letter"));
    }
    if name[1..]
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
    {
        return Err(format!("{E}: {name}: must only contain [A-Za-z0-9_.-/]"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_has_no_text() {
        let mut h = HistogramMetric::new(27);
        h.record(&[0; 27]);
        let mut out = String::new();
        h.render("latency", "µs", &mut out);
        assert_eq!(out, "");
    }

    #[test]
    fn blockio_example() {
        let mut h = HistogramMetric::new(27);
        let mut slots = [0u64; 27];
        slots[5] = 1;
        slots[6] = 40;
        slots[7] = 13;
        h.record(&slots);
        let mut second = [0u64; 27];
        second[6] = 8;
        h.record(&second);
        let mut out = String::new();
        h.render("latency", "µs", &mut out);
        let lines: Vec<&str> = out.split('\n').collect();
        assert_eq!(lines.len(), 1 + 1 + 27 + 2);
        assert_eq!(lines[0], "latency");
        assert_eq!(lines[1], "        µs               : count    distribution");
        assert_eq!(lines[2], "         0 -> 1          : 0        |                                        |");
        assert_eq!(lines[3], "         1 -> 2          : 0        |                                        |");
        assert_eq!(lines[7], "        16 -> 32         : 1        |                                        |");
        assert_eq!(lines[8], "        32 -> 64         : 48       |****************************************|");
        assert_eq!(lines[9], "        64 -> 128        : 13       |**********                              |");
        assert_eq!(lines[28], "  33554432 -> 67108864   : 0        |                                        |");
        assert_eq!(lines[29], "");
        assert_eq!(lines[30], "");
        assert!(out.ends_with("|\n\n"));
    }

    #[test]
    fn keyed_points_and_unit_padding() {
        let mut h = HistogramMetric::new(2);
        h.record_keyed(b"a", &[1, 0]);
        h.record_keyed(b"b", &[0, 3]);
        h.record_keyed(b"a", &[1, 1]);
        let mut out = String::new();
        h.render("x", "", &mut out);
        assert_eq!(
            out,
            "x\n\
             \x20                        : count    distribution\n\
             \x20        0 -> 1          : 2        |****************************************|\n\
             \x20        1 -> 2          : 1        |********************                    |\n\
             \n\
             \x20                        : count    distribution\n\
             \x20        0 -> 1          : 0        |                                        |\n\
             \x20        1 -> 2          : 3        |****************************************|\n\
             \n"
        );
        let mut out = String::new();
        render_intervals("a-very-long-unit-name", &[Interval { count: 0, start: 0, end: 1 }], &mut out);
        assert!(out.starts_with("        a-very-long-unit-name : count"));
    }

    #[test]
    fn names() {
        assert!(validate_instrument_name("latency").is_ok());
        assert!(validate_instrument_name("a.b-c/d_e").is_ok());
        assert_eq!(
            validate_instrument_name("1x").unwrap_err(),
            "invalid instrument name: 1x: must start with a letter"
        );
    }
}
