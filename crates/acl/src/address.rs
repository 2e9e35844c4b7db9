//! Remote address patterns of `plain_acl.yml` (Java's
//! `RemoteAddressStrategyFactory`): blank matches nothing; `*`, `*.*.*.*`
//! or `*:*:*:*:*:*:*:*` match everything; `a,b,c` lists addresses;
//! `192.168.1.{1,2,3}` lists values of the last segment; `*` or `a-b`
//! segments (`192.168.*.*`, `10.1.1.1-100`) give ranges; otherwise one
//! address. IPv6 works the same with 8 hexadecimal segments.

use std::net::IpAddr;

/// One segment of a segmented pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Any,
    Range(u16, u16),
    Set(Vec<u16>),
}

impl Segment {
    fn matches(&self, v: u16) -> bool {
        match self {
            Segment::Any => true,
            Segment::Range(lo, hi) => (*lo..=*hi).contains(&v),
            Segment::Set(values) => values.contains(&v),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressPattern {
    Nothing,
    Everything,
    List(Vec<IpAddr>),
    /// Four segments for IPv4, eight for IPv6.
    Segments {
        v6: bool,
        segments: Vec<Segment>,
    },
}

impl AddressPattern {
    pub fn parse(text: &str) -> Result<AddressPattern, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(AddressPattern::Nothing);
        }
        if matches!(t, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddressPattern::Everything);
        }
        if t.ends_with('}') {
            let open = t.rfind('{').ok_or_else(|| format!("address pattern {t} has '}}' without '{{'"))?;
            let head = &t[..open];
            let v6 = head.ends_with(':');
            let sep = if v6 { ':' } else { '.' };
            let mut segments = head
                .trim_end_matches(sep)
                .split(sep)
                .map(|s| value(s, v6).map(|v| Segment::Set(vec![v])))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("address pattern {t}: {e}"))?;
            let last = t[open + 1..t.len() - 1]
                .split(',')
                .map(|s| value(s.trim(), v6))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("address pattern {t}: {e}"))?;
            segments.push(Segment::Set(last));
            return Self::segmented(t, v6, segments);
        }
        if t.contains(',') {
            let list = t
                .split(',')
                .map(|a| a.trim().parse::<IpAddr>().map_err(|_| format!("{a:?} in {t} is not an IP address")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(AddressPattern::List(list.into_iter().map(canonical).collect()));
        }
        if t.contains('*') || t.contains('-') {
            let v6 = t.contains(':');
            let sep = if v6 { ':' } else { '.' };
            let segments = t
                .split(sep)
                .map(|s| segment(s.trim(), v6))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("address pattern {t}: {e}"))?;
            return Self::segmented(t, v6, segments);
        }
        t.parse::<IpAddr>()
            .map(|ip| AddressPattern::List(vec![canonical(ip)]))
            .map_err(|_| format!("{t:?} is not an IP address or address pattern"))
    }

    fn segmented(text: &str, v6: bool, segments: Vec<Segment>) -> Result<AddressPattern, String> {
        let want = if v6 { 8 } else { 4 };
        if segments.len() != want {
            return Err(format!("address pattern {text} must have {want} segments"));
        }
        Ok(AddressPattern::Segments { v6, segments })
    }

    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            AddressPattern::Nothing => false,
            AddressPattern::Everything => true,
            AddressPattern::List(list) => list.contains(&ip),
            AddressPattern::Segments { v6, segments } => {
                let values: Vec<u16> = match ip {
                    IpAddr::V4(v4) if !v6 => v4.octets().iter().map(|o| u16::from(*o)).collect(),
                    IpAddr::V6(addr) if *v6 => addr.segments().to_vec(),
                    _ => return false,
                };
                segments.iter().zip(values).all(|(s, v)| s.matches(v))
            }
        }
    }
}

/// IPv4-mapped IPv6 addresses count as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn value(s: &str, v6: bool) -> Result<u16, String> {
    let parsed = if v6 { u16::from_str_radix(s, 16).ok() } else { s.parse::<u8>().ok().map(u16::from) };
    parsed.ok_or_else(|| format!("{s:?} is not a valid address segment"))
}

fn segment(s: &str, v6: bool) -> Result<Segment, String> {
    if s == "*" {
        return Ok(Segment::Any);
    }
    if let Some((lo, hi)) = s.split_once('-') {
        let (lo, hi) = (value(lo, v6)?, value(hi, v6)?);
        if lo > hi {
            return Err(format!("range {s} runs backwards"));
        }
        return Ok(Segment::Range(lo, hi));
    }
    value(s, v6).map(|v| Segment::Set(vec![v]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, ip: &str) -> bool {
        AddressPattern::parse(pattern).unwrap().matches(ip.parse().unwrap())
    }

    #[test]
    fn java_pattern_forms() {
        assert!(!m("", "127.0.0.1"));
        assert!(m("*", "10.0.0.1"));
        assert!(m("*.*.*.*", "10.0.0.1"));
        assert!(m("127.0.0.1", "127.0.0.1"));
        assert!(m("127.0.0.1", "::ffff:127.0.0.1"));
        assert!(!m("127.0.0.1", "127.0.0.2"));
        assert!(m("10.10.103.*", "10.10.103.77"));
        assert!(!m("10.10.103.*", "10.10.104.77"));
        assert!(m("192.168.*.*", "192.168.9.9"));
        assert!(m("192.168.1.1-100", "192.168.1.100"));
        assert!(!m("192.168.1.1-100", "192.168.1.101"));
        assert!(m("192.168.1.{1,2,3}", "192.168.1.2"));
        assert!(!m("192.168.1.{1,2,3}", "192.168.1.4"));
        assert!(m("10.0.0.1, 10.0.0.2", "10.0.0.2"));
        assert!(m("::1", "::1"));
        assert!(m("fe80:0:0:0:0:0:0:*", "fe80::9"));
        assert!(!m("fe80:0:0:0:0:0:0:*", "10.0.0.1"));
        assert!(m("*:*:*:*:*:*:*:*", "::1"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in ["10.0.0", "300.1.1.1", "10.0.0.5-1", "10.0.*", "1.2.3.{a}", "host.example", "1.2.3.4,x"] {
            assert!(AddressPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
