//! One error type for everything the SQL surface can reject, and the
//! SQLSTATEs strata reports. The pgrx layer maps each [`SqlState`] to
//! PostgreSQL's error code at the boundary (`src/error.rs`, an exhaustive
//! match), so the algorithms never talk to PostgreSQL's error machinery and
//! no condition falls back to "internal error" unnoticed.

use std::fmt;

/// The SQLSTATEs strata raises (PostgreSQL's errcodes.txt names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlState {
    /// 00000: what a NOTICE carries.
    SuccessfulCompletion,
    /// 22P02
    InvalidTextRepresentation,
    /// 22003
    NumericValueOutOfRange,
    /// 22023
    InvalidParameterValue,
    /// 22000
    DataException,
    /// 22004
    NullValueNotAllowed,
    /// 22P03
    InvalidBinaryRepresentation,
    /// 2202E
    ArraySubscriptError,
    /// 42804
    DatatypeMismatch,
    /// 42703
    UndefinedColumn,
    /// 42809
    WrongObjectType,
    /// 42501
    InsufficientPrivilege,
    /// 0A000
    FeatureNotSupported,
    /// 54000
    ProgramLimitExceeded,
    /// 53200
    OutOfMemory,
    /// 53100
    DiskFull,
    /// 53400
    ConfigurationLimitExceeded,
    /// 58030
    IoError,
    /// 57014
    QueryCanceled,
    /// 40001
    SerializationFailure,
    /// XX002
    IndexCorrupted,
    /// XX000: a bug in strata, never a condition a user can fix.
    InternalError,
}

impl SqlState {
    pub fn code(self) -> &'static str {
        use SqlState::*;
        match self {
            SuccessfulCompletion => "00000",
            InvalidTextRepresentation => "22P02",
            NumericValueOutOfRange => "22003",
            InvalidParameterValue => "22023",
            DataException => "22000",
            NullValueNotAllowed => "22004",
            InvalidBinaryRepresentation => "22P03",
            ArraySubscriptError => "2202E",
            DatatypeMismatch => "42804",
            UndefinedColumn => "42703",
            WrongObjectType => "42809",
            InsufficientPrivilege => "42501",
            FeatureNotSupported => "0A000",
            ProgramLimitExceeded => "54000",
            OutOfMemory => "53200",
            DiskFull => "53100",
            ConfigurationLimitExceeded => "53400",
            IoError => "58030",
            QueryCanceled => "57014",
            SerializationFailure => "40001",
            IndexCorrupted => "XX002",
            InternalError => "XX000",
        }
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

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
    /// A subscript or slice outside a vector's dimensions (`what`: as written).
    Subscript { what: String, dims: usize },
}

impl StrataError {
    /// The SQLSTATE PostgreSQL should report.
    pub fn sqlstate(&self) -> SqlState {
        use StrataError::*;
        match self {
            InvalidSyntax { .. } | InvalidSyntaxDetail { .. } => SqlState::InvalidTextRepresentation,
            OutOfRange { .. } | Overflow { .. } => SqlState::NumericValueOutOfRange,
            NotFinite { .. } | Empty { .. } | TooManyDimensions { .. } | InvalidTypmod { .. } => SqlState::InvalidParameterValue,
            // data_exception, as pgvector
            WrongDimensions { .. } | DimensionMismatch { .. } => SqlState::DataException,
            // null_value_not_allowed: NULLs or a shape an array cannot have
            InvalidArray { .. } => SqlState::NullValueNotAllowed,
            InvalidBinary { .. } => SqlState::InvalidBinaryRepresentation,
            Subscript { .. } => SqlState::ArraySubscriptError,
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
            Subscript { what, dims } => write!(f, "{what} is out of range for {dims} dimensions"),
        }
    }
}

impl std::error::Error for StrataError {}
