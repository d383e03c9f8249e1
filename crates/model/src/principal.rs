//! `userIdentity`, read into a typed, borrowing struct (it is in every
//! record, so it is read without building a generic JSON tree).
//!
//! Scalars are lenient ([`Lenient`]): strings, numbers and booleans are all
//! text, and a value of the wrong type is absent rather than an error. The
//! whole `userIdentity` is kept as JSON in its own column regardless.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// A scalar read as text; objects, arrays and `null` are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lenient<'a>(pub Option<Cow<'a, str>>);

impl<'a> Lenient<'a> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }

    pub fn to_cow(&self) -> Option<Cow<'a, str>> {
        self.0.clone().filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for LenientVisitor<'a> {
            type Value = Lenient<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Borrowed(if v {
                    "true"
                } else {
                    "false"
                }))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        deserializer.deserialize_any(LenientVisitor(std::marker::PhantomData))
    }
}

/// `userIdentity`.
#[derive(Debug, Default, Deserialize)]
pub struct UserIdentity<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Lenient<'a>,
    #[serde(rename = "principalId", borrow, default)]
    pub principal_id: Lenient<'a>,
    #[serde(borrow, default)]
    pub arn: Lenient<'a>,
    #[serde(rename = "accountId", borrow, default)]
    pub account_id: Lenient<'a>,
    #[serde(rename = "accessKeyId", borrow, default)]
    pub access_key_id: Lenient<'a>,
    #[serde(rename = "userName", borrow, default)]
    pub user_name: Lenient<'a>,
    #[serde(rename = "invokedBy", borrow, default)]
    pub invoked_by: Lenient<'a>,
    #[serde(rename = "identityProvider", borrow, default)]
    pub identity_provider: Lenient<'a>,
    #[serde(rename = "sessionContext", borrow, default)]
    pub session_context: Option<SessionContext<'a>>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Default, Deserialize)]
pub struct SessionContext<'a> {
    #[serde(rename = "sessionIssuer", borrow, default)]
    pub session_issuer: Option<SessionIssuer<'a>>,
    /// Present on web-identity (Cognito, OIDC) sessions; small, so a tree.
    #[serde(rename = "webIdFederationData", default)]
    pub web_id_federation_data: Option<Value>,
    #[serde(borrow, default)]
    pub attributes: Option<SessionAttributes<'a>>,
}

/// `sessionContext.sessionIssuer`.
#[derive(Debug, Default, Deserialize)]
pub struct SessionIssuer<'a> {
    #[serde(borrow, default)]
    pub arn: Lenient<'a>,
    #[serde(rename = "userName", borrow, default)]
    pub user_name: Lenient<'a>,
}

/// `sessionContext.attributes`.
#[derive(Debug, Default, Deserialize)]
pub struct SessionAttributes<'a> {
    #[serde(rename = "creationDate", borrow, default)]
    pub creation_date: Lenient<'a>,
    #[serde(rename = "mfaAuthenticated", borrow, default)]
    pub mfa_authenticated: Lenient<'a>,
}

impl<'a> UserIdentity<'a> {
    /// Reads `userIdentity`; a shape too broken to read (a nested object of
    /// the wrong type) gives `None`, and the raw JSON column still holds it.
    pub fn parse(text: &'a str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    pub fn session_issuer(&self) -> Option<&SessionIssuer<'a>> {
        self.session_context.as_ref()?.session_issuer.as_ref()
    }

    pub fn web_id_federation_data(&self) -> Option<&Value> {
        self.session_context
            .as_ref()?
            .web_id_federation_data
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_scalars_and_ignored_structures() {
        let identity = UserIdentity::parse(
            r#"{"type":"AssumedRole","accountId":111122223333,"userName":{"odd":true},"extra":[1,2],
                "sessionContext":{"attributes":{"mfaAuthenticated":false,"creationDate":"2024-01-01T00:00:00Z"},
                "sessionIssuer":{"arn":"arn:aws:iam::1:role/R"},"webIdFederationData":{"federatedProvider":"x"}}}"#,
        )
        .unwrap();
        assert_eq!(identity.kind.as_deref(), Some("AssumedRole"));
        assert_eq!(identity.account_id.as_deref(), Some("111122223333"));
        assert_eq!(identity.user_name.as_deref(), None);
        assert_eq!(
            identity.session_issuer().unwrap().arn.as_deref(),
            Some("arn:aws:iam::1:role/R")
        );
        let attributes = identity
            .session_context
            .as_ref()
            .unwrap()
            .attributes
            .as_ref()
            .unwrap();
        assert_eq!(attributes.mfa_authenticated.as_deref(), Some("false"));
        assert_eq!(
            identity.web_id_federation_data().unwrap()["federatedProvider"],
            "x"
        );
        assert!(matches!(identity.kind.0, Some(Cow::Borrowed(_))));
    }
}
