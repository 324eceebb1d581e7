//! Merge fields: `{{name}}` in a batch's template script, filled in from each
//! row of data. `{{` always opens a field and `}}` closes it; spaces inside
//! are ignored (`{{ name }}` is `{{name}}`). A field's name is what a CSV
//! header or a JSON row's key says: 1 to 64 letters, digits, spaces, `_`,
//! `-` or `.`, matched exactly (case counts).

use std::collections::BTreeMap;

/// Longest field name, in characters.
pub const MAX_FIELD_CHARS: usize = 64;

/// One row of data: field name -> value (trimmed).
pub type Row = BTreeMap<String, String>;

/// A text with merge fields, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(String),
}

/// Whether `name` may name a merge field (and a column of the rows).
pub fn valid_name(name: &str) -> bool {
    let length = name.chars().count();
    (1..=MAX_FIELD_CHARS).contains(&length)
        && name.trim() == name
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.'))
}

impl Template {
    /// `text` as it is, without merge fields.
    pub fn literal(text: &str) -> Template {
        Template { parts: vec![Part::Text(text.to_string())] }
    }

    /// Parses `text`; the error says what is wrong, for a person.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err("has a {{ without its closing }}".into());
            };
            let name = after[..close].trim();
            if name.is_empty() {
                return Err("has an empty merge field {{}}".into());
            }
            if !valid_name(name) {
                return Err(format!(
                    "has a merge field {{{{{}}}}} whose name is not 1 to {MAX_FIELD_CHARS} letters, digits, spaces, _ - or .",
                    name.chars().take(MAX_FIELD_CHARS).collect::<String>()
                ));
            }
            parts.push(Part::Field(name.to_string()));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The names of the fields it uses, in order of first use.
    pub fn fields(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Field(name) = part
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }

    /// The text with `row`'s values in place of the fields, or the names of
    /// the fields `row` lacks (absent or blank).
    pub fn render(&self, row: &Row) -> Result<String, Vec<String>> {
        let mut text = String::new();
        let mut missing = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(literal) => text.push_str(literal),
                Part::Field(name) => match row.get(name).filter(|value| !value.trim().is_empty()) {
                    Some(value) => text.push_str(value),
                    None if !missing.contains(name) => missing.push(name.clone()),
                    None => {}
                },
            }
        }
        if missing.is_empty() { Ok(text) } else { Err(missing) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn fields_are_filled_in() {
        let template = Template::parse("Hello {{name}} from {{ city }}! Bye {{name}}.").unwrap();
        assert_eq!(template.fields(), ["name", "city"]);
        let filled = template.render(&row(&[("name", "Ada"), ("city", "Oslo"), ("unused", "x")]));
        assert_eq!(filled.unwrap(), "Hello Ada from Oslo! Bye Ada.");
        assert_eq!(Template::parse("no fields }} at all").unwrap().render(&Row::new()).unwrap(), "no fields }} at all");
        let spaced = Template::parse("{{First Name}}").unwrap();
        assert_eq!(spaced.render(&row(&[("First Name", "Grace")])).unwrap(), "Grace");
    }

    #[test]
    fn missing_and_blank_fields_are_named_once() {
        let template = Template::parse("{{name}} {{city}} {{name}}").unwrap();
        assert_eq!(template.render(&row(&[("city", "")])).unwrap_err(), ["name", "city"]);
        assert_eq!(template.render(&row(&[("name", "Ada")])).unwrap_err(), ["city"]);
    }

    #[test]
    fn malformed_fields_are_refused() {
        for bad in ["{{name", "a {{}} b", "{{ }}", "{{na{me}}", "{{a/b}}", &format!("{{{{{}}}}}", "x".repeat(65))] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        assert!(valid_name("city.name_2-b"));
        assert!(!valid_name(" city"));
        assert!(!valid_name(""));
    }
}
