//! Tests of the card pictures and the key line.

use super::layout::LINE_HEIGHT;
use super::*;

fn style() -> CardStyle {
    CardStyle {
        palette: vec!["#1e3c72".into(), "#2a5298".into(), "#e94e77".into(), "#f4a261".into()],
        text_color: "#ffffff".into(),
        text_scale: 0.08,
        weight: "bold".into(),
        show_scene_number: true,
        heading_font: None,
        body_font: None,
    }
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// Pixels (RGBA) in the central box that differ between two images.
fn differing_in_centre(a: &Pixmap, b: &Pixmap, frac: f32) -> usize {
    let (w, h) = (a.width(), a.height());
    let (x0, x1) = ((w as f32 * (0.5 - frac / 2.0)) as u32, (w as f32 * (0.5 + frac / 2.0)) as u32);
    let (y0, y1) = ((h as f32 * (0.5 - frac / 2.0)) as u32, (h as f32 * (0.5 + frac / 2.0)) as u32);
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            if a.pixel(x, y) != b.pixel(x, y) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn card_has_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("card.png");
    render_card("The ocean covers seventy percent of Earth.", 3, 1600, 900, 1.0, &style(), &out).unwrap();
    assert_eq!(png_size(&out), (1600, 900));
    let pm = Pixmap::load_png(&out).unwrap();
    assert_eq!((pm.width(), pm.height()), (1600, 900));
    // Opaque everywhere.
    assert!(pm.pixels().iter().all(|p| p.alpha() == 255));
}

#[test]
fn card_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    render_card("Same text, same bytes.", 1, 640, 360, 1.0, &style(), &a).unwrap();
    render_card("Same text, same bytes.", 1, 640, 360, 1.0, &style(), &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn different_text_gives_different_background() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    render_card("First scene about mountains.", 1, 640, 360, 1.0, &style(), &a).unwrap();
    render_card("Second scene about rivers.", 1, 640, 360, 1.0, &style(), &b).unwrap();
    let (pa, pb) = (Pixmap::load_png(&a).unwrap(), Pixmap::load_png(&b).unwrap());
    // Compare corners, away from the text.
    let corners = [(2, 2), (637, 2), (2, 357), (637, 357), (320, 350)];
    let differ = corners.iter().filter(|&&(x, y)| pa.pixel(x, y) != pb.pixel(x, y)).count();
    assert!(differ >= 3, "backgrounds too similar ({differ} of 5 corners differ)");
}

#[test]
fn cjk_uses_the_fallback_font() {
    // Shaping picks the Droid face, with real glyphs (not .notdef).
    let mut engine = text_engine();
    let buffer =
        lay_out(&mut engine, "東京の夜景はとても美しい", Weight::BOLD, 40.0, Some(800.0), None, Ellipsize::None);
    let mut glyphs = 0;
    for run in buffer.layout_runs() {
        for g in run.glyphs {
            glyphs += 1;
            assert_ne!(g.glyph_id, 0, "missing glyph");
            let face = engine.fonts.db().face(g.font_id).unwrap();
            assert!(face.families.iter().any(|(f, _)| f.contains("Droid")), "used {:?}", face.families);
        }
    }
    assert!(glyphs >= 10);
    drop(engine);

    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("cjk.png"), dir.path().join("empty.png"));
    // A dark one-colour palette: the (text-seeded) backgrounds differ only in
    // angle and circles, and never reach the brightness of the white text.
    let mut st = style();
    st.palette = vec!["#334455".into()];
    st.show_scene_number = false;
    render_card("東京の夜景はとても美しい", 1, 800, 450, 1.0, &st, &a).unwrap();
    render_card("", 1, 800, 450, 1.0, &st, &b).unwrap();
    let (pa, pb) = (Pixmap::load_png(&a).unwrap(), Pixmap::load_png(&b).unwrap());
    // Count bright (text) pixels in the centre: the background is dark.
    let bright = |p: &Pixmap| {
        let mut n = 0;
        for y in 150..300 {
            for x in 100..700 {
                if p.pixel(x, y).unwrap().red() > 200 {
                    n += 1;
                }
            }
        }
        n
    };
    assert_eq!(bright(&pb), 0);
    assert!(bright(&pa) > 2000, "only {} text pixels", bright(&pa));
    assert!(differing_in_centre(&pa, &pb, 0.5) > 2000);
}

