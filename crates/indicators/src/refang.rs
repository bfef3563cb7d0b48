//! Refanging: undoing the "defanging" analysts apply to indicators in reports and lists.
//!
//! Partners write `hxxp://evil[.]example/x` or `203.0.113[.]7` so that nobody clicks or
//! auto-links a live indicator. A feed reader has to turn those back into the real values
//! before normalising them, or the index would hold strings no event ever contains. Only
//! unambiguous defanging marks are undone: brackets around a separator (`[.]`, `(.)`, `{.}`,
//! `[dot]`, `[:]`, `[://]`, `[/]`, `[@]`, `[at]`), an escaped dot (`\.`), and the mangled
//! URL schemes (`hxxp`, `hXXps`, `fxp`, `meow`-style schemes are not guessed).

use std::borrow::Cow;

/// Bracketed replacements, matched ASCII case-insensitively. Longest first where one is a
/// prefix of another.
const BRACKETED: &[(&str, &str)] = &[
    ("[://]", "://"),
    ("[:]//", "://"),
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("[:]", ":"),
    ("[/]", "/"),
    ("[@]", "@"),
    ("(@)", "@"),
    ("[at]", "@"),
    ("(at)", "@"),
    ("\\.", "."),
];

/// Defanged URL schemes (matched case-insensitively at the start of a word) and the real ones.
const SCHEMES: &[(&str, &str)] = &[
    ("hxxps", "https"),
    ("hxxp", "http"),
    ("hxtps", "https"),
    ("hxtp", "http"),
    ("htxps", "https"),
    ("htxp", "http"),
    ("fxps", "ftps"),
    ("fxp", "ftp"),
];

fn starts_with_ci(hay: &str, needle: &str) -> bool {
    hay.len() >= needle.len()
        && hay.as_bytes()[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

/// `raw` with defanging undone (borrowed when there was nothing to undo).
///
/// ```
/// use tiaki_indicators::refang::refang;
/// assert_eq!(refang("hxxps://evil[.]example[/]gate"), "https://evil.example/gate");
/// assert_eq!(refang("203.0.113(.)7"), "203.0.113.7");
/// assert_eq!(refang("ops[at]evil{.}example"), "ops@evil.example");
/// assert_eq!(refang("plain.example"), "plain.example");
/// ```
pub fn refang(raw: &str) -> Cow<'_, str> {
    let suspicious = raw.contains(['[', '(', '{', '\\'])
        || raw.as_bytes().windows(2).any(|w| {
            w[0].eq_ignore_ascii_case(&b'x')
                && (w[1].eq_ignore_ascii_case(&b'x') || w[1].eq_ignore_ascii_case(&b'p'))
                || w[0].eq_ignore_ascii_case(&b't') && w[1].eq_ignore_ascii_case(&b'x')
        });
    if !suspicious {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    let mut word_start = true;
    'outer: while i < raw.len() {
        let rest = &raw[i..];
        if word_start {
            for (fake, real) in SCHEMES {
                if starts_with_ci(rest, fake) {
                    let after = &rest[fake.len()..];
                    // Only a scheme: followed by `://`, `[://]`, `[:]//` or `:`.
                    if after.starts_with(':') || after.starts_with("[:") {
                        out.push_str(real);
                        i += fake.len();
                        word_start = false;
                        continue 'outer;
                    }
                }
            }
        }
        for (fake, real) in BRACKETED {
            if starts_with_ci(rest, fake) {
                out.push_str(real);
                i += fake.len();
                word_start = false;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not at the end");
        out.push(c);
        i += c.len_utf8();
        word_start = c.is_whitespace() || matches!(c, '"' | '\'' | '(' | '<' | ',' | ';');
    }
    if out == raw {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::refang;

    #[test]
    fn schemes() {
        assert_eq!(refang("hxxp://a.example/"), "http://a.example/");
        assert_eq!(refang("hXXps://a.example/"), "https://a.example/");
        assert_eq!(refang("HXXPS[://]a.example"), "https://a.example");
        assert_eq!(refang("fxp://files.example/x"), "ftp://files.example/x");
        assert_eq!(refang("hxxp[:]//a[.]example"), "http://a.example");
        assert_eq!(refang("see hxxp://a[.]example"), "see http://a.example");
        // Not a scheme: left alone.
        assert_eq!(refang("hxxpfoo.example"), "hxxpfoo.example");
        assert_eq!(refang("xxp.example"), "xxp.example");
    }

    #[test]
    fn separators() {
        assert_eq!(refang("evil[.]example"), "evil.example");
        assert_eq!(refang("evil(.)example"), "evil.example");
        assert_eq!(refang("evil{.}example"), "evil.example");
        assert_eq!(refang("evil[DOT]example"), "evil.example");
        assert_eq!(refang("evil\\.example"), "evil.example");
        assert_eq!(refang("203[.]0[.]113[.]7"), "203.0.113.7");
        assert_eq!(refang("2001:db8[:]7"), "2001:db8:7");
        assert_eq!(refang("ops[@]evil.example"), "ops@evil.example");
        assert_eq!(refang("ops[at]evil.example"), "ops@evil.example");
        assert_eq!(refang("ops(at)evil.example"), "ops@evil.example");
        assert_eq!(refang("http://a.example[/]x"), "http://a.example/x");
    }

    #[test]
    fn untouched() {
        for s in [
            "evil.example",
            "C:\\Windows\\x.exe",
            "[2001:db8::1]",
            "f(x)",
            "ünïcode.example",
        ] {
            assert!(matches!(refang(s), std::borrow::Cow::Borrowed(_)), "{s}");
            assert_eq!(refang(s), s);
        }
    }
}
