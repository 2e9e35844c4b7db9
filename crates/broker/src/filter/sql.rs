//! The SQL92 selector language of RocketMQ's `filter` module (4.9.8
//! `SelectorParser.jj`, a JMS selector subset), parsed by hand.
//!
//! Grammar, loosest binding first (keywords are case-insensitive):
//!
//! ```text
//! or         := and (OR and)*
//! and        := equality (AND equality)*
//! equality   := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( ('>' | '>=' | '<' | '<=') unary
//!                     | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN '(' string (',' string)* ')' )*
//! unary      := '+' unary | '-' unary | NOT unary | primary
//! primary    := literal | identifier | '(' or ')'
//! literal    := 'string' | decimal | float | TRUE | FALSE | NULL
//! ```
//!
//! Note that `NOT` binds tighter than comparisons, as in Java: `NOT a = 1`
//! means `(NOT a) = 1`; write `NOT (a = 1)`. The checks Java makes while
//! building the tree are made here too, so that an expression Java refuses
//! at subscription time is refused here: a `NULL` operand of `=`, a string
//! or boolean operand of `<`, `>` …, `BETWEEN` bounds in the wrong order, `IN`
//! on anything but a property, and a non-boolean where a condition is due.

use std::fmt;

/// A constant, or the value of an expression for one message.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL's unknown: a missing property, or a comparison with one.
    Null,
    Bool(bool),
    /// Decimal literals that fit in 32 bits (Java narrows them to `Integer`).
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
}

/// `<`, `<=`, `>`, `>=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ordering {
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

/// A parsed selector.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A string or numeric literal.
    Constant(Value),
    /// `TRUE`, `FALSE` or `NULL`: constants that are also conditions.
    BoolConstant(Value),
    Property(String),
    Negate(Box<Expr>),
    Not(Box<Expr>),
    /// A property where a condition is due: true only for a boolean value,
    /// which a message property (always a string) never is.
    BoolCast(Box<Expr>),
    Compare(Ordering, Box<Expr>, Box<Expr>),
    Equal(Box<Expr>, Box<Expr>),
    In {
        property: String,
        values: Vec<String>,
        negated: bool,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Java's `BooleanExpression`: a condition.
    fn is_condition(&self) -> bool {
        !matches!(self, Expr::Constant(_) | Expr::Property(_) | Expr::Negate(_))
    }

    fn constant(&self) -> Option<&Value> {
        match self {
            Expr::Constant(v) | Expr::BoolConstant(v) => Some(v),
            _ => None,
        }
    }
}

/// Why an expression was refused, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    /// Character position (0-based) in the expression.
    pub at: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid MessageSelector. {} (at character {})", self.message, self.at + 1)
    }
}

impl std::error::Error for ParseError {}

/// Nesting levels (parentheses, NOT, signs) a selector may hold, and
/// operators in all. Java has no such limits but survives a stack overflow;
/// in Rust one aborts the process, so a selector of 100,000 `(` or a chain
/// of 100,000 ANDs must be refused before parsing, evaluating or dropping it
/// recurses that deep. Real selectors hold a handful (IN lists count once).
const MAX_NESTING: usize = 32;
const MAX_OPERATORS: usize = 1_000;

