//! Scene splitting (SPEC 5.1): paragraphs; long paragraphs split at sentence
//! ends (then at words, then at characters); at most 60 scenes.

use reelforge_media::sentences;

/// Most scenes a script becomes.
pub const MAX_SCENES: usize = 60;
/// A paragraph longer than this (in characters) is split at sentence ends.
pub const MAX_SCENE_CHARS: usize = 320;
/// Longest script accepted.
pub const MAX_SCRIPT_CHARS: usize = 20_000;

/// Why a script cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum ScriptError {
    /// Nothing but whitespace.
    Empty,
    /// No letters or digits at all (only punctuation or symbols).
    NoWords,
    /// Over `MAX_SCRIPT_CHARS`.
    TooLong(usize),
}

impl ScriptError {
    /// The message shown for the `script` field.
    pub fn message(&self) -> String {
        match self {
            ScriptError::Empty => "must not be empty".into(),
            ScriptError::NoWords => "has no words to narrate (only punctuation or symbols)".into(),
            ScriptError::TooLong(n) => format!("is {n} characters long; the limit is {MAX_SCRIPT_CHARS}"),
        }
    }
}

/// Splits a script into scene texts.
pub fn split(script: &str) -> Result<Vec<String>, ScriptError> {
    let length = script.chars().count();
    if length > MAX_SCRIPT_CHARS {
        return Err(ScriptError::TooLong(length));
    }
    if script.trim().is_empty() {
        return Err(ScriptError::Empty);
    }
    if !script.chars().any(char::is_alphanumeric) {
        return Err(ScriptError::NoWords);
    }
    let normalized = script.replace("\r\n", "\n").replace('\r', "\n");
    let mut scenes = Vec::new();
    for paragraph in paragraphs(&normalized) {
        if paragraph.chars().count() <= MAX_SCENE_CHARS {
            scenes.push(paragraph);
        } else {
            scenes.extend(split_long(&paragraph));
        }
    }
    // Punctuation-only paragraphs join their neighbour instead of becoming scenes.
    let mut merged: Vec<String> = Vec::new();
    for scene in scenes {
        if scene.chars().any(char::is_alphanumeric) || merged.is_empty() {
            merged.push(scene);
        } else if let Some(last) = merged.last_mut() {
            last.push(' ');
            last.push_str(&scene);
        }
    }
    if merged.first().is_some_and(|s| !s.chars().any(char::is_alphanumeric)) && merged.len() > 1 {
        let first = merged.remove(0);
        merged[0] = format!("{first} {}", merged[0]);
    }
    Ok(cap_scenes(merged))
}

/// Word count (whitespace-separated; CJK characters count one each).
pub fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .map(|word| {
            let cjk = word.chars().filter(|c| is_cjk(*c)).count();
            if cjk > 0 { cjk + usize::from(word.chars().any(|c| !is_cjk(c) && c.is_alphanumeric())) } else { 1 }
        })
        .sum()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join(" "));
                current.clear();
            }
        } else {
            current.push(line.trim());
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out.into_iter().map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|p| !p.is_empty()).collect()
}

/// Packs sentences into scenes of at most `MAX_SCENE_CHARS`; a sentence that
/// alone is too long is cut at words (or characters, for text without spaces).
fn split_long(paragraph: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    for sentence in sentences::split(paragraph) {
        if sentence.chars().count() <= MAX_SCENE_CHARS {
            pieces.push(sentence);
        } else {
            pieces.extend(cut(&sentence));
        }
    }
    let mut scenes: Vec<String> = Vec::new();
    for piece in pieces {
        match scenes.last_mut() {
            Some(last) if last.chars().count() + 1 + piece.chars().count() <= MAX_SCENE_CHARS => {
                last.push(' ');
                last.push_str(&piece);
            }
            _ => scenes.push(piece),
        }
    }
    scenes
}

