//! The text encodings COPY reads (ENCODING): UTF-8, parsed as it is, and UTF-16 in either byte
//! order, turned into UTF-8 first, so that every later step (splitting records, NULL AS, column
//! lengths in bytes, STL_LOAD_ERRORS' raw lines) sees the text as it is stored.
//!
//! A UTF-16 file is read whole: a byte range of it could start in the middle of a character.
//! A byte order mark at the start of a file is dropped in every encoding: spreadsheet programs
//! write one before UTF-8 CSV, and kept, it would make the first field of the first row invalid.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TextEncoding {
    #[default]
    Utf8,
    /// Byte order from a byte order mark, big-endian without one.
    Utf16,
    Utf16Le,
    Utf16Be,
}

impl TextEncoding {
    /// The encoding ENCODING names, as Redshift spells them.
    pub fn from_name(name: &str) -> Option<TextEncoding> {
        match name.to_ascii_uppercase().as_str() {
            "UTF8" => Some(TextEncoding::Utf8),
            "UTF16" => Some(TextEncoding::Utf16),
            "UTF16LE" => Some(TextEncoding::Utf16Le),
            "UTF16BE" => Some(TextEncoding::Utf16Be),
            _ => None,
        }
    }

    /// `data` as UTF-8, without a byte order mark if it starts its file (`first`). An unpaired
    /// surrogate is an error naming its byte offset, or becomes `replacement` (ACCEPTINVCHARS).
    /// UTF-8 passes as it is: the parser checks it field by field.
    pub fn to_utf8(self, data: &[u8], first: bool, replacement: Option<char>) -> Result<Cow<'_, [u8]>, String> {
        const UTF8_MARK: [u8; 3] = [0xef, 0xbb, 0xbf];
        const LITTLE_ENDIAN_MARK: [u8; 2] = [0xff, 0xfe];
        const BIG_ENDIAN_MARK: [u8; 2] = [0xfe, 0xff];
        let marked = |mark: &[u8]| first && data.starts_with(mark);
        let (little_endian, mark) = match self {
            TextEncoding::Utf8 => return Ok(Cow::Borrowed(if marked(&UTF8_MARK) { &data[UTF8_MARK.len()..] } else { data })),
            TextEncoding::Utf16 if marked(&LITTLE_ENDIAN_MARK) => (true, 2),
            TextEncoding::Utf16 | TextEncoding::Utf16Be => (false, if marked(&BIG_ENDIAN_MARK) { 2 } else { 0 }),
            TextEncoding::Utf16Le => (true, if marked(&LITTLE_ENDIAN_MARK) { 2 } else { 0 }),
        };
        let body = &data[mark..];
        if body.len() % 2 != 0 {
            return Err(format!("UTF-16 text has an odd number of bytes ({}): its last character is cut off", data.len()));
        }
        let units = body.chunks_exact(2).map(|pair| match little_endian {
            true => u16::from_le_bytes([pair[0], pair[1]]),
            false => u16::from_be_bytes([pair[0], pair[1]]),
        });
        let mut text = String::with_capacity(body.len());
        let mut offset = mark;
        for decoded in char::decode_utf16(units) {
            match decoded {
                Ok(c) => {
                    text.push(c);
                    offset += 2 * c.len_utf16();
                }
                Err(e) => {
                    let Some(replacement) = replacement else {
                        return Err(format!(
                            "invalid UTF-16 at byte {offset}: unpaired surrogate {:#06x} (use ACCEPTINVCHARS to replace it)",
                            e.unpaired_surrogate()
                        ));
                    };
                    text.push(replacement);
                    offset += 2;
                }
            }
        }
        Ok(Cow::Owned(text.into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|unit| if little_endian { unit.to_le_bytes() } else { unit.to_be_bytes() })
            .collect()
    }

    #[test]
    fn utf16_in_either_order_becomes_utf8() {
        let text = "1|Zürich|🦀\n2|東京|x\n";
        let little = utf16(text, true);
        let big = utf16(text, false);
        let marked = |mark: [u8; 2], body: &[u8]| [&mark[..], body].concat();
        for (encoding, data) in [
            (TextEncoding::Utf16, marked([0xff, 0xfe], &little)),
            (TextEncoding::Utf16, marked([0xfe, 0xff], &big)),
            (TextEncoding::Utf16, big.clone()),
            (TextEncoding::Utf16Le, little.clone()),
            (TextEncoding::Utf16Le, marked([0xff, 0xfe], &little)),
            (TextEncoding::Utf16Be, big.clone()),
        ] {
            assert_eq!(encoding.to_utf8(&data, true, None).unwrap().as_ref(), text.as_bytes(), "{encoding:?}");
        }
        assert!(matches!(TextEncoding::Utf8.to_utf8(text.as_bytes(), true, None), Ok(Cow::Borrowed(_))));
        // A UTF-8 mark is dropped at the start of a file only: elsewhere it is text.
        let marked = [&[0xef, 0xbb, 0xbf][..], text.as_bytes()].concat();
        assert_eq!(TextEncoding::Utf8.to_utf8(&marked, true, None).unwrap().as_ref(), text.as_bytes());
        assert_eq!(TextEncoding::Utf8.to_utf8(&marked, false, None).unwrap().as_ref(), &marked[..]);
    }

    #[test]
    fn broken_utf16_is_an_error_unless_replaced() {
        let mut data = utf16("ab", true);
        data.extend_from_slice(&0xd800u16.to_le_bytes());
        data.extend_from_slice(&utf16("c", true));
        let error = TextEncoding::Utf16Le.to_utf8(&data, true, None).unwrap_err();
        assert!(error.contains("at byte 4") && error.contains("0xd800"), "{error}");
        assert_eq!(TextEncoding::Utf16Le.to_utf8(&data, true, Some('?')).unwrap().as_ref(), b"ab?c");
        let error = TextEncoding::Utf16Be.to_utf8(&[0, b'a', 0], true, None).unwrap_err();
        assert!(error.contains("odd number of bytes (3)"), "{error}");
        assert_eq!(TextEncoding::from_name("utf16le"), Some(TextEncoding::Utf16Le));
        assert_eq!(TextEncoding::from_name("latin1"), None);
    }
}
