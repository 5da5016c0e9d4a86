//! One shape for the validated text types (email, names, phone, role name).
//!
//! Each such type is a tuple struct over a `String` with an associated
//! `parse(&str) -> Result<Self, &'static str>` that is the only way to build
//! one. [`validated_string!`] adds the glue they all need, written once:
//! `as_str`, `Display`, `AsRef<str>`, `TryFrom<String>`, `From<T> for
//! String`, and serde as a plain string that is parsed again on the way in,
//! so a stored or submitted value can never bypass the rules.

/// Implements the shared glue for `$type`, a `struct $type(String)` with a
/// `parse` function. See the module documentation. A second argument names
/// the function that reads a stored value instead of `parse`, for a type
/// with a stored value no form may give (an invited user's empty name).
macro_rules! validated_string {
    ($type:ident) => {
        $crate::domain::newtype::validated_string!($type, $type::parse);
    };
    ($type:ident, $decode:path) => {
        impl $type {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::convert::TryFrom<String> for $type {
            type Error = &'static str;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl ::std::convert::From<$type> for String {
            fn from(value: $type) -> Self {
                value.0
            }
        }

        impl ::std::convert::AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::serde::Serialize for $type {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                $decode(&text).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use validated_string;

#[cfg(test)]
mod tests {
    use crate::domain::{Email, PersonName, Phone, RoleName};

    /// Every type built with the macro serialises as its text and refuses,
    /// on the way in, what its parser refuses.
    #[test]
    fn every_validated_string_round_trips_and_refuses_invalid_json() {
        fn check<T>(valid: &str, invalid: &str)
        where
            T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Display,
            T: TryFrom<String> + Into<String> + AsRef<str>,
        {
            let json = serde_json::to_string(valid).unwrap();
            let value: T = serde_json::from_str(&json).unwrap();
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
            assert_eq!(value.to_string(), valid);
            assert_eq!(value.as_ref(), valid);
            let bad = serde_json::to_string(invalid).unwrap();
            assert!(serde_json::from_str::<T>(&bad).is_err(), "{invalid:?}");
            assert!(T::try_from(invalid.to_owned()).is_err(), "{invalid:?}");
            let back: String = T::try_from(valid.to_owned()).ok().unwrap().into();
            assert_eq!(back, valid);
        }
        check::<Email>("ada@example.com", "not an email");
        check::<PersonName>("Ada", "A\u{202e}da");
        check::<Phone>("+44 20 7946 0958", "call me");
        check::<RoleName>("Help desk", "Help\u{200b}desk");
    }
}
