//! Faults the simulator injects into API calls, so tests and `sim --faults` show how the
//! reporter rides out FortiFlex's bad days: errors, rate limits, expired tokens, slow or
//! dropped replies, odd reply shapes and broken JSON.
//!
//! Text form (`sim --faults`), comma-separated `KIND[:ARG][*TIMES][@AFTER]`: `http:503*2`,
//! `http:503*inf`, `status:-10`, `delay:1500ms`, `drop`, `malformed`, `oversize`,
//! `expire-token@5`, `shape:vms`, `shape:array`. TIMES defaults to 1; AFTER lets that many calls through first.

use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this HTTP status and an error body.
    Http(u16),
    /// Answer HTTP 400 carrying this FortiFlex `status` (-10 minute limit, -11 hour limit,
    /// -12 concurrent use of a token): how rate limits are signalled is not documented.
    Status(i64),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Start a 200 reply, then drop the connection mid-body.
    Drop,
    /// A 200 whose body is JSON cut off halfway.
    Malformed,
    /// Expire every token: this call and later ones get 401 status -1 until a fresh login.
    ExpireToken,
    /// A 200 streaming a body larger than any real reply (33 MiB), with no length announced.
    Oversize,
}

/// How list replies carry their rows (FortiFlex has been seen doing all three).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RowShape {
    /// Under `entitlements` (or `programs`, `configs`): the documented shape.
    #[default]
    Documented,
    /// Under the v1 key `vms`.
    Vms,
    /// A bare JSON array.
    BareArray,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Calls to let through before this fault starts firing.
    pub after: u32,
    /// How many calls it fires on; `None` for every call from then on.
    pub times: Option<u32>,
}

impl Fault {
    /// `kind` on the next call only.
    pub fn once(kind: FaultKind) -> Self {
        Fault {
            kind,
            after: 0,
            times: Some(1),
        }
    }

    /// `kind` on every call from now on.
    pub fn always(kind: FaultKind) -> Self {
        Fault {
            kind,
            after: 0,
            times: None,
        }
    }

    pub fn after(mut self, calls: u32) -> Self {
        self.after = calls;
        self
    }
}

/// The fault plan of a running simulator: consulted once per API call.
#[derive(Debug, Default)]
pub(super) struct Plan {
    faults: Vec<Fault>,
}

impl Plan {
    pub(super) fn push(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// The fault this call meets, if any. Every pending fault counts the call; the first one
    /// due fires and uses up one of its times.
    pub(super) fn next(&mut self) -> Option<FaultKind> {
        let mut fired = None;
        for f in &mut self.faults {
            if f.after > 0 {
                f.after -= 1;
                continue;
            }
            if fired.is_some() {
                continue;
            }
            match &mut f.times {
                Some(0) => {}
                Some(n) => {
                    *n -= 1;
                    fired = Some(f.kind.clone());
                }
                None => fired = Some(f.kind.clone()),
            }
        }
        self.faults.retain(|f| f.times != Some(0));
        fired
    }
}

/// `250ms`, `2s`, `1m`: what humantime reads.
fn duration(s: &str) -> Option<Duration> {
    humantime::parse_duration(s).ok()
}

/// One item of `--faults`: a fault, or a reply shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Fault(Fault),
    Shape(RowShape),
}

impl FromStr for Spec {
    type Err = Error;

    fn from_str(item: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::InvalidRequest(format!(
                "fault '{item}': {why} (e.g. http:503*2, status:-10, delay:500ms, drop, malformed, expire-token@5, shape:vms)"
            ))
        };
        let item = item.trim();
        let (rest, after) = match item.split_once('@') {
            Some((r, a)) => (r, a.parse().map_err(|_| bad("@ takes a call count"))?),
            None => (item, 0),
        };
        let (rest, times) = match rest.split_once('*') {
            Some((r, "inf")) => (r, None),
            Some((r, t)) => (
                r,
                Some(t.parse().map_err(|_| bad("* takes a count or inf"))?),
            ),
            None => (rest, Some(1)),
        };
        let (name, arg) = match rest.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (rest, None),
        };
        let kind = match (name, arg) {
            ("shape", Some("vms")) => return Ok(Spec::Shape(RowShape::Vms)),
            ("shape", Some("array")) => return Ok(Spec::Shape(RowShape::BareArray)),
            ("shape", _) => return Err(bad("shape is vms or array")),
            ("http", Some(code)) => FaultKind::Http(
                code.parse()
                    .ok()
                    .filter(|c| (400..600).contains(c))
                    .ok_or_else(|| bad("http takes a 4xx or 5xx status"))?,
            ),
            ("status", Some(code)) => {
                FaultKind::Status(code.parse().map_err(|_| bad("status takes an integer"))?)
            }
            ("delay", Some(d)) => {
                FaultKind::Delay(duration(d).ok_or_else(|| bad("delay takes 500ms or 2s"))?)
            }
            ("drop", None) => FaultKind::Drop,
            ("malformed", None) => FaultKind::Malformed,
            ("expire-token", None) => FaultKind::ExpireToken,
            ("oversize", None) => FaultKind::Oversize,
            _ => return Err(bad("unknown fault")),
        };
        Ok(Spec::Fault(Fault { kind, after, times }))
    }
}

/// Parses a whole `--faults` value.
pub fn parse_specs(text: &str) -> Result<Vec<Spec>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_reads_every_fault() {
        let specs = parse_specs(
            "http:503*2, status:-10@3, delay:250ms, drop*inf, malformed, expire-token@5, shape:vms",
        )
        .unwrap();
        assert_eq!(
            specs,
            vec![
                Spec::Fault(Fault {
                    kind: FaultKind::Http(503),
                    after: 0,
                    times: Some(2)
                }),
                Spec::Fault(Fault {
                    kind: FaultKind::Status(-10),
                    after: 3,
                    times: Some(1)
                }),
                Spec::Fault(Fault::once(FaultKind::Delay(Duration::from_millis(250)))),
                Spec::Fault(Fault::always(FaultKind::Drop)),
                Spec::Fault(Fault::once(FaultKind::Malformed)),
                Spec::Fault(Fault::once(FaultKind::ExpireToken).after(5)),
                Spec::Shape(RowShape::Vms),
            ]
        );
        for bad in [
            "http:200",
            "http",
            "teleport",
            "delay:soon",
            "shape:xml",
            "drop*x",
        ] {
            assert_eq!(
                parse_specs(bad).unwrap_err().kind(),
                "InvalidRequest",
                "{bad}"
            );
        }
    }

    #[test]
    fn faults_fire_in_order_after_their_delay() {
        let mut plan = Plan::default();
        plan.push(Fault::once(FaultKind::Http(503)));
        plan.push(Fault::once(FaultKind::Malformed).after(2));
        assert_eq!(plan.next(), Some(FaultKind::Http(503)));
        assert_eq!(plan.next(), None);
        assert_eq!(plan.next(), Some(FaultKind::Malformed));
        assert_eq!(plan.next(), None);
        plan.push(Fault::always(FaultKind::Http(503)));
        for _ in 0..5 {
            assert_eq!(plan.next(), Some(FaultKind::Http(503)));
        }
    }
}
