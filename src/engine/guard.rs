//! Guardrails on customer text: personal data that must never be echoed in
//! public (BRIEF lesson 6).

use regex::Regex;
use std::sync::OnceLock;

fn email() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b")
            .unwrap_or_else(|_| unreachable!())
    })
}
fn phone() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"(?:\+\d{1,3}[\s.-]?)?(?:\(?\d{2,4}\)?[\s.-]?){2,4}\d{2,4}")
            .unwrap_or_else(|_| unreachable!())
    })
}
/// A calendar date with a four-digit year, and the time after it:
/// "2026-11-24 10:00", "24.11.2026", "11/24/2026". Its digits would read as
/// a phone number ("site down since 2026-11-24 10:00" is not personal data).
fn date() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"\b(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\b",
        )
        .unwrap_or_else(|_| unreachable!())
    })
}

/// `text` with every date's characters replaced by `#`, so that phone
/// numbers are looked for elsewhere; byte positions are kept (dates are
/// ASCII), so a match in it is a match at the same place in `text`.
fn without_dates(text: &str) -> std::borrow::Cow<'_, str> {
    date().replace_all(text, |c: &regex::Captures<'_>| "#".repeat(c[0].len()))
}

/// Where phone numbers (9 to 15 digits) are in `text`, dates aside.
fn phones(text: &str) -> Vec<std::ops::Range<usize>> {
    phone()
        .find_iter(&without_dates(text))
        .filter(|m| (9..=15).contains(&m.as_str().chars().filter(char::is_ascii_digit).count()))
        .map(|m| m.range())
        .collect()
}

fn iban() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,4})?\b")
            .unwrap_or_else(|_| unreachable!())
    })
}

/// An account, customer or contract number announced as such ("account
/// no. 12345678", "nr konta 1234...", "номер счёта ..."): a labelled run of
/// at least six digits.
fn account_number() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"(?i)(?:account|acct|a/c|customer|client|member|contract|konto|konta|klienta|umowy|счёт|счет|счета|счёта|клиента|договора|חשבון|לקוח|口座|会員|顧客)(?:\s*(?:no\.?|number|nr\.?|numer|номер|番号|מספר|id))?\s*[:#№.]?\s*(\d[\d -]{4,}\d)",
        )
        .unwrap_or_else(|_| unreachable!())
    })
}

/// Words that make a message abusive whatever else it says. Deliberately
/// short: a flag for people to look at, not a verdict.
const ABUSE: &[&str] = &[
    "fuck",
    "shit",
    "idiot",
    "moron",
    "scum",
    "kurwa",
    "chuj",
    "spierdalaj",
    "debil",
    "сука",
    "блять",
    "блядь",
    "идиот",
    "мудак",
    "זבל",
    "מטומטם",
    "バカ",
    "クソ",
    "死ね",
];

/// Whether the text insults someone (case-insensitive, any script).
pub fn abusive(text: &str) -> bool {
    let lower = text.to_lowercase();
    ABUSE.iter().any(|w| lower.contains(w))
}

/// Kinds of personal data found in a text.
pub fn personal_data(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    if email().is_match(text) {
        found.push("email");
    }
    let account = account_number().is_match(text);
    if account {
        found.push("account_number");
    }
    let iban = iban().is_match(text);
    if card_number(text) {
        found.push("card_number");
    } else if !iban && !account && !phones(text).is_empty() {
        // An IBAN's digits would also read as a phone number.
        found.push("phone");
    }
    if iban {
        found.push("iban");
    }
    found
}

fn digit_run() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"\d(?:[ -]?\d){12,18}").unwrap_or_else(|_| unreachable!()))
}

