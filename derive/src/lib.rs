//! `#[derive(LineProtocol)]` and `#[derive(FromRow)]` for
//! [influx-stream](https://docs.rs/influx-stream): implement
//! `influx_stream::ToLineProtocol` (a struct written as a point) and
//! `influx_stream::FromRow` (a struct read from a query row) for a struct
//! with named fields. Both read the same `#[influx(...)]` attributes, so one
//! struct can derive both.
//!
//! Use them through `influx_stream::LineProtocol` and
//! `influx_stream::FromRow` (feature `derive`, on by default); the
//! attributes are documented there.
//!
//! The generated code names everything by absolute path
//! (`::influx_stream::...`, `::core::...`), so the crate must be a direct
//! dependency under its own name.

use std::collections::HashSet;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Error, Fields, GenericArgument, Ident, LitStr, PathArguments,
    Result, Type, WherePredicate,
};

/// (The macro itself lives in the `influx-stream-derive` crate.)
#[proc_macro_derive(LineProtocol, attributes(influx))]
pub fn derive_line_protocol(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// (The macro itself lives in the `influx-stream-derive` crate.)
#[proc_macro_derive(FromRow, attributes(influx))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand_from_row(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// What a struct member becomes in the line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Field,
    Tag,
    Time,
    Measurement,
    Skip,
}

impl Role {
    fn word(self) -> &'static str {
        match self {
            Role::Field => "field",
            Role::Tag => "tag",
            Role::Time => "time",
            Role::Measurement => "measurement",
            Role::Skip => "skip",
        }
    }
}

/// One member of the struct with its parsed `#[influx(...)]` attributes.
struct Member<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    role: Role,
    /// The key written (tags and fields): `rename` or the member's name.
    key: String,
    /// Where to point errors about the key.
    key_span: Span,
    /// `#[influx(default)]`: read as `Default::default()` when missing or
    /// null (reading only).
    default: bool,
}

const ROLES_HELP: &str =
    "expected one of `tag`, `field`, `time`, `measurement`, `skip`, `rename = \"...\"`, `default`";

