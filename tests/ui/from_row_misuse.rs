use influx_stream::FromRow;

#[derive(FromRow)]
enum Kind {
    A,
}

#[derive(FromRow)]
struct Twice {
    usage: f64,
    #[influx(rename = "usage")]
    usage_again: f64,
    #[influx(time)]
    at: i64,
    time: i64,
}

#[derive(FromRow)]
struct Tuple(i64, f64);

#[derive(FromRow)]
struct Unknown {
    #[influx(nullable)]
    usage: f64,
}

fn main() {}
