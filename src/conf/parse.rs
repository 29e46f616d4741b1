//! nom grammar for lines, words and sections.
