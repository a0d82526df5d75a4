//! Compile errors of `#[derive(LineProtocol)]` and `#[derive(FromRow)]`:
//! each case in `tests/ui/` must fail to build with exactly the
//! diagnostics in its `.stderr` file.
//! After a deliberate change to a message (or a compiler upgrade), refresh
//! them with `TRYBUILD=overwrite cargo test --test derive_ui` and read the
//! result.
#![cfg(feature = "derive")]

#[test]
fn misuse_is_a_compile_error_at_the_member() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
