//! The macro that declares typed views: every field optional, unknown properties kept.
//!
//! Views are tolerant on purpose: a partner's object missing a property the specification
//! requires is still readable; [`crate::validate`] is where the rules are enforced.

/// Declares a view struct of optional fields plus an `extra` map, and its [`crate::TypedObject`] impl.
macro_rules! stix_view {
    (
        $(#[$m:meta])*
        $name:ident = $ty:literal {
            $( $(#[$fm:meta])* $field:ident : $fty:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$fty>,
            )*
            /// Every other property (custom `x_` properties included), kept as read.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $crate::object::TypedObject for $name {
            const TYPE: &'static str = $ty;
        }
    };
}
