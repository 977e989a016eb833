//! The one boundary where strata's errors become PostgreSQL errors.
//!
//! Every condition is raised through [`Report`] with a [`SqlState`] from
//! strata-core, mapped here by an exhaustive match: a new SQLSTATE cannot be
//! added without saying what PostgreSQL code it is, and nothing falls back
//! to "internal error" (XX000) silently. XX000 is only for strata's own bugs
//! (a Rust panic becomes one too).

use pgrx::pg_sys::elog::PgLogLevel;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgSqlErrorCode;
use strata_core::{SqlState, StrataError};

fn pg_code(state: SqlState) -> PgSqlErrorCode {
    use PgSqlErrorCode::*;
    use SqlState::*;
    match state {
        SuccessfulCompletion => ERRCODE_SUCCESSFUL_COMPLETION,
        InvalidTextRepresentation => ERRCODE_INVALID_TEXT_REPRESENTATION,
        NumericValueOutOfRange => ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        InvalidParameterValue => ERRCODE_INVALID_PARAMETER_VALUE,
        DataException => ERRCODE_DATA_EXCEPTION,
        NullValueNotAllowed => ERRCODE_NULL_VALUE_NOT_ALLOWED,
        InvalidBinaryRepresentation => ERRCODE_INVALID_BINARY_REPRESENTATION,
        // PostgreSQL's ERRCODE_ARRAY_SUBSCRIPT_ERROR, which pgrx names by its twin code.
        ArraySubscriptError => ERRCODE_ARRAY_ELEMENT_ERROR,
        DatatypeMismatch => ERRCODE_DATATYPE_MISMATCH,
        UndefinedColumn => ERRCODE_UNDEFINED_COLUMN,
        WrongObjectType => ERRCODE_WRONG_OBJECT_TYPE,
        InsufficientPrivilege => ERRCODE_INSUFFICIENT_PRIVILEGE,
        FeatureNotSupported => ERRCODE_FEATURE_NOT_SUPPORTED,
        ProgramLimitExceeded => ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        OutOfMemory => ERRCODE_OUT_OF_MEMORY,
        DiskFull => ERRCODE_DISK_FULL,
        ConfigurationLimitExceeded => ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
        IoError => ERRCODE_IO_ERROR,
        QueryCanceled => ERRCODE_QUERY_CANCELED,
        SerializationFailure => ERRCODE_T_R_SERIALIZATION_FAILURE,
        IndexCorrupted => ERRCODE_INDEX_CORRUPTED,
        InternalError => ERRCODE_INTERNAL_ERROR,
    }
}

/// An error about to be raised: SQLSTATE, message, and optional detail and hint.
#[must_use = "a Report does nothing until raised"]
pub struct Report {
    state: SqlState,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
    function: &'static str,
}

impl Report {
    pub fn new(state: SqlState, message: impl Into<String>) -> Report {
        Report { state, message: message.into(), detail: None, hint: None, function: "strata" }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Report {
        self.detail = Some(detail.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Report {
        self.hint = Some(hint.into());
        self
    }

    /// The SQL function the error is reported from (its CONTEXT).
    pub fn function(mut self, function: &'static str) -> Report {
        self.function = function;
        self
    }

    fn report(self, level: PgLogLevel) {
        let mut report = ErrorReport::new(pg_code(self.state), self.message, self.function);
        if let Some(detail) = self.detail {
            report = report.set_detail(detail);
        }
        if let Some(hint) = self.hint {
            report = report.set_hint(hint);
        }
        report.report(level);
    }

    /// Raises the error (ERROR level): the statement ends here.
    pub fn raise(self) -> ! {
        self.report(PgLogLevel::ERROR);
        unreachable!("ERROR reports do not return")
    }

    /// Sends it to the client as a NOTICE; the statement goes on.
    pub fn notice(self) {
        self.report(PgLogLevel::NOTICE);
    }
}

/// Raises `e` as an ERROR with its SQLSTATE. Never returns.
pub fn raise(e: StrataError) -> ! {
    Report::new(e.sqlstate(), e.to_string()).raise()
}

/// Unwraps a core result or raises its error.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, StrataError> {
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(e),
        }
    }
}
