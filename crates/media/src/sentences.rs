//! The one sentence splitter: captions (one cue per sentence), a card's key
//! line (the first sentence) and scene splitting (long paragraphs break at
//! sentence ends) all use it, so a sentence is the same thing everywhere.
//!
//! A sentence ends at `.`, `!`, `?`, `…`, `؟` or `।` followed by whitespace (or
//! the end), together with any further stops and closing quotes or brackets
//! (`?!`, `...`, `stop."`), and at a CJK full stop (`。！？｡`), which needs no
//! space after it. A stop does not end a sentence when:
//! - the next word starts with a lower-case letter (`e.g. this`, `5 p.m. on
//!   Monday`, `Wait... what?`, `"Why?" she asked`);
//! - the `.` closes a title or a Latin abbreviation that is always followed by
//!   more of the sentence (`Dr.`, `Mr.`, `Mrs.`, `Ms.`, `St.`, `vs.`, `e.g.`,
//!   `i.e.`, ...), an initial (`J. R. R. Tolkien`), or `No.` before a number;
//! - it is inside a word or number (`3.5`, `example.com`).
//!
//! `etc.`, `a.m.` and `p.m.` end a sentence only when a capital follows, which
//! is how they are read aloud too. A line break ends a sentence unless the
//! next line starts in lower case (a wrapped line). Everything is done on
//! `char` boundaries, so any Unicode text is safe.

/// Sentence stops that need whitespace (or the end of the text) after them.
fn is_stop(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '؟' | '।')
}

/// CJK full stops: no space follows them in running text.
fn is_full_width_stop(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '｡')
}

/// Closing quotes and brackets that belong to the sentence they follow.
fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '}' | '»' | '›' | '」' | '』' | '）' | '】' | '》' | '〉')
}

/// Opening quotes and brackets, skipped when looking at the next word.
fn is_opening(c: char) -> bool {
    matches!(c, '"' | '\'' | '“' | '‘' | '(' | '[' | '{' | '«' | '‹' | '「' | '『' | '（' | '【' | '《' | '〈')
}