fn expand(input: &DeriveInput) -> Result<TokenStream2> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            Fields::Unnamed(unnamed) => {
                return Err(Error::new_spanned(
                    unnamed,
                    "#[derive(LineProtocol)] needs a struct with named fields: their names are the tag and field keys (tuple structs have none)",
                ))
            }
            Fields::Unit => {
                return Err(Error::new_spanned(
                    name,
                    format!("`{name}` has no fields; InfluxDB needs at least one field per point"),
                ))
            }
        },
        Data::Enum(e) => {
            return Err(Error::new_spanned(
                e.enum_token,
                "#[derive(LineProtocol)] supports structs only, not enums: implement ToLineProtocol by hand, or derive it for one struct per variant",
            ))
        }
        Data::Union(u) => {
            return Err(Error::new_spanned(
                u.union_token,
                "#[derive(LineProtocol)] supports structs only, not unions",
            ))
        }
    };

    let mut errors: Option<Error> = None;
    let mut push = |e: Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };

    let struct_measurement = struct_attrs(&input.attrs).unwrap_or_else(|e| {
        push(e);
        None
    });

    let mut members = Vec::new();
    // A member whose attributes could not be read has no known role: the
    // checks on the whole struct would only add confusing errors.
    let mut unknown_roles = false;
    for f in fields {
        let ident = f.ident.as_ref().expect("named fields have names");
        match member(ident, &f.ty, &f.attrs) {
            Ok(m) => members.push(m),
            Err(e) => {
                unknown_roles = true;
                push(e);
            }
        }
    }

    // At most one time member and one measurement member.
    for role in [Role::Time, Role::Measurement] {
        let mut with_role = members.iter().filter(|m| m.role == role);
        if let Some(first) = with_role.next() {
            for extra in with_role {
                push(Error::new_spanned(
                    extra.ident,
                    format!(
                        "a second #[influx({})] member; `{}` already is the {}: keep one",
                        role.word(),
                        first.ident,
                        if role == Role::Time {
                            "timestamp"
                        } else {
                            "measurement"
                        }
                    ),
                ));
            }
        }
    }
    let measurement_member = members.iter().find(|m| m.role == Role::Measurement);
    match (&struct_measurement, measurement_member) {
        (None, None) if unknown_roles => {}
        (None, None) => push(Error::new_spanned(
            name,
            format!(
                "`{name}` names no measurement: add #[influx(measurement = \"...\")] to the struct, or mark a String or &str member #[influx(measurement)]"
            ),
        )),
        (Some(_), Some(m)) => push(Error::new_spanned(
            m.ident,
            "the measurement is given twice: by #[influx(measurement = \"...\")] on the struct and by this member; keep one",
        )),
        _ => {}
    }

    // Tag and field keys: at least one field, no key twice, none InfluxDB refuses.
    if !unknown_roles && !members.iter().any(|m| m.role == Role::Field) {
        push(Error::new_spanned(
            name,
            format!(
                "`{name}` has no field to write; InfluxDB needs at least one field per point (members are fields unless marked #[influx(tag)], #[influx(time)], #[influx(measurement)] or #[influx(skip)])"
            ),
        ));
    }
    let mut seen = HashSet::new();
    for m in members
        .iter()
        .filter(|m| matches!(m.role, Role::Tag | Role::Field))
    {
        if let Err(e) = check_key(m) {
            push(e);
        } else if !seen.insert(m.key.as_str()) {
            push(Error::new(
                m.key_span,
                format!(
                    "the key {:?} is written twice; tag and field keys must be unique (use #[influx(rename = \"...\")])",
                    m.key
                ),
            ));
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }

    let point = match (&struct_measurement, measurement_member) {
        (Some(lit), _) => quote!(__out.point(#lit)?),
        (None, Some(m)) => {
            let ident = m.ident;
            quote_spanned!(at_type(m)=>
                __out.point(::influx_stream::__private::Measurement::measurement(&self.#ident))?
            )
        }
        (None, None) => unreachable!("reported above"),
    };

    // Tags in key order, as InfluxDB stores them; fields in member order.
    let mut tags: Vec<&Member> = members.iter().filter(|m| m.role == Role::Tag).collect();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    let tags = tags.iter().map(|m| write_tag(m));
    let fields = members.iter().filter(|m| m.role == Role::Field).map(|m| {
        let (ident, key) = (m.ident, &m.key);
        quote_spanned!(at_type(m)=>
            ::influx_stream::__private::Field::write_field(&self.#ident, &mut __p, #key)?;
        )
    });
    let time = match members.iter().find(|m| m.role == Role::Time) {
        Some(m) => {
            let ident = m.ident;
            quote_spanned!(at_type(m)=> ::influx_stream::__private::Time::nanos(&self.#ident))
        }
        None => quote!(::core::option::Option::None),
    };

    // Generic members need the bounds their role relies on.
    let params: HashSet<&Ident> = input.generics.type_params().map(|p| &p.ident).collect();
    let mut generics = input.generics.clone();
    if !params.is_empty() {
        let predicates = &mut generics.make_where_clause().predicates;
        for m in &members {
            if !mentions(m.ty.to_token_stream(), &params) {
                continue;
            }
            if let Some(bound) = bound(m) {
                predicates.push(bound);
            }
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::influx_stream::ToLineProtocol for #name #ty_generics #where_clause {
            #[inline]
            fn write_lines(
                &self,
                __out: &mut ::influx_stream::LineWriter<'_>,
            ) -> ::core::result::Result<(), ::influx_stream::Error> {
                let mut __p = #point;
                #(#tags)*
                #(#fields)*
                __p.finish(#time)
            }
        }
    })
}

/// `#[influx(measurement = "...")]` on the struct.
fn struct_attrs(attrs: &[Attribute]) -> Result<Option<LitStr>> {
    let mut measurement: Option<LitStr> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("influx")) {
        attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("measurement") {
                return Err(meta.error(
                    "unknown #[influx] attribute on a struct; expected `measurement = \"...\"`",
                ));
            }
            let lit: LitStr = meta.value()?.parse()?;
            let value = lit.value();
            if value.is_empty() {
                return Err(Error::new_spanned(&lit, "the measurement name is empty"));
            }
            if value.contains('\n') {
                return Err(Error::new_spanned(
                    &lit,
                    "the measurement name contains a newline, which line protocol cannot carry",
                ));
            }
            if measurement.is_some() {
                return Err(Error::new_spanned(&lit, "the measurement is given twice"));
            }
            measurement = Some(lit);
            Ok(())
        })?;
    }
    Ok(measurement)
}

/// Parses a member's `#[influx(...)]` attributes.
fn member<'a>(ident: &'a Ident, ty: &'a Type, attrs: &[Attribute]) -> Result<Member<'a>> {
    let mut role: Option<(Role, Span)> = None;
    let mut rename: Option<LitStr> = None;
    let mut default = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("influx")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                if default {
                    return Err(meta.error("`default` is given twice"));
                }
                default = true;
                return Ok(());
            }
            if meta.path.is_ident("rename") {
                let lit: LitStr = meta.value()?.parse()?;
                if rename.is_some() {
                    return Err(Error::new_spanned(&lit, "`rename` is given twice"));
                }
                rename = Some(lit);
                return Ok(());
            }
            let found = [Role::Tag, Role::Field, Role::Time, Role::Measurement, Role::Skip]
                .into_iter()
                .find(|r| meta.path.is_ident(r.word()));
            let Some(found) = found else {
                return Err(meta.error(format!("unknown #[influx] attribute; {ROLES_HELP}")));
            };
            if found == Role::Measurement && meta.input.peek(syn::Token![=]) {
                return Err(meta.error(
                    "on a member, write #[influx(measurement)] (the member holds the name); a fixed name goes on the struct: #[influx(measurement = \"...\")]",
                ));
            }
            if let Some((prev, _)) = role {
                return Err(meta.error(format!(
                    "`{}` conflicts with `{}`: a member is one of tag, field, time, measurement or skip",
                    found.word(),
                    prev.word()
                )));
            }
            role = Some((found, meta.path.span()));
            Ok(())
        })?;
    }
    let role = role.map_or(Role::Field, |(r, _)| r);
    if let Some(lit) = &rename {
        if !matches!(role, Role::Tag | Role::Field) {
            return Err(Error::new_spanned(
                lit,
                format!(
                    "`rename` names a tag or field key; a #[influx({})] member has none",
                    role.word()
                ),
            ));
        }
    }
    let (key, key_span) = match &rename {
        Some(lit) => (lit.value(), lit.span()),
        None => {
            let s = ident.to_string();
            (
                s.strip_prefix("r#").map(str::to_owned).unwrap_or(s),
                ident.span(),
            )
        }
    };
    Ok(Member {
        ident,
        ty,
        role,
        key,
        key_span,
        default,
    })
}