#[test]
fn arabic_and_cyrillic_render() {
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in ["مرحبا بالعالم، هذه تجربة", "Привет, мир! Это проверка."].iter().enumerate()
    {
        let out = dir.path().join(format!("t{i}.png"));
        render_card(text, 2, 800, 450, 1.0, &style(), &out).unwrap();
        assert_eq!(png_size(&out), (800, 450));
    }
    let mut engine = text_engine();
    let buffer = lay_out(&mut engine, "مرحبا Привет", Weight::NORMAL, 30.0, Some(800.0), None, Ellipsize::None);
    let ids: Vec<u16> = buffer.layout_runs().flat_map(|r| r.glyphs.iter().map(|g| g.glyph_id)).collect();
    assert!(!ids.is_empty() && ids.iter().all(|&g| g != 0));
}

#[test]
fn empty_text_draws_background_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("empty.png");
    let mut st = style();
    st.show_scene_number = false;
    render_card("", 0, 320, 180, 1.0, &st, &out).unwrap();
    assert_eq!(png_size(&out), (320, 180));
    render_card("   \n\t ", 0, 320, 180, 1.0, &st, &out).unwrap();
}

#[test]
fn very_long_text_fits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("long.png");
    let words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"];
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 5000 {
        text.push_str(words[i % words.len()]);
        text.push(' ');
        i += 1;
    }
    let mut st = style();
    st.show_scene_number = false;
    st.palette = vec!["#102030".into()];
    render_card(&text, 1, 800, 450, 1.0, &st, &out).unwrap();
    let pm = Pixmap::load_png(&out).unwrap();
    // Nothing bright outside the central text box (80% x 70% plus a margin for the shadow).
    for y in 0..450 {
        for x in 0..800 {
            let inside = (60..740).contains(&x) && (50..400).contains(&y);
            if !inside {
                assert!(pm.pixel(x, y).unwrap().red() < 150, "text outside the box at ({x},{y})");
            }
        }
    }
    // A 5,000-character run with no spaces, too.
    let blob: String = "字".repeat(5000);
    render_card(&blob, 1, 640, 360, 1.0, &st, &out).unwrap();
    assert_eq!(png_size(&out), (640, 360));
}

#[test]
fn bad_colours_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let mut st = style();
    st.palette = vec!["#123456".into(), "blue-ish".into()];
    let err = render_card("x", 1, 320, 180, 1.0, &st, &out).unwrap_err();
    assert!(matches!(&err, MediaError::Invalid(m) if m.contains("blue-ish")), "{err}");
    let mut st = style();
    st.text_color = "#12345".into();
    let err = render_card("x", 1, 320, 180, 1.0, &st, &out).unwrap_err();
    assert!(matches!(&err, MediaError::Invalid(m) if m.contains("#12345")), "{err}");
    st = style();
    st.palette.clear();
    assert!(matches!(render_card("x", 1, 320, 180, 1.0, &st, &out), Err(MediaError::Invalid(_))));
    assert!(matches!(render_card("x", 1, 0, 180, 1.0, &style(), &out), Err(MediaError::Invalid(_))));
    assert_eq!(Rgb::parse("#FFF").unwrap(), Rgb::WHITE);
    assert_eq!(Rgb::parse("00ff7f").unwrap(), Rgb { r: 0, g: 255, b: 127 });
    assert!(Rgb::parse("#ééé").is_err());
}

#[test]
fn light_text_on_light_palette_gets_a_panel() {
    let b = backing_for(Rgb::WHITE, &[Rgb::parse("#fff5cc").unwrap()]);
    assert_eq!(b.color, Rgb::BLACK);
    assert!(b.alpha > 0.2);
    let b = backing_for(Rgb::WHITE, &[Rgb::parse("#101020").unwrap()]);
    assert_eq!(b.alpha, 0.0);
    let b = backing_for(Rgb::parse("#111111").unwrap(), &[Rgb::parse("#202020").unwrap()]);
    assert_eq!(b.color, Rgb::WHITE);
}

