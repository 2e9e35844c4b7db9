//! Evaluating a parsed selector against one message's properties, with
//! Java's semantics (4.9.8 `ComparisonExpression`, `LogicExpression`,
//! `UnaryExpression`):
//!
//! * three-valued logic: a missing property is NULL, a comparison with NULL
//!   is NULL, `NULL AND FALSE` is FALSE, `NULL OR TRUE` is TRUE, and only
//!   TRUE selects the message;
//! * property values are strings; compared with a number they are read as
//!   one of the number's type (`'5' = 5` holds, `'5.5' > 5` cannot be
//!   evaluated because 5 is an integer, `'5.5' > 5.0` holds);
//! * two strings compare with `<` … only as decimal numbers, and are equal
//!   when they are the same text;
//! * anything Java cannot evaluate (a number that does not parse, a type
//!   mix it has no rule for) makes the message not match.

use std::cmp::Ordering as Cmp;

use super::sql::{Expr, Ordering, Value};

/// Something Java would throw while evaluating; the message does not match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError(pub String);

/// Whether `expr` is TRUE for a message whose properties `property` looks up.
pub fn matches(expr: &Expr, property: &dyn Fn(&str) -> Option<String>) -> bool {
    matches!(evaluate(expr, property), Ok(Value::Bool(true)))
}