/// Parses a selector into a condition. As Java's parser, it stops after the
/// first complete expression: trailing tokens that lex are ignored (and
/// logged), so a selector Java accepts is accepted here too.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = lex(text)?;
    let mut p = Parser { tokens, pos: 0, end: text.chars().count(), operators: 0, nesting: 0 };
    let expr = p.or()?;
    if let Some(t) = p.tokens.get(p.pos) {
        tracing::warn!("SQL92 selector {text:?}: text from character {} on ignored, as Java does", t.at + 1);
    }
    p.condition(expr, 0)
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Decimal(String),
    Float(String),
    Str(String),
    Id(String),
    Op(&'static str),
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Not => f.write_str("NOT"),
            Kind::And => f.write_str("AND"),
            Kind::Or => f.write_str("OR"),
            Kind::Between => f.write_str("BETWEEN"),
            Kind::In => f.write_str("IN"),
            Kind::True => f.write_str("TRUE"),
            Kind::False => f.write_str("FALSE"),
            Kind::Null => f.write_str("NULL"),
            Kind::Is => f.write_str("IS"),
            Kind::Decimal(s) | Kind::Float(s) => write!(f, "number {s}"),
            Kind::Str(s) => write!(f, "string '{s}'"),
            Kind::Id(s) => write!(f, "identifier {s}"),
            Kind::Op(s) => write!(f, "'{s}'"),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    at: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let err = |message: String, at: usize| Err(ParseError { message, at });
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}') {
            i += 1;
            continue;
        }
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut j = i + 2;
            loop {
                if j + 1 >= chars.len() {
                    return err("unterminated comment".to_owned(), start);
                }
                if chars[j] == '*' && chars[j + 1] == '/' {
                    break;
                }
                j += 1;
            }
            i = j + 2;
            continue;
        }
        if c == '\'' {
            let mut value = String::new();
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return err("unterminated string".to_owned(), start),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        value.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(ch) => {
                        value.push(*ch);
                        j += 1;
                    }
                }
            }
            tokens.push(Token { kind: Kind::Str(value), at: start });
            i = j + 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let (kind, len) = number(&chars[i..]);
            tokens.push(Token { kind, at: start });
            i += len;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == '$') {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            let kind = match word.to_ascii_uppercase().as_str() {
                "NOT" => Kind::Not,
                "AND" => Kind::And,
                "OR" => Kind::Or,
                "BETWEEN" => Kind::Between,
                "IN" => Kind::In,
                "TRUE" => Kind::True,
                "FALSE" => Kind::False,
                "NULL" => Kind::Null,
                "IS" => Kind::Is,
                _ => Kind::Id(word),
            };
            tokens.push(Token { kind, at: start });
            i = j;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match two.as_str() {
            "<>" => Some("<>"),
            ">=" => Some(">="),
            "<=" => Some("<="),
            _ => None,
        };
        if let Some(op) = op {
            tokens.push(Token { kind: Kind::Op(op), at: start });
            i += 2;
            continue;
        }
        let op = match c {
            '=' => "=",
            '>' => ">",
            '<' => "<",
            '(' => "(",
            ')' => ")",
            ',' => ",",
            '+' => "+",
            '-' => "-",
            _ => return err(format!("unexpected character '{c}'"), start),
        };
        tokens.push(Token { kind: Kind::Op(op), at: start });
        i += 1;
    }
    Ok(tokens)
}

/// The longest number at the start of `s`: a decimal (`0`, `12`, `12L`) or a
/// float (`1.5`, `1.`, `.5`, `1e3`, `1.5E-3`), and its length in chars.
fn number(s: &[char]) -> (Kind, usize) {
    let digits = |from: usize| s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_len = digits(0);
    let mut len = int_len;
    let mut float = false;
    if s.get(len) == Some(&'.') {
        float = true;
        len += 1 + digits(len + 1);
    }
    if matches!(s.get(len), Some('e' | 'E')) {
        let mut j = len + 1;
        if matches!(s.get(j), Some('+' | '-')) {
            j += 1;
        }
        let exp = digits(j);
        if exp > 0 {
            float = true;
            len = j + exp;
        }
    }
    if float {
        return (Kind::Float(s[..len].iter().collect()), len);
    }
    // Java's decimal literal is "0" or a non-zero digit followed by digits:
    // "012" is the literal 0 followed by 12 (and then a syntax error).
    let len = if s[0] == '0' { 1 } else { int_len };
    let mut text: String = s[..len].iter().collect();
    let mut total = len;
    if matches!(s.get(len), Some('l' | 'L')) {
        text.push('L');
        total += 1;
    }
    (Kind::Decimal(text), total)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    /// Operators met so far (see [`MAX_OPERATORS`]).
    operators: usize,
    /// Nesting levels open at this point (see [`MAX_NESTING`]).
    nesting: usize,
}