#[test]
fn write_errors_are_io_errors() {
    let err = render_card("x", 1, 320, 180, 1.0, &style(), Path::new("/nonexistent-dir/x.png")).unwrap_err();
    assert!(matches!(err, MediaError::Io { .. }));
}

#[test]
fn caption_sizes_are_even_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cap.png");
    let cases: [(&str, f32, u32); 6] = [
        ("Hello there", 48.0, 1000),
        ("A much longer subtitle line that will certainly need to wrap onto more than one line", 48.0, 900),
        (&"word ".repeat(200), 48.0, 801),
        ("東京の夜景はとても美しい。東京の夜景はとても美しい。東京の夜景はとても美しい。", 40.0, 500),
        ("x", 13.0, 17),
        ("", 40.0, 600),
    ];
    for (text, px, max) in cases {
        let (w, h) = render_caption(text, px, max, &out).unwrap();
        assert!(w % 2 == 0 && h % 2 == 0, "{w}x{h} for {text:?}");
        assert!(w <= max, "{w} > {max}");
        assert_eq!(png_size(&out), (w, h));
    }
    // At most three lines: height bounded by ~3 line heights plus padding.
    let (_, h) = render_caption(&"word ".repeat(200), 48.0, 801, &out).unwrap();
    assert!(h as f32 <= 3.0 * 48.0 * LINE_HEIGHT + 48.0, "caption too tall: {h}");
    // Transparent outside the rounded box corner, opaque-ish inside.
    let (w, h) = render_caption("Hello there", 48.0, 1000, &out).unwrap();
    let pm = Pixmap::load_png(&out).unwrap();
    assert_eq!(pm.pixel(0, 0).unwrap().alpha(), 0);
    assert!(pm.pixel(w / 2, h - 3).unwrap().alpha() > 100);
    assert!(render_caption("x", f32::NAN, 600, &out).is_err());
    assert!(render_caption("x", 40.0, 4, &out).is_err());
}

#[test]
fn caption_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    render_caption("Deterministic captions", 40.0, 700, &a).unwrap();
    render_caption("Deterministic captions", 40.0, 700, &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn watermark_sizes_are_even() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wm.png");
    for h in [8, 27, 36, 51] {
        let (w, hh) = render_watermark("Made with Reelforge", h, &out).unwrap();
        assert!(w % 2 == 0 && hh % 2 == 0);
        assert!(hh >= h && hh <= h + 1);
        assert!(w > hh);
        assert_eq!(png_size(&out), (w, hh));
    }
    assert!(render_watermark("x", 0, &out).is_err());
}

/// The first sentence cut to 120 characters, as `shorten` cuts a card's text.
fn first_sentence(text: &str) -> String {
    shorten(&crate::sentences::first(text), 120)
}

#[test]
fn key_line_no_punctuation() {
    assert_eq!(first_sentence("no punctuation at all here"), "no punctuation at all here");
    assert_eq!(first_sentence("ends with e.g"), "ends with e.g");
}

#[test]
fn key_line_cjk() {
    assert_eq!(first_sentence("東京は大きい。大阪も大きい。"), "東京は大きい。");
    let long: String = "あ".repeat(300);
    let k = first_sentence(&long);
    assert_eq!(k.chars().count(), 120);
    assert!(k.ends_with('…'));
    assert!(k.starts_with("あああ"));
}

#[test]
fn key_line_long_cuts_on_words() {
    let text = "This sentence keeps going and going with many words that add up to far more than one \
                hundred and twenty characters in total so that it must be shortened somewhere sensible";
    let k = first_sentence(text);
    assert!(k.chars().count() <= 120, "{}", k.chars().count());
    assert!(k.ends_with('…'));
    let body = k.trim_end_matches('…');
    assert!(text.starts_with(body));
    // Cut at a word end: the next character of the original is a space.
    assert!(text[body.len()..].starts_with(' '), "cut mid-word: {k}");
    // A single enormous word is cut on characters.
    let word = "x".repeat(500);
    assert_eq!(first_sentence(&word).chars().count(), 120);
}

