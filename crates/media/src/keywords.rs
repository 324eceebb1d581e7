//! Keywords of a scene's words: what an offline illustration is matched on.
//!
//! Lower-cased words without the language's stop words (lists in
//! `assets/stopwords/`, one per language; other languages keep every word),
//! short words and numbers; English plurals folded ("storms" -> "storm").
//! Ranked: names (capitalised, not at a sentence start) first, then longer
//! and repeated words. Han and kana are written without spaces: their runs
//! are the words (a long Han run is cut into pairs), and hiragana, mostly
//! particles and endings, is dropped.

use std::collections::HashMap;

/// Most keywords returned.
pub const MAX_KEYWORDS: usize = 5;
/// Shortest word kept, in characters (CJK words excepted).
const MIN_CHARS: usize = 3;

/// The stop words of `language` (an ISO 639-1 code, "en" or "en-US"), or an
/// empty list for a language without one.
fn stop_words(language: &str) -> &'static str {
    let primary = language.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    match primary.as_str() {
        "en" => include_str!("../assets/stopwords/en.txt"),
        "de" => include_str!("../assets/stopwords/de.txt"),
        "fr" => include_str!("../assets/stopwords/fr.txt"),
        "es" => include_str!("../assets/stopwords/es.txt"),
        "it" => include_str!("../assets/stopwords/it.txt"),
        "pt" => include_str!("../assets/stopwords/pt.txt"),
        "nl" => include_str!("../assets/stopwords/nl.txt"),
        _ => "",
    }
}

fn is_english(language: &str) -> bool {
    let l = language.trim().to_ascii_lowercase();
    l == "en" || l.starts_with("en-") || l.starts_with("en_")
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{309F}')
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A0}'..='\u{30FF}' | '\u{FF66}'..='\u{FF9F}')
}

fn is_spaceless(c: char) -> bool {
    is_han(c) || is_hiragana(c) || is_katakana(c)
}

/// A word of the text and where it stood.
struct Token {
    text: String,
    sentence_start: bool,
    cjk: bool,
}

/// Words (letters and digits, with inner apostrophes and hyphens) and CJK runs.
fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut run = String::new();
    let mut run_kind = 0u8; // 1 Han, 2 hiragana, 3 katakana
    let mut sentence_start = true;
    let mut word_start = true;
    let flush_word = |word: &mut String, out: &mut Vec<Token>, start: bool| {
        let w = word.trim_end_matches(['\'', '’', '-']).to_string();
        if !w.is_empty() {
            out.push(Token { text: w, sentence_start: start, cjk: false });
        }
        word.clear();
    };
    let flush_run = |run: &mut String, kind: u8, out: &mut Vec<Token>| {
        if kind != 2 && !run.is_empty() {
            let chars: Vec<char> = run.chars().collect();
            if kind == 1 && chars.len() > 4 {
                for pair in chars.chunks(2) {
                    out.push(Token { text: pair.iter().collect(), sentence_start: false, cjk: true });
                }
            } else {
                out.push(Token { text: run.clone(), sentence_start: false, cjk: true });
            }
        }
        run.clear();
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_spaceless(c) {
            if !word.is_empty() {
                flush_word(&mut word, &mut out, word_start);
            }
            let kind = if is_han(c) {
                1
            } else if is_hiragana(c) {
                2
            } else {
                3
            };
            if kind != run_kind {
                flush_run(&mut run, run_kind, &mut out);
                run_kind = kind;
            }
            run.push(c);
            sentence_start = false;
            continue;
        }
        flush_run(&mut run, run_kind, &mut out);
        run_kind = 0;
        let inner = matches!(c, '\'' | '’' | '-')
            && !word.is_empty()
            && chars.peek().is_some_and(|n| n.is_alphanumeric() && !is_spaceless(*n));
        if c.is_alphanumeric() || inner {
            if word.is_empty() {
                word_start = sentence_start;
            }
            word.push(if c == '’' { '\'' } else { c });
            sentence_start = false;
        } else {
            if !word.is_empty() {
                flush_word(&mut word, &mut out, word_start);
            }
            if matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？' | ':' | '¿' | '¡') {
                sentence_start = true;
            }
        }
    }
    flush_word(&mut word, &mut out, word_start);
    flush_run(&mut run, run_kind, &mut out);
    out
}

