//! Writing in fastjson's form: integer map keys unquoted, object keys inline.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};
use std::io;

use super::to_string;

/// Writes `{<key object>:<value>,…}` exactly as fastjson writes a map with
/// object keys.
pub fn write_object_key_map<'a, K, V, I>(entries: I) -> String
where
    K: Serialize + 'a,
    V: Serialize + 'a,
    I: IntoIterator<Item = (&'a K, &'a V)>,
{
    let mut out = String::from("{");
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&to_string(key));
        out.push(':');
        out.push_str(&to_string(value));
    }
    out.push('}');
    out
}

/// A serde_json formatter that leaves integer map keys unquoted and delegates
/// everything else to `F`.
///
/// serde_json writes an integer key as `begin_string`, `write_i64`, `end_string`
/// and a string key as `begin_string`, fragments, `end_string`; the opening
/// quote of a key is therefore held back until we know which it is.
pub(super) struct UnquotedIntKeys<F> {
    inner: F,
    in_key: bool,
    quote_pending: bool,
    unquoted: bool,
}

impl<F> UnquotedIntKeys<F> {
    pub(super) fn new(inner: F) -> UnquotedIntKeys<F> {
        UnquotedIntKeys { inner, in_key: false, quote_pending: false, unquoted: false }
    }

    fn flush_quote<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.quote_pending {
            self.quote_pending = false;
            w.write_all(b"\"")?;
        }
        Ok(())
    }

    fn number<W: ?Sized + io::Write>(&mut self, w: &mut W, text: &str) -> io::Result<()> {
        if self.quote_pending {
            self.quote_pending = false;
            self.unquoted = true;
        }
        w.write_all(text.as_bytes())
    }
}

macro_rules! int_writers {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W, value: $t) -> io::Result<()> {
            self.number(w, &value.to_string())
        })*
    };
}

impl<F: Formatter> Formatter for UnquotedIntKeys<F> {
    int_writers!(write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64, write_i128: i128,
                 write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64, write_u128: u128);

    fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.in_key {
            self.quote_pending = true;
            Ok(())
        } else {
            w.write_all(b"\"")
        }
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.unquoted {
            self.unquoted = false;
            Ok(())
        } else {
            self.flush_quote(w)?;
            w.write_all(b"\"")
        }
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        self.flush_quote(w)?;
        w.write_all(fragment.as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, w: &mut W, escape: CharEscape) -> io::Result<()> {
        self.flush_quote(w)?;
        self.inner.write_char_escape(w, escape)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.in_key = true;
        self.inner.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.in_key = false;
        self.inner.end_object_key(w)
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
}
