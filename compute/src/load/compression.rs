//! GZIP, BZIP2 and ZSTD files, read by COPY and written by UNLOAD. Redshift takes the codec from
//! the COPY options; like it, a file named `.gz`, `.bz2` or `.zst` is decompressed even without
//! one, so a prefix mixing compressed and plain parts loads as a whole. UNLOAD compresses as a
//! stream ([`Compressor`]) whose finished bytes are drained as they come, so a compressed file
//! is uploaded part by part like a plain one.

use std::io::{Read, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

    /// The extension UNLOAD gives files in this codec, as Redshift does.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => ".gz",
            Compression::Bzip2 => ".bz2",
            Compression::Zstd => ".zst",
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

/// A streaming compressor, or none: the bytes written so far that are final can be taken at
/// any time.
pub enum Compressor {
    Plain(Vec<u8>),
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Bzip2(bzip2::write::BzEncoder<Vec<u8>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Compressor {
    pub fn new(compression: Option<Compression>) -> std::io::Result<Compressor> {
        Ok(match compression {
            None => Compressor::Plain(Vec::new()),
            Some(Compression::Gzip) => {
                Compressor::Gzip(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()))
            }
            Some(Compression::Bzip2) => {
                Compressor::Bzip2(bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default()))
            }
            Some(Compression::Zstd) => Compressor::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 3)?),
        })
    }

    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Compressor::Plain(out) => {
                out.extend_from_slice(data);
                Ok(())
            }
            Compressor::Gzip(e) => e.write_all(data),
            Compressor::Bzip2(e) => e.write_all(data),
            Compressor::Zstd(e) => e.write_all(data),
        }
    }

    /// The compressed bytes produced so far.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(match self {
            Compressor::Plain(out) => out,
            Compressor::Gzip(e) => e.get_mut(),
            Compressor::Bzip2(e) => e.get_mut(),
            Compressor::Zstd(e) => e.get_mut(),
        })
    }

    /// Ends the stream; returns its last bytes.
    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Compressor::Plain(out) => Ok(out),
            Compressor::Gzip(e) => e.finish(),
            Compressor::Bzip2(e) => e.finish(),
            Compressor::Zstd(e) => e.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
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
        for codec in [Compression::Gzip, Compression::Bzip2, Compression::Zstd] {
            let mut compressor = Compressor::new(Some(codec)).unwrap();
            let mut out = Vec::new();
            for chunk in text.chunks(7) {
                compressor.write(chunk).unwrap();
                out.extend(compressor.take());
            }
            out.extend(compressor.finish().unwrap());
            assert_eq!(codec.decompress(&out).unwrap(), text, "{codec:?}");
            assert_eq!(Compression::from_key(&format!("x{}", codec.extension())), Some(codec));
        }
    }
}
