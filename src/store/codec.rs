//! Record encoding: one version byte, then JSON. Decoding never panics: a
//! record of an unknown version or shape is reported as corruption, naming
//! the table, so the operator learns what is wrong instead of seeing a crash.

use redb::AccessGuard;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// A type kept as a record. Its table name (for error messages) and layout
/// version are stated here once, instead of at every read and write.
pub trait Record: Serialize + DeserializeOwned {
    const TABLE: &'static str;
    const VERSION: u8;

    fn to_bytes(&self) -> Vec<u8> {
        encode(Self::VERSION, self)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        decode(Self::TABLE, Self::VERSION, bytes)
    }

    /// Decodes what a table's `get` or `remove` found, if anything.
    fn from_found(
        found: Option<AccessGuard<'_, &'static [u8]>>,
    ) -> Result<Option<Self>, StoreError> {
        found.map(|v| Self::from_bytes(v.value())).transpose()
    }
}

pub fn encode<T: Serialize>(version: u8, value: &T) -> Vec<u8> {
    let mut bytes = vec![version];
    // Serialising our own plain structs to a Vec cannot fail.
    serde_json::to_writer(&mut bytes, value).expect("records serialise to JSON");
    bytes
}

pub fn decode<T: DeserializeOwned>(
    table: &'static str,
    version: u8,
    bytes: &[u8],
) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&found, body)) if found == version => {
            serde_json::from_slice(body).map_err(|e| StoreError::Corrupt {
                table,
                reason: e.to_string(),
            })
        }
        Some((&found, _)) => Err(StoreError::Corrupt {
            table,
            reason: format!("record version {found}, expected {version}"),
        }),
        None => Err(StoreError::Corrupt {
            table,
            reason: "empty record".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let bytes = encode(3, &vec![1, 2]);
        assert_eq!(decode::<Vec<u8>>("t", 3, &bytes).unwrap(), vec![1, 2]);
        assert!(decode::<Vec<u8>>("t", 4, &bytes).is_err());
        assert!(decode::<Vec<u8>>("t", 3, &[]).is_err());
        assert!(decode::<Vec<u8>>("t", 3, &[3, b'{']).is_err());
    }
}
