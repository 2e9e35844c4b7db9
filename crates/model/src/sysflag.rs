//! Bit flags carried by messages (`MessageSysFlag`) and pull requests (`PullSysFlag`).

/// `MessageSysFlag`: the message's sysFlag field.
pub mod message {
    /// The body is compressed; bits 8-10 name the algorithm (0 means zlib).
    pub const COMPRESSED: i32 = 0x1;
    /// Set by the broker for topics whose filter type is MULTI_TAG.
    pub const MULTI_TAGS: i32 = 0x2;
    /// Mask of the two transaction-type bits.
    pub const TRANSACTION_MASK: i32 = 0xC;
    pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
    pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
    pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
    /// The born host is an IPv6 address (16 + 4 bytes in the record).
    pub const BORNHOST_V6: i32 = 0x10;
    /// The store host is an IPv6 address (16 + 4 bytes in the record).
    pub const STOREHOST_V6: i32 = 0x20;
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

    /// The transaction type bits of a sysFlag.
    pub fn transaction_type(sys_flag: i32) -> i32 {
        sys_flag & TRANSACTION_MASK
    }

    /// The sysFlag with its transaction bits replaced by `kind`.
    pub fn with_transaction_type(sys_flag: i32, kind: i32) -> i32 {
        (sys_flag & !TRANSACTION_MASK) | kind
    }
}

/// `PullSysFlag`: the pull request's sysFlag field.
pub mod pull {
    /// Store the carried `commitOffset` as the group's consumer offset.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// The broker may hold the request until a message arrives (long polling).
    pub const SUSPEND: i32 = 0x2;
    /// The subscription expression travels in the request header.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Legacy class filter.
    pub const CLASS_FILTER: i32 = 0x8;
    /// 5.x lite pull consumer.
    pub const LITE_PULL: i32 = 0x10;

    pub fn has_commit_offset(flag: i32) -> bool {
        flag & COMMIT_OFFSET != 0
    }
    pub fn has_suspend(flag: i32) -> bool {
        flag & SUSPEND != 0
    }
    pub fn has_subscription(flag: i32) -> bool {
        flag & SUBSCRIPTION != 0
    }
    /// The flag with the suspend bit cleared, as Java does before re-running a
    /// held pull so that it cannot be held twice.
    pub fn clear_suspend(flag: i32) -> i32 {
        flag & !SUSPEND
    }
}

/// `TopicSysFlag`: bits of a topic config's `topicSysFlag`.
pub mod topic {
    pub const UNIT: i32 = 0x1;
    pub const UNIT_SUB: i32 = 0x2;
}