/// Refuses at compile time the keys `PointWriter` would refuse at run time.
fn check_key(m: &Member<'_>) -> Result<()> {
    let what = m.role.word();
    let problem = if m.key.is_empty() {
        format!("the {what} key is empty")
    } else if m.key == "time" {
        if m.role == Role::Field && m.ident == "time" {
            "a field named `time` would be refused: InfluxDB drops it silently. Mark it #[influx(time)] to make it the point's timestamp, or #[influx(rename = \"...\")] it".to_owned()
        } else {
            format!("a {what} named `time` would be refused: InfluxDB drops it silently; rename it")
        }
    } else if m.key.contains('\n') {
        format!("the {what} key contains a newline, which line protocol cannot carry")
    } else if m.key.ends_with('\\') {
        format!("the {what} key ends with a backslash, which InfluxDB 1.x would read as an escape")
    } else {
        return Ok(());
    };
    Err(Error::new(m.key_span, problem))
}

/// The statement writing one tag.
fn write_tag(m: &Member<'_>) -> TokenStream2 {
    let (ident, key) = (m.ident, &m.key);
    let span = at_type(m);
    match option_inner(m.ty) {
        Some(inner) if is_text(inner) => quote_spanned!(span=>
            if let ::core::option::Option::Some(__v) = &self.#ident {
                __p.tag(#key, ::core::convert::AsRef::<str>::as_ref(__v))?;
            }
        ),
        Some(_) => quote_spanned!(span=>
            if let ::core::option::Option::Some(__v) = &self.#ident {
                ::influx_stream::__private::DisplayTag::write_tag(__v, &mut __p, #key)?;
            }
        ),
        None if is_text(m.ty) => quote_spanned!(span=>
            __p.tag(#key, ::core::convert::AsRef::<str>::as_ref(&self.#ident))?;
        ),
        None => quote_spanned!(span=>
            ::influx_stream::__private::DisplayTag::write_tag(&self.#ident, &mut __p, #key)?;
        ),
    }
}

/// A span for generated code about member `m`: errors point at its type,
/// while names (`self`, the locals) resolve as in the rest of the impl,
/// even when the struct comes out of a `macro_rules!` macro.
fn at_type(m: &Member<'_>) -> Span {
    m.ty.span().resolved_at(Span::call_site())
}

/// The where-clause predicate a generic member needs.
fn bound(m: &Member<'_>) -> Option<WherePredicate> {
    let ty = m.ty;
    let pred = match m.role {
        Role::Field => quote!(#ty: ::influx_stream::__private::Field),
        Role::Time => quote!(#ty: ::influx_stream::__private::Time),
        Role::Measurement => quote!(#ty: ::influx_stream::__private::Measurement),
        Role::Tag => match option_inner(ty) {
            Some(inner) if is_text(inner) => return None,
            Some(inner) => quote!(#inner: ::influx_stream::__private::DisplayTag),
            None if is_text(ty) => return None,
            None => quote!(#ty: ::influx_stream::__private::DisplayTag),
        },
        Role::Skip => return None,
    };
    Some(syn::parse2(pred).expect("a valid predicate"))
}

/// Whether a type's tokens name one of the struct's type parameters.
fn mentions(tokens: TokenStream2, params: &HashSet<&Ident>) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => params.contains(&i),
        TokenTree::Group(g) => mentions(g.stream(), params),
        _ => false,
    })
}

/// `T` when `ty` is spelled `Option<T>` (or `std::option::Option<T>`).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    single_type_arg(&last.arguments)
}

fn single_type_arg(args: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(a) = args else {
        return None;
    };
    let mut types = a.args.iter().filter_map(|g| match g {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let t = types.next()?;
    types.next().is_none().then_some(t)
}

/// Whether `ty` is text that a tag can borrow without formatting: `str`,
/// `String`, `Cow<str>`, `Box<str>`, `Rc<str>`, `Arc<str>`, or a reference
/// to one of them.
fn is_text(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => is_text(&r.elem),
        Type::Paren(p) => is_text(&p.elem),
        Type::Group(g) => is_text(&g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            if last.ident == "str" || last.ident == "String" {
                return last.arguments.is_none();
            }
            if ["Cow", "Box", "Rc", "Arc"].iter().any(|w| last.ident == w) {
                return matches!(
                    single_type_arg(&last.arguments),
                    Some(Type::Path(inner)) if inner.path.is_ident("str")
                );
            }
            false
        }
        _ => false,
    }
}

/// `#[derive(FromRow)]`: the names read (`FIELDS`) and `from_row`, which
/// takes each field by its position in them.
fn expand_from_row(input: &DeriveInput) -> Result<TokenStream2> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            Fields::Unnamed(unnamed) => {
                return Err(Error::new_spanned(
                    unnamed,
                    "#[derive(FromRow)] needs a struct with named fields: their names are the columns and tags read (tuple structs have none)",
                ))
            }
            Fields::Unit => {
                return Err(Error::new_spanned(
                    name,
                    format!("`{name}` has no fields to read from a row"),
                ))
            }
        },
        Data::Enum(e) => {
            return Err(Error::new_spanned(
                e.enum_token,
                "#[derive(FromRow)] supports structs only, not enums: read rows into a struct, or implement FromRow by hand",
            ))
        }
        Data::Union(u) => {
            return Err(Error::new_spanned(
                u.union_token,
                "#[derive(FromRow)] supports structs only, not unions",
            ))
        }
    };

    let mut errors: Option<Error> = None;
    let mut push = |e: Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    // The struct's measurement only matters for writing; it is still
    // checked, so that a typo is reported whichever derive comes first.
    if let Err(e) = struct_attrs(&input.attrs) {
        push(e);
    }
    let mut members = Vec::new();
    for f in fields {
        let ident = f.ident.as_ref().expect("named fields have names");
        match member(ident, &f.ty, &f.attrs) {
            Ok(m) => members.push(m),
            Err(e) => push(e),
        }
    }

    // Each name once: a string taken out of a row is not there for a
    // second field.
    let mut specs = Vec::new();
    let mut inits = Vec::new();
    let mut seen: Vec<(String, &Member)> = Vec::new();
    for m in &members {
        let (ident, key) = (m.ident, &m.key);
        let (spec, read_as) = match m.role {
            Role::Skip => {
                inits.push(quote_spanned!(at_type(m)=>
                    #ident: ::core::default::Default::default()
                ));
                continue;
            }
            Role::Field => (
                quote!(::influx_stream::query::FromRowField::column(#key)),
                m.key.clone(),
            ),
            Role::Tag => (
                quote!(::influx_stream::query::FromRowField::tag(#key)),
                m.key.clone(),
            ),
            Role::Time => (
                quote!(::influx_stream::query::FromRowField::column("time")),
                "time".to_owned(),
            ),
            Role::Measurement => (
                quote!(::influx_stream::query::FromRowField::series_name()),
                String::new(),
            ),
        };
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == read_as) {
            let what = if read_as.is_empty() {
                "the series name".to_owned()
            } else {
                format!("`{read_as}`")
            };
            push(Error::new(
                m.key_span,
                format!(
                    "{what} is read by `{}` already; a row's value goes to one field (use #[influx(rename = \"...\")] or #[influx(skip)])",
                    first.ident
                ),
            ));
            continue;
        }
        seen.push((read_as, m));
        let at = syn::Index::from(specs.len());
        let ty = m.ty;
        let read = if m.default {
            quote_spanned!(at_type(m)=> __row.take_or_default::<#ty>(#at)?)
        } else {
            quote_spanned!(at_type(m)=> __row.take::<#ty>(#at)?)
        };
        inits.push(quote!(#ident: #read));
        specs.push(spec);
    }
    if let Some(e) = errors {
        return Err(e);
    }

    let params: HashSet<&Ident> = input.generics.type_params().map(|p| &p.ident).collect();
    let mut generics = input.generics.clone();
    if !params.is_empty() {
        let predicates = &mut generics.make_where_clause().predicates;
        for m in members
            .iter()
            .filter(|m| mentions(m.ty.to_token_stream(), &params))
        {
            let ty = m.ty;
            if m.role != Role::Skip {
                predicates.push(syn::parse_quote!(#ty: ::influx_stream::query::FromValue));
            }
            if m.default || m.role == Role::Skip {
                predicates.push(syn::parse_quote!(#ty: ::core::default::Default));
            }
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::influx_stream::FromRow for #name #ty_generics #where_clause {
            const FIELDS: &'static [::influx_stream::query::FromRowField] = &[#(#specs),*];

            #[inline]
            fn from_row(
                __row: &mut ::influx_stream::query::RowValues<'_>,
            ) -> ::core::result::Result<Self, ::influx_stream::query::DecodeError> {
                ::core::result::Result::Ok(Self { #(#inits),* })
            }
        }
    })
}
