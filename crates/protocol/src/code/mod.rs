//! Request and response codes. Both are open sets: a code we do not know still
//! decodes (as `Unknown(n)`) so the server can answer it properly instead of
//! dropping the connection.

mod request;
mod response;

pub use request::RequestCode;
pub use response::ResponseCode;

/// Declares a code enum with its Java names and an `Unknown(i32)` fallback.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal => $java:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A code this implementation does not know.
            Unknown(i32),
        }

        impl $name {
            /// The numeric code on the wire.
            pub fn to_i32(self) -> i32 {
                match self {
                    $($name::$variant => $value,)*
                    $name::Unknown(v) => v,
                }
            }

            /// Java's constant name, for logs and tools.
            pub fn java_name(self) -> &'static str {
                match self {
                    $($name::$variant => $java,)*
                    $name::Unknown(_) => "UNKNOWN",
                }
            }
        }

        impl From<i32> for $name {
            fn from(v: i32) -> $name {
                match v {
                    $($value => $name::$variant,)*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for i32 {
            fn from(c: $name) -> i32 {
                c.to_i32()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $name::Unknown(v) => write!(f, "UNKNOWN({v})"),
                    known => write!(f, "{}({})", known.java_name(), known.to_i32()),
                }
            }
        }
    };
}
pub(crate) use code_enum;