impl Parser {
    /// Counts one operator; past [`MAX_OPERATORS`] the selector is refused,
    /// which bounds the depth of the tree and of every recursion over it.
    fn operator(&mut self) -> Result<(), ParseError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return self.error(format!("more than {MAX_OPERATORS} operators"));
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn peek2(&self) -> Option<&Kind> {
        self.tokens.get(self.pos + 1).map(|t| &t.kind)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.at)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { message: message.into(), at: self.at() })
    }

    fn eat(&mut self, kind: &Kind) -> bool {
        if self.peek() == Some(kind) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: &Kind) -> Result<(), ParseError> {
        if self.eat(kind) {
            return Ok(());
        }
        match self.peek() {
            Some(found) => self.error(format!("expected {kind} but found {found}")),
            None => self.error(format!("expected {kind} at the end")),
        }
    }

    /// Java's `asBooleanExpression`: conditions pass, properties become
    /// boolean casts, anything else is refused.
    fn condition(&self, e: Expr, at: usize) -> Result<Expr, ParseError> {
        match e {
            e if e.is_condition() => Ok(e),
            Expr::Property(_) => Ok(Expr::BoolCast(Box::new(e))),
            other => Err(ParseError { message: format!("{other:?} will not result in a boolean value"), at }),
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let at = self.at();
        let mut left = self.and()?;
        while self.eat(&Kind::Or) {
            self.operator()?;
            let right_at = self.at();
            let right = self.and()?;
            left = Expr::Or(Box::new(self.condition(left, at)?), Box::new(self.condition(right, right_at)?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let at = self.at();
        let mut left = self.equality()?;
        while self.eat(&Kind::And) {
            self.operator()?;
            let right_at = self.at();
            let right = self.equality()?;
            left = Expr::And(Box::new(self.condition(left, at)?), Box::new(self.condition(right, right_at)?));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.comparison()?;
        loop {
            let at = self.at();
            if matches!(self.peek(), Some(Kind::Op("=" | "<>") | Kind::Is)) {
                self.operator()?;
            }
            if self.eat(&Kind::Op("=")) {
                let right = self.comparison()?;
                left = equal(left, right, at)?;
            } else if self.eat(&Kind::Op("<>")) {
                let right = self.comparison()?;
                left = Expr::Not(Box::new(equal(left, right, at)?));
            } else if self.peek() == Some(&Kind::Is) && self.peek2() == Some(&Kind::Null) {
                self.pos += 2;
                left = Expr::Equal(Box::new(left), Box::new(Expr::BoolConstant(Value::Null)));
            } else if self.peek() == Some(&Kind::Is) {
                self.pos += 1;
                self.expect(&Kind::Not)?;
                self.expect(&Kind::Null)?;
                left = Expr::Not(Box::new(Expr::Equal(Box::new(left), Box::new(Expr::BoolConstant(Value::Null)))));
            } else {
                return Ok(left);
            }
        }
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let at = self.at();
            let ordering = match self.peek() {
                Some(Kind::Op(">")) => Some(Ordering::Greater),
                Some(Kind::Op(">=")) => Some(Ordering::GreaterEqual),
                Some(Kind::Op("<")) => Some(Ordering::Less),
                Some(Kind::Op("<=")) => Some(Ordering::LessEqual),
                _ => None,
            };
            if ordering.is_some() || matches!(self.peek(), Some(Kind::Between | Kind::In | Kind::Not)) {
                self.operator()?;
            }
            if let Some(ordering) = ordering {
                self.pos += 1;
                let right = self.unary()?;
                left = compare(ordering, left, right, at)?;
                continue;
            }
            let negated = self.peek() == Some(&Kind::Not) && matches!(self.peek2(), Some(Kind::Between | Kind::In));
            if negated {
                self.pos += 1;
            }
            if self.eat(&Kind::Between) {
                let low = self.unary()?;
                self.expect(&Kind::And)?;
                let high = self.unary()?;
                left = if negated { not_between(left, low, high, at)? } else { between(left, low, high, at)? };
            } else if self.eat(&Kind::In) {
                let values = self.string_list()?;
                let Expr::Property(property) = left else {
                    return Err(ParseError { message: format!("expected a property for IN, got {left:?}"), at });
                };
                left = Expr::In { property, values, negated };
            } else {
                return Ok(left);
            }
        }
    }

    fn string_list(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect(&Kind::Op("("))?;
        let mut values = Vec::new();
        loop {
            match self.peek() {
                Some(Kind::Str(s)) => {
                    values.push(s.clone());
                    self.pos += 1;
                }
                _ => return self.error("IN lists hold string literals only"),
            }
            if !self.eat(&Kind::Op(",")) {
                break;
            }
        }
        self.expect(&Kind::Op(")"))?;
        Ok(values)
    }

    /// A unary operand; each sign, NOT or parenthesis opens a nesting level
    /// (the parser recurses through it).
    fn unary(&mut self) -> Result<Expr, ParseError> {
        let nests = matches!(self.peek(), Some(Kind::Op("+" | "-" | "(") | Kind::Not));
        if !nests {
            return self.primary();
        }
        self.operator()?;
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return self.error(format!("more than {MAX_NESTING} nesting levels"));
        }
        let operand = self.nested_unary();
        self.nesting -= 1;
        operand
    }

    fn nested_unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat(&Kind::Op("+")) {
            return self.unary();
        }
        if self.eat(&Kind::Op("-")) {
            return Ok(Expr::Negate(Box::new(self.unary()?)));
        }
        if self.eat(&Kind::Not) {
            let operand_at = self.at();
            let operand = self.unary()?;
            return Ok(Expr::Not(Box::new(self.condition(operand, operand_at)?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let Some(token) = self.tokens.get(self.pos).cloned() else {
            return self.error("unexpected end of the expression");
        };
        self.pos += 1;
        let expr = match token.kind {
            Kind::Str(s) => Expr::Constant(Value::Str(s)),
            Kind::Decimal(text) => Expr::Constant(decimal(&text, token.at)?),
            Kind::Float(text) => Expr::Constant(float(&text, token.at)?),
            Kind::True => Expr::BoolConstant(Value::Bool(true)),
            Kind::False => Expr::BoolConstant(Value::Bool(false)),
            Kind::Null => Expr::BoolConstant(Value::Null),
            Kind::Id(name) => Expr::Property(name),
            Kind::Op("(") => {
                let inner = self.or()?;
                self.expect(&Kind::Op(")"))?;
                inner
            }
            other => return Err(ParseError { message: format!("unexpected {other}"), at: token.at }),
        };
        Ok(expr)
    }
}

/// A decimal literal: `Integer` when it fits in 32 bits, else `Long`.
fn decimal(text: &str, at: usize) -> Result<Value, ParseError> {
    let digits = text.trim_end_matches(['l', 'L']);
    let n: i64 =
        digits.parse().map_err(|_| ParseError { message: format!("{text} is out of the range of a long"), at })?;
    Ok(i32::try_from(n).map_or(Value::Long(n), Value::Int))
}

fn float(text: &str, at: usize) -> Result<Value, ParseError> {
    let v: f64 = text.parse().map_err(|_| ParseError { message: format!("{text} is not a number"), at })?;
    if v.is_infinite() {
        return Err(ParseError { message: format!("{text} is greater than {}", f64::MAX), at });
    }
    Ok(Value::Double(v))
}

/// `=`: neither side may be the `NULL` literal (use `IS NULL`), and
/// `TRUE = 5` is refused as Java refuses it.
fn equal(left: Expr, right: Expr, at: usize) -> Result<Expr, ParseError> {
    for side in [&left, &right] {
        if side.constant() == Some(&Value::Null) {
            return Err(ParseError { message: "NULL cannot be compared, use IS NULL".to_owned(), at });
        }
    }
    if matches!(left, Expr::BoolConstant(_)) && matches!(right, Expr::Constant(_)) {
        return Err(ParseError { message: format!("{left:?} cannot be compared with {right:?}"), at });
    }
    Ok(Expr::Equal(Box::new(left), Box::new(right)))
}

/// `<`, `<=`, `>`, `>=`: constants must be numbers, conditions are refused.
fn compare(ordering: Ordering, left: Expr, right: Expr, at: usize) -> Result<Expr, ParseError> {
    for side in [&left, &right] {
        let ok = match side.constant() {
            Some(v) => matches!(v, Value::Int(_) | Value::Long(_) | Value::Double(_)),
            None => !side.is_condition(),
        };
        if !ok {
            return Err(ParseError { message: format!("value {side:?} cannot be compared"), at });
        }
    }
    Ok(Expr::Compare(ordering, Box::new(left), Box::new(right)))
}

/// `x BETWEEN low AND high` = `x >= low AND x <= high`; constant bounds must
/// be in order.
fn between(value: Expr, low: Expr, high: Expr, at: usize) -> Result<Expr, ParseError> {
    if let (Some(lv), Some(hv)) = (low.constant(), high.constant()) {
        if *lv == Value::Null || *hv == Value::Null {
            return Err(ParseError { message: "the bounds of BETWEEN cannot be NULL".to_owned(), at });
        }
        if let Ok(Some(std::cmp::Ordering::Less)) = super::eval::compare_values(hv, lv) {
            return Err(ParseError {
                message: format!("the low bound of BETWEEN ({lv:?}) is greater than the high bound ({hv:?})"),
                at,
            });
        }
    }
    let lower = compare(Ordering::GreaterEqual, value.clone(), low, at)?;
    let upper = compare(Ordering::LessEqual, value, high, at)?;
    Ok(Expr::And(Box::new(lower), Box::new(upper)))
}

/// `x NOT BETWEEN low AND high` = `x < low OR x > high`.
fn not_between(value: Expr, low: Expr, high: Expr, at: usize) -> Result<Expr, ParseError> {
    let below = compare(Ordering::Less, value.clone(), low, at)?;
    let above = compare(Ordering::Greater, value, high, at)?;
    Ok(Expr::Or(Box::new(below), Box::new(above)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str) -> Box<Expr> {
        Box::new(Expr::Property(name.to_owned()))
    }

    fn int(v: i32) -> Box<Expr> {
        Box::new(Expr::Constant(Value::Int(v)))
    }

    #[test]
    fn precedence_and_keywords_follow_the_java_grammar() {
        let e = parse("a > 1 and b = 'x' OR c IS NOT NULL").unwrap();
        let expected = Expr::Or(
            Box::new(Expr::And(
                Box::new(Expr::Compare(Ordering::Greater, prop("a"), int(1))),
                Box::new(Expr::Equal(prop("b"), Box::new(Expr::Constant(Value::Str("x".into()))))),
            )),
            Box::new(Expr::Not(Box::new(Expr::Equal(prop("c"), Box::new(Expr::BoolConstant(Value::Null)))))),
        );
        assert_eq!(e, expected);
        assert_eq!(
            parse("a between 1 AND 3").unwrap(),
            Expr::And(
                Box::new(Expr::Compare(Ordering::GreaterEqual, prop("a"), int(1))),
                Box::new(Expr::Compare(Ordering::LessEqual, prop("a"), int(3))),
            )
        );
        assert_eq!(
            parse("a NOT IN ('x', 'it''s')").unwrap(),
            Expr::In { property: "a".into(), values: vec!["x".into(), "it's".into()], negated: true }
        );
        assert_eq!(parse("flag").unwrap(), Expr::BoolCast(prop("flag")));
        assert_eq!(parse("TRUE").unwrap(), Expr::BoolConstant(Value::Bool(true)));
    }

    #[test]
    fn literals() {
        let c = |s: &str| match parse(&format!("a = {s}")).unwrap() {
            Expr::Equal(_, right) => *right,
            other => panic!("{other:?}"),
        };
        assert_eq!(c("7"), Expr::Constant(Value::Int(7)));
        assert_eq!(c("7L"), Expr::Constant(Value::Int(7)));
        assert_eq!(c("3000000000"), Expr::Constant(Value::Long(3_000_000_000)));
        assert_eq!(c("1.5"), Expr::Constant(Value::Double(1.5)));
        assert_eq!(c(".5e1"), Expr::Constant(Value::Double(5.0)));
        assert_eq!(c("2E3"), Expr::Constant(Value::Double(2000.0)));
        assert_eq!(c("-2"), Expr::Negate(int(2)));
        assert_eq!(c("+2"), Expr::Constant(Value::Int(2)));
        assert_eq!(c("''''"), Expr::Constant(Value::Str("'".into())));
        assert!(parse("a = 1 -- trailing comment\n").is_ok());
        assert!(parse("a /* note */ = 1").is_ok());
    }

    /// Expressions Java's `SelectorParser` refuses at subscription time.
    #[test]
    fn java_refusals() {
        for bad in [
            "",
            "a =",
            "a = NULL",
            "NULL = a",
            "a > 'x'",
            "a > TRUE",
            "(a > 1) > 2",
            "a BETWEEN 3 AND 1",
            "a BETWEEN NULL AND 1",
            "a BETWEEN 'a' AND 'b'",
            "'x' IN ('x')",
            "a IN (1, 2)",
            "a IN ()",
            "NOT a > 5",
            "5",
            "'x'",
            "a AND 5",
            "a == 1",
            "a != 1",
            "a = 'unterminated",
            "a = 99999999999999999999",
            "(a = 1",
            "TRUE = 1",
            "a.b = 1",
            "a = 1e999",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        let e = parse("a = 1 AND (b > ").unwrap_err();
        assert_eq!(e.at, 15);
        assert!(e.to_string().starts_with("Invalid MessageSelector. "));
    }

    #[test]
    fn java_acceptances() {
        for good in [
            "a = 1",
            "1 = a",
            "a <> 'x'",
            "a IS NULL",
            "a is not null",
            "a >= -1.5",
            "a NOT BETWEEN 1 AND 2",
            "a between -1 and -3",
            "NOT (a = 1)",
            "NOT a",
            "a AND b OR NOT c",
            "5 = TRUE",
            "a = TRUE",
            "$x_1 = 'y'",
            "TAGS IN ('TagA', 'TagB')",
            "NULL",
            "a IN ('1','2','3','4','5','6')",
            // Java refuses this one (its float constants must be positive);
            // rmq is the more lenient here.
            "a > 0.0",
            // Java stops after the first complete expression.
            "a = 1 b = 2",
            "(a = 1))",
            // LIKE is no keyword of RocketMQ's grammar: Java reads `a` and
            // ignores the rest.
            "a LIKE 'x%'",
            // `0` then `12`: Java reads `a = 0`.
            "a = 012",
        ] {
            assert!(parse(good).is_ok(), "{good:?} should parse: {:?}", parse(good));
        }
        // What was ignored does not take part.
        assert_eq!(parse("a = 1 b = 2").unwrap(), parse("a = 1").unwrap());
    }

    #[test]
    fn deep_or_long_selectors_are_refused_not_a_crash() {
        let deep = format!("{}a = 1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).unwrap_err().message.contains("nesting levels"));
        let negations = format!("{}a", "NOT ".repeat(100_000));
        assert!(parse(&negations).is_err());
        let chain = vec!["a = 1"; 100_000].join(" AND ");
        assert!(parse(&chain).is_err());
        // A long IN list is no nesting.
        let tags: Vec<String> = (0..5_000).map(|i| format!("'t{i}'")).collect();
        assert!(parse(&format!("TAGS IN ({})", tags.join(","))).is_ok());
        let many = vec!["a = 1"; 100].join(" OR ");
        assert!(parse(&many).is_ok());
    }
}
