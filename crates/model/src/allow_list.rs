//! Lists of peer addresses an operator trusts: IP addresses and CIDR blocks
//! (`10.0.0.0/8`, `fd00::/8`), comma-separated. rmq's own keys use them
//! (`haAllowedAddresses`, the NameServer's `writeAllowedAddresses`): Java has
//! no such lists.

use std::net::IpAddr;

/// One entry of an allow-list: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IP addresses and CIDR blocks (`10.0.0.0/8`,
/// `fd00::/8`), comma-separated, blanks ignored. `0.0.0.0/0` admits every
/// IPv4 peer, as Java does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<Net>);

impl AllowList {
    /// Parses the key's value; the error names the entry that is not an
    /// address or a block.
    pub fn parse(text: &str) -> Result<AllowList, String> {
        let mut nets = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || format!("'{entry}' is neither an IP address nor a CIDR block (a.b.c.d/n)");
            let (addr, prefix) = match entry.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (entry, None),
            };
            let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
            let addr = addr.to_canonical();
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
                None => max,
            };
            nets.push(Net { addr, prefix });
        }
        Ok(AllowList(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allow_list_entries() {
        let list = AllowList::parse(" 10.1.0.0/16, 192.168.1.7 ,,fd00::/8, ::ffff:172.16.0.1").unwrap();
        for (peer, expected) in [
            ("10.1.255.3", true),
            ("10.2.0.1", false),
            ("192.168.1.7", true),
            ("192.168.1.8", false),
            ("fd12::1", true),
            ("fe80::1", false),
            ("172.16.0.1", true),
            // An IPv4 peer seen through an IPv6 socket.
            ("::ffff:10.1.2.3", true),
        ] {
            assert_eq!(list.contains(ip(peer)), expected, "{peer}");
        }
        let everyone = AllowList::parse("0.0.0.0/0").unwrap();
        assert!(everyone.contains(ip("8.8.8.8")));
        assert!(AllowList::parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_allow_list_entries_are_named() {
        for bad in ["10.0.0.0/33", "host.example", "10.0.0.1/", "::/129", "1.2.3.4/x"] {
            let e = AllowList::parse(&format!("10.0.0.1,{bad}")).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
