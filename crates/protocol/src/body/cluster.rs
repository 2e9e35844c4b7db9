//! Placeholder: written with the issue that needs it.