#[test]
fn short_title_english() {
    assert_eq!(
        short_title("The ocean covers seventy percent of Earth's surface, and it holds most of its water."),
        "The ocean covers seventy percent"
    );
    assert_eq!(short_title("Why is the sky blue? Because of scattering."), "Why is the sky blue?");
    assert_eq!(short_title("It was a dark and stormy night. Then..."), "It was a dark and stormy night");
    assert_eq!(short_title("Hello world."), "Hello world");
    assert_eq!(short_title("  — Rivers shape the land.  "), "Rivers shape the land");
    // Cut inside a quotation: no unclosed quote, no trailing comma.
    assert_eq!(
        short_title("\"Everything flows, nothing stands still,\" said Heraclitus, a long time ago."),
        "Everything flows, nothing stands still"
    );
    assert_eq!(
        short_title("Photosynthesis, which plants use to turn light into sugar, feeds the world."),
        "Photosynthesis, which plants use to turn"
    );
}

#[test]
fn short_title_german() {
    assert_eq!(
        short_title("Über die Brücke fährt täglich ein großer Güterzug nach München. Dann kommt nichts mehr."),
        "Über die Brücke fährt täglich"
    );
    assert_eq!(short_title("Größe ist relativ."), "Größe ist relativ");
    assert_eq!(short_title("„Grüß Gott“, sagt die Bäuerin."), "„Grüß Gott“, sagt die Bäuerin");
    let title = short_title("Schöne Äpfel und übergroße Möhren wachsen überall im sonnigen Süden Österreichs.");
    assert!(title.chars().count() <= 42 && title.starts_with("Schöne Äpfel"), "{title}");
    assert!(!title.ends_with("und") && !title.ends_with(' '));
}

#[test]
fn short_title_cjk() {
    assert_eq!(short_title("東京は大きい。大阪も大きい。"), "東京は大きい");
    let title = short_title("東京の夜景はとても美しいことで世界中に知られています。大阪も。");
    assert_eq!(title, "東京の夜景はとても美しいこと");
    assert_eq!(title.chars().count(), 14);
    let title = short_title("北京是中国的首都，也是一座历史悠久的文化名城，每年吸引大量游客。");
    assert!(title.chars().count() <= 14 && !title.ends_with('，'), "{title}");
    assert!(title.starts_with("北京是中国的首都"));
}

#[test]
fn short_title_single_huge_word() {
    let word = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft";
    let title = short_title(&format!("{word} ist lang."));
    assert!(title.chars().count() <= 42, "{title}");
    assert!(title.ends_with('…') && title.starts_with("Donaudampf"));
    let url = "x".repeat(500);
    assert_eq!(short_title(&url).chars().count(), 42);
}

#[test]
fn short_title_blank_and_odd_text() {
    assert_eq!(short_title(""), "");
    assert_eq!(short_title("   \n\t  "), "");
    assert_eq!(short_title("..."), "...");
    assert_eq!(short_title("?!"), "?!");
    assert_eq!(short_title("42"), "42");
    for text in ["a", "The.", "— ok", "of of of of of of of of of of of", "(((((", "»«"] {
        assert!(!short_title(text).is_empty(), "{text:?}");
    }
}

#[test]
fn titles_start_larger_than_paragraphs() {
    assert_eq!(text_scale("Photosynthesis", 0.075), 0.075 * 1.6);
    assert_eq!(text_scale(&short_title("The ocean covers seventy percent of Earth's surface."), 0.05), 0.05 * 1.6);
    let paragraph = "The ocean covers seventy percent of Earth's surface, and it holds most of its water.";
    assert_eq!(text_scale(paragraph, 0.075), 0.075);
    assert_eq!(text_scale("Big", 0.25), 0.3);
    assert_eq!(text_scale("Odd", f32::NAN), 0.07 * 1.6);
}

