//! One error type for everything the SQL surface can reject. The pgrx layer
//! maps each variant to its SQLSTATE at the boundary (`sqlstate()`), so the
//! algorithms never talk to PostgreSQL's error machinery.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum StrataError {
    /// Malformed text: `invalid input syntax for type vector: "[1,,2]"`.
    InvalidSyntax { type_name: &'static str, input: String },
    /// Detail on a malformed text input, e.g. the offending element.
    InvalidSyntaxDetail { type_name: &'static str, input: String, detail: String },
    /// A number that does not fit the element type.
    OutOfRange { type_name: &'static str, value: String },
    /// Arithmetic whose result does not fit the element type.
    Overflow { type_name: &'static str },
    /// NaN or infinity where only finite numbers make sense.
    NotFinite { type_name: &'static str },
    /// Zero dimensions.
    Empty { type_name: &'static str },
    /// More dimensions than the type can hold.
    TooManyDimensions { type_name: &'static str, dims: usize, max: usize },
    /// A typmod outside 1..=max.
    InvalidTypmod { type_name: &'static str, max: usize },
    /// A value whose dimensions differ from the column's typmod.
    WrongDimensions { expected: usize, actual: usize },
    /// Two operands of different dimensions.
    DimensionMismatch { left: usize, right: usize },
    /// An array that cannot become a vector (NULLs, several dimensions).
    InvalidArray { reason: &'static str },
    /// Binary input that is not a valid encoding.
    InvalidBinary { type_name: &'static str, reason: String },
}

impl StrataError {
    /// The SQLSTATE PostgreSQL should report.
    pub fn sqlstate(&self) -> &'static str {
        use StrataError::*;
        match self {
            InvalidSyntax { .. } | InvalidSyntaxDetail { .. } => "22P02", // invalid_text_representation
            OutOfRange { .. } | Overflow { .. } => "22003",                                  // numeric_value_out_of_range
            NotFinite { .. } => "22023",                                   // invalid_parameter_value
            Empty { .. } | TooManyDimensions { .. } => "22023",
            InvalidTypmod { .. } => "22023",
            WrongDimensions { .. } => "22000", // data_exception, as pgvector
            DimensionMismatch { .. } => "22000",
            InvalidArray { .. } => "22004", // null_value_not_allowed / array shape
            InvalidBinary { .. } => "22P03", // invalid_binary_representation
        }
    }
}

impl fmt::Display for StrataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StrataError::*;
        match self {
            InvalidSyntax { type_name, input } => {
                write!(f, "invalid input syntax for type {type_name}: \"{input}\"")
            }
            InvalidSyntaxDetail { type_name, input, detail } => {
                write!(f, "invalid input syntax for type {type_name}: \"{input}\" ({detail})")
            }
            OutOfRange { type_name, value } => {
                write!(f, "\"{value}\" is out of range for type {type_name}")
            }
            Overflow { type_name } => write!(f, "{type_name} value out of range: overflow"),
            NotFinite { type_name } => write!(f, "NaN or Infinity is not allowed in type {type_name}"),
            Empty { type_name } => write!(f, "{type_name} must have at least 1 dimension"),
            TooManyDimensions { type_name, dims, max } => {
                write!(f, "{type_name} cannot have more than {max} dimensions, got {dims}")
            }
            InvalidTypmod { type_name, max } => {
                write!(f, "dimensions for type {type_name} must be between 1 and {max}")
            }
            WrongDimensions { expected, actual } => {
                write!(f, "expected {expected} dimensions, not {actual}")
            }
            DimensionMismatch { left, right } => {
                write!(f, "different vector dimensions {left} and {right}")
            }
            InvalidArray { reason } => write!(f, "{reason}"),
            InvalidBinary { type_name, reason } => {
                write!(f, "invalid binary representation of type {type_name}: {reason}")
            }
        }
    }
}

impl std::error::Error for StrataError {}
