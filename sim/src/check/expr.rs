//! The check expression language: parsing with spans, so an error can
//! point at the part of the expression it is about.
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/") unary)*
//! unary   := "-" unary | atom
//! atom    := number [unit] | "string" | true | false | null
//!          | name "(" expr ["where" expr] ("," expr)* ")"
//!          | name ("." name)*
//!          | "(" expr ")"
//! ```
//!
//! Units after a number are durations in seconds (`s`, `m`/`min`, `h`,
//! `d`, `w`) or a percent (`%`: `5%` is 0.05).

use std::fmt;

/// A byte range of the expression text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A parse or evaluation error at a place in the expression.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// Where in the expression.
    pub span: Span,
    /// What is wrong.
    pub message: String,
}

impl ExprError {
    /// An error at `span`.
    pub fn at(span: Span, message: impl Into<String>) -> ExprError {
        ExprError {
            span,
            message: message.into(),
        }
    }

    /// The expression with a caret line under the span and the message,
    /// e.g. for `mean(nodes.profit where x == 1)`:
    ///
    /// ```text
    /// mean(nodes.profit where x == 1)
    ///                         ^ nodes.arrow has no column `x`
    /// ```
    pub fn show(&self, text: &str) -> String {
        let start = text[..self.span.start.min(text.len())].chars().count();
        let width = text[self.span.start.min(text.len())..self.span.end.min(text.len())]
            .chars()
            .count()
            .max(1);
        format!(
            "{text}\n{}{} {}",
            " ".repeat(start),
            "^".repeat(width),
            self.message
        )
    }
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `and`
    And,
    /// `or`
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    /// Whether it compares two values.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne
        )
    }
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number (durations in seconds, percents as fractions).
    Num(f64, Span),
    /// A string literal.
    Str(String, Span),
    /// `true` or `false`.
    Bool(bool, Span),
    /// `null`.
    Null(Span),
    /// A dotted name: `epochs.nakamoto_51`, `summary.economy.final_gini`,
    /// or (inside an aggregate) a bare column `behaviour`.
    Name(Vec<String>, Span),
    /// `-x`.
    Neg(Box<Expr>, Span),
    /// `not x`.
    Not(Box<Expr>, Span),
    /// `a op b`.
    Bin(BinOp, Box<Expr>, Box<Expr>, Span),
    /// `f(args)` or `f(x where cond)`.
    Call {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// The `where` condition of the first argument.
        filter: Option<Box<Expr>>,
        /// The whole call.
        span: Span,
        /// The function name.
        name_span: Span,
    },
}

impl Expr {
    /// Where the expression stands in the text.
    pub fn span(&self) -> Span {
        match self {
            Expr::Num(_, s)
            | Expr::Str(_, s)
            | Expr::Bool(_, s)
            | Expr::Null(s)
            | Expr::Name(_, s)
            | Expr::Neg(_, s)
            | Expr::Not(_, s)
            | Expr::Bin(_, _, _, s) => *s,
            Expr::Call { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Sym(&'static str),
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Num(x) => write!(f, "the number {x}"),
            Tok::Str(s) => write!(f, "the string \"{s}\""),
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Sym(s) => write!(f, "`{s}`"),
            Tok::End => write!(f, "the end of the expression"),
        }
    }
}

/// Longest expression text accepted.
pub const MAX_EXPR_BYTES: usize = 4096;
/// Most tokens an expression may have (bounds the depth of operator chains).
const MAX_TOKENS: usize = 512;
/// Deepest nesting accepted (parentheses, calls, operators).
const MAX_DEPTH: usize = 64;

fn lex(text: &str) -> Result<Vec<(Tok, Span)>, ExprError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let after_name = matches!(out.last(), Some((Tok::Ident(_), _)));
        let after_dot = matches!(out.last(), Some((Tok::Sym("."), _)));
        // A name, or a key made of digits inside a dotted name
        // (`accuracy_targets.90`).
        if c.is_ascii_alphabetic() || c == b'_' || (after_dot && c.is_ascii_digit()) {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((
                Tok::Ident(text[start..i].to_string()),
                Span { start, end: i },
            ));
            continue;
        }
        if c.is_ascii_digit()
            || (c == b'.' && !after_name && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    i = j;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let digits: String = text[start..i].chars().filter(|&c| c != '_').collect();
            let mut x: f64 = digits.parse().map_err(|_| {
                ExprError::at(
                    Span { start, end: i },
                    format!("`{}` is not a number", &text[start..i]),
                )
            })?;
            // A unit right after the number.
            let unit_start = i;
            while i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'%') {
                i += 1;
            }
            let unit = &text[unit_start..i];
            x *= match unit {
                "" => 1.0,
                "%" => 0.01,
                "s" => 1.0,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                "d" => 86_400.0,
                "w" => 604_800.0,
                _ => {
                    return Err(ExprError::at(
                        Span {
                            start: unit_start,
                            end: i,
                        },
                        format!("unknown unit `{unit}` (durations: s, m, h, d, w; or %)"),
                    ));
                }
            };
            out.push((Tok::Num(x), Span { start, end: i }));
            continue;
        }
        if c == b'"' || c == b'\'' {
            let quote = c;
            i += 1;
            let mut s = String::new();
            loop {
                match text[i..].chars().next() {
                    None => {
                        return Err(ExprError::at(
                            Span {
                                start,
                                end: text.len(),
                            },
                            "this string has no closing quote",
                        ));
                    }
                    Some(ch) if ch as u32 == u32::from(quote) => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push((Tok::Str(s), Span { start, end: i }));
            continue;
        }
        let two = text.get(i..i + 2).unwrap_or("");
        let sym: &'static str = match two {
            "<=" => "<=",
            ">=" => ">=",
            "==" => "==",
            "!=" => "!=",
            "&&" => "and",
            "||" => "or",
            _ => match c {
                b'<' => "<",
                b'>' => ">",
                b'+' => "+",
                b'-' => "-",
                b'*' => "*",
                b'/' => "/",
                b'(' => "(",
                b')' => ")",
                b',' => ",",
                b'.' => ".",
                b'!' => "not",
                b'=' => {
                    return Err(ExprError::at(
                        Span { start, end: i + 1 },
                        "`=` is not an operator; compare with `==`",
                    ));
                }
                _ => {
                    let ch = text[i..].chars().next().unwrap_or('?');
                    return Err(ExprError::at(
                        Span {
                            start,
                            end: i + ch.len_utf8(),
                        },
                        format!("unexpected `{ch}`"),
                    ));
                }
            },
        };
        i += if matches!(sym, "<=" | ">=" | "==" | "!=") || two == "&&" || two == "||" {
            2
        } else {
            1
        };
        out.push((Tok::Sym(sym), Span { start, end: i }));
    }
    out.push((
        Tok::End,
        Span {
            start: text.len(),
            end: text.len(),
        },
    ));
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, Span)>,
    pos: usize,
    depth: usize,
}