/// Words whose `.` is followed by more of the same sentence; `next` is the
/// first character after the stop.
fn is_abbreviation(word: &str, next: Option<char>) -> bool {
    let word = word.trim_start_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    match word.as_str() {
        "mr" | "mrs" | "ms" | "mx" | "dr" | "prof" | "sr" | "jr" | "st" | "mt" | "vs" | "v" | "cf" | "fig" | "e.g"
        | "i.e" => true,
        "no" | "nos" => next.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// One capital letter: an initial.
fn is_initial(word: &str) -> bool {
    let mut chars = word.trim_start_matches(is_opening).chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c.is_uppercase())
}

/// Splits `text` into sentences, keeping their punctuation. Whitespace inside
/// a sentence becomes one space; a piece without letters or digits (stray
/// punctuation) joins the sentence before it, or the one after it at the
/// start. Text without any stop is one sentence; blank text is none.
pub fn split(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Punctuation before the first sentence, waiting to prefix it.
    let mut lead = String::new();
    for piece in raw_pieces(text) {
        let piece = piece.split_whitespace().collect::<Vec<_>>().join(" ");
        if piece.is_empty() {
            continue;
        }
        if piece.chars().any(char::is_alphanumeric) {
            if lead.is_empty() {
                out.push(piece);
            } else {
                out.push(format!("{} {piece}", std::mem::take(&mut lead)));
            }
        } else if let Some(last) = out.last_mut() {
            last.push_str(&piece);
        } else {
            if !lead.is_empty() {
                lead.push(' ');
            }
            lead.push_str(&piece);
        }
    }
    if !lead.is_empty() {
        out.push(lead);
    }
    out
}

/// The first sentence of `text` (as `split` gives it); empty for blank text.
pub fn first(text: &str) -> String {
    split(text).into_iter().next().unwrap_or_default()
}

/// The text between sentence ends, as slices of `text`.
fn raw_pieces(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte = |k: usize| chars.get(k).map_or(text.len(), |&(i, _)| i);
    // Index after a run of stops and closing marks starting at `k`.
    let run_end = |k: usize| {
        let mut j = k + 1;
        while j < chars.len() && {
            let c = chars[j].1;
            is_stop(c) || is_full_width_stop(c) || is_closing(c)
        } {
            j += 1;
        }
        j
    };
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut k = 0;
    while k < chars.len() {
        let (i, c) = chars[k];
        if c == '\n' {
            if next_word_start(&text[i..]).is_none_or(|n| !n.is_lowercase()) {
                pieces.push(&text[start..i]);
                start = i;
            }
            k += 1;
        } else if is_full_width_stop(c) {
            let j = run_end(k);
            pieces.push(&text[start..byte(j)]);
            start = byte(j);
            k = j;
        } else if is_stop(c) {
            let j = run_end(k);
            let followed_by_space = chars.get(j).is_none_or(|&(_, n)| n.is_whitespace());
            if followed_by_space && ends_sentence(&text[..i], &chars[k..j], &text[byte(j)..]) {
                pieces.push(&text[start..byte(j)]);
                start = byte(j);
            }
            k = j;
        } else {
            k += 1;
        }
    }
    pieces.push(&text[start..]);
    pieces
}

/// Whether the run of stops `run` (after `before`, before `after`) ends a sentence.
fn ends_sentence(before: &str, run: &[(usize, char)], after: &str) -> bool {
    let next = next_word_start(after);
    if next.is_some_and(char::is_lowercase) {
        return false;
    }
    // Abbreviations end with one "." (a closing mark after it means a quote ended).
    if let [(_, '.')] = run {
        let word = before.rsplit(char::is_whitespace).next().unwrap_or_default();
        if is_initial(word) || is_abbreviation(word, next) {
            return false;
        }
    }
    true
}

/// The first character of the next word, past whitespace and opening marks.
fn next_word_start(text: &str) -> Option<char> {
    text.chars().find(|&c| !c.is_whitespace() && !is_opening(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each text with the sentences it must give.
    fn check(cases: &[(&str, &[&str])]) {
        for (text, want) in cases {
            assert_eq!(split(text), *want, "{text:?}");
        }
    }

    #[test]
    fn splits_latin_cjk_and_keeps_numbers() {
        assert_eq!(split("Hello there. How are you?! Fine"), vec!["Hello there.", "How are you?!", "Fine"]);
        assert_eq!(split("It costs 3.5 dollars. Cheap."), vec!["It costs 3.5 dollars.", "Cheap."]);
        assert_eq!(split("你好。今天天气很好！"), vec!["你好。", "今天天气很好！"]);
        assert_eq!(split("He said \"stop.\" Then left."), vec!["He said \"stop.\"", "Then left."]);
        assert_eq!(split("  \n "), Vec::<String>::new());
        assert_eq!(split("no ending here"), vec!["no ending here"]);
        assert_eq!(split("...!!!"), vec!["...!!!"]);
        assert_eq!(split("Line one\nstill line one."), vec!["Line one still line one."]);
    }

    #[test]
    fn titles_and_abbreviations_do_not_end_sentences() {
        check(&[
            ("Dr. Smith arrived. He sat down.", &["Dr. Smith arrived.", "He sat down."]),
            (
                "Mr. and Mrs. Jones met Ms. Lee on St. James St. near the park. Then rain.",
                &["Mr. and Mrs. Jones met Ms. Lee on St. James St. near the park.", "Then rain."],
            ),
            ("Cats vs. Dogs is on. Watch it.", &["Cats vs. Dogs is on.", "Watch it."]),
            (
                "Bring fruit, e.g. Apples, i.e. Something sweet. Go.",
                &["Bring fruit, e.g. Apples, i.e. Something sweet.", "Go."],
            ),
            ("See No. 5 on the list. Done.", &["See No. 5 on the list.", "Done."]),
            ("I said no. Then I left.", &["I said no.", "Then I left."]),
            ("J. R. R. Tolkien wrote it. It is long.", &["J. R. R. Tolkien wrote it.", "It is long."]),
            ("Written by A. Author. Read it.", &["Written by A. Author.", "Read it."]),
        ]);
    }

    #[test]
    fn etc_and_times_end_a_sentence_only_before_a_capital() {
        check(&[
            ("Pens, paper, etc. are here. Sit.", &["Pens, paper, etc. are here.", "Sit."]),
            ("Bring pens, paper, etc. Then sit.", &["Bring pens, paper, etc.", "Then sit."]),
            ("We met at 5 p.m. on Monday. Late.", &["We met at 5 p.m. on Monday.", "Late."]),
            ("We met at 9 a.m. The sun was up.", &["We met at 9 a.m.", "The sun was up."]),
        ]);
    }

    #[test]
    fn numbers_ellipses_and_closing_marks() {
        check(&[
            ("Version 1.2.3 is out. Update.", &["Version 1.2.3 is out.", "Update."]),
            ("Wait... what happened? Nothing.", &["Wait... what happened?", "Nothing."]),
            ("Wait... Then it came.", &["Wait...", "Then it came."]),
            ("Hmm… So be it.", &["Hmm…", "So be it."]),
            ("(It was late.) We left.", &["(It was late.)", "We left."]),
            ("“Why?” she asked. “Because.”", &["“Why?” she asked.", "“Because.”"]),
            ("Stop! Look.", &["Stop!", "Look."]),
        ]);
    }

    #[test]
    fn cjk_and_other_scripts() {
        check(&[
            ("本当？「はい。」次へ。", &["本当？", "「はい。」", "次へ。"]),
            ("東京は大きい。 大阪も大きい。", &["東京は大きい。", "大阪も大きい。"]),
            ("مرحبا؟ نعم.", &["مرحبا؟", "نعم."]),
            ("नमस्ते। आप कैसे हैं?", &["नमस्ते।", "आप कैसे हैं?"]),
            ("Привет. Как дела?", &["Привет.", "Как дела?"]),
        ]);
    }

    #[test]
    fn lines_and_stray_punctuation() {
        check(&[
            ("A heading\nThe body text.", &["A heading", "The body text."]),
            ("Hello. !!! World.", &["Hello.!!!", "World."]),
            ("... Hello.", &["... Hello."]),
        ]);
        assert_eq!(first("   \n  Leading space matters! Then more."), "Leading space matters!");
        assert_eq!(first(""), "");
    }

    #[test]
    fn nothing_is_lost_or_reordered() {
        // A small deterministic generator over troublesome pieces.
        let pieces = [
            "Dr.", "e.g.", "3.5", "word", "Word", "...", "?!", "\"", "”", "。", "字", "\n", " ", "  ", "J.", "é", "👍",
            "etc.",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let got: String = split(&text).concat().chars().filter(|c| !c.is_whitespace()).collect();
            let want: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(got, want, "{text:?}");
        }
    }
}
