//! A batch's rows of data, from JSON objects or a CSV file (RFC 4180: a
//! header row of field names, quoted fields with commas, quotes and line
//! breaks, CRLF or LF, a UTF-8 byte-order mark as spreadsheets write it; `;`
//! or tab as the separator when the header holds no comma, as European
//! spreadsheets export). The CSV's size is held by the request body limit.

use serde_json::Value;

use crate::batches::merge::{Row, valid_name};

/// The most rows a batch holds.
pub const MAX_ROWS: usize = 500;
/// The most fields (columns) a row may have.
pub const MAX_FIELDS: usize = 100;
/// The longest value of one field, in characters (a scene holds 2,000).
pub const MAX_VALUE_CHARS: usize = 2_000;

/// Why rows could not be read: one message for the whole input (`field`
/// names where), or one per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowsError {
    /// The row (0-based, the header not counted), when it is one row's fault.
    pub row: Option<usize>,
    /// The column or part of the input.
    pub field: String,
    pub message: String,
}

impl RowsError {
    fn input(field: &str, message: impl Into<String>) -> RowsError {
        RowsError { row: None, field: field.into(), message: message.into() }
    }
}

/// Reads a CSV file: the header row names the fields, every further row is
/// one row of data. Reads at most `MAX_ROWS + 1` rows (enough to say there are
/// too many).
pub fn from_csv(bytes: &[u8]) -> Result<Vec<Row>, Vec<RowsError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(vec![RowsError::input("rows", "the CSV file must be UTF-8 text")]);
    };
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.contains(',') {
        b','
    } else if first_line.contains(';') {
        b';'
    } else if first_line.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers.iter().map(|h| h.trim().to_string()).collect(),
        Err(err) => {
            return Err(vec![RowsError::input("rows", format!("the CSV header cannot be read: {}", reason(&err)))]);
        }
    };
    if headers.iter().all(String::is_empty) {
        return Err(vec![RowsError::input("rows", "the CSV file needs a header row naming its fields")]);
    }
    let mut errors = check_names(headers.iter().map(String::as_str), "rows");
    if headers.len() > MAX_FIELDS {
        errors.push(RowsError::input("rows", format!("has {} columns; at most {MAX_FIELDS}", headers.len())));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().take(MAX_ROWS + 1).enumerate() {
        match record {
            Ok(record) => {
                let row: Row = headers.iter().cloned().zip(record.iter().map(|v| v.trim().to_string())).collect();
                check_values(index, &row, &mut errors);
                rows.push(row);
            }
            Err(err) => errors.push(RowsError { row: Some(index), field: "rows".into(), message: reason(&err) }),
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

/// What a CSV error means, without byte offsets.
fn reason(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".into(),
        _ => "is not valid CSV".into(),
    }
}

/// Reads JSON rows: objects of field name -> text, number or boolean (a
/// null is a blank value).
pub fn from_json(rows: Vec<serde_json::Map<String, Value>>) -> Result<Vec<Row>, Vec<RowsError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (index, object) in rows.into_iter().enumerate() {
        if object.len() > MAX_FIELDS {
            errors.push(RowsError {
                row: Some(index),
                field: "rows".into(),
                message: format!("has {} fields; at most {MAX_FIELDS}", object.len()),
            });
            continue;
        }
        let mut row = Row::new();
        for (name, value) in object {
            let text = match value {
                Value::String(text) => text.trim().to_string(),
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                Value::Null => String::new(),
                Value::Array(_) | Value::Object(_) => {
                    errors.push(RowsError {
                        row: Some(index),
                        field: name.clone(),
                        message: "must be text, a number or a boolean".into(),
                    });
                    continue;
                }
            };
            if !valid_name(&name) {
                errors.push(RowsError {
                    row: Some(index),
                    field: name.chars().take(80).collect(),
                    message: name_message(),
                });
                continue;
            }
            row.insert(name, text);
        }
        check_values(index, &row, &mut errors);
        out.push(row);
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn name_message() -> String {
    format!("is not a field name: 1 to {} letters, digits, spaces, _ - or .", crate::batches::merge::MAX_FIELD_CHARS)
}

/// Header names must be field names, each once.
fn check_names<'a>(names: impl Iterator<Item = &'a str>, field: &str) -> Vec<RowsError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        if !valid_name(name) {
            errors.push(RowsError::input(field, format!("the header {name:?} {}", name_message())));
        } else if seen.contains(&name) {
            errors.push(RowsError::input(field, format!("the header {name:?} appears twice")));
        }
        seen.push(name);
    }
    errors
}

fn check_values(index: usize, row: &Row, errors: &mut Vec<RowsError>) {
    for (name, value) in row {
        let length = value.chars().count();
        if length > MAX_VALUE_CHARS {
            errors.push(RowsError {
                row: Some(index),
                field: name.clone(),
                message: format!("is {length} characters long; a value holds at most {MAX_VALUE_CHARS}"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_export_is_read() {
        let csv = "\u{FEFF}name,city,line\r\nAda,Oslo,\"Hello, world\"\r\n\"Grace \"\"G\"\" Hopper\", New York ,\"two\nlines\"\r\n";
        let rows = from_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["name"], "Ada", "the byte-order mark is not part of the first header");
        assert_eq!(rows[0]["line"], "Hello, world");
        assert_eq!(rows[1]["name"], "Grace \"G\" Hopper");
        assert_eq!(rows[1]["city"], "New York");
        assert_eq!(rows[1]["line"], "two\nlines");
        let semicolons = from_csv(b"name;city\nAda;Oslo\n").unwrap();
        assert_eq!(semicolons[0]["city"], "Oslo");
    }

    #[test]
    fn bad_csv_is_refused_with_the_row() {
        let errors = from_csv(b"name,city\nAda,Oslo\nGrace\n").unwrap_err();
        assert_eq!(errors[0].row, Some(1));
        assert!(errors[0].message.contains("1 fields where the header has 2"), "{errors:?}");
        assert_eq!(from_csv(b"name,name\nA,B\n").unwrap_err()[0].row, None);
        assert!(from_csv(b"name,\nA,B\n").is_err(), "an empty header");
        assert!(from_csv(b"\xFF\xFEn\x00").is_err());
        assert!(from_csv(b"").is_err());
        let long = format!("name\n{}\n", "x".repeat(MAX_VALUE_CHARS + 1));
        assert_eq!(from_csv(long.as_bytes()).unwrap_err()[0].field, "name");
        let many: String = std::iter::once("n\n".to_string()).chain((0..600).map(|i| format!("{i}\n"))).collect();
        assert_eq!(from_csv(many.as_bytes()).unwrap().len(), MAX_ROWS + 1);
    }

    #[test]
    fn json_rows_take_text_numbers_and_booleans() {
        let rows: Vec<serde_json::Map<String, Value>> = serde_json::from_value(serde_json::json!([
            {"name": " Ada ", "age": 36, "vip": true, "note": null}
        ]))
        .unwrap();
        let rows = from_json(rows).unwrap();
        assert_eq!(rows[0]["name"], "Ada");
        assert_eq!(rows[0]["age"], "36");
        assert_eq!(rows[0]["vip"], "true");
        assert_eq!(rows[0]["note"], "");
        let bad: Vec<serde_json::Map<String, Value>> =
            serde_json::from_value(serde_json::json!([{"ok": "x"}, {"list": [1], "bad/name": "y"}])).unwrap();
        let errors = from_json(bad).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| e.row == Some(1)));
    }
}
