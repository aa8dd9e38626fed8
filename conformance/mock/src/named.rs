//! Named switches: a [`Fault`](crate::Fault), a [`Behaviour`](crate::Behaviour) and a
//! [`Variation`](crate::Variation) are each a closed list of names (as in JSON and on
//! the command line), each name with a one-line description. One macro writes what
//! makes a name a name for all three: the list, `name`, `description`, `Display`, serde
//! as the name, `FromStr`, and the error of an unknown name.

/// Declares a `Copy` enum whose variants are named by string literals, and the error of
/// a name that is none of them:
///
/// ```text
/// named! {
///     /// The enum's docs.
///     pub enum Fault {
///         /// The variant's one-line description.
///         NoAuth = "no_auth",
///     }
///     /// The error's docs.
///     pub struct UnknownFault("fault", "faults");
/// }
/// ```
///
/// The two literals of the error are the kind's singular and plural, which its message
/// names (`unknown fault "x"; known faults: no_auth, ...`).
macro_rules! named {
    (
        $(#[$attr:meta])*
        pub enum $ty:ident {
            $( $(#[doc = $doc:literal])* $variant:ident = $name:literal, )+
        }
        $(#[$unknown_attr:meta])*
        pub struct $unknown:ident($kind:literal, $kinds:literal);
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl $ty {
            #[doc = concat!("Every ", $kind, ", in declaration order.")]
            pub const ALL: &'static [$ty] = &[ $( $ty::$variant, )+ ];

            #[doc = concat!("The ", $kind, "'s name (as in JSON and on the command line).")]
            pub fn name(self) -> &'static str {
                match self { $( $ty::$variant => $name, )+ }
            }

            /// The one-line description (the variant's doc line).
            pub fn description(self) -> &'static str {
                match self { $( $ty::$variant => concat!($($doc),*).trim_ascii(), )+ }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        /// On the wire, its name (a string).
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                name.parse().map_err(::serde::de::Error::custom)
            }
        }

        $(#[$unknown_attr])*
        #[derive(Debug)]
        pub struct $unknown {
            given: String,
            known: String,
        }

        impl ::std::fmt::Display for $unknown {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(
                    f,
                    "unknown {} {:?}; known {}: {}",
                    $kind, self.given, $kinds, self.known
                )
            }
        }

        impl ::std::error::Error for $unknown {}

        impl ::std::str::FromStr for $ty {
            type Err = $unknown;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name() == s)
                    .ok_or_else(|| $unknown {
                        given: s.to_owned(),
                        known: $ty::ALL
                            .iter()
                            .map(|v| v.name())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            }
        }
    };
}

pub(crate) use named;

#[cfg(test)]
mod tests {
    use std::{fmt::Display, str::FromStr};

    use serde::{Serialize, de::DeserializeOwned};

    use crate::{behaviour::Behaviour, fault::Fault, variation::Variation};

    /// Every name of `all` goes through `Display`, serde and `FromStr` and comes back;
    /// every variant is described; an unknown name is refused, naming the known ones.
    fn names_round_trip<T>(all: &[T], kind: &str)
    where
        T: Copy + PartialEq + std::fmt::Debug + Display + Serialize + DeserializeOwned,
        T: FromStr<Err: Display>,
    {
        for v in all {
            let name = v.to_string();
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
            assert_eq!(name.parse::<T>().ok(), Some(*v));
        }
        let e = "nope".parse::<T>().err().unwrap().to_string();
        let first = all[0].to_string();
        assert!(
            e.starts_with(&format!("unknown {kind} \"nope\"; known ")),
            "{e}"
        );
        assert!(e.contains(&first), "{e}");
        assert!(serde_json::from_str::<T>("\"nope\"").is_err());
    }

    #[test]
    fn every_kind_of_name_round_trips_and_is_described() {
        names_round_trip(Fault::ALL, "fault");
        names_round_trip(Behaviour::ALL, "behaviour");
        names_round_trip(Variation::ALL, "variation");
        assert!(Fault::ALL.iter().all(|f| !f.description().is_empty()));
        assert!(Behaviour::ALL.iter().all(|b| !b.description().is_empty()));
        assert!(Variation::ALL.iter().all(|v| !v.description().is_empty()));
        assert_eq!(
            Variation::ExtraMember.description(),
            "The factor list carries an undeclared member, `\"tenantRelease\": \"26.1.0\"` \
             (unknown members are allowed: reported, never a failure)."
        );
    }
}