/// Parses a check expression.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    if text.len() > MAX_EXPR_BYTES {
        return Err(ExprError::at(
            Span { start: 0, end: 0 },
            format!("the expression is longer than {MAX_EXPR_BYTES} bytes"),
        ));
    }
    let toks = lex(text)?;
    if toks.len() > MAX_TOKENS {
        return Err(ExprError::at(
            Span { start: 0, end: 0 },
            format!(
                "the expression has more than {MAX_TOKENS} parts; split it into several checks"
            ),
        ));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.expr()?;
    match p.peek() {
        Tok::End => Ok(e),
        t => Err(ExprError::at(
            p.span(),
            format!("unexpected {t} after a complete expression"),
        )),
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn span(&self) -> Span {
        self.toks[self.pos].1
    }

    fn bump(&mut self) -> (Tok, Span) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(x) if x == w)
    }

    fn expect_sym(&mut self, s: &str, what: &str) -> Result<Span, ExprError> {
        if self.is_sym(s) {
            Ok(self.bump().1)
        } else {
            Err(ExprError::at(
                self.span(),
                format!("expected `{s}` {what}, found {}", self.peek()),
            ))
        }
    }

    fn deeper(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::at(
                self.span(),
                "the expression is nested too deeply",
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        self.deeper()?;
        let e = self.or();
        self.depth -= 1;
        e
    }

    fn binary(
        &mut self,
        next: fn(&mut Parser) -> Result<Expr, ExprError>,
        ops: &[(&str, BinOp)],
    ) -> Result<Expr, ExprError> {
        let mut left = next(self)?;
        loop {
            let op = ops.iter().find(|(s, _)| {
                self.is_sym(s) || (s.chars().all(char::is_alphabetic) && self.is_word(s))
            });
            let Some(&(_, op)) = op else {
                return Ok(left);
            };
            self.bump();
            let right = next(self)?;
            let span = Span {
                start: left.span().start,
                end: right.span().end,
            };
            left = Expr::Bin(op, Box::new(left), Box::new(right), span);
            if op.is_comparison() && self.comparison_next() {
                return Err(ExprError::at(
                    self.span(),
                    "comparisons do not chain; join them with `and`",
                ));
            }
        }
    }

    fn comparison_next(&self) -> bool {
        ["<", "<=", ">", ">=", "==", "!="]
            .iter()
            .any(|s| self.is_sym(s))
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.binary(Parser::and, &[("or", BinOp::Or)])
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        self.binary(Parser::not, &[("and", BinOp::And)])
    }

    /// A prefix operator just read at `s`: its operand, then `make`.
    fn prefix(
        &mut self,
        s: Span,
        operand: fn(&mut Parser) -> Result<Expr, ExprError>,
        make: fn(Box<Expr>, Span) -> Expr,
    ) -> Result<Expr, ExprError> {
        self.deeper()?;
        let inner = operand(self)?;
        self.depth -= 1;
        let span = Span {
            start: s.start,
            end: inner.span().end,
        };
        Ok(make(Box::new(inner), span))
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.is_word("not") || self.is_sym("not") {
            let (_, s) = self.bump();
            return self.prefix(s, Parser::not, Expr::Not);
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, ExprError> {
        self.binary(
            Parser::sum,
            &[
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
        )
    }

    fn sum(&mut self) -> Result<Expr, ExprError> {
        self.binary(Parser::product, &[("+", BinOp::Add), ("-", BinOp::Sub)])
    }

    fn product(&mut self) -> Result<Expr, ExprError> {
        self.binary(Parser::unary, &[("*", BinOp::Mul), ("/", BinOp::Div)])
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.is_sym("-") {
            let (_, s) = self.bump();
            return self.prefix(s, Parser::unary, Expr::Neg);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ExprError> {
        let (tok, span) = self.bump();
        match tok {
            Tok::Num(x) => Ok(Expr::Num(x, span)),
            Tok::Str(s) => Ok(Expr::Str(s, span)),
            Tok::Sym("(") => {
                let e = self.expr()?;
                self.expect_sym(")", "to close `(`")?;
                Ok(e)
            }
            Tok::Ident(w) if w == "true" || w == "false" => Ok(Expr::Bool(w == "true", span)),
            Tok::Ident(w) if w == "null" => Ok(Expr::Null(span)),
            Tok::Ident(w) if matches!(w.as_str(), "and" | "or" | "where" | "not") => Err(
                ExprError::at(span, format!("expected a value before `{w}`")),
            ),
            Tok::Ident(name) if self.is_sym("(") => {
                self.bump();
                let mut args = Vec::new();
                let mut filter = None;
                if !self.is_sym(")") {
                    loop {
                        args.push(self.expr()?);
                        if args.len() == 1 && self.is_word("where") {
                            self.bump();
                            filter = Some(Box::new(self.expr()?));
                        }
                        if self.is_sym(",") {
                            self.bump();
                            continue;
                        }
                        break;
                    }
                }
                let close = self.expect_sym(")", &format!("to close `{name}(`"))?;
                Ok(Expr::Call {
                    name,
                    args,
                    filter,
                    span: Span {
                        start: span.start,
                        end: close.end,
                    },
                    name_span: span,
                })
            }
            Tok::Ident(first) => {
                let mut parts = vec![first];
                let mut end = span.end;
                while self.is_sym(".") {
                    self.bump();
                    match self.bump() {
                        (Tok::Ident(w), s) => {
                            parts.push(w);
                            end = s.end;
                        }
                        (t, s) => {
                            return Err(ExprError::at(
                                s,
                                format!("expected a name after `.`, found {t}"),
                            ));
                        }
                    }
                }
                Ok(Expr::Name(
                    parts,
                    Span {
                        start: span.start,
                        end,
                    },
                ))
            }
            t => Err(ExprError::at(span, format!("expected a value, found {t}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text).unwrap_err().show(text)
    }

    #[test]
    fn parses_the_documented_examples() {
        for text in [
            "final(epochs.nakamoto_51) >= 4",
            "all(rounds.cost_usd <= 1.5 * rounds.cloud_cost_usd)",
            "mean(nodes.profit_usd where behaviour == \"lazy\") < mean(nodes.profit_usd where behaviour == \"honest\")",
            "time_to_accuracy(0.9) < 2h",
            "summary.rounds.accuracy_targets.90.time_s <= 1d and not run.stopped_by == 'no_operators'",
            "-x + 2 * (3 - y) / 4 != 5%",
        ] {
            parse(text).unwrap_or_else(|e| panic!("{}", e.show(text)));
        }
        let e = parse("a + b * c < 2h").unwrap();
        let Expr::Bin(BinOp::Lt, left, right, _) = e else {
            panic!("{e:?}")
        };
        assert!(matches!(*right, Expr::Num(x, _) if x == 7200.0));
        assert!(matches!(*left, Expr::Bin(BinOp::Add, _, _, _)));
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(
            err("final(epochs.gini) = 1"),
            "final(epochs.gini) = 1\n                   ^ `=` is not an operator; compare with `==`"
        );
        assert_eq!(
            err("mean(x where y > 2"),
            "mean(x where y > 2\n                  ^ expected `)` to close `mean(`, found the end of the expression"
        );
        assert_eq!(
            err("1 < 2 < 3"),
            "1 < 2 < 3\n      ^ comparisons do not chain; join them with `and`"
        );
        assert_eq!(
            err("x > 3q"),
            "x > 3q\n     ^ unknown unit `q` (durations: s, m, h, d, w; or %)"
        );
        assert_eq!(
            err("x > 'a"),
            "x > 'a\n    ^^ this string has no closing quote"
        );
        assert_eq!(
            err("x y"),
            "x y\n  ^ unexpected `y` after a complete expression"
        );
        assert!(err(&"(".repeat(100)).contains("nested too deeply"));
    }
}