/// English plural and possessive folded: "storms" -> "storm", "cities" ->
/// "city", "boxes" -> "box", "team's" -> "team"; "glass", "bus", "news" and
/// irregular forms ("shook", "children") stay as they are.
pub fn fold_english(word: &str) -> String {
    let w = word.strip_suffix("'s").or_else(|| word.strip_suffix('\'')).unwrap_or(word);
    const KEEP: &[&str] = &[
        "news",
        "series",
        "species",
        "physics",
        "mathematics",
        "economics",
        "politics",
        "always",
        "perhaps",
        "towards",
        "various",
        "analysis",
        "basis",
        "crisis",
        "thesis",
        "chaos",
        "gas",
        "yes",
        "this",
        "its",
        "his",
        "was",
        "has",
        "does",
        "goes",
        "lens",
        "canvas",
        "atlas",
        "iris",
        "tennis",
        "christmas",
        "plus",
        "bonus",
        "virus",
        "campus",
        "focus",
        "status",
        "census",
        "chorus",
        "cactus",
        "octopus",
        "bus",
        "minus",
        "thus",
    ];
    if KEEP.contains(&w) {
        return w.to_string();
    }
    let n = w.chars().count();
    if n > 4
        && let Some(stem) = w.strip_suffix("ies")
    {
        return format!("{stem}y");
    }
    if n > 4
        && let Some(stem) = w.strip_suffix("es")
        && (stem.ends_with("ch") || stem.ends_with("sh") || stem.ends_with('x') || stem.ends_with("ss"))
    {
        return stem.to_string();
    }
    if n > 3
        && let Some(stem) = w.strip_suffix('s')
        && !stem.ends_with('s')
        && !stem.ends_with('u')
        && !stem.ends_with('i')
    {
        return stem.to_string();
    }
    w.to_string()
}

