//! Record encoding: one version byte, then JSON. Decoding never panics: a
//! record of an unknown version or shape is reported as corruption, naming
//! the table, so the operator learns what is wrong instead of seeing a crash.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

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