/// With `REELFORGE_KEEP_FRAMES=/some/dir`, writes title cards there to look at.
#[test]
fn preview_title_cards() {
    let Some(dir) = std::env::var_os("REELFORGE_KEEP_FRAMES") else { return };
    let dir = Path::new(&dir);
    let explainer = CardStyle {
        palette: vec!["#4c1d95".into(), "#7c3aed".into(), "#2563eb".into(), "#0f766e".into()],
        text_color: "#ffffff".into(),
        text_scale: 0.075,
        weight: "bold".into(),
        show_scene_number: true,
        heading_font: None,
        body_font: None,
    };
    let texts = [
        ("title-en", "The ocean covers seventy percent of Earth's surface, and it holds most of its water."),
        ("title-de", "Über die Brücke fährt täglich ein großer Güterzug nach München."),
        ("title-ja", "東京の夜景はとても美しいことで世界中に知られています。"),
        ("title-one-word", "Photosynthesis."),
    ];
    for (name, text) in texts {
        let out = dir.join(format!("{name}.png"));
        render_card(&short_title(text), 3, 1600, 900, crate::render::ALWAYS_VISIBLE, &explainer, &out).unwrap();
    }
}

/// Mean x of the pixels drawn in the highlight colour, and how many.
fn highlighted_pixels(path: &Path) -> (f32, usize) {
    let png = Pixmap::load_png(path).unwrap();
    let (mut sum, mut count) = (0.0, 0);
    for (i, p) in png.pixels().iter().enumerate() {
        let c = p.demultiply();
        if c.alpha() > 200 && c.red() > 230 && c.green() > 180 && c.green() < 240 && c.blue() < 80 {
            sum += (i % png.width() as usize) as f32;
            count += 1;
        }
    }
    (if count > 0 { sum / count as f32 } else { 0.0 }, count)
}

#[test]
fn the_highlighted_word_moves_along_the_caption() {
    let dir = tempfile::tempdir().unwrap();
    let draw = |highlight: Option<usize>, look: CaptionLook, name: &str| {
        let out = dir.path().join(name);
        let caption =
            Caption { text: "Wind shook the glass", font_px: 40.0, max_width: 1100, highlight, look, font: None };
        let size = render_styled_caption(&caption, &out).unwrap();
        (out, size)
    };
    for look in [CaptionLook::Boxed, CaptionLook::Bold] {
        let (plain, size) = draw(None, look, "plain.png");
        assert_eq!(highlighted_pixels(&plain).1, 0, "{look:?}: no highlight asked");
        let (first, first_size) = draw(Some(0), look, "first.png");
        let (last, _) = draw(Some(3), look, "last.png");
        assert_eq!(size, first_size, "{look:?}: highlighting does not move the words");
        let (first_x, first_n) = highlighted_pixels(&first);
        let (last_x, last_n) = highlighted_pixels(&last);
        assert!(first_n > 50 && last_n > 50, "{look:?}: {first_n} {last_n}");
        assert!(first_x < size.0 as f32 * 0.3 && last_x > size.0 as f32 * 0.7, "{look:?}: {first_x} {last_x}");
        // A word past the end highlights nothing.
        let (beyond, _) = draw(Some(9), look, "beyond.png");
        assert_eq!(highlighted_pixels(&beyond).1, 0);
    }
}

#[test]
fn caption_words_split_on_spaces_and_cjk_characters() {
    let words = |t: &str| caption_words(t).into_iter().map(|(_, w)| w.to_string()).collect::<Vec<_>>();
    assert_eq!(words("Wind shook  the glass."), ["Wind", "shook", "the", "glass."]);
    assert_eq!(words("東京は 大きい。"), ["東", "京", "は", "大", "き", "い。"]);
    assert_eq!(words("مرحبا بالعالم"), ["مرحبا", "بالعالم"]);
    assert!(words("  ").is_empty());
    for (range, word) in caption_words("Hello wide world") {
        assert_eq!(&"Hello wide world"[range], word);
    }
}
