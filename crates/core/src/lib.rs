//! The tiaki pipeline (being built).
