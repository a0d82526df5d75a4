pub fn x(){}
pub mod query;
