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
fn iban() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,4})?\b")
            .unwrap_or_else(|_| unreachable!())
    })
}

/// Kinds of personal data found in a text.
pub fn personal_data(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    if email().is_match(text) {
        found.push("email");
    }
    let iban = iban().is_match(text);
    if card_number(text) {
        found.push("card_number");
    } else if !iban
        && phone()
            .find_iter(text)
            .map(|m| m.as_str().chars().filter(char::is_ascii_digit).count())
            .any(|n| (9..=15).contains(&n))
    {
        // An IBAN's digits would also read as a phone number.
        found.push("phone");
    }
    if iban {
        found.push("iban");
    }
    found
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
    }
}
