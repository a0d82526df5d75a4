use influx_stream::LineProtocol;

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct Unknown {
    #[influx(index)]
    usage: f64,
}

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct Conflicting {
    #[influx(tag, time)]
    host: String,
    usage: f64,
}

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct SameKey {
    usage: f64,
    #[influx(rename = "usage")]
    usage_pct: f64,
}

fn main() {}
