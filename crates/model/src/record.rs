//! Placeholder: the stored message record codec (protocol doc §4.4-4.6) is
//! written with the store (issue 3).
