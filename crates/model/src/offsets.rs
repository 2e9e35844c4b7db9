//! Offsets as newtypes, so a byte position in the CommitLog can never be mixed
//! up with an entry index in a consume queue.

use std::fmt;
use std::ops::{Add, Sub};

/// A global byte position in the CommitLog: file start offset + position in that
/// file. The CommitLog's max offset is the position of the next byte to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysicalOffset(pub u64);

/// The index of an entry in one consume queue (topic, queue id). A queue's max
/// offset is the index the next entry will get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueOffset(pub u64);

macro_rules! offset_impls {
    ($t:ident) => {
        impl $t {
            pub const ZERO: $t = $t(0);

            /// The offset as the signed long Java puts on the wire.
            pub fn as_i64(self) -> i64 {
                self.0 as i64
            }

            /// An offset from a wire value; negative values (Java's `-1` "unknown")
            /// have no offset.
            pub fn from_i64(v: i64) -> Option<$t> {
                u64::try_from(v).ok().map($t)
            }
        }

        impl Add<u64> for $t {
            type Output = $t;
            fn add(self, rhs: u64) -> $t {
                $t(self.0 + rhs)
            }
        }

        impl Sub<$t> for $t {
            type Output = u64;
            /// Distance between two offsets; panics in debug builds if `rhs` is larger.
            fn sub(self, rhs: $t) -> u64 {
                self.0 - rhs.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<u64> for $t {
            fn from(v: u64) -> $t {
                $t(v)
            }
        }
    };
}

offset_impls!(PhysicalOffset);
offset_impls!(QueueOffset);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_wire_values_are_no_offset() {
        assert_eq!(PhysicalOffset::from_i64(-1), None);
        assert_eq!(QueueOffset::from_i64(7), Some(QueueOffset(7)));
        assert_eq!(PhysicalOffset(10) + 5, PhysicalOffset(15));
        assert_eq!(QueueOffset(10) - QueueOffset(4), 6);
    }
}