fn cut(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in sentence.split(' ') {
        let mut word = word.to_string();
        // A "word" longer than a scene (CJK text, a URL): cut at characters.
        while word.chars().count() > MAX_SCENE_CHARS {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            let head: String = word.chars().take(MAX_SCENE_CHARS).collect();
            word = word.chars().skip(MAX_SCENE_CHARS).collect();
            out.push(head);
        }
        if current.chars().count() + 1 + word.chars().count() > MAX_SCENE_CHARS && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// Merges neighbouring scenes until at most `MAX_SCENES` remain, keeping order
/// and joining the shortest adjacent pair each time.
fn cap_scenes(mut scenes: Vec<String>) -> Vec<String> {
    while scenes.len() > MAX_SCENES {
        let mut best = 0;
        let mut best_len = usize::MAX;
        for i in 0..scenes.len() - 1 {
            let len = scenes[i].len() + scenes[i + 1].len();
            if len < best_len {
                best_len = len;
                best = i;
            }
        }
        let next = scenes.remove(best + 1);
        scenes[best].push(' ');
        scenes[best].push_str(&next);
    }
    scenes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_become_scenes_and_blank_lines_do_not() {
        let script = "\n\nFirst paragraph,\nstill first.\n\n\n   \nSecond one.\r\n\r\nThird.\n\n";
        assert_eq!(split(script).expect("ok"), vec!["First paragraph, still first.", "Second one.", "Third."]);
    }

    #[test]
    fn one_huge_paragraph_is_split_at_sentence_ends() {
        let sentence = "This sentence is about fifty characters long, ok. ";
        let script = sentence.repeat(40);
        let scenes = split(&script).expect("ok");
        assert!(scenes.len() > 1);
        for scene in &scenes {
            assert!(scene.chars().count() <= MAX_SCENE_CHARS, "{}", scene.len());
            assert!(scene.ends_with("ok."), "cut at a sentence end: {scene}");
        }
        let words: usize = scenes.iter().map(|s| word_count(s)).sum();
        assert_eq!(words, word_count(&script), "nothing lost");
    }

    #[test]
    fn a_paragraph_without_sentence_ends_is_cut_at_words() {
        let script = "word ".repeat(400);
        let scenes = split(&script).expect("ok");
        assert!(scenes.len() >= 6);
        assert!(scenes.iter().all(|s| s.chars().count() <= MAX_SCENE_CHARS && !s.starts_with(' ')));
        assert_eq!(scenes.iter().map(|s| word_count(s)).sum::<usize>(), 400);
    }

    #[test]
    fn non_latin_scripts() {
        let chinese = "今天我们来谈谈视频制作。".repeat(60);
        let scenes = split(&chinese).expect("ok");
        assert!(scenes.len() > 1 && scenes.iter().all(|s| s.chars().count() <= MAX_SCENE_CHARS));
        assert_eq!(scenes.concat().replace(' ', ""), chinese);
        let no_spaces = "字".repeat(1000);
        let scenes = split(&no_spaces).expect("ok");
        assert_eq!(scenes.concat(), no_spaces);
        assert_eq!(split("Привет, мир.\n\nمرحبا بالعالم؟").expect("ok"), vec!["Привет, мир.", "مرحبا بالعالم؟"]);
        assert_eq!(word_count("你好世界"), 4);
    }

    #[test]
    fn punctuation_only_and_empty_input() {
        assert_eq!(split(""), Err(ScriptError::Empty));
        assert_eq!(split(" \n\t\n "), Err(ScriptError::Empty));
        assert_eq!(split("...!?\n\n---"), Err(ScriptError::NoWords));
        assert_eq!(split("Hello.\n\n!!!\n\nWorld.").expect("ok"), vec!["Hello. !!!", "World."]);
        assert_eq!(split("???\n\nHello.").expect("ok"), vec!["??? Hello."]);
        let long = "a".repeat(MAX_SCRIPT_CHARS + 1);
        assert_eq!(split(&long), Err(ScriptError::TooLong(MAX_SCRIPT_CHARS + 1)));
    }

    #[test]
    fn long_paragraphs_do_not_break_after_titles_or_initials() {
        let sentence = "Dr. Smith met J. R. R. Tolkien at 3.5 p.m. on a quiet day. ";
        let scenes = split(&sentence.repeat(12)).expect("ok");
        assert!(scenes.len() > 1);
        for scene in &scenes {
            assert!(scene.starts_with("Dr. Smith") && scene.ends_with("quiet day."), "{scene}");
        }
    }

    #[test]
    fn at_most_sixty_scenes() {
        let script = (0..150).map(|i| format!("Paragraph {i}.")).collect::<Vec<_>>().join("\n\n");
        let scenes = split(&script).expect("ok");
        assert_eq!(scenes.len(), MAX_SCENES);
        assert!(scenes[0].starts_with("Paragraph 0.") && scenes[59].ends_with("Paragraph 149."));
    }
}