pub fn evaluate(expr: &Expr, property: &dyn Fn(&str) -> Option<String>) -> Result<Value, EvalError> {
    Ok(match expr {
        Expr::Constant(v) | Expr::BoolConstant(v) => v.clone(),
        Expr::Property(name) => property(name).map_or(Value::Null, Value::Str),
        Expr::Negate(inner) => match evaluate(inner, property)? {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Long(l) => Value::Long(l.wrapping_neg()),
            Value::Double(d) => Value::Double(-d),
            _ => Value::Null,
        },
        Expr::Not(inner) => match truth(evaluate(inner, property)?)? {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        Expr::BoolCast(inner) => match evaluate(inner, property)? {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            _ => Value::Bool(false),
        },
        Expr::Compare(ordering, left, right) => {
            let lv = evaluate(left, property)?;
            if lv == Value::Null {
                return Ok(Value::Null);
            }
            let rv = evaluate(right, property)?;
            if rv == Value::Null {
                return Ok(Value::Null);
            }
            let cmp = match (&lv, &rv) {
                (Value::Str(l), Value::Str(r)) => {
                    let (l, r) = match (parse_double(l), parse_double(r)) {
                        (Some(l), Some(r)) => (l, r),
                        _ => {
                            return Err(EvalError(format!(
                                "strings compared by <, <=, >, >= must be numbers: {l:?}, {r:?}"
                            )));
                        }
                    };
                    java_double_cmp(l, r)
                }
                _ => compare_values(&lv, &rv)?.unwrap_or(Cmp::Less),
            };
            Value::Bool(match ordering {
                Ordering::Less => cmp == Cmp::Less,
                Ordering::LessEqual => cmp != Cmp::Greater,
                Ordering::Greater => cmp == Cmp::Greater,
                Ordering::GreaterEqual => cmp != Cmp::Less,
            })
        }
        Expr::Equal(left, right) => {
            let lv = evaluate(left, property)?;
            let rv = evaluate(right, property)?;
            match (&lv, &rv) {
                (Value::Null, Value::Null) => Value::Bool(true),
                (Value::Null, _) => Value::Null,
                (_, Value::Null) => Value::Bool(false),
                _ if java_equals(&lv, &rv) => Value::Bool(true),
                _ => Value::Bool(compare_values(&lv, &rv)? == Some(Cmp::Equal)),
            }
        }
        Expr::In { property: name, values, negated } => match property(name) {
            None => Value::Null,
            Some(v) => Value::Bool(values.contains(&v) ^ negated),
        },
        Expr::And(left, right) => {
            let lv = truth(evaluate(left, property)?)?;
            if lv == Some(false) {
                return Ok(Value::Bool(false));
            }
            let rv = truth(evaluate(right, property)?)?;
            match (lv, rv) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        Expr::Or(left, right) => {
            let lv = truth(evaluate(left, property)?)?;
            if lv == Some(true) {
                return Ok(Value::Bool(true));
            }
            let rv = truth(evaluate(right, property)?)?;
            match (lv, rv) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
    })
}

/// A condition's value: TRUE, FALSE or NULL (`None`).
fn truth(v: Value) -> Result<Option<bool>, EvalError> {
    match v {
        Value::Bool(b) => Ok(Some(b)),
        Value::Null => Ok(None),
        other => Err(EvalError(format!("{other:?} is not a boolean"))),
    }
}

/// Java's `Object.equals` between two values: same type and same value.
fn java_equals(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Double(a), Value::Double(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
        _ => l == r,
    }
}

/// Java's `ComparisonExpression.__compare` with string conversion on: the
/// order of two non-NULL values. Types Java has no rule for compare as
/// "less" (`Some(Less)`), as Java's `-1`; a string that must be read as a
/// number and is not one is an error.
pub(crate) fn compare_values(l: &Value, r: &Value) -> Result<Option<Cmp>, EvalError> {
    use Value::*;
    let bad = |s: &str, what: &str| EvalError(format!("{s:?} is not {what}"));
    let ord = match (l, r) {
        (Null, _) | (_, Null) => return Ok(None),
        (Bool(a), Bool(b)) => a.cmp(b),
        (Bool(_), Str(_)) => return Err(EvalError("a boolean cannot be compared with a string".to_owned())),
        (Bool(_), _) => Cmp::Less,
        (Int(a), Int(b)) => a.cmp(b),
        (Int(a), Long(b)) => i64::from(*a).cmp(b),
        (Int(a), Double(b)) => java_double_cmp(f64::from(*a), *b),
        (Int(a), Str(s)) => a.cmp(&s.parse::<i32>().map_err(|_| bad(s, "an int"))?),
        (Long(a), Int(b)) => a.cmp(&i64::from(*b)),
        (Long(a), Long(b)) => a.cmp(b),
        (Long(a), Double(b)) => java_double_cmp(*a as f64, *b),
        (Long(a), Str(s)) => a.cmp(&s.parse::<i64>().map_err(|_| bad(s, "a long"))?),
        (Double(a), Int(b)) => java_double_cmp(*a, f64::from(*b)),
        (Double(a), Long(b)) => java_double_cmp(*a, *b as f64),
        (Double(a), Double(b)) => java_double_cmp(*a, *b),
        (Double(a), Str(s)) => java_double_cmp(*a, parse_double(s).ok_or_else(|| bad(s, "a double"))?),
        (Str(s), Bool(b)) => s.eq_ignore_ascii_case("true").cmp(b),
        (Str(s), Int(b)) => s.parse::<i32>().map_err(|_| bad(s, "an int"))?.cmp(b),
        (Str(s), Long(b)) => s.parse::<i64>().map_err(|_| bad(s, "a long"))?.cmp(b),
        (Str(s), Double(b)) => java_double_cmp(parse_double(s).ok_or_else(|| bad(s, "a double"))?, *b),
        (Str(a), Str(b)) => a.encode_utf16().cmp(b.encode_utf16()),
        (Int(_) | Long(_) | Double(_), Bool(_)) => Cmp::Less,
    };
    Ok(Some(ord))
}

/// `Double.compare`: numeric order, with -0.0 below 0.0 and NaN above all.
fn java_double_cmp(a: f64, b: f64) -> Cmp {
    if a < b {
        return Cmp::Less;
    }
    if a > b {
        return Cmp::Greater;
    }
    let bits = |v: f64| if v.is_nan() { 0x7ff8_0000_0000_0000_i64 } else { v.to_bits() as i64 };
    bits(a).cmp(&bits(b))
}

/// `Double.valueOf`: surrounding blanks allowed, an optional `f`/`d`
/// suffix, `NaN` and `Infinity` spelled Java's way.
fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let unsigned = t.trim_start_matches(['+', '-']);
    if unsigned == "NaN" || unsigned == "Infinity" {
        return t.replace("Infinity", "inf").parse().ok();
    }
    let t = t.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(t);
    if t.is_empty() || t.chars().any(|c| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))) {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::sql::parse;
    use super::*;
    use std::collections::HashMap;

    fn check(expr: &str, props: &[(&str, &str)]) -> bool {
        let map: HashMap<String, String> = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let e = parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        matches(&e, &|name| map.get(name).cloned())
    }

    /// Cases from Java's `ExpressionTest` semantics (4.9.8 filter module).
    #[test]
    fn comparisons_follow_java() {
        assert!(check("a = 5", &[("a", "5")]));
        assert!(check("a = '5'", &[("a", "5")]));
        assert!(!check("a = 5", &[("a", "5.0")]), "5 is an int: '5.0' does not parse as one");
        assert!(check("a = 5.0", &[("a", "5")]));
        assert!(check("a > 3", &[("a", "10")]));
        assert!(!check("a > 3", &[("a", "abc")]));
        assert!(check("a > 2.5", &[("a", "3")]));
        assert!(!check("a > 3", &[("a", "3.5")]));
        assert!(check("a >= 3000000000", &[("a", "3000000000")]));
        assert!(check("a < -1", &[("a", "-2")]));
        assert!(check("a BETWEEN 1 AND 3", &[("a", "3")]));
        assert!(!check("a BETWEEN 1 AND 3", &[("a", "4")]));
        assert!(check("a NOT BETWEEN 1 AND 3", &[("a", "4")]));
        assert!(check("a <> 'x'", &[("a", "y")]));
        assert!(!check("a <> 'x'", &[("a", "x")]));
        assert!(check("a = TRUE", &[("a", "TRUE")]));
        assert!(!check("a = TRUE", &[("a", "no")]));
        assert!(check("TAGS IN ('TagA', 'TagB')", &[("TAGS", "TagB")]));
        assert!(check("TAGS NOT IN ('TagA', 'TagB')", &[("TAGS", "TagC")]));
        assert!(!check("flag", &[("flag", "true")]), "a property is never a boolean");
    }

    #[test]
    fn missing_properties_are_null() {
        assert!(!check("a = 1", &[]));
        assert!(!check("a <> 1", &[]), "NOT NULL is NULL");
        assert!(!check("a > 1", &[]));
        assert!(!check("a IN ('x')", &[]));
        assert!(!check("a NOT IN ('x')", &[]));
        assert!(check("a IS NULL", &[]));
        assert!(!check("a IS NOT NULL", &[]));
        assert!(check("a IS NOT NULL", &[("a", "")]));
        assert!(check("a = 1 OR b = 2", &[("b", "2")]));
        assert!(!check("a = 1 AND b = 2", &[("b", "2")]));
        assert!(check("NOT (a = 1 AND b = 3)", &[("b", "2")]), "NULL AND FALSE is FALSE");
        assert!(!check("NOT (a = 1 OR b = 3)", &[("b", "2")]), "NULL OR FALSE is NULL");
        assert!(!check("NULL", &[]));
    }

    #[test]
    fn strings_compare_as_numbers_with_ordering_operators() {
        assert!(check("a > b", &[("a", "10"), ("b", "9")]));
        assert!(!check("a > b", &[("a", "b"), ("b", "a")]));
        assert!(check("a = b", &[("a", "x"), ("b", "x")]));
    }

    #[test]
    fn java_number_parsing() {
        assert_eq!(parse_double(" 1.5f "), Some(1.5));
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_double("NaN").unwrap().is_nan());
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double("1,5"), None);
        assert_eq!(java_double_cmp(-0.0, 0.0), Cmp::Less);
        assert_eq!(java_double_cmp(f64::NAN, f64::INFINITY), Cmp::Greater);
    }
}