/// The text with personal data replaced by placeholders (`[email]`,
/// `[card]`, `[iban]`, `[account]`, `[phone]`), for anything that may be shown in public
/// or outside the reply queue: quotes in replies, logs, notifications.
pub fn mask(text: &str) -> String {
    let t = email().replace_all(text, "[email]");
    let t = iban().replace_all(&t, "[iban]");
    let t = account_number().replace_all(&t, |c: &regex::Captures<'_>| {
        let whole = &c[0];
        let number = c.get(1).map_or(whole.len(), |m| {
            m.start() - c.get(0).map_or(0, |m| m.start())
        });
        format!("{}[account]", &whole[..number])
    });
    let t = digit_run().replace_all(&t, |c: &regex::Captures<'_>| {
        let digits: Vec<u32> = c[0].chars().filter_map(|ch| ch.to_digit(10)).collect();
        if luhn(&digits) {
            "[card]".to_string()
        } else {
            c[0].to_string()
        }
    });
    let mut out = t.into_owned();
    for range in phones(&out).into_iter().rev() {
        out.replace_range(range, "[phone]");
    }
    out
}

/// A run of 13 to 19 digits (spaces or dashes allowed) that passes the Luhn check.
fn card_number(text: &str) -> bool {
    let mut digits: Vec<u32> = Vec::new();
    let flush = |digits: &mut Vec<u32>| -> bool {
        let ok = (13..=19).contains(&digits.len()) && luhn(digits);
        digits.clear();
        ok
    };
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            digits.push(d);
        } else if c == ' ' || c == '-' {
            continue;
        } else if flush(&mut digits) {
            return true;
        }
    }
    flush(&mut digits)
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::personal_data;

    fn check(text: &str, expected: &[&str]) {
        assert_eq!(personal_data(text), expected, "{text}");
    }

    #[test]
    fn masking_hides_personal_data_and_keeps_the_rest() {
        let cases = [
            (
                "write me at jan.kowalski@example.pl please",
                "write me at [email] please",
            ),
            (
                "card 4111 1111 1111 1111 charged twice",
                "card [card] charged twice",
            ),
            ("call +48 601 234 567 now", "call [phone] now"),
            ("IBAN PL61 1090 1014 0000 0712 1981 2874", "IBAN [iban]"),
            (
                "order 1234 5678 9012 3456 failed",
                "order 1234 5678 9012 3456 failed",
            ),
            ("site is down since 8:00", "site is down since 8:00"),
            (
                "site down since 2026-11-24 10:00:00, call +48 601 234 567",
                "site down since 2026-11-24 10:00:00, call [phone]",
            ),
            ("down since 24.11.2026 10:00", "down since 24.11.2026 10:00"),
            (
                "my account no. 12345678 is locked",
                "my account no. [account] is locked",
            ),
            ("nr konta klienta: 9876 5432", "nr konta klienta: [account]"),
            ("номер счёта 40817810", "номер счёта [account]"),
        ];
        for (input, expected) in cases {
            assert_eq!(super::mask(input), expected, "{input}");
        }
    }

    #[test]
    fn personal_data_is_recognised_and_ordinary_complaints_are_not() {
        check("site is down again", &[]);
        check("write me at jan.kowalski@example.pl", &["email"]);
        check(
            "my card 4111 1111 1111 1111 was charged twice",
            &["card_number"],
        );
        check("call me +48 601 234 567", &["phone"]);
        check("IBAN PL61 1090 1014 0000 0712 1981 2874", &["iban"]);
        check("order 1234 5678 9012 3456 failed", &[]);
        check("account number 00123456 locked", &["account_number"]);
        check("my account was charged 20 times", &[]);
        check("site down since 2026-11-24 10:00:00", &[]);
        check("down since 11/24/2026 9:30, still nothing", &[]);
    }

    #[test]
    fn insults_are_recognised_in_any_script_and_complaints_are_not() {
        assert!(super::abusive("you IDIOTS broke it again"));
        assert!(super::abusive("kurwa, znowu nie działa"));
        assert!(super::abusive("опять сука не работает"));
        assert!(!super::abusive("the site is down and I am angry"));
    }
}
