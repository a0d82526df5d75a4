//! Administration helpers: databases and retention policies, written as
//! InfluxQL with every name quoted, so any name works and none can inject.

use crate::error::Error;
use crate::influxql::quote_ident;
use crate::Client;

impl Client {
    /// Creates a database (no error if it exists).
    ///
    /// # Errors
    /// When the server refuses, e.g. for lack of admin privilege.
    pub async fn create_database(&self, name: &str) -> Result<(), Error> {
        self.query_json(format!("CREATE DATABASE {}", quote_ident(name)))
            .await
            .map(drop)
    }

    /// Drops a database and all its data (no error if it does not exist).
    ///
    /// # Errors
    /// When the server refuses, e.g. for lack of admin privilege.
    pub async fn drop_database(&self, name: &str) -> Result<(), Error> {
        self.query_json(format!("DROP DATABASE {}", quote_ident(name)))
            .await
            .map(drop)
    }
}