/// The keywords of `text` in `language` (see the module's notes), at most
/// `MAX_KEYWORDS`, best first; empty for text without words.
pub fn keywords(text: &str, language: &str) -> Vec<String> {
    let stops: Vec<&str> = stop_words(language).split_whitespace().collect();
    let english = is_english(language);
    struct Entry {
        count: usize,
        name: bool,
        first: usize,
        chars: usize,
    }
    let mut seen: HashMap<String, Entry> = HashMap::new();
    for (i, token) in tokens(text).into_iter().enumerate() {
        let lower = token.text.to_lowercase();
        let dropped = lower.chars().count() < MIN_CHARS
            || lower.chars().next().is_some_and(|c| c.is_numeric())
            || stops.contains(&lower.as_str());
        if !token.cjk && dropped {
            continue;
        }
        let word = if english && !token.cjk { fold_english(&lower) } else { lower };
        if !token.cjk && (word.chars().count() < MIN_CHARS || stops.contains(&word.as_str())) {
            continue;
        }
        let name = !token.cjk && !token.sentence_start && token.text.chars().next().is_some_and(char::is_uppercase);
        let chars = word.chars().count();
        let entry = seen.entry(word).or_insert(Entry { count: 0, name: false, first: i, chars });
        entry.count += 1;
        entry.name |= name;
    }
    let mut ranked: Vec<(String, Entry)> = seen.into_iter().collect();
    let weight = |e: &Entry| {
        // A CJK character carries about as much as three Latin letters.
        let len = if e.chars > 0 { e.chars.min(12) } else { 0 };
        len as f32 + 3.0 * (e.count - 1) as f32
    };
    ranked.sort_by(|(_, a), (_, b)| {
        b.name.cmp(&a.name).then(weight(b).total_cmp(&weight(a))).then(a.first.cmp(&b.first))
    });
    ranked.into_iter().take(MAX_KEYWORDS).map(|(w, _)| w).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_of_the_storm_sentence_hold_storm() {
        let k = keywords("Storms were the hardest nights. Wind shook the glass.", "en");
        assert!(k.contains(&"storm".to_string()), "{k:?}");
        assert!(k.contains(&"night".to_string()), "{k:?}");
        assert!(!k.iter().any(|w| w == "the" || w == "were"), "{k:?}");
        assert!(k.len() <= MAX_KEYWORDS);
    }

    #[test]
    fn keywords_fold_english_plurals_only() {
        assert_eq!(fold_english("storms"), "storm");
        assert_eq!(fold_english("nights"), "night");
        assert_eq!(fold_english("cities"), "city");
        assert_eq!(fold_english("boxes"), "box");
        assert_eq!(fold_english("glass"), "glass");
        assert_eq!(fold_english("shook"), "shook");
        assert_eq!(fold_english("news"), "news");
        assert_eq!(fold_english("team's"), "team");
        let k = keywords("Wind shook the glass.", "en-US");
        assert!(k.contains(&"shook".to_string()), "{k:?}");
    }

    #[test]
    fn keywords_put_names_first() {
        let k = keywords("The team met in Berlin.", "en");
        assert_eq!(k.first().map(String::as_str), Some("berlin"), "{k:?}");
        assert!(k.contains(&"team".to_string()), "{k:?}");
        // A capital at a sentence start is not a name.
        let k = keywords("Snow fell on the quiet village.", "en");
        assert_eq!(k.first().map(String::as_str), Some("village"), "{k:?}");
    }

    #[test]
    fn keywords_rank_repeated_words_up() {
        let k = keywords("Bread, bread and more bread: the oven is warm.", "en");
        assert_eq!(k.first().map(String::as_str), Some("bread"), "{k:?}");
    }

    #[test]
    fn keywords_drop_numbers_and_short_words() {
        let k = keywords("In 2024 we sold 300 cars at 5 pm.", "en");
        assert!(!k.iter().any(|w| w.chars().any(|c| c.is_ascii_digit())), "{k:?}");
        assert!(!k.iter().any(|w| w.chars().count() < 3), "{k:?}");
        assert!(k.contains(&"car".to_string()), "{k:?}");
    }

    #[test]
    fn keywords_in_german_keep_umlauts() {
        let k = keywords("Die Bäckerei öffnet um sechs Uhr. Frische Brötchen für ganz München!", "de");
        assert!(k.contains(&"bäckerei".to_string()), "{k:?}");
        assert!(k.contains(&"brötchen".to_string()), "{k:?}");
        assert!(k.contains(&"münchen".to_string()), "{k:?}");
        assert!(!k.iter().any(|w| ["die", "um", "für"].contains(&w.as_str())), "{k:?}");
    }

    #[test]
    fn keywords_of_other_languages() {
        let k = keywords("La tormenta fue la noche más dura.", "es");
        assert!(k.contains(&"tormenta".to_string()) && !k.contains(&"la".to_string()), "{k:?}");
        let k = keywords("Het onweer was de zwaarste nacht.", "nl");
        assert!(k.contains(&"onweer".to_string()) && !k.contains(&"het".to_string()), "{k:?}");
        // A language without a list keeps every long enough word.
        let k = keywords("Burza była najcięższa nocą.", "pl");
        assert!(k.contains(&"burza".to_string()) && k.contains(&"była".to_string()), "{k:?}");
    }

    #[test]
    fn keywords_of_empty_or_punctuation_only_text() {
        assert!(keywords("", "en").is_empty());
        assert!(keywords("   ", "de").is_empty());
        assert!(keywords("... !!! — ?", "en").is_empty());
        assert!(keywords("1, 2, 3.", "en").is_empty());
    }

    #[test]
    fn keywords_of_cjk_text_are_runs() {
        let k = keywords("東京の天気は雨です。", "ja");
        assert!(k.contains(&"東京".to_string()), "{k:?}");
        assert!(k.contains(&"天気".to_string()), "{k:?}");
        assert!(!k.iter().any(|w| w.chars().any(is_hiragana)), "{k:?}");
        let k = keywords("今天北京下雨了", "zh");
        assert!(!k.is_empty() && k.iter().all(|w| w.chars().count() <= 2), "{k:?}");
        assert!(k.contains(&"北京".to_string()), "{k:?}");
        // Mixed with Latin words.
        let k = keywords("Reelforge 东京", "zh");
        assert!(k.contains(&"reelforge".to_string()) && k.contains(&"东京".to_string()), "{k:?}");
    }

    #[test]
    fn keywords_are_deterministic() {
        let text = "Our bakery opens at six. Fresh bread, warm rolls and coffee.";
        assert_eq!(keywords(text, "en"), keywords(text, "en"));
    }
}
