//! GZIP, BZIP2 and ZSTD load files. Redshift takes the codec from the COPY options; like it, a
//! file named `.gz`, `.bz2` or `.zst` is decompressed even without one, so a prefix mixing
//! compressed and plain parts loads as a whole.

use std::io::Read;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Bzip2,
    Zstd,
}

impl Compression {
    /// The codec a key's extension names.
    pub fn from_key(key: &str) -> Option<Compression> {
        let key = key.to_ascii_lowercase();
        if key.ends_with(".gz") || key.ends_with(".gzip") {
            Some(Compression::Gzip)
        } else if key.ends_with(".bz2") {
            Some(Compression::Bzip2)
        } else if key.ends_with(".zst") || key.ends_with(".zstd") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    pub fn decompress(self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(data.len() * 4);
        let result = match self {
            // Multi-member readers: concatenated gzip/bzip2 streams are one file, as with gunzip.
            Compression::Gzip => flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out),
            Compression::Bzip2 => bzip2::read::MultiBzDecoder::new(data).read_to_end(&mut out),
            Compression::Zstd => zstd::stream::read::Decoder::new(data).and_then(|mut d| d.read_to_end(&mut out)),
        };
        result.map_err(|e| format!("cannot decompress {self:?} data: {e}"))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn round_trips() {
        let text = b"1|a\n2|b\n".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&text).unwrap();
        let zst = zstd::encode_all(&text[..], 1).unwrap();
        assert_eq!(Compression::Gzip.decompress(&gz.finish().unwrap()).unwrap(), text);
        assert_eq!(Compression::Bzip2.decompress(&bz.finish().unwrap()).unwrap(), text);
        assert_eq!(Compression::Zstd.decompress(&zst).unwrap(), text);
        assert_eq!(Compression::from_key("a/b.csv.GZ"), Some(Compression::Gzip));
        assert_eq!(Compression::from_key("a/b.csv"), None);
        assert!(Compression::Gzip.decompress(b"not gzip").is_err());
    }
}
