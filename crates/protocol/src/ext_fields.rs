//! A command's custom header fields (`extFields`): string keys to string
//! values, iterated in key order, the order fastjson writes them in.
//!
//! Every request carries a dozen or more of them. As a `BTreeMap<String,
//! String>` decoding a send's header built some thirty strings and tree nodes,
//! the larger part of the header's cost on the broker. Here all keys and
//! values live in one text buffer, indexed by a small vector kept sorted by
//! key: two allocations whatever the count. Replaced and removed entries leave
//! their text behind, which a header's short life makes harmless.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::cmp::Ordering;
use std::fmt;

#[derive(Clone, Default)]
pub struct ExtFields {
    /// Boxed so a command stays small (it is moved through queues and returned
    /// as an error), and absent while there are no fields, as in most responses.
    fields: Option<Box<Fields>>,
}

#[derive(Clone, Debug, Default)]
struct Fields {
    text: String,
    /// Sorted by key; no key twice.
    entries: Vec<Entry>,
}

/// Where one field's key and value sit in the text.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: (usize, usize),
    value: (usize, usize),
}

impl Fields {
    fn key_of(&self, entry: &Entry) -> &str {
        &self.text[entry.key.0..entry.key.1]
    }

    fn value_of(&self, entry: &Entry) -> &str {
        &self.text[entry.value.0..entry.value.1]
    }

    fn key_bytes(&self, entry: &Entry) -> &[u8] {
        &self.text.as_bytes()[entry.key.0..entry.key.1]
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        let key = key.as_bytes();
        // Decoders insert in the order clients write, mostly sorted: look at the end first.
        match self.entries.last() {
            Some(last) if compare(self.key_bytes(last), key) == Ordering::Less => Err(self.entries.len()),
            _ => self.entries.binary_search_by(|e| compare(self.key_bytes(e), key)),
        }
    }

    fn push_text(&mut self, s: &str) -> (usize, usize) {
        let start = self.text.len();
        self.text.push_str(s);
        (start, self.text.len())
    }

    fn insert(&mut self, key: &str, value: &str) {
        match self.find(key) {
            Ok(at) => self.entries[at].value = self.push_text(value),
            Err(at) => {
                let entry = Entry { key: self.push_text(key), value: self.push_text(value) };
                self.entries.insert(at, entry);
            }
        }
    }
}

/// Byte order, as `str`'s `Ord`. Keys are a few bytes long and a typed
/// header looks up each of its fields, so a loop the compiler inlines
/// beats a call into the C library's `memcmp` per comparison (which a
/// profile of the send path showed at 3 % of the broker's CPU).
#[inline]
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

impl ExtFields {
    pub fn new() -> ExtFields {
        ExtFields::default()
    }

    /// Room for `fields` fields of `text` bytes in all, so a decoder fills it
    /// without growing it.
    pub fn with_capacity(fields: usize, text: usize) -> ExtFields {
        let fields = Fields { text: String::with_capacity(text), entries: Vec::with_capacity(fields) };
        ExtFields { fields: Some(Box::new(fields)) }
    }

    /// The fields to read: none while nothing was inserted.
    fn fields(&self) -> &Fields {
        static NONE: Fields = Fields { text: String::new(), entries: Vec::new() };
        self.fields.as_deref().unwrap_or(&NONE)
    }

    pub fn len(&self) -> usize {
        self.fields().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields().entries.is_empty()
    }

    /// Sets `key` to `value`, replacing what it held.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        self.fields.get_or_insert_default().insert(key.as_ref(), value.as_ref());
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        let fields = self.fields();
        fields.find(key).ok().map(|at| fields.value_of(&fields.entries[at]))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.fields().find(key).is_ok()
    }

    /// Takes `key` out, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let fields = self.fields.as_mut()?;
        let at = fields.find(key).ok()?;
        let entry = fields.entries.remove(at);
        Some(fields.value_of(&entry).to_owned())
    }

    /// Keeps only the fields `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        if let Some(fields) = self.fields.as_mut() {
            let text = &fields.text;
            fields.entries.retain(|e| keep(&text[e.key.0..e.key.1], &text[e.value.0..e.value.1]));
        }
    }

    /// The fields in key order.
    pub fn iter(&self) -> Iter<'_> {
        let fields = self.fields();
        Iter { fields, entries: fields.entries.iter() }
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.iter().map(|(_, v)| v)
    }
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &ExtFields) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> ExtFields {
        let mut ext = ExtFields::new();
        ext.extend(iter);
        ext
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for ExtFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

/// The fields of an [`ExtFields`] in key order.
#[derive(Debug)]
pub struct Iter<'a> {
    fields: &'a Fields,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let e = self.entries.next()?;
        Some((self.fields.key_of(e), self.fields.value_of(e)))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// As a JSON object, keys in order.
impl Serialize for ExtFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, String),
        Remove(String),
        Retain(char),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = "[a-e]{0,2}";
        prop_oneof![
            3 => (key, "[ -~]{0,5}").prop_map(|(k, v)| Op::Insert(k, v)),
            1 => key.prop_map(Op::Remove),
            1 => prop::sample::select(vec!['a', 'b', 'x']).prop_map(Op::Retain),
        ]
    }

    proptest! {
        /// Behaves as the sorted map it replaces.
        #[test]
        fn behaves_as_a_sorted_map(ops in prop::collection::vec(op(), 0..40)) {
            let (mut ext, mut model) = (ExtFields::new(), BTreeMap::<String, String>::new());
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        ext.insert(&k, &v);
                        model.insert(k, v);
                    }
                    Op::Remove(k) => prop_assert_eq!(ext.remove(&k), model.remove(&k)),
                    Op::Retain(c) => {
                        ext.retain(|k, v| !k.contains(c) && !v.contains(c));
                        model.retain(|k, v| !k.contains(c) && !v.contains(c));
                    }
                }
                let expected: Vec<(&str, &str)> = model.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                prop_assert_eq!(ext.iter().collect::<Vec<_>>(), expected);
                for k in ["", "a", "ab", "e", "z"] {
                    prop_assert_eq!(ext.get(k), model.get(k).map(String::as_str));
                    prop_assert_eq!(ext.contains_key(k), model.contains_key(k));
                }
            }
            let rebuilt: ExtFields = model.iter().collect();
            prop_assert_eq!(&rebuilt, &ext);
            prop_assert_eq!(serde_json::to_string(&ext).unwrap(), serde_json::to_string(&model).unwrap());
        }
    }
}
