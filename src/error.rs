//! The boundary where strata-core errors become PostgreSQL errors.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::pg_sys::elog::PgLogLevel;
use pgrx::PgSqlErrorCode;
use strata_core::StrataError;

fn error_code(sqlstate: &str) -> PgSqlErrorCode {
    use PgSqlErrorCode::*;
    match sqlstate {
        "22P02" => ERRCODE_INVALID_TEXT_REPRESENTATION,
        "22003" => ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        "22023" => ERRCODE_INVALID_PARAMETER_VALUE,
        "22000" => ERRCODE_DATA_EXCEPTION,
        "22004" => ERRCODE_NULL_VALUE_NOT_ALLOWED,
        "22P03" => ERRCODE_INVALID_BINARY_REPRESENTATION,
        _ => ERRCODE_INTERNAL_ERROR,
    }
}

/// Raises `e` as an ERROR with its SQLSTATE. Never returns.
pub fn raise(e: StrataError) -> ! {
    ErrorReport::new(error_code(e.sqlstate()), e.to_string(), "strata").report(PgLogLevel::ERROR);
    unreachable!("ERROR reports do not return")
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
