//! Permission bits of topics and brokers (`PermName` in Java).

/// The topic may serve as a template for auto-created topics (TBW102).
pub const INHERIT: u32 = 1;
/// Producers may send to the topic.
pub const WRITE: u32 = 2;
/// Consumers may pull from the topic.
pub const READ: u32 = 4;
/// Legacy priority bit; carried, never acted on.
pub const PRIORITY: u32 = 8;
/// The usual read-write permission.
pub const READ_WRITE: u32 = READ | WRITE;

pub fn is_readable(perm: u32) -> bool {
    perm & READ != 0
}

pub fn is_writeable(perm: u32) -> bool {
    perm & WRITE != 0
}

pub fn is_inherited(perm: u32) -> bool {
    perm & INHERIT != 0
}

/// Renders a permission the way `mqadmin` prints it: `R`, `W`, `X` or `-` per bit.
pub fn to_display(perm: u32) -> String {
    let mut s = String::with_capacity(3);
    s.push(if is_readable(perm) { 'R' } else { '-' });
    s.push(if is_writeable(perm) { 'W' } else { '-' });
    s.push(if is_inherited(perm) { 'X' } else { '-' });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        assert_eq!(READ_WRITE, 6);
        assert!(is_inherited(7) && is_readable(7) && is_writeable(7));
        assert_eq!(to_display(6), "RW-");
        assert_eq!(to_display(4), "R--");
    }
}
